package httpx

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// epollBackend is one epoll instance. A Watch is level-triggered and
// one-shot; a Registration is edge-triggered, armed in user space (see
// Poller.fireEdge and Registration.ArmAfterDrain). The epoll descriptor is itself non-blocking and registered with
// Go's netpoller (epoll sets nest), so the goroutine that collects its
// events waits like any network read: no OS thread blocked in epoll_wait,
// and no scheduler hand-off on every wake-up.
//
// An event's data is the registration's id and the one-shot arming's
// generation, 0 for edge-triggered entries. A one-shot entry that was
// disarmed or reported stays in the epoll set until it is re-armed
// (EPOLL_CTL_MOD, the one system call of an Arm) or the socket is closed
// (the kernel then drops it); an edge-triggered one until its Registration
// is closed (EPOLL_CTL_DEL). A full Arm of either is an EPOLL_CTL_MOD,
// which also reports bytes already there.
type epollBackend struct {
	p        *Poller
	epfd     int
	f        *os.File // epfd, in the netpoller
	loopDone chan struct{}
}

// epollReg is a registration's epoll state, made once so that an Arm
// allocates nothing: the event and the Control callback live here.
type epollReg struct {
	b   *epollBackend
	rc  syscall.RawConn
	ev  syscall.EpollEvent
	err error
	mod func(uintptr) // (*epollReg).modify
}

// epollET is EPOLLET as the uint32 of EpollEvent.Events (the syscall
// package's constant is a negative int).
const epollET = uint32(1) << 31

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
			if gen := uint32(evs[i].Pad); gen != 0 {
				b.p.fire(uint32(evs[i].Fd), gen)
			} else {
				b.p.fireEdge(uint32(evs[i].Fd))
			}
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
	e.ev = syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(r.id), Pad: int32(gen),
	}
	if !r.oneShot {
		e.ev.Events = syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET
		e.ev.Pad = 0
	}
	if err := e.rc.Control(e.mod); err != nil {
		return err
	}
	if e.err != nil {
		return fmt.Errorf("httpx: poller: epoll_ctl: %w", e.err)
	}
	r.edge = !r.oneShot
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
