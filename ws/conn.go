package ws

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
)

// Connection states. A connection only moves forward.
const (
	stateOpen    uint32 = iota
	stateClosing        // a close was started; no new sends
	stateClosed         // the TCP connection is closed, hooks are done or running OnClose
)

// frame is one queued message. Broadcasts share one frame (and its
// PreparedMessage) between every recipient.
type frame struct {
	typ  int
	data []byte
	pm   *websocket.PreparedMessage
}

// Conn is one WebSocket connection, server or client side, carrying messages
// decoded as I and encoded from O by a codec.Codec.
//
// Concurrency: every method may be called from any goroutine. Send never
// blocks on the network: it queues the message for the connection's single
// writer goroutine, which exists only while there is something to write.
type Conn[I, O any] struct {
	id       uint64
	ws       *websocket.Conn
	env      *env
	codec    codec.Codec[I, O]
	sess     Session[I, O]
	compress bool       // permessage-deflate was negotiated
	bc       *batchConn // under gorilla: batches a burst of frames into one write

	state      atomic.Uint32
	dropBy     atomic.Int64 // unix ns: a dropping close bounds what is left to write by this
	extendedAt time.Time    // when the read deadline was last moved (read goroutine only)

	mu         sync.Mutex
	queue      []*frame
	qbytes     int
	writing    bool          // a writer is running (goroutine, or the read goroutine inline)
	inHook     bool          // the read goroutine is in OnMessage
	inline     bool          // OnMessage queued into an idle queue: the read goroutine writes it after the hook
	writerDone chan struct{} // closed by the writer when it sees stateClosed
	closeMsg   []byte        // our close frame, written after the queue
	closeErr   *CloseError   // the close we started, if any
	ping       *time.Timer
	pingSeq    uint64
	onClosed   []func()
	ctx        context.Context
	cancel     context.CancelFunc
	done       chan struct{}
	endErr     error
}

// env is what the connections of one Server or one Dial share.
type env struct {
	opts      *Options
	writePool sync.Pool // gorilla's pooled write buffers
	readPool  sync.Pool // *[]byte message buffers
	batchPool sync.Pool // *[]byte write batches
	stashPool sync.Pool // *[]byte of idleReadSize (or ReadBufferSize if larger): what waitIdle read
}

func newEnv(o *Options) *env { return &env{opts: o.withDefaults()} }

func newConn[I, O any](e *env, id uint64, wc *websocket.Conn, bc *batchConn, c codec.Codec[I, O], s Session[I, O]) *Conn[I, O] {
	conn := &Conn[I, O]{id: id, ws: wc, bc: bc, env: e, codec: c, sess: s, done: make(chan struct{})}
	if e.opts.Compression {
		// gorilla negotiated it if the extension is present on both sides;
		// EnableWriteCompression is a no-op otherwise, but we only toggle it
		// per message when it was.
		conn.compress = true
		_ = wc.SetCompressionLevel(e.opts.CompressionLevel)
	}
	return conn
}

// ID is the connection's identifier, unique within its Server (or Dial).
func (c *Conn[I, O]) ID() uint64 { return c.id }

// Subprotocol is the negotiated subprotocol, or "".
func (c *Conn[I, O]) Subprotocol() string { return c.ws.Subprotocol() }

// RemoteAddr is the peer's network address.
func (c *Conn[I, O]) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// Session is the Session the connection runs.
func (c *Conn[I, O]) Session() Session[I, O] { return c.sess }

// Done is closed after the connection has ended and OnClose has returned.
func (c *Conn[I, O]) Done() <-chan struct{} { return c.done }

// Err is the *CloseError the connection ended with, or nil while it is open.
func (c *Conn[I, O]) Err() error {
	select {
	case <-c.done:
		return c.endErr
	default:
		return nil
	}
}

// Context is canceled when the connection ends. Use it to stop goroutines
// that serve the connection.
func (c *Conn[I, O]) Context() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithCancel(context.Background())
		if c.state.Load() == stateClosed {
			c.cancel()
		}
	}
	return c.ctx
}

// Send encodes v with the connection's codec and queues it. It returns the
// codec's error, ErrClosed once the connection is closing, or ErrQueueFull
// when the queue is full (with the default policy the connection is then
// closed with 1008). It never waits for the network.
func (c *Conn[I, O]) Send(v O) error {
	data, t, err := c.codec.Encode(v)
	if err != nil {
		return err
	}
	return c.enqueue(&frame{typ: int(t), data: data})
}

