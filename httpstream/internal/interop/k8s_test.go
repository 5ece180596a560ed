package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kstream "k8s.io/streaming/pkg/httpstream"
	kspdy "k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/streamkit-dev/streamkit/httpstream"
)

var protocols = []string{"v4.channel.k8s.io", "v3.channel.k8s.io"}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// --- A: our client, k8s server -----------------------------------------

type k8sServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	conns   []kstream.Connection
	idle    time.Duration
	wg      sync.WaitGroup
}

// newK8sServer serves k8s.io/streaming upgrades; streams with a "reject"
// header are refused, others are echoed (and half-closed after EOF).
func newK8sServer(t *testing.T, idle time.Duration) *k8sServer {
	ks := &k8sServer{idle: idle}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.wg.Add(1)
		defer ks.wg.Done()
		if _, err := kstream.Handshake(r, w, protocols); err != nil {
			return
		}
		// k8s pings reset its own idle timer, so the idle test runs without.
		up := kspdy.NewResponseUpgraderWithPings(50 * time.Millisecond)
		if ks.idle > 0 {
			up = kspdy.NewResponseUpgrader()
		}
		conn := up.UpgradeResponse(w, r,
			func(s kstream.Stream, replySent <-chan struct{}) error {
				ks.mu.Lock()
				ks.headers = append(ks.headers, s.Headers())
				ks.mu.Unlock()
				if s.Headers().Get("reject") != "" {
					return errors.New("rejected by test")
				}
				go func() {
					<-replySent
					_, _ = io.Copy(s, s)
					_ = s.Close()
				}()
				return nil
			})
		if conn == nil {
			return
		}
		if ks.idle > 0 {
			conn.SetIdleTimeout(ks.idle)
		}
		ks.mu.Lock()
		ks.conns = append(ks.conns, conn)
		ks.mu.Unlock()
	}))
	t.Cleanup(func() {
		ks.Close()
		ks.wg.Wait()
		ks.mu.Lock()
		defer ks.mu.Unlock()
		for _, c := range ks.conns {
			_ = c.Close()
		}
	})
	return ks
}

func (ks *k8sServer) lastHeaders() http.Header {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.headers[len(ks.headers)-1]
}

func dialOurs(t *testing.T, url string, cfg *httpstream.Config, protos ...string) (*httpstream.Conn, string) {
	t.Helper()
	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{Proxy: noProxy, Conn: cfg})
	c, p, err := rt.Dial(context.Background(), http.MethodPost, url, nil, protos...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, p
}

func echoCheck(t *testing.T, s io.ReadWriteCloser, size int) {
	t.Helper()
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Write(msg)
		if err == nil {
			err = s.Close()
		}
		errc <- err
	}()
	got, err := io.ReadAll(s)
	require.NoError(t, err)
	require.NoError(t, <-errc)
	require.Equal(t, len(msg), len(got))
	assert.Equal(t, msg, got)
}

