package parser

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// FuzzParse: the parser never panics, never returns an event larger than its
// bound, never holds a buffer much larger than the bound, returns only valid
// UTF-8, and gives the same events however the input is split into reads.
func FuzzParse(f *testing.F) {
	for _, v := range vectors {
		f.Add([]byte(v.stream))
	}
	f.Add([]byte("data: " + strings.Repeat("x", 300) + "\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 256
		whole, pw, errW := collect(bytes.NewReader(in), limit)
		split, ps, errS := collect(iotest.OneByteReader(bytes.NewReader(in)), limit)
		if (errW == nil) != (errS == nil) {
			t.Fatalf("errors differ: %v vs %v", errW, errS)
		}
		if errW == nil {
			if len(whole) != len(split) {
				t.Fatalf("%d events whole, %d split", len(whole), len(split))
			}
			for i := range whole {
				if whole[i] != split[i] {
					t.Fatalf("event %d: %v vs %v", i, whole[i], split[i])
				}
			}
			if pw.LastEventID() != ps.LastEventID() {
				t.Fatalf("last id %q vs %q", pw.LastEventID(), ps.LastEventID())
			}
		} else if !errors.Is(errW, ErrEventTooLarge) {
			t.Fatalf("unexpected error %v", errW)
		}
		for _, ev := range whole {
			if len(ev.Data)+len(ev.ID) > 3*limit+3 { // U+FFFD may triple invalid bytes
				t.Fatalf("event over the bound: %d", len(ev.Data))
			}
			if !utf8.ValidString(ev.Data) || !utf8.ValidString(ev.ID) || !utf8.ValidString(ev.Type) {
				t.Fatalf("invalid UTF-8 in %v", ev)
			}
			if ev.Type == "" {
				t.Fatal("empty type")
			}
		}
		for _, p := range []*Parser{pw, ps} {
			if len(p.buf) > 2*limit+64 || cap(p.data) > 4*limit+64 {
				t.Fatalf("buffers grew: %d, %d", len(p.buf), cap(p.data))
			}
		}
	})
}

func collect(r io.Reader, limit int) ([]Event, *Parser, error) {
	p := New(r, Options{MaxEventSize: limit})
	var evs []Event
	for {
		ev, err := p.Next()
		if errors.Is(err, io.EOF) {
			return evs, p, nil
		}
		if err != nil {
			return evs, p, err
		}
		evs = append(evs, ev)
	}
}
