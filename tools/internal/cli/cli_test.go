package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/tools/internal/demo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDemo runs the demo server in-process on a free port.
func startDemo(t *testing.T, cfg demo.Config) string {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Tick == 0 {
		cfg.Tick = 50 * time.Millisecond
	}
	url, stop, err := demo.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, stop()) })
	return url
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb syncBuffer
	code := Main(ctx, args, strings.NewReader(stdin), &out, &errb)
	require.NoError(t, ctx.Err(), "the command did not finish in time; stderr:\n%s", errb.String())
	return result{code, out.String(), errb.String()}
}

type tick struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data string `json:"data"`
}

func ticks(t *testing.T, out string) ([]tick, []int64) {
	t.Helper()
	var ts []tick
	var ns []int64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var tk tick
		require.NoError(t, json.Unmarshal([]byte(line), &tk), line)
		var d demo.Tick
		require.NoError(t, json.Unmarshal([]byte(tk.Data), &d), tk.Data)
		ts = append(ts, tk)
		ns = append(ns, d.N)
	}
	return ts, ns
}

func assertConsecutive(t *testing.T, ns []int64) {
	t.Helper()
	for i := 1; i < len(ns); i++ {
		require.Equal(t, ns[i-1]+1, ns[i], "ticks %v", ns)
	}
}

func TestSSEPrintsAndResumesWithLastEventID(t *testing.T) {
	url := startDemo(t, demo.Config{})
	r := run(t, "", "sse", url+"/sse/ticker", "--json", "--count", "3")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "200 OK")
	ts, ns := ticks(t, r.stdout)
	require.Len(t, ts, 3)
	assert.Equal(t, "tick", ts[0].Type)
	assertConsecutive(t, ns)

	// Resuming after the first event replays the two that followed it.
	r = run(t, "", "sse", "--last-event-id", ts[0].ID, "--json", "--count", "2", url+"/sse/ticker")
	require.Equal(t, ExitOK, r.code, r.stderr)
	_, again := ticks(t, r.stdout)
	assert.Equal(t, ns[1:], again)

	// Without --json, the data alone.
	r = run(t, "", "sse", url+"/sse/ticker", "--count", "1")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, `{"n":`), r.stdout)
}

// The client reconnects across a server restart and, with the file store,
// the ticker goes on without a gap.
func TestSSEResumesAcrossRestart(t *testing.T) {
	store := "file:" + t.TempDir()
	url, stop, err := demo.Start(demo.Config{Addr: "127.0.0.1:0", Store: store, Tick: 50 * time.Millisecond})
	require.NoError(t, err)
	addr := strings.TrimPrefix(url, "http://")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"sse", url + "/sse/ticker", "--json", "--count", "30"}, strings.NewReader(""), &out, &errb)
	}()
	require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") >= 5 }, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, stop())
	before := strings.Count(out.String(), "\n")
	_, stop2, err := demo.Start(demo.Config{Addr: addr, Store: store, Tick: 50 * time.Millisecond})
	require.NoError(t, err)
	defer func() { assert.NoError(t, stop2()) }()

	select {
	case code := <-done:
		require.Equal(t, ExitOK, code, errb.String())
	case <-ctx.Done():
		t.Fatalf("no 30 events; stderr:\n%s", errb.String())
	}
	_, ns := ticks(t, out.String())
	require.Len(t, ns, 30)
	require.Less(t, before, 30, "every event came before the restart")
	assertConsecutive(t, ns)
	assert.GreaterOrEqual(t, strings.Count(errb.String(), "200 OK"), 2, "it reconnected: %s", errb.String())
}

func TestWSSendsStdinAndPrintsMessages(t *testing.T) {
	url := "ws" + strings.TrimPrefix(startDemo(t, demo.Config{}), "http")
	r := run(t, "hello from the cli\n", "ws", url+"/ws/chat?room=cli&name=tester", "--count", "2")
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, r.stdout)
	var welcome, msg demo.ChatOut
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &welcome))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &msg))
	assert.Equal(t, "welcome", welcome.Kind)
	assert.Equal(t, "cli", welcome.Room)
	assert.Equal(t, "message", msg.Kind)
	assert.Equal(t, "hello from the cli", msg.Text)
	assert.Equal(t, "tester", msg.From)
	assert.NotEmpty(t, msg.ID)
	assert.Contains(t, r.stderr, `closed by us: 1000`)
}

func TestWSStdinEndClosesNormally(t *testing.T) {
	url := "ws" + strings.TrimPrefix(startDemo(t, demo.Config{}), "http")
	r := run(t, "", "ws", url+"/ws/chat")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "1000")
}

func TestWSCloseCodeAndHeaders(t *testing.T) {
	url := "ws" + strings.TrimPrefix(startDemo(t, demo.Config{}), "http")
	// A message over the chat's 1000 bytes: the server closes with 1009.
	r := run(t, strings.Repeat("x", 1500)+"\n", "ws", url+"/ws/chat", "--count", "5")
	assert.Equal(t, ExitPeerError, r.code, r.stderr)
	assert.Contains(t, r.stderr, "closed by the peer: 1009")

	// A foreign Origin header is refused before the upgrade.
	r = run(t, "", "ws", "-H", "Origin: https://evil.example", url+"/ws/chat")
	assert.Equal(t, ExitFailure, r.code)
	assert.Contains(t, r.stderr, "HTTP 403")

	// A subprotocol the server does not speak is not negotiated.
	r = run(t, "", "ws", "--subprotocol", "chat.v9", url+"/ws/chat")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, `subprotocol ""`)
}

