//go:build unix

package ws

import (
	"io"
	"net"
	"os"
	"syscall"
)

// waitIdle waits until the connection has something to read, on a shallow
// stack. An idle connection's read goroutine otherwise parks deep inside
// gorilla's frame reader, and the runtime can then not shrink its stack
// below 4 KiB; parked here it stays at 2 KiB, which is most of an idle
// connection's memory. It does nothing when gorilla's buffer already holds
// data or the connection is not a plain socket (TLS has buffers of its own).
// What the readiness check reads is handed to gorilla by Read, so the
// system calls per message are those of gorilla's own read. Read goroutine
// only.
func (b *batchConn) waitIdle() {
	if b.br == nil || b.br.Buffered() > 0 || b.pendBuf != nil || b.pendErr != nil {
		return
	}
	sc, ok := b.Conn.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	// An error here (deadline, closed) is seen again by gorilla's read.
	_ = rc.Read(b.readNow)
}

// idleReadSize is how much waitIdle's read takes at once. A message that
// arrived whole (up to about 8 KiB with its header) then costs one read
// system call, where the 512 B read buffer alone would split a 4 KiB frame
// into two reads. The buffer comes from a pool and goes back as soon as
// gorilla has consumed it, normally before OnMessage runs, so an idle
// connection holds none of it; at most the connections whose peer has
// pipelined more bytes than gorilla has read yet hold one each.
const idleReadSize = 8 << 10

// readNow is waitIdle's non-blocking read: false means "nothing yet, wait".
func (b *batchConn) readNow(fd uintptr) bool {
	size := max(b.br.Size(), idleReadSize)
	bp, _ := b.stash.Get().(*[]byte)
	if bp == nil || cap(*bp) < size {
		buf := make([]byte, size)
		bp = &buf
	}
	buf := (*bp)[:size]
	var n int
	var err error
	for {
		n, err = syscall.Read(int(fd), buf)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err == syscall.EAGAIN:
		b.stash.Put(bp)
		return false
	case n > 0:
		b.pend, b.pendBuf = buf[:n], bp
	default:
		b.stash.Put(bp)
		if err == nil {
			b.pendErr = io.EOF
		} else {
			b.pendErr = &net.OpError{Op: "read", Net: b.LocalAddr().Network(), Source: b.LocalAddr(), Addr: b.RemoteAddr(), Err: os.NewSyscallError("read", err)}
		}
	}
	return true
}
