package ws

import (
	"errors"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
)

// maxPooledBuf is the largest message buffer kept for reuse; a rare large
// message does not pin its buffer in the pool.
const maxPooledBuf = 64 << 10

// run is the connection's read loop and owner: it runs every hook, stops on
// the first read error, and ends the connection (OnClose exactly once).
// Keeping all of this on one goroutine is what makes the hooks sequential.
func (c *Conn[I, O]) run() {
	o := c.env.opts
	ws := c.ws
	ws.SetReadLimit(o.ReadLimit)
	c.extendReadDeadline()
	ws.SetPongHandler(func(string) error {
		c.extendReadDeadline()
		return nil
	})
	if o.PingPeriod > 0 {
		c.mu.Lock()
		c.ping = time.AfterFunc(o.PingPeriod, c.pingTick)
		c.mu.Unlock()
	}
	if st, ok := c.sess.(Starter[I, O]); ok {
		if err := st.OnStart(c); err != nil {
			c.startClose(hookClose(err), false)
		}
	}
	var err error
	for {
		var t int
		var r io.Reader
		if c.bc != nil {
			c.bc.waitIdle()
		}
		t, r, err = ws.NextReader()
		if err != nil {
			break
		}
		if c.state.Load() != stateOpen {
			// Closing: the peer's data is no longer delivered; keep reading
			// only to see its close frame.
			if _, err = io.Copy(io.Discard, r); err != nil {
				break
			}
			continue
		}
		c.messageSeen()
		if err = c.handle(t, r); err != nil {
			break
		}
	}
	c.finish(err)
}

// handle reads, validates, decodes and dispatches one message. It returns
// only read errors; everything else closes the connection by handshake.
func (c *Conn[I, O]) handle(t int, r io.Reader) error {
	bp, _ := c.env.readPool.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf, err := readAll(r, (*bp)[:0])
	defer func() {
		if cap(buf) <= maxPooledBuf {
			*bp = buf[:0]
			c.env.readPool.Put(bp)
		}
	}()
	if err != nil {
		return err
	}
	if t == websocket.TextMessage && !utf8.Valid(buf) {
		c.startClose(&CloseError{Code: CloseInvalidPayload, Reason: "invalid UTF-8", Err: ErrInvalidUTF8}, true)
		return nil
	}
	msg, err := c.codec.Decode(buf, codec.MessageType(t))
	if err != nil {
		if eh, ok := c.sess.(ErrorHandler[I, O]); ok && eh.OnError(c, err) {
			return nil
		}
		code := CloseInvalidPayload
		if errors.Is(err, codec.ErrMessageType) {
			code = CloseUnsupportedData
		}
		c.startClose(&CloseError{Code: code, Reason: "cannot decode message", Err: err}, false)
		return nil
	}
	c.mu.Lock()
	c.inHook = true
	c.mu.Unlock()
	err = c.sess.OnMessage(c, msg)
	c.mu.Lock()
	c.inHook = false
	inline := c.inline
	c.inline = false
	c.mu.Unlock()
	if err != nil {
		c.startClose(hookClose(err), false)
	}
	if inline {
		c.writeLoop(true)
	}
	return nil
}

// hookClose turns a hook's error into the close we send.
func hookClose(err error) *CloseError {
	var ce *CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: ce.Code, Reason: ce.Reason, Err: err}
	}
	return &CloseError{Code: CloseInternalError, Reason: "internal error", Err: err}
}

func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// extendReadDeadline pushes the liveness deadline forward, unless a close is
// under way (its own, shorter deadline then stands). Read goroutine only.
func (c *Conn[I, O]) extendReadDeadline() {
	o := c.env.opts
	if o.PongTimeout < 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	if c.state.Load() == stateOpen {
		_ = c.ws.NetConn().SetReadDeadline(now.Add(o.PongTimeout))
		c.extendedAt = now
	}
	c.mu.Unlock()
}

// messageSeen counts a message as a sign of life. Moving the deadline costs
// a lock and a timer update, so a busy connection does it only when the
// deadline has aged by 1/16 of PongTimeout. Read goroutine only.
func (c *Conn[I, O]) messageSeen() {
	if o := c.env.opts; o.PongTimeout >= 0 && time.Since(c.extendedAt) >= o.PongTimeout/16 {
		c.extendReadDeadline()
	}
}

// finish ends the connection after the read loop stopped with err.
func (c *Conn[I, O]) finish(err error) {
	c.mu.Lock()
	ours := c.closeErr
	timedOut := false
	if ours == nil {
		// The close was not ours: decide what ended it.
		var ne net.Error
		var we *websocket.CloseError
		switch {
		case errors.As(err, &we):
			ours = &CloseError{Code: we.Code, Reason: we.Text, Remote: true}
		case errors.Is(err, websocket.ErrReadLimit):
			// gorilla has already sent the 1009 close frame.
			ours = &CloseError{Code: CloseMessageTooBig, Reason: "message too big", Err: ErrReadLimit}
		case errors.As(err, &ne) && ne.Timeout():
			timedOut = true
			ours = &CloseError{Code: CloseAbnormal, Remote: true, Err: ErrPongTimeout}
		default:
			ours = &CloseError{Code: CloseAbnormal, Remote: true, Err: err}
		}
	}
	c.state.Store(stateClosed)
	c.queue = nil
	c.qbytes = 0
	c.closeMsg = nil
	var wait chan struct{}
	if c.writing {
		c.writerDone = make(chan struct{})
		wait = c.writerDone
	}
	if c.ping != nil {
		c.ping.Stop()
	}
	fns := c.onClosed
	c.onClosed = nil
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()

	// Close the TCP connection itself: this unblocks a writer stuck on the
	// network, and skips TLS's close_notify, which could wait on a peer that
	// stopped reading. A close handshake, if any, has already happened.
	_ = rawConn(c.ws.NetConn()).Close()
	if wait != nil {
		<-wait
	}
	for _, fn := range fns {
		fn()
	}
	if timedOut {
		if th, ok := c.sess.(TimeoutHandler[I, O]); ok {
			th.OnTimeout(c)
		}
	}
	if cl, ok := c.sess.(Closer[I, O]); ok {
		cl.OnClose(c, ours)
	}
	if l := c.env.opts.Logger; l != nil {
		l.Debug("ws: connection ended", "id", c.id, "err", ours)
	}
	c.endErr = ours
	close(c.done)
}