func TestPublishAndPoll(t *testing.T) {
	url := startDemo(t, demo.Config{})
	r := run(t, "", "publish", url+"/poll/publish", "--category", "cli-test", `{"text":"one"}`)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, "", "publish", "--category", "cli-test", url+"/poll/publish", "plain words")
	require.Equal(t, ExitOK, r.code, r.stderr)

	r = run(t, "", "poll", url+"/poll/subscribe", "--category", "cli-test", "--since", "1", "--count", "2")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, "{\"text\":\"one\"}\n\"plain words\"\n", r.stdout)

	r = run(t, "", "poll", url+"/poll/subscribe", "--category", "cli-test", "--since", "1", "--count", "1", "--json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var ev struct {
		Category string
		ID       string
		Data     json.RawMessage
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ev))
	assert.Equal(t, "cli-test", ev.Category)
	assert.NotEmpty(t, ev.ID)

	// The demo keeps other transports' streams out of reach.
	r = run(t, "", "publish", url+"/poll/publish", "--category", "sse:ticker", "1")
	assert.Equal(t, ExitFailure, r.code)
	r = run(t, "", "poll", url+"/poll/subscribe", "--category", "sse:ticker", "--count", "1")
	assert.Equal(t, ExitPeerError, r.code, r.stderr)
}

func TestPollFollowsLiveEvents(t *testing.T) {
	url := startDemo(t, demo.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"poll", url + "/poll/subscribe", "--category", "live", "--timeout", "2s", "--count", "1"}, strings.NewReader(""), &out, &errb)
	}()
	require.Eventually(t, func() bool {
		r := run(t, "", "publish", url+"/poll/publish", "--category", "live", `"now"`)
		require.Equal(t, ExitOK, r.code, r.stderr)
		select {
		case code := <-done:
			require.Equal(t, ExitOK, code, errb.String())
			return true
		case <-time.After(200 * time.Millisecond):
			return false
		}
	}, 20*time.Second, time.Millisecond)
	assert.Equal(t, "\"now\"\n", out.String())
}

func TestMCPListAndCall(t *testing.T) {
	url := startDemo(t, demo.Config{}) + "/mcp"
	r := run(t, "", "mcp", url, "list")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "job\tRuns a job")
	assert.Contains(t, r.stdout, "echo\t")

	r = run(t, "", "mcp", url, "call", "job", `{"steps":4,"delay_ms":5}`)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "job done: 4 steps"), r.stdout)
	for _, p := range []string{"progress 1/4 (25%)", "progress 4/4 (100%)"} {
		assert.Contains(t, r.stderr, p)
	}

	r = run(t, "", "mcp", url, "call", "echo", `{"text":"hi there"}`, "--json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"content":[{"type":"text","text":"hi there"}],"isError":false}`, r.stdout)

	r = run(t, "", "mcp", url, "call", "job", `{"steps":1000}`)
	assert.Equal(t, ExitPeerError, r.code)
	r = run(t, "", "mcp", url, "call", "nope")
	assert.Equal(t, ExitPeerError, r.code)
	r = run(t, "", "mcp", url, "call", "job", `[1]`)
	assert.Equal(t, ExitUsage, r.code)
}

func TestStreamEchoes(t *testing.T) {
	url := startDemo(t, demo.Config{})
	payload := strings.Repeat("streamkit over SPDY\n", 2000)
	r := run(t, payload, "stream", url+"/stream")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, payload, r.stdout)
	assert.Contains(t, r.stderr, `protocol "streamkit.v1"`)

	r = run(t, "x", "stream", "--protocol", "v9.unknown", url+"/stream")
	assert.Equal(t, ExitFailure, r.code)
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, ExitUsage},
		{[]string{"-h"}, ExitOK},
		{[]string{"bogus"}, ExitUsage},
		{[]string{"sse"}, ExitUsage},
		{[]string{"sse", "-h"}, ExitOK},
		{[]string{"sse", "--nope", "http://x"}, ExitUsage},
		{[]string{"ws", "a", "b"}, ExitUsage},
		{[]string{"ws", "-H", "no colon", "ws://x"}, ExitUsage},
		{[]string{"poll", "http://x"}, ExitUsage},
		{[]string{"poll", "http://x", "--category", "c", "--since", "yesterday"}, ExitUsage},
		{[]string{"publish", "http://x", "data"}, ExitUsage},
		{[]string{"mcp", "http://x"}, ExitUsage},
		{[]string{"mcp", "http://x", "dance"}, ExitUsage},
		{[]string{"stream"}, ExitUsage},
	} {
		r := run(t, "", tc.args...)
		assert.Equal(t, tc.code, r.code, "%v: %s", tc.args, r.stderr)
	}
	r := run(t, "", "-h")
	assert.Contains(t, r.stdout, "Exit status:")
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var out, errb syncBuffer
	code := Main(ctx, []string{"sse", "http://127.0.0.1:1/never"}, strings.NewReader(""), &out, &errb)
	assert.Equal(t, ExitInterrupted, code, errb.String())
	assert.Contains(t, errb.String(), "reconnecting")
}

func TestConnectFailure(t *testing.T) {
	r := run(t, "", "mcp", "http://127.0.0.1:1/mcp", "list")
	assert.Equal(t, ExitFailure, r.code)
	r = run(t, "", "ws", "ws://127.0.0.1:1/")
	assert.Equal(t, ExitFailure, r.code)
}
