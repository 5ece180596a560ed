package sse

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/sse/parser"
)

// startServer runs s on a loopback httptest server and shuts both down at
// the end of the test.
func startServer(t *testing.T, s *Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, s.Shutdown(ctx))
		ts.Close()
	})
	return ts
}

type stream struct {
	resp   *http.Response
	events chan parser.Event
	done   chan error
	cancel context.CancelFunc
}

// open connects to url and parses events into a channel.
func open(t *testing.T, client *http.Client, url string, header http.Header) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	st := &stream{resp: resp, events: make(chan parser.Event, 10000), done: make(chan error, 1), cancel: cancel}
	go func() {
		defer close(st.events)
		p := parser.New(resp.Body, parser.Options{})
		for {
			ev, err := p.Next()
			if err != nil {
				st.done <- err
				return
			}
			st.events <- ev
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		for range st.events {
		}
	})
	return st
}

func (st *stream) next(t *testing.T) parser.Event {
	t.Helper()
	select {
	case ev, ok := <-st.events:
		if !ok {
			t.Fatalf("stream ended: %v", <-st.done)
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20s")
	}
	return parser.Event{}
}

func publish(t *testing.T, s *Server, topic string, ev Event) eventstore.ID {
	t.Helper()
	id, err := s.Publish(context.Background(), topic, ev)
	require.NoError(t, err)
	return id
}

func TestHeadersFlushedAtOnceAndEvents(t *testing.T) {
	forModes(t, func(t *testing.T, hd bool) {
		s := NewServer(Options{Retry: 1500 * time.Millisecond, HighDensity: hd})
		ts := startServer(t, s)
		// Raw connection: headers and the retry hint arrive before any event.
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
		assert.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
		assert.Empty(t, resp.Header.Values("Connection"))
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "retry: 1500\n", line)
		conn.Close()

		st := open(t, http.DefaultClient, ts.URL, nil)
		require.Eventually(t, func() bool { return s.Count() == 1 }, 10*time.Second, 5*time.Millisecond)
		id1 := publish(t, s, DefaultTopic, Event{Data: []byte("one\ntwo")})
		id2 := publish(t, s, DefaultTopic, Event{Type: "named", Data: []byte(`{"a":1}`)})
		assert.Equal(t, parser.Event{Type: "message", Data: "one\ntwo", ID: id1.String()}, st.next(t))
		assert.Equal(t, parser.Event{Type: "named", Data: `{"a":1}`, ID: id2.String()}, st.next(t))
		_, err = s.Publish(context.Background(), DefaultTopic, Event{Type: "a\nb"})
		assert.ErrorIs(t, err, ErrInvalidType)
		_, err = s.Publish(context.Background(), DefaultTopic, Event{ID: "x"})
		assert.Error(t, err)
	})
}

func TestAuthorizeChoosesTopics(t *testing.T) {
	s := NewServer(Options{Authorize: func(r *http.Request) ([]string, error) {
		switch r.URL.Query().Get("user") {
		case "":
			return nil, &StatusError{Code: http.StatusUnauthorized, Msg: "login"}
		case "mallory":
			return nil, errors.New("no")
		}
		return r.URL.Query()["topic"], nil
	}})
	ts := startServer(t, s)
	for q, code := range map[string]int{"": 401, "?user=mallory": 403, "?user=bob": 403} {
		resp, err := http.Get(ts.URL + q)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, code, resp.StatusCode, q)
	}
	ab := open(t, http.DefaultClient, ts.URL+"?user=bob&topic=a&topic=b", nil)
	b := open(t, http.DefaultClient, ts.URL+"?user=bob&topic=b", nil)
	require.Eventually(t, func() bool { return s.Count() == 2 }, 10*time.Second, 5*time.Millisecond)
	publish(t, s, "a", Event{Data: []byte("to a")})
	publish(t, s, "b", Event{Data: []byte("to b")})
	assert.Equal(t, "to a", ab.next(t).Data)
	assert.Equal(t, "to b", ab.next(t).Data)
	assert.Equal(t, "to b", b.next(t).Data)
}

