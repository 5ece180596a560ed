package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
)

func (s *suite) testIDs(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	buf := []byte("payload")
	before := time.Now()
	if e.clock != nil {
		before = e.clock.Now()
	}
	ev, err := e.s.Append(e.ctx, "ids", "greeting", buf)
	require.NoError(t, err)
	copy(buf, "XXXXXXX") // the store must have copied the data
	assert.Equal(t, "ids", ev.Stream)
	assert.Equal(t, "greeting", ev.Type)
	assert.Equal(t, []byte("payload"), ev.Data)
	assert.False(t, ev.ID.IsZero())
	assert.Equal(t, ev.ID.Time().UnixMilli(), ev.Time.UnixMilli(), "Event.Time is the ID's millisecond")
	assert.InDelta(t, before.UnixMilli(), int64(ev.ID.Ms), 60_000, "ID carries the accept time in ms")

	parsed, err := eventstore.ParseID(ev.ID.String())
	require.NoError(t, err)
	assert.Equal(t, ev.ID, parsed)
	assert.Regexp(t, `^[0-9]+-[0-9]+$`, ev.ID.String())

	got, err := e.readAfter("ids", eventstore.ID{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "payload", string(got[0].Data), "stored data changed with the caller's buffer")
	assert.Equal(t, "greeting", got[0].Type)
	assert.Equal(t, ev.ID, got[0].ID)

	// Many appends, fast: strictly increasing, and read back in order.
	all := append([]eventstore.Event{ev}, e.appendN("ids", 300, false)...)
	for i := 1; i < len(all); i++ {
		require.True(t, all[i-1].ID.Less(all[i].ID), "IDs not increasing: %s then %s", all[i-1].ID, all[i].ID)
	}
	got, err = e.readAfter("ids", eventstore.ID{})
	require.NoError(t, err)
	assert.Equal(t, ids(all), ids(got))
	got, err = e.s.ReadAfter(e.ctx, "ids", eventstore.ID{}, 5)
	require.NoError(t, err)
	assert.Equal(t, ids(all[:5]), ids(got), "limit")
}

func (s *suite) testClockStepsBack(t *testing.T) {
	if !s.h.Clock {
		t.Skip("store does not take time from Options.Clock")
	}
	e := s.open(t, eventstore.Limits{})
	a := e.append("c", "a")
	e.clock.Advance(-10 * time.Second)
	b := e.append("c", "b")
	c := e.append("c", "c")
	e.clock.Advance(20 * time.Second)
	d := e.append("c", "d")
	assert.True(t, a.ID.Less(b.ID), "%s !< %s after the clock stepped back", a.ID, b.ID)
	assert.True(t, b.ID.Less(c.ID), "%s !< %s", b.ID, c.ID)
	assert.True(t, c.ID.Less(d.ID), "%s !< %s", c.ID, d.ID)
	assert.Equal(t, uint64(e.clock.Now().UnixMilli()), d.ID.Ms, "once the clock passes the last ID, IDs follow it again")
	got, err := e.readAfter("c", a.ID)
	require.NoError(t, err)
	assert.Equal(t, []eventstore.ID{b.ID, c.ID, d.ID}, ids(got))
}

func (s *suite) testReadAfter(t *testing.T) {
	e := s.open(t, eventstore.Limits{MaxEventsPerStream: 5})
	all := e.appendN("r", 8, true) // holds all[3:], all[2] evicted last
	held := all[3:]

	cases := []struct {
		name  string
		after eventstore.ID
		want  []eventstore.Event
	}{
		{"zero", eventstore.ID{}, held},
		{"held", all[4].ID, all[5:]},
		{"newest", all[7].ID, nil},
		{"last evicted", all[2].ID, held},
	}
	for _, tc := range cases {
		got, err := e.readAfter("r", tc.after)
		require.NoError(t, err, tc.name)
		assert.Equal(t, ids(tc.want), ids(got), tc.name)
		for i := range got {
			assert.Equal(t, "r", got[i].Stream)
			assert.Equal(t, "msg", got[i].Type)
		}
	}
	got, err := e.readAfter("r", all[3].ID)
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, "r-4", string(got[0].Data))

	gaps := []struct {
		name  string
		after eventstore.ID
	}{
		{"evicted", all[1].ID},
		{"first evicted", all[0].ID},
		{"unknown old", eventstore.ID{Ms: 1, Seq: 1}},
		{"between held", eventstore.ID{Ms: all[5].ID.Ms + 1}},
		{"seq between held", eventstore.ID{Ms: all[5].ID.Ms, Seq: all[5].ID.Seq + 1}},
		{"future", eventstore.ID{Ms: all[7].ID.Ms + 3_600_000}},
		{"tail", eventstore.Tail},
	}
	for _, tc := range gaps {
		got, err := e.readAfter("r", tc.after)
		assert.Empty(t, got, tc.name)
		requireGap(t, err, "r", tc.after, held[0].ID)
	}
}

