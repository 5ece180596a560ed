package httpx

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// epollBackend is one epoll instance, level-triggered and one-shot per
// watch. The epoll descriptor is itself non-blocking and registered with
// Go's netpoller (epoll sets nest), so the goroutine that collects its
// events waits like any network read: no OS thread blocked in epoll_wait,
// and no scheduler hand-off on every wake-up.
//
// Disarmed registrations stay in the epoll set until re-armed
// (EPOLL_CTL_MOD) or the socket is closed (the kernel then drops them), so
// a poll-answer-poll cycle costs one epoll_ctl.
type epollBackend struct {
	p        *Poller
	epfd     int
	f        *os.File // epfd, in the netpoller
	loopDone chan struct{}
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
			b.p.fire(uint64(uint32(evs[i].Fd)) | uint64(uint32(evs[i].Pad))<<32)
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

func (b *epollBackend) arm(w *watch) error {
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(w.token)), Pad: int32(uint32(w.token >> 32)),
	}
	var err error
	cerr := w.rc.Control(func(fd uintptr) {
		// A connection watched before keeps its disarmed registration.
		err = syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		if errors.Is(err, syscall.ENOENT) {
			err = syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("httpx: poller: epoll_ctl: %w", err)
	}
	return nil
}

// disarm removes the registration. Control fails on a closed connection,
// whose registration the kernel has already dropped; the fd number is never
// used outside Control, so a reused number is never touched.
func (b *epollBackend) disarm(w *watch) {
	_ = w.rc.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
}

// close ends the loop (Close on the file wakes its netpoller wait) and
// releases the descriptor once the loop has left it.
func (b *epollBackend) close() {
	_ = b.f.Close()
	<-b.loopDone
}
