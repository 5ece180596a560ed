//go:build !linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// lpPollers runs one lpRawPoller goroutine per entry of cats (the epoll
// generator is Linux only).
func lpPollers(ctx context.Context, addr string, cats []string, timeout int, onEvent func(i int, ev lpEvent)) error {
	var wg sync.WaitGroup
	for i, cat := range cats {
		wg.Go(func() {
			lpRawPoller(ctx, addr, cat, timeout, func(ev lpEvent) {
				ev.recv = time.Now().UnixNano()
				onEvent(i, ev)
			})
		})
	}
	wg.Wait()
	return nil
}

// lpRawPoller polls category in a loop on one connection as golongpoll's
// clients do (the first poll without since_time: only new events), and
// reports events. It redials after an error.
func lpRawPoller(ctx context.Context, addr, category string, timeout int, onEvent func(lpEvent)) {
	var since int64
	var lastID []byte
	req := make([]byte, 0, 256)
	var body []byte
	for ctx.Err() == nil {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			lpPause(ctx)
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		br := bufio.NewReaderSize(c, 1024)
		for ctx.Err() == nil {
			req = append(req[:0], "GET /events?category="...)
			req = append(req, category...) // bench categories need no escaping
			req = append(req, "&timeout="...)
			req = strconv.AppendInt(req, int64(timeout), 10)
			if since != 0 {
				req = append(req, "&since_time="...)
				req = strconv.AppendInt(req, since, 10)
			}
			if len(lastID) > 0 {
				req = append(req, "&last_id="...)
				req = append(req, lastID...)
			}
			req = append(req, " HTTP/1.1\r\nHost: bench\r\n\r\n"...)
			if _, err = c.Write(req); err != nil {
				break
			}
			body, err = lpReadResponse(br, body)
			if err != nil {
				break
			}
			evs, ts, ok := lpScanAnswer(body)
			if !ok {
				err = fmt.Errorf("bad answer: %.200s", body)
				break
			}
			for _, ev := range evs {
				onEvent(ev)
				since, lastID = ev.Timestamp, append(lastID[:0], ev.ID...)
			}
			if len(evs) == 0 && ts > since {
				since = ts
			}
		}
		stop()
		c.Close()
		if err != nil && ctx.Err() == nil {
			lpPause(ctx)
		}
	}
}

func lpPause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(100 * time.Millisecond):
	}
}

// lpReadResponse reads one HTTP/1.1 response with a Content-Length body
// into buf (reused).
func lpReadResponse(br *bufio.Reader, buf []byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return buf, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return buf, fmt.Errorf("status %q", bytes.TrimSpace(line))
	}
	n := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return buf, err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && (line[0] == 'C' || line[0] == 'c') && bytes.EqualFold(line[:15], []byte("Content-Length:")) {
			n, err = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
			if err != nil {
				return buf, err
			}
		}
	}
	if n < 0 {
		return buf, errors.New("no Content-Length")
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err = io.ReadFull(br, buf)
	return buf, err
}
