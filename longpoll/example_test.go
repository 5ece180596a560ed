package longpoll_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/longpoll"
)

func ExampleNewBroker() {
	b, err := longpoll.NewBroker(longpoll.Options{BufferSize: 1000})
	if err != nil {
		panic(err)
	}
	defer b.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("GET /events", b.SubscriptionHandler())
	mux.Handle("/publish", b.PublishHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	_, _ = b.Publish(context.Background(), "news", map[string]string{"title": "hello"})
	resp, err := longpoll.Subscription(srv.URL+"/events", nil,
		longpoll.SubscriptionRequest{Category: "news", TimeoutSeconds: 5, SinceTime: 1}, "", "", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, len(resp.Events), string(resp.Events[0].Data))
	// Output: 200 1 {"title":"hello"}
}

func ExampleServer() {
	var s longpoll.Server
	err := s.Start(longpoll.ServerInfo{Address: "127.0.0.1:0", TimeoutSeconds: 60,
		SubscriptionURI: "/subscription", PublishURI: "/publish"}, longpoll.FilePersistorInfo{}, nil)
	if err != nil {
		panic(err)
	}
	defer s.Stop(5 * time.Second)

	pub, err := longpoll.Publish(s.URL()+"/publish", 5*time.Second, nil,
		longpoll.PublishRequest{Category: "c", Data: []byte(`{"n":1}`)}, "", "", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(pub.StatusCode, pub.Body)
	// Output: 200 {"success": true}
}

func ExampleSubscription() {
	b, _ := longpoll.NewBroker(longpoll.Options{})
	defer b.Shutdown(context.Background())
	srv := httptest.NewServer(b.SubscriptionHandler())
	defer srv.Close()

	// No events: the timeout and its timestamp are visible.
	resp, err := longpoll.Subscription(srv.URL, nil, longpoll.SubscriptionRequest{Category: "c", TimeoutSeconds: 1}, "", "", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Timeout, resp.Timestamp > 0)
	// Output: true true
}

func ExamplePublish() {
	b, _ := longpoll.NewBroker(longpoll.Options{})
	defer b.Shutdown(context.Background())
	srv := httptest.NewServer(b.PublishHandler())
	defer srv.Close()

	resp, err := longpoll.Publish(srv.URL, time.Second, nil, longpoll.PublishRequest{Category: "c"}, "", "", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, resp.Error)
	// Output: 400 Invalid or missing 'data' arg, must be non-nil.
}

func ExampleClient_Events() {
	b, _ := longpoll.NewBroker(longpoll.Options{})
	defer b.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("/events", b.SubscriptionHandler())
	mux.Handle("/publish", b.PublishHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := &longpoll.Client{SubscribeURL: srv.URL + "/events", PublishURL: srv.URL + "/publish",
		PollTimeout: 10 * time.Second, Since: time.Now().Add(-time.Minute)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.Publish(ctx, "a", "first")
	_ = c.Publish(ctx, "b", "second")
	n := 0
	for ev, err := range c.Events(ctx, "a", "b") {
		if err != nil {
			continue // a failed poll (retried with backoff) or ErrHistoryLost
		}
		fmt.Println(ev.Category, string(ev.Data))
		if n++; n == 2 {
			break
		}
	}
	// Output:
	// a "first"
	// b "second"
}

func ExampleBroker_Shutdown() {
	b, _ := longpoll.NewBroker(longpoll.Options{})
	_ = b.Shutdown(context.Background())
	_, err := b.Publish(context.Background(), "c", 1)
	fmt.Println(err)
	// Output: longpoll: broker stopped
}

func ExampleFormatID() {
	// IDs are UUID-shaped but carry the event's position.
	fmt.Println(longpoll.FormatID("news", eventstore.ID{Ms: 1_700_000_000_000, Seq: 2}))
	// Output: 018bcfe5-6800-7000-8000-0bbaa03a6526
}

// Served through an httpx.HandbackListener, a poll that has to wait parks on
// its bare connection (no goroutine); TLS and HTTP/2 polls, and servers
// without the wrapper, keep net/http's path.
func ExampleBroker_parked() {
	b, _ := longpoll.NewBroker(longpoll.Options{})
	defer b.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("GET /events", b.SubscriptionHandler())

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	hl := httpx.NewHandbackListener(ln, httpx.HandbackOptions{})
	srv := &http.Server{Handler: mux, ConnContext: hl.ConnContext}
	s, _ := httpx.Serve(context.Background(), srv, hl)
	defer s.Close()

	done := make(chan longpoll.SubscriptionResponse)
	go func() {
		resp, _ := longpoll.Subscription(s.URL()+"/events", nil,
			longpoll.SubscriptionRequest{Category: "news", TimeoutSeconds: 30}, "", "", nil)
		done <- resp
	}()
	for b.Stats().Parked == 0 {
		time.Sleep(time.Millisecond)
	}
	_, _ = b.Publish(context.Background(), "news", "hello")
	resp := <-done
	fmt.Println(resp.StatusCode, string(resp.Events[0].Data))
	// Output: 200 "hello"
}
