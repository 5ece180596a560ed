package authretry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

const (
	oldToken = "old-token-0123456789"
	newToken = "new-token-9876543210"
)

// newServer starts a loopback server and stops it, and any idle client
// connections, when the test ends.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newBase returns a fresh http.Transport whose idle connections are closed
// at the end of the test (goleak would see their goroutines otherwise).
func newBase(t *testing.T) *http.Transport {
	t.Helper()
	b := &http.Transport{MaxIdleConnsPerHost: 200}
	t.Cleanup(b.CloseIdleConnections)
	return b
}

// handlerTransport sends requests straight to an http.Handler in memory, so
// tests inside a synctest bubble need no sockets.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	in := r.Clone(r.Context()) // a server always sees a non-nil Body
	if in.Body == nil {
		in.Body = http.NoBody
	}
	ht.h.ServeHTTP(rec, in)
	if r.Body != nil {
		_ = r.Body.Close()
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// trackedBody records whether Close was called.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error {
	b.closed.Store(true)
	return nil
}

// recorder remembers the Authorization header of every request it serves.
type recorder struct {
	mu    sync.Mutex
	auths []string
}

func (r *recorder) add(v string) {
	r.mu.Lock()
	r.auths = append(r.auths, v)
	r.mu.Unlock()
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auths...)
}

func newTLSServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}
