package sse

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxIDLen is the longest event ID the writer emits (and the longest
// Last-Event-ID the server accepts).
const MaxIDLen = 256

// Errors returned when an event cannot be written safely. They match with
// errors.Is.
var (
	// ErrInvalidID: an ID that contains CR, LF, NUL or another control
	// character, is not UTF-8, or is longer than MaxIDLen. Such an ID would
	// inject fields, be ignored by browsers, or fail when the client echoes
	// it in a Last-Event-ID header.
	ErrInvalidID = errors.New("sse: invalid event id")
	// ErrInvalidType: an event type that contains CR, LF or NUL.
	ErrInvalidType = errors.New("sse: invalid event type")
)

// Event is one server-sent event as written on the wire.
//
// The zero Event writes nothing. An Event with an ID, a Type or non-nil Data
// is a dispatched event: it always carries at least one data line (an empty
// Data fires an event with empty data), because a block without data fires
// nothing in a browser. An Event with only Comment and/or Retry writes just
// those lines and fires nothing.
//
// Data and Comment are split on CR, LF and CRLF into one field line per line,
// so no payload can inject fields. ID and Type are validated instead (see
// ErrInvalidID and ErrInvalidType): they are never rewritten.
type Event struct {
	ID      string        // "id:" field; "" writes none.
	Type    string        // "event:" field; "" writes none (the client sees "message").
	Data    []byte        // "data:" lines.
	Retry   time.Duration // "retry:" field in milliseconds; <= 0 writes none.
	Comment string        // ":" comment lines, written first; "" writes none.
}

// CheckID reports whether id can be emitted as an SSE event ID: at most
// MaxIDLen bytes of valid UTF-8 without control characters, so that every
// client can echo it back in a Last-Event-ID header.
func CheckID(id string) error {
	if len(id) > MaxIDLen || !utf8.ValidString(id) {
		return ErrInvalidID
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c == 0x7f {
			return ErrInvalidID
		}
	}
	return nil
}

// CheckType reports whether typ can be emitted as an event type: it must
// not contain CR, LF or NUL.
func CheckType(typ string) error {
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; c == '\r' || c == '\n' || c == 0 {
			return ErrInvalidType
		}
	}
	return nil
}

// Validate returns the first reason e cannot be written, or nil.
func (e *Event) Validate() error {
	if err := CheckID(e.ID); err != nil {
		return err
	}
	return CheckType(e.Type)
}

// dispatches reports whether e fires an event on the client.
func (e *Event) dispatches() bool { return e.ID != "" || e.Type != "" || e.Data != nil }

// AppendTo validates e and appends its wire form, including the blank line
// that ends it, to b. On error b is returned unchanged.
func (e *Event) AppendTo(b []byte) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return b, err
	}
	if e.Comment != "" {
		b = AppendComment(b, e.Comment)
	}
	if e.Retry > 0 {
		b = appendRetry(b, e.Retry)
	}
	if e.dispatches() {
		if e.ID != "" {
			b = append(b, "id: "...)
			b = append(b, e.ID...)
			b = append(b, '\n')
		}
		if e.Type != "" {
			b = append(b, "event: "...)
			b = append(b, e.Type...)
			b = append(b, '\n')
		}
		b = appendLines(b, "data: ", e.Data)
	}
	if len(e.Comment) == 0 && e.Retry <= 0 && !e.dispatches() {
		return b, nil
	}
	return append(b, '\n'), nil
}

// Size returns an upper bound of the length of e's wire form.
func (e *Event) Size() int {
	lines := bytes.Count(e.Data, []byte{'\n'}) + bytes.Count(e.Data, []byte{'\r'}) +
		strings.Count(e.Comment, "\n") + strings.Count(e.Comment, "\r")
	return len(e.ID) + len(e.Type) + len(e.Data) + len(e.Comment) + 8*lines + 64
}

// WriteTo validates e and writes its wire form to w in one Write.
func (e *Event) WriteTo(w io.Writer) (int64, error) {
	b, err := e.AppendTo(make([]byte, 0, e.Size()))
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// AppendComment appends c as comment lines (":" lines), split on CR, LF
// and CRLF, without the blank line that ends an event. A comment-only block
// fires nothing; servers use it for keepalives.
func AppendComment(b []byte, c string) []byte {
	return appendLines(b, ": ", []byte(c))
}

// AppendRetry appends a "retry:" field for d (in whole milliseconds, at
// least 1) and the blank line that ends the block.
func AppendRetry(b []byte, d time.Duration) []byte {
	return append(appendRetry(b, d), '\n')
}

func appendRetry(b []byte, d time.Duration) []byte {
	ms := max(d.Milliseconds(), 1)
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, ms, 10)
	return append(b, '\n')
}

// appendLines writes one "<prefix><line>\n" for every line of v, where lines
// end at CR, LF or CRLF. A trailing line ending produces a final empty line,
// so the payload round-trips exactly. prefix ends in a space so that a
// payload starting with a space keeps it.
func appendLines(b []byte, prefix string, v []byte) []byte {
	for {
		i := lineEnd(v)
		b = append(b, prefix...)
		if i < 0 {
			b = append(b, v...)
			return append(b, '\n')
		}
		b = append(b, v[:i]...)
		b = append(b, '\n')
		if v[i] == '\r' && i+1 < len(v) && v[i+1] == '\n' {
			i++
		}
		v = v[i+1:]
	}
}

// lineEnd returns the index of the first CR or LF in v, or -1.
func lineEnd(v []byte) int {
	lf := bytes.IndexByte(v, '\n')
	if lf < 0 {
		return bytes.IndexByte(v, '\r')
	}
	if cr := bytes.IndexByte(v[:lf], '\r'); cr >= 0 {
		return cr
	}
	return lf
}
