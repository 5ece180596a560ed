package sse

import "syscall"

// setRecvBuffer sets SO_RCVBUF before connect (net.Dialer.Control), so the
// small window is the one the handshake announces.
func setRecvBuffer(fd uintptr, n int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
