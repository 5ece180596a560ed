package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/streamkit-dev/streamkit/sse"
)

// stateTransport reports each response's status on stderr: that is when a
// stream is connected (or refused).
type stateTransport struct {
	e    *env
	name string
	rt   http.RoundTripper
}

func (t *stateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err == nil {
		t.e.logf("%s: %s %s: %s", t.name, r.Method, r.URL.Redacted(), resp.Status)
	}
	return resp, err
}

func runSSE(e *env, args []string) error {
	fs := flag.NewFlagSet("sse", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object per event: {\"id\",\"type\",\"data\"}")
	lastID := fs.String("last-event-id", "", "resume after this event ID (sent as Last-Event-ID on the first connection)")
	count := fs.Int("count", 0, "exit after this many events (0: follow forever)")
	finite := fs.Bool("finite", false, "the stream's end ends the command instead of a reconnect")
	hdr := headers{}
	fs.Var(hdr, "H", "request header 'Name: value' (repeatable)")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if err := needArgs(pos, 1, "one URL"); err != nil {
		return err
	}
	url := pos[0]
	hc := &http.Client{Transport: &stateTransport{e: e, name: "sse", rt: e.tr}}
	c := &sse.Client{
		URL:         url,
		HTTPClient:  hc,
		LastEventID: *lastID,
		Finite:      *finite,
		MaxDelay:    10 * time.Second,
		NewRequest: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return nil, err
			}
			for k, v := range hdr {
				req.Header[k] = v
			}
			return req, nil
		},
		OnRetry: func(attempt int, delay time.Duration, err error) {
			e.logf("sse: %v; reconnecting in %s (attempt %d)", err, delay.Round(time.Millisecond), attempt)
		},
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	n := 0
	enc := json.NewEncoder(e.stdout)
	for ev, err := range c.Events(ctx) {
		if err != nil {
			return err
		}
		if *asJSON {
			if err := enc.Encode(struct {
				ID   string `json:"id"`
				Type string `json:"type"`
				Data string `json:"data"`
			}{ev.ID, ev.Type, ev.Data}); err != nil {
				return err
			}
		} else if _, err := fmt.Fprintln(e.stdout, ev.Data); err != nil {
			return err
		}
		if n++; *count > 0 && n >= *count {
			return nil
		}
	}
	return e.ctx.Err()
}
