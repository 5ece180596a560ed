package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"time"
)

// lpPollers runs one raw keep-alive poller per entry of cats on a single
// goroutine over one epoll set, until ctx ends: per answer one read, one
// scan and one write, with no goroutine wake-up, so that the generator's
// one core keeps up with a server that answers 1,000 polls in a few
// milliseconds. Each read is timestamped as it returns, before the batch's
// next requests are written. onEvent gets the poller's index.
func lpPollers(ctx context.Context, addr string, cats []string, timeout int, onEvent func(i int, ev lpEvent)) error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer syscall.Close(epfd)
	ps := make([]*lpRawConn, len(cats))
	defer func() {
		for _, p := range ps {
			if p != nil && p.c != nil {
				p.c.Close()
			}
		}
	}()
	for i, cat := range cats {
		ps[i] = &lpRawConn{cat: cat, timeout: timeout}
		if err := ps[i].dial(epfd, addr, i); err != nil {
			return err
		}
	}
	var evs [256]syscall.EpollEvent
	var ready []int
	buf := make([]byte, 16<<10)
	wait := 50
	for ctx.Err() == nil {
		n, err := syscall.EpollWait(epfd, evs[:], wait)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return err
		}
		if n == 0 && len(ready) > 0 {
			// Nothing more to read now: send the next polls of what was
			// read. Reads go first so that a burst of answers is
			// timestamped as it arrives, not behind the writes.
			for _, i := range ready {
				if err := ps[i].send(); err != nil && ctx.Err() == nil {
					return err
				}
			}
			ready = ready[:0]
		}
		wait = 50
		if n > 0 {
			wait = 0
		}
		for k := range n {
			i := int(evs[k].Fd)
			p := ps[i]
			m, rerr := syscall.Read(p.fd, buf)
			now := time.Now().UnixNano()
			if rerr == syscall.EAGAIN {
				continue
			}
			if rerr != nil || m <= 0 {
				if ctx.Err() != nil {
					return nil
				}
				p.c.Close()
				time.Sleep(100 * time.Millisecond)
				if err := p.dial(epfd, addr, i); err != nil {
					return err
				}
				continue
			}
			p.in = append(p.in, buf[:m]...)
			for {
				body, rest, ok := lpFrame(p.in)
				if !ok {
					break
				}
				evs, ts, good := lpScanAnswer(body)
				if !good {
					ts = 0
				}
				for _, ev := range evs {
					ev.recv = now
					onEvent(i, ev)
					p.since, p.lastID = ev.Timestamp, append(p.lastID[:0], ev.ID...)
				}
				if len(evs) == 0 && ts > p.since {
					p.since = ts
				}
				p.in = append(p.in[:0], rest...)
				ready = append(ready, i)
			}
		}
	}
	return nil
}

// lpRawConn is one poller's connection; its socket is used with system
// calls directly (the net.Conn only keeps it open).
type lpRawConn struct {
	c       net.Conn
	fd      int
	cat     string
	timeout int
	since   int64
	lastID  []byte
	in, out []byte
}

func (p *lpRawConn) dial(epfd int, addr string, i int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	_ = rc.Control(func(fd uintptr) { p.fd = int(fd) })
	p.c, p.in = c, p.in[:0]
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(i)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.fd, &ev); err != nil {
		return err
	}
	return p.send()
}

// send writes the next poll (the socket is empty: one small write fits).
func (p *lpRawConn) send() error {
	b := append(p.out[:0], "GET /events?category="...)
	b = append(b, p.cat...)
	b = append(b, "&timeout="...)
	b = strconv.AppendInt(b, int64(p.timeout), 10)
	if p.since != 0 {
		b = append(b, "&since_time="...)
		b = strconv.AppendInt(b, p.since, 10)
	}
	if len(p.lastID) > 0 {
		b = append(b, "&last_id="...)
		b = append(b, p.lastID...)
	}
	b = append(b, " HTTP/1.1\r\nHost: bench\r\n\r\n"...)
	p.out = b
	for len(b) > 0 {
		n, err := syscall.Write(p.fd, b)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// lpFrame splits one complete HTTP/1.1 response with a Content-Length body
// off in; ok is false until it is all there.
func lpFrame(in []byte) (body, rest []byte, ok bool) {
	end := bytes.Index(in, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, in, false
	}
	head := in[:end]
	i := bytes.Index(head, []byte("Content-Length: "))
	if i < 0 {
		return nil, in, false
	}
	v, _ := lpInt(head[i+len("Content-Length: "):])
	start := end + 4
	if len(in) < start+int(v) {
		return nil, in, false
	}
	return in[start : start+int(v)], in[start+int(v):], true
}