func (s *suite) testReadAfterMissingStream(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	got, err := e.readAfter("nope", eventstore.ID{})
	require.NoError(t, err, "reading a missing stream from the start is empty, not an error")
	assert.Empty(t, got)
	id := eventstore.ID{Ms: uint64(time.Now().UnixMilli()), Seq: 3}
	_, err = e.readAfter("nope", id)
	requireGap(t, err, "nope", id, eventstore.ID{})
}

func (s *suite) testForeignID(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	a := e.appendN("a", 3, false)
	e.tick()
	b := e.appendN("b", 3, false)
	for _, ev := range a {
		if ev.ID == b[0].ID || ev.ID == b[1].ID || ev.ID == b[2].ID {
			continue // a store with per-stream IDs may reuse one; it is then held in b
		}
		got, err := e.readAfter("b", ev.ID)
		assert.Empty(t, got)
		requireGap(t, err, "b", ev.ID, b[0].ID)
	}
}

func (s *suite) testReadSince(t *testing.T) {
	e := s.open(t, eventstore.Limits{MaxEventsPerStream: 3})
	all := e.appendN("s", 5, true) // holds all[2:]
	cases := []struct {
		name  string
		since time.Time
		want  []eventstore.Event
	}{
		{"oldest held", all[2].Time, all[2:]},
		{"middle", all[3].Time, all[3:]},
		{"between evicted and held", all[1].Time.Add(time.Millisecond), all[2:]},
		{"newest", all[4].Time, all[4:]},
		{"future", all[4].Time.Add(time.Hour), nil},
	}
	for _, tc := range cases {
		got, err := e.s.ReadSince(e.ctx, "s", tc.since, 100)
		require.NoError(t, err, tc.name)
		assert.Equal(t, ids(tc.want), ids(got), tc.name)
	}
	got, err := e.s.ReadSince(e.ctx, "s", all[2].Time, 1)
	require.NoError(t, err)
	assert.Equal(t, ids(all[2:3]), ids(got), "limit")

	for _, since := range []time.Time{all[1].Time, all[0].Time, {}} {
		got, err := e.s.ReadSince(e.ctx, "s", since, 100)
		assert.Empty(t, got)
		require.ErrorIs(t, err, eventstore.ErrGap, "since %v: events at or after it were evicted", since)
		var g *eventstore.GapError
		require.ErrorAs(t, err, &g)
		assert.Equal(t, all[2].ID, g.Oldest)
		assert.Equal(t, "s", g.Stream)
	}

	got, err = e.s.ReadSince(e.ctx, "missing", all[0].Time, 100)
	require.NoError(t, err)
	assert.Empty(t, got)

	// Without eviction, the zero time reads everything.
	fresh := e.appendN("t", 3, false)
	got, err = e.s.ReadSince(e.ctx, "t", time.Time{}, 100)
	require.NoError(t, err)
	assert.Equal(t, ids(fresh), ids(got))
}

