package sse

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// frame is one encoded block waiting for a connection. b is shared between
// every connection it was fanned out to and never modified.
type frame struct {
	b     []byte
	topic string        // "" for frames that are not store events
	id    eventstore.ID // the store ID, for de-duplication against replay
}

const (
	stateOpen    = iota
	stateClosing // write what is queued (ending with the final hint), then end
	stateDead    // end now; the queue was dropped
)

// Conn is one streaming client.
//
// Concurrency: its methods are safe for concurrent use. Send queues and
// returns; the bytes are written by the request's goroutine.
type Conn struct {
	s      *Server
	id     uint64
	req    *http.Request
	topics []string
	rc     *http.ResponseController

	mu    sync.Mutex
	queue []frame
	// replayed is how far the Last-Event-ID replay wrote, per topic: a
	// live frame at or below it was already written. Publish appends to
	// the store before it queues, so a frame can arrive after the replay
	// read its event; enqueue drops it then, dropReplayed before.
	replayed map[string]eventstore.ID
	spare    []frame
	qBytes   int
	state    int
	cause    error
	wake     chan struct{}

	lastWrite atomic.Int64 // unix ns of the last write, for keepalives
	deadline  int64        // unix ns of the armed write deadline; the writing goroutine's
	writing   atomic.Bool
}

// ID is the connection's number, unique within its server.
func (c *Conn) ID() uint64 { return c.id }

// Request is the request that opened the stream. Do not use its body.
func (c *Conn) Request() *http.Request { return c.req }

// Topics are the topics the Authorize hook chose.
func (c *Conn) Topics() []string { return c.topics }

// Send queues ev for this connection only. It is not stored, so it is not
// replayed after a reconnect. It fails with a validation error,
// ErrConnClosed, or ErrSlowClient when it overflows the queue (which
// evicts the connection).
func (c *Conn) Send(ev Event) error {
	b, err := ev.AppendTo(make([]byte, 0, ev.Size()))
	if err != nil {
		return err
	}
	c.mu.Lock()
	open := c.state == stateOpen
	c.mu.Unlock()
	if !open {
		return ErrConnClosed
	}
	if c.enqueue(frame{b: b}) {
		c.abortWrite()
		return ErrSlowClient
	}
	return nil
}

// Close ends the stream after what is queued, with the server's
// ShutdownRetry hint.
func (c *Conn) Close() { c.closeWith(AppendRetry(nil, c.s.opts.ShutdownRetry)) }

// enqueue adds f; it reports true when this evicted the connection.
func (c *Conn) enqueue(f frame) (evicted bool) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return false
	}
	if last, ok := c.replayed[f.topic]; ok && f.topic != "" && f.id.Compare(last) <= 0 {
		c.mu.Unlock()
		return false
	}
	if len(c.queue)+1 > c.s.opts.MaxQueueEvents || c.qBytes+len(f.b) > c.s.opts.MaxQueueBytes {
		c.dieLocked(ErrSlowClient)
		c.mu.Unlock()
		c.s.stats.evictions.Add(1)
		return true
	}
	c.queue = append(c.queue, f)
	c.qBytes += len(f.b)
	c.mu.Unlock()
	c.signal()
	return false
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Conn) dieLocked(err error) {
	c.s.stats.dropped.Add(uint64(len(c.queue)))
	clear(c.queue)
	c.queue = c.queue[:0]
	c.qBytes = 0
	c.state = stateDead
	if c.cause == nil {
		c.cause = err
	}
	c.signal()
}

// deadErr returns the cause once the connection is dead.
func (c *Conn) deadErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateDead {
		return c.cause
	}
	return nil
}

func (c *Conn) kill(err error) {
	c.mu.Lock()
	if c.state != stateDead {
		c.dieLocked(err)
	}
	c.mu.Unlock()
}

// abortWrite makes a write in progress fail now, so that an evicted
// connection's goroutine does not wait out its write deadline.
func (c *Conn) abortWrite() {
	if c.writing.Load() {
		_ = c.rc.SetWriteDeadline(time.Now())
	}
}

// closeWith queues final and ends the stream after it.
func (c *Conn) closeWith(final []byte) {
	c.mu.Lock()
	if c.state == stateOpen {
		c.queue = append(c.queue, frame{b: final})
		c.qBytes += len(final)
		c.state = stateClosing
		c.cause = ErrServerClosed
		c.signal()
	}
	c.mu.Unlock()
}

