package sse_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/sse"
)

// A server streams what is published to its topics; a client reads it.
func ExampleNewServer() {
	s := sse.NewServer(sse.Options{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Shutdown(context.Background())

	go func() {
		for s.Count() == 0 {
			time.Sleep(time.Millisecond)
		}
		s.Publish(context.Background(), sse.DefaultTopic, sse.Event{Data: []byte("hello")})
		s.Publish(context.Background(), sse.DefaultTopic, sse.Event{Type: "greeting", Data: []byte("line 1\nline 2")})
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &sse.Client{URL: ts.URL}
	n := 0
	for ev, err := range c.Events(ctx) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("%s: %q\n", ev.Type, ev.Data)
		if n++; n == 2 {
			break
		}
	}
	// Output:
	// message: "hello"
	// greeting: "line 1\nline 2"
}

// Authorize picks the topics of each connection, or refuses it.
func ExampleOptions_authorize() {
	s := sse.NewServer(sse.Options{
		Authorize: func(r *http.Request) ([]string, error) {
			user := r.Header.Get("X-User") // your authentication here
			if user == "" {
				return nil, &sse.StatusError{Code: http.StatusUnauthorized, Msg: "log in first"}
			}
			return []string{"news", "user/" + user}, nil
		},
	})
	defer s.Shutdown(context.Background())
	ts := httptest.NewServer(s)
	defer ts.Close()
	resp, _ := http.Get(ts.URL)
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 401
}

// Publish stores an event (the store assigns its ID) and queues it to every
// subscriber of the topic, encoded once.
func ExampleServer_Publish() {
	s := sse.NewServer(sse.Options{})
	defer s.Shutdown(context.Background())
	id, err := s.Publish(context.Background(), "news", sse.Event{Type: "headline", Data: []byte("SSE done right")})
	fmt.Println(err, !id.IsZero())
	// Output: <nil> true
}

// PublishValue encodes a typed value with a codec from the codec module.
func ExamplePublishValue() {
	type Price struct {
		Symbol string  `json:"symbol"`
		Value  float64 `json:"value"`
	}
	s := sse.NewServer(sse.Options{})
	defer s.Shutdown(context.Background())
	_, err := sse.PublishValue(context.Background(), s, codec.TypedJSONCodec[Price, Price]{}, "prices", "price", Price{"ACME", 12.5})
	fmt.Println(err)
	// Output: <nil>
}

// Shutdown ends every stream with a final retry hint; pass it to
// httpx.ListenAndServeGraceful as a shutdown hook.
func ExampleServer_Shutdown() {
	s := sse.NewServer(sse.Options{ShutdownRetry: 5 * time.Second})
	ts := httptest.NewServer(s)
	defer ts.Close()
	resp, _ := http.Get(ts.URL)
	for s.Count() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(s.Shutdown(ctx))
	var b strings.Builder
	buf := make([]byte, 64)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	fmt.Printf("%q\n", b.String())
	// Output:
	// <nil>
	// "retry: 5000\n\n"
}

// Event writes validated wire bytes; other transports (streamable) reuse it.
func ExampleEvent_WriteTo() {
	ev := sse.Event{ID: "1700000000000-0", Type: "update", Data: []byte("a\r\nb")}
	ev.WriteTo(os.Stdout)
	_, err := (&sse.Event{ID: "1\ndata: forged"}).WriteTo(os.Stdout)
	fmt.Println(err)
	// Output:
	// id: 1700000000000-0
	// event: update
	// data: a
	// data: b
	//
	// sse: invalid event id
}

// Finite streams (LLM-style responses) end at EOF instead of reconnecting.
func ExampleClient_Events_finite() {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: Hel\n\ndata: lo\n\n")
	}))
	defer ts.Close()
	c := &sse.Client{URL: ts.URL, Finite: true}
	for ev, err := range c.Events(context.Background()) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Print(ev.Data)
	}
	fmt.Println()
	// Output: Hello
}

// HighDensity holds idle HTTP/1.1 streams without a goroutine or net/http's
// buffers: a few KB per connection instead of ~24 KB. HTTP/2 and TLS
// requests keep the normal path; nothing else changes for clients.
func ExampleOptions_highDensity() {
	s := sse.NewServer(sse.Options{HighDensity: true})
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Shutdown(context.Background())

	go func() {
		for s.Count() == 0 {
			time.Sleep(time.Millisecond)
		}
		s.Publish(context.Background(), sse.DefaultTopic, sse.Event{Data: []byte("from a hijacked stream")})
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for ev, err := range (&sse.Client{URL: ts.URL}).Events(ctx) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(ev.Data)
		break
	}
	// Output:
	// from a hijacked stream
}
