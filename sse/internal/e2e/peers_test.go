// Package e2e runs the sse server against real clients: the npm
// eventsource package under Node, and headless Chromium's EventSource.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/sse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const page = `<!doctype html><title>sse</title><script>
const es = new EventSource('/events');
const rep = (type) => (e) => window.report({kind: 'event', type, data: e.data, lastEventId: e.lastEventId});
es.onmessage = rep('message');
es.addEventListener('tick', rep('tick'));
es.onopen = () => window.report({kind: 'open'});
es.onerror = () => window.report({kind: 'error', readyState: es.readyState});
</script>`

// need fails the test (never skips) when a component is missing.
func need(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run scripts/need node (or make test MOD=sse)")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatal("/usr/bin/chromium is missing: run scripts/need chromium")
	}
	for _, pkg := range []string{"eventsource", "playwright-core"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("sse/internal/e2e/node_modules/%s is missing: run scripts/need npm:internal/e2e from sse/", pkg)
		}
	}
}

type line struct {
	Kind        string `json:"kind"`
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
	Message     string `json:"message"`
}

// server is one incarnation of the event server on a fixed address.
type server struct {
	sse  *sse.Server
	http *http.Server
	done chan struct{}
}

func serve(t *testing.T, addr string, store eventstore.Store, lastIDs chan<- string, hd bool) *server {
	t.Helper()
	s := sse.NewServer(sse.Options{
		HighDensity:   hd,
		Store:         store,
		Retry:         200 * time.Millisecond,
		ShutdownRetry: 200 * time.Millisecond,
		Authorize: func(r *http.Request) ([]string, error) {
			lastIDs <- r.Header.Get("Last-Event-ID")
			return []string{sse.DefaultTopic}, nil
		},
	})
	mux := http.NewServeMux()
	mux.Handle("GET /events", s)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	var ln net.Listener
	var err error
	for range 100 { // the previous incarnation's port may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err)
	srv := &server{sse: s, http: &http.Server{Handler: mux}, done: make(chan struct{})}
	go func() {
		defer close(srv.done)
		_ = srv.http.Serve(ln)
	}()
	return srv
}

func (s *server) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.sse.Shutdown(ctx))
	require.NoError(t, s.http.Shutdown(ctx))
	<-s.done
}

// Both peers run against the net/http path and the high-density
// (hijacked HTTP/1.1) path.
func TestNodeEventSource(t *testing.T) {
	t.Run("net-http", func(t *testing.T) { runPeer(t, "node", "/events", false) })
	t.Run("high-density", func(t *testing.T) { runPeer(t, "node", "/events", true) })
}

func TestChromiumEventSource(t *testing.T) {
	t.Run("net-http", func(t *testing.T) { runPeer(t, "browser", "/", false) })
	t.Run("high-density", func(t *testing.T) { runPeer(t, "browser", "/", true) })
}

// runPeer: named and unnamed events reach the peer; the server restarts
// (a new process would do the same: a new Server over the same store) while
// events are published; the peer reconnects with Last-Event-ID and sees
// every event exactly once, in order.
func runPeer(t *testing.T, mode, path string, hd bool) {
	need(t)
	store := eventstore.NewMemory(eventstore.Options{})
	defer store.Close()
	lastIDs := make(chan string, 100)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	srv := serve(t, addr, store, lastIDs, hd)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "peer.mjs", mode, "http://"+addr+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = &prefixWriter{t: t}
	require.NoError(t, cmd.Start())
	lines := make(chan line, 1000)
	peerDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(peerDone)
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				lines <- l
			}
		}
	}()
	defer func() {
		stdin.Close()
		err := cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Errorf("peer: %v", err)
		}
		wg.Wait()
	}()

	var events []line
	waitEvents := func(n int) {
		t.Helper()
		for len(events) < n {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "peer exited")
				switch l.Kind {
				case "event":
					events = append(events, l)
				case "pageerror":
					t.Fatalf("page error: %s", l.Message)
				}
			case <-ctx.Done():
				t.Fatalf("got %d of %d events", len(events), n)
			}
		}
	}
	waitConn := func(s *server) string {
		t.Helper()
		select {
		case id := <-lastIDs:
			require.Eventually(t, func() bool { return s.sse.Count() == 1 }, 30*time.Second, 5*time.Millisecond)
			return id
		case <-peerDone:
			t.Fatal("peer exited before connecting")
		case <-ctx.Done():
			t.Fatal("peer did not connect")
		}
		return ""
	}
	var ids []eventstore.ID
	pub := func(s *server, i int) {
		typ := ""
		if i%2 == 1 {
			typ = "tick"
		}
		id, err := s.sse.Publish(ctx, sse.DefaultTopic, sse.Event{Type: typ, Data: []byte("event " + strconv.Itoa(i))})
		require.NoError(t, err)
		ids = append(ids, id)
	}

	assert.Equal(t, "", waitConn(srv))
	for i := range 5 {
		pub(srv, i)
	}
	waitEvents(5)

	// Restart: the stream ends with a retry hint; events 5..9 are
	// published while no client is connected; a new server takes over.
	srv.stop(t)
	srv = serve(t, addr, store, lastIDs, hd)
	for i := 5; i < 10; i++ {
		pub(srv, i)
	}
	assert.Equal(t, ids[4].String(), waitConn(srv), "reconnected with Last-Event-ID")
	for i := 10; i < 15; i++ {
		pub(srv, i)
	}
	waitEvents(15)
	srv.stop(t)

	for i, ev := range events {
		want := "message"
		if i%2 == 1 {
			want = "tick"
		}
		assert.Equal(t, fmt.Sprintf("event %d", i), ev.Data, "exactly once, in order")
		assert.Equal(t, want, ev.Type)
		assert.Equal(t, ids[i].String(), ev.LastEventID)
	}
	select {
	case l, ok := <-lines:
		if ok && l.Kind == "event" {
			t.Errorf("extra event %+v", l)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

type prefixWriter struct{ t *testing.T }

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.t.Logf("peer stderr: %s", b)
	return len(b), nil
}
