package streamable

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/streamkit-dev/streamkit/sse"
)

// Stream defaults.
const (
	DefaultKeepAlive    = 15 * time.Second
	DefaultWriteTimeout = 30 * time.Second
)

// ErrStreamClosed is returned by sends on a stream whose client went away,
// whose write failed or timed out, or whose handler returned.
var ErrStreamClosed = errors.New("streamable: stream closed")

// sseWriter owns one text/event-stream response: the headers, a keepalive
// goroutine and the per-write deadline. Writes are serialised by mu.
type sseWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	writeTimeout time.Duration

	mu     sync.Mutex
	buf    []byte
	err    error
	closed bool

	stop chan struct{}
	done chan struct{}
}

// startSSE writes the stream's headers and flushes them at once, so that a
// client with a first-byte timeout does not hang up, clears the server's
// write deadline (http.Server.WriteTimeout would cut the stream), and
// starts the keepalive goroutine (keepAlive <= 0: none). extra headers are
// added first. The caller must call close.
func startSSE(w http.ResponseWriter, extra http.Header, keepAlive, writeTimeout time.Duration) *sseWriter {
	h := w.Header()
	for k, v := range extra {
		h[k] = v
	}
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	s := &sseWriter{w: w, rc: http.NewResponseController(w), writeTimeout: writeTimeout}
	_ = s.rc.SetWriteDeadline(time.Time{}) // ErrNotSupported on recorders: nothing to clear
	w.WriteHeader(http.StatusOK)
	s.flushLocked()
	if keepAlive > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.keepAlive(keepAlive)
	}
	return s
}

func (s *sseWriter) keepAlive(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if s.err == nil && !s.closed {
				s.buf = append(sse.AppendComment(s.buf[:0], "keepalive"), '\n')
				s.writeLocked()
			}
			failed := s.err != nil
			s.mu.Unlock()
			if failed {
				return
			}
		}
	}
}

// write sends one event. It fails with ErrStreamClosed (wrapping the cause)
// once any write failed or the stream was closed.
func (s *sseWriter) write(ev *sse.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStreamClosed
	}
	if s.err != nil {
		return s.err
	}
	b, err := ev.AppendTo(s.buf[:0])
	if err != nil {
		return err
	}
	s.buf = b
	return s.writeLocked()
}

// writeRaw sends bytes already in wire form (comments, retry).
func (s *sseWriter) writeRaw(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStreamClosed
	}
	if s.err != nil {
		return s.err
	}
	s.buf = append(s.buf[:0], b...)
	return s.writeLocked()
}

func (s *sseWriter) writeLocked() error {
	if s.writeTimeout > 0 {
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	}
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = errors.Join(ErrStreamClosed, err)
		return s.err
	}
	return s.flushLocked()
}

func (s *sseWriter) flushLocked() error {
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = errors.Join(ErrStreamClosed, err)
		return s.err
	}
	return nil
}

// close stops the keepalive goroutine and waits for it. Later writes fail.
// It must be called before the handler returns (the ResponseWriter is not
// usable after that).
func (s *sseWriter) close() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already || s.stop == nil {
		return
	}
	close(s.stop)
	<-s.done
}

// closeOnDone ends s when ctx is done, unblocking nothing by itself but
// making later sends fail fast; it returns the stop function of the
// registration.
func closeOnDone(ctx context.Context, s *sseWriter) func() bool {
	return context.AfterFunc(ctx, func() {
		s.mu.Lock()
		if s.err == nil {
			s.err = errors.Join(ErrStreamClosed, context.Cause(ctx))
		}
		s.mu.Unlock()
	})
}