func TestOurClientK8sServer(t *testing.T) {
	ks := newK8sServer(t, 0)

	t.Run("negotiation", func(t *testing.T) {
		c, proto := dialOurs(t, ks.URL, nil, "v5.channel.k8s.io", "v4.channel.k8s.io")
		assert.Equal(t, "v4.channel.k8s.io", proto)
		_ = c
	})

	t.Run("mismatch is 403 with accepted list", func(t *testing.T) {
		rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{Proxy: noProxy})
		_, _, err := rt.Dial(context.Background(), http.MethodPost, ks.URL, nil, "v9")
		var ufe *httpstream.UpgradeFailureError
		require.ErrorAs(t, err, &ufe)
		assert.Equal(t, http.StatusForbidden, ufe.StatusCode)
		assert.Contains(t, err.Error(), "unable to negotiate protocol")
	})

	t.Run("missing protocol header is 400", func(t *testing.T) {
		rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{Proxy: noProxy})
		_, _, err := rt.Dial(context.Background(), http.MethodPost, ks.URL, nil)
		var ufe *httpstream.UpgradeFailureError
		require.ErrorAs(t, err, &ufe)
		assert.Equal(t, http.StatusBadRequest, ufe.StatusCode)
	})

	c, _ := dialOurs(t, ks.URL, nil, protocols...)

	t.Run("mixed-case and multi-value headers", func(t *testing.T) {
		h := http.Header{}
		h.Set("streamType", "stdout")
		h["requestID"] = []string{"42"}
		h.Add("X-Multi", "a")
		h.Add("X-Multi", "b")
		s, err := c.CreateStream(h)
		require.NoError(t, err)
		defer s.Reset()
		got := ks.lastHeaders()
		assert.Equal(t, "stdout", got.Get("streamtype"))
		assert.Equal(t, "42", got.Get("Requestid"))
		assert.Equal(t, []string{"a", "b"}, got.Values("x-multi"))
	})

	t.Run("compressed header blocks", func(t *testing.T) {
		cc, _ := dialOurs(t, ks.URL, &httpstream.Config{CompressHeaders: true}, protocols...)
		for i := range 3 { // the compression context spans frames
			s, err := cc.CreateStream(http.Header{"Streamtype": {"stdin"}, "Requestid": {fmt.Sprint(i)}})
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprint(i), ks.lastHeaders().Get("requestid"))
			require.NoError(t, s.Reset())
		}
	})

	// Every test here also proves that our SETTINGS and WINDOW_UPDATE frames
	// (sent at the start of each connection) do not disturb spdystream.
	t.Run("echo and half-close, 8 MiB", func(t *testing.T) {
		s, err := c.CreateStream(http.Header{"Streamtype": {"data"}})
		require.NoError(t, err)
		echoCheck(t, s, 8<<20)
	})

	t.Run("reset unblocks read", func(t *testing.T) {
		s, err := c.CreateStream(http.Header{})
		require.NoError(t, err)
		errc := make(chan error, 1)
		go func() { _, err := s.Read(make([]byte, 1)); errc <- err }()
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, s.Reset())
		select {
		case err := <-errc:
			assert.ErrorIs(t, err, httpstream.ErrStreamReset)
		case <-time.After(10 * time.Second):
			t.Fatal("Read not unblocked")
		}
	})

	t.Run("handler rejection fails CreateStream", func(t *testing.T) {
		_, err := c.CreateStream(http.Header{"Reject": {"1"}})
		assert.ErrorIs(t, err, httpstream.ErrStreamRefused)
		// The connection is still usable.
		s, err := c.CreateStream(http.Header{})
		require.NoError(t, err)
		echoCheck(t, s, 10)
	})

	t.Run("pings both ways", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rtt, err := c.Ping(ctx)
		require.NoError(t, err)
		assert.Positive(t, rtt)
		// The k8s server pings every 50 ms; we answer, and the connection
		// (whose own pings would close it after 3 misses) stays up.
		pc, _ := dialOurs(t, ks.URL, &httpstream.Config{PingPeriod: 50 * time.Millisecond, PingTimeout: 5 * time.Second}, protocols...)
		time.Sleep(400 * time.Millisecond)
		assert.NoError(t, pc.Err())
	})

	t.Run("1000 open/close cycles without goroutine growth", func(t *testing.T) {
		cycles(t, func() (io.ReadWriteCloser, func() error, error) {
			s, err := c.CreateStream(http.Header{})
			if err != nil {
				return nil, nil, err
			}
			return s, s.Reset, nil
		})
		assert.Zero(t, c.NumStreams(), "our map is empty")
	})
}

// cycles opens and closes 1,000 streams (even: echo then close, odd: reset)
// and checks that the number of goroutines does not grow.
func cycles(t *testing.T, open func() (io.ReadWriteCloser, func() error, error)) {
	runtime.GC()
	before := runtime.NumGoroutine()
	for i := range 1000 {
		s, reset, err := open()
		require.NoError(t, err)
		if i%2 == 0 {
			echoCheck(t, s, 16)
		} else {
			require.NoError(t, reset())
		}
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+5 },
		10*time.Second, 20*time.Millisecond, "goroutines: before %d, now %d", before, runtime.NumGoroutine())
}

