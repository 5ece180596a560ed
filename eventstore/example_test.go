package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
)

func ExampleNewMemory() {
	ctx := context.Background()
	store := eventstore.NewMemory(eventstore.Options{
		Limits: eventstore.Limits{MaxEventsPerStream: 1000, MaxAge: time.Hour},
	})
	defer store.Close()

	first, _ := store.Append(ctx, "room", "message", []byte("hello"))
	_, _ = store.Append(ctx, "room", "message", []byte("world"))

	// A client reconnects with the ID of the last event it saw.
	evs, err := store.ReadAfter(ctx, "room", first.ID, 100)
	fmt.Println(len(evs), string(evs[0].Data), err)
	// Output: 1 world <nil>
}

func ExampleMemory_ReadAfter_gap() {
	ctx := context.Background()
	store := eventstore.NewMemory(eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 2}})
	defer store.Close()
	old, _ := store.Append(ctx, "room", "", []byte("1"))
	_, _ = store.Append(ctx, "room", "", []byte("2"))
	_, _ = store.Append(ctx, "room", "", []byte("3"))
	_, _ = store.Append(ctx, "room", "", []byte("4")) // "1" and "2" are evicted

	_, err := store.ReadAfter(ctx, "room", old.ID, 100)
	var gap *eventstore.GapError
	if errors.As(err, &gap) {
		// Resume from the oldest held event and tell the client it missed some.
		evs, _ := store.ReadAfter(ctx, "room", eventstore.ID{}, 100)
		fmt.Println("gap; resuming at", string(evs[0].Data), evs[0].ID == gap.Oldest)
	}
	// Output: gap; resuming at 3 true
}

func ExampleMemory_Follow() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := eventstore.NewMemory(eventstore.Options{})
	defer store.Close()
	_, _ = store.Append(ctx, "room", "", []byte("replayed"))

	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range store.Follow(ctx, "room", eventstore.ID{}) {
			if err != nil {
				fmt.Println("error:", err)
				return
			}
			fmt.Println(string(ev.Data))
			if string(ev.Data) == "live" {
				return
			}
		}
	}()
	_, _ = store.Append(ctx, "room", "", []byte("live"))
	<-done
	// Output:
	// replayed
	// live
}

func ExampleMemory_ReadSince() {
	ctx := context.Background()
	store := eventstore.NewMemory(eventstore.Options{})
	defer store.Close()
	since := time.Now()
	_, _ = store.Append(ctx, "poll", "", []byte("new"))
	evs, err := store.ReadSince(ctx, "poll", since, 10)
	fmt.Println(len(evs), err)
	// Output: 1 <nil>
}

func ExampleOpenFile() {
	dir, _ := os.MkdirTemp("", "eventstore-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := eventstore.OpenFile(dir, eventstore.FileOptions{Sync: eventstore.SyncAlways})
	if err != nil {
		fmt.Println(err)
		return
	}
	ev, _ := store.Append(ctx, "orders", "created", []byte(`{"id":1}`))
	_ = store.Close()

	// After a restart the log is replayed; IDs continue after the last one.
	store, _ = eventstore.OpenFile(dir, eventstore.FileOptions{})
	defer store.Close()
	evs, _ := store.ReadAfter(ctx, "orders", eventstore.ID{}, 10)
	next, _ := store.Append(ctx, "orders", "paid", nil)
	fmt.Println(len(evs), evs[0].ID == ev.ID, ev.ID.Less(next.ID), store.Recovery().Records)
	// Output: 1 true true 1
}

func ExampleParseID() {
	id, err := eventstore.ParseID("1700000000000-3")
	fmt.Println(id.Ms, id.Seq, err, id.Time().UTC().Format(time.RFC3339))
	_, err = eventstore.ParseID("1700000000000")
	fmt.Println(err)
	// Output:
	// 1700000000000 3 <nil> 2023-11-14T22:13:20Z
	// eventstore: malformed event ID
}

func ExampleGenerator() {
	var g eventstore.Generator
	now := time.UnixMilli(1_700_000_000_000)
	fmt.Println(g.Next(now), g.Next(now), g.Next(now.Add(-time.Second)))
	// Output: 1700000000000-0 1700000000000-1 1700000000000-2
}

func ExampleOptions_onEvict() {
	ctx := context.Background()
	store := eventstore.NewMemory(eventstore.Options{
		Limits: eventstore.Limits{MaxEventsPerStream: 1},
		OnEvict: func(e eventstore.Eviction) {
			fmt.Println("evicted", e.Events, "from", e.Stream, "by", e.Reason)
		},
	})
	defer store.Close()
	_, _ = store.Append(ctx, "s", "", []byte("a"))
	_, _ = store.Append(ctx, "s", "", []byte("b"))
	fmt.Println(store.Stats().Events)
	// Output:
	// evicted 1 from s by count
	// 1
}
