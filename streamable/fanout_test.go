package streamable

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/sse/parser"
)

// With a fan-out hub, streams are followed through the hub (one follower
// per stream for the process) and resumption behaves as with the store.
func TestResumeThroughFanout(t *testing.T) {
	st := newStore(t, eventstore.Limits{})
	hub := fanout.New(st, fanout.Options{Linger: -1})
	t.Cleanup(func() { _ = hub.Close() })
	f := newFixture(t, ServerOptions{Store: st, Fanout: hub})
	sid := f.initialize(Rev20251125)
	resp := f.do(bg, http.MethodPost, hdr{HeaderSessionID: sid}, req(9, "drop", ""))
	p := parser.New(resp.Body, parser.Options{})
	ev, err := p.Next()
	require.NoError(t, err)
	prime := ev.ID
	_, err = p.Next()
	require.ErrorIs(t, err, io.EOF)
	resp.Body.Close()

	// A resumed stream waits on the hub for the late response.
	done := make(chan []parser.Event, 1)
	go func() {
		done <- events(t, f.do(bg, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: prime}, ""))
	}()
	// The stream is followed by the hub.
	require.Eventually(t, func() bool { return hub.Following() == 1 }, 10*time.Second, time.Millisecond)
	close(f.h.release)
	var evs []parser.Event
	select {
	case evs = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("resumed stream did not end")
	}
	require.Len(t, evs, 2)
	assert.Contains(t, evs[0].Data, "progress")
	assert.JSONEq(t, `{"jsonrpc":"2.0","id":9,"result":{"done":"late"}}`, evs[1].Data)
	require.Eventually(t, func() bool { return hub.Following() == 0 }, 10*time.Second, time.Millisecond)

	// Resuming from the middle replays only what follows.
	evs2 := events(t, f.do(bg, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: evs[0].ID}, ""))
	require.Len(t, evs2, 1)
	assert.Equal(t, evs[1].ID, evs2[0].ID)
}
