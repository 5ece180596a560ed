package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
)

// collect follows until want events arrived or an error was yielded.
func collect(ctx context.Context, s eventstore.Store, stream string, after eventstore.ID, want int) ([]eventstore.Event, error) {
	var got []eventstore.Event
	for ev, err := range s.Follow(ctx, stream, after) {
		if err != nil {
			return got, err
		}
		got = append(got, ev)
		if len(got) == want {
			break
		}
	}
	return got, ctx.Err()
}

func requireInOrder(t *testing.T, evs []eventstore.Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		require.True(t, evs[i-1].ID.Less(evs[i].ID), "event %d (%s) not after %s", i, evs[i].ID, evs[i-1].ID)
	}
}

func TestFollowReplayThenLive(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{})
	first, err := s.Append(ctx, "s", "", []byte("0"))
	require.NoError(t, err)
	const n = 300 // more than a ReadBatch, appended while the follower replays
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i < n; i++ {
			_, err := s.Append(ctx, "s", "", fmt.Appendf(nil, "%d", i))
			assert.NoError(t, err)
		}
	}()
	got, err := collect(ctx, s, "s", eventstore.ID{}, n)
	wg.Wait()
	require.NoError(t, err)
	require.Len(t, got, n)
	assert.Equal(t, first, got[0])
	requireInOrder(t, got)
	for i, ev := range got {
		assert.Equal(t, fmt.Sprint(i), string(ev.Data))
	}
	assert.Equal(t, 0, s.Stats().Followers)
}

// Two stores on two clients, as two processes behind a load balancer: both
// append to one stream and both follow it; each follower sees every event of
// both, in one order.
func TestTwoStoresShareStream(t *testing.T) {
	ctx := ctxT(t)
	prefix := newPrefix()
	s1 := openOn(t, client(t, shared), prefix, eventstore.Options{})
	s2 := openOn(t, client(t, shared), prefix, eventstore.Options{})
	const per = 100
	type res struct {
		evs []eventstore.Event
		err error
	}
	results := make([]res, 2)
	var ready, followers sync.WaitGroup
	for i, s := range []eventstore.Store{s1, s2} {
		ready.Add(1)
		followers.Add(1)
		seq := s.Follow(ctx, "shared", eventstore.Tail)
		ready.Done()
		go func() {
			defer followers.Done()
			results[i].evs, results[i].err = collectSeq(seq, 2*per)
		}()
	}
	ready.Wait()
	var writers sync.WaitGroup
	for w, s := range []eventstore.Store{s1, s2} {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range per {
				_, err := s.Append(ctx, "shared", "", fmt.Appendf(nil, "w%d-%d", w, i))
				assert.NoError(t, err)
			}
		}()
	}
	writers.Wait()
	followers.Wait()
	require.NoError(t, results[0].err)
	require.NoError(t, results[1].err)
	require.Len(t, results[0].evs, 2*per)
	assert.Equal(t, results[0].evs, results[1].evs, "both followers see the same events in the same order")
	requireInOrder(t, results[0].evs)
	all, err := s2.ReadAfter(ctx, "shared", eventstore.ID{}, 1000)
	require.NoError(t, err)
	assert.Equal(t, all, results[0].evs)
}

func collectSeq(seq func(func(eventstore.Event, error) bool), want int) ([]eventstore.Event, error) {
	var got []eventstore.Event
	var ferr error
	seq(func(ev eventstore.Event, err error) bool {
		if err != nil {
			ferr = err
			return false
		}
		got = append(got, ev)
		return len(got) < want
	})
	return got, ferr
}

func TestFollowTailCancelClose(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{})
	_, err := s.Append(ctx, "s", "", []byte("old"))
	require.NoError(t, err)
	seq := s.Follow(ctx, "s", eventstore.Tail)
	ev, err := s.Append(ctx, "s", "", []byte("new"))
	require.NoError(t, err)
	got, err := collectSeq(seq, 1)
	require.NoError(t, err)
	assert.Equal(t, []eventstore.Event{ev}, got, "Tail is resolved when Follow is called")

	// Cancel ends a follower waiting in XREAD at once, without an error.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := collect(cctx, s, "s", ev.ID, 1)
		done <- err
	}()
	require.Eventually(t, func() bool { return s.Stats().Followers == 1 }, 10*time.Second, 5*time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled, "collect reports ctx.Err(); the sequence yielded nothing")
		assert.Less(t, time.Since(start), 5*time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end on cancel")
	}

	// Close ends a waiting follower with ErrClosed.
	go func() {
		_, err := collect(ctx, s, "s", ev.ID, 1)
		done <- err
	}()
	require.Eventually(t, func() bool { return s.Stats().Followers == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, eventstore.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end on Close")
	}
}

func TestFollowFallsBehindAndDelete(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 5}})
	ev, err := s.Append(ctx, "s", "", []byte("0"))
	require.NoError(t, err)

	// A follower that stops consuming while 20 more are appended finds its
	// next event evicted.
	var ferr error
	n := 0
	for _, err := range s.Follow(ctx, "s", eventstore.ID{}) {
		if err != nil {
			ferr = err
			break
		}
		n++
		if n == 1 {
			for i := range 20 {
				_, aerr := s.Append(ctx, "s", "", fmt.Appendf(nil, "%d", i))
				require.NoError(t, aerr)
			}
		}
	}
	var g *eventstore.GapError
	require.ErrorAs(t, ferr, &g)
	assert.Equal(t, ev.ID, g.After)
	assert.Equal(t, 1, n)

	// A follower waiting at the tail notices Delete (within BlockTimeout).
	last, err := s.Append(ctx, "s", "", []byte("last"))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := collect(ctx, s, "s", last.ID, 1)
		done <- err
	}()
	require.Eventually(t, func() bool { return s.Stats().Followers == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, s.Delete(ctx, "s"))
	select {
	case err := <-done:
		require.ErrorAs(t, err, &g)
		assert.Equal(t, last.ID, g.After)
	case <-time.After(10 * time.Second):
		t.Fatal("follower did not notice Delete")
	}
}

