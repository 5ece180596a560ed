package interop

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jcuga/golongpoll"
	glpclient "github.com/jcuga/golongpoll/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/longpoll"
)

// server is our broker on loopback with golongpoll's usual paths, served
// as the seed Server does on Linux: through an httpx.HandbackListener, so
// that waiting polls park on their bare connections and later polls on a
// keep-alive connection are served without net/http. routed counts the
// requests that reached net/http's handler, conns the connections it
// accepted.
type server struct {
	b             *longpoll.Broker
	hs            *httptest.Server
	sub, pub      url.URL
	routed, conns atomic.Int64
}

func newServer(t *testing.T, opts longpoll.Options) *server {
	t.Helper()
	b, err := longpoll.NewBroker(opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/events", b.SubscriptionHandler())
	mux.Handle("/publish", b.PublishHandler())
	s := &server{b: b}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.routed.Add(1)
		mux.ServeHTTP(w, r)
	}))
	hl := httpx.NewHandbackListener(hs.Listener, httpx.HandbackOptions{})
	hs.Listener = hl
	hs.Config.ConnContext = hl.ConnContext
	hs.Config.ConnState = func(_ net.Conn, cs http.ConnState) {
		if cs == http.StateNew {
			s.conns.Add(1)
		}
	}
	hs.Start()
	s.hs = hs
	u, err := url.Parse(hs.URL + "/events")
	require.NoError(t, err)
	s.sub = *u
	u, err = url.Parse(hs.URL + "/publish")
	require.NoError(t, err)
	s.pub = *u
	return s
}

// close answers every waiting poll (so golongpoll's client goroutines,
// which Stop does not cancel, end), then closes the listener.
func (s *server) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.b.Shutdown(ctx))
	s.hs.Close()
}

func TestGolongpollClientSubscribesAndPublishes(t *testing.T) {
	s := newServer(t, longpoll.Options{})
	var failures atomic.Int32
	var stopped atomic.Bool
	c, err := glpclient.NewClient(glpclient.ClientOptions{
		SubscribeUrl: s.sub, PublishUrl: s.pub, Category: "news", PollTimeoutSeconds: 2, ReattemptWaitSeconds: 1,
		OnFailure: func(err error) bool {
			if stopped.Load() {
				return false
			}
			t.Logf("golongpoll client failure: %v", err)
			failures.Add(1)
			return true
		},
	})
	require.NoError(t, err)
	// Start truncates to whole seconds; start in the past and publish after.
	events := c.Start(time.Now().Add(-2 * time.Second))
	// golongpoll's client publishes through our publish handler, with its
	// own body and no Content-Type; our Go API publishes too.
	require.NoError(t, c.Publish("news", map[string]any{"from": "golongpoll", "n": 1}))
	_, err = s.b.Publish(context.Background(), "news", map[string]any{"from": "streamkit", "n": 2})
	require.NoError(t, err)
	// Two events in one answer, then one while waiting, then after timeouts.
	var got []*golongpoll.Event
	deadline := time.After(30 * time.Second)
	for len(got) < 4 {
		select {
		case ev := <-events:
			got = append(got, ev)
			if len(got) == 2 {
				require.NoError(t, c.Publish("news", "third"))
			}
			if len(got) == 3 {
				time.Sleep(2500 * time.Millisecond) // across a poll timeout
				require.NoError(t, c.Publish("news", []int{4}))
			}
		case <-deadline:
			t.Fatalf("got %d events of 4", len(got))
		}
	}
	stopped.Store(true) // not c.Stop(): it races with the client's own loop
	s.close(t)
	for range events { // the client closes its channel once polls fail
	}
	assert.Zero(t, failures.Load(), "golongpoll's client decoded every answer")
	for i, ev := range got {
		assert.Equal(t, "news", ev.Category)
		assert.Equal(t, byte(7), ev.ID.Version(), "ids are UUIDv7-shaped")
		if i > 0 {
			assert.Less(t, got[i-1].ID.String(), ev.ID.String())
		}
	}
	assert.Equal(t, map[string]any{"from": "golongpoll", "n": float64(1)}, got[0].Data)
	assert.Equal(t, map[string]any{"from": "streamkit", "n": float64(2)}, got[1].Data)
	assert.Equal(t, "third", got[2].Data)
	assert.Equal(t, []any{float64(4)}, got[3].Data)
}

