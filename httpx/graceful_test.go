package httpx

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// streamHandlers returns a mux with two never-ending streams: /ctx streams
// until its request context ends; /ignore ignores the context and stops
// only when a write fails. Both stop when bye is closed, after writing
// "bye". wg counts running handlers.
func streamHandlers(wg *sync.WaitGroup, bye <-chan struct{}) *http.ServeMux {
	stream := func(honourCtx bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			wg.Add(1)
			defer wg.Done()
			w.Header().Set("Content-Type", "text/event-stream")
			rc := http.NewResponseController(w)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			var done <-chan struct{}
			if honourCtx {
				done = r.Context().Done()
			}
			for {
				if _, err := io.WriteString(w, "data: tick\n\n"); err != nil {
					return
				}
				if err := rc.Flush(); err != nil {
					return
				}
				select {
				case <-done:
					return
				case <-bye:
					io.WriteString(w, "data: bye\n\n")
					return
				case <-tick.C:
				}
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/ctx", stream(true))
	mux.Handle("/ignore", stream(false))
	mux.Handle("/", helloHandler())
	return mux
}

// openStream starts a GET and returns once the first event arrived; the
// returned channel yields the last line read and the error that ended it.
func openStream(t *testing.T, c *http.Client, url string) <-chan streamEnd {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "data: tick\n", line)
	out := make(chan streamEnd, 1)
	go func() {
		defer resp.Body.Close()
		var last string
		for {
			l, err := br.ReadString('\n')
			if l != "" && l != "\n" {
				last = l
			}
			if err != nil {
				out <- streamEnd{last, err}
				return
			}
		}
	}()
	return out
}

type streamEnd struct {
	last string
	err  error
}

type gracefulRun struct {
	ready <-chan *Serving
	done  <-chan error
}

func runGraceful(srv *http.Server, opts ...GracefulOption) gracefulRun {
	ready := make(chan *Serving, 1)
	done := make(chan error, 1)
	opts = append(opts, WithReady(func(s *Serving) { ready <- s }))
	go func() { done <- ListenAndServeGraceful(srv, opts...) }()
	return gracefulRun{ready, done}
}

func waitErr(t *testing.T, c <-chan error, bound time.Duration) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(bound):
		t.Fatalf("ListenAndServeGraceful did not return within %v", bound)
		return nil
	}
}

func TestGracefulLiveStreamsForceCloseAtDrainBound(t *testing.T) {
	var wg sync.WaitGroup
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: streamHandlers(&wg, nil)}
	ctx, cancel := context.WithCancel(context.Background())
	const drain = 500 * time.Millisecond
	run := runGraceful(srv, WithContext(ctx), WithSignals(), WithDrainTimeout(drain))
	s := <-run.ready

	c := testClient(nil)
	ctxStream := openStream(t, c, s.URL()+"/ctx")
	ignoreStream := openStream(t, c, s.URL()+"/ignore")

	start := time.Now()
	cancel()
	err := waitErr(t, run.done, drain+20*time.Second)
	elapsed := time.Since(start)

	require.Error(t, err)
	assert.ErrorIs(t, err, ErrForcedClose)
	assert.ErrorIs(t, err, ErrDrainTimeout)
	assert.GreaterOrEqual(t, elapsed, drain, "drained for the full bound first")
	assert.Less(t, elapsed, drain+15*time.Second, "generous bound for a loaded machine")

	for _, st := range []<-chan streamEnd{ctxStream, ignoreStream} {
		end := <-st
		assert.Error(t, end.err, "stream was cut by Close")
		assert.Equal(t, "data: tick\n", end.last)
	}
	wg.Wait() // both handlers ended, including the one ignoring its context
}

func TestGracefulHooksEndStreamsBeforeDraining(t *testing.T) {
	var wg sync.WaitGroup
	bye := make(chan struct{})
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: streamHandlers(&wg, bye)}
	ctx, cancel := context.WithCancel(context.Background())
	c := testClient(nil)

	const drain = 30 * time.Second
	var order []string
	var s *Serving
	first := func(hctx context.Context) error {
		deadline, ok := hctx.Deadline()
		assert.True(t, ok, "hooks see their budget")
		assert.WithinDuration(t, time.Now().Add(drain), deadline, drain/2)
		assert.NoError(t, hctx.Err())
		// Hooks run before draining: the server still accepts requests.
		assert.Equal(t, "hello", getBody(t, c, s.URL()+"/"))
		order = append(order, "first")
		close(bye) // like an SSE hub's Shutdown: say goodbye, end streams
		return nil
	}
	errHook := errors.New("second hook failed")
	second := func(context.Context) error {
		order = append(order, "second")
		return errHook
	}
	run := runGraceful(srv, WithContext(ctx), WithSignals(), WithDrainTimeout(drain),
		WithShutdownHooks(first, nil, second))
	s = <-run.ready
	ctxStream := openStream(t, c, s.URL()+"/ctx")
	ignoreStream := openStream(t, c, s.URL()+"/ignore")

	start := time.Now()
	cancel()
	err := waitErr(t, run.done, drain)
	elapsed := time.Since(start)

	assert.ErrorIs(t, err, errHook, "hook errors are reported")
	assert.NotErrorIs(t, err, ErrForcedClose, "the drain finished cleanly")
	assert.Less(t, elapsed, drain/2, "streams ended by the hook do not pin the drain")
	assert.Equal(t, []string{"first", "second"}, order)
	for _, st := range []<-chan streamEnd{ctxStream, ignoreStream} {
		end := <-st
		assert.ErrorIs(t, end.err, io.EOF, "stream ended cleanly")
		assert.Equal(t, "data: bye\n", end.last, "stream said goodbye")
	}
	wg.Wait()
}

