package demo

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore"
)

// hubStreams bounds the streams one demo process follows in Redis (the
// ticker, chat rooms and long-poll categories with clients here). They are
// all followed through one XREAD BLOCK (one blocking connection per
// process); the bound keeps that command's size in check.
const hubStreams = 256

// openStore opens the event store named by spec: "memory" (or ""),
// "file:PATH" or "redis://host:port[/db]". The returned close function
// releases everything openStore opened (the Redis client included). With
// Redis it also returns a fan-out hub: the demo then runs in scale-out
// mode, where every process over the same Redis acts as one.
func openStore(spec string) (eventstore.Store, *fanout.Hub, func() error, error) {
	switch {
	case spec == "" || spec == "memory":
		s := eventstore.NewMemory(eventstore.Options{})
		return s, nil, s.Close, nil
	case strings.HasPrefix(spec, "file:"):
		dir := strings.TrimPrefix(spec, "file:")
		if dir == "" {
			return nil, nil, nil, errors.New("demo: -store file:PATH needs a directory")
		}
		s, err := eventstore.OpenFile(dir, eventstore.FileOptions{})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("demo: open file store: %w", err)
		}
		return s, nil, s.Close, nil
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		opts, err := redis.ParseURL(spec)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("demo: bad redis URL: %w", err)
		}
		// Fail fast while Redis is away: a publish answers an error
		// rather than waiting out a long dial.
		opts.DialTimeout = min(opts.DialTimeout, time.Second)
		if opts.DialTimeout <= 0 {
			opts.DialTimeout = time.Second
		}
		opts.MaxRetries = -1
		client := redis.NewClient(opts)
		s, err := redisstore.New(client, redisstore.Options{})
		if err != nil {
			_ = client.Close()
			return nil, nil, nil, fmt.Errorf("demo: redis store: %w", err)
		}
		hub := fanout.New(s, fanout.Options{MaxStreams: hubStreams})
		return s, hub, func() error { return errors.Join(hub.Close(), s.Close(), client.Close()) }, nil
	}
	return nil, nil, nil, fmt.Errorf("demo: unknown -store %q (want memory, file:PATH or redis://host:port)", spec)
}