// TestTimeoutBoundaryWithGolongpollClients is the race golongpoll's server
// loses (152 of 8000 deliveries in one run): 400 of golongpoll's own
// clients poll with a 1 s timeout while one event is published about every
// second, so events keep arriving as timers fire. Every client must get
// every event, once, in order.
func TestTimeoutBoundaryWithGolongpollClients(t *testing.T) {
	const clients, events = 400, 20
	s := newServer(t, longpoll.Options{})
	tr := &http.Transport{MaxIdleConnsPerHost: clients + 10, MaxIdleConns: clients + 10}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var failures, received atomic.Int32
	var stopped atomic.Bool
	got := make([][]int, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		// Stop is not used: golongpoll's Stop races with its own poll loop
		// (the race detector flags it). The clients stop when the server
		// goes away and OnFailure says so.
		c, err := glpclient.NewClient(glpclient.ClientOptions{
			SubscribeUrl: s.sub, Category: "race", PollTimeoutSeconds: 1, ReattemptWaitSeconds: 1, HttpClient: hc,
			OnFailure: func(error) bool {
				if stopped.Load() {
					return false
				}
				failures.Add(1)
				return true
			},
		})
		require.NoError(t, err)
		ch := c.Start(start)
		wg.Go(func() {
			for ev := range ch {
				var p struct{ Seq int }
				b, _ := json.Marshal(ev.Data)
				if json.Unmarshal(b, &p) == nil {
					got[i] = append(got[i], p.Seq)
					received.Add(1)
				}
			}
		})
	}
	// Start truncates to whole seconds: publish only once every client has
	// moved past that second.
	time.Sleep(1100*time.Millisecond - time.Since(start)%time.Second)
	for k := range events {
		_, err := s.b.Publish(context.Background(), "race", map[string]int{"seq": k})
		require.NoError(t, err)
		time.Sleep(time.Second + time.Duration(k%3)*time.Millisecond)
	}
	// Every client has a few poll cycles to receive the last event.
	wait := time.Now().Add(30 * time.Second)
	for time.Now().Before(wait) && received.Load() < clients*events {
		time.Sleep(50 * time.Millisecond)
	}
	stopped.Store(true)
	s.close(t)
	wg.Wait()
	missing, dups := 0, 0
	for i := range clients {
		seen := map[int]int{}
		for _, k := range got[i] {
			seen[k]++
		}
		for k := range events {
			switch n := seen[k]; {
			case n == 0:
				missing++
			case n > 1:
				dups += n - 1
			}
		}
		for j := 1; j < len(got[i]); j++ {
			assert.Less(t, got[i][j-1], got[i][j], "client %d order", i)
		}
	}
	t.Logf("%d clients x %d events: %d missing, %d duplicates, %d poll failures, %d of the polls through net/http",
		clients, events, missing, dups, failures.Load(), s.routed.Load())
	assert.Zero(t, missing, "no event lost at the timeout boundary")
	assert.Zero(t, dups)
	assert.Zero(t, failures.Load())
}

func newHTTPTestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

// golongpoll's client, unmodified, polls many times over one keep-alive
// connection on the parked path: every poll after the first is read and
// served by the broker (parked, answered by the publish's shared write),
// never by net/http, and every event arrives once, in order.
func TestGolongpollClientOnOneParkedConnection(t *testing.T) {
	s := newServer(t, longpoll.Options{})
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	var stopped atomic.Bool
	c, err := glpclient.NewClient(glpclient.ClientOptions{
		SubscribeUrl: s.sub, Category: "one", PollTimeoutSeconds: 30, ReattemptWaitSeconds: 1,
		HttpClient: &http.Client{Transport: tr},
		OnFailure:  func(error) bool { return !stopped.Load() },
	})
	require.NoError(t, err)
	events := c.Start(time.Now().Add(-2 * time.Second))
	const n = 40
	var got []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			var p struct{ Seq int }
			b, _ := json.Marshal(ev.Data)
			if json.Unmarshal(b, &p) == nil {
				got = append(got, p.Seq)
			}
		}
	}()
	for k := range n {
		require.Eventually(t, func() bool { return s.b.Stats().Parked == 1 }, 10*time.Second, time.Millisecond,
			"poll %d parked", k)
		_, err := s.b.Publish(context.Background(), "one", map[string]int{"seq": k})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return s.b.Stats().Delivered >= n }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return s.b.Stats().Parked == 1 }, 10*time.Second, time.Millisecond)
	// Counted before shutdown: the client re-polls after the shutdown
	// answer, on a new connection that net/http may still accept and route.
	conns, routed := s.conns.Load(), s.routed.Load()
	stopped.Store(true)
	s.close(t)
	<-done
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, got)
	assert.Equal(t, int64(1), conns, "one connection")
	assert.Equal(t, int64(1), routed, "only the first poll went through net/http")
}
