package redisstore_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
)

type tailed struct {
	mu   sync.Mutex
	evs  map[string][]string
	errs []error
}

func newTailed() *tailed { return &tailed{evs: map[string][]string{}} }

func (r *tailed) fn(ev eventstore.Event, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.evs[ev.Stream] = append(r.evs[ev.Stream], string(ev.Data))
}

func (r *tailed) get(stream string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.evs[stream]...)
}

func nums(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// One tailer follows many streams, a stream added while a read is pending
// is delivered at once (the wake-up), and a removed one is no longer.
func TestTailerManyStreams(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{})
	r := newTailed()
	tl := s.NewTailer(r.fn)
	defer tl.Close()
	for i := range 20 {
		require.NoError(t, tl.Add(ctx, "s"+strconv.Itoa(i)))
	}
	for n := 1; n <= 10; n++ {
		for i := range 20 {
			_, err := s.Append(ctx, "s"+strconv.Itoa(i), "", []byte(strconv.Itoa(n)))
			require.NoError(t, err)
		}
	}
	require.Eventually(t, func() bool {
		for i := range 20 {
			if len(r.get("s"+strconv.Itoa(i))) < 10 {
				return false
			}
		}
		return true
	}, 20*time.Second, 5*time.Millisecond)
	for i := range 20 {
		assert.Equal(t, nums(1, 10), r.get("s"+strconv.Itoa(i)))
	}
	// A read is pending now; the new stream joins through the wake-up
	// (timing is not asserted: a loaded machine).
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, tl.Add(ctx, "late"))
	_, err := s.Append(ctx, "late", "", []byte("1"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(r.get("late")) == 1 }, 10*time.Second, time.Millisecond)
	tl.Remove("s0")
	time.Sleep(300 * time.Millisecond)
	_, err = s.Append(ctx, "s0", "", []byte("11"))
	require.NoError(t, err)
	_, err = s.Append(ctx, "s1", "", []byte("11"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(r.get("s1")) == 11 }, 10*time.Second, time.Millisecond)
	assert.Len(t, r.get("s0"), 10, "a removed stream is not delivered")
	assert.Empty(t, r.errs)
}

// Redis killed and restarted (AOF): the tailer reports ErrUnavailable once
// and then resumes every stream from its last delivered ID.
func TestTailerResumesAfterRestart(t *testing.T) {
	ctx := ctxT(t)
	srv := redistest.New(t, redistest.Config{AOF: true})
	s := openOn(t, client(t, srv), "{es}:", eventstore.Options{})
	r := newTailed()
	tl := s.NewTailer(r.fn)
	defer tl.Close()
	require.NoError(t, tl.Add(ctx, "a"))
	require.NoError(t, tl.Add(ctx, "b"))
	for n := 1; n <= 5; n++ {
		_, err := s.Append(ctx, "a", "", []byte(strconv.Itoa(n)))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(r.get("a")) == 5 }, 10*time.Second, time.Millisecond)
	require.NoError(t, srv.Kill())
	require.Eventually(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.errs) > 0 }, 10*time.Second, time.Millisecond)
	require.NoError(t, srv.Restart())
	for n := 6; n <= 10; n++ {
		_, err := s.Append(ctx, "a", "", []byte(strconv.Itoa(n)))
		require.NoError(t, err)
		_, err = s.Append(ctx, "b", "", []byte(strconv.Itoa(n)))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(r.get("a")) == 10 && len(r.get("b")) == 5 }, 20*time.Second, time.Millisecond)
	assert.Equal(t, nums(1, 10), r.get("a"))
	assert.Equal(t, nums(6, 10), r.get("b"))
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		assert.True(t, errors.Is(err, eventstore.ErrUnavailable), "%v", err)
	}
}

// A stream deleted and created again behind the tailer's position is a
// gap: the stream is dropped and the gap reported with its name.
func TestTailerGap(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 3}})
	r := newTailed()
	tl := s.NewTailer(r.fn)
	defer tl.Close()
	require.NoError(t, tl.Add(ctx, "g"))
	// Delete and create again: the new entry does not follow on from the
	// tailer's position, and the read script reports the gap.
	_, err := s.Append(ctx, "g", "", []byte("1"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(r.get("g")) == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, s.Delete(ctx, "g"))
	_, err = s.Append(ctx, "g", "", []byte("x"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.errs) > 0 }, 10*time.Second, time.Millisecond)
	r.mu.Lock()
	var gap *eventstore.GapError
	require.True(t, errors.As(r.errs[0], &gap), "%v", r.errs[0])
	assert.Equal(t, "g", gap.Stream)
	r.mu.Unlock()
}

// The fan-out hub uses the tailer: two hubs over two stores on one Redis.
func TestFanoutHubOverRedis(t *testing.T) {
	ctx := ctxT(t)
	c := client(t, shared)
	prefix := newPrefix()
	a, b := openOn(t, c, prefix, eventstore.Options{}), openOn(t, c, prefix, eventstore.Options{})
	ha, hb := fanout.New(a, fanout.Options{}), fanout.New(b, fanout.Options{})
	defer ha.Close()
	defer hb.Close()
	var mu sync.Mutex
	var got []string
	for i := range 5 {
		stop, err := hb.Subscribe("room"+strconv.Itoa(i), eventstore.Tail, func(ev eventstore.Event, err error) {
			if err == nil {
				mu.Lock()
				got = append(got, ev.Stream+"/"+string(ev.Data))
				mu.Unlock()
			}
		})
		require.NoError(t, err)
		defer stop()
	}
	for i := range 5 {
		_, err := ha.Publish(ctx, "room"+strconv.Itoa(i), "", []byte(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 5 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 0, b.Stats().Followers, "the hub follows through the tailer, not Follow")
}
