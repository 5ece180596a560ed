//go:build unix

package longpoll

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// bareSupported: this system has non-blocking socket calls on RawConn, so
// polls can park on bare connections (see parked.go).
const bareSupported = true

// errWouldBlock: the socket has nothing to read, or takes nothing more now.
var errWouldBlock = errors.New("longpoll: would block")

func rawConnOf(c net.Conn) (syscall.RawConn, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	return rc, err == nil
}

// sockIO does non-blocking reads and writes on one socket without a
// closure allocation per call: its RawConn callbacks are made once per
// connection. They run under RawConn.Control, which only holds the
// descriptor open: the calls never wait (the broker's httpx.Poller says
// when to read), so the runtime's poll state is not needed, and skipping it
// saves its bookkeeping on every answer and request. A write may run
// alongside a read or peek (separate fields), never alongside another
// write.
type sockIO struct {
	rc syscall.RawConn

	wbuf []byte
	wn   int
	werr error
	wfn  func(uintptr)

	rbuf []byte
	rn   int
	rerr error
	rfn  func(uintptr)

	peeked int
	perr   error
	pfn    func(uintptr)
}

func newSockIO(rc syscall.RawConn) *sockIO {
	s := &sockIO{rc: rc}
	s.wfn, s.rfn, s.pfn = s.write, s.read, s.peek
	return s
}

func (s *sockIO) write(fd uintptr) {
	for s.wn < len(s.wbuf) {
		m, e := sendNoWait(int(fd), s.wbuf[s.wn:])
		if e == syscall.EINTR {
			continue
		}
		if e == syscall.EAGAIN {
			break
		}
		if e != nil {
			s.werr = e
			break
		}
		s.wn += m
	}
}

func (s *sockIO) read(fd uintptr) {
	for {
		s.rn, s.rerr = recvNoWait(int(fd), s.rbuf, 0)
		if s.rerr != syscall.EINTR {
			return
		}
	}
}

func (s *sockIO) peek(fd uintptr) {
	var one [1]byte
	for {
		s.peeked, s.perr = recvNoWait(int(fd), one[:], syscall.MSG_PEEK)
		if s.perr != syscall.EINTR {
			return
		}
	}
}

// writeNow writes what the socket takes without waiting: n < len(b) with a
// nil error means the rest would block.
func writeNow(s *sockIO, b []byte) (int, error) {
	s.wbuf, s.wn, s.werr = b, 0, nil
	err := s.rc.Control(s.wfn)
	n := s.wn
	if err == nil {
		err = s.werr
	}
	s.wbuf, s.werr = nil, nil
	return n, err
}

// readNow reads what is there without waiting: errWouldBlock if nothing,
// io.EOF when the peer closed.
func readNow(s *sockIO, b []byte) (int, error) {
	s.rbuf, s.rn, s.rerr = b, 0, nil
	err := s.rc.Control(s.rfn)
	n, rerr := s.rn, s.rerr
	s.rbuf, s.rerr = nil, nil
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, rerr
	case n <= 0:
		return 0, io.EOF
	}
	return n, nil
}

// peekNow says whether bytes wait on the socket, without taking them:
// nil (data), errWouldBlock (nothing yet), io.EOF or the socket's error.
func peekNow(s *sockIO) error {
	s.peeked, s.perr = 0, nil
	err := s.rc.Control(s.pfn)
	switch {
	case err != nil:
		return err
	case s.perr == syscall.EAGAIN:
		return errWouldBlock
	case s.perr != nil:
		return s.perr
	case s.peeked <= 0:
		return io.EOF
	}
	return nil
}
