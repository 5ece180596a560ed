package redisstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
)

// exampleRedis starts a throwaway redis-server for an example; a real
// program connects to its own Redis instead.
func exampleRedis() (*redistest.Server, *redis.Client) {
	srv, err := redistest.Start(redistest.Config{})
	if err != nil {
		panic(err)
	}
	return srv, redis.NewClient(&redis.Options{Addr: srv.Addr()})
}

func ExampleNew() {
	srv, client := exampleRedis()
	defer srv.Stop()
	defer client.Close()

	store, err := redisstore.New(client, redisstore.Options{
		Options: eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 1000}},
	})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	ctx := context.Background()
	first, _ := store.Append(ctx, "chat", "message", []byte("hello"))
	_, _ = store.Append(ctx, "chat", "message", []byte("world"))

	// A client that saw the first event resumes after it.
	evs, err := store.ReadAfter(ctx, "chat", first.ID, 10)
	if err != nil {
		panic(err)
	}
	for _, ev := range evs {
		fmt.Printf("%s %s\n", ev.Type, ev.Data)
	}
	// Output: message world
}

func ExampleStore_Follow() {
	srv, client := exampleRedis()
	defer srv.Stop()
	defer client.Close()
	store, _ := redisstore.New(client, redisstore.Options{})
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	_, _ = store.Append(ctx, "ticks", "", []byte("1"))
	go func() { _, _ = store.Append(ctx, "ticks", "", []byte("2")) }()

	// Replay from the start, then the live tail; a second process would
	// follow the same stream through its own Store.
	n := 0
	for ev, err := range store.Follow(ctx, "ticks", eventstore.ID{}) {
		if err != nil {
			// ErrUnavailable: Redis is gone. Follow again from the last ID
			// delivered once it is back; nothing is lost.
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("%s\n", ev.Data)
		if n++; n == 2 {
			break
		}
	}
	// Output:
	// 1
	// 2
}

func ExampleStore_ReadAfter_gap() {
	srv, client := exampleRedis()
	defer srv.Stop()
	defer client.Close()
	store, _ := redisstore.New(client, redisstore.Options{
		Options: eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 2}},
	})
	defer store.Close()
	ctx := context.Background()

	old, _ := store.Append(ctx, "s", "", []byte("a"))
	_, _ = store.Append(ctx, "s", "", []byte("b"))
	_, _ = store.Append(ctx, "s", "", []byte("c"))
	_, _ = store.Append(ctx, "s", "", []byte("d")) // "a" and "b" are evicted

	_, err := store.ReadAfter(ctx, "s", old.ID, 10)
	var gap *eventstore.GapError
	if errors.As(err, &gap) {
		// The client missed "b": say so, then resume from the oldest held.
		evs, _ := store.ReadAfter(ctx, "s", eventstore.ID{}, 10)
		fmt.Println("gap; oldest held is first:", gap.Oldest == evs[0].ID, "count", len(evs))
	}
	// Output: gap; oldest held is first: true count 2
}

func ExampleStore_AppendBatch() {
	srv, client := exampleRedis()
	defer srv.Stop()
	defer client.Close()
	store, _ := redisstore.New(client, redisstore.Options{})
	defer store.Close()

	// One round trip for three appends.
	out, err := store.AppendBatch(context.Background(), []eventstore.Event{
		{Stream: "a", Data: []byte("1")},
		{Stream: "b", Data: []byte("2")},
		{Stream: "a", Data: []byte("3")},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(out), out[0].ID.Less(out[2].ID))
	// Output: 3 true
}

func ExampleStore_ReadSince() {
	srv, client := exampleRedis()
	defer srv.Stop()
	defer client.Close()
	store, _ := redisstore.New(client, redisstore.Options{})
	defer store.Close()
	ctx := context.Background()

	first, _ := store.Append(ctx, "poll", "", []byte("a"))
	_, _ = store.Append(ctx, "poll", "", []byte("b"))

	// A long poller asks for what was accepted since a time: the time is in
	// the IDs, so this is a range read from "<ms>-0".
	evs, err := store.ReadSince(ctx, "poll", first.Time, 10)
	fmt.Println(len(evs), err)
	// Output: 2 <nil>
}

func ExampleStore_Stats() {
	srv, client := exampleRedis()
	defer srv.Stop()
	defer client.Close()
	store, _ := redisstore.New(client, redisstore.Options{
		Options: eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 1}},
	})
	defer store.Close()
	ctx := context.Background()

	_, _ = store.Append(ctx, "s", "", []byte("a"))
	_, _ = store.Append(ctx, "s", "", []byte("b")) // evicts "a"
	st := store.Stats()
	fmt.Println(st.Streams, st.Events, st.Appended, st.EvictedBy[eventstore.EvictCount])
	// Output: 1 1 2 1
}
