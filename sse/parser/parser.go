// Package parser is a WHATWG-exact parser for text/event-stream, the wire
// format of server-sent events (HTML Living Standard, section 9.2.6).
//
// It reads a byte stream and returns the events a browser's EventSource
// would dispatch, with the same rules: one leading BOM stripped; lines end
// at CRLF, LF or CR (also when a CRLF is split between reads); one leading
// space stripped from values; a line without a colon is a field with an
// empty value; unknown fields and comments ignored; "id" values containing
// NUL ignored and an empty "id" resetting the last event ID; "retry" taken
// only when it is all ASCII digits; a block without data fires nothing; an
// incomplete event at end of stream is discarded; and the last event ID
// persists across events (and across streams, see [Parser.Reset]).
// Invalid UTF-8 is replaced with U+FFFD as the standard's decoder does.
//
// Memory is bounded: an event (its data, type and id) or a single line
// larger than Options.MaxEventSize fails with an *[EventTooLargeError].
// Each dispatched event costs at most one allocation: its new strings share
// one backing array, and those of events up to 512 bytes are carved from
// shared 4 KiB blocks (about one allocation per 40 small events), so a
// string the caller keeps holds at most 4 KiB alive.
//
// A Parser is not safe for concurrent use.
package parser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMaxEventSize is the default bound of one event and one line.
const DefaultMaxEventSize = 1 << 20

// defaultBufferSize is the initial read buffer; it grows (up to the line
// bound) only for longer lines.
const defaultBufferSize = 16 << 10

// ErrEventTooLarge matches (with errors.Is) the *EventTooLargeError a
// parser returns for an event or line over its bound.
var ErrEventTooLarge = errors.New("sse: event too large")

// EventTooLargeError is returned when one event (the sum of its data, type
// and id) or one line exceeds the parser's MaxEventSize. The parser stops:
// the stream cannot be resynchronised, and reconnecting would most likely
// receive the same event again, so clients treat it as fatal.
type EventTooLargeError struct {
	Limit int // the bound in bytes
}

func (e *EventTooLargeError) Error() string {
	return fmt.Sprintf("sse: event larger than %d bytes", e.Limit)
}

// Is makes errors.Is(err, ErrEventTooLarge) true.
func (e *EventTooLargeError) Is(target error) bool { return target == ErrEventTooLarge }

// Event is a dispatched event, as a browser's MessageEvent would carry it.
type Event struct {
	// Type is the event type; "message" when the stream gave none.
	Type string
	// Data is the data buffer with its final LF removed; lines are joined by
	// LF whatever line ending the stream used.
	Data string
	// ID is the last event ID at dispatch: it persists across events until a
	// later "id" field changes it ("" after an empty "id").
	ID string
}

// Options configure a Parser. The zero value uses the defaults.
type Options struct {
	// MaxEventSize bounds one event (data + type + id) and one line, in
	// bytes. 0 means DefaultMaxEventSize.
	MaxEventSize int
	// LastEventID seeds the last event ID, as a browser does when it
	// reconnects.
	LastEventID string
}

// Parser reads events from a text/event-stream.
type Parser struct {
	r        io.Reader
	buf      []byte
	start    int // first unconsumed byte
	end      int // end of buffered bytes
	lf, cr   int // cached index of the next LF / CR at or after start (-1: none below lfScan / crScan)
	lfScan   int
	crScan   int
	maxEvent int
	bomDone  bool // the leading-BOM check was made
	skipLF   bool // the last line ended in CR at the end of the buffer
	eof      bool
	rerr     error // read error other than EOF, returned once the buffer is drained
	err      error // sticky error

	data      []byte
	borrow    []byte // the first data line, still in buf (see field)
	borrowed  bool
	hasData   bool
	typ       []byte
	idBuf     []byte
	idSet     bool
	eventSize int

	lastID   string
	lastType string
	retry    time.Duration
	retrySet bool
	arena    strings.Builder // see str
}

// New returns a parser reading r.
func New(r io.Reader, opts Options) *Parser {
	p := &Parser{maxEvent: opts.MaxEventSize, lastID: opts.LastEventID}
	if p.maxEvent <= 0 {
		p.maxEvent = DefaultMaxEventSize
	}
	p.Reset(r)
	return p
}

