package httpx

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// epollBackend is one epoll instance, whose entries are level-triggered
// and one-shot. The epoll descriptor is itself non-blocking and registered
// with Go's netpoller (epoll sets nest), so the goroutine that collects its
// events waits like any network read: no OS thread blocked in epoll_wait,
// and no scheduler hand-off on every wake-up.
//
// An event's data is the registration's id and the arming's generation.
// An entry that was disarmed or reported stays in the epoll set until it is
// re-armed (EPOLL_CTL_MOD, the one system call of an Arm, which also
// reports bytes already there), its Registration is closed (EPOLL_CTL_DEL)
// or the socket is closed (the kernel then drops it).
//
// Why not edge-triggered, with re-arming after a read that found the
// socket dry as a compare-and-swap and no system call: we built that, and
// under stress (50 connections written to in bursts while their last
// report was being read) about one burst in two million was never reported:
// the bytes sat on the socket and the entry was off the ready list. A
// level-triggered arming asks the socket itself, after the read.
type epollBackend struct {
	p        *Poller
	epfd     int
	f        *os.File // epfd, in the netpoller
	loopDone chan struct{}
}

// epollReg is a registration's epoll state, made once so that an Arm
// allocates nothing: the event and the Control callback live here. mu
// serialises arms, which can overlap: the arming's report, and the
// callback's own Arm, may come before this Arm has returned.
type epollReg struct {
	b   *epollBackend
	rc  syscall.RawConn
	mod func(uintptr) // (*epollReg).modify

	mu  sync.Mutex
	ev  syscall.EpollEvent
	err error
}

func newPollBackend(p *Poller) (pollBackend, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("httpx: poller: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("httpx: poller: %w", err)
	}
	b := &epollBackend{p: p, epfd: epfd, f: os.NewFile(uintptr(epfd), "epoll"), loopDone: make(chan struct{})}
	rc, err := b.f.SyscallConn()
	if err != nil {
		b.f.Close()
		return nil, fmt.Errorf("httpx: poller: %w", err)
	}
	go b.loop(rc) // owned: close waits for it
	return b, nil
}

func (b *epollBackend) loop(rc syscall.RawConn) {
	defer close(b.loopDone)
	var evs [128]syscall.EpollEvent
	collect := func(fd uintptr) bool {
		n, err := syscall.EpollWait(int(fd), evs[:], 0)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return true // EBADF: closing
		}
		if n <= 0 {
			return false // empty: wait for the next edge in the netpoller
		}
		for i := range n {
			b.p.fire(uint32(evs[i].Fd), uint32(evs[i].Pad))
		}
		// A short batch emptied the set: wait. An event that comes after
		// epoll_wait took the set is an edge the netpoller keeps (Go
		// registers descriptors edge-triggered and remembers an edge that
		// nobody waited for), so asking again at once would only cost a
		// system call. A full batch may have left events behind: ask again.
		return n == len(evs)
	}
	for {
		if err := rc.Read(collect); err != nil {
			return // closed
		}
		select {
		case <-b.p.done:
			return
		default: // a full batch: collect again
		}
	}
}

func (b *epollBackend) add(r *Registration) error {
	e := &epollReg{b: b, rc: r.rc}
	e.mod = e.modify
	r.aux = e
	return nil
}

func (b *epollBackend) arm(r *Registration, gen uint32) error {
	e := r.aux.(*epollReg)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(r.id), Pad: int32(gen),
	}
	if err := e.rc.Control(e.mod); err != nil {
		return err
	}
	if e.err != nil {
		return fmt.Errorf("httpx: poller: epoll_ctl: %w", e.err)
	}
	return nil
}

// modify re-arms the connection's entry, adding it the first time (or
// after an earlier registration of the same connection was closed).
func (e *epollReg) modify(fd uintptr) {
	e.err = syscall.EpollCtl(e.b.epfd, syscall.EPOLL_CTL_MOD, int(fd), &e.ev)
	if e.err == syscall.ENOENT {
		e.err = syscall.EpollCtl(e.b.epfd, syscall.EPOLL_CTL_ADD, int(fd), &e.ev)
	}
}

// disarm does nothing: a one-shot entry that still fires reports an arming
// that no longer waits, and is ignored.
func (b *epollBackend) disarm(*Registration) {}

// remove drops the entry. Control fails on a closed connection, whose entry
// the kernel has already dropped; the fd number is never used outside
// Control, so a reused number is never touched.
func (b *epollBackend) remove(r *Registration) {
	_ = r.rc.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
}

// close ends the loop (Close on the file wakes its netpoller wait) and
// releases the descriptor once the loop has left it.
func (b *epollBackend) close() {
	_ = b.f.Close()
	<-b.loopDone
}
