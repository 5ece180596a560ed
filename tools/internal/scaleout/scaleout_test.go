package scaleout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
	"github.com/streamkit-dev/streamkit/longpoll"
	"github.com/streamkit-dev/streamkit/sse"
	"github.com/streamkit-dev/streamkit/tools/internal/demo"
	"github.com/streamkit-dev/streamkit/ws"
)

func TestMain(m *testing.M) {
	RunIfChild()
	goleak.VerifyTestMain(m)
}

// received is what one client got: numbers in arrival order.
type received struct {
	name string
	mu   sync.Mutex
	nums []int
}

func (r *received) add(n int) {
	r.mu.Lock()
	r.nums = append(r.nums, n)
	r.mu.Unlock()
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.nums)
}

// check says whether nums is exactly 1..n.
func (r *received) check(n int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.nums) != n {
		return fmt.Errorf("%s: got %d numbers, want %d: %v", r.name, len(r.nums), n, r.nums)
	}
	for i, v := range r.nums {
		if v != i+1 {
			return fmt.Errorf("%s: position %d holds %d (gap, duplicate or reorder): %v", r.name, i, v, r.nums)
		}
	}
	return nil
}

type payload struct {
	N int `json:"n"`
}

func sseClient(ctx context.Context, wg *sync.WaitGroup, base string, r *received) {
	defer wg.Done()
	c := &sse.Client{URL: base + "/sse/ticker", InitialDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, HealthyAfter: time.Millisecond}
	for ev, err := range c.Events(ctx) {
		if err != nil {
			return
		}
		var p payload
		if ev.Type == "tick" && json.Unmarshal([]byte(ev.Data), &p) == nil && p.N > 0 {
			r.add(p.N)
		}
	}
}

func pollClient(ctx context.Context, wg *sync.WaitGroup, base string, since time.Time, r *received) {
	defer wg.Done()
	c := &longpoll.Client{SubscribeURL: base + "/poll/subscribe", PollTimeout: 5 * time.Second,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Since: since}
	for ev, err := range c.Events(ctx, "scale") {
		if err != nil {
			continue // retried by the client
		}
		var n int
		if json.Unmarshal(ev.Data, &n) == nil {
			r.add(n)
		}
	}
}

var chatClientCodec = codec.Funcs[demo.ChatOut, demo.ChatIn]{
	DecodeFunc: func(b []byte, _ codec.MessageType) (demo.ChatOut, error) {
		var v demo.ChatOut
		err := json.Unmarshal(b, &v)
		return v, err
	},
	EncodeFunc: func(v demo.ChatIn) ([]byte, codec.MessageType, error) {
		b, err := json.Marshal(v)
		return b, codec.Text, err
	},
}

// chatMember stays in the chat room "scale" through the proxy: when its
// connection ends it reconnects with ?after= its last message ID. Each
// message's text is a number; echo, if set, receives them too.
type chatMember struct {
	base string
	r    *received
	mu   sync.Mutex
	conn *ws.Conn[demo.ChatOut, demo.ChatIn]
	last string
	echo chan int
	up   chan struct{} // a connection is up (buffered 1)
}

func (m *chatMember) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for ctx.Err() == nil {
		m.mu.Lock()
		u := "ws" + strings.TrimPrefix(m.base, "http") + "/ws/chat?room=scale&name=" + m.r.name
		if m.last != "" {
			u += "&after=" + m.last
		}
		m.mu.Unlock()
		done := make(chan struct{})
		conn, err := ws.Dial(ctx, u, chatClientCodec, &ws.Hooks[demo.ChatOut, demo.ChatIn]{
			Message: func(_ *ws.Conn[demo.ChatOut, demo.ChatIn], out demo.ChatOut) error {
				if out.Kind == "welcome" {
					// The server follows the room once it welcomes.
					select {
					case m.up <- struct{}{}:
					default:
					}
				}
				if out.Kind != "message" {
					return nil
				}
				n, err := strconv.Atoi(out.Text)
				if err != nil {
					return nil
				}
				m.mu.Lock()
				m.last = out.ID
				m.mu.Unlock()
				m.r.add(n)
				if m.echo != nil {
					select {
					case m.echo <- n:
					default:
					}
				}
				return nil
			},
			Close: func(*ws.Conn[demo.ChatOut, demo.ChatIn], error) { close(done) },
		}, nil)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		m.mu.Lock()
		m.conn = conn
		m.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			_ = conn.Close(ws.CloseNormal, "")
			<-done
		}
		m.mu.Lock()
		m.conn = nil
		m.mu.Unlock()
	}
}