// testFollowAtomic runs several appenders and followers on one stream: each
// follower must see exactly the stream's sequence from its starting point,
// with nothing lost and nothing twice across its replay and its live tail.
func (s *suite) testFollowAtomic(t *testing.T) {
	const appenders, perAppender = 4, 150
	const total = appenders * perAppender
	e := s.open(t, eventstore.Limits{MaxEventsPerStream: 4 * total})
	ctx, cancel := context.WithTimeout(e.ctx, waitLong)
	defer cancel()

	seed := e.appendN("f", 10, false)
	type start struct {
		name  string
		after eventstore.ID
		f     *follower
	}
	var starts []*start
	follow := func(name string, after eventstore.ID, want int) {
		starts = append(starts, &start{name: name, after: after, f: startFollow(ctx, e.s, "f", after, want)})
	}
	// Every follower ends with the sentinel appended after the appenders.
	follow("zero", eventstore.ID{}, 10+total+1)
	follow("seed5", seed[5].ID, 4+total+1)

	// The appenders append half, pause while followers start mid-stream (from
	// a held ID and from Tail), then append the rest while one more Tail
	// follower starts concurrently.
	var wg, half sync.WaitGroup
	gate, resume := make(chan struct{}), make(chan struct{})
	for a := range appenders {
		wg.Add(1)
		half.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			for i := range perAppender {
				if i == perAppender/2 {
					half.Done()
					<-resume
				}
				if _, err := e.s.Append(ctx, "f", "msg", []byte(fmt.Sprintf("a%d-%d", a, i))); err != nil {
					assert.NoError(t, err)
					return
				}
			}
		}()
	}
	close(gate)
	half.Wait()
	got, err := e.readAfter("f", eventstore.ID{})
	require.NoError(t, err)
	require.Len(t, got, 10+total/2)
	midAfter := got[len(got)-1].ID
	follow("mid", midAfter, total/2+1)
	tail := startFollow(ctx, e.s, "f", eventstore.Tail, 1<<30)
	racing := make(chan *follower, 1)
	go func() { racing <- startFollow(ctx, e.s, "f", eventstore.Tail, 1<<30) }()
	close(resume)
	wg.Wait()
	racer := <-racing // Follow was called before the sentinel
	e.append("f", "sentinel")
	full, err := e.readAfter("f", eventstore.ID{})
	require.NoError(t, err)
	require.Len(t, full, 10+total+1)
	for i := 1; i < len(full); i++ {
		require.True(t, full[i-1].ID.Less(full[i].ID))
	}
	index := map[eventstore.ID]int{}
	for i, ev := range full {
		index[ev.ID] = i
	}
	for _, st := range starts {
		res := st.f.wait(t, waitLong)
		require.NoError(t, res.err, st.name)
		from := 0
		if !st.after.IsZero() {
			from = index[st.after] + 1
		}
		assert.Equal(t, ids(full[from:]), ids(res.events), "follower %s", st.name)
		for i := range res.events {
			assert.Equal(t, full[from+i].Data, res.events[i].Data, "follower %s data", st.name)
		}
	}
	last := full[len(full)-1].ID
	tails := []*follower{tail, racer}
	for i, tf := range tails {
		// A Tail follower sees a contiguous suffix: wait for the last event.
		var seen []eventstore.Event
		deadline := time.After(waitLong)
	loop:
		for {
			select {
			case ev := <-tf.got:
				seen = append(seen, ev)
				if ev.ID == last {
					break loop
				}
			case <-deadline:
				require.FailNow(t, "tail follower did not reach the last event")
			}
		}
		if i == 0 {
			require.Len(t, seen, total/2+1, "tail follower started at the pause")
		}
		k, ok := index[seen[0].ID]
		require.True(t, ok, "tail follower saw an unknown event")
		assert.Equal(t, ids(full[k:]), ids(seen), "tail follower %d", i)
		assert.Less(t, index[midAfter], k, "Tail replayed events held before Follow was called")
	}
	cancel()
	for _, tf := range tails {
		res := tf.wait(t, waitLong)
		require.NoError(t, res.err)
	}
}

