package streamable

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/sse/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testHandler is a tiny dispatcher: the module knows no MCP methods, the
// tests bring their own.
type testHandler struct {
	cancelled atomic.Int32 // handlers that saw their context end
	finished  atomic.Int32 // handlers that returned a result
	release   chan struct{}
}

func (h *testHandler) handle(ctx context.Context, req *Request) (any, error) {
	switch req.Method {
	case "initialize":
		var p struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		_ = json.Unmarshal(req.Params, &p)
		if p.ProtocolVersion == "bad" {
			return nil, &Error{Code: CodeInvalidParams, Message: "bad version"}
		}
		return map[string]any{"protocolVersion": p.ProtocolVersion}, nil
	case "ping":
		return map[string]any{}, nil
	case "stream": // 3 notifications, then the result
		for i := range 3 {
			if err := req.Notify(ctx, "progress", map[string]int{"n": i}); err != nil && !errors.Is(err, ErrNoStream) {
				return nil, err
			}
		}
		h.finished.Add(1)
		return map[string]string{"done": "yes"}, nil
	case "drop": // end the HTTP response after priming; deliver later
		req.CloseStream()
		select {
		case <-h.release:
		case <-ctx.Done():
			h.cancelled.Add(1)
			return nil, ctx.Err()
		}
		if err := req.Notify(ctx, "progress", map[string]int{"n": 1}); err != nil {
			return nil, err
		}
		h.finished.Add(1)
		return map[string]string{"done": "late"}, nil
	case "block": // wait until cancelled or released
		if err := req.Notify(ctx, "progress", map[string]int{"n": 0}); err != nil && !errors.Is(err, ErrNoStream) {
			return nil, err
		}
		select {
		case <-h.release:
			h.finished.Add(1)
			return map[string]string{"done": "released"}, nil
		case <-ctx.Done():
			h.cancelled.Add(1)
			return nil, ctx.Err()
		}
	}
	return nil, &Error{Code: CodeMethodNotFound, Message: "no method " + req.Method}
}

type fixture struct {
	t   *testing.T
	srv *Server
	hs  *httptest.Server
	h   *testHandler
}

func newFixture(t *testing.T, opts ServerOptions) *fixture {
	t.Helper()
	h := &testHandler{release: make(chan struct{})}
	if opts.Handle == nil {
		opts.Handle = h.handle
	}
	srv, err := NewServer(opts)
	require.NoError(t, err)
	hs := httptest.NewServer(srv)
	f := &fixture{t: t, srv: srv, hs: hs, h: h}
	t.Cleanup(func() {
		hs.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, srv.Close(ctx))
		hs.Close()
	})
	return f
}

var bg = context.Background()

const bothAccept = "application/json, text/event-stream"

type hdr map[string]string

