package sse

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStalledWritesDoNotHoldUpOthers: more connections than the writer
// pool's base whose writes block; a healthy connection still gets its
// event within a few stuck checks, not after the hour-long write deadline.
// When the last connection ends, every writer exits (synctest fails on a
// goroutine left blocked).
func TestStalledWritesDoNotHoldUpOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{WriteTimeout: time.Hour, Authorize: func(r *http.Request) ([]string, error) {
			return []string{r.URL.Query().Get("t")}, nil
		}})
		stalledN := s.writers.base + 2
		var cancels []context.CancelFunc
		var dones []chan struct{}
		var stalled []*fakeWriter
		for range stalledN {
			w := newFakeWriter()
			cancel, done := serveFake(s, w, "/?t=stalled")
			cancels, dones, stalled = append(cancels, cancel), append(dones, done), append(stalled, w)
		}
		healthy := newFakeWriter()
		cancel, done := serveFake(s, healthy, "/?t=healthy")
		cancels, dones = append(cancels, cancel), append(dones, done)
		synctest.Wait()
		require.Equal(t, stalledN+1, s.Count())
		for _, w := range stalled {
			w.mu.Lock()
			w.block = make(chan struct{})
			w.mu.Unlock()
		}

		publish(t, s, "stalled", Event{Data: []byte("x")})
		synctest.Wait() // every writer is blocked now
		start := time.Now()
		publish(t, s, "healthy", Event{Data: []byte("x")})
		for !strings.Contains(healthy.String(), "data: x") {
			time.Sleep(time.Millisecond)
			require.Less(t, time.Since(start), time.Second)
		}
		assert.LessOrEqual(t, time.Since(start), 10*stuckAfter, "the healthy write waited for stalled ones")
		s.writers.mu.Lock()
		workers := len(s.writers.workers)
		s.writers.mu.Unlock()
		assert.LessOrEqual(t, workers, s.writers.base+stalledN, "at most base plus one per blocked write")

		for _, c := range cancels {
			c() // the stalled writes are aborted through their deadlines
		}
		for _, d := range dones {
			<-d
		}
		assert.Equal(t, 0, s.Count())
		require.NoError(t, s.Shutdown(context.Background()))
	})
}
