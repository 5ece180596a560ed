package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// ErrHandbackFull is returned by [HandbackListener.Handback] when the queue
// of connections waiting for the server's Accept is full; the caller still
// owns the connection (and should close it).
var ErrHandbackFull = errors.New("httpx: handback queue full")

// DefaultHandbackQueue is the default [HandbackOptions.MaxPending].
const DefaultHandbackQueue = 1024

// HandbackOptions configure a [HandbackListener]. The zero value is usable.
type HandbackOptions struct {
	// MaxPending bounds the handed-back connections that the server has
	// not accepted yet. Past it Handback fails with ErrHandbackFull.
	// Default 1024.
	MaxPending int
}

// HandbackListener wraps a listener so that a handler can give a hijacked
// HTTP/1.1 connection back to the http.Server that serves it: the server
// accepts it again and reads its next request from it, starting with the
// bytes the handler had already read ([HandbackListener.Handback]). This is
// the other half of parking idle connections without a goroutine (see
// [Poller]): a handler that serves some requests itself, straight on the
// connection, hands everything else back to net/http.
//
// Use it as the listener of one http.Server and set that server's
// ConnContext to [HandbackListener.ConnContext]; handlers then find the
// listener with [HandbackFor], which says no for TLS and HTTP/2 requests
// and for servers that do not use a HandbackListener. So a handler never
// hijacks a connection it cannot give back.
//
//	hl := httpx.NewHandbackListener(ln, httpx.HandbackOptions{})
//	srv := &http.Server{Handler: h, ConnContext: hl.ConnContext}
//	go srv.Serve(hl)
//
// Accept returns both newly accepted connections and handed-back ones. It
// runs the wrapped listener's Accept in one goroutine owned by the
// HandbackListener (started by the first Accept, ended by Close). Close
// closes the wrapped listener, unblocks Accept, and closes handed-back
// connections not yet accepted. Connections the server accepted are the
// server's, as always; http.Server does not track hijacked connections, so
// whoever hijacks one closes it at shutdown.
//
// All methods are safe for concurrent use.
type HandbackListener struct {
	net.Listener
	back     chan net.Conn
	accepted chan acceptResult
	closing  chan struct{}
	start    sync.Once
	loopDone chan struct{}

	mu     sync.Mutex // orders Handback against Close's drain
	closed bool
}

type acceptResult struct {
	c   net.Conn
	err error
}

// NewHandbackListener wraps ln.
func NewHandbackListener(ln net.Listener, opts HandbackOptions) *HandbackListener {
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultHandbackQueue
	}
	return &HandbackListener{Listener: ln, back: make(chan net.Conn, opts.MaxPending),
		accepted: make(chan acceptResult), closing: make(chan struct{}), loopDone: make(chan struct{})}
}

// Accept returns the next handed-back or newly accepted connection.
// Handed-back connections go first.
func (l *HandbackListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.back:
		return c, nil
	default:
	}
	select {
	case c := <-l.back:
		return c, nil
	case r := <-l.accepted:
		return r.c, r.err
	case <-l.closing:
		return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: net.ErrClosed}
	}
}

func (l *HandbackListener) acceptLoop() {
	defer close(l.loopDone)
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.closing:
			if c != nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Handback queues c, hijacked from a request that arrived through this
// listener, for the server to accept again; buffered are bytes already read
// from c (a pipelined request, or a request the handler looked at and chose
// not to serve) that the server reads first. It takes ownership of c unless
// it returns an error: ErrHandbackFull, or net.ErrClosed after Close.
//
// Pass the connection itself, not a wrapper: the one from Hijack, or the
// net.Conn returned by [UnwrapConn]. The caller must have cleared any
// deadlines it set and must not use c afterwards.
func (l *HandbackListener) Handback(c net.Conn, buffered []byte) error {
	inner, pending := UnwrapConn(c)
	if len(pending) > 0 {
		buffered = append(buffered[:len(buffered):len(buffered)], pending...)
	}
	if len(buffered) > 0 {
		c = &replayConn{Conn: inner, buf: buffered}
	} else {
		c = inner
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return net.ErrClosed
	}
	select {
	case l.back <- c:
		return nil
	default:
		return ErrHandbackFull
	}
}

// Close closes the wrapped listener, ends Accept, and closes the
// handed-back connections that were not accepted.
func (l *HandbackListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.closing)
	l.mu.Unlock()
	err := l.Listener.Close()
	l.start.Do(func() { close(l.loopDone) }) // never started
	<-l.loopDone
	for {
		select {
		case c := <-l.back:
			c.Close()
		default:
			return err
		}
	}
}

type handbackKey struct{}

// ConnContext is an http.Server.ConnContext that marks the connections of
// this listener, for [HandbackFor]. Only sockets are marked (a
// [syscall.Conn], possibly handed back): not TLS connections, not in-memory
// pipes. If the server needs a ConnContext of its own, call this one from
// it.
func (l *HandbackListener) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if _, ok := c.(*tls.Conn); ok {
		return ctx
	}
	if rc, ok := c.(*replayConn); ok {
		c = rc.Conn // not UnwrapConn: the server has yet to read the bytes
	}
	if !isSyscallConn(c) {
		return ctx
	}
	return context.WithValue(ctx, handbackKey{}, l)
}

func isSyscallConn(c net.Conn) bool {
	_, ok := c.(syscall.Conn)
	return ok
}

// HandbackFor returns the listener r's connection can be handed back to,
// or nil: when the server does not use [HandbackListener.ConnContext], and
// always for TLS (r.TLS != nil) and for any protocol but HTTP/1.x (an
// HTTP/2 stream is not a connection). A handler hijacks for a handback only
// when HandbackFor is not nil.
func HandbackFor(r *http.Request) *HandbackListener {
	if r.TLS != nil || r.ProtoMajor != 1 {
		return nil
	}
	l, _ := r.Context().Value(handbackKey{}).(*HandbackListener)
	return l
}

// UnwrapConn returns the connection under a handed-back connection and the
// bytes it had not replayed yet; for any other connection, c and nil. Call
// it on a connection hijacked through a [HandbackListener] before using its
// file descriptor (a [Poller] watch): replayed bytes are not on the socket.
func UnwrapConn(c net.Conn) (net.Conn, []byte) {
	rc, ok := c.(*replayConn)
	if !ok {
		return c, nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	b := rc.buf
	rc.buf = nil
	return rc.Conn, b
}

// replayConn reads buf before the connection.
type replayConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		if len(c.buf) == 0 {
			c.buf = nil
		}
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}
