package longpoll_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/longpoll"
)

// parkedEnv is a broker served through an httpx.HandbackListener, so that
// waiting polls park on bare connections. routed counts the requests that
// reached net/http's handler.
type parkedEnv struct {
	t      *testing.T
	b      *longpoll.Broker
	addr   string
	routed atomic.Int64
	conns  atomic.Int64 // connections net/http accepted (handed-back ones too)
}

func newParkedEnv(t *testing.T, opts longpoll.Options) *parkedEnv {
	t.Helper()
	b, err := longpoll.NewBroker(opts)
	require.NoError(t, err)
	e := &parkedEnv{t: t, b: b}
	mux := http.NewServeMux()
	mux.Handle("/sub", b.SubscriptionHandler())
	mux.Handle("/pub", b.PublishHandler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl := httpx.NewHandbackListener(ln, httpx.HandbackOptions{})
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.routed.Add(1)
			mux.ServeHTTP(w, r)
		}),
		ConnContext: hl.ConnContext,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				e.conns.Add(1)
			}
		},
	}
	serving, err := httpx.Serve(context.Background(), srv, hl)
	require.NoError(t, err)
	e.addr = ln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, b.Shutdown(ctx))
		require.NoError(t, serving.Shutdown(ctx))
	})
	return e
}

// rawClient is one keep-alive connection speaking HTTP/1.1 by hand.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (e *parkedEnv) dial() *rawClient {
	c, err := net.Dial("tcp", e.addr)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { c.Close() })
	return &rawClient{t: e.t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) send(req string) {
	_, err := io.WriteString(rc.c, req)
	require.NoError(rc.t, err)
}

func (rc *rawClient) sendGet(pathQuery string) {
	rc.send("GET " + pathQuery + " HTTP/1.1\r\nHost: test\r\n\r\n")
}

// read returns the next response and its body.
func (rc *rawClient) read() (*http.Response, string) {
	_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(rc.br, nil)
	require.NoError(rc.t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(rc.t, err)
	return resp, string(body)
}

func (e *parkedEnv) waitParked(n int) {
	e.t.Helper()
	require.Eventually(e.t, func() bool { return e.b.Stats().Parked == n }, 10*time.Second, 5*time.Millisecond,
		"parked polls: want %d, have %+v", n, e.b.Stats())
}

// parkClients dials n connections, sends pathQuery on each and waits until
// the server holds that many parked polls.
func (e *parkedEnv) parkClients(n int, pathQuery string) []*rawClient {
	e.t.Helper()
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = e.dial()
		clients[i].sendGet(pathQuery)
	}
	e.waitParked(n)
	return clients
}

func (e *parkedEnv) publish(cat string, data any) {
	_, err := e.b.Publish(context.Background(), cat, data)
	require.NoError(e.t, err)
}

type answerJSON struct {
	Events []struct {
		Timestamp int64           `json:"timestamp"`
		Category  string          `json:"category"`
		Data      json.RawMessage `json:"data"`
		ID        string          `json:"id"`
	} `json:"events"`
	Timeout   string `json:"timeout"`
	Timestamp int64  `json:"timestamp"`
	Error     string `json:"error"`
}

func decodeAnswer(t *testing.T, body string) answerJSON {
	t.Helper()
	var a answerJSON
	require.NoError(t, json.Unmarshal([]byte(body), &a), body)
	return a
}

func TestParkedPollsHoldNoGoroutine(t *testing.T) {
	e := newParkedEnv(t, longpoll.Options{})
	const n = 40
	clients := e.parkClients(n, "/sub?category=c&timeout=30")
	assert.Equal(t, n, e.b.Stats().Waiting)
	e.publish("c", map[string]int{"n": 1})
	for _, c := range clients {
		resp, body := c.read()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		a := decodeAnswer(t, body)
		require.Len(t, a.Events, 1)
		assert.JSONEq(t, `{"n":1}`, string(a.Events[0].Data))
	}
	require.Eventually(t, func() bool { return e.b.Stats().IdleConns == n }, 5*time.Second, 5*time.Millisecond)
	st := e.b.Stats()
	assert.Equal(t, 0, st.Parked)
	assert.Equal(t, 0, st.Waiting)
	assert.Equal(t, uint64(1), st.Encodes, "one rendering for every parked poll")
}