// Reset makes p read a new stream from r (a reconnection): the read buffer,
// any partial event and the BOM check start afresh; the last event ID and
// the retry value are kept, as the standard asks.
func (p *Parser) Reset(r io.Reader) {
	p.r = r
	p.start, p.end = 0, 0
	p.lf, p.cr, p.lfScan, p.crScan = -1, -1, 0, 0
	p.bomDone, p.skipLF, p.eof = false, false, false
	p.rerr, p.err = nil, nil
	p.resetEvent()
}

// LastEventID returns the last event ID string: the value a client sends
// as Last-Event-ID when it reconnects. It changes only when a block ends
// (an "id" field of an event cut off by the end of the stream is not taken).
func (p *Parser) LastEventID() string { return p.lastID }

// Retry returns the reconnection time set by the last valid "retry" field,
// and whether there was one.
func (p *Parser) Retry() (time.Duration, bool) { return p.retry, p.retrySet }

// Next returns the next dispatched event. At the end of the stream it
// returns io.EOF (any incomplete event is discarded); a read error is
// returned as is; an oversized event or line is an *EventTooLargeError.
// After an error, Next keeps returning it until Reset.
//
// The returned strings are owned by the caller.
func (p *Parser) Next() (Event, error) {
	if p.err != nil {
		return Event{}, p.err
	}
	for {
		line, err := p.readLine()
		if err != nil {
			p.err = err
			p.resetEvent()
			return Event{}, err
		}
		if len(line) == 0 {
			if ev, ok := p.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := p.field(line); err != nil {
			p.err = err
			p.resetEvent()
			return Event{}, err
		}
	}
}

func (p *Parser) tooLarge() error { return &EventTooLargeError{Limit: p.maxEvent} }

// Field kinds.
const (
	fOther = iota
	fData
	fID
	fEvent
	fRetry
)

func (p *Parser) field(line []byte) error {
	if line[0] == ':' {
		return nil
	}
	// The common field names are matched in place before a general
	// search for the colon: most lines are "data:", "id:" or "event:".
	kind := fOther
	var value []byte
	switch {
	case len(line) > 4 && line[4] == ':' && string(line[:4]) == "data":
		kind, value = fData, line[5:]
	case len(line) > 2 && line[2] == ':' && line[0] == 'i' && line[1] == 'd':
		kind, value = fID, line[3:]
	case len(line) > 5 && line[5] == ':' && string(line[:5]) == "event":
		kind, value = fEvent, line[6:]
	default:
		name := line
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
		}
		switch string(name) {
		case "data":
			kind = fData
		case "event":
			kind = fEvent
		case "id":
			kind = fID
		case "retry":
			kind = fRetry
		default:
			return nil
		}
	}
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch kind {
	case fData:
		p.eventSize += len(value) + 1
		if p.eventSize > p.maxEvent {
			return p.tooLarge()
		}
		switch {
		case !p.hasData:
			// The first data line stays in the read buffer until a second
			// one arrives or the buffer moves (fill): most events have one.
			p.borrow, p.borrowed = value, true
		case p.borrowed:
			p.materialize()
			fallthrough
		default:
			p.data = append(p.data, '\n')
			p.data = append(p.data, value...)
		}
		p.hasData = true
	case fEvent:
		p.eventSize += len(value) - len(p.typ)
		if p.eventSize > p.maxEvent {
			return p.tooLarge()
		}
		p.typ = append(p.typ[:0], value...)
	case fID:
		if bytes.IndexByte(value, 0) >= 0 {
			return nil
		}
		if p.idSet {
			p.eventSize -= len(p.idBuf)
		}
		p.eventSize += len(value)
		if p.eventSize > p.maxEvent {
			return p.tooLarge()
		}
		p.idBuf = append(p.idBuf[:0], value...)
		p.idSet = true
	case fRetry:
		if len(value) == 0 {
			return nil
		}
		var ms uint64
		for _, c := range value {
			if c < '0' || c > '9' {
				return nil
			}
			if ms < math.MaxInt64/10/uint64(time.Millisecond) {
				ms = ms*10 + uint64(c-'0')
			} else {
				ms = math.MaxInt64 / uint64(time.Millisecond)
			}
		}
		p.retry = time.Duration(ms) * time.Millisecond
		p.retrySet = true
	}
	return nil
}

