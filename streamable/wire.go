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

// sseWriter owns one text/event-stream response: the headers, the
// keepalive timer and the per-write deadline. Writes are serialised by mu.
type sseWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	writeTimeout time.Duration

	mu     sync.Mutex
	buf    []byte
	err    error
	closed bool
	timer  *time.Timer // keepalive; nil when disabled
	every  time.Duration
}

// startSSE writes the stream's headers and flushes them at once, so that a
// client with a first-byte timeout does not hang up, clears the server's
// write deadline (http.Server.WriteTimeout would cut the stream), and
// starts the keepalive timer (keepAlive <= 0: none). extra headers are
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
		// A timer rather than a goroutine per stream: nothing runs between
		// ticks, and close only has to stop it.
		s.mu.Lock()
		s.every = keepAlive
		s.timer = time.AfterFunc(keepAlive, s.keepAlive)
		s.mu.Unlock()
	}
	return s
}

// keepAlive writes a comment line and re-arms the timer. After close it
// does nothing, so a tick racing with close never touches the response.
func (s *sseWriter) keepAlive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil {
		return
	}
	s.buf = append(sse.AppendComment(s.buf[:0], "keepalive"), '\n')
	if s.writeLocked() == nil {
		s.timer.Reset(s.every)
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

// close stops the keepalive timer; later writes and ticks do nothing. It
// must be called before the handler returns (the ResponseWriter is not
// usable after that); a tick in progress finishes first (it holds mu).
func (s *sseWriter) close() {
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
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
