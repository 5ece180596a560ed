package ws

import (
	"context"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hubServer joins every connection to the hub, in the room named by ?room=.
func hubServer(t *testing.T, opts *Options) (*Hub[any, any], *Server[any, any], string, chan *jsonConn) {
	hub := NewHub[any, any](codec.JSONCodec{})
	joined := make(chan *jsonConn, 100)
	s, hs := startServer(t, opts, func(r *http.Request) (Session[any, any], error) {
		room := r.URL.Query().Get("room")
		return &Hooks[any, any]{Start: func(c *jsonConn) error {
			if room != "" {
				hub.Join(c, room)
			} else {
				hub.Add(c)
			}
			joined <- c
			return nil
		}}, nil
	})
	return hub, s, wsURL(hs), joined
}

func readString(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, data, err := c.ReadMessage()
	require.NoError(t, err)
	return string(data)
}

func TestHubRoomsAndBroadcasts(t *testing.T) {
	hub, _, url, joined := hubServer(t, nil)
	a := rawDial(t, url+"?room=red", nil)
	ac := <-joined
	b := rawDial(t, url+"?room=red", nil)
	<-joined
	c := rawDial(t, url+"?room=blue", nil)
	cc := <-joined
	assert.Equal(t, 3, hub.Count())
	assert.Equal(t, 2, hub.RoomCount("red"))
	assert.Equal(t, 1, hub.RoomCount("blue"))

	n, err := hub.BroadcastRoom("red", "to red")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, `"to red"`, readString(t, a))
	assert.Equal(t, `"to red"`, readString(t, b))

	n, err = hub.Broadcast("to all")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	for _, x := range []*websocket.Conn{a, b, c} {
		assert.Equal(t, `"to all"`, readString(t, x))
	}

	n, err = hub.BroadcastExcept("not a", ac)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, `"not a"`, readString(t, b))
	assert.Equal(t, `"not a"`, readString(t, c))

	n, err = hub.BroadcastFilter("only c", func(x *jsonConn) bool { return x == cc })
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, `"only c"`, readString(t, c))

	require.NoError(t, hub.SendTo(ac.ID(), "direct"))
	assert.Equal(t, `"direct"`, readString(t, a))
	assert.ErrorIs(t, hub.SendTo(9999, "nobody"), ErrClosed)
	got, ok := hub.Get(cc.ID())
	assert.True(t, ok)
	assert.Same(t, cc, got)

	hub.Leave(ac, "red")
	assert.Equal(t, 1, hub.RoomCount("red"))
	n, _ = hub.BroadcastRoom("red", "red again")
	assert.Equal(t, 1, n)
	assert.Equal(t, `"red again"`, readString(t, b))

	// a got nothing it should not have: the next thing it sees is this.
	require.NoError(t, hub.SendTo(ac.ID(), "marker"))
	assert.Equal(t, `"marker"`, readString(t, a))

	// Encode errors are reported, nothing is sent.
	_, err = hub.Broadcast(func() {})
	assert.Error(t, err)

	// A connection that ends leaves the hub and its rooms.
	_ = c.Close()
	<-cc.Done()
	assert.Equal(t, 2, hub.Count())
	assert.Zero(t, hub.RoomCount("blue"))
	_, ok = hub.Get(cc.ID())
	assert.False(t, ok)
	hub.Remove(ac)
	assert.Equal(t, 1, hub.Count())
}

