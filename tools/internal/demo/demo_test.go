package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
	"github.com/streamkit-dev/streamkit/longpoll"
	"github.com/streamkit-dev/streamkit/sse"
	"github.com/streamkit-dev/streamkit/streamable"
	"github.com/streamkit-dev/streamkit/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, cfg Config) (string, func() error) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Tick == 0 {
		cfg.Tick = 40 * time.Millisecond
	}
	url, stop, err := Start(cfg)
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			assert.NoError(t, stop())
		}
	})
	return url, func() error { stopped = true; return stop() }
}

func client() *http.Client {
	return &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestPageHealthzAndStats(t *testing.T) {
	url, _ := start(t, Config{})
	c := client()
	defer c.CloseIdleConnections()

	resp, body := get(t, c, url+"/")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	for _, s := range []string{"<title>streamkit demo</title>", "/sse/ticker", "/ws/chat", "/poll/subscribe", "'/mcp'"} {
		assert.Contains(t, body, s)
	}
	resp, body = get(t, c, url+"/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok\n", body)
	resp, _ = get(t, c, url+"/nope")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// An open SSE stream and WebSocket show up in the stats.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := &sse.Client{URL: url + "/sse/ticker", HTTPClient: c}
	got := make(chan sse.ReceivedEvent, 1)
	go func() {
		for ev, err := range sc.Events(ctx) {
			if err == nil {
				select {
				case got <- ev:
				default:
				}
			}
		}
	}()
	<-got
	wc, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws/chat", codec.JSONCodec{}, &ws.Hooks[any, any]{}, nil)
	require.NoError(t, err)
	defer func() { _ = wc.Close(ws.CloseNormal, ""); <-wc.Done() }()
	require.Eventually(t, func() bool {
		_, body := get(t, c, url+"/stats")
		var s Stats
		require.NoError(t, json.Unmarshal([]byte(body), &s))
		return s.Store == "memory" && s.Connections["sse"] == 1 && s.Connections["ws"] == 1 && s.Events["sse_published"] > 0 &&
			s.Events["store_appended"] >= s.Events["sse_published"]
	}, 10*time.Second, 20*time.Millisecond)
}

// nextTicks reads n ticks from the SSE endpoint.
func nextTicks(t *testing.T, url string, n int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := client()
	defer c.CloseIdleConnections()
	var out []int64
	for ev, err := range (&sse.Client{URL: url + "/sse/ticker", HTTPClient: c}).Events(ctx) {
		require.NoError(t, err)
		var tk Tick
		require.NoError(t, json.Unmarshal([]byte(ev.Data), &tk))
		if out = append(out, tk.N); len(out) == n {
			break
		}
	}
	require.Len(t, out, n)
	return out
}

func testTickerContinues(t *testing.T, store string) {
	url, stop := start(t, Config{Store: store})
	first := nextTicks(t, url, 3)
	require.NoError(t, stop())
	url, _ = start(t, Config{Store: store})
	c := client()
	defer c.CloseIdleConnections()
	_, body := get(t, c, url+"/stats")
	var s Stats
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	assert.GreaterOrEqual(t, s.Ticker, first[2], "the restarted ticker starts after the last tick stored")
	next := nextTicks(t, url, 1)
	assert.Greater(t, next[0], first[2])
}

func TestTickerContinuesAfterRestartWithFileStore(t *testing.T) {
	testTickerContinues(t, "file:"+t.TempDir())
}

func TestTickerContinuesAfterRestartWithRedis(t *testing.T) {
	srv := redistest.New(t)
	testTickerContinues(t, "redis://"+srv.Addr())
}

func TestMemoryStoreStartsOver(t *testing.T) {
	url, _ := start(t, Config{})
	c := client()
	defer c.CloseIdleConnections()
	_, body := get(t, c, url+"/stats")
	assert.Contains(t, body, `"ticker_start":0`)
}

func TestBadStoreAndAddr(t *testing.T) {
	for _, spec := range []string{"bogus", "file:", "redis://[::1"} {
		_, _, err := Start(Config{Addr: "127.0.0.1:0", Store: spec})
		assert.Error(t, err, spec)
	}
	_, _, err := Start(Config{Addr: "127.0.0.1:-1"})
	assert.Error(t, err)
}

func TestMCPOriginCheck(t *testing.T) {
	url, _ := start(t, Config{})
	c := client()
	defer c.CloseIdleConnections()
	post := func(origin string) int {
		req, err := http.NewRequest(http.MethodPost, url+"/mcp", strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, post("https://evil.example"))
	assert.Equal(t, http.StatusOK, post(url))
	assert.Equal(t, http.StatusOK, post(""))
}

// A job reports progress to 100% and then tells the notifications panel.
func TestJobProgressAndNotification(t *testing.T) { testJob(t, Config{}) }

// The same in scale-out mode: the MCP stream, the notification's long poll
// and their wake-ups go through the fan-out hub over Redis.
func TestJobProgressAndNotificationWithRedis(t *testing.T) {
	srv := redistest.New(t)
	testJob(t, Config{Store: "redis://" + srv.Addr()})
}

func testJob(t *testing.T, cfg Config) {
	url, _ := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hc := client()
	defer hc.CloseIdleConnections()

	notes := make(chan longpoll.Event, 1)
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	lp := &longpoll.Client{SubscribeURL: url + "/poll/subscribe", HTTPClient: hc, PollTimeout: 2 * time.Second, Since: time.Now().Add(-time.Minute)}
	go func() {
		for ev, err := range lp.Events(pollCtx, NotificationsCategory) {
			if err == nil {
				notes <- ev
				return
			}
		}
	}()

	mc := streamable.NewClient(url+"/mcp", streamable.ClientOptions{HTTPClient: hc})
	defer func() { assert.NoError(t, mc.Close(ctx)) }()
	_, err := mc.Call(ctx, "initialize", map[string]any{"protocolVersion": streamable.Rev20251125, "capabilities": map[string]any{},
		"clientInfo": map[string]string{"name": "t", "version": "1"}}, nil)
	require.NoError(t, err)
	var progress []float64
	res, err := mc.Call(ctx, "tools/call", map[string]any{"name": "job", "arguments": map[string]int{"steps": 5, "delay_ms": 1},
		"_meta": map[string]string{"progressToken": "p"}}, func(m *streamable.Message) {
		var p struct{ Progress, Total float64 }
		require.NoError(t, json.Unmarshal(m.Params, &p))
		progress = append(progress, 100*p.Progress/p.Total)
	})
	require.NoError(t, err)
	require.Nil(t, res.Error)
	assert.Equal(t, []float64{20, 40, 60, 80, 100}, progress)
	assert.Contains(t, string(res.Result), "job done: 5 steps")

	select {
	case ev := <-notes:
		assert.Contains(t, string(ev.Data), "job done: 5 steps")
	case <-ctx.Done():
		t.Fatal("no notification after the job")
	}
}

// Ctrl-C (the context) ends every stream with its goodbye and Run returns
// nil.
func TestGracefulShutdown(t *testing.T) {
	url, stop := start(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hc := client()
	defer hc.CloseIdleConnections()

	closed := make(chan error, 1)
	wc, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws/chat", codec.JSONCodec{},
		&ws.Hooks[any, any]{Close: func(_ *ws.Conn[any, any], err error) { closed <- err }}, nil)
	require.NoError(t, err)

	resp, err := hc.Get(url + "/sse/ticker")
	require.NoError(t, err)
	defer resp.Body.Close()
	pollDone := make(chan string, 1)
	go func() {
		r, err := hc.Get(url + "/poll/subscribe?category=notifications&timeout=30")
		if err != nil {
			pollDone <- err.Error()
			return
		}
		b, _ := io.ReadAll(r.Body)
		_ = r.Body.Close()
		pollDone <- string(b)
	}()
	require.Eventually(t, func() bool {
		_, body := get(t, hc, url+"/stats")
		return strings.Contains(body, `"longpoll":1`)
	}, 10*time.Second, 10*time.Millisecond)

	began := time.Now()
	require.NoError(t, stop())
	assert.Less(t, time.Since(began), 10*time.Second)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the SSE stream ends cleanly")
	assert.Contains(t, string(rest), "retry: 1000")
	assert.Equal(t, ws.CloseGoingAway, ws.CloseStatus(<-closed))
	<-wc.Done()
	assert.Contains(t, <-pollDone, `"timeout"`)
}

func TestDisplayStoreHidesCredentials(t *testing.T) {
	assert.Equal(t, "redis://:xxxxx@10.0.0.1:6379/0", displayStore("redis://:secret@10.0.0.1:6379/0"))
	assert.Equal(t, "file:/var/lib/sk", displayStore("file:/var/lib/sk"))
	assert.Equal(t, "memory", displayStore("memory"))
}
