package redisstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore"
)

func TestAppendRead(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{})
	var evs []eventstore.Event
	for i := range 5 {
		typ := ""
		if i%2 == 0 {
			typ = "tick"
		}
		ev, err := s.Append(ctx, "a", typ, []byte(fmt.Sprint(i)))
		require.NoError(t, err)
		assert.Equal(t, "a", ev.Stream)
		assert.Equal(t, typ, ev.Type)
		assert.Equal(t, ev.ID.Time(), ev.Time)
		if i > 0 {
			assert.True(t, evs[i-1].ID.Less(ev.ID), "IDs increase")
		}
		evs = append(evs, ev)
	}
	got, err := s.ReadAfter(ctx, "a", eventstore.ID{}, 100)
	require.NoError(t, err)
	assert.Equal(t, evs, got)

	got, err = s.ReadAfter(ctx, "a", evs[1].ID, 2)
	require.NoError(t, err)
	assert.Equal(t, evs[2:4], got)

	got, err = s.ReadAfter(ctx, "a", evs[4].ID, 10)
	require.NoError(t, err)
	assert.Empty(t, got)

	got, err = s.ReadSince(ctx, "a", evs[3].Time, 10)
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.Equal(t, evs[len(evs)-1], got[len(got)-1])
	for _, ev := range got {
		assert.False(t, ev.Time.Before(evs[3].Time))
	}
}

func TestForeignAndUnknownIDs(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{})
	a, err := s.Append(ctx, "a", "", []byte("x"))
	require.NoError(t, err)
	b, err := s.Append(ctx, "b", "", []byte("y"))
	require.NoError(t, err)
	require.NotEqual(t, a.ID, b.ID, "IDs are unique across streams")

	_, err = s.ReadAfter(ctx, "b", a.ID, 10)
	var g *eventstore.GapError
	require.ErrorAs(t, err, &g)
	assert.Equal(t, b.ID, g.Oldest)
	assert.Equal(t, a.ID, g.After)

	_, err = s.ReadAfter(ctx, "a", a.ID.Next(), 10)
	require.ErrorIs(t, err, eventstore.ErrGap, "an ID after the newest is unknown")

	_, err = s.ReadAfter(ctx, "missing", a.ID, 10)
	require.ErrorAs(t, err, &g)
	assert.True(t, g.Oldest.IsZero())
}

func TestCountEvictionAndGap(t *testing.T) {
	ctx := ctxT(t)
	var evictions []eventstore.Eviction
	s := open(t, eventstore.Options{
		Limits:  eventstore.Limits{MaxEventsPerStream: 3},
		OnEvict: func(e eventstore.Eviction) { evictions = append(evictions, e) },
	})
	var evs []eventstore.Event
	for i := range 5 {
		ev, err := s.Append(ctx, "s", "t", []byte{byte('a' + i)})
		require.NoError(t, err)
		evs = append(evs, ev)
	}
	got, err := s.ReadAfter(ctx, "s", eventstore.ID{}, 10)
	require.NoError(t, err)
	assert.Equal(t, evs[2:], got)

	// The newest evicted ID is a resume point that missed nothing.
	got, err = s.ReadAfter(ctx, "s", evs[1].ID, 10)
	require.NoError(t, err)
	assert.Equal(t, evs[2:], got)

	_, err = s.ReadAfter(ctx, "s", evs[0].ID, 10)
	var g *eventstore.GapError
	require.ErrorAs(t, err, &g)
	assert.Equal(t, evs[2].ID, g.Oldest)

	require.Len(t, evictions, 2)
	for i, e := range evictions {
		assert.Equal(t, eventstore.EvictCount, e.Reason)
		assert.Equal(t, 1, e.Events)
		assert.Equal(t, evs[i].Size(), e.Bytes)
		assert.Equal(t, evs[i].ID, e.Through)
	}
	st := s.Stats()
	assert.Equal(t, 1, st.Streams)
	assert.EqualValues(t, 3, st.Events)
	assert.Equal(t, evs[2].Size()+evs[3].Size()+evs[4].Size(), st.Bytes)
	assert.EqualValues(t, 5, st.Appended)
	assert.EqualValues(t, 2, st.EvictedBy[eventstore.EvictCount])

	// ReadSince at an evicted millisecond is a gap.
	_, err = s.ReadSince(ctx, "s", evs[0].Time, 10)
	require.ErrorIs(t, err, eventstore.ErrGap)
}