// TestReplayThenLiveExactlyOnce publishes continuously while clients
// reconnect from many positions: every client sees a gapless, duplicate-free
// sequence after its Last-Event-ID.
func TestReplayThenLiveExactlyOnce(t *testing.T) {
	forModes(t, func(t *testing.T, hd bool) {
		s := NewServer(Options{HighDensity: hd})
		ts := startServer(t, s)
		var ids []eventstore.ID
		for i := range 50 {
			ids = append(ids, publish(t, s, DefaultTopic, Event{Data: []byte(strconv.Itoa(i))}))
		}
		var n atomic.Int64
		n.Store(50)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Load()
				_, err := s.Publish(context.Background(), DefaultTopic, Event{Data: []byte(strconv.FormatInt(i, 10))})
				if err != nil {
					return
				}
				n.Add(1)
				time.Sleep(100 * time.Microsecond)
			}
		}()
		for _, from := range []int{0, 10, 25, 49} {
			st := open(t, http.DefaultClient, ts.URL, http.Header{"Last-Event-Id": {ids[from].String()}})
			for want := from + 1; want < from+200; want++ {
				ev := st.next(t)
				require.Equal(t, strconv.Itoa(want), ev.Data, "client from %d", from)
			}
			st.cancel()
		}
		close(stop)
		wg.Wait()
	})
}

func TestUnknownOrEvictedIDResets(t *testing.T) {
	store := eventstore.NewMemory(eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 3}})
	defer store.Close()
	var gaps []error
	var mu sync.Mutex
	s := NewServer(Options{Store: store, OnGap: func(r *http.Request, topic string, err error) {
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, DefaultTopic, topic)
		gaps = append(gaps, err)
	}})
	ts := startServer(t, s)
	first := publish(t, s, DefaultTopic, Event{Data: []byte("0")})
	for i := 1; i < 6; i++ {
		publish(t, s, DefaultTopic, Event{Data: []byte(strconv.Itoa(i))})
	}
	for _, h := range []string{first.String(), "garbage", strings.Repeat("9", 300), "1-\u00e9"} {
		st := open(t, http.DefaultClient, ts.URL, http.Header{"Last-Event-Id": {h}})
		ev := st.next(t)
		assert.Equal(t, parser.Event{Type: DefaultResetEvent, Data: DefaultTopic}, ev, "%q", h)
		require.Eventually(t, func() bool { return s.Count() == 1 }, 10*time.Second, 5*time.Millisecond)
		publish(t, s, DefaultTopic, Event{Data: []byte("live")})
		assert.Equal(t, "live", st.next(t).Data)
		st.cancel()
		require.Eventually(t, func() bool { return s.Count() == 0 }, 10*time.Second, 5*time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, gaps, 4)
	assert.ErrorIs(t, gaps[0], eventstore.ErrGap)
	assert.ErrorIs(t, gaps[1], ErrBadLastEventID)
}

func TestMultiTopicReplayMergesInOrder(t *testing.T) {
	s := NewServer(Options{Authorize: func(r *http.Request) ([]string, error) { return []string{"a", "b"}, nil }})
	ts := startServer(t, s)
	var ids []eventstore.ID
	for i := range 10 {
		ids = append(ids, publish(t, s, []string{"a", "b"}[i%2], Event{Data: []byte(strconv.Itoa(i))}))
	}
	// The ID of an "a" event: "b" resumes by time and skips what came before.
	st := open(t, http.DefaultClient, ts.URL, http.Header{"Last-Event-Id": {ids[4].String()}})
	for want := 5; want < 10; want++ {
		ev := st.next(t)
		assert.Equal(t, strconv.Itoa(want), ev.Data)
		assert.Equal(t, ids[want].String(), ev.ID)
	}
}

func TestPublishValueAndSend(t *testing.T) {
	type tick struct {
		N int `json:"n"`
	}
	var conn atomic.Pointer[Conn]
	s := NewServer(Options{OnConnect: func(c *Conn) { conn.Store(c) }})
	ts := startServer(t, s)
	st := open(t, http.DefaultClient, ts.URL, nil)
	require.Eventually(t, func() bool { return conn.Load() != nil }, 10*time.Second, 5*time.Millisecond)
	_, err := PublishValue(context.Background(), s, codec.TypedJSONCodec[tick, tick]{}, DefaultTopic, "tick", tick{N: 7})
	require.NoError(t, err)
	ev := st.next(t)
	assert.Equal(t, "tick", ev.Type)
	assert.JSONEq(t, `{"n":7}`, ev.Data)
	require.NoError(t, conn.Load().Send(Event{Type: "private", Data: []byte("just you")}))
	assert.Equal(t, parser.Event{Type: "private", Data: "just you", ID: ev.ID}, st.next(t))
	assert.ErrorIs(t, conn.Load().Send(Event{ID: "a\rb"}), ErrInvalidID)
	require.NoError(t, s.Send(conn.Load().ID(), Event{Data: []byte("by id")}))
	assert.Equal(t, "by id", st.next(t).Data)
	assert.ErrorIs(t, s.Send(conn.Load().ID()+100, Event{Data: []byte("x")}), ErrConnClosed)

	bin := codec.Funcs[any, []byte]{EncodeFunc: func(v []byte) ([]byte, codec.MessageType, error) { return v, codec.Binary, nil }}
	_, err = PublishValue(context.Background(), s, bin, DefaultTopic, "", []byte{1})
	assert.ErrorIs(t, err, ErrBinary)
}

