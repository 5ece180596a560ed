package eventstore

import (
	"errors"
	"strconv"
	"time"
)

// ID identifies an event within a stream. It has the shape of a Redis stream
// ID, "<unix-ms>-<seq>": the millisecond the store accepted the event and a
// sequence number within that millisecond.
//
// IDs are assigned by the store and strictly increase within a stream, even
// when the wall clock steps back (the store then keeps the last millisecond
// and raises the sequence). Because the time is part of the ID, an ID handed
// out before a restart still orders correctly against IDs handed out after
// it: IDs never restart at "1".
//
// The zero ID ("0-0") is before every event; it means "from the start".
// IDs compare without the store: see [ID.Compare].
type ID struct {
	Ms  uint64 // Unix time in milliseconds.
	Seq uint64 // Sequence within Ms, from 0.
}

// MaxIDLen is the length of the longest ID string (two 20-digit numbers and a dash).
const MaxIDLen = 41

// ErrBadID is returned by [ParseID] for a string that is not an ID.
var ErrBadID = errors.New("eventstore: malformed event ID")

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id.Ms == 0 && id.Seq == 0 }

// Compare returns -1, 0 or +1 as id is before, equal to or after o.
func (id ID) Compare(o ID) int {
	switch {
	case id.Ms < o.Ms:
		return -1
	case id.Ms > o.Ms:
		return 1
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// Less reports whether id is before o.
func (id ID) Less(o ID) bool { return id.Compare(o) < 0 }

// Next returns the smallest ID after id.
func (id ID) Next() ID {
	if id.Seq == ^uint64(0) {
		return ID{Ms: id.Ms + 1}
	}
	return ID{Ms: id.Ms, Seq: id.Seq + 1}
}

// Time returns the millisecond encoded in id.
func (id ID) Time() time.Time { return time.UnixMilli(int64(id.Ms)) }

// String formats id as "<ms>-<seq>".
func (id ID) String() string {
	return string(id.AppendTo(make([]byte, 0, MaxIDLen)))
}

// AppendTo appends the string form of id to b, without allocating when b has room.
func (id ID) AppendTo(b []byte) []byte {
	b = strconv.AppendUint(b, id.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10)
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return id.AppendTo(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses "<ms>-<seq>". Both parts are unsigned decimal numbers without
// sign, spaces or leading "+"; anything else (and anything longer than
// [MaxIDLen]) is [ErrBadID]. Input comes from clients (Last-Event-ID headers,
// query strings), so it is checked strictly and never panics.
func ParseID(s string) (ID, error) {
	if len(s) == 0 || len(s) > MaxIDLen {
		return ID{}, ErrBadID
	}
	dash := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			if dash >= 0 {
				return ID{}, ErrBadID
			}
			dash = i
			continue
		}
		if c < '0' || c > '9' {
			return ID{}, ErrBadID
		}
	}
	if dash <= 0 || dash == len(s)-1 {
		return ID{}, ErrBadID
	}
	ms, err := strconv.ParseUint(s[:dash], 10, 64)
	if err != nil {
		return ID{}, ErrBadID
	}
	seq, err := strconv.ParseUint(s[dash+1:], 10, 64)
	if err != nil {
		return ID{}, ErrBadID
	}
	return ID{Ms: ms, Seq: seq}, nil
}

// Generator assigns IDs that strictly increase, from a clock that may step
// back. The zero value is ready to use. A Generator is not safe for concurrent
// use: stores call it under the lock that orders their appends.
type Generator struct {
	last ID
}

// Next returns the next ID for an event accepted at now.
func (g *Generator) Next(now time.Time) ID {
	ms := uint64(max(now.UnixMilli(), 0))
	if ms > g.last.Ms {
		g.last = ID{Ms: ms}
	} else {
		g.last = g.last.Next()
	}
	return g.last
}

// Last returns the last ID handed out (zero before the first).
func (g *Generator) Last() ID { return g.last }

// Observe raises the generator so that its next ID is after id; stores call it
// with the newest ID they recover when they reopen.
func (g *Generator) Observe(id ID) {
	if g.last.Less(id) {
		g.last = id
	}
}