func (s *suite) testFollowTail(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	e.appendN("t", 3, false)
	f := startFollow(e.ctx, e.s, "t", eventstore.Tail, 2)
	a := e.append("t", "x")
	b := e.append("t", "y")
	res := f.wait(t, waitLong)
	require.NoError(t, res.err)
	assert.Equal(t, []eventstore.ID{a.ID, b.ID}, ids(res.events))

	// Tail of a stream that does not exist yet.
	g := startFollow(e.ctx, e.s, "new", eventstore.Tail, 1)
	c := e.append("new", "z")
	res = g.wait(t, waitLong)
	require.NoError(t, res.err)
	assert.Equal(t, []eventstore.ID{c.ID}, ids(res.events))

	// From zero on a missing stream: waits for its first event.
	h := startFollow(e.ctx, e.s, "later", eventstore.ID{}, 1)
	time.Sleep(5 * time.Millisecond)
	d := e.append("later", "w")
	res = h.wait(t, waitLong)
	require.NoError(t, res.err)
	assert.Equal(t, []eventstore.ID{d.ID}, ids(res.events))
}

func (s *suite) testFollowGapAtStart(t *testing.T) {
	e := s.open(t, eventstore.Limits{MaxEventsPerStream: 2})
	all := e.appendN("g", 5, true)
	for _, after := range []eventstore.ID{all[0].ID, {Ms: all[4].ID.Ms + 1}} {
		res := startFollow(e.ctx, e.s, "g", after, 10).wait(t, waitLong)
		assert.Empty(t, res.events)
		requireGap(t, res.err, "g", after, all[3].ID)
	}
	// The last evicted ID resumes without a gap.
	res := startFollow(e.ctx, e.s, "g", all[2].ID, 2).wait(t, waitLong)
	require.NoError(t, res.err)
	assert.Equal(t, ids(all[3:]), ids(res.events))
	// An unknown ID on a missing stream.
	res = startFollow(e.ctx, e.s, "missing", all[2].ID, 1).wait(t, waitLong)
	requireGap(t, res.err, "missing", all[2].ID, eventstore.ID{})
}

func (s *suite) testFollowCancel(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	first := e.append("c", "1")
	ctx, cancel := context.WithCancel(e.ctx)
	f := startFollow(ctx, e.s, "c", eventstore.ID{}, 1<<30)
	select {
	case ev := <-f.got:
		assert.Equal(t, first.ID, ev.ID)
	case <-time.After(waitLong):
		require.FailNow(t, "no event")
	}
	require.Error(t, f.ended(), "follower ended before cancel")
	cancel()
	res := f.wait(t, waitLong)
	assert.NoError(t, res.err, "a cancelled Follow ends without yielding an error")
	assert.Len(t, res.events, 1)

	// Already cancelled: ends without yielding anything.
	res = startFollow(ctx, e.s, "c", eventstore.ID{}, 10).wait(t, waitLong)
	assert.NoError(t, res.err)
	assert.Empty(t, res.events)

	// Breaking out of the loop ends it too (startFollow returns at want).
	res = startFollow(e.ctx, e.s, "c", eventstore.ID{}, 1).wait(t, waitLong)
	assert.Len(t, res.events, 1)
	require.Eventually(t, func() bool { return e.s.Stats().Followers == 0 }, waitLong, time.Millisecond,
		"Stats.Followers does not return to 0")
}

func (s *suite) testFollowClose(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	first := e.append("c", "1")
	f := startFollow(e.ctx, e.s, "c", eventstore.ID{}, 1<<30)
	select {
	case ev := <-f.got:
		assert.Equal(t, first.ID, ev.ID)
	case <-time.After(waitLong):
		require.FailNow(t, "no event")
	}
	idle := startFollow(e.ctx, e.s, "idle", eventstore.Tail, 1)
	require.NoError(t, e.s.Close())
	for _, x := range []*follower{f, idle} {
		res := x.wait(t, waitLong)
		require.ErrorIs(t, res.err, eventstore.ErrClosed)
	}
	require.NoError(t, e.s.Close(), "Close is idempotent")
	res := startFollow(e.ctx, e.s, "c", eventstore.ID{}, 1).wait(t, waitLong)
	require.ErrorIs(t, res.err, eventstore.ErrClosed)
	assert.Empty(t, res.events)
}

