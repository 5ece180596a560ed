package longpoll

import (
	"syscall"
	"unsafe"
)

// sendNoWait is send(2) without waiting and without SIGPIPE. send and recv
// go straight to the socket, where write and read first pass the generic
// file layer. Both are raw system calls (no scheduler hand-off around
// them): with MSG_DONTWAIT they never block.
func sendNoWait(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// recvNoWait is recv(2) without waiting, with extra flags (MSG_PEEK).
func recvNoWait(fd int, b []byte, flags int) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		uintptr(flags|syscall.MSG_DONTWAIT), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