// materialize copies a borrowed first data line out of the read buffer.
func (p *Parser) materialize() {
	if p.borrowed {
		p.data = append(p.data[:0], p.borrow...)
		p.borrow, p.borrowed = nil, false
	}
}

func (p *Parser) resetEvent() {
	p.borrow, p.borrowed = nil, false
	p.data = p.data[:0]
	if cap(p.data) > 64<<10 {
		p.data = nil
	}
	p.hasData = false
	p.typ = p.typ[:0]
	p.idSet = false
	p.eventSize = 0
}

// dispatch ends a block. It builds every new string of the event in one
// allocation.
func (p *Parser) dispatch() (Event, bool) {
	ev, ok := p.build()
	p.resetEvent()
	return ev, ok
}

func (p *Parser) build() (Event, bool) {
	data := p.data
	if p.borrowed {
		data = p.borrow
	}
	newID := p.idSet && string(p.idBuf) != p.lastID
	if !p.hasData {
		if newID {
			p.lastID = validString(p.idBuf)
		}
		return Event{}, false
	}
	typ := p.typ
	newType := len(typ) > 0 && string(typ) != p.lastType
	if newID && len(data) == 0 && !newType {
		p.lastID = validString(p.idBuf)
		return Event{Type: p.eventType(), ID: p.lastID}, true
	}
	// Fast path: valid UTF-8 everywhere, one string for data+id+type.
	if !utf8.Valid(data) || (newID && !utf8.Valid(p.idBuf)) || (newType && !utf8.Valid(typ)) {
		p.materialize()
		return p.dispatchSlow(newID, newType), true
	}
	if !newID && !newType {
		return Event{Data: p.str(data, nil, nil), ID: p.lastID, Type: p.eventType()}, true
	}
	var id, t []byte
	if newID {
		id = p.idBuf
	}
	if newType {
		t = typ
	}
	all := p.str(data, id, t)
	n, m := len(data), len(data)+len(id)
	ev := Event{Data: all[:n]}
	if newID {
		p.lastID = all[n:m]
	}
	if newType {
		p.lastType = all[m:]
	}
	ev.ID = p.lastID
	ev.Type = p.eventType()
	return ev, true
}

// arenaSize is the block that the strings of small events are carved from:
// one allocation per block instead of one per event. A string handed out
// keeps its block alive, so an event that the caller keeps holds at most
// arenaSize bytes; events larger than arenaSize/8 get their own allocation.
const arenaSize = 4 << 10

// str returns a, b and c concatenated as one string. Small ones are carved
// from a strings.Builder used as an arena: its bytes are never written
// again once written, and its buffer is not zeroed when allocated.
func (p *Parser) str(a, b, c []byte) string {
	n := len(a) + len(b) + len(c)
	if n == 0 {
		return ""
	}
	ar := &p.arena
	if n > arenaSize/8 {
		ar = &strings.Builder{}
		ar.Grow(n)
	} else if ar.Cap()-ar.Len() < n {
		*ar = strings.Builder{}
		ar.Grow(arenaSize)
	}
	start := ar.Len()
	ar.Write(a)
	if len(b)+len(c) > 0 {
		ar.Write(b)
		ar.Write(c)
	}
	return ar.String()[start:]
}

func (p *Parser) dispatchSlow(newID, newType bool) Event {
	if newID {
		p.lastID = validString(p.idBuf)
	}
	if newType {
		p.lastType = validString(p.typ)
	}
	return Event{Data: validString(p.data), ID: p.lastID, Type: p.eventType()}
}

func (p *Parser) eventType() string {
	if len(p.typ) == 0 {
		return "message"
	}
	return p.lastType
}

// readLine returns the next line without its ending. The slice is valid
// until the next call.
func (p *Parser) readLine() ([]byte, error) {
	// Fast path: a whole line is buffered and the buffer holds no CR (CR
	// line endings are rare; the scan for one is cached by find).
	if p.bomDone && !p.skipLF && p.cr < 0 && p.crScan >= p.end {
		if i := bytes.IndexByte(p.buf[p.start:p.end], '\n'); i >= 0 {
			line := p.buf[p.start : p.start+i]
			p.start += i + 1
			return line, nil
		}
	}
	return p.readLineSlow()
}

