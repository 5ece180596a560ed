package demo

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore"
)

// openStore opens the event store named by spec: "memory" (or ""),
// "file:PATH" or "redis://host:port[/db]". The returned close function
// releases everything openStore opened (the Redis client included).
func openStore(spec string) (eventstore.Store, func() error, error) {
	switch {
	case spec == "" || spec == "memory":
		s := eventstore.NewMemory(eventstore.Options{})
		return s, s.Close, nil
	case strings.HasPrefix(spec, "file:"):
		dir := strings.TrimPrefix(spec, "file:")
		if dir == "" {
			return nil, nil, errors.New("demo: -store file:PATH needs a directory")
		}
		s, err := eventstore.OpenFile(dir, eventstore.FileOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("demo: open file store: %w", err)
		}
		return s, s.Close, nil
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		opts, err := redis.ParseURL(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: bad redis URL: %w", err)
		}
		client := redis.NewClient(opts)
		s, err := redisstore.New(client, redisstore.Options{})
		if err != nil {
			_ = client.Close()
			return nil, nil, fmt.Errorf("demo: redis store: %w", err)
		}
		return s, func() error { return errors.Join(s.Close(), client.Close()) }, nil
	}
	return nil, nil, fmt.Errorf("demo: unknown -store %q (want memory, file:PATH or redis://host:port)", spec)
}
