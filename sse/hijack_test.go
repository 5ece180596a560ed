package sse

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/sse/parser"
)

// rawStream is a raw HTTP/1.1 client connection with its parsed response.
type rawStream struct {
	conn net.Conn
	resp *http.Response
	p    *parser.Parser
}

func dialRaw(t *testing.T, addr string) *rawStream {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	return &rawStream{conn: conn, resp: resp, p: parser.New(resp.Body, parser.Options{})}
}

// TestHighDensityHoldsNoGoroutines: hijacked streams carry the same headers
// (and a middleware's), a chunked body, and no goroutine per connection.
func TestHighDensityHoldsNoGoroutines(t *testing.T) {
	const n = 50
	s := NewServer(Options{HighDensity: true})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Middleware", "kept")
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, s.Shutdown(ctx))
		ts.Close()
	})
	first := dialRaw(t, ts.Listener.Addr().String())
	assert.Equal(t, "text/event-stream", first.resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", first.resp.Header.Get("Cache-Control"))
	assert.Equal(t, "no", first.resp.Header.Get("X-Accel-Buffering"))
	assert.Equal(t, "kept", first.resp.Header.Get("X-Middleware"))
	assert.NotEmpty(t, first.resp.Header.Get("Date"))
	assert.Empty(t, first.resp.Header.Values("Connection"))
	assert.Equal(t, []string{"chunked"}, first.resp.TransferEncoding)
	require.Eventually(t, func() bool { return s.Count() == 1 }, 10*time.Second, 5*time.Millisecond)

	// Settle the goroutines of the first connection (writers, keepalive,
	// poller), then add n: the count must not grow with them.
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	streams := []*rawStream{first}
	for range n {
		streams = append(streams, dialRaw(t, ts.Listener.Addr().String()))
	}
	require.Eventually(t, func() bool { return s.Count() == n+1 }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 }, 10*time.Second, 10*time.Millisecond,
		"goroutines: %d before, %d with %d more streams", before, runtime.NumGoroutine(), n)

	id := publish(t, s, DefaultTopic, Event{Type: "t", Data: []byte("to all\nlines")})
	for _, st := range streams {
		ev, err := st.p.Next()
		require.NoError(t, err)
		assert.Equal(t, parser.Event{Type: "t", Data: "to all\nlines", ID: id.String()}, ev)
	}
}

// TestHighDensityClientGoneWithoutWrite: a client that closes its
// connection is noticed by the poller, with no write to find it.
func TestHighDensityClientGoneWithoutWrite(t *testing.T) {
	gone := make(chan error, 1)
	s := NewServer(Options{HighDensity: true, KeepAlive: -1, OnDisconnect: func(c *Conn, err error) { gone <- err }})
	ts := startServer(t, s)
	st := dialRaw(t, ts.Listener.Addr().String())
	require.Eventually(t, func() bool { return s.Count() == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, st.conn.Close())
	select {
	case err := <-gone:
		assert.ErrorIs(t, err, ErrClientGone)
	case <-time.After(10 * time.Second):
		t.Fatal("closed client not noticed")
	}
	assert.Equal(t, 0, s.Count())
}

// TestHighDensityTLSKeepsNormalPath: HTTP/1.1 over TLS is not hijacked
// (nothing to save) and streams as usual.
func TestHighDensityTLSKeepsNormalPath(t *testing.T) {
	connected := make(chan *Conn, 1)
	s := NewServer(Options{HighDensity: true, OnConnect: func(c *Conn) { connected <- c }})
	ts := httptest.NewUnstartedServer(s)
	ts.StartTLS()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, s.Shutdown(ctx))
		ts.Close()
	})
	st := open(t, ts.Client(), ts.URL, nil)
	assert.Equal(t, 1, st.resp.ProtoMajor)
	c := <-connected
	assert.Nil(t, c.raw, "TLS connection was hijacked")
	publish(t, s, DefaultTopic, Event{Data: []byte("over tls")})
	assert.Equal(t, "over tls", st.next(t).Data)
}