// One client that never reads must not slow a broadcast to the others; it is
// dropped by the queue policy.
func TestHubSlowClientIsolation(t *testing.T) {
	// Default queue (256 messages): a fast reader may lag by 256 messages
	// (~100 ms here) without being dropped; the slow one overflows once the
	// kernel's socket buffers (~4 MB) and its queue (4 MB) are full.
	const fast, msgs = 10, 800
	// The write timeout is the default's, so that the queue policy (1008),
	// not the slow client's blocked write, drops it even when a loaded
	// machine paces the publisher slowly (a 2 s timeout fired first at
	// ~90 broadcasts/s under -race with the machine's cores busy). The drop
	// then bounds the blocked write by CloseTimeout, not WriteTimeout.
	opts := &Options{WriteTimeout: 10 * time.Second, CloseTimeout: 200 * time.Millisecond}
	hub, _, url, joined := hubServer(t, opts)

	// The slow client: a raw TCP handshake, then never a read.
	host := strings.TrimPrefix(url, "ws://")
	slow, err := net.Dial("tcp", host)
	require.NoError(t, err)
	defer slow.Close()
	_, err = io.WriteString(slow, "GET / HTTP/1.1\r\nHost: "+host+"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	require.NoError(t, err)
	slowConn := <-joined

	clients := make([]*websocket.Conn, fast)
	for i := range clients {
		clients[i] = rawDial(t, url, nil)
		<-joined
	}
	payload := strings.Repeat("p", 16<<10)
	var wg sync.WaitGroup
	counts := make([]int, fast)
	for i, c := range clients {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			for counts[i] < msgs {
				if _, _, err := c.ReadMessage(); err != nil {
					t.Logf("fast client %d: %v", i, err)
					return
				}
				counts[i]++
			}
		})
	}
	var slowest time.Duration
	for range msgs {
		t0 := time.Now()
		_, err := hub.Broadcast(payload)
		slowest = max(slowest, time.Since(t0))
		require.NoError(t, err)
		time.Sleep(400 * time.Microsecond) // a paced publisher; fast readers keep up
	}
	wg.Wait()
	for i, n := range counts {
		assert.Equal(t, msgs, n, "fast client %d", i)
	}
	// The publisher never waited on the slow client (whose socket buffers
	// hold only a few MB of the ~13 MB sent): a Broadcast that waited would
	// take until the write timeout (10 s). Each call only queues.
	assert.Less(t, slowest, 2*time.Second)
	// Dropped during the broadcasts, it ends within CloseTimeout of the drop
	// (plus the read loop's CloseTimeout): well before its blocked write's
	// WriteTimeout would have ended it.
	select {
	case <-slowConn.Done():
	case <-time.After(opts.WriteTimeout / 2):
		t.Fatal("slow client's connection did not end within CloseTimeout of its drop")
	}
	assert.Equal(t, ClosePolicyViolation, CloseStatus(slowConn.Err()))
	assert.Equal(t, fast, hub.Count())
}

// With compression, a broadcast is compressed once (PreparedMessage) and
// every recipient decodes the same message.
func TestHubCompressedBroadcast(t *testing.T) {
	hub, _, url, joined := hubServer(t, &Options{Compression: true})
	d := websocket.Dialer{EnableCompression: true}
	var clients []*websocket.Conn
	for range 3 {
		c, _, err := d.Dial(url, nil)
		require.NoError(t, err)
		defer c.Close()
		clients = append(clients, c)
		<-joined
	}
	plain := rawDial(t, url, nil) // did not negotiate compression
	<-joined
	big := strings.Repeat("abc", 2000)
	n, err := hub.Broadcast(big)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	for _, c := range append(clients, plain) {
		assert.Equal(t, `"`+big+`"`, readString(t, c))
	}
}

func TestHubConcurrentUse(t *testing.T) {
	hub, _, url, joined := hubServer(t, &Options{SendQueue: 10000})
	var conns []*jsonConn
	for range 5 {
		rawDial(t, url, nil)
		conns = append(conns, <-joined)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	rooms := []string{"a", "b", "c"}
	for i := range 4 {
		wg.Go(func() {
			for j := 0; ctx.Err() == nil; j++ {
				c := conns[(i+j)%len(conns)]
				hub.Join(c, rooms[j%3])
				_, _ = hub.BroadcastRoom(rooms[(j+1)%3], j)
				hub.Leave(c, rooms[(j+2)%3])
				_ = hub.Count()
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	wg.Wait()
	var ids []int
	for _, r := range rooms {
		ids = append(ids, hub.RoomCount(r))
	}
	sort.Ints(ids)
	assert.LessOrEqual(t, ids[2], 5)
	assert.Equal(t, 5, hub.Count())
}
