//go:build unix

package httpx

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// goroutineBackend waits for each arming in a goroutine of its own, parked
// in syscall.RawConn.Read (the runtime's netpoller) until the socket is
// readable: the fallback where there is no epoll. Readiness is confirmed
// with a non-blocking MSG_PEEK, because the netpoller may report a socket
// ready from an edge that an earlier read already consumed.
type goroutineBackend struct{ p *Poller }

// goroutineReg is a registration's current arming, if any. Its lock orders
// an arming against a Disarm that won it before its goroutine started.
type goroutineReg struct {
	mu  sync.Mutex
	cur *goroutineWatch
}

// goroutineWatch is one arming's goroutine.
type goroutineWatch struct {
	stopping atomic.Bool
	exited   chan struct{}
}

func newGoroutineBackend(p *Poller) pollBackend { return &goroutineBackend{p: p} }

func (b *goroutineBackend) add(r *Registration) error {
	r.aux = &goroutineReg{}
	return nil
}

func (b *goroutineBackend) arm(r *Registration, gen uint32) error {
	g := r.aux.(*goroutineReg)
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.state.Load() != uint64(gen)<<regGenShift|regArmed {
		return nil // disarmed already: no goroutine to stop later
	}
	gw := &goroutineWatch{exited: make(chan struct{})}
	g.cur = gw
	b.p.wg.Go(func() {
		defer close(gw.exited)
		var one [1]byte
		_ = r.rc.Read(func(fd uintptr) bool {
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
			b.p.fire(r.id, gen)
		}
	})
	return nil
}

// disarm wakes the waiting goroutine with a read deadline in the past,
// waits for it, and clears the read deadline (which the caller must not
// rely on while the connection is armed).
func (b *goroutineBackend) disarm(r *Registration) {
	g := r.aux.(*goroutineReg)
	g.mu.Lock()
	gw := g.cur
	g.cur = nil
	g.mu.Unlock()
	if gw == nil {
		return
	}
	gw.stopping.Store(true)
	_ = r.conn.SetReadDeadline(time.Unix(1, 0))
	<-gw.exited
	_ = r.conn.SetReadDeadline(time.Time{})
}

func (b *goroutineBackend) remove(*Registration) {}
func (b *goroutineBackend) close()               {}
