package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/codec/protocodec"
	"github.com/streamkit-dev/streamkit/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// need fails the test (never skips) when a component is missing.
func need(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: run scripts/need node (or make test, which reads ws/internal/interop/.needs)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "ws", "package.json")); err != nil {
		t.Fatalf("npm packages missing in ws/internal/interop: run scripts/need npm:ws/internal/interop (npm ci): %v", err)
	}
	return node
}

// runNode runs a peer script and returns its stdout.
func runNode(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	node := need(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "node %v\nstdout:\n%s\nstderr:\n%s", args, stdout.String(), stderr.String())
	return stdout.String()
}

type jsonConn = ws.Conn[any, any]

// TestNodeWS: text and binary (protobuf) messages, ping/pong, close codes,
// against the npm ws package.
func TestNodeWS(t *testing.T) {
	var mu sync.Mutex
	tagged := map[string]int{} // tag -> close code our OnClose saw
	opts := &ws.Options{PingPeriod: 100 * time.Millisecond, ReadLimit: 4096}
	jsonSrv := ws.NewServer[any, any](ws.HandlerFunc[any, any](func(r *http.Request) (ws.Session[any, any], error) {
		tag := r.URL.Query().Get("tag")
		return &ws.Hooks[any, any]{
			Message: func(c *jsonConn, msg any) error {
				if m, ok := msg.(map[string]any); ok && m["cmd"] == "close" {
					return ws.CloseWith(int(m["code"].(float64)), m["reason"].(string))
				}
				return c.Send(msg)
			},
			Close: func(_ *jsonConn, err error) {
				if tag != "" {
					mu.Lock()
					tagged[tag] = ws.CloseStatus(err)
					mu.Unlock()
				}
			},
		}, nil
	}), codec.JSONCodec{}, opts)

	type sv = wrapperspb.StringValue
	protoSrv := ws.NewServer[*sv, *sv](ws.HandlerFunc[*sv, *sv](func(*http.Request) (ws.Session[*sv, *sv], error) {
		return &ws.Hooks[*sv, *sv]{Message: func(c *ws.Conn[*sv, *sv], m *sv) error {
			return c.Send(wrapperspb.String("echo:" + m.GetValue()))
		}}, nil
	}), protocodec.NewBinaryProtoCodec[sv, sv](), nil)

	mux := http.NewServeMux()
	mux.Handle("/json", jsonSrv)
	mux.Handle("/proto", protoSrv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer shutdown(t, jsonSrv.Shutdown, protoSrv.Shutdown)

	out := runNode(t, 60*time.Second, "node_peer.mjs", "ws"+strings.TrimPrefix(hs.URL, "http"))
	for _, step := range []string{"text-echo", "server-ping", "client-ping", "server-close-code", "client-close-1000",
		"proto-binary", "binary-to-json-1003", "invalid-utf8-1007", "oversize-1009"} {
		assert.Contains(t, out, "ok "+step+"\n")
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return tagged["node-1000"] == 1000 },
		5*time.Second, 10*time.Millisecond, "our OnClose saw the Node client's 1000")
}

func shutdown(t *testing.T, fns ...func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, f := range fns {
		assert.NoError(t, f(ctx))
	}
}

const page = `<!doctype html><meta charset="utf-8"><title>ws interop</title>
<script>
window.runScenario = () => new Promise((resolve, reject) => {
  const out = {};
  const sock = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws');
  sock.onopen = () => sock.send(JSON.stringify({cmd: 'echo', value: 42, text: 'ünïcode'}));
  sock.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.cmd === 'echo') { out.echo = m.value; out.text = m.text; sock.send(JSON.stringify({cmd: 'ready'})); }
    else if (m.type === 'broadcast') { out.broadcast = m.text; sock.send(JSON.stringify({cmd: 'got-broadcast'})); }
  };
  sock.onclose = (e) => { out.closeCode = e.code; out.closeReason = e.reason; resolve(out); };
  setTimeout(() => reject(new Error('timeout: ' + JSON.stringify(out))), 20000);
});
window.runForeign = () => new Promise((resolve) => {
  let opened = false;
  const sock = new WebSocket(TARGET);
  sock.onopen = () => { opened = true; sock.close(); };
  sock.onclose = (e) => resolve({opened, code: e.code});
});
</script>`

