package eventstore

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseID(t *testing.T) {
	good := map[string]ID{
		"0-0":             {},
		"1-2":             {Ms: 1, Seq: 2},
		"1700000000000-7": {Ms: 1700000000000, Seq: 7},
		"18446744073709551615-18446744073709551615": {Ms: ^uint64(0), Seq: ^uint64(0)},
		"007-01": {Ms: 7, Seq: 1},
	}
	for s, want := range good {
		got, err := ParseID(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	bad := []string{"", "-", "1", "1-", "-1", "1--2", "1-2-3", "+1-2", "1-+2", " 1-2", "1-2 ", "a-1", "1-b",
		"18446744073709551616-0", "0-18446744073709551616", strings.Repeat("1", 21) + "-1", "1_2", "1-2\n"}
	for _, s := range bad {
		_, err := ParseID(s)
		require.ErrorIs(t, err, ErrBadID, "%q", s)
	}
	var id ID
	require.NoError(t, id.UnmarshalText([]byte("5-6")))
	assert.Equal(t, ID{Ms: 5, Seq: 6}, id)
	b, err := id.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "5-6", string(b))
	require.Error(t, id.UnmarshalText([]byte("x")))
}

func TestIDOrder(t *testing.T) {
	a, b, c := ID{Ms: 1, Seq: 5}, ID{Ms: 2, Seq: 0}, ID{Ms: 2, Seq: 1}
	assert.True(t, a.Less(b) && b.Less(c) && a.Less(c))
	assert.Equal(t, 0, b.Compare(b))
	assert.Equal(t, 1, c.Compare(a))
	assert.Equal(t, c, b.Next())
	assert.Equal(t, ID{Ms: 3}, ID{Ms: 2, Seq: ^uint64(0)}.Next())
	assert.True(t, ID{}.IsZero())
	assert.True(t, c.Less(Tail))
	assert.Equal(t, int64(2), b.Time().UnixMilli())
}

func TestGenerator(t *testing.T) {
	var g Generator
	t0 := time.UnixMilli(1_700_000_000_000)
	a := g.Next(t0)
	assert.Equal(t, ID{Ms: 1_700_000_000_000}, a)
	b := g.Next(t0)
	assert.Equal(t, ID{Ms: 1_700_000_000_000, Seq: 1}, b)
	c := g.Next(t0.Add(-time.Hour)) // clock stepped back
	assert.Equal(t, ID{Ms: 1_700_000_000_000, Seq: 2}, c)
	d := g.Next(t0.Add(time.Millisecond))
	assert.Equal(t, ID{Ms: 1_700_000_000_001}, d)
	g.Observe(ID{Ms: 1_800_000_000_000, Seq: 4})
	assert.Equal(t, ID{Ms: 1_800_000_000_000, Seq: 5}, g.Next(t0))
	g.Observe(ID{Ms: 1}) // never lowers
	assert.Equal(t, ID{Ms: 1_800_000_000_000, Seq: 6}, g.Next(t0))
	assert.Equal(t, ID{Ms: 1_800_000_000_000, Seq: 6}, g.Last())
}

// FuzzParseID checks that ParseID never panics, accepts only what String
// produces (up to leading zeros), and round-trips.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0-0", "1-2", "1700000000000-7", "18446744073709551615-18446744073709551615", "1--2", "-", "", "99999999999999999999-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBadID)
			return
		}
		again, err := ParseID(id.String())
		require.NoError(t, err)
		require.Equal(t, id, again)
		require.LessOrEqual(t, len(id.String()), MaxIDLen)
		require.Equal(t, strings.Count(s, "-"), 1)
	})
}

func TestRecordRoundTrip(t *testing.T) {
	b := appendRecord(nil, recAppend, ID{Ms: 9, Seq: 3}, "stream", "type", []byte("data"))
	b = appendRecord(b, recTrim, ID{Ms: 10}, "stream", "", nil)
	b = appendRecord(b, recDelete, ID{}, "other", "", nil)
	r, n, err := decodeRecord(b)
	require.NoError(t, err)
	assert.Equal(t, record{kind: recAppend, id: ID{Ms: 9, Seq: 3}, stream: "stream", typ: "type", data: []byte("data")}, r)
	r, m, err := decodeRecord(b[n:])
	require.NoError(t, err)
	assert.Equal(t, record{kind: recTrim, id: ID{Ms: 10}, stream: "stream"}, r)
	r, k, err := decodeRecord(b[n+m:])
	require.NoError(t, err)
	assert.Equal(t, record{kind: recDelete, stream: "other"}, r)
	assert.Equal(t, len(b), n+m+k)
	// Every proper prefix of a record is rejected (a torn write).
	one := b[:n]
	for i := range one {
		_, _, err := decodeRecord(one[:i])
		require.ErrorIs(t, err, errBadRecord, "prefix %d", i)
	}
	// So is every single-bit flip.
	for i := range one {
		c := append([]byte(nil), one...)
		c[i] ^= 0x10
		_, _, err := decodeRecord(c)
		require.Error(t, err, "flip at %d", i)
	}
}

// FuzzDecodeRecord checks that the log decoder never panics, never reads past
// its input, and that whatever it accepts re-encodes to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, recAppend, ID{Ms: 1, Seq: 2}, "s", "t", []byte("hello")))
	f.Add(appendRecord(nil, recTrim, ID{Ms: 1}, "s", "", nil))
	f.Add(appendRecord(nil, recDelete, ID{}, "s", "", nil))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := decodeRecord(b)
		if err != nil {
			require.ErrorIs(t, err, errBadRecord)
			return
		}
		require.LessOrEqual(t, n, len(b))
		require.NotEmpty(t, r.stream)
		again := appendRecord(nil, r.kind, r.id, r.stream, r.typ, r.data)
		r2, n2, err := decodeRecord(again)
		require.NoError(t, err)
		require.Equal(t, len(again), n2)
		require.Equal(t, r.kind, r2.kind)
		require.Equal(t, r.id, r2.id)
		require.Equal(t, r.stream, r2.stream)
		require.Equal(t, r.typ, r2.typ)
		require.Equal(t, string(r.data), string(r2.data))
		_ = r
	})
}
