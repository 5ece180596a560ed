// Package e2e drives the demo page in headless Chromium: SSE numbers
// arrive, a server restart leaves no gap in the ticker, two pages chat over
// WebSocket, a notification arrives by long polling, and a job's progress
// over MCP Streamable HTTP reaches 100%.
//
// The demo server runs as a child process (this test binary re-executed as
// the streamkit-demo command, through demo.Main), the browser through
// playwright-core under Node with Debian's /usr/bin/chromium. Screenshots
// of every step go to a temporary directory whose path the test logs
// (STREAMKIT_E2E_SHOTS chooses it); STREAMKIT_UPDATE_SCREENSHOT=1 also
// writes the full page to docs/demo.png at the repository root.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/tools/internal/demo"
)

// childEnv, when set, makes the test binary run the demo command with the
// JSON-encoded arguments it holds instead of the tests.
const childEnv = "STREAMKIT_E2E_DEMO_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(demo.Main(a, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// server is a demo server child process.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	out  *strings.Builder
}

func startServer(t *testing.T, ctx context.Context, args ...string) *server {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(a))
	var errb strings.Builder
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, done: make(chan error, 1), out: &errb}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case first <- sc.Text():
			default:
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case line := <-first:
		// "streamkit demo on http://127.0.0.1:PORT/ (store ...)"
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 4, line)
		s.url = strings.TrimSuffix(f[3], "/")
		require.True(t, strings.HasPrefix(s.url, "http://127.0.0.1:"), line)
	case err := <-s.done:
		t.Fatalf("demo server exited at start: %v\n%s", err, errb.String())
	case <-ctx.Done():
		t.Fatal("demo server did not start")
	}
	return s
}

// stop sends Ctrl-C and expects a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(os.Interrupt))
	select {
	case err := <-s.done:
		require.NoError(t, err, "the demo server's exit after Ctrl-C; stderr:\n%s", s.out.String())
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Fatal("the demo server did not stop within 20s of Ctrl-C")
	}
}

func checkComponents(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatal("/usr/bin/chromium is missing: run scripts/need chromium (make test reads tools/.needs)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: run scripts/need node")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is missing in tools/e2e: run scripts/need npm:e2e from tools (npm ci): %v", err)
	}
	return node
}

type pageState struct {
	Ticks  []int64 `json:"ticks"`
	Gaps   int     `json:"gaps"`
	Dups   int     `json:"dups"`
	Resets int     `json:"resets"`
	Chat   []struct {
		Kind, From, Text, ID string
	} `json:"chat"`
	Notes []struct {
		Text, From string
	} `json:"notes"`
	Job struct {
		Progress int    `json:"progress"`
		Seen     []int  `json:"seen"`
		Done     bool   `json:"done"`
		Result   string `json:"result"`
	} `json:"job"`
}

func TestDemoInChromium(t *testing.T) {
	node := checkComponents(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()

	shots := os.Getenv("STREAMKIT_E2E_SHOTS")
	if shots == "" {
		var err error
		shots, err = os.MkdirTemp("", "streamkit-e2e-shots-")
		require.NoError(t, err)
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	t.Logf("screenshots: %s", shots)
	nodeArgs := []string{"demo_e2e.mjs", "", shots}
	if os.Getenv("STREAMKIT_UPDATE_SCREENSHOT") == "1" {
		docs, err := filepath.Abs(filepath.Join("..", "..", "docs"))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(docs, 0o755))
		nodeArgs = append(nodeArgs, filepath.Join(docs, "demo.png"))
		t.Logf("full-page screenshot: %s", filepath.Join(docs, "demo.png"))
	}

	store := "file:" + filepath.Join(t.TempDir(), "store")
	srv := startServer(t, ctx, "-addr", "127.0.0.1:0", "-store", store, "-tick", "250ms")
	defer func() {
		if srv != nil {
			srv.stop(t)
		}
	}()
	addr := strings.TrimPrefix(srv.url, "http://")
	nodeArgs[1] = srv.url + "/"

	cmd := exec.CommandContext(ctx, node, nodeArgs...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = stdin.Close() }()

	var (
		steps    []string
		final    struct{ A, B pageState }
		lastOld  int64 = -1
		sc             = bufio.NewScanner(stdout)
		restarts       = 0
	)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var msg struct {
			Step string          `json:"step"`
			Need string          `json:"need"`
			A    json.RawMessage `json:"a"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &msg), sc.Text())
		switch {
		case msg.Need == "restart":
			srv.stop(t)
			srv = startServer(t, ctx, "-addr", addr, "-store", store, "-tick", "250ms")
			lastOld = tickerStart(t, srv.url)
			restarts++
			_, err := io.WriteString(stdin, "restarted\n")
			require.NoError(t, err)
		case msg.Step == "done":
			require.NoError(t, json.Unmarshal(sc.Bytes(), &final))
			steps = append(steps, msg.Step)
		case msg.Step != "":
			steps = append(steps, msg.Step)
		}
	}
	require.NoError(t, cmd.Wait(), "the browser script failed; stderr:\n%s", stderr.String())
	if stderr.Len() > 0 {
		t.Logf("browser script stderr:\n%s", stderr.String())
	}
	require.Equal(t, []string{"sse", "restart", "chat", "notification", "done"}, steps)
	require.Equal(t, 1, restarts)

	// The ticker: every number once, in order, across the restart.
	a := final.A
	require.NotEmpty(t, a.Ticks)
	for i := 1; i < len(a.Ticks); i++ {
		require.Equal(t, a.Ticks[i-1]+1, a.Ticks[i], "ticks seen by the page: %v", a.Ticks)
	}
	assert.Zero(t, a.Gaps)
	assert.Zero(t, a.Dups)
	assert.Zero(t, a.Resets)
	require.Positive(t, lastOld)
	assert.Contains(t, a.Ticks, lastOld, "the page saw the old server's last tick")
	assert.Contains(t, a.Ticks, lastOld+1, "and the new server's first")

	// The chat went both ways.
	hasMsg := func(p pageState, from, text string) bool {
		for _, m := range p.Chat {
			if m.Kind == "message" && m.From == from && m.Text == text && m.ID != "" {
				return true
			}
		}
		return false
	}
	assert.True(t, hasMsg(final.B, "alice", "hello from alice"))
	assert.True(t, hasMsg(final.A, "bob", "hi alice, bob here"))

	// The notification and the job's own.
	var texts []string
	for _, n := range a.Notes {
		texts = append(texts, n.From+": "+n.Text)
	}
	assert.Contains(t, texts, "bob: deploy finished")
	assert.True(t, a.Job.Done)
	assert.Equal(t, 100, a.Job.Progress)
	require.NotEmpty(t, a.Job.Seen)
	assert.Equal(t, 100, a.Job.Seen[len(a.Job.Seen)-1])
	assert.Greater(t, len(a.Job.Seen), 5, "progress arrived step by step: %v", a.Job.Seen)
	assert.IsIncreasing(t, a.Job.Seen[1:])
	assert.True(t, strings.HasPrefix(a.Job.Result, "job done: 20 steps"), a.Job.Result)

	for _, f := range []string{"1-sse.png", "2-restart.png", "3-chat-a.png", "3-chat-b.png", "4-notification.png", "5-job.png"} {
		st, err := os.Stat(filepath.Join(shots, f))
		if assert.NoError(t, err) {
			assert.Greater(t, st.Size(), int64(1000), f)
		}
	}
}

// tickerStart asks a demo server which tick number it resumed after.
func tickerStart(t *testing.T, url string) int64 {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url + "/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var s demo.Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s.Ticker
}
