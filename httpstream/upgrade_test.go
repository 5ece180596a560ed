package httpstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upgradeServer negotiates among protocols and serves echo streams.
func upgradeServer(t *testing.T, tlsServer bool, protocols ...string) *httptest.Server {
	var mu sync.Mutex
	var conns []Connection
	var handlers sync.WaitGroup
	up := NewResponseUpgrader(nil)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		if _, err := Handshake(r, w, protocols); err != nil {
			return
		}
		if c := up.UpgradeResponse(w, r, echoHandler); c != nil {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(func() {
		srv.Close()
		handlers.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return srv
}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

func roundTrip(t *testing.T, c *Conn, msg string) {
	t.Helper()
	s, err := c.CreateStream(http.Header{})
	require.NoError(t, err)
	_, err = s.Write([]byte(msg))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	got, err := io.ReadAll(s)
	require.NoError(t, err)
	assert.Equal(t, msg, string(got))
}

func TestDialNegotiatesAndEchoes(t *testing.T) {
	srv := upgradeServer(t, false, "v4.channel.k8s.io", "v3.channel.k8s.io")
	rt := NewRoundTripper(RoundTripperConfig{Proxy: noProxy})
	c, proto, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "v5.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io")
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "v3.channel.k8s.io", proto, "the client's first supported protocol wins")
	roundTrip(t, c, "hello")
}

func TestHandshakeErrors(t *testing.T) {
	srv := upgradeServer(t, false, "a", "b")
	rt := NewRoundTripper(RoundTripperConfig{Proxy: noProxy})

	_, _, err := rt.Dial(context.Background(), http.MethodGet, srv.URL, nil)
	var ufe *UpgradeFailureError
	require.ErrorAs(t, err, &ufe)
	assert.Equal(t, http.StatusBadRequest, ufe.StatusCode)
	assert.Contains(t, err.Error(), HeaderProtocolVersion)

	_, _, err = rt.Dial(context.Background(), http.MethodGet, srv.URL, nil, "c")
	require.ErrorAs(t, err, &ufe)
	assert.Equal(t, http.StatusForbidden, ufe.StatusCode)
	assert.True(t, IsUpgradeFailure(err))

	// The 403 lists what the server accepts.
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set(HeaderProtocolVersion, "c")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{"a", "b"}, resp.Header.Values(HeaderAcceptedProtocolVersions))
}

func TestUpgradeRefusesPlainRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Nil(t, NewResponseUpgrader(nil).UpgradeResponse(w, r, echoHandler))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestNon101SurfacesServerMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"kind":"Status","status":"Failure","message":"pods \"x\" is forbidden","code":403}`)
	}))
	defer srv.Close()
	rt := NewRoundTripper(RoundTripperConfig{Proxy: noProxy})
	_, _, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "p")
	var ufe *UpgradeFailureError
	require.ErrorAs(t, err, &ufe)
	assert.Equal(t, http.StatusForbidden, ufe.StatusCode)
	assert.Contains(t, err.Error(), `pods "x" is forbidden`)
}

func tlsConfigFor(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

func TestDialOverTLS(t *testing.T) {
	srv := upgradeServer(t, true, "p")
	rt := NewRoundTripper(RoundTripperConfig{Proxy: noProxy, TLSClientConfig: tlsConfigFor(srv)})
	c, proto, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "p")
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "p", proto)
	roundTrip(t, c, "over tls")
}

// connectProxy is a minimal CONNECT proxy that requires Basic credentials.
func connectProxy(t *testing.T, wantAuth string) (*url.URL, *atomic.Int32) {
	return connectProxyTLS(t, wantAuth, nil)
}

// connectProxyTLS is connectProxy spoken over TLS when cfg is not nil (an
// https proxy).
func connectProxyTLS(t *testing.T, wantAuth string, cfg *tls.Config) (*url.URL, *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	scheme := "http"
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
		scheme = "https"
	}
	var tunnels atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil || req.Method != http.MethodConnect {
					return
				}
				if req.Header.Get("Proxy-Authorization") != wantAuth {
					_, _ = io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
					return
				}
				up, err := net.Dial("tcp", req.Host)
				if err != nil {
					return
				}
				defer up.Close()
				tunnels.Add(1)
				_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				done := make(chan struct{})
				go func() { _, _ = io.Copy(up, br); up.(*net.TCPConn).CloseWrite(); close(done) }()
				_, _ = io.Copy(c, up)
				<-done
			})
		}
	})
	return &url.URL{Scheme: scheme, Host: ln.Addr().String(), User: url.UserPassword("u", "p")}, &tunnels
}

func TestDialThroughConnectProxy(t *testing.T) {
	srv := upgradeServer(t, true, "p")
	pu, tunnels := connectProxy(t, "Basic dTpw") // base64("u:p")
	rt := NewRoundTripper(RoundTripperConfig{Proxy: http.ProxyURL(pu), TLSClientConfig: tlsConfigFor(srv), Carrier: CarrierSPDY})
	c, _, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "p")
	require.NoError(t, err)
	roundTrip(t, c, "via proxy")
	c.Close()
	assert.Equal(t, int32(1), tunnels.Load())

	bad := *pu
	bad.User = url.UserPassword("u", "wrong")
	rt = NewRoundTripper(RoundTripperConfig{Proxy: http.ProxyURL(&bad), TLSClientConfig: tlsConfigFor(srv)})
	_, _, err = rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "p")
	assert.ErrorContains(t, err, "407")
}

func TestIsUpgradeRequest(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	assert.False(t, IsUpgradeRequest(r))
	r.Header.Set("Connection", "keep-alive, Upgrade")
	assert.True(t, IsUpgradeRequest(r))
}

func TestDialThroughHTTPSProxy(t *testing.T) {
	srv := upgradeServer(t, true, "p")
	// The proxy presents the test server's certificate (valid for 127.0.0.1).
	pu, tunnels := connectProxyTLS(t, "Basic dTpw", srv.TLS)
	rt := NewRoundTripper(RoundTripperConfig{Proxy: http.ProxyURL(pu), TLSClientConfig: tlsConfigFor(srv), Carrier: CarrierSPDY})
	c, _, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "p")
	require.NoError(t, err)
	roundTrip(t, c, "TLS inside TLS")
	c.Close()
	assert.Equal(t, int32(1), tunnels.Load())
}
