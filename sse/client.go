package sse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/streamkit-dev/streamkit/sse/parser"
)

// ReceivedEvent is an event as a client receives it: the type ("message"
// by default), the data, and the last event ID at dispatch.
type ReceivedEvent = parser.Event

// Client defaults.
const (
	DefaultInitialDelay    = time.Second
	DefaultMaxDelay        = 30 * time.Second
	DefaultHealthyAfter    = 30 * time.Second
	DefaultReadIdleTimeout = 60 * time.Second
	DefaultMaxRetryAfter   = 5 * time.Minute
)

// Client errors. The sequence from Client.Events yields one of these (or
// a *ResponseError, or a parser.ErrEventTooLarge) as its last element when
// it gives up; transient failures are retried and only reported to
// Client.OnRetry.
var (
	// ErrContentType: the response was not text/event-stream. Not retried.
	ErrContentType = errors.New("sse: response is not text/event-stream")
	// ErrIdleTimeout: nothing arrived for ReadIdleTimeout; the client
	// reconnects.
	ErrIdleTimeout = errors.New("sse: read idle timeout")
	// ErrStreamEnded: the server ended a long-lived stream; the client
	// reconnects.
	ErrStreamEnded = errors.New("sse: stream ended by server")
	// ErrTooManyRetries wraps the last error after MaxRetries failures.
	ErrTooManyRetries = errors.New("sse: too many retries")
)

// ResponseError is a response status the client does not retry.
type ResponseError struct {
	StatusCode int
	Status     string
}

func (e *ResponseError) Error() string { return "sse: unexpected response " + e.Status }

// Client reads an event stream and reconnects when it breaks.
//
// Reconnection policy:
//   - 200 with Content-Type text/event-stream: events are read. When the
//     stream ends (EOF) the client reconnects, sending Last-Event-ID —
//     unless Finite is set, in which case EOF ends the sequence normally.
//   - 204 No Content: the server says "stop"; the sequence ends without error.
//   - 429 and 503: retried after Retry-After (seconds or a date, capped by
//     MaxRetryAfter), or after the backoff when there is none.
//   - 500, 502, 504 and network errors: retried with backoff.
//   - Any other status (including other 2xx and unfollowed 3xx) yields a
//     *ResponseError, and a wrong Content-Type yields ErrContentType; both
//     end the sequence, as a browser's EventSource fails for good.
//   - An event over MaxEventSize yields the parser's *EventTooLargeError
//     and ends the sequence (reconnecting would fetch it again).
//
// Backoff: exponential with full jitter: the n-th consecutive failure
// waits a uniformly random time in [0, min(MaxDelay, base·2^n)), where base
// is the server's last "retry:" value or InitialDelay. The failure count
// resets only after a connection stayed up for HealthyAfter, so a server
// that accepts and drops connections cannot cause a tight loop.
//
// A Client's fields must not change while Events runs; one Client may run
// several Events sequences.
type Client struct {
	// URL is requested with GET unless NewRequest is set.
	URL string
	// NewRequest, if set, builds each (re)connection's request (to add
	// headers, credentials, or change the URL). The client adds Accept,
	// Cache-Control and Last-Event-ID, and the context.
	NewRequest func(ctx context.Context) (*http.Request, error)
	// HTTPClient sends requests; nil means http.DefaultClient. Its Timeout
	// must be 0 for long-lived streams (use ReadIdleTimeout instead).
	HTTPClient *http.Client

	// LastEventID is sent on the first connection (for resuming a stream
	// read by an earlier process).
	LastEventID string
	// Finite marks a stream that the server ends when it is done (an LLM
	// response, a job's progress): EOF ends the sequence instead of
	// reconnecting. Errors before the end still reconnect.
	Finite bool
	// MaxEventSize bounds one event; 0 means parser.DefaultMaxEventSize.
	MaxEventSize int

	InitialDelay time.Duration // 0: DefaultInitialDelay
	MaxDelay     time.Duration // 0: DefaultMaxDelay
	HealthyAfter time.Duration // 0: DefaultHealthyAfter
	// ReadIdleTimeout reconnects when no byte arrived for this long (servers
	// send keepalives every 15 s or so). 0: DefaultReadIdleTimeout;
	// negative disables it.
	ReadIdleTimeout time.Duration
	MaxRetryAfter   time.Duration // 0: DefaultMaxRetryAfter
	// MaxRetries ends the sequence with ErrTooManyRetries after this many
	// consecutive failed attempts; 0 means retry forever.
	MaxRetries int

	// OnRetry, if set, is called before each wait with the number of
	// consecutive failures, the delay, and why.
	OnRetry func(attempt int, delay time.Duration, err error)
}

func (c *Client) durations() (initial, maxDelay, healthy, idle, maxRA time.Duration) {
	pick := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	return pick(c.InitialDelay, DefaultInitialDelay), pick(c.MaxDelay, DefaultMaxDelay),
		pick(c.HealthyAfter, DefaultHealthyAfter), pick(c.ReadIdleTimeout, DefaultReadIdleTimeout),
		pick(c.MaxRetryAfter, DefaultMaxRetryAfter)
}

