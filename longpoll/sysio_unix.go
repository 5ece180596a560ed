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
// closure allocation per call: its two RawConn callbacks are made once per
// connection. A write may run alongside a read or peek (separate fields),
// never alongside another write.
type sockIO struct {
	rc syscall.RawConn

	wbuf []byte
	wn   int
	werr error
	wfn  func(uintptr) bool

	rbuf []byte
	rn   int
	rerr error
	rfn  func(uintptr) bool
}

func newSockIO(rc syscall.RawConn) *sockIO {
	s := &sockIO{rc: rc}
	s.wfn, s.rfn = s.write, s.read
	return s
}

func (s *sockIO) write(fd uintptr) bool {
	for s.wn < len(s.wbuf) {
		m, e := syscall.Write(int(fd), s.wbuf[s.wn:])
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
	return true
}

func (s *sockIO) read(fd uintptr) bool {
	for {
		s.rn, s.rerr = syscall.Read(int(fd), s.rbuf)
		if s.rerr != syscall.EINTR {
			return true
		}
	}
}

// writeNow writes what the socket takes without waiting: n < len(b) with a
// nil error means the rest would block.
func writeNow(s *sockIO, b []byte) (int, error) {
	s.wbuf, s.wn, s.werr = b, 0, nil
	err := s.rc.Write(s.wfn)
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
	err := s.rc.Read(s.rfn)
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
	rc := s.rc
	var one [1]byte
	var n int
	var perr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, _, perr = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if perr != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return err
	case perr == syscall.EAGAIN:
		return errWouldBlock
	case perr != nil:
		return perr
	case n <= 0:
		return io.EOF
	}
	return nil
}
