package ws

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
	"github.com/stretchr/testify/require"
)

type jsonConn = Conn[any, any]

// recorder is a Session that records every hook call.
type recorder struct {
	mu       sync.Mutex
	starts   int
	msgs     []any
	errs     []error
	timeouts int
	closes   int
	closeErr error
	closed   chan struct{}
	onMsg    func(c *jsonConn, msg any) error
	onStart  func(c *jsonConn) error
	onErr    func(c *jsonConn, err error) bool
}

func newRecorder() *recorder { return &recorder{closed: make(chan struct{})} }

func (r *recorder) OnStart(c *jsonConn) error {
	r.mu.Lock()
	r.starts++
	r.mu.Unlock()
	if r.onStart != nil {
		return r.onStart(c)
	}
	return nil
}

func (r *recorder) OnMessage(c *jsonConn, msg any) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.mu.Unlock()
	if r.onMsg != nil {
		return r.onMsg(c, msg)
	}
	return nil
}

func (r *recorder) OnError(c *jsonConn, err error) bool {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	return r.onErr != nil && r.onErr(c, err)
}

func (r *recorder) OnTimeout(*jsonConn) {
	r.mu.Lock()
	r.timeouts++
	r.mu.Unlock()
}

func (r *recorder) OnClose(_ *jsonConn, err error) {
	r.mu.Lock()
	r.closes++
	r.closeErr = err
	n := r.closes
	r.mu.Unlock()
	if n == 1 {
		close(r.closed)
	}
}

// waitClosed waits for OnClose and returns its error.
func (r *recorder) waitClosed(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(within):
		t.Fatalf("OnClose not called within %v", within)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closeErr
}

func (r *recorder) counts() (starts, closes, timeouts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts, r.closes, r.timeouts
}

// echo is an OnMessage that sends the message back.
func echo(c *jsonConn, msg any) error { return c.Send(msg) }

// startServer serves a Server whose Accept hands out sessions from next.
func startServer(t *testing.T, opts *Options, next func(r *http.Request) (Session[any, any], error)) (*Server[any, any], *httptest.Server) {
	t.Helper()
	s := NewServer[any, any](HandlerFunc[any, any](next), codec.JSONCodec{}, opts)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		hs.Close()
	})
	return s, hs
}

// oneSession serves rec to the first connection (and refuses the rest).
func oneSession(rec *recorder) func(*http.Request) (Session[any, any], error) {
	var once sync.Once
	return func(*http.Request) (Session[any, any], error) {
		var s Session[any, any]
		once.Do(func() { s = rec })
		if s == nil {
			return nil, &StatusError{Status: http.StatusConflict}
		}
		return s, nil
	}
}

func wsURL(hs *httptest.Server) string { return "ws" + strings.TrimPrefix(hs.URL, "http") }

// rawDial connects a plain gorilla client (the peer under our control).
func rawDial(t *testing.T, url string, h http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, h)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readClose reads until the connection fails and returns the close code the
// peer sent (or -1).
func readClose(t *testing.T, c *websocket.Conn, within time.Duration) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	for {
		_, _, err := c.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			t.Logf("read ended without close frame: %v", err)
			return -1
		}
	}
}

// hijackRW is a ResponseWriter over one end of a net.Pipe, so a Server can
// run entirely in memory (and inside a synctest bubble).
type hijackRW struct {
	h        http.Header
	conn     net.Conn
	brw      *bufio.ReadWriter
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *hijackRW) Header() http.Header         { return w.h }
func (w *hijackRW) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *hijackRW) WriteHeader(s int)           { w.status = s }
func (w *hijackRW) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return w.conn, w.brw, nil
}

// pipeDialer returns a gorilla Dialer whose every dial reaches h through a
// net.Pipe, with the server side run on its own goroutine.
func pipeDialer(h http.Handler) *websocket.Dialer {
	return &websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		cs, ss := net.Pipe()
		go func() {
			br := bufio.NewReader(ss)
			req, err := http.ReadRequest(br)
			if err != nil {
				_ = ss.Close()
				return
			}
			w := &hijackRW{h: http.Header{}, conn: ss, brw: bufio.NewReadWriter(br, bufio.NewWriter(ss))}
			h.ServeHTTP(w, req)
			if !w.hijacked {
				resp := &http.Response{StatusCode: w.status, ProtoMajor: 1, ProtoMinor: 1, Header: w.h,
					ContentLength: int64(w.body.Len()), Body: http.NoBody}
				_ = resp.Write(ss)
				_ = ss.Close()
			}
		}()
		return cs, nil
	}}
}
