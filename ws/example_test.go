package ws_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/ws"
)

type chatIn struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

type chatOut struct {
	From uint64 `json:"from"`
	Text string `json:"text"`
}

type chatCodec = codec.TypedJSONCodec[chatIn, chatOut]

// A typed echo server: Accept authorizes the request, the Session's hooks
// run the connection.
func ExampleNewServer() {
	srv := ws.NewServer[chatIn, chatOut](ws.HandlerFunc[chatIn, chatOut](func(r *http.Request) (ws.Session[chatIn, chatOut], error) {
		if r.URL.Query().Get("token") != "secret" {
			return nil, &ws.StatusError{Status: http.StatusUnauthorized}
		}
		return &ws.Hooks[chatIn, chatOut]{
			Message: func(c *ws.Conn[chatIn, chatOut], m chatIn) error {
				return c.Send(chatOut{From: c.ID(), Text: strings.ToUpper(m.Text)})
			},
		}, nil
	}), chatCodec{}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	got := make(chan chatIn, 1)
	c, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http")+"/?token=secret",
		codec.TypedJSONCodec[chatIn, chatIn]{},
		&ws.Hooks[chatIn, chatIn]{Message: func(_ *ws.Conn[chatIn, chatIn], m chatIn) error { got <- m; return nil }}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c.Send(chatIn{Text: "hello"})
	fmt.Println((<-got).Text)
	_ = c.Close(ws.CloseNormal, "")
	<-c.Done()
	// Output: HELLO
}

// A chat room: members join a room in OnStart, and each message is
// broadcast (encoded once) to the room, except its sender.
func ExampleHub() {
	hub := ws.NewHub[chatIn, chatOut](chatCodec{})
	srv := ws.NewServer[chatIn, chatOut](ws.HandlerFunc[chatIn, chatOut](func(r *http.Request) (ws.Session[chatIn, chatOut], error) {
		room := r.URL.Query().Get("room")
		return &ws.Hooks[chatIn, chatOut]{
			Start: func(c *ws.Conn[chatIn, chatOut]) error { hub.Join(c, room); return nil },
			Message: func(c *ws.Conn[chatIn, chatOut], m chatIn) error {
				_, err := hub.BroadcastFilter(chatOut{From: c.ID(), Text: m.Text}, func(o *ws.Conn[chatIn, chatOut]) bool { return o != c })
				return err
			},
		}, nil
	}), chatCodec{}, nil)
	_ = srv // serve it: http.Handle("/chat", srv)
	fmt.Println(hub.Count())
	// Output: 0
}

// Client side: Dial runs a Session on a client connection with the same
// lifecycle as the server's.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ws.Dial[any, any](ctx, "ws://127.0.0.1:1/feed", codec.JSONCodec{}, &ws.Hooks[any, any]{
		Message: func(_ *ws.Conn[any, any], m any) error { fmt.Println(m); return nil },
		Close:   func(_ *ws.Conn[any, any], err error) { fmt.Println("closed:", ws.CloseStatus(err)) },
	}, &ws.DialOptions{Header: http.Header{"Authorization": {"Bearer token"}}})
	if err != nil {
		fmt.Println("dial failed")
		return
	}
	<-c.Done()
	// Output: dial failed
}

// Redial keeps a connection up, with a fresh Session per connection and a
// capped, jittered wait between attempts.
func ExampleRedial() {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := ws.Redial(ctx, "ws://127.0.0.1:1/feed", codec.JSONCodec{}, func(attempt int) ws.Session[any, any] {
		return &ws.Hooks[any, any]{}
	}, nil, ws.Backoff{Min: 10 * time.Millisecond, Max: 5 * time.Second})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output: true
}

// Shutdown is a shutdown hook for httpx.ListenAndServeGraceful: every
// connection gets a 1001 close before the HTTP server drains.
func ExampleServer_Shutdown() {
	srv := ws.NewServer[any, any](ws.HandlerFunc[any, any](func(*http.Request) (ws.Session[any, any], error) {
		return &ws.Hooks[any, any]{}, nil
	}), codec.JSONCodec{}, nil)
	ctx, stop := context.WithCancel(context.Background())
	stop() // in a real program: a signal ends it
	err := httpx.ListenAndServeGraceful(&http.Server{Addr: "127.0.0.1:0", Handler: srv},
		httpx.WithContext(ctx), httpx.WithSignals(), httpx.WithShutdownHooks(srv.Shutdown))
	fmt.Println(err)
	// Output: <nil>
}

// A hook chooses the close code by returning CloseWith.
func ExampleCloseWith() {
	_ = &ws.Hooks[any, any]{Message: func(c *ws.Conn[any, any], m any) error {
		if m == nil {
			return ws.CloseWith(4000, "null is not a command")
		}
		return nil
	}}
	fmt.Println(ws.CloseStatus(ws.CloseWith(4000, "x")))
	// Output: 4000
}

// Cross-origin browsers are refused unless listed.
func ExampleOptions_allowedOrigins() {
	opts := &ws.Options{
		AllowedOrigins: []string{"https://app.example.com", "https://*.example.org"},
		ReadLimit:      64 << 10,
		SendQueue:      64,
		QueueFullCode:  ws.CloseTryAgainLater,
	}
	srv := ws.NewServer[any, any](ws.HandlerFunc[any, any](func(*http.Request) (ws.Session[any, any], error) {
		return &ws.Hooks[any, any]{}, nil
	}), codec.JSONCodec{}, opts)
	req := httptest.NewRequest("GET", "http://srv.example.com/ws", nil)
	req.Header.Set("Origin", "https://evil.example")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	fmt.Println(w.Code)
	// Output: 403
}
