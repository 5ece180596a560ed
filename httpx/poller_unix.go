//go:build unix

package httpx

import (
	"errors"
	"sync/atomic"
	"syscall"
	"time"
)

// goroutineBackend waits for each watch in a goroutine of its own, parked
// in syscall.RawConn.Read (the runtime's netpoller) until the socket is
// readable: the fallback where there is no epoll. Readiness is confirmed
// with a non-blocking MSG_PEEK, because the netpoller may report a socket
// ready from an edge that an earlier read already consumed.
type goroutineBackend struct{ p *Poller }

type goroutineWatch struct {
	stopping atomic.Bool
	exited   chan struct{}
}

func newGoroutineBackend(p *Poller) pollBackend { return &goroutineBackend{p: p} }

func (b *goroutineBackend) arm(w *watch) error {
	gw := &goroutineWatch{exited: make(chan struct{})}
	w.aux = gw
	b.p.wg.Go(func() {
		defer close(gw.exited)
		var one [1]byte
		_ = w.rc.Read(func(fd uintptr) bool {
			if gw.stopping.Load() {
				return true
			}
			for {
				_, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
				switch {
				case errors.Is(err, syscall.EINTR):
					continue
				case errors.Is(err, syscall.EAGAIN):
					return false // not yet: wait in the netpoller
				}
				return true // data, EOF (0 bytes) or an error: all reported
			}
		})
		if !gw.stopping.Load() {
			b.p.fire(w.token)
		}
	})
	return nil
}

// disarm wakes the waiting goroutine with a read deadline in the past,
// waits for it, and clears the read deadline (which the caller must not
// rely on while the connection is watched).
func (b *goroutineBackend) disarm(w *watch) {
	gw := w.aux.(*goroutineWatch)
	gw.stopping.Store(true)
	_ = w.conn.SetReadDeadline(time.Unix(1, 0))
	<-gw.exited
	_ = w.conn.SetReadDeadline(time.Time{})
}

func (b *goroutineBackend) close() {}