func (s *suite) testFollowFallsBehind(t *testing.T) {
	e := s.open(t, eventstore.Limits{MaxEventsPerStream: 4})
	first := e.append("b", "0")
	release := make(chan struct{})
	done := make(chan followResult, 1)
	received := make(chan struct{})
	seq := e.s.Follow(e.ctx, "b", eventstore.ID{})
	go func() {
		var res followResult
		for ev, err := range seq {
			if err != nil {
				res.err = err
				break
			}
			res.events = append(res.events, ev)
			if len(res.events) == 1 {
				close(received)
				<-release // a slow consumer
			}
			if len(res.events) > 10 {
				break
			}
		}
		done <- res
	}()
	select {
	case <-received:
	case <-time.After(waitLong):
		require.FailNow(t, "no first event")
	}
	more := e.appendN("b", 20, false)
	close(release)
	var res followResult
	select {
	case res = <-done:
	case <-time.After(waitLong):
		require.FailNow(t, "follower neither failed nor ended")
	}
	require.Equal(t, []eventstore.ID{first.ID}, ids(res.events), "a follower behind eviction must not skip events")
	requireGap(t, res.err, "b", first.ID, more[len(more)-4].ID)
}

func (s *suite) testFollowDelete(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	first := e.append("d", "0")
	f := startFollow(e.ctx, e.s, "d", eventstore.ID{}, 1<<30)
	select {
	case <-f.got:
	case <-time.After(waitLong):
		require.FailNow(t, "no first event")
	}
	require.NoError(t, e.s.Delete(e.ctx, "d"))
	e.append("d", "reborn")
	res := f.wait(t, waitLong)
	assert.Equal(t, []eventstore.ID{first.ID}, ids(res.events))
	require.ErrorIs(t, res.err, eventstore.ErrGap, "a follower of a deleted stream gets a gap")
}

func (s *suite) testTrim(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	all := e.appendN("t", 5, false)
	n, err := e.s.Trim(e.ctx, "t", all[3].ID)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	evs := e.evictions()
	ev := evs["t/trim"]
	assert.Equal(t, 3, ev.Events, "trim reported: %v", evs)
	assert.Equal(t, all[2].ID, ev.Through)
	assert.Equal(t, int64(3*(len("t")+len("msg")+len("t-0"))), ev.Bytes)

	got, err := e.readAfter("t", eventstore.ID{})
	require.NoError(t, err)
	assert.Equal(t, ids(all[3:]), ids(got))
	got, err = e.readAfter("t", all[2].ID)
	require.NoError(t, err, "the last trimmed ID resumes without a gap")
	assert.Equal(t, ids(all[3:]), ids(got))
	_, err = e.readAfter("t", all[1].ID)
	requireGap(t, err, "t", all[1].ID, all[3].ID)

	n, err = e.s.Trim(e.ctx, "t", all[3].ID)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to trim")
	n, err = e.s.Trim(e.ctx, "missing", all[3].ID)
	require.NoError(t, err)
	assert.Zero(t, n)
	st := e.s.Stats()
	assert.Equal(t, uint64(3), st.EvictedBy[eventstore.EvictTrim])
	assert.Equal(t, int64(2), st.Events)
	assert.Equal(t, uint64(5), st.Appended)
}

func (s *suite) testDelete(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	all := e.appendN("d", 3, false)
	keep := e.append("keep", "k")
	require.NoError(t, e.s.Delete(e.ctx, "d"))
	ev := e.evictions()["d/delete"]
	assert.Equal(t, 3, ev.Events)
	assert.Equal(t, all[2].ID, ev.Through)
	got, err := e.readAfter("d", eventstore.ID{})
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = e.readAfter("d", all[1].ID)
	require.ErrorIs(t, err, eventstore.ErrGap)
	got, err = e.readAfter("keep", eventstore.ID{})
	require.NoError(t, err)
	assert.Equal(t, []eventstore.ID{keep.ID}, ids(got))
	require.NoError(t, e.s.Delete(e.ctx, "missing"))
	st := e.s.Stats()
	assert.Equal(t, 1, st.Streams)
	assert.Equal(t, int64(1), st.Events)
	assert.Equal(t, uint64(3), st.EvictedBy[eventstore.EvictDelete])
	// The name is reusable.
	again := e.append("d", "again")
	assert.True(t, all[2].ID.Less(again.ID))
}

