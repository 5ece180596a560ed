package ws

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type recConn struct {
	net.Conn
	writes [][]byte
}

func (c *recConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestBatchConn(t *testing.T) {
	rc := &recConn{}
	b := newBatchConn(rc, &sync.Pool{})

	// Outside a batch: straight through.
	_, err := b.Write([]byte("a"))
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("a")}, rc.writes)

	// A batch is one write, in order, and the caller may reuse its buffer.
	rc.writes = nil
	b.begin()
	buf := []byte("x")
	for _, s := range []string{"1", "22", "333"} {
		buf = append(buf[:0], s...)
		_, err := b.Write(buf)
		require.NoError(t, err)
	}
	assert.Empty(t, rc.writes)
	require.NoError(t, b.end())
	assert.Equal(t, [][]byte{[]byte("122333")}, rc.writes)
	assert.Nil(t, b.buf, "no buffer is held between batches")

	// A batch is flushed before it would exceed maxBatch; a larger write
	// goes straight out after what was collected.
	rc.writes = nil
	b.begin()
	small := bytes.Repeat([]byte{'s'}, 10)
	big := bytes.Repeat([]byte{'b'}, maxBatch+1)
	_, _ = b.Write(small)
	_, _ = b.Write(big)
	_, _ = b.Write(small)
	require.NoError(t, b.end())
	require.Len(t, rc.writes, 3)
	assert.Equal(t, small, rc.writes[0])
	assert.Equal(t, big, rc.writes[1])
	assert.Equal(t, small, rc.writes[2])
}

// countWrites counts the writes that reach the network.
type countWrites struct {
	net.Conn
	n *atomic.Int64
}

func (c countWrites) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

type countListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countWrites{c, &l.n}, nil
}

// A burst queued while the writer is busy goes out in far fewer writes than
// messages, and arrives intact and in order.
func TestBurstIsBatched(t *testing.T) {
	ready := make(chan *jsonConn, 1)
	s := NewServer[any, any](HandlerFunc[any, any](func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Start: func(c *jsonConn) error { ready <- c; return nil }}, nil
	}), codec.JSONCodec{}, &Options{PingPeriod: -1})
	hs := httptest.NewUnstartedServer(s)
	ln := &countListener{Listener: hs.Listener}
	hs.Listener = ln
	hs.Start()
	defer hs.Close()
	defer s.Shutdown(context.Background())
	c := rawDial(t, wsURL(hs), nil)
	sc := <-ready
	before := ln.n.Load() // the handshake
	const n = 200
	for i := range n {
		require.NoError(t, sc.Send(i))
	}
	for i := range n {
		var got int
		require.NoError(t, c.ReadJSON(&got))
		require.Equal(t, i, got)
	}
	assert.Less(t, ln.n.Load()-before, int64(n/4), "writes for %d messages", n)
	_ = c.Close()
	<-sc.Done()
}

func TestHeaderOnly(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want bool
	}{
		{[]byte{0x82, 64}, true},                          // binary, 64 B to come
		{[]byte{0x82, 126, 0x10, 0x00}, true},             // 4096 B to come
		{[]byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, true}, // 64 KiB to come
		{[]byte{0x89, 0}, false},                          // ping without payload: whole
		{[]byte{0x82, 2, 'h', 'i'}, false},                // whole frame
		{[]byte{0x82, 126, 0x10}, false},                  // not a header
		{[]byte{0x82, 0x80 | 4, 1, 2, 3, 4}, true},        // masked, 4 B to come
		{[]byte("HTTP/1.1 101 Switching"), false},
	} {
		assert.Equal(t, tc.want, headerOnly(tc.p), "%x", tc.p)
	}
}
