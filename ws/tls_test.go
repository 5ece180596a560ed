package ws

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wss:// end to end: batched writes under TLS on both sides, and a close.
func TestTLSBurstAndClose(t *testing.T) {
	const n = 200 // within the default queue of 256: no wait for the writer
	srvRec := newRecorder()
	srvRec.onMsg = func(c *jsonConn, msg any) error {
		for i := range n {
			if err := c.Send(i); err != nil {
				return err
			}
		}
		return nil
	}
	s := NewServer[any, any](HandlerFunc[any, any](oneSession(srvRec)), codec.JSONCodec{}, nil)
	hs := httptest.NewTLSServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())

	got := make(chan any, n)
	c, err := Dial[any, any](context.Background(), "wss"+strings.TrimPrefix(hs.URL, "https"), codec.JSONCodec{},
		&Hooks[any, any]{Message: func(_ *jsonConn, m any) error { got <- m; return nil }},
		&DialOptions{TLSClientConfig: hs.Client().Transport.(*http.Transport).TLSClientConfig})
	require.NoError(t, err)
	require.NoError(t, c.Send("go"))
	for i := range n {
		select {
		case m := <-got:
			require.Equal(t, float64(i), m)
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d missing; client: %v", i, c.Err())
		}
	}
	require.NoError(t, c.Close(CloseNormal, "bye"))
	<-c.Done()
	assert.Equal(t, CloseNormal, CloseStatus(c.Err()))
	assert.Equal(t, CloseNormal, CloseStatus(srvRec.waitClosed(t, 2*time.Second)))
}

// A message larger than SendQueueBytes goes through an empty queue instead
// of closing the connection.
func TestLargeMessageThroughEmptyQueue(t *testing.T) {
	ready := make(chan *jsonConn, 1)
	_, hs := startServer(t, &Options{SendQueueBytes: 1024}, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Start: func(c *jsonConn) error { ready <- c; return nil }}, nil
	})
	c := rawDial(t, wsURL(hs), nil)
	sc := <-ready
	big := strings.Repeat("b", 10000)
	require.NoError(t, sc.Send(big))
	_, data, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, `"`+big+`"`, string(data))
	assert.NoError(t, sc.Err())
}

// Shutdown's forced end is bounded over TLS too: a peer that stopped reading
// (its buffers full, our writer blocked) is cut off at the ctx bound.
func TestTLSShutdownForcedPromptly(t *testing.T) {
	rec := newRecorder()
	filled := make(chan struct{})
	rec.onStart = func(c *jsonConn) error {
		go func() {
			defer close(filled)
			payload := strings.Repeat("x", 32<<10)
			for range 1000 { // 32 MB: far more than the socket buffers hold
				if c.Send(payload) != nil {
					return
				}
			}
		}()
		return nil
	}
	s := NewServer[any, any](HandlerFunc[any, any](oneSession(rec)), codec.JSONCodec{},
		&Options{WriteTimeout: time.Hour, CloseTimeout: time.Hour, SendQueue: 2000, SendQueueBytes: 64 << 20})
	hs := httptest.NewTLSServer(s)
	defer hs.Close()
	tlsConf := hs.Client().Transport.(*http.Transport).TLSClientConfig
	conn, err := tls.Dial("tcp", strings.TrimPrefix(hs.URL, "https://"), tlsConf)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	require.NoError(t, err)
	buf := make([]byte, 512)
	_, err = conn.Read(buf) // the 101; then never read again
	require.NoError(t, err)
	<-filled
	time.Sleep(50 * time.Millisecond) // let the writer block on the full socket

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	assert.ErrorIs(t, s.Shutdown(ctx), context.DeadlineExceeded)
	assert.Less(t, time.Since(t0), 2*time.Second)
	rec.waitClosed(t, time.Second)
}