// Many polls on one keep-alive connection: only the first reaches
// net/http; the others are read, served and parked by the broker.
func TestParkedKeepAliveServesPollsDirectly(t *testing.T) {
	e := newParkedEnv(t, longpoll.Options{})
	c := e.dial()
	c.sendGet("/sub?category=c&timeout=30")
	var since int64
	var lastID string
	for i := range 20 {
		e.waitParked(1)
		e.publish("c", i)
		resp, body := c.read()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		a := decodeAnswer(t, body)
		require.Len(t, a.Events, 1, body)
		assert.Equal(t, fmt.Sprint(i), string(a.Events[0].Data))
		since, lastID = a.Events[0].Timestamp, a.Events[0].ID
		c.sendGet(fmt.Sprintf("/sub?category=c&timeout=30&since_time=%d&last_id=%s", since, lastID))
	}
	e.waitParked(1)
	assert.Equal(t, int64(1), e.routed.Load(), "only the first poll went through net/http")
	assert.Equal(t, int64(1), e.conns.Load())

	// Events published while no poll waits are in the next answer.
	e.publish("c", "x")
	resp, body := c.read()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	a := decodeAnswer(t, body)
	require.Len(t, a.Events, 1)
	e.publish("c", "y")
	e.publish("c", "z")
	c.sendGet(fmt.Sprintf("/sub?category=c&timeout=30&since_time=%d&last_id=%s", a.Events[0].Timestamp, a.Events[0].ID))
	_, body = c.read()
	a = decodeAnswer(t, body)
	require.Len(t, a.Events, 2)
	assert.Equal(t, `"y"`, string(a.Events[0].Data))
	assert.Equal(t, `"z"`, string(a.Events[1].Data))
	assert.Equal(t, int64(1), e.routed.Load())
}

// A request that comes while the poll before it is parked (pipelined) is
// left on the socket and served after the answer: re-arming the watch
// then reports the bytes already there, since no new bytes will come.
func TestParkedPipelinedPollIsServedAfterTheAnswer(t *testing.T) {
	e := newParkedEnv(t, longpoll.Options{})
	c := e.dial()
	for i := range 3 {
		c.sendGet("/sub?category=c&timeout=30")
		e.waitParked(1)
		c.sendGet("/sub?category=c&timeout=30&since_time=1") // everything since 1970
		time.Sleep(20 * time.Millisecond)                    // seen while parked
		e.publish("c", i)
		_, body := c.read()
		a := decodeAnswer(t, body)
		require.Len(t, a.Events, 1, body)
		assert.Equal(t, fmt.Sprint(i), string(a.Events[0].Data))
		_, body = c.read()
		require.Len(t, decodeAnswer(t, body).Events, i+1, body)
	}
	assert.Equal(t, int64(1), e.conns.Load())
}

// Whatever the broker does not serve itself goes back to net/http on the
// same connection: a publish, another path, an invalid poll is answered by
// the broker, HTTP/1.0, Connection: close.
func TestParkedConnectionHandsBackOtherRequests(t *testing.T) {
	e := newParkedEnv(t, longpoll.Options{})
	c := e.dial()
	park := func() {
		c.sendGet("/sub?category=c&timeout=30")
		e.waitParked(1)
		e.publish("c", 1)
		_, body := c.read()
		require.Len(t, decodeAnswer(t, body).Events, 1)
		require.Eventually(t, func() bool { return e.b.Stats().IdleConns == 1 }, 5*time.Second, 5*time.Millisecond)
	}
	park()
	routed := e.routed.Load()

	pub := `{"category":"other","data":1}`
	c.send(fmt.Sprintf("POST /pub HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s", len(pub), pub))
	resp, body := c.read()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `{"success": true}`, body)
	assert.Equal(t, routed+1, e.routed.Load(), "the publish went through net/http")

	park()
	c.sendGet("/elsewhere")
	resp, _ = c.read()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	park()
	routed = e.routed.Load()
	c.sendGet("/sub?category=c&timeout=0") // invalid: answered directly
	resp, body = c.read()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Invalid or missing 'timeout' arg.  Must be 1-110.", decodeAnswer(t, body).Error)
	assert.Equal(t, routed, e.routed.Load())

	c.send("GET /sub?category=c&timeout=1 HTTP/1.0\r\nHost: test\r\n\r\n")
	resp, body = c.read()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "no events before timeout", decodeAnswer(t, body).Timeout)
	assert.Equal(t, routed+1, e.routed.Load(), "HTTP/1.0 went through net/http")
	_, err := c.br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "net/http closes an HTTP/1.0 connection")

	c = e.dial()
	park()
	c.send("GET /sub?category=c&timeout=1 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
	resp, _ = c.read()
	assert.True(t, resp.Close)
	_, err = c.br.ReadByte()
	assert.ErrorIs(t, err, io.EOF)
}