// SendRaw queues an already encoded message of type t (codec.Text or
// codec.Binary). The connection owns data afterwards.
func (c *Conn[I, O]) SendRaw(data []byte, t codec.MessageType) error {
	return c.enqueue(&frame{typ: int(t), data: data})
}

// Close starts a close handshake with code and reason: messages already
// queued are written first, then the close frame; the TCP connection is
// closed when the peer answers or after Options.CloseTimeout. Close returns at
// once; wait on Done for the end. It returns ErrClosed if a close has already
// started.
func (c *Conn[I, O]) Close(code int, reason string) error {
	if !c.startClose(&CloseError{Code: code, Reason: reason}, false) {
		return ErrClosed
	}
	return nil
}

// onClose registers fn to run when the connection ends (before OnClose). It
// returns false, without registering, if the connection has already ended.
func (c *Conn[I, O]) onClose(fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load() == stateClosed {
		return false
	}
	c.onClosed = append(c.onClosed, fn)
	return true
}

func (c *Conn[I, O]) enqueue(f *frame) error {
	o := c.env.opts
	c.mu.Lock()
	if c.state.Load() != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	// A message larger than SendQueueBytes still goes through an empty
	// queue (ReadLimit-style bounds belong to the peer and the codec).
	if len(c.queue) >= o.SendQueue || len(c.queue) > 0 && c.qbytes+len(f.data) > o.SendQueueBytes {
		if o.QueueFull == QueueClose {
			c.startCloseLocked(&CloseError{Code: o.QueueFullCode, Reason: "too slow", Err: ErrQueueFull}, true)
		}
		c.mu.Unlock()
		return ErrQueueFull
	}
	c.queue = append(c.queue, f)
	c.qbytes += len(f.data)
	start := !c.writing
	c.writing = true
	if start && c.inHook {
		// A reply from OnMessage: the read goroutine writes it when the
		// hook returns, sparing a goroutine hand-off per message.
		c.inline, start = true, false
	}
	c.mu.Unlock()
	if start {
		go c.writeLoop(false)
	}
	return nil
}

// startClose begins our close: no more sends, the close frame goes out after
// the queue (or at once, dropping the queue), and the read loop waits a
// bounded time for the peer's answer. It reports whether this call started it.
func (c *Conn[I, O]) startClose(ce *CloseError, drop bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.startCloseLocked(ce, drop)
}

func (c *Conn[I, O]) startCloseLocked(ce *CloseError, drop bool) bool {
	if c.state.Load() != stateOpen {
		return false
	}
	c.state.Store(stateClosing)
	c.closeErr = ce
	reason := ce.Reason
	if len(reason) > 123 { // a close frame's payload is at most 125 bytes
		reason = reason[:123]
	}
	c.closeMsg = websocket.FormatCloseMessage(ce.Code, reason)
	if drop {
		clear(c.queue)
		c.queue = c.queue[:0]
		c.qbytes = 0
	}
	o := c.env.opts
	// The writer may be stuck behind a slow peer for up to WriteTimeout; the
	// read loop gives up on the close handshake after that plus CloseTimeout.
	flushBy := time.Now().Add(o.WriteTimeout)
	if drop {
		// A dropped connection is usually one that stopped reading, its
		// writer blocked in a write: what is left to write (that write and
		// the close frame) gets CloseTimeout, not a fresh WriteTimeout, so a
		// slow client's socket and buffers are freed soon after it is dropped.
		flushBy = time.Now().Add(o.CloseTimeout)
		c.dropBy.Store(flushBy.UnixNano())
		_ = c.ws.NetConn().SetWriteDeadline(flushBy)
	}
	_ = c.ws.NetConn().SetReadDeadline(flushBy.Add(o.CloseTimeout))
	if !c.writing {
		c.writing = true
		go c.writeLoop(false)
	}
	return true
}

// abort closes the TCP connection without a handshake; the read loop then
// ends the connection.
func (c *Conn[I, O]) abort() { _ = rawConn(c.ws.NetConn()).Close() }

