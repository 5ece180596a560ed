package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/streamkit-dev/streamkit/httpx"
)

func hello(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }

// A GET right after ListenAndServeAsync returns succeeds: the socket is
// already listening, and srv.Addr holds the port the kernel picked.
func ExampleListenAndServeAsync() {
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(hello)}
	s, err := httpx.ListenAndServeAsync(srv)
	if err != nil {
		fmt.Println("listen:", err)
		return
	}
	resp, err := http.Get("http://" + srv.Addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body), srv.Addr != "127.0.0.1:0")

	if err := s.Shutdown(context.Background()); err != nil {
		fmt.Println("shutdown:", err)
	}
	fmt.Println("serve ended with", s.Wait())
	http.DefaultClient.CloseIdleConnections()
	// Output:
	// hello true
	// serve ended with <nil>
}

// Serving HTTPS on an ephemeral port; s.URL() is dialable and srv.Addr is
// rewritten just as for plain HTTP.
func ExampleListenAndServeTLSAsync() {
	srv := &http.Server{Addr: "localhost:0", Handler: http.HandlerFunc(hello)}
	s, err := httpx.ListenAndServeTLSAsync(srv, "cert.pem", "key.pem")
	if err != nil {
		fmt.Println("listen:", err)
		return
	}
	defer s.Close()
	fmt.Println("serving on", s.URL())
}

// Serve takes a listener opened elsewhere (systemd, a Unix socket) and a
// context that bounds the server's life.
func ExampleServe() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := httpx.Serve(ctx, &http.Server{Handler: http.HandlerFunc(hello)}, ln)
	if err != nil {
		fmt.Println(err)
		return
	}
	cancel() // closes the server
	<-s.Done()
	fmt.Println("stopped:", s.Wait())
	// Output: stopped: <nil>
}

// ServeTLS is Serve for HTTPS.
func ExampleServeTLS() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := httpx.ServeTLS(context.Background(), &http.Server{Handler: http.HandlerFunc(hello)}, ln,
		"cert.pem", "key.pem")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	fmt.Println("serving on", s.URL())
}

// A main function's server: stops on SIGINT/SIGTERM (here: when ctx ends),
// lets a hub end its streams first, drains for at most 10 s, then closes.
func ExampleListenAndServeGraceful() {
	ctx, stop := context.WithCancel(context.Background())
	hubShutdown := func(ctx context.Context) error {
		fmt.Println("hub: goodbye sent to every stream")
		return nil
	}
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(hello)}
	err := httpx.ListenAndServeGraceful(srv,
		httpx.WithContext(ctx),
		httpx.WithDrainTimeout(10*time.Second),
		httpx.WithShutdownHooks(hubShutdown),
		httpx.WithReady(func(s *httpx.Serving) {
			fmt.Println("ready")
			stop() // in a real program: a signal, later
		}),
	)
	if errors.Is(err, httpx.ErrForcedClose) {
		fmt.Println("some connections were cut:", err)
	}
	fmt.Println("stopped:", err)
	// Output:
	// ready
	// hub: goodbye sent to every stream
	// stopped: <nil>
}

// Wait for a server started elsewhere (a child process, a container) to
// become healthy. Certificates are verified; pass WithRootCAs for a test CA.
func ExampleWaitForURL() {
	ts := httptest.NewServer(http.HandlerFunc(hello))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := httpx.WaitForURL(ctx, ts.URL+"/healthz",
		httpx.WithBackoff(10*time.Millisecond, time.Second),
		httpx.WithValidate(func(resp *http.Response) error {
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "hello" {
				return errors.New("not ready")
			}
			return nil
		}))
	fmt.Println("up:", err == nil)
	// Output: up: true
}

func ExampleDecodeJSON() {
	var v struct{ Name string }
	err := httpx.DecodeJSON(strings.NewReader(`{"Name":"x","Extra":1}`), &v, httpx.JSONDisallowUnknownFields())
	fmt.Println(httpx.ErrorToStatus(err), err)

	err = httpx.DecodeJSON(strings.NewReader(`{"Name":"`+strings.Repeat("x", 100)+`"}`), &v, httpx.JSONMaxBytes(64))
	fmt.Println(httpx.ErrorToStatus(err), err)
	// Output:
	// 400 httpx: invalid JSON body: json: unknown field "Extra"
	// 413 httpx: body exceeds the limit of 64 bytes
}

