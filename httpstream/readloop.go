package httpstream

import (
	"errors"
	"fmt"
	"time"

	"github.com/streamkit-dev/streamkit/httpstream/internal/spdy"
)

// errProtocol marks a peer that broke the protocol; the connection closes
// with GOAWAY PROTOCOL_ERROR.
var errProtocol = errors.New("httpstream: protocol error")

func (c *Conn) peerWindowed() bool {
	return c.windowedFlag.Load()
}

// readLoop reads frames until the connection fails. It never runs user code
// and never writes to the network: replies are queued for ctrlLoop.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	for {
		f, err := c.reader.ReadFrame()
		var se *spdy.StreamError
		if errors.As(err, &se) {
			c.refuse(se.StreamID, se.Status, f)
			continue
		}
		if err != nil {
			c.fail(fmt.Errorf("httpstream: read: %w", err))
			return
		}
		if f.Type != spdy.TypePing {
			c.touch()
		}
		if err := c.handle(f); err != nil {
			if errors.Is(err, errProtocol) {
				c.mu.Lock()
				last := c.lastPeerID
				c.mu.Unlock()
				c.queueCtrl(spdy.AppendGoAway(nil, last, spdy.GoAwayProtocolError))
			}
			c.fail(err)
			return
		}
	}
}

// refuse answers a SYN_STREAM (or another stream frame) whose headers were
// invalid: the stream is reset, the connection carries on.
func (c *Conn) refuse(id, status uint32, f *spdy.Frame) {
	if f != nil && f.Type == spdy.TypeSynStream {
		c.mu.Lock()
		if id > c.lastPeerID {
			c.lastPeerID = id
		}
		c.mu.Unlock()
	}
	if s := c.lookup(id); s != nil {
		s.markReset(fmt.Errorf("%w: invalid headers from peer", ErrStreamReset))
		c.removeStream(s)
	}
	c.queueCtrl(spdy.AppendRstStream(nil, id, status))
}

func (c *Conn) lookup(id uint32) *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[id]
}

func (c *Conn) handle(f *spdy.Frame) error {
	switch f.Type {
	case spdy.TypeData:
		return c.handleData(f)
	case spdy.TypeSynStream:
		return c.handleSyn(f)
	case spdy.TypeSynReply:
		s := c.lookup(f.StreamID)
		if s == nil || s.peerOpened {
			return nil
		}
		s.mu.Lock()
		first := !s.gotReply
		s.gotReply = true
		s.mu.Unlock()
		if first {
			close(s.replied)
		}
		if f.Fin() {
			s.remoteClose()
		}
	case spdy.TypeHeaders:
		if s := c.lookup(f.StreamID); s != nil && f.Fin() {
			s.remoteClose()
		}
	case spdy.TypeRstStream:
		if s := c.lookup(f.StreamID); s != nil {
			// Out of the map before anyone waiting on the stream wakes:
			// a refused CreateStream leaves no trace in NumStreams.
			c.removeStream(s)
			s.markReset(errPeerReset)
		}
	case spdy.TypeSettings:
		c.handleSettings(f)
	case spdy.TypePing:
		// Our pings: odd IDs from a client, even from a server.
		if (f.PingID%2 == 1) != c.server {
			c.gotPong(f.PingID)
			return nil
		}
		c.queueCtrl(spdy.AppendPing(nil, f.PingID))
	case spdy.TypeGoAway:
		c.handleGoAway(f)
	case spdy.TypeWindowUpdate:
		return c.handleWindowUpdate(f)
	}
	return nil
}

func (c *Conn) handleSyn(f *spdy.Frame) error {
	id := f.StreamID
	if id == 0 || (id%2 == 1) != c.server {
		return fmt.Errorf("%w: stream ID %d from the wrong side", errProtocol, id)
	}
	c.mu.Lock()
	if id <= c.lastPeerID {
		c.mu.Unlock()
		return fmt.Errorf("%w: stream ID %d not increasing", errProtocol, id)
	}
	c.lastPeerID = id
	handler := c.cfg.NewStream
	if handler == nil || c.goAwaySent || c.peerStreams >= c.cfg.MaxStreams || c.err != nil {
		c.mu.Unlock()
		c.queueCtrl(spdy.AppendRstStream(nil, id, spdy.StatusRefusedStream))
		return nil
	}
	s := c.newStream(id, f.Headers, true)
	s.remoteFin = f.Fin()
	c.streams[id] = s
	c.peerStreams++
	c.mu.Unlock()
	go c.runHandler(handler, s)
	return nil
}