func (p *Parser) readLineSlow() ([]byte, error) {
	maxLine := p.maxEvent + 16 // room for the field name
	for {
		if p.skipLF && p.start < p.end {
			if p.buf[p.start] == '\n' {
				p.start++
			}
			p.skipLF = false
		}
		if !p.bomDone {
			if p.end-p.start < 3 && !p.eof && p.rerr == nil && bytes.HasPrefix(bom, p.buf[p.start:p.end]) {
				if err := p.fill(maxLine); err != nil {
					return nil, err
				}
				continue
			}
			if bytes.HasPrefix(p.buf[p.start:p.end], bom) {
				p.start += 3
			}
			p.bomDone = true
		}
		lf := p.find('\n', &p.lf, &p.lfScan)
		cr := p.find('\r', &p.cr, &p.crScan)
		i := lf
		if cr >= 0 && (i < 0 || cr < i) {
			i = cr
		}
		if i >= 0 {
			line := p.buf[p.start:i]
			if p.buf[i] == '\r' {
				if i+1 < p.end {
					if p.buf[i+1] == '\n' {
						i++
					}
				} else {
					p.skipLF = true
				}
			}
			p.start = i + 1
			return line, nil
		}
		if p.eof {
			return nil, io.EOF
		}
		if p.rerr != nil {
			return nil, p.rerr
		}
		if p.end-p.start > maxLine { // a line of exactly maxLine may still end
			return nil, p.tooLarge()
		}
		if err := p.fill(maxLine); err != nil {
			return nil, err
		}
	}
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// find returns the index of the next c at or after p.start in the buffer,
// or -1, caching the answer so that each byte is scanned once per byte value.
func (p *Parser) find(c byte, pos, scanned *int) int {
	if *pos >= p.start {
		return *pos
	}
	from := max(p.start, *scanned)
	if from >= p.end {
		return -1 // nothing new since the last scan
	}
	if k := bytes.IndexByte(p.buf[from:p.end], c); k >= 0 {
		*pos = from + k
		return *pos
	}
	*pos, *scanned = -1, p.end
	return -1
}

// fill compacts the buffer, grows it if it is full (up to maxLine), and
// reads once.
func (p *Parser) fill(maxLine int) error {
	p.materialize() // the buffer is about to move
	if p.start > 0 {
		n := copy(p.buf, p.buf[p.start:p.end])
		s := p.start
		p.start, p.end = 0, n
		p.lf -= s
		p.cr -= s
		p.lfScan = max(p.lfScan-s, 0)
		p.crScan = max(p.crScan-s, 0)
		if p.lf < 0 {
			p.lf = -1
		}
		if p.cr < 0 {
			p.cr = -1
		}
	}
	if p.end == len(p.buf) {
		size := max(2*len(p.buf), defaultBufferSize)
		size = min(size, maxLine+1)
		if size <= len(p.buf) {
			return p.tooLarge()
		}
		nb := make([]byte, size)
		copy(nb, p.buf[:p.end])
		p.buf = nb
	}
	for range 100 {
		n, err := p.r.Read(p.buf[p.end:])
		p.end += n
		if err == io.EOF {
			p.eof = true
			return nil
		}
		if err != nil {
			p.rerr = err
			return nil
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// validString returns b as a string, with every maximal invalid UTF-8
// subpart replaced by U+FFFD (the WHATWG decoder's behaviour).
func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[:size]...)
			b = b[size:]
			continue
		}
		out = utf8.AppendRune(out, utf8.RuneError)
		b = b[maximalSubpart(b):]
	}
	return string(out)
}

// maximalSubpart returns the length (at least 1) of the longest prefix of b
// that starts a well-formed UTF-8 sequence but does not complete one.
func maximalSubpart(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if x < lo || x > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}

// String helps debugging.
func (e Event) String() string {
	return "event " + strconv.Quote(e.Type) + " id " + strconv.Quote(e.ID) + " data " + strconv.Quote(e.Data)
}