func TestOurClientK8sServerIdleTimeout(t *testing.T) {
	ks := newK8sServer(t, 200*time.Millisecond)
	c, _ := dialOurs(t, ks.URL, nil, protocols...)
	start := time.Now()
	select {
	case <-c.CloseChan():
	case <-time.After(20 * time.Second):
		t.Fatal("k8s idle timeout did not close our connection")
	}
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
}

func TestOurClientNon101(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"p\" is forbidden: User \"u\" cannot create pods/exec","reason":"Forbidden","code":403}`)
	}))
	defer srv.Close()
	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{Proxy: noProxy})
	_, _, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, protocols...)
	require.Error(t, err)
	assert.True(t, httpstream.IsUpgradeFailure(err))
	assert.Contains(t, err.Error(), `cannot create pods/exec`)
}

// --- B: k8s client, our server -----------------------------------------

type ourServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	conns   []httpstream.Connection
	byDial  map[string]httpstream.Connection // by the dialing test's name (dialHeader)
	idle    time.Duration
	wg      sync.WaitGroup
	streams chan httpstream.Stream
}

func newOurServer(t *testing.T, idle time.Duration) *ourServer {
	os := &ourServer{idle: idle, streams: make(chan httpstream.Stream, 16), byDial: map[string]httpstream.Connection{}}
	up := httpstream.NewResponseUpgrader(&httpstream.Config{IdleTimeout: idle})
	os.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		os.wg.Add(1)
		defer os.wg.Done()
		if _, err := httpstream.Handshake(r, w, protocols); err != nil {
			return
		}
		conn := up.UpgradeResponse(w, r, func(s httpstream.Stream, replySent <-chan struct{}) error {
			os.mu.Lock()
			os.headers = append(os.headers, s.Headers())
			os.mu.Unlock()
			if s.Headers().Get("reject") != "" {
				return errors.New("rejected by test")
			}
			if s.Headers().Get("hold") != "" {
				os.streams <- s
				return nil
			}
			go func() {
				<-replySent
				_, _ = io.Copy(s, s)
				_ = s.Close()
			}()
			return nil
		})
		if conn == nil {
			return
		}
		os.mu.Lock()
		os.conns = append(os.conns, conn)
		os.byDial[r.Header.Get(dialHeader)] = conn
		os.mu.Unlock()
	}))
	t.Cleanup(func() {
		os.Close()
		os.wg.Wait()
		os.mu.Lock()
		defer os.mu.Unlock()
		for _, c := range os.conns {
			_ = c.Close()
		}
	})
	return os
}

func (os *ourServer) lastHeaders() http.Header {
	os.mu.Lock()
	defer os.mu.Unlock()
	return os.headers[len(os.headers)-1]
}

// dialHeader carries the dialing test's name, so that a test finds its own
// server-side connection (ourServer.connOf): the handler records a connection
// only after its 101 went out, so the order of os.conns is not the order of
// the dials.
const dialHeader = "X-Test-Dial"

// connOf waits for the server-side connection that the test named dialer
// dialed.
func (os *ourServer) connOf(t *testing.T, dialer string) *httpstream.Conn {
	t.Helper()
	var c httpstream.Connection
	require.Eventually(t, func() bool {
		os.mu.Lock()
		defer os.mu.Unlock()
		c = os.byDial[dialer]
		return c != nil
	}, 10*time.Second, time.Millisecond, "no server connection dialed by %s", dialer)
	return c.(*httpstream.Conn)
}

// dialK8s connects with k8s.io/streaming's round tripper.
func dialK8s(t *testing.T, url string, protos ...string) (kstream.Connection, *http.Response, error) {
	t.Helper()
	rt, err := kspdy.NewRoundTripperWithConfig(kspdy.RoundTripperConfig{PingPeriod: 50 * time.Millisecond, Proxier: noProxy})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, nil)
	require.NoError(t, err)
	req.Header.Set(dialHeader, t.Name())
	for _, p := range protos {
		req.Header.Add(kstream.HeaderProtocolVersion, p)
	}
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	conn, err := rt.NewConnection(resp)
	if err == nil {
		t.Cleanup(func() { _ = conn.Close() })
	}
	return conn, resp, err
}

func TestK8sClientOurServer(t *testing.T) {
	srv := newOurServer(t, 0)

	t.Run("negotiation", func(t *testing.T) {
		_, resp, err := dialK8s(t, srv.URL, "v5.channel.k8s.io", "v3.channel.k8s.io")
		require.NoError(t, err)
		assert.Equal(t, "v3.channel.k8s.io", resp.Header.Get(kstream.HeaderProtocolVersion))
	})

	t.Run("mismatch surfaces as an error", func(t *testing.T) {
		_, resp, err := dialK8s(t, srv.URL, "v9")
		require.Error(t, err)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Equal(t, protocols, resp.Header.Values(kstream.HeaderAcceptedProtocolVersions))
		assert.Contains(t, err.Error(), "unable to negotiate protocol")
	})

	conn, _, err := dialK8s(t, srv.URL, protocols...)
	require.NoError(t, err)
	dialer := t.Name()

	t.Run("mixed-case and multi-value headers", func(t *testing.T) {
		h := http.Header{}
		h.Set("streamType", "error")
		h.Add("X-Multi", "a")
		h.Add("X-Multi", "b")
		s, err := conn.CreateStream(h)
		require.NoError(t, err)
		defer s.Reset()
		got := srv.lastHeaders()
		assert.Equal(t, "error", got.Get("STREAMTYPE"))
		assert.Equal(t, []string{"a", "b"}, got.Values("x-multi"))
	})

	t.Run("echo and half-close, 8 MiB", func(t *testing.T) {
		s, err := conn.CreateStream(http.Header{})
		require.NoError(t, err)
		echoCheck(t, s, 8<<20)
	})

	t.Run("our handler rejecting fails their CreateStream", func(t *testing.T) {
		_, err := conn.CreateStream(http.Header{"Reject": {"1"}})
		require.Error(t, err)
		s, err := conn.CreateStream(http.Header{})
		require.NoError(t, err)
		echoCheck(t, s, 10)
	})

	t.Run("reset unblocks read both ways", func(t *testing.T) {
		s, err := conn.CreateStream(http.Header{"Hold": {"1"}})
		require.NoError(t, err)
		ours := <-srv.streams
		errc := make(chan error, 1)
		go func() { _, err := ours.Read(make([]byte, 1)); errc <- err }()
		require.NoError(t, s.Reset())
		select {
		case err := <-errc:
			assert.ErrorIs(t, err, httpstream.ErrStreamReset)
		case <-time.After(10 * time.Second):
			t.Fatal("our Read not unblocked by their Reset")
		}

		s, err = conn.CreateStream(http.Header{"Hold": {"1"}})
		require.NoError(t, err)
		ours = <-srv.streams
		go func() { _, err := s.Read(make([]byte, 1)); errc <- err }()
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, ours.Reset())
		select {
		case <-errc: // spdystream reports io.EOF after a reset
		case <-time.After(10 * time.Second):
			t.Fatal("their Read not unblocked by our Reset")
		}
	})

	t.Run("our pings answered by their client", func(t *testing.T) {
		ours := srv.connOf(t, dialer)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := ours.Ping(ctx)
		require.NoError(t, err)
	})

	t.Run("1000 open/close cycles without goroutine growth", func(t *testing.T) {
		cycles(t, func() (io.ReadWriteCloser, func() error, error) {
			s, err := conn.CreateStream(http.Header{})
			if err != nil {
				return nil, nil, err
			}
			return s, s.Reset, nil
		})
		ours := srv.connOf(t, dialer)
		require.Eventually(t, func() bool { return ours.NumStreams() == 0 }, 10*time.Second, 10*time.Millisecond,
			"our map empties without RemoveStreams (now %d)", ours.NumStreams())
	})
}

func TestK8sClientOurServerIdleTimeout(t *testing.T) {
	srv := newOurServer(t, 200*time.Millisecond)
	conn, _, err := dialK8s(t, srv.URL, protocols...)
	require.NoError(t, err)
	// The k8s client pings every 50 ms; pings do not keep us from idling.
	select {
	case <-conn.CloseChan():
	case <-time.After(20 * time.Second):
		t.Fatal("their CloseChan did not fire after our idle timeout")
	}
}