// A JSON endpoint: decode with a cap, answer errors with their status.
func ExampleDecodeJSONRequest() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ N int }
		if err := httpx.DecodeJSONRequest(w, r, &in, httpx.JSONMaxBytes(1<<10)); err != nil {
			httpx.WriteJSONError(w, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]int{"double": 2 * in.N})
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader(`{"N":21}`)))
	fmt.Print(w.Code, " ", w.Body.String())
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader(`{"N":`)))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 200 {"double":42}
	// 400 {"error":"httpx: invalid JSON body: unexpected EOF"}
}

func ExampleWriteJSON() {
	w := httptest.NewRecorder()
	httpx.WriteJSON(w, http.StatusCreated, map[string]string{"id": "42"})
	fmt.Print(w.Code, " ", w.Header().Get("Content-Type"), " ", w.Body.String())
	// Output: 201 application/json {"id":"42"}
}

func ExampleWriteJSONError() {
	w := httptest.NewRecorder()
	httpx.WriteJSONError(w, httpx.WithStatus(errors.New("no such stream"), http.StatusNotFound))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output: 404 {"error":"no such stream"}
}

func ExampleDoJSON() {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer ts.Close()
	var out map[string]any
	err := httpx.DoJSON(context.Background(), ts.Client(), http.MethodPost, ts.URL, map[string]int{"n": 1}, &out)
	var se *httpx.HTTPStatusError
	if errors.As(err, &se) {
		fmt.Println(se.StatusCode, se.Transient(), strings.TrimSpace(string(se.Body)))
	}
	// Output: 429 true slow down
}

func ExampleNewHTTPStatusError() {
	resp := &http.Response{
		StatusCode: 503, Status: "503 Service Unavailable",
		Header: http.Header{"Retry-After": {"5"}},
		Body:   io.NopCloser(strings.NewReader("maintenance")),
	}
	defer resp.Body.Close()
	e := httpx.NewHTTPStatusError(resp)
	fmt.Println(e)
	fmt.Println(e.Header.Get("Retry-After"), e.Truncated)
	// Output:
	// httpx: unexpected status 503 Service Unavailable: maintenance
	// 5 false
}

func ExampleIsTransient() {
	for _, code := range []int{429, 500, 501, 503, 404} {
		fmt.Println(code, httpx.IsTransient(code))
	}
	// Output:
	// 429 true
	// 500 true
	// 501 false
	// 503 true
	// 404 false
}

func ExampleErrorToStatus() {
	notFound := httpx.WithStatus(errors.New("no such session"), http.StatusNotFound)
	fmt.Println(httpx.ErrorToStatus(fmt.Errorf("resume: %w", notFound)))
	fmt.Println(httpx.ErrorToStatus(errors.New("boom")))
	fmt.Println(httpx.ErrorToStatus(nil))
	// Output:
	// 404
	// 500
	// 200
}

func ExampleParseAccept() {
	for _, r := range httpx.ParseAccept("text/*;q=0.5, application/json, text/html;q=0, */*;q=0.1") {
		fmt.Println(r, r.Q)
	}
	// Output:
	// application/json 1
	// text/* 0.5
	// */* 0.1
}

func ExampleNegotiate() {
	offers := []string{"application/json", "text/event-stream"}
	fmt.Println(httpx.Negotiate("application/json, text/event-stream", offers...))
	fmt.Println(httpx.Negotiate("text/event-stream", offers...))
	fmt.Println(httpx.Negotiate("image/png", offers...))
	// Output:
	// application/json true
	// text/event-stream true
	//  false
}

func ExampleResolveURL() {
	u, _ := httpx.ResolveURL("https://api.example.com/mcp/sse", "/messages?sessionId=abc")
	fmt.Println(u, httpx.SameOrigin(u, "https://api.example.com/mcp/sse"))
	// Output: https://api.example.com/messages?sessionId=abc true
}

func ExampleSameOrigin() {
	fmt.Println(httpx.SameOrigin("https://a.example/x", "https://a.example:443/y"))
	fmt.Println(httpx.SameOrigin("https://a.example/x", "https://evil.example/x"))
	// Output:
	// true
	// false
}

func ExampleQueryString() {
	fmt.Println(httpx.QueryString(map[string]string{"stream": "news", "after": "1700000000000-3", "q": "a b"}))
	// Output: after=1700000000000-3&q=a+b&stream=news
}

