package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEchoLifecycle(t *testing.T) {
	rec := newRecorder()
	rec.onMsg = echo
	_, hs := startServer(t, nil, oneSession(rec))
	c := rawDial(t, wsURL(hs), nil)

	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{"hello":"world"}`)))
	typ, data, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, websocket.TextMessage, typ)
	assert.JSONEq(t, `{"hello":"world"}`, string(data))

	require.NoError(t, c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(CloseNormal, "bye")))
	err = rec.waitClosed(t, 2*time.Second)
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CloseNormal, ce.Code)
	assert.Equal(t, "bye", ce.Reason)
	assert.True(t, ce.Remote)
	starts, closes, _ := rec.counts()
	assert.Equal(t, 1, starts)
	assert.Equal(t, 1, closes)
	assert.Equal(t, []any{map[string]any{"hello": "world"}}, rec.msgs)
	// The peer gets our close reply.
	assert.Equal(t, CloseNormal, readClose(t, c, 2*time.Second))
}

// A peer's close (1000, 1001) or a dropped TCP connection reaches OnClose in
// well under 100 ms, not at the pong timeout.
func TestCloseLatency(t *testing.T) {
	cases := []struct {
		name string
		end  func(c *websocket.Conn)
		code int
	}{
		{"1000", func(c *websocket.Conn) {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
		}, 1000},
		{"1001", func(c *websocket.Conn) {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1001, ""), time.Now().Add(time.Second))
		}, 1001},
		{"tcp-drop", func(c *websocket.Conn) { _ = c.NetConn().Close() }, CloseAbnormal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Timeouts far away so that only the close itself can end it.
			opts := &Options{PingPeriod: time.Hour, PongTimeout: 2 * time.Hour}
			var best time.Duration = time.Hour
			// Best of 3 tolerates a loaded machine; each must still be
			// well under the pong timeout.
			for range 3 {
				rec := newRecorder()
				started := make(chan struct{})
				rec.onStart = func(*jsonConn) error { close(started); return nil }
				_, hs := startServer(t, opts, oneSession(rec))
				c := rawDial(t, wsURL(hs), nil)
				<-started
				t0 := time.Now()
				tc.end(c)
				err := rec.waitClosed(t, 5*time.Second)
				best = min(best, time.Since(t0))
				assert.Equal(t, tc.code, CloseStatus(err), "%v", err)
			}
			assert.Less(t, best, 100*time.Millisecond)
		})
	}
}

func TestHookErrorCloses(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{errors.New("boom"), CloseInternalError},
		{CloseWith(4000, "custom"), 4000},
	} {
		rec := newRecorder()
		rec.onMsg = func(*jsonConn, any) error { return tc.err }
		_, hs := startServer(t, nil, oneSession(rec))
		c := rawDial(t, wsURL(hs), nil)
		require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`1`)))
		assert.Equal(t, tc.code, readClose(t, c, 2*time.Second))
		err := rec.waitClosed(t, 2*time.Second)
		assert.Equal(t, tc.code, CloseStatus(err))
		assert.ErrorIs(t, err, tc.err)
	}
}

func TestStartErrorCloses(t *testing.T) {
	rec := newRecorder()
	rec.onStart = func(*jsonConn) error { return CloseWith(4401, "unauthorized") }
	_, hs := startServer(t, nil, oneSession(rec))
	c := rawDial(t, wsURL(hs), nil)
	assert.Equal(t, 4401, readClose(t, c, 2*time.Second))
	assert.Equal(t, 4401, CloseStatus(rec.waitClosed(t, 2*time.Second)))
}

func TestOversizeMessage1009(t *testing.T) {
	rec := newRecorder()
	_, hs := startServer(t, &Options{ReadLimit: 1024}, oneSession(rec))
	c := rawDial(t, wsURL(hs), nil)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`"`+strings.Repeat("a", 2000)+`"`)))
	assert.Equal(t, CloseMessageTooBig, readClose(t, c, 2*time.Second))
	err := rec.waitClosed(t, 2*time.Second)
	assert.Equal(t, CloseMessageTooBig, CloseStatus(err))
	assert.ErrorIs(t, err, ErrReadLimit)
	assert.Empty(t, rec.msgs)
}

func TestDefaultReadLimitIs1MiB(t *testing.T) {
	rec := newRecorder()
	rec.onMsg = func(c *jsonConn, msg any) error { return c.Send(len(msg.(string))) }
	_, hs := startServer(t, nil, oneSession(rec))
	c := rawDial(t, wsURL(hs), nil)
	ok := `"` + strings.Repeat("a", 1<<20-2) + `"`
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(ok)))
	_, data, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(1<<20-2), string(data))
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(ok+" ")))
	assert.Equal(t, CloseMessageTooBig, readClose(t, c, 2*time.Second))
}

func TestInvalidUTF8_1007(t *testing.T) {
	rec := newRecorder()
	_, hs := startServer(t, nil, oneSession(rec))
	c := rawDial(t, wsURL(hs), nil)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte{'"', 0xff, 0xfe, '"'}))
	assert.Equal(t, CloseInvalidPayload, readClose(t, c, 2*time.Second))
	err := rec.waitClosed(t, 2*time.Second)
	assert.ErrorIs(t, err, ErrInvalidUTF8)
	assert.Empty(t, rec.msgs)
}

func TestDecodeErrors(t *testing.T) {
	t.Run("malformed closes 1007", func(t *testing.T) {
		rec := newRecorder()
		_, hs := startServer(t, nil, oneSession(rec))
		c := rawDial(t, wsURL(hs), nil)
		require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{nope`)))
		assert.Equal(t, CloseInvalidPayload, readClose(t, c, 2*time.Second))
		rec.waitClosed(t, 2*time.Second)
		assert.Len(t, rec.errs, 1)
	})
	t.Run("binary to a JSON codec closes 1003", func(t *testing.T) {
		rec := newRecorder()
		_, hs := startServer(t, nil, oneSession(rec))
		c := rawDial(t, wsURL(hs), nil)
		require.NoError(t, c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}))
		assert.Equal(t, CloseUnsupportedData, readClose(t, c, 2*time.Second))
	})
	t.Run("OnError true keeps the connection", func(t *testing.T) {
		rec := newRecorder()
		rec.onErr = func(*jsonConn, error) bool { return true }
		rec.onMsg = echo
		_, hs := startServer(t, nil, oneSession(rec))
		c := rawDial(t, wsURL(hs), nil)
		require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{nope`)))
		require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`2`)))
		_, data, err := c.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "2", string(data))
	})
}

func TestOrigin(t *testing.T) {
	opts := &Options{AllowedOrigins: []string{"https://app.example.com", "https://*.trusted.dev", "::bad"}}
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"https://app.example.com", true},
		{"https://a.b.trusted.dev", true},
		{"https://trusted.dev", false},
		{"https://eviltrusted.dev", false},
		{"http://app.example.com", false},
		{"https://evil.example", false},
		{"null", false},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			var accepted atomic.Int32
			_, hs := startServer(t, opts, func(*http.Request) (Session[any, any], error) {
				accepted.Add(1)
				return newRecorder(), nil
			})
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, resp, err := websocket.DefaultDialer.Dial(wsURL(hs), h)
			if tc.ok {
				require.NoError(t, err)
				_ = c.Close()
				return
			}
			require.Error(t, err)
			require.NotNil(t, resp)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Zero(t, accepted.Load(), "Accept must not run for a foreign origin")
		})
	}
	t.Run("same origin", func(t *testing.T) {
		_, hs := startServer(t, nil, func(*http.Request) (Session[any, any], error) { return newRecorder(), nil })
		c := rawDial(t, wsURL(hs), http.Header{"Origin": {hs.URL}})
		_ = c.Close()
		_, resp, err := websocket.DefaultDialer.Dial(wsURL(hs), http.Header{"Origin": {"http://evil.example"}})
		require.Error(t, err)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

// A refused or failed upgrade writes exactly one response.
func TestRefusalsWriteOneResponse(t *testing.T) {
	s, hs := startServer(t, nil, func(r *http.Request) (Session[any, any], error) {
		if r.URL.Query().Get("token") != "good" {
			return nil, &StatusError{Status: http.StatusUnauthorized, Err: errors.New("bad token")}
		}
		return newRecorder(), nil
	})
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(hs)+"?token=bad", nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// Not a handshake at all: 426, through a recorder that counts WriteHeader.
	w := &countingRW{h: http.Header{}}
	s.ServeHTTP(w, mustRequest(t, "GET", "/?token=good", nil))
	assert.Equal(t, []int{http.StatusUpgradeRequired}, w.statuses)

	// A bad handshake (wrong version) fails inside gorilla's Upgrade.
	req := mustRequest(t, "GET", "/?token=good", http.Header{
		"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"7"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="},
	})
	w = &countingRW{h: http.Header{}}
	s.ServeHTTP(w, req)
	assert.Equal(t, []int{http.StatusBadRequest}, w.statuses)
}

type countingRW struct {
	h        http.Header
	statuses []int
}

func (w *countingRW) Header() http.Header { return w.h }
func (w *countingRW) Write(b []byte) (int, error) {
	if len(w.statuses) == 0 {
		w.statuses = append(w.statuses, 200)
	}
	return len(b), nil
}
func (w *countingRW) WriteHeader(s int) { w.statuses = append(w.statuses, s) }

func mustRequest(t *testing.T, method, target string, h http.Header) *http.Request {
	r, err := http.NewRequest(method, "http://example.com"+target, nil)
	require.NoError(t, err)
	for k, v := range h {
		r.Header[k] = v
	}
	return r
}

func TestSubprotocols(t *testing.T) {
	var got atomic.Value
	_, hs := startServer(t, &Options{Subprotocols: []string{"v2.chat", "v1.chat"}}, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Start: func(c *jsonConn) error { got.Store(c.Subprotocol()); return nil }}, nil
	})
	d := websocket.Dialer{Subprotocols: []string{"v1.chat", "v2.chat"}}
	c, _, err := d.Dial(wsURL(hs), nil)
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "v2.chat", c.Subprotocol())
	require.Eventually(t, func() bool { return got.Load() == "v2.chat" }, 2*time.Second, 5*time.Millisecond)
}

// countConn counts the bytes read from the network.
type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func TestCompressionAboveThreshold(t *testing.T) {
	big := strings.Repeat("compressible ", 5000) // ~64 KB
	small := strings.Repeat("z", 600)            // under the 1 KiB threshold
	_, hs := startServer(t, &Options{Compression: true}, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Message: func(c *jsonConn, msg any) error {
			if msg == "big" {
				return c.Send(big)
			}
			return c.Send(small)
		}}, nil
	})
	var n atomic.Int64
	d := websocket.Dialer{EnableCompression: true, NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return countConn{c, &n}, err
	}}
	c, resp, err := d.Dial(wsURL(hs), nil)
	require.NoError(t, err)
	defer c.Close()
	assert.Contains(t, resp.Header.Get("Sec-Websocket-Extensions"), "permessage-deflate")

	before := n.Load()
	require.NoError(t, c.WriteJSON("big"))
	_, data, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, `"`+big+`"`, string(data))
	assert.Less(t, n.Load()-before, int64(len(big)/4), "a large message must travel compressed")

	before = n.Load()
	require.NoError(t, c.WriteJSON("small"))
	_, data, err = c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, `"`+small+`"`, string(data))
	assert.GreaterOrEqual(t, n.Load()-before, int64(len(small)), "a small message must travel uncompressed")
}

func TestConcurrentSenders(t *testing.T) {
	const senders, each = 8, 200
	ready := make(chan *jsonConn, 1)
	_, hs := startServer(t, &Options{SendQueue: senders * each}, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Start: func(c *jsonConn) error { ready <- c; return nil }}, nil
	})
	c := rawDial(t, wsURL(hs), nil)
	sc := <-ready
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				assert.NoError(t, sc.Send([]int{s, i}))
			}
		})
	}
	last := make([]int, senders)
	for i := range last {
		last[i] = -1
	}
	for range senders * each {
		var m [2]int
		require.NoError(t, c.ReadJSON(&m))
		assert.Equal(t, last[m[0]]+1, m[1], "per-sender order")
		last[m[0]] = m[1]
	}
	wg.Wait()
}

func TestQueueFullClosesSlowPeer(t *testing.T) {
	rec := newRecorder()
	sendErr := make(chan error, 1)
	rec.onStart = func(c *jsonConn) error {
		go func() {
			payload := strings.Repeat("x", 64<<10)
			for {
				if err := c.Send(payload); err != nil {
					sendErr <- err
					return
				}
			}
		}()
		return nil
	}
	_, hs := startServer(t, &Options{SendQueue: 8, WriteTimeout: 300 * time.Millisecond, CloseTimeout: 100 * time.Millisecond}, oneSession(rec))
	c := rawDial(t, wsURL(hs), nil) // never reads
	assert.ErrorIs(t, <-sendErr, ErrQueueFull)
	err := rec.waitClosed(t, 5*time.Second)
	assert.Equal(t, ClosePolicyViolation, CloseStatus(err))
	assert.ErrorIs(t, err, ErrQueueFull)
	_ = c
}

func TestQueueDropPolicyKeepsConn(t *testing.T) {
	ready := make(chan *jsonConn, 1)
	_, hs := startServer(t, &Options{SendQueue: 2, QueueFull: QueueDrop}, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Start: func(c *jsonConn) error { ready <- c; return nil }}, nil
	})
	c := rawDial(t, wsURL(hs), nil)
	sc := <-ready
	// Fill far past the queue quickly; some sends must be refused.
	var full int
	for i := range 2000 {
		if err := sc.Send(i); errors.Is(err, ErrQueueFull) {
			full++
		} else {
			require.NoError(t, err)
		}
	}
	assert.Positive(t, full)
	// The connection stays open: once the writer drains, sends succeed.
	require.Eventually(t, func() bool { return sc.Send("still open") == nil }, 5*time.Second, time.Millisecond)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := c.ReadMessage()
		require.NoError(t, err)
		if string(data) == `"still open"` {
			break
		}
	}
}

func TestShutdownSends1001(t *testing.T) {
	var recs []*recorder
	var mu sync.Mutex
	s, hs := startServer(t, nil, func(*http.Request) (Session[any, any], error) {
		r := newRecorder()
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
		return r, nil
	})
	var clients []*websocket.Conn
	for range 3 {
		clients = append(clients, rawDial(t, wsURL(hs), nil))
	}
	require.Eventually(t, func() bool { return s.Count() == 3 }, 2*time.Second, 5*time.Millisecond)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	for _, c := range clients {
		assert.Equal(t, CloseGoingAway, readClose(t, c, 3*time.Second))
	}
	require.NoError(t, <-done)
	assert.Zero(t, s.Count())
	for _, r := range recs {
		_, closes, _ := r.counts()
		assert.Equal(t, 1, closes)
		assert.Equal(t, CloseGoingAway, CloseStatus(r.closeErr))
	}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(hs), nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// A peer that never answers our close frame does not hold Shutdown past its
// bound.
func TestShutdownBoundedByContext(t *testing.T) {
	rec := newRecorder()
	s, hs := startServer(t, &Options{CloseTimeout: time.Hour, WriteTimeout: time.Hour}, oneSession(rec))
	// A raw TCP client that completes the handshake and then never reads.
	conn, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	require.NoError(t, err)
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 101")))
	require.Eventually(t, func() bool { return s.Count() == 1 }, 2*time.Second, 5*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err = s.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(t0), 2*time.Second)
	assert.Equal(t, CloseGoingAway, CloseStatus(rec.waitClosed(t, time.Second)))
}

func TestMaxConns(t *testing.T) {
	s, hs := startServer(t, &Options{MaxConns: 2}, func(*http.Request) (Session[any, any], error) { return newRecorder(), nil })
	a := rawDial(t, wsURL(hs), nil)
	rawDial(t, wsURL(hs), nil)
	// A client has its 101 before the server counts the connection: wait
	// for both, so that Count()==1 below means a's slot was given back.
	require.Eventually(t, func() bool { return s.Count() == 2 }, 2*time.Second, 5*time.Millisecond)
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(hs), nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	_ = a.Close()
	require.Eventually(t, func() bool { return s.Count() == 1 }, 2*time.Second, 5*time.Millisecond)
	rawDial(t, wsURL(hs), nil)
}

func TestConnContextAndErr(t *testing.T) {
	ready := make(chan *jsonConn, 1)
	_, hs := startServer(t, nil, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Start: func(c *jsonConn) error { ready <- c; return nil }}, nil
	})
	c := rawDial(t, wsURL(hs), nil)
	sc := <-ready
	ctx := sc.Context()
	assert.NoError(t, ctx.Err())
	assert.NoError(t, sc.Err())
	require.NoError(t, sc.Close(CloseNormal, "done"))
	assert.ErrorIs(t, sc.Close(CloseNormal, "again"), ErrClosed)
	assert.ErrorIs(t, sc.Send(1), ErrClosed)
	assert.Equal(t, CloseNormal, readClose(t, c, 2*time.Second))
	<-sc.Done()
	assert.Error(t, ctx.Err())
	assert.Equal(t, CloseNormal, CloseStatus(sc.Err()))
}

// unwrapOnly is middleware's ResponseWriter wrapper with Unwrap but no Hijack.
type unwrapOnly struct{ http.ResponseWriter }

func (w unwrapOnly) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestBehindMiddleware(t *testing.T) {
	rec := newRecorder()
	rec.onMsg = echo
	s := NewServer[any, any](HandlerFunc[any, any](oneSession(rec)), codec.JSONCodec{}, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(unwrapOnly{w}, r)
	}))
	defer hs.Close()
	defer s.Shutdown(context.Background())
	c := rawDial(t, wsURL(hs), nil)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`"hi"`)))
	_, data, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, `"hi"`, string(data))
	_ = c.Close()
	rec.waitClosed(t, 2*time.Second)
}
