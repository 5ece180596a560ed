//go:build !unix

package longpoll

import (
	"errors"
	"net"
	"syscall"
)

// bareSupported: without non-blocking socket calls (and httpx.Poller) polls
// always wait on net/http's goroutine here.
const bareSupported = false

var errWouldBlock = errors.New("longpoll: would block")

func rawConnOf(net.Conn) (syscall.RawConn, bool)    { return nil, false }
func writeNow(syscall.RawConn, []byte) (int, error) { return 0, errors.ErrUnsupported }
func readNow(syscall.RawConn, []byte) (int, error)  { return 0, errors.ErrUnsupported }
func peekNow(syscall.RawConn) error                 { return errors.ErrUnsupported }
