package streamable

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func recorderPOST(srv *Server, sid, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", bothAccept)
	if sid != "" {
		r.Header.Set(HeaderSessionID, sid)
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	return w
}

func TestSessionIdleTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var closed atomic.Int32
		h := &testHandler{}
		srv, err := NewServer(ServerOptions{Handle: h.handle, Response: ResponseJSON, SessionTTL: time.Minute,
			OnSessionClosed: func(*Session) { closed.Add(1) }})
		require.NoError(t, err)
		w := recorderPOST(srv, "", req(1, "initialize", `{"protocolVersion":"2025-06-18"}`))
		require.Equal(t, http.StatusOK, w.Code)
		sid := w.Header().Get(HeaderSessionID)
		require.NotEmpty(t, sid)

		time.Sleep(50 * time.Second)
		assert.Equal(t, http.StatusOK, recorderPOST(srv, sid, req(2, "ping", "")).Code, "activity keeps it alive")
		time.Sleep(50 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, srv.Sessions(), "idle 50s of a 1m TTL")
		time.Sleep(11 * time.Second)
		synctest.Wait()
		assert.Equal(t, 0, srv.Sessions())
		assert.Equal(t, int32(1), closed.Load())
		assert.Equal(t, http.StatusNotFound, recorderPOST(srv, sid, req(2, "ping", "")).Code)
		require.NoError(t, srv.Close(context.Background()))
	})
}

// A session with a request in progress does not expire under it.
func TestSessionBusyDoesNotExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &testHandler{release: make(chan struct{})}
		srv, err := NewServer(ServerOptions{Handle: h.handle, Response: ResponseJSON, SessionTTL: time.Minute})
		require.NoError(t, err)
		sid := recorderPOST(srv, "", req(1, "initialize", `{"protocolVersion":"2025-06-18"}`)).Header().Get(HeaderSessionID)
		done := make(chan int)
		go func() { done <- recorderPOST(srv, sid, req(2, "block", `{}`)).Code }()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		assert.Equal(t, 1, srv.Sessions())
		close(h.release)
		assert.Equal(t, http.StatusOK, <-done)
		time.Sleep(61 * time.Second)
		synctest.Wait()
		assert.Equal(t, 0, srv.Sessions())
		require.NoError(t, srv.Close(context.Background()))
	})
}

// syncWriter is a ResponseWriter safe to read while a stream writes to it.
type syncWriter struct {
	mu     sync.Mutex
	header http.Header
	buf    strings.Builder
	code   int
}

func (w *syncWriter) Header() http.Header { return w.header }
func (w *syncWriter) WriteHeader(c int) {
	w.mu.Lock()
	w.code = c
	w.mu.Unlock()
}
func (w *syncWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}
func (w *syncWriter) Flush() {}
func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Keepalive comments come every KeepAlive on an idle stream, and stop
// (with their goroutine) when the stream ends.
func TestKeepAliveSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
		w := &syncWriter{header: http.Header{}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Serve(w, r, StreamReply(func(s *Stream) error {
				<-s.Context().Done() // an idle producer
				return nil
			}), &Options{KeepAlive: 15 * time.Second})
		}()
		time.Sleep(46 * time.Second)
		synctest.Wait()
		assert.Equal(t, 3, strings.Count(w.String(), ": keepalive\n\n"))
		assert.Equal(t, "no", w.Header().Get("X-Accel-Buffering"))
		cancel()
		<-done
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, 3, strings.Count(w.String(), ": keepalive\n\n"), "none after the stream ended")
	})
}
