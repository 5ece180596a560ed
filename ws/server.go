package ws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
)

// Handler decides, before the upgrade, whether a request may become a
// connection and what Session runs it. Accept may read the request
// (cookies, headers, query) but must not write a response: return a
// *StatusError to refuse with a status (any other error refuses with 403).
// Accept runs on the request's goroutine, concurrently for different
// requests.
type Handler[I, O any] interface {
	Accept(r *http.Request) (Session[I, O], error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc[I, O any] func(r *http.Request) (Session[I, O], error)

// Accept calls f(r).
func (f HandlerFunc[I, O]) Accept(r *http.Request) (Session[I, O], error) { return f(r) }

// Server is an http.Handler that upgrades requests to WebSocket connections
// and runs their lifecycle. It tracks its connections so Shutdown can close
// them. A Server is safe for concurrent use.
type Server[I, O any] struct {
	h       Handler[I, O]
	codec   codec.Codec[I, O]
	env     *env
	up      websocket.Upgrader
	origin  func(*http.Request) bool
	nextID  atomic.Uint64
	pending atomic.Int64 // connections counted against MaxConns

	mu     sync.Mutex
	conns  map[*Conn[I, O]]struct{}
	closed bool
}

// NewServer returns a Server that accepts requests with h and speaks c. opts
// may be nil (every default).
func NewServer[I, O any](h Handler[I, O], c codec.Codec[I, O], opts *Options) *Server[I, O] {
	s := &Server[I, O]{h: h, codec: c, env: newEnv(opts), conns: make(map[*Conn[I, O]]struct{})}
	o := s.env.opts
	s.origin = originChecker(o)
	readSize := o.ReadBufferSize
	if readSize > 256 {
		readSize = 0 // gorilla then uses the reader batchHijacker made
	}
	s.up = websocket.Upgrader{
		HandshakeTimeout:  o.HandshakeTimeout,
		ReadBufferSize:    readSize,
		WriteBufferSize:   o.WriteBufferSize,
		WriteBufferPool:   &s.env.writePool,
		Subprotocols:      o.Subprotocols,
		EnableCompression: o.Compression,
		// The origin was checked before Accept; gorilla must not redo it
		// with its narrower rule.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			s.refuse(w, r, status, reason)
		},
	}
	return s
}

// ServeHTTP upgrades the request, runs the connection's read loop on a new
// goroutine and returns (so net/http's per-request buffers are freed). Every
// refusal writes exactly one response: 503 after Shutdown or at MaxConns,
// 403 for a foreign origin, 400 for a request that is not a WebSocket
// handshake, the Accept error's status, or gorilla's handshake error.
func (s *Server[I, O]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		s.refuse(w, r, http.StatusServiceUnavailable, ErrServerClosed)
		return
	}
	if !s.origin(r) {
		s.refuse(w, r, http.StatusForbidden, fmt.Errorf("ws: origin %q not allowed", r.Header.Get("Origin")))
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		s.refuse(w, r, http.StatusUpgradeRequired, errors.New("ws: not a websocket handshake"))
		return
	}
	sess, err := s.h.Accept(r)
	if err != nil {
		status := http.StatusForbidden
		var se *StatusError
		if errors.As(err, &se) && se.Status >= 400 {
			status = se.Status
		}
		s.refuse(w, r, status, err)
		return
	}
	if sess == nil {
		s.refuse(w, r, http.StatusInternalServerError, errors.New("ws: Accept returned a nil Session"))
		return
	}
	if max := s.env.opts.MaxConns; max > 0 {
		if s.pending.Add(1) > int64(max) {
			s.pending.Add(-1)
			s.refuse(w, r, http.StatusServiceUnavailable, ErrTooManyConns)
			return
		}
	}
	bw := &batchHijacker{ResponseWriter: w, pool: &s.env.batchPool, stash: &s.env.stashPool, readSize: s.env.opts.ReadBufferSize}
	wc, err := s.up.Upgrade(bw, r, nil)
	if err != nil {
		// gorilla has written the response through s.refuse.
		if s.env.opts.MaxConns > 0 {
			s.pending.Add(-1)
		}
		return
	}
	c := newConn(s.env, s.nextID.Add(1), wc, bw.bc, s.codec, sess)
	s.mu.Lock()
	closed = s.closed
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.onClose(func() {
		if s.env.opts.MaxConns > 0 {
			s.pending.Add(-1)
		}
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	})
	if closed {
		// Shutdown began during the handshake.
		c.startClose(&CloseError{Code: CloseGoingAway, Reason: "server shutting down", Err: ErrServerClosed}, true)
	}
	go c.run()
}

func (s *Server[I, O]) refuse(w http.ResponseWriter, r *http.Request, status int, reason error) {
	if l := s.env.opts.Logger; l != nil {
		l.Debug("ws: upgrade refused", "status", status, "remote", r.RemoteAddr, "err", reason)
	}
	http.Error(w, http.StatusText(status), status)
}

// Count is the number of open connections.
func (s *Server[I, O]) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown refuses new upgrades, sends every connection a 1001 close (after
// what is already queued for it) and waits until all have ended or ctx is
// done; then it closes the remaining TCP connections, waits for their
// OnClose, and returns ctx.Err(). Its signature fits the shutdown hooks of
// httpx.ListenAndServeGraceful. Shutdown may be called more than once.
func (s *Server[I, O]) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*Conn[I, O], 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.startClose(&CloseError{Code: CloseGoingAway, Reason: "server shutting down", Err: ErrServerClosed}, false)
	}
	// Give each close the whole bound of ctx rather than CloseTimeout.
	for i, c := range conns {
		select {
		case <-c.done:
		case <-ctx.Done():
			for _, c := range conns[i:] {
				c.abort()
			}
			for _, c := range conns[i:] {
				<-c.done
			}
			return ctx.Err()
		}
	}
	return nil
}
