// Package storetest is the conformance suite for [eventstore.Store]
// implementations. Every store in this repository runs it, and so can a
// third-party one:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			New: func(t *testing.T, opts eventstore.Options) eventstore.Store {
//				s := mystore.New(opts)
//				t.Cleanup(func() { s.Close() })
//				return s
//			},
//		})
//	}
//
// The suite checks ID order and format, resume positions and gap errors,
// ReadSince, Follow (replay then live, atomic under concurrent appends; Tail;
// cancellation; Close; falling behind eviction), Trim and Delete, and every
// bound of [eventstore.Limits] with its [eventstore.Eviction] reports and
// [eventstore.Stats]. Run it under -race. The suite waits for every Follow
// iterator it starts to end; add go.uber.org/goleak's VerifyTestMain to the
// calling package to catch goroutines the store itself leaks.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// Harness describes the store under test.
type Harness struct {
	// New opens a fresh, empty store with opts and registers its Close with
	// t.Cleanup. Required.
	New func(t *testing.T, opts eventstore.Options) eventstore.Store

	// Clock reports that the store takes the time of its IDs and of age
	// eviction from Options.Clock. Without it, the clock-step test is
	// skipped and the age test uses the real clock (and sleeps).
	Clock bool

	// Unsupported names subtests (e.g. "Bounds/Bytes") the store does not
	// support, with the reason; they are skipped with that reason.
	Unsupported map[string]string
}

// Run runs the conformance suite against h as subtests of t.
func Run(t *testing.T, h Harness) {
	require.NotNil(t, h.New, "storetest: Harness.New is required")
	s := &suite{h: h}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"IDs", s.testIDs},
		{"ClockStepsBack", s.testClockStepsBack},
		{"ReadAfter", s.testReadAfter},
		{"ReadAfterMissingStream", s.testReadAfterMissingStream},
		{"ForeignID", s.testForeignID},
		{"ReadSince", s.testReadSince},
		{"FollowAtomic", s.testFollowAtomic},
		{"FollowTail", s.testFollowTail},
		{"FollowGapAtStart", s.testFollowGapAtStart},
		{"FollowCancel", s.testFollowCancel},
		{"FollowClose", s.testFollowClose},
		{"FollowFallsBehind", s.testFollowFallsBehind},
		{"FollowDelete", s.testFollowDelete},
		{"Trim", s.testTrim},
		{"Delete", s.testDelete},
		{"Closed", s.testClosed},
		{"Bounds/Count", s.testBoundCount},
		{"Bounds/Bytes", s.testBoundBytes},
		{"Bounds/EventSize", s.testBoundEventSize},
		{"Bounds/Age", s.testBoundAge},
		{"Bounds/Streams", s.testBoundStreams},
		{"Bounds/StreamName", s.testBoundStreamName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := h.Unsupported[tc.name]; ok {
				t.Skip("unsupported by this store: " + why)
			}
			tc.fn(t)
		})
	}
}

type suite struct{ h Harness }

// env is one subtest's store with its clock and eviction recorder.
type env struct {
	t     *testing.T
	s     eventstore.Store
	clock *fakeClock // nil when the store ignores Options.Clock
	ctx   context.Context

	mu  sync.Mutex
	evs []eventstore.Eviction
}

func (s *suite) open(t *testing.T, lim eventstore.Limits) *env {
	e := &env{t: t, ctx: t.Context()}
	opts := eventstore.Options{Limits: lim, OnEvict: e.onEvict}
	if s.h.Clock {
		e.clock = &fakeClock{now: time.Now().Truncate(time.Millisecond)}
		opts.Clock = e.clock.Now
	}
	e.s = s.h.New(t, opts)
	require.NotNil(t, e.s, "Harness.New returned nil")
	return e
}

func (e *env) onEvict(ev eventstore.Eviction) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