func TestGracefulTLSAndWaitForURL(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Addr: "localhost:0", Handler: helloHandler()}
	run := runGraceful(srv, WithContext(ctx), WithSignals(), WithTLS(certFile, keyFile))
	s := <-run.ready
	assert.NotEqual(t, "localhost:0", srv.Addr)
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	require.NoError(t, WaitForURL(wctx, s.URL(), WithRootCAs(pool)))
	cancel()
	assert.NoError(t, waitErr(t, run.done, 20*time.Second))
}

func TestGracefulErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	err = ListenAndServeGraceful(&http.Server{Addr: taken.Addr().String()}, WithSignals())
	assert.ErrorIs(t, err, syscall.EADDRINUSE, "listen errors are returned at once")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	readyCalled := false
	err = ListenAndServeGraceful(&http.Server{}, WithSignals(), WithListener(failingListener{ln}),
		WithReady(func(*Serving) { readyCalled = true }))
	assert.ErrorIs(t, err, errBroken, "a serve error ends it and is returned")
	assert.True(t, readyCalled)
	ln.Close()
}

// pipeListener is an in-memory listener: its connections are net.Pipes, so
// the whole server runs inside a synctest bubble on the fake clock.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// TestGracefulDrainBoundFakeClock checks the exact timing of the drain on
// the fake clock: with a stream that ignores its context, shutdown takes
// exactly the drain timeout; with a hook that ends it, no time at all.
func TestGracefulDrainBoundFakeClock(t *testing.T) {
	for _, withHook := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var wg sync.WaitGroup
			bye := make(chan struct{})
			ln := newPipeListener()
			srv := &http.Server{Handler: streamHandlers(&wg, bye)}
			ctx, cancel := context.WithCancel(context.Background())
			const drain = 30 * time.Second
			opts := []GracefulOption{WithListener(ln), WithContext(ctx), WithSignals(), WithDrainTimeout(drain)}
			if withHook {
				opts = append(opts, WithShutdownHooks(func(context.Context) error { close(bye); return nil }))
			}
			run := runGraceful(srv, opts...)
			<-run.ready

			tr := &http.Transport{DialContext: ln.DialContext}
			defer tr.CloseIdleConnections()
			stream := openStream(t, &http.Client{Transport: tr}, "http://pipe/ignore")

			start := time.Now()
			cancel()
			err := <-run.done
			elapsed := time.Since(start)
			end := <-stream
			if withHook {
				assert.NoError(t, err)
				assert.Less(t, elapsed, time.Second, "no drain wait once the hook ended the stream")
				assert.Equal(t, "data: bye\n", end.last)
			} else {
				assert.ErrorIs(t, err, ErrDrainTimeout)
				assert.Equal(t, drain, elapsed, "forced close exactly at the drain bound")
				assert.Error(t, end.err)
			}
			wg.Wait()
		})
	}
}

func TestGracefulHTTP2StreamsForceCloseAtDrainBound(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	var wg sync.WaitGroup
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: streamHandlers(&wg, nil)}
	ctx, cancel := context.WithCancel(context.Background())
	const drain = 500 * time.Millisecond
	run := runGraceful(srv, WithContext(ctx), WithSignals(), WithDrainTimeout(drain), WithTLS(certFile, keyFile))
	s := <-run.ready

	tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	resp, err := c.Get(s.URL() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor, "served over HTTP/2")
	streams := []<-chan streamEnd{openStream(t, c, s.URL()+"/ctx"), openStream(t, c, s.URL()+"/ignore")}

	start := time.Now()
	cancel()
	err = waitErr(t, run.done, drain+20*time.Second)
	assert.ErrorIs(t, err, ErrDrainTimeout)
	assert.Less(t, time.Since(start), drain+15*time.Second)
	for _, st := range streams {
		assert.Error(t, (<-st).err)
	}
	wg.Wait()
}

// TestGracefulStuckHookStillBounded: a hook that ignores its context does not
// stretch the shutdown past the drain bound (plus the short hook grace).
func TestGracefulStuckHookStillBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newPipeListener()
		ctx, cancel := context.WithCancel(context.Background())
		release := make(chan struct{})
		const drain = 5 * time.Second
		run := runGraceful(&http.Server{Handler: helloHandler()}, WithListener(ln), WithContext(ctx),
			WithSignals(), WithDrainTimeout(drain),
			WithShutdownHooks(func(context.Context) error { <-release; return nil }))
		<-run.ready
		start := time.Now()
		cancel()
		err := <-run.done
		assert.Equal(t, drain+hookGrace, time.Since(start))
		assert.ErrorIs(t, err, ErrForcedClose)
		assert.ErrorIs(t, err, ErrDrainTimeout)
		close(release) // let the stuck hook end before the bubble does
	})
}
