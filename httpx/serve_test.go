package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func helloHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})
}

// testClient returns a client that keeps no idle connections, so nothing
// outlives a test. pool, if not nil, is trusted for TLS.
func testClient(pool *x509.CertPool) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	if pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func getBody(t testing.TB, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

var portZeroForms = []string{":0", "", "localhost:0", "127.0.0.1:0", "[::1]:0", "[::]:0"}

func TestListenAndServeAsyncPortZeroForms(t *testing.T) {
	c := testClient(nil)
	for _, addr := range portZeroForms {
		t.Run(addr, func(t *testing.T) {
			srv := &http.Server{Addr: addr, Handler: helloHandler()}
			s, err := ListenAndServeAsync(srv)
			require.NoError(t, err)
			defer s.Close()

			assert.Equal(t, s.Addr().String(), srv.Addr, "srv.Addr is the real address")
			_, port, err := net.SplitHostPort(srv.Addr)
			require.NoError(t, err)
			assert.NotEqual(t, "0", port)
			assert.True(t, strings.HasPrefix(s.URL(), "http://"), s.URL())

			// Listening already: a GET right away succeeds.
			assert.Equal(t, "hello", getBody(t, c, s.URL()))
			if host, _, _ := net.SplitHostPort(srv.Addr); host != "::" && host != "0.0.0.0" {
				assert.Equal(t, "hello", getBody(t, c, "http://"+srv.Addr))
			}

			require.NoError(t, s.Shutdown(context.Background()))
			assert.NoError(t, s.Wait())
			assert.Equal(t, closedChan, chanState(s.Done()))
		})
	}
}

func TestListenAndServeTLSAsyncPortZeroForms(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	c := testClient(pool)
	for _, addr := range portZeroForms {
		t.Run(addr, func(t *testing.T) {
			srv := &http.Server{Addr: addr, Handler: helloHandler()}
			s, err := ListenAndServeTLSAsync(srv, certFile, keyFile)
			require.NoError(t, err)
			defer s.Close()

			assert.Equal(t, s.Addr().String(), srv.Addr)
			_, port, err := net.SplitHostPort(srv.Addr)
			require.NoError(t, err)
			assert.NotEqual(t, "0", port)
			require.True(t, strings.HasPrefix(s.URL(), "https://"), s.URL())
			// The certificate is verified against the test CA.
			assert.Equal(t, "hello", getBody(t, c, s.URL()))

			require.NoError(t, s.Shutdown(context.Background()))
			assert.NoError(t, s.Wait())
		})
	}
}

func TestListenAndServeTLSAsyncTLSConfig(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: helloHandler(),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	s, err := ListenAndServeTLSAsync(srv, "", "")
	require.NoError(t, err)
	assert.Equal(t, "hello", getBody(t, testClient(pool), s.URL()))
	require.NoError(t, s.Shutdown(context.Background()))
}

func TestListenErrorsAreReturned(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	addr := taken.Addr().String()

	srv := &http.Server{Addr: addr, Handler: helloHandler()}
	s, err := ListenAndServeAsync(srv)
	require.Error(t, err)
	assert.Nil(t, s)
	assert.ErrorIs(t, err, syscall.EADDRINUSE)
	assert.Contains(t, err.Error(), "httpx: listen")
	assert.Equal(t, addr, srv.Addr, "Addr untouched on error")

	certFile, keyFile, _ := testCert(t)
	_, err = ListenAndServeTLSAsync(&http.Server{Addr: addr}, certFile, keyFile)
	assert.ErrorIs(t, err, syscall.EADDRINUSE)

	_, err = ListenAndServeAsync(&http.Server{Addr: "127.0.0.1:99999"})
	assert.Error(t, err, "invalid port")
	_, err = ListenAndServeAsync(nil)
	assert.Error(t, err)
}

func TestTLSCertificateErrorsAreReturnedBeforeListening(t *testing.T) {
	_, err := ListenAndServeTLSAsync(&http.Server{Addr: "127.0.0.1:0"}, "/nonexistent/cert.pem", "/nonexistent/key.pem")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "load TLS certificate")

	_, err = ListenAndServeTLSAsync(&http.Server{Addr: "127.0.0.1:0"}, "", "")
	assert.ErrorContains(t, err, "TLS needs")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, err = ServeTLS(context.Background(), &http.Server{}, ln, "", "")
	require.Error(t, err)
	// ServeTLS owns ln and closed it.
	_, err = ln.Accept()
	assert.ErrorIs(t, err, net.ErrClosed)
}