// keepalive queues frame when nothing was written since cutoff and
// nothing waits.
func (c *Conn) keepalive(cutoff int64, f []byte) {
	if c.lastWrite.Load() > cutoff {
		return
	}
	c.mu.Lock()
	if c.state == stateOpen && len(c.queue) == 0 {
		c.queue = append(c.queue, frame{b: f})
		c.qBytes += len(f)
		c.signal()
	}
	c.mu.Unlock()
}

// write writes b and flushes it under the write deadline.
//
// Arming a deadline costs a runtime timer update, which adds up when one
// event goes to 10,000 connections, so the deadline is re-armed only when
// less than half of WriteTimeout is left: every write starts with between
// WriteTimeout/2 and WriteTimeout to finish.
//
// The write runs on a short-lived goroutine that write waits for. net/http's
// write path is deep; run on the connection's own goroutine it would grow
// that goroutine's stack to 8 KB for good (the runtime does not shrink a
// stack that is more than a quarter used, and net/http's frames below the
// handler already take most of that quarter). Starting a goroutine costs
// far less than the system call it wraps, and idle connections keep 4 KB
// stacks.
func (c *Conn) write(w http.ResponseWriter, b []byte) error {
	done := make(chan error, 1)
	go func() { done <- c.writeNow(w, b) }()
	return <-done
}

func (c *Conn) writeNow(w http.ResponseWriter, b []byte) error {
	c.writing.Store(true)
	defer c.writing.Store(false)
	now := time.Now().UnixNano()
	if wt := int64(c.s.opts.WriteTimeout); c.deadline-now < wt/2 {
		c.deadline = now + wt
		_ = c.rc.SetWriteDeadline(time.Unix(0, c.deadline))
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := c.rc.Flush(); err != nil {
		return err
	}
	c.lastWrite.Store(now)
	return nil
}

// run writes the queue until the stream ends or gone is closed, and
// returns why.
func (c *Conn) run(w http.ResponseWriter, gone <-chan struct{}) error {
	for {
		select {
		case <-c.wake:
		case <-gone:
			c.kill(ErrClientGone)
			gone = nil
		}
		c.mu.Lock()
		state := c.state
		if state == stateDead {
			err := c.cause
			c.mu.Unlock()
			return err
		}
		frames := c.queue
		c.queue = c.spare[:0]
		c.spare = nil
		c.qBytes = 0
		c.mu.Unlock()

		err := c.flushFrames(w, frames)
		clear(frames)
		if cap(frames) <= 64 { // a queue that grew in a burst is not kept
			c.mu.Lock()
			if c.spare == nil {
				c.spare = frames[:0]
			}
			c.mu.Unlock()
		}
		if err != nil {
			return c.writeFailed(err)
		}
		if state == stateClosing {
			return ErrServerClosed
		}
	}
}

// writeFailed ends the connection after a failed write and returns why.
// net/http cancels the request context when a write fails, so a cause of
// ErrClientGone may have been recorded first: a timed-out write is still a
// slow client.
func (c *Conn) writeFailed(err error) error {
	c.mu.Lock()
	cause := c.cause
	if cause == nil || cause == ErrClientGone {
		if isTimeout(err) {
			cause = ErrSlowClient
			c.s.stats.evictions.Add(1)
		} else if cause == nil {
			cause = err
		}
		c.cause = cause
	}
	if c.state != stateDead {
		c.dieLocked(cause)
	}
	c.mu.Unlock()
	return cause
}

// flushFrames writes frames in one write and one flush: a connection that
// fell behind catches up with one syscall, not one per event.
func (c *Conn) flushFrames(w http.ResponseWriter, frames []frame) error {
	switch len(frames) {
	case 0:
		return nil
	case 1:
		return c.write(w, frames[0].b)
	}
	bp := c.s.getBuf()
	b := *bp
	for _, f := range frames {
		b = append(b, f.b...)
	}
	err := c.write(w, b)
	*bp = b
	c.s.putBuf(bp)
	return err
}

// dropReplayed removes queued live frames that the replay already wrote.
func (c *Conn) dropReplayed(upTo map[string]eventstore.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replayed = upTo
	kept := c.queue[:0]
	for _, f := range c.queue {
		if last, ok := upTo[f.topic]; ok && f.topic != "" && f.id.Compare(last) <= 0 {
			c.qBytes -= len(f.b)
			continue
		}
		kept = append(kept, f)
	}
	clear(c.queue[len(kept):])
	c.queue = kept
}

type timeouter interface{ Timeout() bool }

func isTimeout(err error) bool {
	for e := err; e != nil; {
		if t, ok := e.(timeouter); ok && t.Timeout() {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}
