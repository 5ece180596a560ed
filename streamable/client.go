package streamable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/sse/parser"
)

// Client errors (errors.Is).
var (
	// ErrSessionExpired: the server answered 404 for the client's session;
	// the caller starts a new one (MCP: initialize again).
	ErrSessionExpired = errors.New("streamable: session expired")
	// ErrStreamLost: a response stream ended before the response, and could
	// not be resumed (no event ID seen, or the retries ran out).
	ErrStreamLost = errors.New("streamable: response stream lost")
)

// ClientOptions configure a Client. The zero value is usable.
type ClientOptions struct {
	// HTTPClient sends the requests; nil means a client without a timeout
	// (streams are long-lived; bound calls with their context).
	HTTPClient *http.Client
	// MaxRetries bounds the reconnects of one dropped stream; 0 means 5.
	MaxRetries int
	// BackoffBase and BackoffMax shape the reconnect delay: base·2^n
	// capped at max, with jitter (a random delay in [d/2, d]). A server's
	// retry: hint replaces the base. 0 means 500 ms and 30 s.
	BackoffBase, BackoffMax time.Duration
	// MaxMessageBytes caps a JSON response body and one SSE event; 0 means
	// 4 MiB.
	MaxMessageBytes int
	// Header is added to every request (e.g. Authorization).
	Header http.Header
}

// Client speaks the client side of the MCP Streamable HTTP transport to
// one endpoint: it POSTs messages accepting JSON or an event stream, keeps
// the session header and the negotiated protocol version, resumes a
// dropped stream with Last-Event-ID, and DELETEs the session on Close.
// It is safe for concurrent use.
type Client struct {
	url  string
	opts ClientOptions
	hc   *http.Client
	next atomic.Int64

	mu      sync.Mutex
	session string
	version string
}

// NewClient returns a client for the endpoint url.
func NewClient(url string, opts ClientOptions) *Client {
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 5
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 500 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxBodyBytes
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{url: url, opts: opts, hc: hc}
}

// SessionID returns the session the server assigned ("" before one).
func (c *Client) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// SetProtocolVersion sets the MCP-Protocol-Version header sent from now
// on. Call answers to "initialize" set it from result.protocolVersion.
func (c *Client) SetProtocolVersion(v string) {
	c.mu.Lock()
	c.version = v
	c.mu.Unlock()
}

func (c *Client) newRequest(ctx context.Context, method string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url, rd)
	if err != nil {
		return nil, fmt.Errorf("streamable: %w", err)
	}
	for k, v := range c.opts.Header {
		req.Header[k] = v
	}
	c.mu.Lock()
	if c.session != "" {
		req.Header.Set(HeaderSessionID, c.session)
	}
	if c.version != "" {
		req.Header.Set(HeaderProtocolVersion, c.version)
	}
	c.mu.Unlock()
	return req, nil
}

// Call sends a request and returns its response message (which may carry
// a JSON-RPC error). onNotify, if set, receives the messages the server
// sends on the request's stream before the response.
func (c *Client) Call(ctx context.Context, method string, params any, onNotify func(*Message)) (*Message, error) {
	id := json.RawMessage(strconv.FormatInt(c.next.Add(1), 10))
	m, err := NewRequest(id, method, params)
	if err != nil {
		return nil, err
	}
	body, err := encodeMessage(m)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, body)
	if err != nil {
		return nil, err
	}
	res, err := c.readAnswer(ctx, resp, id, onNotify)
	if err != nil {
		return nil, err
	}
	if method == "initialize" && res.Error == nil {
		var r struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		if json.Unmarshal(res.Result, &r) == nil && r.ProtocolVersion != "" {
			c.SetProtocolVersion(r.ProtocolVersion)
		}
	}
	return res, nil
}

// Notify sends a notification; the server answers 202.
func (c *Client) Notify(ctx context.Context, method string, params any) error {
	m, err := NewNotification(method, params)
	if err != nil {
		return err
	}
	body, err := encodeMessage(m)
	if err != nil {
		return err
	}
	resp, err := c.post(ctx, body)
	if err != nil {
		return err
	}
	drainClose(resp)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("streamable: notification answered %d", resp.StatusCode)
	}
	return nil
}