// Events connects and yields events until ctx is done, the consumer stops,
// or the policy above gives up; in the last case the final element carries
// the error. Cancelling ctx ends the sequence without an error.
func (c *Client) Events(ctx context.Context) iter.Seq2[ReceivedEvent, error] {
	return func(yield func(ReceivedEvent, error) bool) {
		initial, maxDelay, healthy, _, maxRA := c.durations()
		p := parser.New(nil, parser.Options{MaxEventSize: c.MaxEventSize, LastEventID: c.LastEventID})
		failures := 0
		for ctx.Err() == nil {
			started := time.Now()
			retryAfter, stop, err := c.session(ctx, p, yield)
			if stop || ctx.Err() != nil {
				return
			}
			if time.Since(started) >= healthy {
				failures = 0
			}
			failures++
			if c.MaxRetries > 0 && failures > c.MaxRetries {
				yield(ReceivedEvent{}, fmt.Errorf("%w: %w", ErrTooManyRetries, err))
				return
			}
			var delay time.Duration
			if retryAfter > 0 {
				delay = min(retryAfter, maxRA)
			} else {
				base := initial
				if r, ok := p.Retry(); ok {
					base = r
				}
				delay = backoff(base, maxDelay, failures-1)
			}
			if c.OnRetry != nil {
				c.OnRetry(failures, delay, err)
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// backoff is full jitter: uniform in [0, min(maxDelay, base·2^n)).
func backoff(base, maxDelay time.Duration, n int) time.Duration {
	ceil := base
	for i := 0; i < n && ceil < maxDelay; i++ {
		ceil *= 2
	}
	ceil = min(ceil, maxDelay)
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil)
}

// session makes one connection and reads it. It returns the Retry-After
// delay (if any) and why the connection ended; stop means the sequence is
// over (done, consumer stopped, or a fatal error already yielded).
func (c *Client) session(ctx context.Context, p *parser.Parser, yield func(ReceivedEvent, error) bool) (retryAfter time.Duration, stop bool, err error) {
	_, _, _, idle, _ := c.durations()
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := c.request(connCtx, p.LastEventID())
	if err != nil {
		yield(ReceivedEvent{}, err)
		return 0, true, nil
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	// The idle timer runs from the request on: a server that accepts and
	// never answers is as dead as one that stops sending.
	var idleTimer *time.Timer
	if idle > 0 {
		idleTimer = time.AfterFunc(idle, func() { cancel(ErrIdleTimeout) })
		defer idleTimer.Stop()
	}
	resp, err := hc.Do(req)
	if err != nil {
		if context.Cause(connCtx) == ErrIdleTimeout {
			err = ErrIdleTimeout
		}
		return 0, false, err
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusNoContent:
		return 0, true, nil
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), false, &ResponseError{code, resp.Status}
	case code == http.StatusInternalServerError || code == http.StatusBadGateway || code == http.StatusGatewayTimeout:
		return 0, false, &ResponseError{code, resp.Status}
	default:
		yield(ReceivedEvent{}, &ResponseError{code, resp.Status})
		return 0, true, nil
	}
	if !isEventStream(resp.Header.Get("Content-Type")) {
		yield(ReceivedEvent{}, fmt.Errorf("%w: %q", ErrContentType, resp.Header.Get("Content-Type")))
		return 0, true, nil
	}
	var body io.Reader = resp.Body
	if idleTimer != nil {
		idleTimer.Reset(idle)
		body = &idleReader{r: resp.Body, t: idleTimer, d: idle}
	}
	p.Reset(body)
	for {
		ev, err := p.Next()
		if err == nil {
			if !yield(ev, nil) {
				return 0, true, nil
			}
			continue
		}
		switch {
		case errors.Is(err, parser.ErrEventTooLarge):
			yield(ReceivedEvent{}, err)
			return 0, true, nil
		case context.Cause(connCtx) == ErrIdleTimeout:
			return 0, false, ErrIdleTimeout
		case errors.Is(err, io.EOF):
			if c.Finite {
				return 0, true, nil
			}
			return 0, false, ErrStreamEnded
		}
		return 0, false, err
	}
}

func (c *Client) request(ctx context.Context, lastID string) (*http.Request, error) {
	var req *http.Request
	var err error
	if c.NewRequest != nil {
		req, err = c.NewRequest(ctx)
		if err == nil {
			req = req.WithContext(ctx)
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("sse: request: %w", err)
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Del("Last-Event-ID")
	if lastID != "" && validHeaderValue(lastID) {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return req, nil
}

// validHeaderValue reports whether v can be sent in a header (no control
// characters but tab): an ID that cannot is not sent, rather than failing
// every reconnection.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func isEventStream(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// idleReader pushes the idle deadline back on every read that returns data.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (r *idleReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if n > 0 {
		r.t.Reset(r.d)
	}
	return n, err
}