func TestParkedClientDisconnectIsForgotten(t *testing.T) {
	e := newParkedEnv(t, longpoll.Options{})
	c := e.dial()
	c.sendGet("/sub?category=c&timeout=60")
	e.waitParked(1)
	require.NoError(t, c.c.Close())
	require.Eventually(t, func() bool {
		st := e.b.Stats()
		return st.Parked == 0 && st.Waiting == 0 && st.IdleConns == 0 && st.Categories == 0
	}, 5*time.Second, 5*time.Millisecond)

	// An idle (answered) connection that the client closes is forgotten too.
	c = e.dial()
	c.sendGet("/sub?category=c&timeout=60")
	e.waitParked(1)
	e.publish("c", 1)
	c.read()
	require.Eventually(t, func() bool { return e.b.Stats().IdleConns == 1 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, c.c.Close())
	require.Eventually(t, func() bool { return e.b.Stats().IdleConns == 0 }, 5*time.Second, 5*time.Millisecond)
}

func TestParkedTimeoutAndIdleTimeout(t *testing.T) {
	e := newParkedEnv(t, longpoll.Options{IdleTimeout: 300 * time.Millisecond})
	c := e.dial()
	before := time.Now().UnixMilli()
	c.sendGet("/sub?category=c&timeout=1")
	e.waitParked(1)
	resp, body := c.read()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	a := decodeAnswer(t, body)
	assert.Equal(t, "no events before timeout", a.Timeout)
	assert.GreaterOrEqual(t, a.Timestamp, before)
	assert.Equal(t, uint64(1), e.b.Stats().Timeouts)
	// Then idle: closed after IdleTimeout.
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.br.ReadByte()
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, 0, e.b.Stats().IdleConns)
}

func TestParkedShutdownAnswersAndCloses(t *testing.T) {
	b, err := longpoll.NewBroker(longpoll.Options{})
	require.NoError(t, err)
	e := &parkedEnv{t: t, b: b}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl := httpx.NewHandbackListener(ln, httpx.HandbackOptions{})
	srv := &http.Server{Handler: b.SubscriptionHandler(), ConnContext: hl.ConnContext}
	serving, err := httpx.Serve(context.Background(), srv, hl)
	require.NoError(t, err)
	defer serving.Close()
	e.addr = ln.Addr().String()
	const n = 10
	clients := e.parkClients(n, "/sub?category=c&timeout=60")
	idle := e.dial()
	idle.sendGet("/sub?category=d&timeout=60")
	e.waitParked(n + 1)
	e.publish("d", 1)
	idle.read()
	require.Eventually(t, func() bool { return b.Stats().IdleConns == 1 }, 5*time.Second, 5*time.Millisecond)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, b.Shutdown(ctx))
	assert.Less(t, time.Since(start), 2*time.Second)
	for _, c := range clients {
		resp, body := c.read()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "no events before timeout", decodeAnswer(t, body).Timeout)
		_, err := c.br.ReadByte()
		assert.ErrorIs(t, err, io.EOF, "closed after the answer")
	}
	_ = idle.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = idle.br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "idle connection closed")
	st := b.Stats()
	assert.Zero(t, st.Parked)
	assert.Zero(t, st.IdleConns)
	assert.Zero(t, st.Waiting)
}

