package httpstream

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/streamkit-dev/streamkit/httpstream/internal/spdy"
)

// errPeerReset is the error of a stream the peer reset.
var errPeerReset = fmt.Errorf("%w by peer", ErrStreamReset)

// stream implements Stream.
type stream struct {
	c          *Conn
	id         uint32
	headers    http.Header
	peerOpened bool

	replied   chan struct{} // we opened it: closed on SYN_REPLY
	replySent chan struct{} // the peer opened it: closed after our SYN_REPLY
	replyOnce sync.Once
	replyErr  error         // set inside replyOnce
	done      chan struct{} // closed on reset or connection close
	dead      atomic.Bool   // done is closed

	mu          sync.Mutex
	cond        sync.Cond
	buf         []byte // receive buffer; only the read loop reassigns it or moves w
	r, w        int
	remoteFin   bool
	localFin    bool
	gotReply    bool
	err         error // set on reset
	loopWaiting bool  // the read loop waits for buffer space
	recvWindow  int64 // what the peer may still send (windowed peers)
	unacked     int64 // bytes read and not yet returned by WINDOW_UPDATE

	sendWindow int64     // guarded by c.flowMu
	sendCond   sync.Cond // L is c.flowMu; wakes this stream's writer

	wmu sync.Mutex // one Write or Close at a time
}

var _ Stream = (*stream)(nil)

func (c *Conn) newStream(id uint32, h http.Header, peer bool) *stream {
	s := &stream{
		c:          c,
		id:         id,
		headers:    h,
		peerOpened: peer,
		done:       make(chan struct{}),
		recvWindow: int64(c.cfg.StreamWindow),
	}
	if h == nil {
		s.headers = http.Header{}
	}
	s.cond.L = &s.mu
	s.sendCond.L = &c.flowMu
	if peer {
		s.replySent = make(chan struct{})
	} else {
		s.replied = make(chan struct{})
	}
	c.flowMu.Lock()
	s.sendWindow = c.peerInitWin
	c.flowMu.Unlock()
	return s
}

func (s *stream) Headers() http.Header { return s.headers }

func (s *stream) Identifier() uint32 { return s.id }

// Read reads received data. It returns io.EOF once the peer half-closed and
// the buffer is drained, and an error wrapping ErrStreamReset after a reset.
func (s *stream) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	for s.r == s.w {
		if s.remoteFin {
			s.mu.Unlock()
			return 0, io.EOF
		}
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return 0, err
		}
		s.cond.Wait()
	}
	n := copy(p, s.buf[s.r:s.w])
	s.r += n
	if s.loopWaiting {
		s.cond.Broadcast()
	}
	var update int64
	if s.c.peerWindowed() {
		s.unacked += int64(n)
		if s.unacked >= int64(s.c.cfg.StreamWindow)/2 && !s.remoteFin && s.err == nil {
			update = s.unacked
			s.unacked = 0
			s.recvWindow += update
		}
	}
	s.mu.Unlock()
	if update > 0 {
		s.c.queueCtrl(spdy.AppendWindowUpdate(nil, s.id, uint32(update)))
	}
	s.c.consumed(n)
	return n, nil
}

// Write sends p in DATA frames of at most 32 KiB, waiting for flow-control
// window when the peer uses windows.
func (s *stream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.waitReplySent(); err != nil {
		return 0, err
	}
	c := s.c
	total := 0
	for len(p) > 0 {
		s.mu.Lock()
		err := s.err
		if err == nil && s.localFin {
			err = ErrStreamClosed
		}
		s.mu.Unlock()
		if err != nil {
			return total, err
		}
		n := min(len(p), maxFrameData)
		if c.peerWindowed() {
			c.flowMu.Lock()
			// A stream's own window update wakes only its writer; the
			// session's wakes everyone waiting on it.
			for (s.sendWindow <= 0 || c.sendWindow <= 0) && !s.dead.Load() {
				if s.sendWindow <= 0 {
					s.sendCond.Wait()
				} else {
					c.flowCond.Wait()
				}
			}
			if s.dead.Load() {
				c.flowMu.Unlock()
				continue // reports s.err above
			}
			n = int(min(int64(n), s.sendWindow, c.sendWindow))
			s.sendWindow -= int64(n)
			c.sendWindow -= int64(n)
			c.flowMu.Unlock()
		}
		if err := c.writeData(s.id, 0, p[:n]); err != nil {
			return total, err
		}
		c.touch()
		p = p[n:]
		total += n
	}
	return total, nil
}

