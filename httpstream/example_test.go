package httpstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/streamkit-dev/streamkit/httpstream"
)

// echoStreams is a NewStreamHandler that echoes every stream.
func echoStreams(s httpstream.Stream, replySent <-chan struct{}) error {
	go func() {
		<-replySent // write only once the peer has our SYN_REPLY
		_, _ = io.Copy(s, s)
		_ = s.Close()
	}()
	return nil
}

// A server upgrades requests after negotiating a protocol; a client dials
// it, opens a stream, and half-closes it to read the echo.
func ExampleNewResponseUpgrader() {
	up := httpstream.NewResponseUpgrader(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := httpstream.Handshake(r, w, []string{"v1.example"}); err != nil {
			return
		}
		if conn := up.UpgradeResponse(w, r, echoStreams); conn != nil {
			go func() { <-conn.CloseChan() }()
		}
	}))
	defer srv.Close()

	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{
		Proxy: func(*http.Request) (*url.URL, error) { return nil, nil },
	})
	conn, proto, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "v2.example", "v1.example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	s, err := conn.CreateStream(http.Header{"Streamtype": {"data"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = io.WriteString(s, "hello")
	_ = s.Close()
	b, _ := io.ReadAll(s)
	fmt.Println(proto, string(b))
	// Output: v1.example hello
}

// Handshake refuses a client whose protocols the server does not speak.
func ExampleHandshake() {
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set(httpstream.HeaderProtocolVersion, "v9.example")
	w := httptest.NewRecorder()
	_, err := httpstream.Handshake(req, w, []string{"v1.example", "v2.example"})
	fmt.Println(err != nil, w.Code, w.Header().Values(httpstream.HeaderAcceptedProtocolVersions))
	// Output: true 403 [v1.example v2.example]
}

// Connections can run over any net.Conn, here an in-memory pipe.
func ExampleNewClientConnection() {
	nc, sc := net.Pipe()
	done := make(chan *httpstream.Conn, 1)
	go func() {
		server, err := httpstream.NewServerConnection(sc, echoStreams, nil)
		if err != nil {
			panic(err)
		}
		done <- server
	}()
	client, err := httpstream.NewClientConnection(nc, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	server := <-done
	defer server.Close()
	defer client.Close()

	s, _ := client.CreateStream(http.Header{})
	_, _ = io.WriteString(s, "over a pipe")
	_ = s.Close()
	b, _ := io.ReadAll(s)
	fmt.Println(string(b), s.Identifier())
	// Output: over a pipe 1
}

// A response other than 101 becomes an *UpgradeFailureError.
func ExampleUpgradeFailureError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no streams for you", http.StatusForbidden)
	}))
	defer srv.Close()
	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{
		Proxy: func(*http.Request) (*url.URL, error) { return nil, nil },
	})
	_, _, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "v1.example")
	var ufe *httpstream.UpgradeFailureError
	fmt.Println(httpstream.IsUpgradeFailure(err), errorsAs(err, &ufe) && ufe.StatusCode == 403)
	// Output: true true
}

func errorsAs(err error, target **httpstream.UpgradeFailureError) bool {
	return errors.As(err, target)
}

// One URL can serve both carriers; the client tries WebSocket first.
func ExampleWebSocketUpgrader() {
	protocols := []string{"portforward.example"}
	ws := &httpstream.WebSocketUpgrader{Protocols: protocols}
	up := httpstream.NewResponseUpgrader(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var conn httpstream.Connection
		if httpstream.IsWebSocketRequest(r) {
			c, err := ws.Upgrade(w, r, echoStreams)
			if err != nil {
				return
			}
			conn = c
		} else if _, err := httpstream.Handshake(r, w, protocols); err == nil {
			conn = up.UpgradeResponse(w, r, echoStreams)
		}
		if conn != nil {
			go func() { <-conn.CloseChan() }()
		}
	}))
	defer srv.Close()

	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{
		Proxy: func(*http.Request) (*url.URL, error) { return nil, nil },
	})
	conn, proto, err := rt.Dial(context.Background(), http.MethodPost, srv.URL, nil, "portforward.example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println(proto)
	// Output: portforward.example
}

// Shutdown lets open streams finish, within the context's deadline.
func ExampleConn_Shutdown() {
	nc, sc := net.Pipe()
	done := make(chan *httpstream.Conn, 1)
	go func() {
		server, _ := httpstream.NewServerConnection(sc, echoStreams, nil)
		done <- server
	}()
	client, _ := httpstream.NewClientConnection(nc, nil)
	server := <-done
	s, _ := client.CreateStream(http.Header{})
	go func() {
		_, _ = io.WriteString(s, "bye")
		_ = s.Close()
		_, _ = io.ReadAll(s) // the echo; the stream is then fully closed
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(server.Shutdown(ctx))
	<-client.CloseChan()
	// Output: <nil>
}

// A Dialer is the k8s-shaped way to connect: Dial(protocols...).
func ExampleNewDialer() {
	up := httpstream.NewResponseUpgrader(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := httpstream.Handshake(r, w, []string{"v1.example"}); err == nil {
			up.UpgradeResponse(w, r, echoStreams)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{
		Proxy:   func(*http.Request) (*url.URL, error) { return nil, nil },
		Carrier: httpstream.CarrierSPDY,
	})
	conn, proto, err := httpstream.NewDialer(rt, http.MethodPost, u).Dial("v1.example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println(proto)
	// Output: v1.example
}

// Ping measures a round trip; Config.PingPeriod pings in the background and
// closes a connection whose peer stops answering.
func ExampleConn_Ping() {
	nc, sc := net.Pipe()
	done := make(chan *httpstream.Conn, 1)
	go func() {
		server, _ := httpstream.NewServerConnection(sc, httpstream.NoOpNewStreamHandler, nil)
		done <- server
	}()
	client, _ := httpstream.NewClientConnection(nc, &httpstream.Config{PingPeriod: 30 * time.Second})
	server := <-done
	defer server.Close()
	defer client.Close()
	rtt, err := client.Ping(context.Background())
	fmt.Println(err == nil, rtt > 0)
	// Output: true true
}