func (s *suite) testClosed(t *testing.T) {
	e := s.open(t, eventstore.Limits{})
	e.append("x", "1")
	require.NoError(t, e.s.Close())
	_, err := e.s.Append(e.ctx, "x", "", nil)
	require.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = e.readAfter("x", eventstore.ID{})
	require.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = e.s.ReadSince(e.ctx, "x", time.Time{}, 1)
	require.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = e.s.Trim(e.ctx, "x", eventstore.Tail)
	require.ErrorIs(t, err, eventstore.ErrClosed)
	require.ErrorIs(t, e.s.Delete(e.ctx, "x"), eventstore.ErrClosed)
	require.NoError(t, e.s.Close())

	// A done context fails calls with the context's error.
	f := s.open(t, eventstore.Limits{})
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err = f.s.Append(ctx, "x", "", nil)
	require.ErrorIs(t, err, context.Canceled)
}

func (s *suite) testBoundCount(t *testing.T) {
	e := s.open(t, eventstore.Limits{MaxEventsPerStream: 3})
	all := e.appendN("n", 5, false)
	ev := e.evictions()["n/count"]
	assert.Equal(t, 2, ev.Events)
	assert.Equal(t, all[1].ID, ev.Through)
	st := e.s.Stats()
	assert.Equal(t, int64(3), st.Events)
	assert.Equal(t, uint64(5), st.Appended)
	assert.Equal(t, uint64(2), st.Evicted)
	assert.Equal(t, uint64(2), st.EvictedBy[eventstore.EvictCount])
	assert.Equal(t, 1, st.Streams)
	assert.Equal(t, int64(3*(len("n")+len("msg")+len("n-0"))), st.Bytes)
	got, err := e.readAfter("n", eventstore.ID{})
	require.NoError(t, err)
	assert.Equal(t, ids(all[2:]), ids(got))
}

func (s *suite) testBoundBytes(t *testing.T) {
	// Each event: stream (1) + type "msg" (3) + 26 bytes of data = 30.
	e := s.open(t, eventstore.Limits{MaxBytes: 100})
	data := strings.Repeat("d", 26)
	app := func(stream string) eventstore.Event {
		ev, err := e.s.Append(e.ctx, stream, "msg", []byte(data))
		require.NoError(t, err)
		return ev
	}
	x0 := app("x")
	x1 := app("x")
	e.tick()
	y0 := app("y")
	assert.Empty(t, e.evictions(), "90 bytes is within the bound")
	y1 := app("y") // 120 > 100: the least recently appended stream (x) pays first
	evs := e.evictions()
	require.Len(t, evs, 1, "%v", evs)
	ev := evs["x/bytes"]
	assert.Equal(t, 1, ev.Events)
	assert.Equal(t, int64(30), ev.Bytes)
	assert.Equal(t, x0.ID, ev.Through)
	st := e.s.Stats()
	assert.Equal(t, int64(90), st.Bytes)
	assert.Equal(t, uint64(1), st.EvictedBy[eventstore.EvictBytes])
	got, err := e.readAfter("x", eventstore.ID{})
	require.NoError(t, err)
	assert.Equal(t, []eventstore.ID{x1.ID}, ids(got))
	got, err = e.readAfter("y", eventstore.ID{})
	require.NoError(t, err)
	assert.Equal(t, []eventstore.ID{y0.ID, y1.ID}, ids(got))
	assert.LessOrEqual(t, st.Bytes, int64(100))
	// An event larger than the whole byte bound is refused.
	_, err = e.s.Append(e.ctx, "x", "", bytes.Repeat([]byte("z"), 101))
	require.ErrorIs(t, err, eventstore.ErrTooLarge)
}

