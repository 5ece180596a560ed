package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/sse/parser"
)

func TestEventWireForm(t *testing.T) {
	cases := []struct {
		name string
		ev   Event
		want string
	}{
		{"zero", Event{}, ""},
		{"data", Event{Data: []byte("hello")}, "data: hello\n\n"},
		{"empty data fires", Event{Data: []byte{}}, "data: \n\n"},
		{"all fields", Event{ID: "1-0", Type: "update", Data: []byte("x"), Retry: 2500 * time.Millisecond, Comment: "hi"},
			": hi\nretry: 2500\nid: 1-0\nevent: update\ndata: x\n\n"},
		{"split CR LF CRLF", Event{Data: []byte("a\rb\nc\r\nd")}, "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"trailing newline kept", Event{Data: []byte("a\n")}, "data: a\ndata: \n\n"},
		{"leading space kept", Event{Data: []byte(" a")}, "data:  a\n\n"},
		{"comment injection", Event{Comment: "x\r\ndata: forged\rid: 9"}, ": x\n: data: forged\n: id: 9\n\n"},
		{"retry only", Event{Retry: time.Second}, "retry: 1000\n\n"},
		{"type only fires", Event{Type: "ping"}, "event: ping\ndata: \n\n"},
	}
	for _, c := range cases {
		got, err := c.ev.AppendTo(nil)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, string(got), c.name)
		var buf bytes.Buffer
		n, err := c.ev.WriteTo(&buf)
		require.NoError(t, err)
		assert.Equal(t, int64(len(c.want)), n)
		assert.Equal(t, c.want, buf.String())
		assert.LessOrEqual(t, len(got), c.ev.Size(), c.name)
	}
}

func TestEventRejectsInjection(t *testing.T) {
	for _, id := range []string{"a\nb", "a\rb", "a\x00b", "a\x01", "\x7f", "a\xffb", strings.Repeat("x", MaxIDLen+1)} {
		_, err := (&Event{ID: id, Data: []byte("x")}).AppendTo(nil)
		assert.ErrorIs(t, err, ErrInvalidID, "%q", id)
	}
	for _, typ := range []string{"a\nb", "a\rb", "a\x00b"} {
		b, err := (&Event{Type: typ, Data: []byte("x")}).AppendTo([]byte("keep"))
		assert.ErrorIs(t, err, ErrInvalidType, "%q", typ)
		assert.Equal(t, "keep", string(b))
	}
	require.NoError(t, CheckID("1700000000000-12"))
	require.NoError(t, CheckID("…unicode ok"))
	require.NoError(t, CheckType("with space\ttab"))
	n, err := (&Event{ID: "\n"}).WriteTo(io.Discard)
	assert.Zero(t, n)
	assert.True(t, errors.Is(err, ErrInvalidID))
}

func TestAppendHelpers(t *testing.T) {
	assert.Equal(t, ": a\n: b\n", string(AppendComment(nil, "a\nb")))
	assert.Equal(t, ":\x20\n", string(AppendComment(nil, "")))
	assert.Equal(t, "retry: 1\n\n", string(AppendRetry(nil, time.Microsecond)))
}

// normalize is what a parser gives back for data: every CRLF and CR is LF.
func normalize(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("1-0", "update", []byte("hello\nworld"), "note", int64(1500))
	f.Add("", "", []byte("\r\n\r"), "", int64(0))
	f.Add("x", "data", []byte(" leading"), "a\rb", int64(-1))
	f.Fuzz(func(t *testing.T, id, typ string, data []byte, comment string, retry int64) {
		ev := Event{ID: id, Type: typ, Data: data, Comment: comment, Retry: time.Duration(retry) * time.Millisecond}
		b, err := ev.AppendTo(nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) && !errors.Is(err, ErrInvalidType) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !strings.HasSuffix(string(b), "\n\n") && len(b) > 0 {
			t.Fatalf("block not terminated: %q", b)
		}
		p := parser.New(bytes.NewReader(b), parser.Options{MaxEventSize: 1 << 30})
		got, err := p.Next()
		if !ev.dispatches() {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("non-event fired %v (%v)", got, err)
			}
		} else {
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			wantType := typ
			if wantType == "" {
				wantType = "message"
			}
			if got.ID != id || (got.Type != wantType && validUTF8(typ)) || (got.Data != normalize(string(data)) && validUTF8(string(data))) {
				t.Fatalf("round trip: sent %+v got %v", ev, got)
			}
			if _, err := p.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("one event produced more: %v", err)
			}
		}
		if d, ok := p.Retry(); (retry > 0) != ok || (ok && d != time.Duration(retry)*time.Millisecond) {
			t.Fatalf("retry %d -> %v %v", retry, d, ok)
		}
	})
}

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