// A Redis restart with AOF (appendfsync always) after SIGKILL loses nothing
// the store acknowledged, and IDs keep increasing after it.
func TestRestartWithAOFLosesNothingAcknowledged(t *testing.T) {
	ctx := ctxT(t)
	srv := redistest.New(t, redistest.Config{AOF: true})
	s := openOn(t, client(t, srv), "{es}:", eventstore.Options{})
	var (
		mu    sync.Mutex
		acked []eventstore.Event
	)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ev, err := s.Append(ctx, "s", "", fmt.Appendf(nil, "%d", i))
			if err != nil {
				return // the server is gone
			}
			mu.Lock()
			acked = append(acked, ev)
			mu.Unlock()
		}
	}()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 200 }, 20*time.Second, time.Millisecond)
	require.NoError(t, srv.Kill())
	close(stop)
	<-writerDone
	require.NoError(t, srv.Restart())

	got, err := s.ReadAfter(ctx, "s", eventstore.ID{}, 100_000)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(got), len(acked), "every acknowledged append survives")
	assert.Equal(t, acked, got[:len(acked)])
	// Appends after the restart continue the same stream.
	ev, err := s.Append(ctx, "s", "", []byte("after"))
	require.NoError(t, err)
	assert.True(t, got[len(got)-1].ID.Less(ev.ID))
	all, err := s.ReadAfter(ctx, "s", got[len(got)-1].ID, 10)
	require.NoError(t, err)
	assert.Equal(t, []eventstore.Event{ev}, all)
}

// A killed connection is re-established by the client under a follower; a
// stopped server gives the follower an error (not a hang); following again
// from the last delivered ID after the server is back loses nothing.
func TestConnectionLossFollowResumes(t *testing.T) {
	ctx := ctxT(t)
	srv := redistest.New(t, redistest.Config{AOF: true})
	c := client(t, srv)
	s := openOn(t, c, "{es}:", eventstore.Options{})
	admin := client(t, srv)

	var (
		mu  sync.Mutex
		got []eventstore.Event
	)
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	followErr := make(chan error, 1)
	follow := func(after eventstore.ID) {
		go func() {
			for ev, err := range s.Follow(ctx, "s", after) {
				if err != nil {
					followErr <- err
					return
				}
				mu.Lock()
				got = append(got, ev)
				mu.Unlock()
			}
			followErr <- nil
		}()
	}
	var sent []eventstore.Event
	appendN := func(n int) {
		for range n {
			ev, err := s.Append(ctx, "s", "", fmt.Appendf(nil, "%d", len(sent)))
			require.NoError(t, err)
			sent = append(sent, ev)
		}
	}

	follow(eventstore.ID{})
	appendN(10)
	require.Eventually(t, func() bool { return received() == 10 }, 20*time.Second, 5*time.Millisecond)

	// CLIENT KILL drops every connection of the store's client, the
	// follower's pending XREAD included: the client dials again and the
	// follower carries on.
	require.NoError(t, admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err())
	appendN(10)
	require.Eventually(t, func() bool { return received() == 20 }, 20*time.Second, 5*time.Millisecond)

	// A stopped server: the follower ends with ErrUnavailable, promptly.
	require.NoError(t, srv.Kill())
	select {
	case err := <-followErr:
		require.ErrorIs(t, err, eventstore.ErrUnavailable)
	case <-time.After(15 * time.Second):
		t.Fatal("follower hung on a dead server")
	}
	_, err := s.Append(ctx, "s", "", []byte("lost"))
	require.ErrorIs(t, err, eventstore.ErrUnavailable)

	require.NoError(t, srv.Restart())
	mu.Lock()
	last := got[len(got)-1].ID
	mu.Unlock()
	appendN(10) // appended while nobody follows
	follow(last)
	appendN(10)
	require.Eventually(t, func() bool { return received() == 40 }, 20*time.Second, 5*time.Millisecond)
	mu.Lock()
	assert.Equal(t, sent, got, "nothing lost or doubled across the outage")
	mu.Unlock()
	require.NoError(t, s.Close())
	require.ErrorIs(t, <-followErr, eventstore.ErrClosed)
}

// A Redis that restarts without its data forgets the streams: positions in
// them are gaps, never a silent replay of whatever the new stream holds.
func TestRestartWithoutPersistenceIsAGap(t *testing.T) {
	ctx := ctxT(t)
	srv := redistest.New(t)
	s := openOn(t, client(t, srv), "{es}:", eventstore.Options{})
	var last eventstore.Event
	for i := range 3 {
		var err error
		last, err = s.Append(ctx, "s", "", fmt.Appendf(nil, "%d", i))
		require.NoError(t, err)
	}
	require.NoError(t, srv.Restart())
	_, err := s.ReadAfter(ctx, "s", last.ID, 10)
	var g *eventstore.GapError
	require.ErrorAs(t, err, &g)
	assert.True(t, g.Oldest.IsZero())

	fresh, err := s.Append(ctx, "s", "", []byte("new"))
	require.NoError(t, err)
	assert.True(t, last.ID.Less(fresh.ID), "the server clock keeps new IDs after old ones")
	_, err = collect(ctx, s, "s", last.ID, 1)
	require.ErrorAs(t, err, &g)
	assert.Equal(t, fresh.ID, g.Oldest)
}