func (s *suite) testBoundEventSize(t *testing.T) {
	e := s.open(t, eventstore.Limits{MaxEventSize: 20})
	// Size counts stream + type + data: 1 + 3 + 16 = 20 fits, 21 does not.
	_, err := e.s.Append(e.ctx, "e", "msg", bytes.Repeat([]byte("a"), 16))
	require.NoError(t, err)
	_, err = e.s.Append(e.ctx, "e", "msg", bytes.Repeat([]byte("a"), 17))
	require.ErrorIs(t, err, eventstore.ErrTooLarge)
	assert.True(t, strings.HasPrefix(err.Error(), "eventstore: "))
	st := e.s.Stats()
	assert.Equal(t, int64(1), st.Events)
	assert.Equal(t, uint64(1), st.Appended)
}

func (s *suite) testBoundAge(t *testing.T) {
	maxAge := time.Second
	if s.h.Clock {
		maxAge = time.Hour
	} else {
		maxAge = 300 * time.Millisecond
	}
	e := s.open(t, eventstore.Limits{MaxAge: maxAge})
	old := e.appendN("a", 2, false)
	if e.clock != nil {
		e.clock.Advance(maxAge + time.Second)
	} else {
		time.Sleep(maxAge + 200*time.Millisecond)
	}
	fresh := e.append("a", "new")
	got, err := e.readAfter("a", eventstore.ID{})
	require.NoError(t, err)
	assert.Equal(t, []eventstore.ID{fresh.ID}, ids(got))
	ev := e.evictions()["a/age"]
	assert.Equal(t, 2, ev.Events)
	assert.Equal(t, old[1].ID, ev.Through)
	st := e.s.Stats()
	assert.Equal(t, uint64(2), st.EvictedBy[eventstore.EvictAge])
	assert.Equal(t, int64(1), st.Events)
	_, err = e.readAfter("a", old[0].ID)
	requireGap(t, err, "a", old[0].ID, fresh.ID)
}

func (s *suite) testBoundStreams(t *testing.T) {
	e := s.open(t, eventstore.Limits{MaxStreams: 2})
	a := e.append("a", "1")
	b := e.appendN("b", 2, false)
	e.append("a", "2") // a is now the most recently appended
	c := e.append("c", "1")
	evs := e.evictions()
	ev, ok := evs["b/streams"]
	require.True(t, ok, "the least recently appended stream is evicted whole: %v", evs)
	assert.Equal(t, 2, ev.Events)
	assert.Equal(t, b[1].ID, ev.Through)
	st := e.s.Stats()
	assert.Equal(t, 2, st.Streams)
	assert.Equal(t, int64(3), st.Events)
	assert.Equal(t, uint64(2), st.EvictedBy[eventstore.EvictStreams])
	got, err := e.readAfter("b", eventstore.ID{})
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = e.readAfter("b", b[0].ID)
	require.ErrorIs(t, err, eventstore.ErrGap)
	got, err = e.readAfter("a", a.ID)
	require.NoError(t, err)
	assert.Len(t, got, 1)
	got, err = e.readAfter("c", eventstore.ID{})
	require.NoError(t, err)
	assert.Equal(t, []eventstore.ID{c.ID}, ids(got))
}

func (s *suite) testBoundStreamName(t *testing.T) {
	e := s.open(t, eventstore.Limits{MaxStreamNameLen: 8})
	_, err := e.s.Append(e.ctx, "12345678", "", []byte("x"))
	require.NoError(t, err)
	for _, name := range []string{"", "123456789"} {
		_, err = e.s.Append(e.ctx, name, "", []byte("x"))
		require.ErrorIs(t, err, eventstore.ErrBadStream, "Append %q", name)
		_, err = e.s.ReadAfter(e.ctx, name, eventstore.ID{}, 1)
		require.ErrorIs(t, err, eventstore.ErrBadStream, "ReadAfter %q", name)
		_, err = e.s.ReadSince(e.ctx, name, time.Time{}, 1)
		require.ErrorIs(t, err, eventstore.ErrBadStream, "ReadSince %q", name)
		res := startFollow(e.ctx, e.s, name, eventstore.ID{}, 1).wait(t, waitLong)
		require.ErrorIs(t, res.err, eventstore.ErrBadStream, "Follow %q", name)
	}
	assert.Equal(t, 1, e.s.Stats().Streams)
}
