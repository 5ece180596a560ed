//go:build unix && !linux

package longpoll

import "syscall"

// sendNoWait writes without waiting: the socket is non-blocking (Go sets
// every socket so).
func sendNoWait(fd int, b []byte) (int, error) {
	n, err := syscall.Write(fd, b)
	if n < 0 {
		n = 0
	}
	return n, err
}

// recvNoWait reads without waiting, with extra flags (MSG_PEEK).
func recvNoWait(fd int, b []byte, flags int) (int, error) {
	if flags == 0 {
		return syscall.Read(fd, b)
	}
	n, _, err := syscall.Recvfrom(fd, b, flags|syscall.MSG_DONTWAIT)
	return n, err
}