func TestBytesStreamsAge(t *testing.T) {
	ctx := ctxT(t)
	now := time.Now()
	clock := func() time.Time { return now }
	var evictions []eventstore.Eviction
	s := open(t, eventstore.Options{
		Limits: eventstore.Limits{MaxBytes: 30, MaxStreams: 2, MaxAge: time.Minute},
		Clock:  clock,
		OnEvict: func(e eventstore.Eviction) {
			evictions = append(evictions, e)
		},
	})
	// 10 bytes each: 1 (stream) + 0 (type) + 9 (data).
	a1, err := s.Append(ctx, "a", "", []byte("123456789"))
	require.NoError(t, err)
	now = now.Add(time.Millisecond)
	_, err = s.Append(ctx, "a", "", []byte("123456789"))
	require.NoError(t, err)
	now = now.Add(time.Millisecond)
	_, err = s.Append(ctx, "b", "", []byte("123456789"))
	require.NoError(t, err)
	assert.Empty(t, evictions)
	now = now.Add(time.Millisecond)
	_, err = s.Append(ctx, "b", "", []byte("123456789"))
	require.NoError(t, err)
	// 40 > 30 bytes: the least recently appended stream "a" loses its oldest.
	require.Len(t, evictions, 1)
	assert.Equal(t, eventstore.Eviction{Stream: "a", Reason: eventstore.EvictBytes, Events: 1, Bytes: 10, Through: a1.ID}, evictions[0])
	evictions = nil

	// A third stream evicts "a" whole (MaxStreams 2).
	now = now.Add(time.Millisecond)
	_, err = s.Append(ctx, "c", "", []byte("1"))
	require.NoError(t, err)
	require.NotEmpty(t, evictions)
	assert.Equal(t, "a", evictions[0].Stream)
	assert.Equal(t, eventstore.EvictStreams, evictions[0].Reason)
	st := s.Stats()
	assert.Equal(t, 2, st.Streams)
	evictions = nil

	// Everything older than MaxAge goes, on read as on append.
	now = now.Add(2 * time.Minute)
	got, err := s.ReadAfter(ctx, "b", eventstore.ID{}, 10)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.Len(t, evictions, 1)
	assert.Equal(t, eventstore.EvictAge, evictions[0].Reason)
	assert.Equal(t, 2, evictions[0].Events)
	_, err = s.Append(ctx, "d", "", []byte("1"))
	require.NoError(t, err)
	st = s.Stats()
	assert.EqualValues(t, 1, st.Events, "c expired whole when d was appended")
}

func TestTooLargeBadStreamClosed(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{Limits: eventstore.Limits{MaxEventSize: 10}})
	_, err := s.Append(ctx, "s", "", make([]byte, 20))
	require.ErrorIs(t, err, eventstore.ErrTooLarge)
	_, err = s.Append(ctx, "", "", nil)
	require.ErrorIs(t, err, eventstore.ErrBadStream)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = s.Append(ctx, "s", "", nil)
	require.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = s.ReadAfter(ctx, "s", eventstore.ID{}, 1)
	require.ErrorIs(t, err, eventstore.ErrClosed)
}

func TestTrimDelete(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{})
	var evs []eventstore.Event
	for i := range 4 {
		ev, err := s.Append(ctx, "s", "", []byte{byte(i)})
		require.NoError(t, err)
		evs = append(evs, ev)
	}
	n, err := s.Trim(ctx, "s", evs[2].ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	got, err := s.ReadAfter(ctx, "s", eventstore.ID{}, 10)
	require.NoError(t, err)
	assert.Equal(t, evs[2:], got)

	require.NoError(t, s.Delete(ctx, "s"))
	_, err = s.ReadAfter(ctx, "s", evs[3].ID, 10)
	require.ErrorIs(t, err, eventstore.ErrGap)
	st := s.Stats()
	assert.Zero(t, st.Streams)
	assert.Zero(t, st.Events)
	assert.Zero(t, st.Bytes)

	// A new stream of the same name: its IDs are still after the old ones.
	ev, err := s.Append(ctx, "s", "", []byte("new"))
	require.NoError(t, err)
	assert.True(t, evs[3].ID.Less(ev.ID))
	_, err = s.ReadAfter(ctx, "s", evs[3].ID, 10)
	require.ErrorIs(t, err, eventstore.ErrGap, "an ID of the deleted stream does not resume the new one")
}

