package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/streamkit-dev/streamkit/longpoll"
)

func runPoll(e *env, args []string) error {
	fs := flag.NewFlagSet("poll", flag.ContinueOnError)
	var cats strs
	fs.Var(&cats, "category", "category to follow (repeatable; at least one)")
	timeout := fs.Duration("timeout", 45*time.Second, "how long each poll waits (whole seconds)")
	since := fs.String("since", "", "start at this time: epoch milliseconds or RFC 3339 (default: only new events)")
	asJSON := fs.Bool("json", false, "print whole events {\"timestamp\",\"category\",\"data\",\"id\"} instead of their data")
	count := fs.Int("count", 0, "exit after this many events (0: follow forever)")
	hdr := headers{}
	fs.Var(hdr, "H", "request header 'Name: value' (repeatable)")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if err := needArgs(pos, 1, "one URL"); err != nil {
		return err
	}
	if len(cats) == 0 {
		return &usageError{"--category is required"}
	}
	c := &longpoll.Client{SubscribeURL: pos[0], HTTPClient: &http.Client{Transport: e.tr}, PollTimeout: *timeout, Header: http.Header(hdr), MaxBackoff: 10 * time.Second}
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			return &usageError{err.Error()}
		}
		c.Since = t
	}
	e.logf("poll: following %v at %s", []string(cats), pos[0])
	n := 0
	enc := json.NewEncoder(e.stdout)
	for ev, err := range c.Events(e.ctx, cats...) {
		if err != nil {
			var api *longpoll.APIError
			if errors.As(err, &api) && api.StatusCode == http.StatusOK {
				return &peerError{err.Error()} // the server refused the query itself
			}
			e.logf("poll: %v", err)
			continue
		}
		if *asJSON {
			err = enc.Encode(ev)
		} else {
			_, err = fmt.Fprintln(e.stdout, string(ev.Data))
		}
		if err != nil {
			return err
		}
		if n++; *count > 0 && n >= *count {
			return nil
		}
	}
	return e.ctx.Err()
}

func parseSince(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q is neither epoch milliseconds nor RFC 3339", s)
	}
	return t, nil
}

func runPublish(e *env, args []string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	cat := fs.String("category", "", "category to publish to (required)")
	hdr := headers{}
	fs.Var(hdr, "H", "request header 'Name: value' (repeatable)")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if err := needArgs(pos, 2, "URL and DATA"); err != nil {
		return err
	}
	if *cat == "" {
		return &usageError{"--category is required"}
	}
	data := json.RawMessage(pos[1])
	if !json.Valid(data) {
		data, _ = json.Marshal(pos[1]) // not JSON: send it as a string
	}
	c := &longpoll.Client{PublishURL: pos[0], HTTPClient: &http.Client{Transport: e.tr}, Header: http.Header(hdr)}
	if err := c.Publish(e.ctx, *cat, data); err != nil {
		var api *longpoll.APIError
		if errors.As(err, &api) {
			return fmt.Errorf("refused: %w", err)
		}
		return err
	}
	e.logf("publish: published to %q", *cat)
	return nil
}
