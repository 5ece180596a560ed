package main

// The long-poll scenario's light load generator: each poller is one raw
// keep-alive connection that writes its GET by hand and reads the answer
// with minimal framing (Content-Length) and a scan for the few fields the
// scenario needs, instead of net/http's client and encoding/json; on Linux
// all of them run on one epoll set (longpoll_load_linux.go). Both servers
// get exactly this load, so the generator's single core stops bounding the
// latency rows. The boundary race keeps golongpoll's own client.

import "bytes"

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
