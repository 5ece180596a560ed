package sse

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
)

// TestFanoutAcrossServers runs two servers, each with its own hub, over one
// store (as two processes over Redis would be): events published on either
// reach the clients of both, once and in order, and a client that resumes
// on the other server with Last-Event-ID misses nothing.
func TestFanoutAcrossServers(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	t.Cleanup(func() { _ = st.Close() })
	ha, hb := fanout.New(st, fanout.Options{}), fanout.New(st, fanout.Options{})
	t.Cleanup(func() { _ = ha.Close(); _ = hb.Close() })
	a, b := NewServer(Options{Fanout: ha}), NewServer(Options{Fanout: hb})
	tsa, tsb := startServer(t, a), startServer(t, b)

	sa := open(t, http.DefaultClient, tsa.URL, nil)
	sb := open(t, http.DefaultClient, tsb.URL, nil)
	var ids []eventstore.ID
	for i := 1; i <= 40; i++ {
		s := a
		if i%2 == 0 {
			s = b
		}
		ids = append(ids, publish(t, s, DefaultTopic, Event{Type: "n", Data: []byte(strconv.Itoa(i))}))
	}
	for _, s := range []*stream{sa, sb} {
		for i := 1; i <= 40; i++ {
			ev := s.next(t)
			require.Equal(t, strconv.Itoa(i), ev.Data)
			require.Equal(t, "n", ev.Type)
			require.Equal(t, ids[i-1].String(), ev.ID)
		}
	}
	// sa's server "dies"; its client resumes on b from the 20th event.
	sa.cancel()
	sr := open(t, http.DefaultClient, tsb.URL, http.Header{"Last-Event-Id": {ids[19].String()}})
	publish(t, a, DefaultTopic, Event{Data: []byte("41")})
	for i := 21; i <= 41; i++ {
		require.Equal(t, strconv.Itoa(i), sr.next(t).Data)
	}
	require.Equal(t, "41", sb.next(t).Data)
}

func TestFanoutStopsFollowingAfterLastConn(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	t.Cleanup(func() { _ = st.Close() })
	h := fanout.New(st, fanout.Options{Linger: -1})
	t.Cleanup(func() { _ = h.Close() })
	s := NewServer(Options{Fanout: h})
	ts := startServer(t, s)
	c := open(t, http.DefaultClient, ts.URL, nil)
	publish(t, s, DefaultTopic, Event{Data: []byte("x")})
	require.Equal(t, "x", c.next(t).Data)
	require.Equal(t, 1, h.Following())
	c.cancel()
	require.Eventually(t, func() bool { return h.Following() == 0 }, 10*time.Second, 5*time.Millisecond)
}
