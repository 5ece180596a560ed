package longpoll

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// Client defaults.
const (
	DefaultPollTimeout = 45 * time.Second
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// Client polls a long-poll server in a loop. Its fields are read when a
// method is called and must not change while one runs; one Client may run
// several Events loops at once.
type Client struct {
	// SubscribeURL and PublishURL are the server's two endpoints.
	SubscribeURL string
	PublishURL   string
	// HTTPClient sends the requests; nil means http.DefaultClient. Each
	// poll is bounded by its context, not by HTTPClient.Timeout.
	HTTPClient *http.Client
	// Username and Password, if set, are sent as basic auth.
	Username, Password string
	// Header is added to every request.
	Header http.Header
	// PollTimeout is the timeout each poll asks for, in whole seconds
	// (at least 1). Default 45s.
	PollTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed poll: it
	// doubles from MinBackoff up to MaxBackoff, each wait drawn at random
	// from its upper half. Defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Since, if set, asks for the events at or after it; the zero value
	// asks only for events published after the first poll reaches the
	// server.
	Since time.Time
}

// APIError is an error answer of the server ({"error": ...}).
type APIError struct {
	StatusCode int
	Text       string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("longpoll: server error (status %d): %s", e.StatusCode, e.Text)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

// Publish posts one event; data is marshalled to JSON (a json.RawMessage is
// sent as is).
func (c *Client) Publish(ctx context.Context, category string, data any) error {
	raw, err := jsonRaw(data)
	if err != nil {
		return err
	}
	resp, err := doPublish(ctx, c.httpClient(), c.PublishURL, c.Header, c.Username, c.Password, PublishRequest{Category: category, Data: raw})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || resp.Body != successBody {
		text := resp.Error
		if text == "" {
			text = resp.Body
		}
		return &APIError{StatusCode: resp.StatusCode, Text: text}
	}
	return nil
}

// Events polls categories until ctx ends or the consumer stops, and yields
// every event once, in order within each category. It tracks since_time
// and last_id (one per category) across polls and reconnects, so nothing is
// missed or repeated while the server holds the history.
//
// It also yields non-fatal errors and goes on: a failed poll (then it waits
// a capped, jittered backoff before the next), or [ErrHistoryLost] when the
// server evicted events the client had not read yet (the events that
// follow are the oldest still held). It ends, without an error, when ctx
// ends; break out of the loop to stop earlier.
func (c *Client) Events(ctx context.Context, categories ...string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if len(categories) == 0 {
			yield(Event{}, ErrBadCategory)
			return
		}
		timeout := max(int(c.PollTimeout/time.Second), 1)
		if c.PollTimeout == 0 {
			timeout = int(DefaultPollTimeout / time.Second)
		}
		minB, maxB := c.MinBackoff, c.MaxBackoff
		if minB <= 0 {
			minB = DefaultMinBackoff
		}
		if maxB <= 0 {
			maxB = DefaultMaxBackoff
		}
		maxB = max(maxB, minB)
		var q pollQuery
		q.categories, q.timeout = categories, timeout
		if !c.Since.IsZero() {
			q.hasSince, q.since = true, c.Since.UnixMilli()-1
		}
		last := make(map[string]lastSeen, len(categories))
		failures := 0
		for ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, time.Duration(timeout)*time.Second+15*time.Second)
			resp, err := doPoll(pctx, c.httpClient(), c.SubscribeURL, c.Header, c.Username, c.Password, q)
			cancel()
			if err == nil && (resp.StatusCode != http.StatusOK || resp.Error != "") {
				err = &APIError{StatusCode: resp.StatusCode, Text: resp.Error}
			}
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !yield(Event{}, err) {
					return
				}
				if !sleepCtx(ctx, backoff(failures, minB, maxB)) {
					return
				}
				failures++
				continue
			}
			failures = 0
			if resp.HistoryLost && !yield(Event{}, ErrHistoryLost) {
				return
			}
			if resp.Timeout {
				if !q.hasSince || resp.Timestamp > q.since {
					q.hasSince, q.since = true, resp.Timestamp
				}
				continue
			}
			for _, ev := range resp.Events {
				seen, ok := last[ev.Category]
				id, mine := ParseID(ev.Category, ev.ID)
				if ok && mine && seen.mine && !seen.id.Less(id) {
					continue // already yielded: never twice
				}
				last[ev.Category] = lastSeen{id: id, mine: mine, wire: ev.ID}
				if !q.hasSince || ev.Timestamp > q.since {
					q.hasSince, q.since = true, ev.Timestamp
				}
				if !yield(ev, nil) {
					return
				}
			}
			q.lastIDs = q.lastIDs[:0]
			for _, cat := range categories {
				if s, ok := last[cat]; ok {
					q.lastIDs = append(q.lastIDs, s.wire)
				}
			}
		}
	}
}

type lastSeen struct {
	id   eventstore.ID
	mine bool
	wire string
}

func backoff(failures int, minB, maxB time.Duration) time.Duration {
	d := minB
	for i := 0; i < failures && d < maxB; i++ {
		d *= 2
	}
	d = min(d, maxB)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func jsonRaw(data any) ([]byte, error) {
	if data == nil {
		return nil, ErrNilData
	}
	return json.Marshal(data)
}