// runHandler runs the new-stream handler off the read loop, then replies.
func (c *Conn) runHandler(handler NewStreamHandler, s *stream) {
	if err := handler(s, s.replySent); err != nil {
		c.debug("httpstream: stream refused by handler", "id", s.id, "err", err)
		_ = s.resetWith(spdy.StatusRefusedStream, fmt.Errorf("%w: refused: %v", ErrStreamReset, err))
		s.replyOnce.Do(func() { close(s.replySent) })
		return
	}
	_ = s.sendReply()
}

func (c *Conn) handleData(f *spdy.Frame) error {
	n := int(f.Length)
	if c.peerWindowed() {
		if c.recvWindow.Add(-int64(n)) < 0 {
			return fmt.Errorf("%w: peer exceeded the session window", errProtocol)
		}
	}
	s := c.lookup(f.StreamID)
	if s == nil {
		return c.discard(n)
	}
	if n == 0 {
		if f.Fin() {
			s.remoteClose()
		}
		return nil
	}
	return s.receive(n, f.Fin())
}

// discard skips payload nobody will read; it still counts as consumed for
// the session window.
func (c *Conn) discard(n int) error {
	if err := c.reader.DiscardData(n); err != nil {
		return err
	}
	c.consumed(n)
	return nil
}

// consumed returns session window to the peer once half of it is used.
func (c *Conn) consumed(n int) {
	if !c.peerWindowed() || n == 0 {
		return
	}
	total := c.unackedConn.Add(int64(n))
	if total < int64(c.cfg.ConnWindow)/2 {
		return
	}
	if c.unackedConn.CompareAndSwap(total, 0) {
		c.recvWindow.Add(total)
		c.queueCtrl(spdy.AppendWindowUpdate(nil, 0, uint32(total)))
	}
}

func (c *Conn) handleSettings(f *spdy.Frame) {
	for _, st := range f.Settings {
		if st.ID != spdy.SettingInitialWindowSize || st.Value > maxWindow {
			continue
		}
		c.mu.Lock()
		c.flowMu.Lock()
		delta := int64(st.Value) - c.peerInitWin
		c.peerInitWin = int64(st.Value)
		for _, s := range c.streams {
			s.sendWindow += delta
		}
		c.flowMu.Unlock()
		c.mu.Unlock()
	}
	c.windowedFlag.Store(true)
	c.mu.Lock()
	c.flowMu.Lock()
	c.flowCond.Broadcast()
	for _, s := range c.streams {
		s.sendCond.Broadcast()
	}
	c.flowMu.Unlock()
	c.mu.Unlock()
}

func (c *Conn) handleWindowUpdate(f *spdy.Frame) error {
	if f.Delta == 0 {
		return nil
	}
	var s *stream
	if f.StreamID != 0 {
		if s = c.lookup(f.StreamID); s == nil {
			return nil
		}
	}
	c.flowMu.Lock()
	overflow := false
	if s == nil {
		c.sendWindow += int64(f.Delta)
		overflow = c.sendWindow > maxWindow
		c.flowCond.Broadcast()
	} else {
		s.sendWindow += int64(f.Delta)
		overflow = s.sendWindow > maxWindow
		s.sendCond.Signal()
	}
	c.flowMu.Unlock()
	if overflow {
		if s == nil {
			return fmt.Errorf("%w: session window overflow", errProtocol)
		}
		if s.markReset(fmt.Errorf("%w: window overflow", ErrStreamReset)) {
			c.queueCtrl(spdy.AppendRstStream(nil, s.id, spdy.StatusFlowControlError))
		}
		c.removeStream(s)
	}
	return nil
}

func (c *Conn) handleGoAway(f *spdy.Frame) {
	c.mu.Lock()
	c.goAwayRecv = true
	var lost []*stream
	for id, s := range c.streams {
		if !s.peerOpened && id > f.LastGoodID {
			lost = append(lost, s)
		}
	}
	c.mu.Unlock()
	for _, s := range lost {
		s.markReset(ErrGoAway)
		c.removeStream(s)
	}
	c.mu.Lock()
	empty := len(c.streams) == 0
	if !empty && c.goAwayTimer == nil && c.err == nil {
		c.goAwayTimer = time.AfterFunc(c.cfg.GoAwayTimeout, func() { c.fail(ErrGoAway) })
	}
	c.mu.Unlock()
	if empty {
		c.fail(ErrGoAway)
	}
}
