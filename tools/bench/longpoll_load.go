package main

// The long-poll scenario's light load generator: each poller is one raw
// keep-alive connection that writes its GET by hand and reads the answer
// with minimal framing (status line, Content-Length, body) and a scan for
// the few fields the scenario needs, instead of net/http's client and
// encoding/json. Both servers get exactly this load, so the generator's
// single core stops bounding the latency rows. The boundary race keeps
// golongpoll's own client.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

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

var (
	lpKeyTimestamp = []byte(`{"timestamp":`)
	lpKeySeq       = []byte(`"seq":`)
	lpKeyT         = []byte(`"t":`)
	lpKeyID        = []byte(`"id":"`)
	lpKeyTimeout   = []byte(`"timeout":`)
	lpKeyTS        = []byte(`"timestamp":`)
)

// lpScanAnswer pulls the events (timestamp, data.seq, data.t, id) or the
// timeout's timestamp out of an answer body of the known shape; ok is
// false for anything else (an error answer).
func lpScanAnswer(b []byte) (evs []lpEvent, ts int64, ok bool) {
	if bytes.HasPrefix(b, []byte(`{"events":[`)) {
		rest := b
		for {
			i := bytes.Index(rest, lpKeyTimestamp)
			if i < 0 {
				return evs, 0, true
			}
			rest = rest[i+len(lpKeyTimestamp):]
			var ev lpEvent
			ev.Timestamp, rest = lpInt(rest)
			if i = bytes.Index(rest, lpKeySeq); i < 0 {
				return nil, 0, false
			}
			var seq int64
			seq, rest = lpInt(rest[i+len(lpKeySeq):])
			ev.Data.Seq = int(seq)
			if i = bytes.Index(rest, lpKeyT); i < 0 {
				return nil, 0, false
			}
			ev.Data.T, rest = lpInt(rest[i+len(lpKeyT):])
			if i = bytes.Index(rest, lpKeyID); i < 0 {
				return nil, 0, false
			}
			rest = rest[i+len(lpKeyID):]
			j := bytes.IndexByte(rest, '"')
			if j < 0 {
				return nil, 0, false
			}
			ev.ID, rest = string(rest[:j]), rest[j:]
			evs = append(evs, ev)
		}
	}
	if bytes.Contains(b, lpKeyTimeout) {
		if i := bytes.Index(b, lpKeyTS); i >= 0 {
			ts, _ = lpInt(b[i+len(lpKeyTS):])
			return nil, ts, true
		}
	}
	return nil, 0, false
}

func lpInt(b []byte) (int64, []byte) {
	var v int64
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + int64(b[i]-'0')
	}
	if neg {
		v = -v
	}
	return v, b[i:]
}