// send sends n as a message until it is in the room's log: its echo (the
// member receives it back through the store) or, when the connection
// dropped or the echo is slow, a look at the log decides whether to send
// it again, so that a message is never doubled.
func (m *chatMember) send(n int, logged func(int) (bool, error)) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		conn := m.conn
		m.mu.Unlock()
		if conn != nil && conn.Send(demo.ChatIn{Text: strconv.Itoa(n)}) == nil {
			select {
			case got := <-m.echo:
				if got == n {
					return nil
				}
			case <-time.After(2 * time.Second):
			}
		} else {
			time.Sleep(50 * time.Millisecond)
		}
		if waitLogged(n, logged, deadline) {
			return nil
		}
	}
	return fmt.Errorf("chat message %d not acknowledged within 60s", n)
}

// failures counts publishes whose first try failed; foundLogged those of
// them that the log showed appended after all (not sent again).
var failures, foundLogged atomic.Int64

// waitLogged asks logged until it answers (Redis may be down) and returns
// its answer; false at the deadline.
func waitLogged(n int, logged func(int) (bool, error), deadline time.Time) bool {
	for time.Now().Before(deadline) {
		ok, err := logged(n)
		if err == nil {
			failures.Add(1)
			if ok {
				foundLogged.Add(1)
			}
			return ok
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// publish POSTs body to url until it is acknowledged (200) or, after a
// failure whose outcome is unknown (the process died mid-request, Redis
// died mid-append), until the log shows it was appended after all: a
// retry never doubles an event.
func publish(url, body string, n int, logged func(int) (bool, error)) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if waitLogged(n, logged, deadline) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("publish %s %s not acknowledged within 60s", url, body)
}

// logChecker answers whether number n is in a stream of the shared log,
// reading Redis directly (what the publisher would keep as its outbox).
type logChecker struct {
	st *redisstore.Store
}

func (c *logChecker) has(stream string, match func([]byte) (int, bool)) func(int) (bool, error) {
	return func(n int) (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		evs, err := c.st.ReadAfter(ctx, stream, eventstore.ID{}, 100_000)
		if err != nil {
			return false, err
		}
		for _, ev := range evs {
			if v, ok := match(ev.Data); ok && v == n {
				return true, nil
			}
		}
		return false, nil
	}
}

func stats(t *testing.T, url string) demo.Stats {
	t.Helper()
	resp, err := http.Get(url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s demo.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScaleOut runs redis-server (AOF, fsync always), three demo processes
// over it and a round-robin proxy in front; SSE, WebSocket and long-poll
// clients connect through the proxy, and a publisher sends numbered events
// through it. It kills one demo process with SIGKILL mid-stream and then
// restarts redis-server; every client must receive every number exactly
// once, in order.
func TestScaleOut(t *testing.T) {
	rs := redistest.New(t, redistest.Config{AOF: true})
	failures.Store(0)
	foundLogged.Store(0)
	store := "redis://" + rs.Addr()
	var demos []*Demo
	for range 3 {
		d, err := StartDemo("-store", store, "-tick", "0")
		if err != nil {
			t.Fatal(err)
		}
		demos = append(demos, d)
	}
	defer func() {
		for _, d := range demos {
			d.Stop()
		}
	}()
	proxy, err := NewProxy(demos[0].URL, demos[1].URL, demos[2].URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	front := httptest.NewServer(proxy)
	defer front.Close()
	defer front.CloseClientConnections()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	since := time.Now()
	var all []*received
	for i := range 3 {
		r := &received{name: "sse" + strconv.Itoa(i)}
		all = append(all, r)
		wg.Add(1)
		go sseClient(ctx, &wg, front.URL, r)
	}
	for i := range 3 {
		r := &received{name: "poll" + strconv.Itoa(i)}
		all = append(all, r)
		wg.Add(1)
		go pollClient(ctx, &wg, front.URL, since, r)
	}
	var members []*chatMember
	for i := range 4 {
		r := &received{name: "chat" + strconv.Itoa(i)}
		all = append(all, r)
		m := &chatMember{base: front.URL, r: r, up: make(chan struct{}, 1)}
		if i == 0 {
			m.echo = make(chan int, 256) // the chat publisher
		}
		members = append(members, m)
		wg.Add(1)
		go m.run(ctx, &wg)
	}
	// Let every client connect and every process follow its streams: send
	// number 1 until every client has it.
	for _, m := range members {
		select {
		case <-m.up:
		case <-time.After(30 * time.Second):
			t.Fatal("chat member did not connect")
		}
	}
	// Long polls and SSE streams are up once they are waiting; give the
	// processes a moment to follow, then check delivery of 1 everywhere.
	waitAll := func(n int) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for {
			done := true
			for _, r := range all {
				if r.count() < n {
					done = false
				}
			}
			if done {
				return
			}
			if time.Now().After(deadline) {
				for _, r := range all {
					t.Log(r.check(n))
				}
				t.Fatalf("not every client received %d numbers within 45s", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitConnected := func() {
		// Every SSE stream and long poll is held by some process.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			sseN, pollN := 0, 0
			for _, d := range demos {
				resp, err := http.Get(d.URL + "/stats")
				if err != nil {
					continue
				}
				var s demo.Stats
				_ = json.NewDecoder(resp.Body).Decode(&s)
				_ = resp.Body.Close()
				sseN += s.Connections["sse"]
				pollN += s.Connections["longpoll"]
			}
			if sseN >= 3 && pollN >= 3 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("clients did not reconnect within 30s")
	}
	waitConnected()
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer rc.Close()
	rst, err := redisstore.New(rc, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	lc := &logChecker{st: rst}
	tickLogged := lc.has("sse:ticker", func(b []byte) (int, bool) {
		var p payload
		return p.N, json.Unmarshal(b, &p) == nil
	})
	pollLogged := lc.has("scale", func(b []byte) (int, bool) {
		n, err := strconv.Atoi(string(b))
		return n, err == nil
	})
	chatLogged := lc.has("ws:chat:scale", func(b []byte) (int, bool) {
		var m demo.ChatOut
		if json.Unmarshal(b, &m) != nil {
			return 0, false
		}
		n, err := strconv.Atoi(m.Text)
		return n, err == nil
	})

	// The publisher sends 1..total without pause while the test kills a
	// process and restarts Redis under it.
	const total = 90
	var published atomic.Int64
	pubErr := make(chan error, 1)
	go func() {
		for n := 1; n <= total; n++ {
			if err := publish(front.URL+"/sse/ticker", `{"n":`+strconv.Itoa(n)+`}`, n, tickLogged); err != nil {
				pubErr <- err
				return
			}
			if err := publish(front.URL+"/poll/publish", `{"category":"scale","data":`+strconv.Itoa(n)+`}`, n, pollLogged); err != nil {
				pubErr <- err
				return
			}
			if err := members[0].send(n, chatLogged); err != nil {
				pubErr <- err
				return
			}
			published.Store(int64(n))
			time.Sleep(5 * time.Millisecond)
		}
		pubErr <- nil
	}()
	waitPublished := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for published.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("publisher stuck before %d", n)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// Mid-stream: kill -9 the process holding the most streaming clients;
	// they reconnect through the proxy to the others and resume.
	waitPublished(20)
	for i := range demos {
		if proxy.Hits[i].Load() == 0 {
			t.Fatalf("backend %d took no request", i)
		}
	}
	victim, most := 0, -1
	for i, d := range demos {
		s := stats(t, d.URL)
		n := s.Connections["sse"] + s.Connections["ws"]
		t.Logf("process %d: %d SSE, %d WebSocket, %d long polls", i, s.Connections["sse"], s.Connections["ws"], s.Connections["longpoll"])
		if n > most {
			victim, most = i, n
		}
	}
	if most == 0 {
		t.Fatal("no streaming client on any process")
	}
	t.Logf("kill -9 process %d after %d published", victim, published.Load())
	demos[victim].Kill()

	// Mid-stream: Redis dies (SIGKILL; AOF with fsync always). A publish
	// fails fast; redis-server restarts from its AOF and delivery resumes
	// with nothing acknowledged lost.
	waitPublished(50)
	t.Logf("kill redis-server after %d published", published.Load())
	if err := rs.Kill(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	resp, err := http.Post(front.URL+"/sse/ticker", "application/json", bytes.NewReader([]byte(`{"n":-1}`)))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("publish with Redis down: status %d, want 503", resp.StatusCode)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("publish with Redis down took %v, want a fast failure", d)
	}
	time.Sleep(300 * time.Millisecond) // followers notice and back off
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := <-pubErr; err != nil {
		t.Fatal(err)
	}
	waitAll(total)
	t.Logf("publishes that failed or went unanswered: %d; of those already in the log: %d", failures.Load(), foundLogged.Load())
	// Nothing more arrives late (a duplicate would).
	time.Sleep(300 * time.Millisecond)
	for _, r := range all {
		if err := r.check(total); err != nil {
			t.Error(err)
		}
	}
	cancel()
	front.CloseClientConnections()
}
