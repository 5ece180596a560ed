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

// writeNow writes what the socket takes without waiting: n < len(b) with a
// nil error means the rest would block.
func writeNow(rc syscall.RawConn, b []byte) (int, error) {
	n := 0
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := syscall.Write(int(fd), b[n:])
			if e == syscall.EINTR {
				continue
			}
			if e == syscall.EAGAIN {
				break
			}
			if e != nil {
				werr = e
				break
			}
			n += m
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// readNow reads what is there without waiting: errWouldBlock if nothing,
// io.EOF when the peer closed.
func readNow(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), b)
			if rerr != syscall.EINTR {
				return true
			}
		}
	})
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
func peekNow(rc syscall.RawConn) error {
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