func TestShutdownEndsStreamsWithRetryHint(t *testing.T) {
	forModes(t, func(t *testing.T, hd bool) {
		var disconnects atomic.Int64
		s := NewServer(Options{HighDensity: hd, ShutdownRetry: 3 * time.Second, OnDisconnect: func(c *Conn, err error) {
			assert.ErrorIs(t, err, ErrServerClosed)
			disconnects.Add(1)
		}})
		ts := httptest.NewServer(s)
		defer ts.Close()
		var bodies []io.ReadCloser
		for range 3 {
			resp, err := http.Get(ts.URL)
			require.NoError(t, err)
			bodies = append(bodies, resp.Body)
		}
		require.Eventually(t, func() bool { return s.Count() == 3 }, 10*time.Second, 5*time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
		for _, b := range bodies {
			all, err := io.ReadAll(b)
			require.NoError(t, err, "stream ends cleanly")
			assert.Equal(t, "retry: 3000\n\n", string(all))
			b.Close()
		}
		assert.Equal(t, int64(3), disconnects.Load())
		resp, err := http.Get(ts.URL)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		_, err = s.Publish(context.Background(), DefaultTopic, Event{Data: []byte("x")})
		assert.ErrorIs(t, err, ErrServerClosed)
		assert.NoError(t, s.Shutdown(ctx), "idempotent")
	})
}

func TestHTTP2(t *testing.T) {
	forModes(t, func(t *testing.T, hd bool) {
		s := NewServer(Options{HighDensity: hd})
		ts := httptest.NewUnstartedServer(s)
		ts.EnableHTTP2 = true
		ts.StartTLS()
		defer ts.Close()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.NoError(t, s.Shutdown(ctx))
		}()
		client := ts.Client()
		st := open(t, client, ts.URL, nil)
		assert.Equal(t, 2, st.resp.ProtoMajor)
		assert.Empty(t, st.resp.Header.Values("Connection"))
		require.Eventually(t, func() bool { return s.Count() == 1 }, 10*time.Second, 5*time.Millisecond)
		id := publish(t, s, DefaultTopic, Event{Data: []byte("over h2")})
		assert.Equal(t, parser.Event{Type: "message", Data: "over h2", ID: id.String()}, st.next(t))
		_ = tls.VersionTLS13
	})
}

// wrapped hides the ResponseWriter's optional interfaces, as many
// middlewares do, but offers Unwrap.
type wrapped struct{ w http.ResponseWriter }

func (x *wrapped) Header() http.Header         { return x.w.Header() }
func (x *wrapped) Write(b []byte) (int, error) { return x.w.Write(b) }
func (x *wrapped) WriteHeader(code int)        { x.w.WriteHeader(code) }
func (x *wrapped) Unwrap() http.ResponseWriter { return x.w }

func TestWrappedResponseWriter(t *testing.T) {
	forModes(t, func(t *testing.T, hd bool) {
		s := NewServer(Options{HighDensity: hd})
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.ServeHTTP(&wrapped{w}, r)
		}))
		defer ts.Close()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.NoError(t, s.Shutdown(ctx))
		}()
		st := open(t, http.DefaultClient, ts.URL, nil)
		require.Eventually(t, func() bool { return s.Count() == 1 }, 10*time.Second, 5*time.Millisecond)
		publish(t, s, DefaultTopic, Event{Data: []byte("through a wrapper")})
		assert.Equal(t, "through a wrapper", st.next(t).Data)
	})
}

// fakeWriter is a ResponseWriter for synctest bubbles (no real network).
type fakeWriter struct {
	mu      sync.Mutex
	h       http.Header
	code    int
	buf     bytes.Buffer
	flushes int
	block   chan struct{} // when non-nil, writes block until it is closed or the deadline passes
	dl      time.Time
	// closed and replaced when dl changes
	dlChanged chan struct{}
}

func newFakeWriter() *fakeWriter { return &fakeWriter{h: make(http.Header)} }