// TestChromium: a page's WebSocket exchanges JSON, receives a hub
// broadcast, and sees 1001 when the server shuts down; a page from another
// origin is refused.
func TestChromium(t *testing.T) {
	need(t)
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Fatalf("chromium is not installed: run scripts/need chromium")
	}
	hub := ws.NewHub[any, any](codec.JSONCodec{})
	gotBroadcast := make(chan struct{}, 1)
	srv := ws.NewServer[any, any](ws.HandlerFunc[any, any](func(*http.Request) (ws.Session[any, any], error) {
		return &ws.Hooks[any, any]{
			Start: func(c *jsonConn) error { hub.Join(c, "page"); return nil },
			Message: func(c *jsonConn, msg any) error {
				m, _ := msg.(map[string]any)
				switch m["cmd"] {
				case "echo":
					return c.Send(msg)
				case "ready":
					_, err := hub.BroadcastRoom("page", map[string]any{"type": "broadcast", "text": "hello, room"})
					return err
				case "got-broadcast":
					gotBroadcast <- struct{}{}
					return nil
				}
				return errors.New("unknown command")
			},
		}, nil
	}), codec.JSONCodec{}, nil)

	var refusedMu sync.Mutex
	var refused []int
	mux := http.NewServeMux()
	mux.Handle("/ws", statusRecorder(srv, func(code int) {
		refusedMu.Lock()
		refused = append(refused, code)
		refusedMu.Unlock()
	}))
	mux.HandleFunc("/page", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, strings.Replace(page, "TARGET", `""`, 1))
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, strings.Replace(page, "TARGET", `"ws`+strings.TrimPrefix(hs.URL, "http")+`/ws"`, 1))
	}))
	defer foreign.Close()

	// The Go side shuts down once the page has the broadcast.
	shutdownErr := make(chan error, 1)
	go func() {
		select {
		case <-gotBroadcast:
		case <-time.After(60 * time.Second):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdownErr <- srv.Shutdown(ctx)
	}()

	out := runNode(t, 90*time.Second, "browser_peer.mjs", hs.URL+"/page", foreign.URL+"/page")
	var res struct {
		Echo        float64
		Text        string
		Broadcast   string
		CloseCode   int
		CloseReason string
		Foreign     struct {
			Opened bool
			Code   int
		}
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &res), out)
	assert.Equal(t, 42.0, res.Echo)
	assert.Equal(t, "ünïcode", res.Text)
	assert.Equal(t, "hello, room", res.Broadcast)
	assert.Equal(t, 1001, res.CloseCode)
	assert.Equal(t, "server shutting down", res.CloseReason)
	require.NoError(t, <-shutdownErr)
	// Cross-origin page: refused before the upgrade (the browser reports 1006).
	assert.False(t, res.Foreign.Opened)
	assert.Equal(t, 1006, res.Foreign.Code)
	refusedMu.Lock()
	defer refusedMu.Unlock()
	assert.Contains(t, refused, http.StatusForbidden)
}

// statusRecorder reports the status of responses that were written (refused
// upgrades); a hijacked connection writes none.
func statusRecorder(h http.Handler, report func(int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &statusRW{ResponseWriter: w}
		h.ServeHTTP(rw, r)
		if rw.status != 0 {
			report(rw.status)
		}
	})
}

type statusRW struct {
	http.ResponseWriter
	status int
}

func (w *statusRW) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRW) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack is what gorilla's Upgrade looks for (it does not unwrap).
func (w *statusRW) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}