func ExampleNormalizeWebSocketURL() {
	u, _ := httpx.NormalizeWebSocketURL("https://example.com/ws?room=1")
	fmt.Println(u)
	// Output: wss://example.com/ws?room=1
}

func ExampleNewSessionID() {
	id := httpx.NewSessionID()
	fmt.Println(len(id))
	// Output: 26
}

func ExampleCORS() {
	cors, err := httpx.CORS(httpx.CORSOptions{
		AllowedOrigins: []string{"https://app.example.com"},
		AllowedHeaders: []string{"Content-Type", "Last-Event-ID"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := cors(http.HandlerFunc(hello))
	r := httptest.NewRequest("GET", "/events", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Header().Get("Access-Control-Allow-Origin"), w.Header().Get("Vary"))
	// Output: https://app.example.com Origin
}

func ExampleNewLowRateClient() {
	c := httpx.NewLowRateClient() // keep it; reuse it for every request
	fmt.Println(c.Timeout)
	// Output: 30s
}

func ExampleNewMediumRateClient() {
	fmt.Println(httpx.NewMediumRateClient().Timeout)
	// Output: 15s
}

func ExampleNewHighRateClient() {
	c := httpx.NewHighRateClient()
	fmt.Println(c.Timeout, c.Transport.(*http.Transport).MaxIdleConnsPerHost)
	// Output: 10s 128
}

func ExampleNewStreamingClient() {
	c := httpx.NewStreamingClient() // no overall timeout: end streams with their context
	fmt.Println(c.Timeout)
	// Output: 0s
}

// A Poller tells when a parked connection has something to read (or was
// closed) without a goroutine waiting on it.
func ExamplePoller() {
	p, err := httpx.NewPoller(httpx.PollerOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	client, _ := net.Dial("tcp", ln.Addr().String())
	defer client.Close()
	server, _ := ln.Accept()
	defer server.Close()

	ready := make(chan struct{})
	if _, err := p.Watch(server, func() { close(ready) }); err != nil {
		fmt.Println(err) // not a socket, or no readiness on this system
		return
	}
	_, _ = io.WriteString(client, "ping")
	<-ready
	buf := make([]byte, 4)
	n, _ := server.Read(buf)
	fmt.Println(string(buf[:n]))
	// Output: ping
}

// A connection that is watched between every request is registered once
// and re-armed: each Arm allocates nothing.
func ExamplePoller_Register() {
	p, err := httpx.NewPoller(httpx.PollerOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	client, _ := net.Dial("tcp", ln.Addr().String())
	defer client.Close()
	server, _ := ln.Accept()
	defer server.Close()

	ready := make(chan struct{}, 1)
	reg, err := p.Register(server, func() { ready <- struct{}{} })
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close() // before the connection closes
	buf := make([]byte, 8)
	for _, msg := range []string{"one", "two"} {
		if err := reg.Arm(); err != nil {
			fmt.Println(err) // no readiness on this system
			return
		}
		_, _ = io.WriteString(client, msg)
		<-ready
		n, _ := server.Read(buf)
		fmt.Println(string(buf[:n]))
	}
	// Output:
	// one
	// two
}

// A handler that answers one request itself on the hijacked connection and
// gives the connection back to net/http, which serves the next request.
func ExampleHandbackListener() {
	mux := http.NewServeMux()
	mux.HandleFunc("/raw", func(w http.ResponseWriter, r *http.Request) {
		hl := httpx.HandbackFor(r)
		if hl == nil { // TLS, HTTP/2, or not served through a HandbackListener
			io.WriteString(w, "raw")
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nraw")
		buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
		if hl.Handback(c, buffered) != nil {
			c.Close()
		}
	})
	mux.HandleFunc("/std", hello)

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	hl := httpx.NewHandbackListener(ln, httpx.HandbackOptions{})
	srv := &http.Server{Handler: mux, ConnContext: hl.ConnContext}
	s, _ := httpx.Serve(context.Background(), srv, hl)
	defer s.Close()

	tr := &http.Transport{MaxConnsPerHost: 1} // one keep-alive connection
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	for _, path := range []string{"/raw", "/std", "/raw"} {
		resp, err := hc.Get(s.URL() + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// raw
	// hello
	// raw
}