// serveFake serves a GET of target to w in a goroutine: cancel ends the
// request's context, done closes when ServeHTTP returns.
func serveFake(s *Server, w *fakeWriter, target string) (cancel context.CancelFunc, done chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	done = make(chan struct{})
	go func() { defer close(done); s.ServeHTTP(w, r) }()
	return cancel, done
}

func (f *fakeWriter) Header() http.Header { return f.h }
func (f *fakeWriter) WriteHeader(code int) {
	f.mu.Lock()
	f.code = code
	f.mu.Unlock()
}
func (f *fakeWriter) Write(b []byte) (int, error) {
	// Like a socket: a blocked write fails when the deadline passes, also
	// when the deadline is moved while it waits.
	for {
		f.mu.Lock()
		block, dl, changed := f.block, f.dl, f.dlChanged
		f.mu.Unlock()
		if block == nil {
			break
		}
		if changed == nil {
			f.mu.Lock()
			f.dlChanged = make(chan struct{})
			f.mu.Unlock()
			continue
		}
		t := time.NewTimer(time.Until(dl))
		select {
		case <-block:
			t.Stop()
			continue
		case <-changed:
			t.Stop()
			continue
		case <-t.C:
			return 0, os_ErrDeadline{}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(b)
}
func (f *fakeWriter) FlushError() error {
	f.mu.Lock()
	f.flushes++
	f.mu.Unlock()
	return nil
}
func (f *fakeWriter) SetWriteDeadline(t time.Time) error {
	f.mu.Lock()
	f.dl = t
	if f.dlChanged != nil {
		close(f.dlChanged)
		f.dlChanged = nil
	}
	f.mu.Unlock()
	return nil
}
func (f *fakeWriter) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String()
}

type os_ErrDeadline struct{}

func (os_ErrDeadline) Error() string { return "i/o timeout" }
func (os_ErrDeadline) Timeout() bool { return true }

func TestKeepaliveOnlyAfterQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{})
		w := newFakeWriter()
		cancel, done := serveFake(s, w, "/")
		synctest.Wait()
		assert.Equal(t, 200, w.code)
		assert.Equal(t, 1, w.flushes, "headers flushed at once")
		assert.Equal(t, "", w.String())

		time.Sleep(10 * time.Second)
		publish(t, s, DefaultTopic, Event{Data: []byte("x")})
		synctest.Wait()
		time.Sleep(14 * time.Second) // 14 s after the event: still quiet enough
		synctest.Wait()
		assert.NotContains(t, w.String(), ":\n\n")
		time.Sleep(5 * time.Second) // 19 s: one keepalive (15 s + up to a quarter period)
		synctest.Wait()
		assert.Equal(t, 1, strings.Count(w.String(), ":\n\n"))
		time.Sleep(19 * time.Second)
		synctest.Wait()
		assert.Equal(t, 2, strings.Count(w.String(), ":\n\n"))

		cancel()
		<-done
		assert.Equal(t, 0, s.Count())
		require.NoError(t, s.Shutdown(context.Background()))
	})
}

func TestWriteDeadlineEvictsStalledWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cause error
		s := NewServer(Options{WriteTimeout: 2 * time.Second, OnDisconnect: func(c *Conn, err error) { cause = err }})
		w := newFakeWriter()
		_, done := serveFake(s, w, "/")
		synctest.Wait()
		w.mu.Lock()
		w.block = make(chan struct{}) // the client stops reading
		w.mu.Unlock()
		start := time.Now()
		publish(t, s, DefaultTopic, Event{Data: []byte("stuck")})
		<-done
		assert.Equal(t, 2*time.Second, time.Since(start))
		assert.ErrorIs(t, cause, ErrSlowClient)
		assert.Equal(t, uint64(1), s.Stats().Evictions)
		require.NoError(t, s.Shutdown(context.Background()))
	})
}

func TestQueueOverflowEvictsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cause error
		s := NewServer(Options{MaxQueueEvents: 4, WriteTimeout: time.Hour, OnDisconnect: func(c *Conn, err error) { cause = err }})
		w := newFakeWriter()
		_, done := serveFake(s, w, "/")
		synctest.Wait()
		w.mu.Lock()
		w.block = make(chan struct{})
		w.mu.Unlock()
		start := time.Now()
		for i := range 10 {
			publish(t, s, DefaultTopic, Event{Data: []byte(strconv.Itoa(i))})
		}
		<-done
		assert.Less(t, time.Since(start), time.Second, "evicted on overflow, not after the hour-long deadline")
		assert.ErrorIs(t, cause, ErrSlowClient)
		require.NoError(t, s.Shutdown(context.Background()))
	})
}

func TestCoalescedWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{})
		w := newFakeWriter()
		cancel, done := serveFake(s, w, "/")
		synctest.Wait()
		w.mu.Lock()
		w.block = make(chan struct{})
		w.dl = time.Now().Add(time.Hour)
		w.mu.Unlock()
		publish(t, s, DefaultTopic, Event{Data: []byte("first")}) // taken by the writer, which blocks
		synctest.Wait()
		for i := range 20 {
			publish(t, s, DefaultTopic, Event{Data: []byte(strconv.Itoa(i))})
		}
		w.mu.Lock()
		close(w.block)
		w.block = nil
		w.mu.Unlock()
		synctest.Wait()
		assert.Equal(t, 21, strings.Count(w.String(), "data: "))
		assert.Equal(t, 3, w.flushes, "headers, the first event, then 20 queued events in one flush")
		cancel()
		<-done
		require.NoError(t, s.Shutdown(context.Background()))
	})
}

// TestShutdownBoundedWithStalledClient: a client that stopped reading
// cannot hold Shutdown beyond its context: the blocked write is aborted.
func TestShutdownBoundedWithStalledClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cause error
		s := NewServer(Options{WriteTimeout: time.Hour, OnDisconnect: func(c *Conn, err error) { cause = err }})
		w := newFakeWriter()
		_, done := serveFake(s, w, "/")
		synctest.Wait()
		w.mu.Lock()
		w.block = make(chan struct{})
		w.mu.Unlock()
		publish(t, s, DefaultTopic, Event{Data: []byte("stuck")})
		synctest.Wait()

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err := s.Shutdown(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 2*time.Second, time.Since(start))
		<-done
		assert.Equal(t, 2*time.Second, time.Since(start), "the handler ended when Shutdown gave up, not after the hour-long write deadline")
		assert.ErrorIs(t, cause, ErrServerClosed)
		assert.Equal(t, 0, s.Count())
	})
}

// TestClientGoneFoundBySweep: the request goroutine waits on its
// connection alone, so a client that leaves while nothing is written is
// found by the server's sweep of request contexts, within goneCheck, also
// with keepalives off.
func TestClientGoneFoundBySweep(t *testing.T) {
	for _, ka := range []time.Duration{-1, 0} {
		t.Run(fmt.Sprint("keepalive=", ka), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var cause error
				var at time.Time
				s := NewServer(Options{KeepAlive: ka, OnDisconnect: func(c *Conn, err error) { cause, at = err, time.Now() }})
				w := newFakeWriter()
				cancel, done := serveFake(s, w, "/")
				synctest.Wait()
				require.Equal(t, 1, s.Count())
				time.Sleep(300 * time.Millisecond) // between two sweeps
				gone := time.Now()
				cancel()
				<-done
				assert.ErrorIs(t, cause, ErrClientGone)
				assert.Greater(t, at.Sub(gone), time.Duration(0))
				assert.LessOrEqual(t, at.Sub(gone), goneCheck)
				assert.Equal(t, 0, s.Count())
				assert.Equal(t, "", w.String(), "nothing written after the headers")
				require.NoError(t, s.Shutdown(context.Background()))
			})
		})
	}
}

// TestSweepLeavesLiveConnections: the sweep ends only streams whose
// request context ended.
func TestSweepLeavesLiveConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{KeepAlive: -1})
		ws := []*fakeWriter{newFakeWriter(), newFakeWriter()}
		ctx0, cancel0 := context.WithCancel(context.Background())
		ctx1, cancel1 := context.WithCancel(context.Background())
		done := make(chan struct{}, 2)
		for i, ctx := range []context.Context{ctx0, ctx1} {
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
			go func() { defer func() { done <- struct{}{} }(); s.ServeHTTP(ws[i], r) }()
		}
		synctest.Wait()
		cancel0()
		<-done
		time.Sleep(10 * goneCheck)
		synctest.Wait()
		assert.Equal(t, 1, s.Count())
		publish(t, s, DefaultTopic, Event{Data: []byte("still here")})
		synctest.Wait()
		assert.Contains(t, ws[1].String(), "data: still here\n\n")
		assert.NotContains(t, ws[0].String(), "still here")
		cancel1()
		<-done
		require.NoError(t, s.Shutdown(context.Background()))
	})
}
