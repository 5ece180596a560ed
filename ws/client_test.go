package ws

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDialEcho(t *testing.T) {
	srvRec := newRecorder()
	srvRec.onMsg = echo
	_, hs := startServer(t, &Options{Subprotocols: []string{"chat"}}, oneSession(srvRec))

	got := make(chan any, 1)
	cli := newRecorder()
	cli.onMsg = func(_ *jsonConn, m any) error { got <- m; return nil }
	c, err := Dial[any, any](context.Background(), wsURL(hs), codec.JSONCodec{}, cli, &DialOptions{Options: Options{Subprotocols: []string{"chat"}}})
	require.NoError(t, err)
	assert.Equal(t, "chat", c.Subprotocol())
	require.NoError(t, c.Send(map[string]any{"n": 1.0}))
	select {
	case m := <-got:
		assert.Equal(t, map[string]any{"n": 1.0}, m)
	case <-time.After(3 * time.Second):
		t.Fatal("no echo")
	}
	require.NoError(t, c.Close(CloseNormal, "done"))
	<-c.Done()
	assert.Equal(t, CloseNormal, CloseStatus(c.Err()))
	assert.Equal(t, CloseNormal, CloseStatus(srvRec.waitClosed(t, 2*time.Second)))
	starts, closes, _ := cli.counts()
	assert.Equal(t, 1, starts)
	assert.Equal(t, 1, closes)
}

func TestDialSeesServerShutdown(t *testing.T) {
	s, hs := startServer(t, nil, func(*http.Request) (Session[any, any], error) { return newRecorder(), nil })
	cli := newRecorder()
	c, err := Dial[any, any](context.Background(), wsURL(hs), codec.JSONCodec{}, cli, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.Count() == 1 }, 2*time.Second, 5*time.Millisecond)
	require.NoError(t, s.Shutdown(context.Background()))
	err = cli.waitClosed(t, 2*time.Second)
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CloseGoingAway, ce.Code)
	assert.True(t, ce.Remote)
	<-c.Done()
}

func TestDialHandshakeError(t *testing.T) {
	_, hs := startServer(t, nil, func(*http.Request) (Session[any, any], error) {
		return nil, &StatusError{Status: http.StatusUnauthorized}
	})
	_, err := Dial[any, any](context.Background(), wsURL(hs), codec.JSONCodec{}, newRecorder(), nil)
	var he *HandshakeError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusUnauthorized, he.StatusCode)
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second, Jitter: 0.5}.withDefaults()
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		want *= time.Millisecond
		for range 20 {
			d := b.delay(n)
			assert.LessOrEqual(t, d, want)
			assert.GreaterOrEqual(t, d, want/2)
		}
	}
	assert.Equal(t, Backoff{Min: 100 * time.Millisecond, Max: 30 * time.Second, Jitter: 0.5}, Backoff{}.withDefaults())
}

func TestRedialReconnects(t *testing.T) {
	var mu sync.Mutex
	var served []*jsonConn
	s, hs := startServer(t, nil, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Start: func(c *jsonConn) error {
			mu.Lock()
			served = append(served, c)
			mu.Unlock()
			return nil
		}}, nil
	})
	var sessions atomic.Int32
	var attempts []int
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Redial(ctx, wsURL(hs), codec.JSONCodec{}, func(attempt int) Session[any, any] {
			sessions.Add(1)
			mu.Lock()
			attempts = append(attempts, attempt)
			mu.Unlock()
			return newRecorder()
		}, nil, Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond})
	}()
	nServed := func() int { mu.Lock(); defer mu.Unlock(); return len(served) }
	require.Eventually(t, func() bool { return nServed() == 1 }, 3*time.Second, 5*time.Millisecond)
	// The server drops the connection twice; the client comes back each time.
	for i := 1; i <= 2; i++ {
		mu.Lock()
		last := served[len(served)-1]
		mu.Unlock()
		require.NoError(t, last.Close(CloseTryAgainLater, "restart"))
		require.Eventually(t, func() bool { return nServed() == i+1 }, 3*time.Second, 5*time.Millisecond)
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	require.Eventually(t, func() bool { return s.Count() == 0 }, 3*time.Second, 5*time.Millisecond)
	assert.Equal(t, int32(3), sessions.Load())
	mu.Lock()
	assert.Equal(t, []int{0, 0, 0}, attempts)
	mu.Unlock()
}

func TestRedialBacksOffWhileDown(t *testing.T) {
	// Nothing listens: every dial fails and the attempt number grows.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	var attempts []int
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = Redial(ctx, "ws://"+addr+"/", codec.JSONCodec{}, func(a int) Session[any, any] {
		attempts = append(attempts, a)
		return newRecorder()
	}, nil, Backoff{Min: 10 * time.Millisecond, Max: 40 * time.Millisecond, Jitter: 0.1})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	require.GreaterOrEqual(t, len(attempts), 3)
	for i, a := range attempts {
		assert.Equal(t, i, a)
	}
	// Capped: at 40 ms per wait, 300 ms fits at least 6 attempts.
	assert.GreaterOrEqual(t, len(attempts), 6)
}

// connectProxy is a minimal HTTP CONNECT proxy that records what it tunnels.
func connectProxy(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var tunnels atomic.Int32
	var wg sync.WaitGroup
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		tunnels.Add(1)
		w.WriteHeader(http.StatusOK)
		down, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			_ = up.Close()
			return
		}
		wg.Go(func() {
			_, _ = io.Copy(up, bufio.NewReader(brw))
			_ = up.Close()
		})
		wg.Go(func() {
			_, _ = io.Copy(down, up)
			_ = down.Close()
		})
	}))
	t.Cleanup(func() { p.Close(); wg.Wait() })
	return p, &tunnels
}

func TestDialThroughProxy(t *testing.T) {
	rec := newRecorder()
	rec.onMsg = echo
	_, hs := startServer(t, nil, oneSession(rec))
	proxy, tunnels := connectProxy(t)
	pu, _ := url.Parse(proxy.URL)
	got := make(chan any, 1)
	c, err := Dial[any, any](context.Background(), wsURL(hs), codec.JSONCodec{}, &Hooks[any, any]{
		Message: func(_ *jsonConn, m any) error { got <- m; return nil },
	}, &DialOptions{Proxy: http.ProxyURL(pu)})
	require.NoError(t, err)
	require.NoError(t, c.Send("via proxy"))
	assert.Equal(t, "via proxy", <-got)
	assert.Equal(t, int32(1), tunnels.Load())
	require.NoError(t, c.Close(CloseNormal, ""))
	<-c.Done()
	rec.waitClosed(t, 2*time.Second)
}

func TestDialNilSession(t *testing.T) {
	_, err := Dial[any, any](context.Background(), "ws://127.0.0.1:1/", codec.JSONCodec{}, nil, nil)
	assert.Error(t, err)
	assert.False(t, errors.Is(err, ErrClosed))
}