// failingListener's Accept fails with a permanent error, as a listener
// whose socket was torn down underneath the server would.
type failingListener struct{ net.Listener }

var errBroken = errors.New("listener broke")

func (failingListener) Accept() (net.Conn, error) { return nil, errBroken }

func TestServeErrorReachesWait(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s, err := Serve(context.Background(), &http.Server{Handler: helloHandler()}, failingListener{ln})
	require.NoError(t, err)
	select {
	case <-s.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not end")
	}
	err = s.Wait()
	require.Error(t, err)
	assert.ErrorIs(t, err, errBroken)
	assert.Contains(t, err.Error(), "httpx: serve")
}

func TestServeStopsWhenContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: helloHandler()}
	s, err := Serve(ctx, srv, ln)
	require.NoError(t, err)
	assert.Equal(t, "", srv.Addr, "Serve leaves Addr alone")
	assert.Equal(t, "hello", getBody(t, testClient(nil), s.URL()))
	assert.Equal(t, openChan, chanState(s.Done()))

	cancel()
	select {
	case <-s.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("server still serving after ctx ended")
	}
	assert.NoError(t, s.Wait())
	_, err = net.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "listener closed")

	_, err = Serve(context.Background(), nil, ln)
	assert.Error(t, err)
	_, err = Serve(context.Background(), srv, nil)
	assert.Error(t, err)
}

func TestServeTLSOnListener(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	ln, err := net.Listen("tcp", "[::1]:0")
	require.NoError(t, err)
	s, err := ServeTLS(context.Background(), &http.Server{Handler: helloHandler()}, ln, certFile, keyFile)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(s.URL(), "https://[::1]:"), s.URL())
	assert.Equal(t, "hello", getBody(t, testClient(pool), s.URL()))
	require.NoError(t, s.Close())
	assert.NoError(t, s.Wait())
}

func TestShutdownForcesCloseWhenContextEnds(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(started)
		<-release // ignores its request context
	})}
	s, err := ListenAndServeAsync(srv)
	require.NoError(t, err)

	c := testClient(nil)
	respc := make(chan error, 1)
	go func() {
		resp, err := c.Get(s.URL())
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		respc <- err
	}()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 20*time.Second)
	assert.NoError(t, s.Wait(), "a closed server is not a serve error")
	assert.Error(t, <-respc, "the stream was cut")
	close(release)
}

func TestShutdownRightAfterStart(t *testing.T) {
	for range 50 {
		s, err := ListenAndServeAsync(&http.Server{Addr: "127.0.0.1:0", Handler: helloHandler()})
		require.NoError(t, err)
		require.NoError(t, s.Shutdown(context.Background()))
		require.NoError(t, s.Wait())
		_, err = net.Dial("tcp", s.Addr().String())
		require.Error(t, err, "listener closed")
	}
}

// TestStartGetStopLoop is the seed's 1,000-cycle test, on port 0.
func TestStartGetStopLoop(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	c := testClient(nil)
	start := time.Now()
	for i := range n {
		srv := &http.Server{Addr: "127.0.0.1:0", Handler: helloHandler()}
		s, err := ListenAndServeAsync(srv)
		require.NoError(t, err, "cycle %d", i)
		require.Equal(t, "hello", getBody(t, c, "http://"+srv.Addr), "cycle %d", i)
		require.NoError(t, s.Shutdown(context.Background()), "cycle %d", i)
		require.NoError(t, s.Wait(), "cycle %d", i)
	}
	elapsed := time.Since(start)
	t.Logf("%d start/GET/stop cycles in %v", n, elapsed)
	assert.Less(t, elapsed, 90*time.Second, "generous bound for a loaded machine")
}

func TestURLForWildcards(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 80}, "http://127.0.0.1:80"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 81}, "http://127.0.0.1:81"},
		{&net.TCPAddr{Port: 82}, "http://127.0.0.1:82"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 83}, "http://[::1]:83"},
		{&net.UnixAddr{Name: "/tmp/x.sock", Net: "unix"}, "http:%2F%2F%2Ftmp%2Fx.sock"},
	} {
		s := &Serving{addr: tc.addr, scheme: "http"}
		if _, ok := tc.addr.(*net.UnixAddr); ok {
			assert.NotPanics(t, func() { _ = s.URL() })
			continue
		}
		assert.Equal(t, tc.want, s.URL())
	}
}

const (
	openChan   = "open"
	closedChan = "closed"
)

func chanState(c <-chan struct{}) string {
	select {
	case <-c:
		return closedChan
	default:
		return openChan
	}
}