func (c *Client) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodPost, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ContentTypeJSON)
	req.Header.Set("Accept", ContentTypeJSON+", "+ContentTypeSSE)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("streamable: POST: %w", err)
	}
	if sid := resp.Header.Get(HeaderSessionID); sid != "" {
		c.mu.Lock()
		c.session = sid
		c.mu.Unlock()
	}
	if err := c.statusErr(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// statusErr turns a non-2xx answer into an error and closes its body.
func (c *Client) statusErr(resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	herr := httpx.NewHTTPStatusError(resp) // reads a bounded body
	drainClose(resp)
	if resp.StatusCode == http.StatusNotFound && resp.Request.Header.Get(HeaderSessionID) != "" {
		return fmt.Errorf("%w: %w", ErrSessionExpired, herr)
	}
	return herr
}

func drainClose(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}

// readAnswer reads a JSON or SSE answer until the response with id.
func (c *Client) readAnswer(ctx context.Context, resp *http.Response, id json.RawMessage, onNotify func(*Message)) (*Message, error) {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case ContentTypeJSON:
		defer drainClose(resp)
		b, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.opts.MaxMessageBytes)+1))
		if err != nil {
			return nil, fmt.Errorf("streamable: reading response: %w", err)
		}
		if len(b) > c.opts.MaxMessageBytes {
			return nil, fmt.Errorf("streamable: response larger than %d bytes", c.opts.MaxMessageBytes)
		}
		return ParseMessage(b)
	case ContentTypeSSE:
		return c.readStream(ctx, resp, id, onNotify)
	}
	drainClose(resp)
	return nil, fmt.Errorf("streamable: unexpected Content-Type %q", resp.Header.Get("Content-Type"))
}

// readStream reads events until the response; a stream that ends early is
// resumed with GET and Last-Event-ID, with capped jittered backoff.
func (c *Client) readStream(ctx context.Context, resp *http.Response, id json.RawMessage, onNotify func(*Message)) (*Message, error) {
	p := parser.New(resp.Body, parser.Options{MaxEventSize: c.opts.MaxMessageBytes})
	attempt := 0
	for {
		m, err := c.scan(p, id, onNotify)
		resp.Body.Close()
		if m != nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, parser.ErrEventTooLarge) {
			return nil, err
		}
		last := p.LastEventID()
		if last == "" {
			return nil, fmt.Errorf("%w: no event ID to resume from: %v", ErrStreamLost, err)
		}
		for {
			if attempt >= c.opts.MaxRetries {
				return nil, fmt.Errorf("%w: %d reconnects failed", ErrStreamLost, attempt)
			}
			base := c.opts.BackoffBase
			if r, ok := p.Retry(); ok && r > 0 {
				base = r
			}
			if err := sleepCtx(ctx, backoff(base, c.opts.BackoffMax, attempt)); err != nil {
				return nil, err
			}
			attempt++
			resp, err = c.resume(ctx, last)
			if err == nil {
				break
			}
			if errors.Is(err, ErrSessionExpired) || ctx.Err() != nil || !transient(err) {
				return nil, err
			}
		}
		p.Reset(resp.Body)
	}
}

func transient(err error) bool {
	var herr *httpx.HTTPStatusError
	if errors.As(err, &herr) {
		return herr.Transient()
	}
	return true // connection errors
}

// scan reads events until the response with id (returned) or the end of
// the stream (the error, io.EOF for a clean end).
func (c *Client) scan(p *parser.Parser, id json.RawMessage, onNotify func(*Message)) (*Message, error) {
	for {
		ev, err := p.Next()
		if err != nil {
			return nil, err
		}
		if ev.Data == "" || (ev.Type != "message" && ev.Type != "") {
			continue // priming events and foreign event types
		}
		m, err := ParseMessage([]byte(ev.Data))
		if err != nil {
			continue
		}
		if (m.Kind() == KindResponse || m.Kind() == KindError) && bytes.Equal(m.ID, id) {
			return m, nil
		}
		if onNotify != nil {
			onNotify(m)
		}
	}
}

func (c *Client) resume(ctx context.Context, last string) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodGet, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", ContentTypeSSE)
	req.Header.Set(HeaderLastEventID, last)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("streamable: resume: %w", err)
	}
	if err := c.statusErr(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// Close ends the session with DELETE (a 405 means the server does not let
// clients end sessions, which is not an error) and forgets it.
func (c *Client) Close(ctx context.Context) error {
	if c.SessionID() == "" {
		return nil
	}
	req, err := c.newRequest(ctx, http.MethodDelete, nil)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.session = ""
	c.mu.Unlock()
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("streamable: DELETE: %w", err)
	}
	if resp.StatusCode == http.StatusMethodNotAllowed {
		drainClose(resp)
		return nil
	}
	if err := c.statusErr(resp); err != nil {
		return err
	}
	drainClose(resp)
	return nil
}

// backoff returns the delay before reconnect n: base·2^n capped at max,
// jittered into [d/2, d].
func backoff(base, maxD time.Duration, n int) time.Duration {
	d := base
	for i := 0; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	half := d / 2
	return half + rand.N(half+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