// waitReplySent makes sure SYN_REPLY is on the wire before this side's
// first DATA frame of a peer-opened stream. Normally the reply follows the
// handler's return; a Write or Close made while the handler still runs
// (from the handler itself, say) sends it early instead of deadlocking.
func (s *stream) waitReplySent() error {
	if s.replySent == nil {
		return nil
	}
	if err := s.sendReply(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// sendReply sends SYN_REPLY once, unless the stream is already reset, and
// then closes replySent.
func (s *stream) sendReply() error {
	s.replyOnce.Do(func() {
		defer close(s.replySent)
		if s.dead.Load() {
			return
		}
		c := s.c
		c.wmu.Lock()
		defer c.wmu.Unlock()
		b, err := c.writer.AppendSynReply(c.wbuf[:0], s.id, 0, nil)
		if err == nil {
			c.wbuf = b[:0]
			err = c.writeLocked(b)
		}
		s.replyErr = err
	})
	return s.replyErr
}

// Close half-closes the stream (FIN): the peer reads EOF, and this side can
// still read until the peer closes too.
func (s *stream) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.waitReplySent(); err != nil {
		return nil
	}
	s.mu.Lock()
	if s.localFin || s.err != nil {
		s.mu.Unlock()
		return nil
	}
	s.localFin = true
	full := s.remoteFin
	s.mu.Unlock()
	err := s.c.writeData(s.id, spdy.FlagFin, nil)
	s.c.touch()
	if full {
		s.c.removeStream(s)
	}
	return err
}

// Reset aborts the stream (RST_STREAM CANCEL) and unblocks Read and Write.
func (s *stream) Reset() error {
	return s.resetWith(spdy.StatusCancel, ErrStreamReset)
}

func (s *stream) resetWith(status uint32, err error) error {
	if !s.markReset(err) {
		return nil
	}
	s.c.removeStream(s)
	s.c.touch()
	werr := s.c.write(spdy.AppendRstStream(nil, s.id, status))
	if werr != nil && s.c.Err() != nil {
		return nil // the connection is gone; so is the stream
	}
	return werr
}

// markReset marks the stream reset with err; it reports whether it was live
// before (not reset, not fully closed).
func (s *stream) markReset(err error) bool {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return false
	}
	live := !(s.localFin && s.remoteFin)
	s.err = err
	s.dead.Store(true)
	close(s.done)
	s.cond.Broadcast()
	// Unread data will never be read: return it to the session window.
	dropped := s.w - s.r
	s.r = s.w
	s.mu.Unlock()
	s.c.consumed(dropped)
	s.c.flowMu.Lock()
	s.sendCond.Broadcast()
	s.c.flowCond.Broadcast()
	s.c.flowMu.Unlock()
	return live
}

func (s *stream) resetErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// receive copies n payload bytes of a DATA frame from the wire into the
// buffer. Against a peer without windows a full buffer blocks the read loop
// until the reader makes room (the head-of-line limit of k8s peers).
func (s *stream) receive(n int, fin bool) error {
	c := s.c
	bound := c.cfg.StreamWindow
	s.mu.Lock()
	if c.peerWindowed() {
		s.recvWindow -= int64(n)
		if s.recvWindow < 0 {
			s.mu.Unlock()
			// Queued, not written: the read loop never blocks on a write.
			if s.markReset(fmt.Errorf("%w: peer exceeded the flow-control window", ErrStreamReset)) {
				c.queueCtrl(spdy.AppendRstStream(nil, s.id, spdy.StatusFlowControlError))
			}
			c.removeStream(s)
			return c.discard(n)
		}
	}
	for n > 0 {
		if s.err != nil || s.remoteFin {
			s.mu.Unlock()
			return c.discard(n)
		}
		if s.r == s.w {
			s.r, s.w = 0, 0
		}
		free := bound - (s.w - s.r)
		if free <= 0 {
			s.loopWaiting = true
			s.cond.Wait()
			s.loopWaiting = false
			continue
		}
		k := min(n, free)
		if len(s.buf)-s.w < k {
			if s.r > 0 {
				s.w = copy(s.buf, s.buf[s.r:s.w])
				s.r = 0
			}
			if len(s.buf)-s.w < k {
				nb := make([]byte, min(bound, max(2*len(s.buf), s.w+k, 4096)))
				copy(nb, s.buf[:s.w])
				s.buf = nb
			}
		}
		dst := s.buf[s.w : s.w+k]
		s.mu.Unlock()
		if err := c.reader.ReadData(dst); err != nil {
			return err
		}
		s.mu.Lock()
		n -= k
		if s.err != nil {
			// Reset while the bytes were read: nobody will read them.
			s.mu.Unlock()
			c.consumed(k)
			s.mu.Lock()
			continue
		}
		s.w += k
		s.cond.Broadcast()
	}
	full := false
	if fin && !s.remoteFin && s.err == nil {
		s.remoteFin = true
		full = s.localFin
		s.cond.Broadcast()
	}
	s.mu.Unlock()
	if full {
		c.removeStream(s)
	}
	return nil
}

// remoteClose handles FIN on a frame without payload.
func (s *stream) remoteClose() {
	s.mu.Lock()
	full := false
	if !s.remoteFin && s.err == nil {
		s.remoteFin = true
		full = s.localFin
		s.cond.Broadcast()
	}
	s.mu.Unlock()
	if full {
		s.c.removeStream(s)
	}
}
