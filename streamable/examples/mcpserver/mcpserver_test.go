package mcpserver

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/streamable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// need fails the test (never skips) when a component is missing.
func need(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: run scripts/need node (or make test, which reads streamable/examples/mcpserver/.needs)")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		t.Fatalf("npm packages missing in streamable/examples/mcpserver/node: run scripts/need npm:node from streamable/examples/mcpserver (npm ci): %v", err)
	}
	return node
}

type served struct {
	srv     *streamable.Server
	hs      *httptest.Server
	resumes atomic.Int32 // GETs resuming a POST stream
	deletes atomic.Int32
}

func serve(t *testing.T, opts Options) *served {
	t.Helper()
	srv, err := New(opts)
	require.NoError(t, err)
	s := &served{srv: srv}
	s.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.Header.Get("Last-Event-ID"), "p") {
			s.resumes.Add(1)
		}
		if r.Method == http.MethodDelete {
			s.deletes.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		s.hs.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, srv.Close(ctx))
		s.hs.Close()
	})
	return s
}

func runNode(t *testing.T, args ...string) string {
	t.Helper()
	node := need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = "node"
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "node %v\nstdout:\n%s\nstderr:\n%s", args, stdout.String(), stderr.String())
	return stdout.String()
}

// TestNodeSDKClient drives the official TypeScript SDK's unmodified
// StreamableHTTPClientTransport against the example server, in SSE mode
// (progress notifications, a stream dropped after its priming event and
// resumed with Last-Event-ID), in JSON mode, and in SSE mode without a store.
func TestNodeSDKClient(t *testing.T) {
	for _, mode := range []string{"sse", "json", "sse-no-store"} {
		t.Run(mode, func(t *testing.T) {
			var store eventstore.Store
			if mode != "sse-no-store" {
				store = eventstore.NewMemory(eventstore.Options{})
				defer store.Close()
			}
			s := serve(t, Options{JSON: mode == "json", Store: store})
			out := runNode(t, "client.mjs", s.hs.URL, mode)
			assert.Contains(t, out, "ok connect session=true version=2025-11-25\n")
			assert.Contains(t, out, "ok list-tools\n")
			assert.Contains(t, out, "ok ping\n")
			switch mode {
			case "sse":
				assert.Contains(t, out, "ok call progress=3\n")
				assert.Contains(t, out, "ok resume progress=2\n")
				assert.GreaterOrEqual(t, s.resumes.Load(), int32(1), "the SDK resumed the dropped stream with Last-Event-ID")
			case "json":
				assert.Contains(t, out, "ok call progress=0\n", "a JSON answer carries only the result")
				assert.Contains(t, out, "ok resume progress=0\n")
				assert.Zero(t, s.resumes.Load())
			case "sse-no-store":
				// Without a store nothing is resumable: the tool cannot end its
				// stream early, and its progress arrives on the POST stream.
				assert.Contains(t, out, "ok call progress=3\n")
				assert.Contains(t, out, "ok resume progress=2\n")
				assert.Zero(t, s.resumes.Load())
			}
			assert.Contains(t, out, "ok terminate\n")
			assert.Contains(t, out, "ok done\n")
			assert.Equal(t, int32(1), s.deletes.Load())
			assert.Equal(t, 0, s.srv.Sessions(), "the session ended with DELETE")
		})
	}
}

// TestGoClient runs the module's own Go client against the example server.
func TestGoClient(t *testing.T) {
	store := eventstore.NewMemory(eventstore.Options{})
	defer store.Close()
	s := serve(t, Options{Store: store})
	c := streamable.NewClient(s.hs.URL, streamable.ClientOptions{BackoffBase: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.Call(ctx, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]string{"name": "go", "version": "0"}}, nil)
	require.NoError(t, err)
	require.Nil(t, res.Error)
	require.NoError(t, c.Notify(ctx, "notifications/initialized", nil))
	for _, drop := range []bool{false, true} {
		var progress int
		res, err = c.Call(ctx, "tools/call", map[string]any{"name": "count", "arguments": CountArgs{N: 5, Drop: drop},
			"_meta": map[string]any{"progressToken": 7}}, func(m *streamable.Message) {
			if m.Method == "notifications/progress" {
				progress++
			}
		})
		require.NoError(t, err)
		assert.Contains(t, string(res.Result), "counted to 5")
		assert.Equal(t, 5, progress)
	}
	assert.Equal(t, int32(1), s.resumes.Load())
	require.NoError(t, c.Close(ctx))
	assert.Equal(t, 0, s.srv.Sessions())
}
