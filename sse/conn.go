package sse

import (
	"net/http"
	"slices"
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

// syncWrite is a write the request goroutine waits for (headers, replay).
type syncWrite struct {
	b    []byte
	done chan error
}

// Conn is one streaming client.
//
// Concurrency: its methods are safe for concurrent use. Send queues and
// returns; the bytes are written by the server's shared writers.
type Conn struct {
	s      *Server
	id     uint64
	req    *http.Request
	topics []string
	// Bytes go to w (net/http), or to raw in high-density mode. w's
	// ResponseController is made at each use, on the stack (keeping one
	// in Conn would cost 16 B per connection and a size class).
	w   http.ResponseWriter
	raw *rawConn

	mu    sync.Mutex
	queue []frame
	// replayed is how far the Last-Event-ID replay wrote, per topic: a
	// live frame at or below it was already written. Publish appends to
	// the store before it queues, so a frame can arrive after the replay
	// read its event; enqueue drops it then, dropReplayed before.
	replayed map[string]eventstore.ID
	spare    []frame // kept only while the connection is busy
	qBytes   int
	cause    error
	syncw    *syncWrite
	// finished is done when the connection is dead and no write runs. A
	// WaitGroup inside Conn, not a channel: the request goroutine waits on
	// it alone (see Server.sweep), with no allocation of its own.
	finished sync.WaitGroup
	state    int8
	// scheduled: on the writers' ready list or being written, so at most
	// one writer handles the connection at a time.
	scheduled bool
	// hold: setup (headers, replay) is not done; live frames wait.
	hold    bool
	ended   bool
	writing atomic.Bool
	dead    atomic.Bool

	lastWrite atomic.Int64 // unix ns of the last write, for keepalives
	deadline  int64        // unix ns of the armed write deadline; the writer's
}

// newConn returns a connection in setup; its finished is done when it ends.
func newConn(s *Server, r *http.Request, topics []string) *Conn {
	c := &Conn{s: s, req: r, topics: topics, hold: true}
	c.finished.Add(1)
	c.lastWrite.Store(time.Now().UnixNano())
	return c
}

// ID is the connection's number, unique within its server.
func (c *Conn) ID() uint64 { return c.id }

// Request is the request that opened the stream. Do not use its body.
func (c *Conn) Request() *http.Request { return c.req }

// Topics are the topics the Authorize hook chose.
func (c *Conn) Topics() []string { return slices.Clone(c.topics) }

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
	c.kickLocked()
	c.mu.Unlock()
	return false
}

// kickLocked puts the connection on the writers' list when it has work:
// a setup write, queued frames (after setup), or its end to settle.
func (c *Conn) kickLocked() {
	if c.scheduled || c.ended {
		return
	}
	if c.syncw != nil || c.state == stateDead || (!c.hold && len(c.queue) > 0) {
		c.scheduled = true
		c.s.writers.schedule(c)
	}
}

func (c *Conn) dieLocked(err error) {
	c.s.stats.dropped.Add(uint64(len(c.queue)))
	clear(c.queue)
	c.queue = c.queue[:0]
	c.qBytes = 0
	c.state = stateDead
	c.dead.Store(true)
	if c.cause == nil {
		c.cause = err
	}
	c.kickLocked()
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
		_ = c.setWriteDeadline(time.Now())
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
		c.kickLocked()
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
		c.kickLocked()
	}
	c.mu.Unlock()
}

// writeNow writes b and flushes it under the write deadline; only the
// connection's writer calls it.
//
// Arming a deadline costs a runtime timer update, which adds up when one
// event goes to 10,000 connections, so the deadline is re-armed only when
// less than half of WriteTimeout is left: every write starts with between
// WriteTimeout/2 and WriteTimeout to finish.
func (c *Conn) writeNow(b []byte) error {
	c.writing.Store(true)
	defer c.writing.Store(false)
	if c.dead.Load() { // killed before abortWrite could see this write
		return ErrConnClosed
	}
	now := time.Now().UnixNano()
	if wt := int64(c.s.opts.WriteTimeout); c.deadline-now < wt/2 {
		c.deadline = now + wt
		_ = c.setWriteDeadline(time.Unix(0, c.deadline))
	}
	if c.raw != nil {
		if err := c.raw.write(c.s, b); err != nil {
			return err
		}
	} else {
		if len(b) > 0 {
			if _, err := c.w.Write(b); err != nil {
				return err
			}
		}
		if err := http.NewResponseController(c.w).Flush(); err != nil {
			return err
		}
	}
	c.lastWrite.Store(now)
	return nil
}