// rawConn digs the TCP connection out from under our batchConn and TLS: a
// *tls.Conn's Close first writes a close_notify alert, which can wait up to
// 5 s on a peer that stopped reading, and an abort must not wait.
func rawConn(c net.Conn) net.Conn {
	for {
		switch x := c.(type) {
		case *batchConn:
			c = x.Conn
		case *tls.Conn:
			c = x.NetConn()
		default:
			return c
		}
	}
}

// writeLoop is the connection's only writer of data and close frames. It runs
// while there is something queued and exits when the queue is empty, so an
// idle connection holds no writer goroutine. Inline, on the read goroutine
// after OnMessage, it writes one batch and hands anything queued meanwhile
// (and the close frame) to a writer goroutine, so the read loop is held up
// by at most one write.
func (c *Conn[I, O]) writeLoop(inline bool) {
	var batch []*frame
	o := c.env.opts
	for first := true; ; first = false {
		c.mu.Lock()
		if c.state.Load() == stateClosed {
			c.writing = false
			if c.writerDone != nil {
				close(c.writerDone)
			}
			c.mu.Unlock()
			return
		}
		if inline && !first && (len(c.queue) > 0 || c.closeMsg != nil) {
			c.mu.Unlock()
			go c.writeLoop(false) // still the one writer: writing stays true
			return
		}
		batch, c.queue = c.queue, batch[:0]
		c.qbytes = 0
		var closeMsg []byte
		if len(batch) == 0 {
			closeMsg, c.closeMsg = c.closeMsg, nil
			if closeMsg == nil {
				c.writing = false
				if cap(c.queue) > 16 {
					c.queue = nil // give a burst's backing array back
				}
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()

		batching := c.bc != nil && len(batch) > 1
		if batching {
			c.bc.begin()
		}
		var err error
		for i, f := range batch {
			if err = c.writeFrame(f); err != nil {
				clear(batch[i:])
				break
			}
			batch[i] = nil
		}
		if batching {
			if e := c.bc.end(); err == nil {
				err = e
			}
		}
		if err != nil {
			c.writeFailed(err)
		}
		if closeMsg != nil {
			err := c.ws.WriteControl(websocket.CloseMessage, closeMsg, c.writeDeadline())
			if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
				c.writeFailed(err)
			} else {
				_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(o.CloseTimeout))
			}
		}
	}
}

func (c *Conn[I, O]) writeFrame(f *frame) error {
	o := c.env.opts
	if err := c.ws.SetWriteDeadline(c.writeDeadline()); err != nil {
		return err
	}
	if c.compress {
		c.ws.EnableWriteCompression(len(f.data) >= o.CompressThreshold)
	}
	if f.pm != nil {
		return c.ws.WritePreparedMessage(f.pm)
	}
	return c.ws.WriteMessage(f.typ, f.data)
}

// writeDeadline is the deadline of the next write: WriteTimeout from now,
// or sooner once a dropping close has bounded the rest.
func (c *Conn[I, O]) writeDeadline() time.Time {
	d := time.Now().Add(c.env.opts.WriteTimeout)
	if by := c.dropBy.Load(); by != 0 && by < d.UnixNano() {
		return time.Unix(0, by)
	}
	return d
}

// writeFailed drops a connection whose write failed or timed out: nothing
// more can be written to it, so there is no close handshake to wait for.
func (c *Conn[I, O]) writeFailed(err error) {
	c.mu.Lock()
	if c.state.Load() == stateOpen {
		c.state.Store(stateClosing)
		c.closeErr = &CloseError{Code: CloseAbnormal, Remote: true, Err: err}
	}
	clear(c.queue)
	c.queue = c.queue[:0]
	c.qbytes = 0
	c.closeMsg = nil
	c.mu.Unlock()
	c.abort()
}

// pingTick sends a ping control frame (and the optional application ping)
// and re-arms the timer. WriteControl may run concurrently with the writer.
func (c *Conn[I, O]) pingTick() {
	if c.state.Load() != stateOpen {
		return
	}
	o := c.env.opts
	_ = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(o.WriteTimeout))
	c.mu.Lock()
	c.pingSeq++
	seq := c.pingSeq
	if c.state.Load() != stateClosed {
		c.ping.Reset(o.PingPeriod)
	}
	c.mu.Unlock()
	if o.AppPing != nil {
		_ = c.enqueue(&frame{typ: websocket.TextMessage, data: o.AppPing(seq)})
	}
}
