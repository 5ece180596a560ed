package interop

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	gwebsocket "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	kstream "k8s.io/streaming/pkg/httpstream"
	kspdy "k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/streamkit-dev/streamkit/httpstream"
)

// The WebSocket carrier against k8s port-forward tunnelling: SPDY/3.1 inside
// WebSocket binary messages, subprotocol "SPDY/3.1+portforward.k8s.io".

const portForward = "portforward.k8s.io"

// client-go's tunnelling dialer (what kubectl port-forward uses) against our
// WebSocketUpgrader.
func TestClientGoTunnelToOurServer(t *testing.T) {
	var mu sync.Mutex
	var conns []*httpstream.Conn
	var handlers sync.WaitGroup
	ws := &httpstream.WebSocketUpgrader{Protocols: []string{portForward}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		c, err := ws.Upgrade(w, r, func(s httpstream.Stream, replySent <-chan struct{}) error {
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
		if err == nil {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		handlers.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})

	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	dialer, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, &rest.Config{Host: srv.URL})
	require.NoError(t, err)
	conn, proto, err := dialer.Dial(portForward)
	require.NoError(t, err)
	defer conn.Close()
	assert.Equal(t, portForward, proto)

	// k8s port-forward's stream headers: an error stream and a data stream.
	h := http.Header{}
	h.Set("streamType", "error")
	h.Set("port", "8080")
	h.Set("requestID", "0")
	errStream, err := conn.CreateStream(h)
	require.NoError(t, err)
	h.Set("streamType", "data")
	data, err := conn.CreateStream(h)
	require.NoError(t, err)
	echoCheck(t, data, 2<<20)
	require.NoError(t, errStream.Reset())

	_, err = conn.CreateStream(http.Header{"Reject": {"1"}})
	assert.Error(t, err, "our handler's refusal fails their CreateStream")

	mu.Lock()
	ours := conns[0]
	mu.Unlock()
	assert.Equal(t, portForward, ours.Protocol())
	ctx, cancel := context.WithTimeout(context.Background(), 10*1e9)
	defer cancel()
	_, err = ours.Ping(ctx)
	require.NoError(t, err, "their client answers our pings through the tunnel")
}

// Our WebSocket client against a k8s tunnel server built the way the API
// server's stream tunnel is: a gorilla WebSocket wrapped by client-go's
// TunnelingConnection, under k8s.io/streaming's SPDY server.
func TestOurTunnelToK8sServer(t *testing.T) {
	var mu sync.Mutex
	var conns []kstream.Connection
	var handlers sync.WaitGroup
	up := gwebsocket.Upgrader{Subprotocols: []string{"SPDY/3.1+" + portForward}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		wsc, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conn, err := kspdy.NewServerConnection(portforward.NewTunnelingConnection("server", wsc),
			func(s kstream.Stream, replySent <-chan struct{}) error {
				go func() {
					<-replySent
					_, _ = io.Copy(s, s)
					_ = s.Close()
				}()
				return nil
			})
		if err != nil {
			return
		}
		mu.Lock()
		conns = append(conns, conn)
		mu.Unlock()
	}))
	t.Cleanup(func() {
		srv.Close()
		handlers.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})

	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{Proxy: noProxy, Carrier: httpstream.CarrierWebSocket})
	c, proto, err := rt.Dial(context.Background(), http.MethodGet, srv.URL, nil, portForward)
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, portForward, proto)
	for range 3 {
		s, err := c.CreateStream(http.Header{"Streamtype": {"data"}, "Port": {"80"}})
		require.NoError(t, err)
		echoCheck(t, s, 1<<20)
	}
}
