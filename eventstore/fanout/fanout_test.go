package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collector gathers one subscription's calls.
type collector struct {
	mu   sync.Mutex
	evs  []eventstore.Event
	errs []error
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) fn(ev eventstore.Event, err error) {
	c.mu.Lock()
	if err != nil {
		c.errs = append(c.errs, err)
	} else {
		c.evs = append(c.evs, ev)
	}
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// waitN waits until c holds n events and returns their payloads.
func (c *collector) waitN(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		if len(c.evs) >= n {
			out := make([]string, len(c.evs))
			for i, ev := range c.evs {
				out[i] = string(ev.Data)
			}
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %d events", n)
		}
	}
}

func seqStrings(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestTwoHubsShareOneStore(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	a, b := fanout.New(st, fanout.Options{}), fanout.New(st, fanout.Options{})
	defer a.Close()
	defer b.Close()
	ca, cb := newCollector(), newCollector()
	stopA, err := a.Subscribe("s", eventstore.Tail, ca.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer stopA()
	stopB, err := b.Subscribe("s", eventstore.Tail, cb.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer stopB()
	ctx := context.Background()
	for i := 1; i <= 100; i++ {
		h := a
		if i%2 == 0 {
			h = b
		}
		if _, err := h.Publish(ctx, "s", "", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	equal(t, ca.waitN(t, 100), seqStrings(1, 100))
	equal(t, cb.waitN(t, 100), seqStrings(1, 100))
	if a.Following() != 1 {
		t.Fatalf("Following = %d, want 1", a.Following())
	}
}

func TestSubscribersShareOneFollower(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	h := fanout.New(st, fanout.Options{Linger: -1})
	defer h.Close()
	var cs []*collector
	var stops []func()
	for range 10 {
		c := newCollector()
		stop, err := h.Subscribe("s", eventstore.Tail, c.fn)
		if err != nil {
			t.Fatal(err)
		}
		cs, stops = append(cs, c), append(stops, stop)
	}
	if got := st.Stats().Followers; got > 1 {
		t.Fatalf("store followers = %d, want at most 1", got)
	}
	for i := 1; i <= 5; i++ {
		_, _ = h.Publish(context.Background(), "s", "", []byte(strconv.Itoa(i)))
	}
	for _, c := range cs {
		equal(t, c.waitN(t, 5), seqStrings(1, 5))
	}
	for _, stop := range stops {
		stop()
	}
	if h.Following() != 0 {
		t.Fatalf("Following = %d after the last subscriber left, want 0", h.Following())
	}
}

func TestLingerKeepsFollowing(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	h := fanout.New(st, fanout.Options{Linger: 50 * time.Millisecond})
	defer h.Close()
	stop, err := h.Subscribe("s", eventstore.Tail, func(eventstore.Event, error) {})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if h.Following() != 1 {
		t.Fatal("stopped following before Linger")
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.Following() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("still following long after Linger")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMaxStreams(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	h := fanout.New(st, fanout.Options{MaxStreams: 2})
	defer h.Close()
	for _, name := range []string{"a", "b", "a"} {
		if _, err := h.Subscribe(name, eventstore.Tail, func(eventstore.Event, error) {}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Subscribe("c", eventstore.Tail, func(eventstore.Event, error) {}); !errors.Is(err, fanout.ErrTooManyStreams) {
		t.Fatalf("third stream: err = %v, want ErrTooManyStreams", err)
	}
}

// TestReplayThenLive subscribes from an ID while events keep coming: the
// subscriber gets every event after the ID once, in order.
func TestReplayThenLive(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	h := fanout.New(st, fanout.Options{})
	defer h.Close()
	ctx := context.Background()
	var mid eventstore.ID
	for i := 1; i <= 600; i++ {
		ev, err := h.Publish(ctx, "s", "", []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		if i == 100 {
			mid = ev.ID
		}
	}
	// A live subscriber keeps the follower busy.
	if _, err := h.Subscribe("s", eventstore.Tail, func(eventstore.Event, error) {}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 601; i <= 1000; i++ {
			_, _ = h.Publish(ctx, "s", "", []byte(strconv.Itoa(i)))
		}
	}()
	c := newCollector()
	stop, err := h.Subscribe("s", mid, c.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	<-done
	equal(t, c.waitN(t, 900), seqStrings(101, 1000))
}

// flaky is a store whose Follow and Append fail with ErrUnavailable while
// down is set, as a Redis store does while Redis is away.
type flaky struct {
	eventstore.Store
	down atomic.Bool
}

func (f *flaky) Append(ctx context.Context, s, typ string, d []byte) (eventstore.Event, error) {
	if f.down.Load() {
		return eventstore.Event{}, fmt.Errorf("%w: down", eventstore.ErrUnavailable)
	}
	return f.Store.Append(ctx, s, typ, d)
}

func (f *flaky) Follow(ctx context.Context, s string, after eventstore.ID) iter.Seq2[eventstore.Event, error] {
	inner := f.Store.Follow(ctx, s, after)
	return func(yield func(eventstore.Event, error) bool) {
		if f.down.Load() {
			yield(eventstore.Event{}, fmt.Errorf("%w: down", eventstore.ErrUnavailable))
			return
		}
		for ev, err := range inner {
			if f.down.Load() {
				yield(eventstore.Event{}, fmt.Errorf("%w: down", eventstore.ErrUnavailable))
				return
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

func TestUnavailableStoreResumesWithoutLossOrDuplicates(t *testing.T) {
	mem := eventstore.NewMemory(eventstore.Options{})
	defer mem.Close()
	st := &flaky{Store: mem}
	h := fanout.New(st, fanout.Options{RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond})
	defer h.Close()
	c := newCollector()
	stop, err := h.Subscribe("s", eventstore.Tail, c.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	for i := 1; i <= 10; i++ {
		_, _ = h.Publish(ctx, "s", "", []byte(strconv.Itoa(i)))
	}
	c.waitN(t, 10)
	st.down.Store(true)
	if _, err := h.Publish(ctx, "s", "", []byte("x")); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("publish while down: err = %v, want ErrUnavailable", err)
	}
	// Events appended behind the hub's back (another process, once the
	// store is back for it) while this hub's follower is failing.
	for i := 11; i <= 20; i++ {
		_, _ = mem.Append(ctx, "s", "", []byte(strconv.Itoa(i)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.errs)
		c.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("subscriber was not told the store is unavailable")
		}
		time.Sleep(time.Millisecond)
	}
	st.down.Store(false)
	for i := 21; i <= 30; i++ {
		_, _ = h.Publish(ctx, "s", "", []byte(strconv.Itoa(i)))
	}
	equal(t, c.waitN(t, 30), seqStrings(1, 30))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, err := range c.errs {
		if !errors.Is(err, eventstore.ErrUnavailable) {
			t.Fatalf("error %v, want only ErrUnavailable", err)
		}
	}
}

func TestGapEndsSubscription(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	h := fanout.New(st, fanout.Options{})
	defer h.Close()
	c := newCollector()
	if _, err := h.Subscribe("s", eventstore.ID{Ms: 1, Seq: 1}, c.fn); err != nil {
		t.Fatal(err)
	}
	_, _ = h.Publish(context.Background(), "s", "", []byte("1"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		errs := append([]error(nil), c.errs...)
		c.mu.Unlock()
		if len(errs) > 0 {
			var gap *eventstore.GapError
			if !errors.As(errs[0], &gap) {
				t.Fatalf("err = %v, want a GapError", errs[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no gap reported for an unknown ID")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestClosedHub(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	h := fanout.New(st, fanout.Options{})
	if _, err := h.Subscribe("s", eventstore.Tail, func(eventstore.Event, error) {}); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe("s", eventstore.Tail, func(eventstore.Event, error) {}); !errors.Is(err, fanout.ErrHubClosed) {
		t.Fatalf("err = %v, want ErrHubClosed", err)
	}
}
