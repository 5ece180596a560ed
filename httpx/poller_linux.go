package httpx

import (
	"errors"
	"fmt"
	"syscall"
)

// epollBackend is one epoll instance, level-triggered and one-shot per
// watch, and one goroutine in epoll_wait. A pipe wakes it for Close.
// Disarmed registrations stay in the epoll set until re-armed (EPOLL_CTL_MOD)
// or the socket is closed (the kernel then drops them), so a poll-answer-poll
// cycle costs one epoll_ctl.
type epollBackend struct {
	p        *Poller
	epfd     int
	wake     [2]int
	loopDone chan struct{}
}

func newPollBackend(p *Poller) (pollBackend, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("httpx: poller: epoll_create1: %w", err)
	}
	b := &epollBackend{p: p, epfd: epfd, loopDone: make(chan struct{})}
	if err := syscall.Pipe2(b.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("httpx: poller: pipe: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // token 0: wake-up
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, b.wake[0], &ev); err != nil {
		b.closeFDs()
		return nil, fmt.Errorf("httpx: poller: epoll_ctl: %w", err)
	}
	go b.loop() // owned: close waits for it
	return b, nil
}

func (b *epollBackend) closeFDs() {
	syscall.Close(b.wake[0])
	syscall.Close(b.wake[1])
	syscall.Close(b.epfd)
}

func (b *epollBackend) loop() {
	defer close(b.loopDone)
	var evs [128]syscall.EpollEvent
	for {
		n, err := syscall.EpollWait(b.epfd, evs[:], -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return // only EBADF/EINVAL: the poller is broken; Close still works
		}
		for i := range n {
			tok := uint64(uint32(evs[i].Fd)) | uint64(uint32(evs[i].Pad))<<32
			if tok == 0 {
				return // Close
			}
			b.p.fire(tok)
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

func (b *epollBackend) close() {
	_, _ = syscall.Write(b.wake[1], []byte{1})
	<-b.loopDone
	b.closeFDs()
}
