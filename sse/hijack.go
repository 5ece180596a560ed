package sse

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/streamkit-dev/streamkit/httpx"
)

// rawConn is a hijacked HTTP/1.1 connection in high-density mode: the
// server writes the response head and the chunked body itself, so that an
// idle stream holds no goroutine and none of net/http's buffers.
type rawConn struct {
	conn net.Conn
	// head is the status line and header block, sent with the first write.
	// last makes a write end the body (the terminating chunk). Both are
	// used by the connection's writer only.
	head []byte
	last bool

	mu      sync.Mutex
	stop    func() bool // disarms the close watch
	started bool        // OnConnect ran, so OnDisconnect will
	ended   bool
}

var (
	crlf       = []byte("\r\n")
	lastChunk  = []byte("0\r\n\r\n")
	statusLine = []byte("HTTP/1.1 200 OK\r\n")
)

// write sends b as one chunk (after the head, the first time), ending the
// body if last is set, in one write system call.
func (r *rawConn) write(s *Server, b []byte) error {
	if len(b) == 0 && r.head == nil && !r.last {
		return nil
	}
	bp := s.getBuf()
	out := append((*bp)[:0], r.head...)
	if len(b) > 0 { // an empty chunk would end the body
		out = strconv.AppendUint(out, uint64(len(b)), 16)
		out = append(out, crlf...)
		out = append(out, b...)
		out = append(out, crlf...)
	}
	if r.last {
		out = append(out, lastChunk...)
	}
	_, err := r.conn.Write(out)
	if err == nil {
		r.head = nil
	}
	*bp = out
	s.putBuf(bp)
	return err
}

// watch arms close detection: onGone runs when the peer closes, resets or
// sends anything (an SSE client sends nothing after its request).
func (r *rawConn) watch(p *httpx.Poller, onGone func()) {
	if p == nil {
		return // no poller: a dead peer is found by the next write
	}
	stop, err := p.Watch(r.conn, onGone)
	if err != nil {
		return
	}
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		stop()
		return
	}
	r.stop = stop
	r.mu.Unlock()
}

// end closes the connection once the stream has ended (on the writer that
// settled it) and unregisters it.
func (r *rawConn) end(c *Conn) {
	r.mu.Lock()
	r.ended = true
	stop, started := r.stop, r.started
	r.stop = nil
	r.mu.Unlock()
	if stop != nil {
		stop()
	}
	_ = r.conn.Close()
	c.mu.Lock()
	err := c.cause
	c.mu.Unlock()
	c.s.end(c, err, started)
}

// highDensity reports whether r is served in high-density mode: plain
// HTTP/1.1 only. HTTP/2 multiplexes streams on one connection, HTTP/1.0
// cannot carry a chunked body, and a hijacked TLS connection keeps its TLS
// buffers (and has no descriptor to watch), so nothing would be saved.
func (s *Server) highDensity(r *http.Request) bool {
	return s.opts.HighDensity && r.ProtoMajor == 1 && r.ProtoMinor == 1 && r.TLS == nil
}

// appendHead appends the response head: the status line, h (the headers
// the handler and any middleware set), Date and Transfer-Encoding. Never
// Connection: the connection is closed when the stream ends.
func appendHead(b []byte, h http.Header) []byte {
	h = h.Clone()
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Transfer-Encoding", "chunked")
	h.Del("Connection")
	h.Del("Content-Length")
	var buf bytes.Buffer
	_ = h.Write(&buf) // to a buffer: no error; drops invalid field names and cleans CR/LF in values
	b = append(b, statusLine...)
	b = append(b, buf.Bytes()...)
	return append(b, crlf...)
}

// openRaw hijacks the connection and starts a high-density stream. It
// returns nil, false when the writer cannot be hijacked (the caller keeps
// the normal path), and nil, true when the request was answered.
func (s *Server) openRaw(w http.ResponseWriter, r *http.Request, topics []string) (*Conn, bool) {
	head := appendHead(nil, w.Header())
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, false
	}
	// net/http's read and write deadlines (Server.ReadTimeout and
	// WriteTimeout) no longer apply; every write sets its own. Its
	// buffered reader and writer are dropped: nothing is read, and
	// nothing was written yet.
	_ = conn.SetDeadline(time.Time{})
	c := newConn(s, r, topics)
	c.raw = &rawConn{conn: conn, head: head}
	var first []byte
	if s.opts.Retry > 0 {
		first = AppendRetry(nil, s.opts.Retry)
	}
	if !s.register(c) {
		s.release(topics)
		c.raw.last = true
		_ = c.writeSync(AppendRetry(nil, s.opts.ShutdownRetry))
		c.kill(ErrServerClosed) // the writer closes the connection
		c.finished.Wait()
		s.retireIfIdle()
		return nil, true
	}
	if err := c.writeSync(first); err != nil {
		return nil, true // the writer ended and unregistered it
	}
	s.stats.connects.Add(1)
	if s.opts.OnConnect != nil {
		s.opts.OnConnect(c)
	}
	c.raw.mu.Lock()
	c.raw.started = true
	c.raw.mu.Unlock()
	c.raw.watch(s.pollerFor(), func() {
		c.kill(ErrClientGone)
		c.abortWrite()
	})
	if err := s.replay(r.Context(), c, r.Header.Get("Last-Event-ID")); err != nil {
		c.kill(err)
	}
	c.startLive()
	return c, true
}
