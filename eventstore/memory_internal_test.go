package eventstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryAppendAllocs pins the steady state cost of Append: one
// allocation, the copy of the data; the ring is reused, not copied.
func TestMemoryAppendAllocs(t *testing.T) {
	m := NewMemory(Options{Limits: Limits{MaxEventsPerStream: 128}})
	defer m.Close()
	ctx := context.Background()
	data := []byte("0123456789abcdef")
	for range 256 { // fill and wrap the ring
		_, err := m.Append(ctx, "s", "t", data)
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = m.Append(ctx, "s", "t", data)
	})
	assert.LessOrEqual(t, allocs, 1.0)
	var evicted int
	m2 := NewMemory(Options{Limits: Limits{MaxEventsPerStream: 16}, OnEvict: func(Eviction) { evicted++ }})
	defer m2.Close()
	for range 64 {
		_, _ = m2.Append(ctx, "s", "t", data)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		_, _ = m2.Append(ctx, "s", "t", data)
	})
	assert.LessOrEqual(t, allocs, 1.0, "evicting and reporting must not allocate")
	assert.Positive(t, evicted)
	s := m2.c.streams["s"]
	assert.Len(t, s.ring, 16, "ring grows to the bound and stays")
}

// TestMemoryIdleStreamsExpire checks that age eviction reaches streams that
// nobody touches, without a goroutine: appends elsewhere expire them.
func TestMemoryIdleStreamsExpire(t *testing.T) {
	now := time.Now()
	var evs []Eviction
	m := NewMemory(Options{
		Limits:  Limits{MaxAge: time.Minute},
		Clock:   func() time.Time { return now },
		OnEvict: func(e Eviction) { evs = append(evs, e) },
	})
	defer m.Close()
	ctx := context.Background()
	for _, s := range []string{"a", "b", "c"} {
		_, err := m.Append(ctx, s, "", []byte("x"))
		require.NoError(t, err)
	}
	now = now.Add(2 * time.Minute)
	_, err := m.Append(ctx, "d", "", []byte("x"))
	require.NoError(t, err)
	_, err = m.Append(ctx, "d", "", []byte("x"))
	require.NoError(t, err)
	st := m.Stats()
	assert.Equal(t, int64(2), st.Events, "idle streams' events expired: %v", evs)
	assert.Equal(t, uint64(3), st.EvictedBy[EvictAge])
}

func TestSearchLargeRing(t *testing.T) {
	m := NewMemory(Options{Limits: Limits{MaxEventsPerStream: 1000}})
	defer m.Close()
	ctx := context.Background()
	var ids []ID
	for range 2500 { // wraps the ring twice and a half
		ev, err := m.Append(ctx, "s", "", []byte("x"))
		require.NoError(t, err)
		ids = append(ids, ev.ID)
	}
	for _, i := range []int{1500, 1501, 1999, 2498} {
		got, err := m.ReadAfter(ctx, "s", ids[i], 3)
		require.NoError(t, err)
		require.NotEmpty(t, got)
		assert.Equal(t, ids[i+1], got[0].ID)
	}
	got, err := m.ReadAfter(ctx, "s", ids[1499], 1)
	require.NoError(t, err, "last evicted")
	assert.Equal(t, ids[1500], got[0].ID)
	_, err = m.ReadAfter(ctx, "s", ids[1498], 1)
	require.ErrorIs(t, err, ErrGap)
}

// TestFollowCancelDuringReplay checks that a long replay stops soon after
// its context is cancelled, not at the end of the replay.
func TestFollowCancelDuringReplay(t *testing.T) {
	m := NewMemory(Options{})
	defer m.Close()
	bg := context.Background()
	for range 1000 {
		_, err := m.Append(bg, "s", "", []byte("x"))
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	n := 0
	for _, err := range m.Follow(ctx, "s", ID{}) {
		require.NoError(t, err)
		n++
		if n == 10 {
			cancel()
		}
	}
	assert.LessOrEqual(t, n, followBatch, "replay went on after cancel")
	assert.GreaterOrEqual(t, n, 10)
}
