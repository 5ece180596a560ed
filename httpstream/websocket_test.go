package httpstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bothCarriers serves the WebSocket carrier and the SPDY upgrade on one URL.
func bothCarriers(t *testing.T, tlsServer bool, protocols ...string) *httptest.Server {
	var mu sync.Mutex
	var conns []*Conn
	var handlers sync.WaitGroup
	ws := &WebSocketUpgrader{Protocols: protocols}
	up := NewResponseUpgrader(nil)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		var c *Conn
		if IsWebSocketRequest(r) {
			c, _ = ws.Upgrade(w, r, echoHandler)
		} else if _, err := Handshake(r, w, protocols); err == nil {
			if conn := up.UpgradeResponse(w, r, echoHandler); conn != nil {
				c = conn.(*Conn)
			}
		}
		if c != nil {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	srv := httptest.NewUnstartedServer(h)
	if tlsServer {
		srv.StartTLS()
	} else {
		srv.Start()
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

func TestWebSocketCarrier(t *testing.T) {
	for _, tlsServer := range []bool{false, true} {
		srv := bothCarriers(t, tlsServer, "portforward.k8s.io")
		cfg := RoundTripperConfig{Proxy: noProxy, Carrier: CarrierWebSocket}
		if tlsServer {
			cfg.TLSClientConfig = tlsConfigFor(srv)
		}
		rt := NewRoundTripper(cfg)
		c, proto, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "v9", "portforward.k8s.io")
		require.NoError(t, err)
		assert.Equal(t, "portforward.k8s.io", proto)
		assert.Equal(t, "portforward.k8s.io", c.Protocol())
		_, isWS := c.nc.(*wsConn)
		assert.True(t, isWS, "carried by WebSocket")
		roundTrip(t, c, "through a websocket")
		s, err := c.CreateStream(http.Header{})
		require.NoError(t, err)
		big := make([]byte, 3<<20)
		for i := range big {
			big[i] = byte(i)
		}
		go func() { _, _ = s.Write(big); _ = s.Close() }()
		got := make([]byte, 0, len(big))
		buf := make([]byte, 64<<10)
		for {
			n, err := s.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		assert.Equal(t, big, got)
		c.Close()
	}
}

func TestAutoCarrierPrefersWebSocketAndFallsBack(t *testing.T) {
	srv := bothCarriers(t, false, "p")
	rt := NewRoundTripper(RoundTripperConfig{Proxy: noProxy})
	c, _, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "p")
	require.NoError(t, err)
	_, isWS := c.nc.(*wsConn)
	assert.True(t, isWS, "WebSocket first")
	c.Close()

	spdyOnly := upgradeServer(t, false, "p")
	c, proto, err := rt.Dial(context.Background(), http.MethodPost, spdyOnly.URL, nil, "p")
	require.NoError(t, err)
	_, isWS = c.nc.(*wsConn)
	assert.False(t, isWS, "fell back to the SPDY upgrade")
	assert.Equal(t, "p", proto)
	roundTrip(t, c, "fallback")
	c.Close()
}

func TestWebSocketUpgradeRefusals(t *testing.T) {
	srv := bothCarriers(t, false, "p")
	rt := NewRoundTripper(RoundTripperConfig{Proxy: noProxy, Carrier: CarrierWebSocket})
	_, _, err := rt.Dial(context.Background(), http.MethodGet, srv.URL, nil, "q")
	var ufe *UpgradeFailureError
	require.ErrorAs(t, err, &ufe)
	assert.Equal(t, http.StatusForbidden, ufe.StatusCode)

	// A browser page from another origin cannot open the tunnel.
	_, _, err = rt.Dial(context.Background(), http.MethodGet, srv.URL, http.Header{"Origin": {"https://evil.example"}}, "p")
	require.ErrorAs(t, err, &ufe)
	assert.Equal(t, http.StatusForbidden, ufe.StatusCode)
	assert.Contains(t, err.Error(), "origin")
}

func TestWebSocketThroughProxy(t *testing.T) {
	srv := bothCarriers(t, true, "p")
	pu, tunnels := connectProxy(t, "Basic dTpw")
	rt := NewRoundTripper(RoundTripperConfig{Proxy: http.ProxyURL(pu), TLSClientConfig: tlsConfigFor(srv), Carrier: CarrierWebSocket})
	c, _, err := rt.Dial(context.Background(), http.MethodGet, srv.URL, nil, "p")
	require.NoError(t, err)
	roundTrip(t, c, "wss via proxy")
	c.Close()
	assert.Equal(t, int32(1), tunnels.Load())
}

func TestWSConnRejectsUnmaskedClientFrames(t *testing.T) {
	nc, sc := tcpPair(t)
	defer nc.Close()
	defer sc.Close()
	server := newWSConn(sc, nil, false)
	// A client frame without the mask bit.
	_, err := nc.Write([]byte{0x82, 0x03, 'a', 'b', 'c'})
	require.NoError(t, err)
	_, err = server.Read(make([]byte, 3))
	assert.ErrorIs(t, err, errWSProtocol)
}

func TestWSConnControlFrames(t *testing.T) {
	nc, sc := tcpPair(t)
	client := newWSConn(nc, nil, true)
	server := newWSConn(sc, nil, false)
	defer client.Close()
	defer server.Close()
	// A ping between data frames is answered and skipped.
	require.NoError(t, client.writeFrame(wsOpPing, []byte("hi")))
	_, err := client.Write([]byte("data"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = server.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "data", string(buf))
	// Close reads as EOF on the other side.
	require.NoError(t, server.Close())
	_, err = client.Read(buf)
	assert.Error(t, err)
}