func TestAppendBatch(t *testing.T) {
	ctx := ctxT(t)
	s := open(t, eventstore.Options{})
	in := []eventstore.Event{
		{Stream: "a", Data: []byte("1")},
		{Stream: "b", Type: "x", Data: []byte("2")},
		{Stream: "a", Data: []byte("3")},
	}
	out, err := s.AppendBatch(ctx, in)
	require.NoError(t, err)
	require.Len(t, out, 3)
	assert.True(t, out[0].ID.Less(out[1].ID) && out[1].ID.Less(out[2].ID))
	got, err := s.ReadAfter(ctx, "a", eventstore.ID{}, 10)
	require.NoError(t, err)
	assert.Equal(t, []eventstore.Event{out[0], out[2]}, got)

	// After SCRIPT FLUSH the batch loads the script again.
	require.NoError(t, shared.FlushScripts(ctx))
	out, err = s.AppendBatch(ctx, in[:1])
	require.NoError(t, err)
	require.Len(t, out, 1)
}

func TestUnavailable(t *testing.T) {
	ctx := ctxT(t)
	c := client(t, shared)
	s, err := redisstore.New(c, redisstore.Options{Prefix: newPrefix()})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, err = s.Append(ctx, "s", "", nil)
	require.ErrorIs(t, err, eventstore.ErrUnavailable)
	assert.False(t, errors.Is(err, eventstore.ErrGap))
	require.NoError(t, s.Close())
}

func TestAppendBatchLargeWithBounds(t *testing.T) {
	ctx := ctxT(t)
	evicted := map[string]int{}
	var through = map[string]eventstore.ID{}
	s := open(t, eventstore.Options{
		Limits: eventstore.Limits{MaxEventsPerStream: 10},
		OnEvict: func(e eventstore.Eviction) {
			assert.Equal(t, eventstore.EvictCount, e.Reason)
			evicted[e.Stream] += e.Events
			if through[e.Stream].Less(e.Through) {
				through[e.Stream] = e.Through
			}
		},
	})
	in := make([]eventstore.Event, 600) // three scripts of at most 256
	for i := range in {
		in[i] = eventstore.Event{Stream: []string{"a", "b"}[i%2], Data: fmt.Appendf(nil, "%d", i)}
	}
	out, err := s.AppendBatch(ctx, in)
	require.NoError(t, err)
	require.Len(t, out, 600)
	for i := 1; i < len(out); i++ {
		require.True(t, out[i-1].ID.Less(out[i].ID))
		require.Equal(t, in[i].Data, out[i].Data)
	}
	assert.Equal(t, map[string]int{"a": 290, "b": 290}, evicted)
	for _, name := range []string{"a", "b"} {
		got, err := s.ReadAfter(ctx, name, eventstore.ID{}, 100)
		require.NoError(t, err)
		require.Len(t, got, 10)
		// The newest evicted ID resumes without a gap.
		after, err := s.ReadAfter(ctx, name, through[name], 100)
		require.NoError(t, err)
		assert.Equal(t, got, after)
		// Entries link to their predecessor in the stream across scripts.
		mid, err := s.ReadAfter(ctx, name, got[4].ID, 100)
		require.NoError(t, err)
		assert.Equal(t, got[5:], mid)
	}
	st := s.Stats()
	assert.EqualValues(t, 20, st.Events)
	assert.EqualValues(t, 600, st.Appended)
	assert.EqualValues(t, 580, st.EvictedBy[eventstore.EvictCount])
}