// The bytes written to a parked connection are those net/http writes for
// the same answer, Date's value aside.
func TestParkedAnswerIsNetHTTPsAnswer(t *testing.T) {
	parked := newParkedEnv(t, longpoll.Options{})
	plain := newParkedEnv(t, longpoll.Options{DisableConnParking: true})
	raw := func(e *parkedEnv) string {
		c := e.dial()
		c.sendGet("/sub?category=c&timeout=30")
		if e == parked {
			e.waitParked(1)
		} else {
			require.Eventually(t, func() bool { return e.b.Stats().Waiting == 1 }, 5*time.Second, 5*time.Millisecond)
		}
		e.publish("c", map[string]string{"k": "v"})
		_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		head, err := c.br.ReadString('}')
		require.NoError(t, err)
		rest := make([]byte, c.br.Buffered())
		_, _ = io.ReadFull(c.br, rest)
		return head + string(rest)
	}
	norm := func(s string) []string {
		var lines []string
		for _, l := range strings.Split(s, "\r\n") {
			switch {
			case strings.HasPrefix(l, "Date: "):
				_, err := http.ParseTime(strings.TrimPrefix(l, "Date: "))
				require.NoError(t, err)
				l = "Date: *"
			case strings.HasPrefix(l, `{"events"`):
				l = "body"
			}
			lines = append(lines, l)
		}
		return lines
	}
	a, b := raw(parked), raw(plain)
	assert.Equal(t, norm(b), norm(a))
	assert.Equal(t, len(b), len(a), "same body length (the IDs differ, not their size)")
}

// HTTP/2 (over TLS) through a HandbackListener keeps net/http's path: the
// poll waits on its stream's goroutine and is answered as before.
func TestParkedPathLeavesHTTP2Alone(t *testing.T) {
	b, err := longpoll.NewBroker(longpoll.Options{})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/sub", b.SubscriptionHandler())
	srv := httptest.NewUnstartedServer(mux)
	hl := httpx.NewHandbackListener(srv.Listener, httpx.HandbackOptions{})
	srv.Listener = hl
	srv.Config.ConnContext = hl.ConnContext
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	defer func() { require.NoError(t, b.Shutdown(t.Context())) }()
	type result struct {
		proto int
		body  string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL + "/sub?timeout=30&category=h2")
		if err != nil {
			done <- result{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{resp.ProtoMajor, string(body), err}
	}()
	require.Eventually(t, func() bool { return b.Stats().Waiting == 1 }, 10*time.Second, 5*time.Millisecond)
	assert.Zero(t, b.Stats().Parked, "an HTTP/2 poll is not parked")
	_, err = b.Publish(context.Background(), "h2", "over h2")
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, 2, r.proto)
	a := decodeAnswer(t, r.body)
	require.Len(t, a.Events, 1)
	assert.Equal(t, `"over h2"`, string(a.Events[0].Data))
}

// A hook that answers or sets headers keeps the poll on net/http's path;
// with a hook, later polls on a parked connection go back through net/http
// (and the hook) instead of being served directly.
func TestParkedPathHonoursHooks(t *testing.T) {
	var hooked atomic.Int64
	e := newParkedEnv(t, longpoll.Options{BeforeSubscribe: func(w http.ResponseWriter, r *http.Request) bool {
		hooked.Add(1)
		if r.URL.Query().Get("deny") != "" {
			w.WriteHeader(http.StatusForbidden)
			return false
		}
		if r.URL.Query().Get("tag") != "" {
			w.Header().Set("X-Tag", "1")
		}
		return true
	}})
	c := e.dial()
	c.sendGet("/sub?category=c&timeout=30")
	e.waitParked(1)
	e.publish("c", 1)
	c.read()
	c.sendGet("/sub?category=c&timeout=30&deny=1")
	resp, _ := c.read()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, int64(2), hooked.Load(), "the second poll ran the hook")

	c.sendGet("/sub?category=c&timeout=30&tag=1")
	require.Eventually(t, func() bool { return e.b.Stats().Waiting == 1 }, 5*time.Second, 5*time.Millisecond)
	assert.Zero(t, e.b.Stats().Parked, "a hook's header needs net/http's ResponseWriter")
	e.publish("c", 2)
	resp, _ = c.read()
	assert.Equal(t, "1", resp.Header.Get("X-Tag"))
}
