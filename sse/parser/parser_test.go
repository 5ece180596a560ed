package parser

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseAll(t testing.TB, r io.Reader, opts Options) ([]Event, *Parser, error) {
	t.Helper()
	p := New(r, opts)
	var evs []Event
	for {
		ev, err := p.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return evs, p, err
		}
		evs = append(evs, ev)
	}
}

func msg(data string) Event { return Event{Type: "message", Data: data} }

// vectors are WHATWG / web-platform-tests eventsource/format-* cases (and a
// few the WPT suite lacks), as stream -> dispatched events and last ID.
var vectors = []struct {
	name   string
	stream string
	want   []Event
	lastID string
}{
	{"format-bom", "\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n", []Event{msg("1"), msg("3")}, ""},
	{"format-bom-2", "\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3\n\n", []Event{msg("2"), msg("3")}, ""},
	{"format-comments", "data:1\r:\x00\n:\r\ndata:2\n:" + strings.Repeat("x", 2049) + "\rdata:3\n:data:fail\r:" + strings.Repeat("x", 2049) + "\ndata:4\n\n",
		[]Event{msg("1\n2\n3\n4")}, ""},
	{"format-data-before-final-empty-line", "retry:1000\ndata:test1\n\nid:test\ndata:test2", []Event{msg("test1")}, ""},
	{"format-field-data", "data:\n\ndata\ndata\n\ndata:test\n\n", []Event{msg(""), msg("\n"), msg("test")}, ""},
	{"format-field-event", "event:test\ndata:x\n\ndata:x\n\n", []Event{{Type: "test", Data: "x"}, msg("x")}, ""},
	{"format-field-event-empty", "event: \ndata:data\n\n", []Event{msg("data")}, ""},
	{"format-field-id", "id: …\nretry: 200\ndata: x\n\n", []Event{{Type: "message", Data: "x", ID: "…"}}, "…"},
	{"format-field-id-3-persists", "id: 1\ndata: a\n\ndata: b\n\n", []Event{{"message", "a", "1"}, {"message", "b", "1"}}, "1"},
	{"format-field-id-3-changes", "id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: c\n\n", []Event{{"message", "a", "1"}, {"message", "b", "2"}, {"message", "c", "2"}}, "2"},
	{"format-field-id-3-reset", "id: 1\ndata: a\n\nid\ndata: b\n\ndata: c\n\n", []Event{{"message", "a", "1"}, {"message", "b", ""}, {"message", "c", ""}}, ""},
	{"format-field-id-null", "id:\x00\x00\ndata:a\n\nid:x\x00\ndata:b\n\nid:\x00x\ndata:c\n\nid:x\x00x\ndata:d\n\nid: \x00\ndata:e\n\n",
		[]Event{msg("a"), msg("b"), msg("c"), msg("d"), msg("e")}, ""},
	{"format-field-parsing", "data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
		[]Event{msg("\x00\n 2\n1\n3\n\n4")}, ""},
	{"format-field-retry-empty", "retry\ndata:test\n\n", []Event{msg("test")}, ""},
	{"format-field-unknown", "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n", []Event{msg("test\n\ntest")}, ""},
	{"format-leading-space", "data:\ttest\rdata: \ndata:test\n\n", []Event{msg("\ttest\n\ntest")}, ""},
	{"format-newlines", "data:test\r\ndata\ndata:test\r\n\r\n", []Event{msg("test\n\ntest")}, ""},
	{"format-null-character", "data:\x00\n\n", []Event{msg("\x00")}, ""},
	{"lf-cr-two-line-ends", "data:a\n\rdata:b\n\n", []Event{msg("a"), msg("b")}, ""},
	{"id-only-block-fires-nothing", "id: 7\n\ndata: x\n\n", []Event{{"message", "x", "7"}}, "7"},
	{"event-only-block-fires-nothing", "event: e\n\ndata: x\n\n", []Event{msg("x")}, ""},
	{"comment-only-block", ": keepalive\n\n", nil, ""},
	{"only-one-space-stripped", "data:  x\n\n", []Event{msg(" x")}, ""},
	{"tab-not-stripped", "data:\tx\n\n", []Event{msg("\tx")}, ""},
	{"case-sensitive-names", "DATA: x\nEvent: y\n\n", nil, ""},
	{"invalid-utf8-replaced", "data: a\xffb\xe2\x82\n\n", []Event{msg("a\uFFFDb\uFFFD")}, ""},
	{"cr-only", "data: a\rdata: b\r\rdata: c\r\r", []Event{msg("a\nb"), msg("c")}, ""},
	{"trailing-cr-at-eof-dispatches", "data: a\r\r", []Event{msg("a")}, ""},
	{"partial-line-at-eof", "data: a\n\ndata: b", []Event{msg("a")}, ""},
	{"empty-stream", "", nil, ""},
	{"bom-only", "\uFEFF", nil, ""},
	{"type-after-named", "event: a\ndata: 1\n\nevent: a\ndata: 2\n\nevent: b\ndata: 3\n\n", []Event{{"a", "1", ""}, {"a", "2", ""}, {"b", "3", ""}}, ""},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			for _, mode := range []string{"whole", "onebyte", "half"} {
				var r io.Reader = strings.NewReader(v.stream)
				switch mode {
				case "onebyte":
					r = iotest.OneByteReader(r)
				case "half":
					r = iotest.HalfReader(r)
				}
				got, p, err := parseAll(t, r, Options{})
				require.NoError(t, err, mode)
				assert.Equal(t, v.want, got, mode)
				assert.Equal(t, v.lastID, p.LastEventID(), mode)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	cases := []struct {
		stream string
		want   time.Duration
		ok     bool
	}{
		{"retry:02000\n\n", 2 * time.Second, true},
		{"retry: 2000\nretry: 1000x\n\n", 2 * time.Second, true},
		{"retry: +5\n\n", 0, false},
		{"retry: -1\n\n", 0, false},
		{"retry: 5 \n\n", 0, false},
		{"retry\n\n", 0, false},
		{"retry: 99999999999999999999999\n\n", time.Duration(1<<63-1) / time.Millisecond * time.Millisecond, true},
	}
	for _, c := range cases {
		_, p, err := parseAll(t, strings.NewReader(c.stream), Options{})
		require.NoError(t, err)
		d, ok := p.Retry()
		assert.Equal(t, c.ok, ok, c.stream)
		assert.Equal(t, c.want, d, c.stream)
	}
}

func TestCRLFSplitAcrossReads(t *testing.T) {
	// "data: a\r" | "\ndata: b\r\n\r" | "\n"
	r := io.MultiReader(strings.NewReader("data: a\r"), strings.NewReader("\ndata: b\r\n\r"), strings.NewReader("\n"))
	got, _, err := parseAll(t, r, Options{})
	require.NoError(t, err)
	assert.Equal(t, []Event{msg("a\nb")}, got)
}

func TestLastEventIDPersistsAcrossReset(t *testing.T) {
	p := New(strings.NewReader("id: 5\ndata: a\n\nid: 6\ndata: cut"), Options{})
	ev, err := p.Next()
	require.NoError(t, err)
	assert.Equal(t, "5", ev.ID)
	_, err = p.Next()
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, "5", p.LastEventID(), "an id of a discarded event is not committed")
	p.Reset(strings.NewReader("\uFEFFdata: b\n\n"))
	ev, err = p.Next()
	require.NoError(t, err)
	assert.Equal(t, Event{"message", "b", "5"}, ev, "BOM stripped again on a new stream, id kept")

	p = New(strings.NewReader("data: x\n\n"), Options{LastEventID: "seed"})
	ev, err = p.Next()
	require.NoError(t, err)
	assert.Equal(t, "seed", ev.ID)
}