func (f *fixture) do(ctx context.Context, method string, h hdr, body string) *http.Response {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.hs.URL, rd)
	require.NoError(f.t, err)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", bothAccept)
	}
	if method == http.MethodGet {
		req.Header.Set("Accept", "text/event-stream")
	}
	for k, v := range h {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := f.hs.Client().Do(req)
	require.NoError(f.t, err)
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// expect sends a request and checks the status, returning the body.
func (f *fixture) expect(status int, method string, h hdr, body string) string {
	f.t.Helper()
	resp := f.do(bg, method, h, body)
	b := readAll(f.t, resp)
	require.Equal(f.t, status, resp.StatusCode, "%s %v %s -> %s", method, h, body, b)
	return b
}

func req(id int, method string, params string) string {
	if params == "" {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q}`, id, method)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params)
}

// initialize starts a session at version v and returns its ID.
func (f *fixture) initialize(v string) string {
	f.t.Helper()
	resp := f.do(bg, http.MethodPost, nil, req(1, "initialize", `{"protocolVersion":"`+v+`"}`))
	body := readAll(f.t, resp)
	require.Equal(f.t, http.StatusOK, resp.StatusCode, body)
	require.Contains(f.t, body, v)
	return resp.Header.Get(HeaderSessionID)
}

// events reads SSE events from resp until it ends.
func events(t *testing.T, resp *http.Response) []parser.Event {
	t.Helper()
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	p := parser.New(resp.Body, parser.Options{})
	var out []parser.Event
	for {
		ev, err := p.Next()
		if err != nil {
			return out
		}
		out = append(out, ev)
	}
}

func TestPOSTRules(t *testing.T) {
	f := newFixture(t, ServerOptions{MaxBodyBytes: 1024})
	sid := f.initialize(Rev20250618)
	s := hdr{HeaderSessionID: sid}

	f.expect(http.StatusUnsupportedMediaType, http.MethodPost, hdr{HeaderSessionID: sid, "Content-Type": "text/plain"}, req(2, "ping", ""))
	f.expect(http.StatusNotAcceptable, http.MethodPost, hdr{HeaderSessionID: sid, "Accept": "application/json"}, req(2, "ping", ""))
	f.expect(http.StatusNotAcceptable, http.MethodPost, hdr{HeaderSessionID: sid, "Accept": "text/event-stream"}, req(2, "ping", ""))
	f.expect(http.StatusNotAcceptable, http.MethodPost, hdr{HeaderSessionID: sid, "Accept": ""}, req(2, "ping", ""))
	// Wildcards and q-values are honoured.
	f.expect(http.StatusOK, http.MethodPost, hdr{HeaderSessionID: sid, "Accept": "*/*"}, req(2, "ping", ""))
	f.expect(http.StatusNotAcceptable, http.MethodPost, hdr{HeaderSessionID: sid, "Accept": "*/*, text/event-stream;q=0"}, req(2, "ping", ""))
	f.expect(http.StatusRequestEntityTooLarge, http.MethodPost, s, req(2, "ping", `{"x":"`+strings.Repeat("a", 2000)+`"}`))
	body := f.expect(http.StatusBadRequest, http.MethodPost, s, `{"jsonrpc":`)
	assert.Contains(t, body, "-32700")
	f.expect(http.StatusBadRequest, http.MethodPost, hdr{HeaderSessionID: sid, HeaderLastEventID: "p1_1-1"}, req(2, "ping", ""))
	// Notifications and responses only: 202, no body.
	assert.Empty(t, f.expect(http.StatusAccepted, http.MethodPost, s, `{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	assert.Empty(t, f.expect(http.StatusAccepted, http.MethodPost, s, `{"jsonrpc":"2.0","id":7,"result":{}}`))
	// Batches are not allowed after 2025-03-26.
	body = f.expect(http.StatusBadRequest, http.MethodPost, s, "["+req(2, "ping", "")+"]")
	assert.Contains(t, body, "-32600")
	// Other methods: 405 with Allow.
	resp := f.do(bg, http.MethodPut, s, "")
	readAll(t, resp)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST, GET, DELETE", resp.Header.Get("Allow"))
}

func TestBatches20250326(t *testing.T) {
	f := newFixture(t, ServerOptions{Response: ResponseJSON})
	sid := f.initialize(Rev20250326)
	s := hdr{HeaderSessionID: sid}
	body := f.expect(http.StatusOK, http.MethodPost, s, "["+req(2, "ping", "")+`,{"jsonrpc":"2.0","method":"n"},`+req(3, "nope", "")+"]")
	var resps []Message
	require.NoError(t, json.Unmarshal([]byte(body), &resps))
	require.Len(t, resps, 2)
	assert.Equal(t, "2", string(resps[0].ID))
	require.NotNil(t, resps[1].Error)
	assert.Equal(t, CodeMethodNotFound, resps[1].Error.Code)
	// An empty batch is Invalid Request; initialize never inside a batch.
	assert.Contains(t, f.expect(http.StatusBadRequest, http.MethodPost, s, "[]"), "-32600")
	f.expect(http.StatusBadRequest, http.MethodPost, nil, "["+req(1, "initialize", `{"protocolVersion":"2025-03-26"}`)+"]")
	// The header wins over the session's version.
	f.expect(http.StatusBadRequest, http.MethodPost, hdr{HeaderSessionID: sid, HeaderProtocolVersion: Rev20250618}, "["+req(2, "ping", "")+"]")
}

func TestSessionRules(t *testing.T) {
	var closed atomic.Int32
	f := newFixture(t, ServerOptions{Response: ResponseJSON, MaxSessions: 2, OnSessionClosed: func(*Session) { closed.Add(1) }})
	// A failed session start mints nothing.
	resp := f.do(bg, http.MethodPost, nil, req(1, "initialize", `{"protocolVersion":"bad"}`))
	readAll(t, resp)
	assert.Empty(t, resp.Header.Get(HeaderSessionID))
	assert.Equal(t, 0, f.srv.Sessions())

	sid := f.initialize(Rev20251125)
	require.GreaterOrEqual(t, len(sid), 26)
	for _, c := range []byte(sid) {
		assert.True(t, c >= 0x21 && c <= 0x7e, "visible ASCII")
	}
	assert.NotEqual(t, sid, f.initialize(Rev20251125), "IDs are unique")
	// Cap: a third session is refused.
	f.expect(http.StatusServiceUnavailable, http.MethodPost, nil, req(1, "initialize", `{"protocolVersion":"2025-11-25"}`))

	f.expect(http.StatusBadRequest, http.MethodPost, nil, req(2, "ping", ""))
	f.expect(http.StatusNotFound, http.MethodPost, hdr{HeaderSessionID: "nope"}, req(2, "ping", ""))
	f.expect(http.StatusBadRequest, http.MethodPost, hdr{HeaderSessionID: sid}, req(1, "initialize", `{"protocolVersion":"2025-11-25"}`))
	f.expect(http.StatusOK, http.MethodPost, hdr{HeaderSessionID: sid}, req(2, "ping", ""))
	// MCP-Protocol-Version: unsupported is 400.
	f.expect(http.StatusBadRequest, http.MethodPost, hdr{HeaderSessionID: sid, HeaderProtocolVersion: "1999-01-01"}, req(2, "ping", ""))
	f.expect(http.StatusOK, http.MethodPost, hdr{HeaderSessionID: sid, HeaderProtocolVersion: Rev20251125}, req(2, "ping", ""))
	// DELETE ends it; then 404 everywhere.
	f.expect(http.StatusBadRequest, http.MethodDelete, nil, "")
	f.expect(http.StatusNoContent, http.MethodDelete, hdr{HeaderSessionID: sid}, "")
	f.expect(http.StatusNotFound, http.MethodPost, hdr{HeaderSessionID: sid}, req(2, "ping", ""))
	f.expect(http.StatusNotFound, http.MethodDelete, hdr{HeaderSessionID: sid}, "")
	assert.Eventually(t, func() bool { return closed.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1, f.srv.Sessions())
}

func TestSessionPrincipal(t *testing.T) {
	f := newFixture(t, ServerOptions{Response: ResponseJSON, Principal: func(r *http.Request) string { return r.Header.Get("X-User") }})
	resp := f.do(bg, http.MethodPost, hdr{"X-User": "alice"}, req(1, "initialize", `{"protocolVersion":"2025-06-18"}`))
	readAll(t, resp)
	sid := resp.Header.Get(HeaderSessionID)
	f.expect(http.StatusOK, http.MethodPost, hdr{HeaderSessionID: sid, "X-User": "alice"}, req(2, "ping", ""))
	f.expect(http.StatusForbidden, http.MethodPost, hdr{HeaderSessionID: sid, "X-User": "mallory"}, req(2, "ping", ""))
	f.expect(http.StatusForbidden, http.MethodDelete, hdr{HeaderSessionID: sid}, "")
}

func TestSecurity(t *testing.T) {
	f := newFixture(t, ServerOptions{Response: ResponseJSON, AllowedOrigins: []string{"https://app.example"}})
	f.expect(http.StatusForbidden, http.MethodPost, hdr{"Host": "evil.example:80"}, req(1, "initialize", `{"protocolVersion":"2025-06-18"}`))
	for _, h := range []string{"localhost:1234", "127.0.0.1", "[::1]:9"} {
		resp := f.do(bg, http.MethodPost, hdr{"Host": h}, req(1, "initialize", `{"protocolVersion":"2025-06-18"}`))
		readAll(t, resp)
		assert.Equal(t, http.StatusOK, resp.StatusCode, h)
	}
	sid := f.initialize(Rev20250618)
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		f.expect(http.StatusForbidden, m, hdr{HeaderSessionID: sid, "Origin": "https://evil.example"}, req(2, "ping", ""))
	}
	f.expect(http.StatusOK, http.MethodPost, hdr{HeaderSessionID: sid, "Origin": "https://APP.example"}, req(2, "ping", ""))
}

func TestSSEResponseHeadersAndNotifications(t *testing.T) {
	f := newFixture(t, ServerOptions{})
	sid := f.initialize(Rev20250618)
	resp := f.do(bg, http.MethodPost, hdr{HeaderSessionID: sid}, req(5, "stream", ""))
	assert.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	evs := events(t, resp)
	require.Len(t, evs, 4)
	for i := range 3 {
		assert.Contains(t, evs[i].Data, `"method":"progress"`)
	}
	assert.JSONEq(t, `{"jsonrpc":"2.0","id":5,"result":{"done":"yes"}}`, evs[3].Data)
}

func TestSSEHeadersFlushedAtOnce(t *testing.T) {
	f := newFixture(t, ServerOptions{})
	sid := f.initialize(Rev20250618)
	// The handler blocks before sending anything; the headers must arrive.
	resp := f.do(bg, http.MethodPost, hdr{HeaderSessionID: sid}, req(2, "block", `{}`))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	close(f.h.release)
	evs := events(t, resp)
	require.NotEmpty(t, evs)
	assert.Contains(t, evs[len(evs)-1].Data, "released")
}

func TestKeepAlive(t *testing.T) {
	f := newFixture(t, ServerOptions{KeepAlive: 20 * time.Millisecond})
	sid := f.initialize(Rev20250618)
	resp := f.do(bg, http.MethodPost, hdr{HeaderSessionID: sid}, req(2, "block", `{}`))
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	seen := false
	for i := 0; i < 50 && !seen; i++ {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		seen = line == ": keepalive\n"
	}
	assert.True(t, seen, "a keepalive comment arrives on an idle stream")
}

// A client that aborts mid-stream: under 2025-06-18 a disconnect is not a
// cancellation, so the handler goes on and its later sends fail; with
// CancelOnDisconnect it is cancelled. Nothing leaks either way (goleak
// checks at the end of the package).
func TestClientAbortDirectStream(t *testing.T) {
	for _, cancelOn := range []bool{false, true} {
		result := make(chan error, 1) // the handler's outcome
		f := newFixture(t, ServerOptions{CancelOnDisconnect: cancelOn, Handle: func(ctx context.Context, r *Request) (any, error) {
			if r.Method == "initialize" {
				return map[string]string{"protocolVersion": Rev20250618}, nil
			}
			if err := r.Notify(ctx, "progress", nil); err != nil {
				return nil, err
			}
			<-r.HTTP.Context().Done() // the server saw the client leave
			if cancelOn {
				select {
				case <-ctx.Done():
					result <- ctx.Err()
				case <-time.After(10 * time.Second):
					result <- errors.New("not cancelled")
				}
				return nil, ctx.Err()
			}
			if ctx.Err() != nil {
				result <- errors.New("a disconnect cancelled the handler under 2025-06-18")
				return nil, ctx.Err()
			}
			result <- r.Notify(ctx, "progress", nil)
			return struct{}{}, nil
		}})
		sid := f.initialize(Rev20250618)
		ctx, cancel := context.WithCancel(context.Background())
		resp := f.do(ctx, http.MethodPost, hdr{HeaderSessionID: sid}, req(2, "work", ""))
		ev, err := parser.New(resp.Body, parser.Options{}).Next()
		require.NoError(t, err)
		assert.Contains(t, ev.Data, "progress")
		cancel()
		resp.Body.Close()
		select {
		case err := <-result:
			if cancelOn {
				assert.ErrorIs(t, err, context.Canceled, "CancelOnDisconnect cancels the handler")
			} else {
				assert.ErrorIs(t, err, ErrStreamClosed, "the handler goes on; its sends fail")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the handler never noticed the disconnect")
		}
	}
}

func TestGETStream(t *testing.T) {
	f := newFixture(t, ServerOptions{})
	sid := f.initialize(Rev20250618)
	f.expect(http.StatusBadRequest, http.MethodGet, nil, "")
	f.expect(http.StatusNotFound, http.MethodGet, hdr{HeaderSessionID: "x"}, "")
	f.expect(http.StatusNotAcceptable, http.MethodGet, hdr{HeaderSessionID: sid, "Accept": "application/json"}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := f.do(ctx, http.MethodGet, hdr{HeaderSessionID: sid}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	f.expect(http.StatusConflict, http.MethodGet, hdr{HeaderSessionID: sid}, "")

	f.srv.mu.Lock()
	ss := f.srv.sessions[sid]
	f.srv.mu.Unlock()
	require.Eventually(t, func() bool { return ss.Notify(context.Background(), "hello", map[string]int{"x": 1}) == nil },
		5*time.Second, 5*time.Millisecond)
	p := parser.New(resp.Body, parser.Options{})
	ev, err := p.Next()
	require.NoError(t, err)
	assert.JSONEq(t, `{"jsonrpc":"2.0","method":"hello","params":{"x":1}}`, ev.Data)
	cancel()
	resp.Body.Close()
	// The slot frees once the client left.
	require.Eventually(t, func() bool {
		r := f.do(bg, http.MethodDelete, hdr{HeaderSessionID: sid}, "")
		r.Body.Close()
		return r.StatusCode == http.StatusNoContent
	}, 5*time.Second, 5*time.Millisecond)
	assert.ErrorIs(t, ss.Notify(context.Background(), "x", nil), ErrSessionClosed)
}

func TestGETDisabledAndStateless(t *testing.T) {
	f := newFixture(t, ServerOptions{DisableGET: true, DisableDELETE: true, Response: ResponseJSON})
	sid := f.initialize(Rev20250618)
	f.expect(http.StatusMethodNotAllowed, http.MethodGet, hdr{HeaderSessionID: sid}, "")
	f.expect(http.StatusMethodNotAllowed, http.MethodDelete, hdr{HeaderSessionID: sid}, "")

	g := newFixture(t, ServerOptions{})
	// 2026-07-28: no session minted, no GET, no DELETE, header required-ish.
	h := hdr{HeaderProtocolVersion: Rev20260728}
	resp := g.do(bg, http.MethodPost, h, req(1, "initialize", `{"protocolVersion":"2026-07-28"}`))
	readAll(t, resp)
	assert.Empty(t, resp.Header.Get(HeaderSessionID))
	assert.Equal(t, 0, g.srv.Sessions())
	evs := events(t, g.do(bg, http.MethodPost, h, req(2, "stream", "")))
	require.Len(t, evs, 4)
	g.expect(http.StatusMethodNotAllowed, http.MethodGet, h, "")
	g.expect(http.StatusMethodNotAllowed, http.MethodDelete, h, "")
	body := g.expect(http.StatusBadRequest, http.MethodPost, hdr{HeaderProtocolVersion: Rev20260728, HeaderMethod: "tools/call"}, req(4, "ping", ""))
	assert.Contains(t, body, "-32020")
	g.expect(http.StatusOK, http.MethodPost, hdr{HeaderProtocolVersion: Rev20260728, HeaderMethod: "ping"}, req(4, "ping", ""))
	// Closing the stream cancels the request.
	ctx, cancel := context.WithCancel(context.Background())
	resp = g.do(ctx, http.MethodPost, h, req(3, "block", `{}`))
	_, err := parser.New(resp.Body, parser.Options{}).Next()
	require.NoError(t, err)
	cancel()
	resp.Body.Close()
	assert.Eventually(t, func() bool { return g.h.cancelled.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
}

func newStore(t *testing.T, lim eventstore.Limits) eventstore.Store {
	st := eventstore.NewMemory(eventstore.Options{Limits: lim})
	t.Cleanup(func() { st.Close() })
	return st
}

func TestResumePOSTStream(t *testing.T) {
	st := newStore(t, eventstore.Limits{})
	f := newFixture(t, ServerOptions{Store: st, Retry: 250 * time.Millisecond})
	sid := f.initialize(Rev20251125)
	s := hdr{HeaderSessionID: sid}
	// The handler closes the stream after the priming event.
	resp := f.do(bg, http.MethodPost, s, req(9, "drop", ""))
	p := parser.New(resp.Body, parser.Options{})
	ev, err := p.Next()
	require.NoError(t, err)
	assert.Empty(t, ev.Data, "priming event: an id and empty data")
	require.True(t, strings.HasPrefix(ev.ID, "p1_"), ev.ID)
	retry, ok := p.Retry()
	assert.True(t, ok)
	assert.Equal(t, 250*time.Millisecond, retry)
	_, err = p.Next()
	assert.ErrorIs(t, err, io.EOF, "the server ended the response")
	resp.Body.Close()
	prime := ev.ID

	// Unknown, malformed and foreign IDs are errors, never replays.
	f.expect(http.StatusBadRequest, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: "garbage"}, "")
	f.expect(http.StatusBadRequest, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: "p7_1-1"}, "")
	other := f.initialize(Rev20251125)
	f.expect(http.StatusBadRequest, http.MethodGet, hdr{HeaderSessionID: other, HeaderLastEventID: prime}, "")

	close(f.h.release)
	resp = f.do(bg, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: prime}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	evs := events(t, resp)
	require.Len(t, evs, 2, "the replay is the rest of that stream only, and it ends after the response")
	assert.Contains(t, evs[0].Data, "progress")
	assert.JSONEq(t, `{"jsonrpc":"2.0","id":9,"result":{"done":"late"}}`, evs[1].Data)
	assert.True(t, strings.HasPrefix(evs[1].ID, "p1_"))
	// Resuming from the middle replays only what follows.
	resp = f.do(bg, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: evs[0].ID}, "")
	evs2 := events(t, resp)
	require.Len(t, evs2, 1)
	assert.Equal(t, evs[1].ID, evs2[0].ID)
}

func TestResumeEvictedIsError(t *testing.T) {
	st := newStore(t, eventstore.Limits{MaxEventsPerStream: 1})
	f := newFixture(t, ServerOptions{Store: st})
	sid := f.initialize(Rev20251125)
	evs := events(t, f.do(bg, http.MethodPost, hdr{HeaderSessionID: sid}, req(2, "drop", "")))
	require.Len(t, evs, 1)
	close(f.h.release)
	require.Eventually(t, func() bool { return f.h.finished.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	held, err := st.ReadAfter(context.Background(), sid+"/p1", eventstore.ID{}, 10)
	require.NoError(t, err)
	require.Len(t, held, 1, "the priming event and the progress were evicted")
	assert.Contains(t, string(held[0].Data), `"done":"late"`)
	// The progress after the priming event is gone: resuming there would
	// silently skip it, so it is refused.
	body := f.expect(http.StatusBadRequest, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: evs[0].ID}, "")
	assert.Contains(t, body, "evicted")
}

// With a store, a client abort does not cancel the handler (revisions
// before 2026-07-28); the result waits in the store and DELETE cleans up.
func TestResumableSurvivesAbort(t *testing.T) {
	st := newStore(t, eventstore.Limits{})
	f := newFixture(t, ServerOptions{Store: st})
	sid := f.initialize(Rev20250618)
	ctx, cancel := context.WithCancel(context.Background())
	resp := f.do(ctx, http.MethodPost, hdr{HeaderSessionID: sid}, req(2, "block", `{}`))
	p := parser.New(resp.Body, parser.Options{})
	ev, err := p.Next()
	require.NoError(t, err)
	require.Contains(t, ev.Data, "progress")
	cancel()
	resp.Body.Close()
	close(f.h.release)
	require.Eventually(t, func() bool { return f.h.finished.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	assert.Zero(t, f.h.cancelled.Load())
	resp = f.do(bg, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: ev.ID}, "")
	evs := events(t, resp)
	require.Len(t, evs, 1)
	assert.Contains(t, evs[0].Data, "released")
	f.expect(http.StatusNoContent, http.MethodDelete, hdr{HeaderSessionID: sid}, "")
	assert.Eventually(t, func() bool { return st.Stats().Streams == 0 }, 5*time.Second, 5*time.Millisecond, "store streams deleted with the session")
}

func TestResumeGETStreamPriming(t *testing.T) {
	st := newStore(t, eventstore.Limits{})
	f := newFixture(t, ServerOptions{Store: st})
	sid := f.initialize(Rev20251125)
	ctx, cancel := context.WithCancel(context.Background())
	resp := f.do(ctx, http.MethodGet, hdr{HeaderSessionID: sid}, "")
	p := parser.New(resp.Body, parser.Options{})
	prime, err := p.Next()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(prime.ID, "g_"))
	cancel()
	resp.Body.Close()
	f.srv.mu.Lock()
	ss := f.srv.sessions[sid]
	f.srv.mu.Unlock()
	// Sent while no GET stream is connected: kept and replayed.
	require.NoError(t, ss.Notify(context.Background(), "later", nil))
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	var resp2 *http.Response
	require.Eventually(t, func() bool { // the first stream's slot frees once its handler noticed
		resp2 = f.do(ctx2, http.MethodGet, hdr{HeaderSessionID: sid, HeaderLastEventID: prime.ID}, "")
		if resp2.StatusCode != http.StatusOK {
			resp2.Body.Close()
			return false
		}
		return true
	}, 5*time.Second, 10*time.Millisecond)
	ev, err := parser.New(resp2.Body, parser.Options{}).Next()
	require.NoError(t, err)
	assert.Contains(t, ev.Data, `"later"`)
	cancel2()
	resp2.Body.Close()
}

func TestServerCloseEndsStreams(t *testing.T) {
	f := newFixture(t, ServerOptions{Store: newStore(t, eventstore.Limits{})})
	sid := f.initialize(Rev20250618)
	resp := f.do(bg, http.MethodGet, hdr{HeaderSessionID: sid}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.srv.Close(ctx))
	_, err := io.ReadAll(resp.Body) // ends: the server closed the stream
	assert.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 0, f.srv.Sessions())
	f.expect(http.StatusServiceUnavailable, http.MethodPost, nil, req(1, "initialize", `{"protocolVersion":"2025-06-18"}`))
}

// Without MCP-Protocol-Version and without a session, a request is read
// as 2025-03-26 (batches allowed); a later revision in the header is not.
func TestAbsentVersionMeans20250326(t *testing.T) {
	f := newFixture(t, ServerOptions{Stateless: true, Response: ResponseJSON})
	batch := "[" + req(1, "ping", "") + "," + req(2, "ping", "") + "]"
	var resps []Message
	require.NoError(t, json.Unmarshal([]byte(f.expect(http.StatusOK, http.MethodPost, nil, batch)), &resps))
	assert.Len(t, resps, 2)
	f.expect(http.StatusBadRequest, http.MethodPost, hdr{HeaderProtocolVersion: Rev20250618}, batch)
	f.expect(http.StatusOK, http.MethodPost, hdr{HeaderProtocolVersion: Rev20250326}, batch)
	// Stateless: no session is minted, GET and DELETE are 405.
	resp := f.do(bg, http.MethodPost, nil, req(1, "initialize", `{"protocolVersion":"2025-06-18"}`))
	readAll(t, resp)
	assert.Empty(t, resp.Header.Get(HeaderSessionID))
	f.expect(http.StatusMethodNotAllowed, http.MethodGet, nil, "")
	f.expect(http.StatusMethodNotAllowed, http.MethodDelete, nil, "")
}

// A client that leaves while its session start is being answered never
// learns the session ID, so no session is minted for it, even when the
// handler answers successfully.
func TestSessionStartAbortMintsNothing(t *testing.T) {
	entered, returned := make(chan struct{}), make(chan struct{})
	f := newFixture(t, ServerOptions{Response: ResponseJSON, Handle: func(ctx context.Context, r *Request) (any, error) {
		close(entered)
		<-ctx.Done() // the server noticed the disconnect
		defer close(returned)
		return map[string]string{"protocolVersion": Rev20250618}, nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.hs.URL, strings.NewReader(req(1, "initialize", `{}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", bothAccept)
		resp, err := f.hs.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel()
	assert.Error(t, <-errc)
	<-returned
	assert.Never(t, func() bool { return f.srv.Sessions() != 0 }, 200*time.Millisecond, 10*time.Millisecond)
}
