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

func rawConnOf(net.Conn) (syscall.RawConn, bool) { return nil, false }

// sockIO is not used where bareSupported is false.
type sockIO struct{}

func newSockIO(syscall.RawConn) *sockIO     { return &sockIO{} }
func writeNow(*sockIO, []byte) (int, error) { return 0, errors.ErrUnsupported }
func readNow(*sockIO, []byte) (int, error)  { return 0, errors.ErrUnsupported }
func peekNow(*sockIO) error                 { return errors.ErrUnsupported }