func TestEventTooLarge(t *testing.T) {
	// Many small lines adding up (go-sse's 64 KiB cliff), over a small limit.
	stream := strings.Repeat("data: "+strings.Repeat("x", 99)+"\n", 20) + "\n"
	_, _, err := parseAll(t, strings.NewReader(stream), Options{MaxEventSize: 1000})
	var tl *EventTooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, 1000, tl.Limit)
	assert.ErrorIs(t, err, ErrEventTooLarge)

	// One endless line (no line ending at all) is bounded too.
	_, _, err = parseAll(t, io.LimitReader(neverEnding('x'), 10<<20), Options{MaxEventSize: 4096})
	require.ErrorIs(t, err, ErrEventTooLarge)

	// Events just under the default limit work, including 100 KB ones.
	big := strings.Repeat("y", 100_000)
	got, _, err := parseAll(t, strings.NewReader("data: "+big+"\n\n"), Options{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, big, got[0].Data)

	// A huge comment line is bounded as a line, not accumulated.
	got, _, err = parseAll(t, strings.NewReader(strings.Repeat(":"+strings.Repeat("c", 900)+"\n", 50)+"data: ok\n\n"), Options{MaxEventSize: 1000})
	require.NoError(t, err)
	assert.Equal(t, []Event{msg("ok")}, got)
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestStickyError(t *testing.T) {
	boom := errors.New("boom")
	p := New(io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom)), Options{})
	ev, err := p.Next()
	require.NoError(t, err)
	assert.Equal(t, "a", ev.Data)
	_, err = p.Next()
	require.ErrorIs(t, err, boom)
	_, err = p.Next()
	require.ErrorIs(t, err, boom)
}

func TestAllocsPerEvent(t *testing.T) {
	stream := []byte(strings.Repeat("id: 1700000000000-1\nevent: update\ndata: {\"k\":\"some value here\",\"n\":12345}\n\n", 1000))
	r := &rewinder{b: stream}
	p := New(r, Options{})
	allocs := testing.AllocsPerRun(20, func() {
		r.off = 0
		p.Reset(r)
		for {
			if _, err := p.Next(); err != nil {
				break
			}
		}
	})
	assert.LessOrEqual(t, allocs/1000, 1.0, "allocations per event")
}

type rewinder struct {
	b   []byte
	off int
}

func (r *rewinder) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

func BenchmarkParser(b *testing.B) {
	one := "id: 1700000000000-1\nevent: update\ndata: {\"type\":\"tick\",\"value\":\"0123456789abcdef0123456789abcdef012345\"}\n\n"
	stream := []byte(strings.Repeat(one, 10000))
	r := &rewinder{b: stream}
	p := New(r, Options{})
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r.off = 0
		p.Reset(r)
		for {
			if _, err := p.Next(); err != nil {
				break
			}
		}
	}
}

// TestKeptStringsStayIntact: event strings carved from a shared block are
// never overwritten by later events (small and large, across blocks).
func TestKeptStringsStayIntact(t *testing.T) {
	var sb strings.Builder
	var want []Event
	for i := range 2000 {
		data := fmt.Sprintf("event %d %s", i, strings.Repeat("x", i%700))
		ev := Event{Type: "message", Data: data, ID: fmt.Sprint(i)}
		if i%3 == 0 {
			ev.Type = fmt.Sprint("t", i)
			fmt.Fprintf(&sb, "event: %s\n", ev.Type)
		}
		fmt.Fprintf(&sb, "id: %s\ndata: %s\n\n", ev.ID, data)
		want = append(want, ev)
	}
	p := New(strings.NewReader(sb.String()), Options{})
	var got []Event
	for {
		ev, err := p.Next()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		got = append(got, ev)
	}
	require.Equal(t, want, got)
}
