package httpx

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handbackServer serves h on a HandbackListener over 127.0.0.1:0.
func handbackServer(t *testing.T, h http.Handler, opts HandbackOptions) (*HandbackListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl := NewHandbackListener(ln, opts)
	srv := &http.Server{Handler: h, ConnContext: hl.ConnContext}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(hl)
	}()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		<-done
	})
	return hl, ln.Addr().String()
}

// The handler of /hijack answers itself on the raw connection, then hands
// the connection back with what its bufio.Reader had already read: the
// pipelined request that follows is served by net/http.
func TestHandbackServesNextRequest(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		hl := HandbackFor(r)
		if !assert.NotNil(t, hl) {
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nraw-ok")
		buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
		assert.NoError(t, hl.Handback(c, buffered))
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "plain-ok")
	})
	_, addr := handbackServer(t, mux, HandbackOptions{})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	// Pipelined: the second request is in net/http's buffer at Hijack.
	_, err = io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	for _, want := range []string{"raw-ok", "plain-ok"} {
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, want, string(body))
	}
	// And again on the same connection, one request at a time: a
	// handed-back connection can be hijacked and handed back again.
	for range 3 {
		_, err = io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, "raw-ok", string(body))
		_, err = io.WriteString(c, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err = http.ReadResponse(br, nil)
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		assert.Equal(t, "plain-ok", string(body))
	}
}

// A handler that reads the next request itself hands back those bytes.
func TestHandbackReplaysBytes(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		hl := HandbackFor(r)
		c, _, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		// Read part of the next request, as a handler deciding what it
		// is would, then give it back.
		buf := make([]byte, 10)
		n, err := io.ReadFull(c, buf)
		if !assert.NoError(t, err) {
			return
		}
		assert.NoError(t, hl.Handback(c, buf[:n]))
	})
	mux.HandleFunc("/plain/{name}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hi "+r.PathValue("name"))
	})
	_, addr := handbackServer(t, mux, HandbackOptions{})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	_, err = io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.ReadAll(resp.Body)
	_, err = io.WriteString(c, "GET /plain/replayed HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "hi replayed", string(body))
}

func TestHandbackForNeedsMarkedPlainHTTP1(t *testing.T) {
	seen := make(chan *HandbackListener, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- HandbackFor(r) })

	// No ConnContext: nil.
	plain := httptest.NewServer(h)
	defer plain.Close()
	resp, err := plain.Client().Get(plain.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Nil(t, <-seen)

	// Marked plain HTTP/1.1: the listener.
	hl, addr := handbackServer(t, h, HandbackOptions{})
	resp, err = http.Get("http://" + addr)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Same(t, hl, <-seen)

	// TLS with HTTP/2 through a marked listener: nil.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl2 := NewHandbackListener(ln, HandbackOptions{})
	ts := httptest.NewUnstartedServer(h)
	ts.Listener = hl2
	ts.Config.ConnContext = hl2.ConnContext
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	resp, err = ts.Client().Get(ts.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 2, resp.ProtoMajor)
	assert.Nil(t, <-seen)

	// A request whose context was marked but that is TLS: nil.
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(hl.ConnContext(r.Context(), &net.TCPConn{}))
	assert.Same(t, hl, HandbackFor(r))
	r.TLS = &tls.ConnectionState{}
	assert.Nil(t, HandbackFor(r))
	assert.Equal(t, r.Context(), hl.ConnContext(r.Context(), &tls.Conn{}))
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	assert.Equal(t, r.Context(), hl.ConnContext(r.Context(), a), "no socket under a pipe")
}

func TestHandbackCloseUnblocksAcceptAndClosesPending(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl := NewHandbackListener(ln, HandbackOptions{MaxPending: 1})
	s, c := tcpPair(t)
	require.NoError(t, hl.Handback(s, []byte("GET")))
	s2, _ := tcpPair(t)
	assert.ErrorIs(t, hl.Handback(s2, nil), ErrHandbackFull)

	errc := make(chan error, 1)
	go func() {
		// The pending connection first, then a blocked Accept.
		got, err := hl.Accept()
		if err == nil {
			inner, pending := UnwrapConn(got)
			assert.Same(t, s, inner)
			assert.Equal(t, "GET", string(pending))
			_, err = hl.Accept()
		}
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, hl.Close())
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Accept not unblocked by Close")
	}
	assert.ErrorIs(t, hl.Handback(s2, nil), net.ErrClosed)
	require.NoError(t, hl.Close())

	// A handed-back connection that was never accepted is closed by Close.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl2 := NewHandbackListener(ln2, HandbackOptions{})
	s3, c3 := tcpPair(t)
	require.NoError(t, hl2.Handback(s3, nil))
	require.NoError(t, hl2.Close())
	_ = c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c3.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)
	_ = c
}

func TestUnwrapConn(t *testing.T) {
	s, _ := tcpPair(t)
	got, pending := UnwrapConn(s)
	assert.Same(t, s, got)
	assert.Nil(t, pending)
	rc := &replayConn{Conn: s, buf: []byte("abc")}
	buf := make([]byte, 2)
	n, err := rc.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "ab", string(buf[:n]))
	got, pending = UnwrapConn(rc)
	assert.Same(t, s, got)
	assert.Equal(t, "c", string(pending))
	assert.True(t, strings.HasPrefix(s.LocalAddr().String(), "127.0.0.1"))
}