func (c *Conn) setWriteDeadline(t time.Time) error {
	if c.raw != nil {
		return c.raw.conn.SetWriteDeadline(t)
	}
	return http.NewResponseController(c.w).SetWriteDeadline(t)
}

// writeSync has a writer write b (headers, retry hint, replay) and waits
// for it. The request goroutine never runs net/http's deep write path
// itself, so its stack stays small while it waits for the stream to end.
func (c *Conn) writeSync(b []byte) error {
	sw := &syncWrite{b: b, done: make(chan error, 1)}
	c.mu.Lock()
	if c.state == stateDead {
		err := c.cause
		c.mu.Unlock()
		return err
	}
	c.syncw = sw
	c.kickLocked()
	c.mu.Unlock()
	return <-sw.done
}

// startLive ends setup: queued live frames go out from now on.
func (c *Conn) startLive() {
	c.mu.Lock()
	c.hold = false
	c.kickLocked()
	c.mu.Unlock()
}

// flush is a writer's turn on the connection: the pending setup write, or
// every queued frame in one write. It reports whether the connection has
// more to write (it goes to the back of the list then).
func (c *Conn) flush() (more bool) {
	c.mu.Lock()
	if sw := c.syncw; sw != nil {
		c.syncw = nil
		c.mu.Unlock()
		err := c.writeNow(sw.b)
		if err != nil {
			err = c.writeFailed(err)
		}
		sw.done <- err
		c.mu.Lock()
	} else if c.state != stateDead && !c.hold && len(c.queue) > 0 {
		state := c.state
		frames := c.queue
		c.queue = c.spare[:0]
		c.spare = nil
		c.qBytes = 0
		c.mu.Unlock()

		if state == stateClosing && c.raw != nil {
			c.raw.last = true // the final hint ends the chunked body
		}
		err := c.flushFrames(frames)
		clear(frames)
		c.mu.Lock()
		// A busy connection (more queued meanwhile) keeps the slice for
		// its next write; an idle one holds none. One that grew in a
		// burst is not kept.
		if len(c.queue) > 0 && cap(frames) <= 64 && c.spare == nil {
			c.spare = frames[:0]
		}
		c.mu.Unlock()
		if err != nil {
			c.writeFailed(err)
		} else if state == stateClosing {
			c.kill(ErrServerClosed)
		}
		c.mu.Lock()
	}
	if c.syncw != nil || (c.state != stateDead && !c.hold && len(c.queue) > 0) {
		c.mu.Unlock()
		return true
	}
	c.scheduled = false
	if len(c.queue) == 0 {
		c.spare = nil
	}
	ended := false
	if c.state == stateDead && !c.ended {
		c.ended = true
		ended = true
		c.finished.Done()
	}
	c.mu.Unlock()
	if ended && c.raw != nil {
		// No request goroutine waits in high-density mode: the writer
		// ends the connection.
		c.raw.end(c)
	}
	return false
}

// wait blocks the request goroutine until the stream ends, and returns
// why. A client that left is found by Server.sweep (or by a failed write),
// which ends the stream.
func (c *Conn) wait() error {
	c.finished.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// gone ends the stream of a client that went away (its request context
// ended): what is queued is dropped and a write in progress fails now.
func (c *Conn) gone() {
	c.kill(ErrClientGone)
	c.abortWrite()
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
func (c *Conn) flushFrames(frames []frame) error {
	switch len(frames) {
	case 0:
		return nil
	case 1:
		return c.writeNow(frames[0].b)
	}
	bp := c.s.getBuf()
	b := *bp
	for _, f := range frames {
		b = append(b, f.b...)
	}
	err := c.writeNow(b)
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