// evictions returns the evictions reported so far, summed per stream and
// reason (stores may report one eviction in several pieces), and resets them.
func (e *env) evictions() map[string]eventstore.Eviction {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]eventstore.Eviction{}
	for _, ev := range e.evs {
		k := ev.Stream + "/" + ev.Reason.String()
		sum := out[k]
		sum.Stream, sum.Reason = ev.Stream, ev.Reason
		sum.Events += ev.Events
		sum.Bytes += ev.Bytes
		if sum.Through.Less(ev.Through) {
			sum.Through = ev.Through
		}
		out[k] = sum
	}
	e.evs = nil
	return out
}

// tick makes the next event's millisecond later than the last one's.
func (e *env) tick() {
	if e.clock != nil {
		e.clock.Advance(10 * time.Millisecond)
		return
	}
	time.Sleep(3 * time.Millisecond)
}

func (e *env) append(stream, data string) eventstore.Event {
	e.t.Helper()
	ev, err := e.s.Append(e.ctx, stream, "msg", []byte(data))
	require.NoError(e.t, err)
	return ev
}

func (e *env) appendN(stream string, n int, tick bool) []eventstore.Event {
	e.t.Helper()
	out := make([]eventstore.Event, n)
	for i := range out {
		if tick && i > 0 {
			e.tick()
		}
		out[i] = e.append(stream, fmt.Sprintf("%s-%d", stream, i))
	}
	return out
}

func (e *env) readAfter(stream string, after eventstore.ID) ([]eventstore.Event, error) {
	return e.s.ReadAfter(e.ctx, stream, after, 1<<20)
}

func ids(evs []eventstore.Event) []eventstore.ID {
	out := make([]eventstore.ID, len(evs))
	for i := range evs {
		out[i] = evs[i].ID
	}
	return out
}

// requireGap asserts that err is a *GapError for stream, after and oldest.
func requireGap(t *testing.T, err error, stream string, after, oldest eventstore.ID) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, eventstore.ErrGap)
	var g *eventstore.GapError
	require.ErrorAs(t, err, &g)
	assert.Equal(t, stream, g.Stream, "GapError.Stream")
	assert.Equal(t, after, g.After, "GapError.After")
	assert.Equal(t, oldest, g.Oldest, "GapError.Oldest")
	assert.True(t, strings.HasPrefix(err.Error(), "eventstore: "), "error not prefixed: %q", err)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// followResult is what a Follow consumer goroutine saw.
type followResult struct {
	events []eventstore.Event
	err    error // the error yielded, if any
}

// follower runs Follow in a goroutine until want events arrived, an error is
// yielded, or ctx ends. The test waits for it with wait, so no goroutine of
// the suite outlives its subtest.
type follower struct {
	done chan struct{}
	res  followResult
	got  chan eventstore.Event // every delivered event, buffered
}

func startFollow(ctx context.Context, s eventstore.Store, stream string, after eventstore.ID, want int) *follower {
	f := &follower{done: make(chan struct{}), got: make(chan eventstore.Event, min(want, 4096))}
	seq := s.Follow(ctx, stream, after)
	go func() {
		defer close(f.done)
		for ev, err := range seq {
			if err != nil {
				f.res.err = err
				return
			}
			f.res.events = append(f.res.events, ev)
			select {
			case f.got <- ev:
			default:
			}
			if len(f.res.events) == want {
				return
			}
		}
	}()
	return f
}

// wait waits for the follower to end; a follower that does not end within
// d fails the test (and is left to its context, which the test cancels).
func (f *follower) wait(t *testing.T, d time.Duration) followResult {
	t.Helper()
	select {
	case <-f.done:
		return f.res
	case <-time.After(d):
		require.FailNow(t, "Follow did not end in time")
		return followResult{}
	}
}

// waitLong is the bound for anything that should happen "soon": generous, as
// the suite runs on loaded CI machines.
const waitLong = 20 * time.Second

var errNotEnded = errors.New("not ended")

func (f *follower) ended() error {
	select {
	case <-f.done:
		return nil
	default:
		return errNotEnded
	}
}
