package spdy

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/adler32"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDictionary(t *testing.T) {
	d := headerDictionary()
	require.Len(t, d, 1423)
	// The dictionary ID every SPDY/3 zlib stream carries.
	assert.Equal(t, uint32(3821447106), adler32.Checksum(d))
}

func newPair(compress bool) (*Writer, *bytes.Buffer, *Reader) {
	var buf bytes.Buffer
	return NewWriter(Limits{}, compress), &buf, NewReader(bufio.NewReader(&buf), Limits{})
}

func TestRoundTripAllFrames(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "stored", true: "compressed"}[compress], func(t *testing.T) {
			testRoundTripAllFrames(t, compress)
		})
	}
}

func testRoundTripAllFrames(t *testing.T, compress bool) {
	w, buf, r := newPair(compress)
	h := http.Header{"StreamType": {"data"}, "X-Multi": {"a", "b"}, "port": {"8080"}}
	b, err := w.AppendSynStream(nil, 1, 0, 3, FlagFin, h)
	require.NoError(t, err)
	b, err = w.AppendSynReply(b, 1, 0, http.Header{})
	require.NoError(t, err)
	b, err = w.AppendHeaders(b, 3, FlagFin, http.Header{"a": {""}})
	require.NoError(t, err)
	b = AppendRstStream(b, 5, StatusCancel)
	b = AppendSettings(b, FlagClearSettings, Setting{ID: SettingInitialWindowSize, Value: 1 << 18})
	b = AppendPing(b, 7)
	b = AppendGoAway(b, 9, GoAwayProtocolError)
	b = AppendWindowUpdate(b, 0, 1000)
	b = AppendDataHeader(b, 11, FlagFin, 5)
	b = append(b, "hello"...)
	buf.Write(b)

	f, err := r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, TypeSynStream, f.Type)
	assert.Equal(t, uint32(1), f.StreamID)
	assert.Equal(t, uint8(3), f.Priority)
	assert.True(t, f.Fin())
	assert.Equal(t, "data", f.Headers.Get("streamType"))
	assert.Equal(t, []string{"a", "b"}, f.Headers.Values("x-multi"))
	assert.Equal(t, "8080", f.Headers.Get("Port"))

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, TypeSynReply, f.Type)
	assert.Empty(t, f.Headers)

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, TypeHeaders, f.Type)
	assert.Equal(t, []string{""}, f.Headers.Values("A"))

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, TypeRstStream, f.Type)
	assert.Equal(t, StatusCancel, f.Status)

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, TypeSettings, f.Type)
	assert.Equal(t, []Setting{{ID: SettingInitialWindowSize, Value: 1 << 18}}, f.Settings)

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, uint32(7), f.PingID)

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, uint32(9), f.LastGoodID)
	assert.Equal(t, GoAwayProtocolError, f.Status)

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, TypeWindowUpdate, f.Type)
	assert.Equal(t, uint32(0), f.StreamID)
	assert.Equal(t, uint32(1000), f.Delta)

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, TypeData, f.Type)
	assert.Equal(t, uint32(11), f.StreamID)
	p := make([]byte, f.Length)
	require.NoError(t, r.ReadData(p))
	assert.Equal(t, "hello", string(p))

	_, err = r.ReadFrame()
	assert.ErrorIs(t, err, io.EOF)
}

func TestWriterRefusesIllegalHeaders(t *testing.T) {
	w := NewWriter(Limits{}, false)
	for _, h := range []http.Header{
		{"Connection": {"x"}}, {"Host": {"x"}}, {"Transfer-Encoding": {"x"}},
		{"Keep-Alive": {"x"}}, {"Proxy-Connection": {"x"}}, {"X": {"a\x00b"}}, {"": {"x"}},
	} {
		_, err := w.AppendSynStream(nil, 1, 0, 0, 0, h)
		assert.ErrorIs(t, err, ErrInvalidHeader, "%v", h)
	}
}

// rawBlock compresses a raw (uncompressed) header block with a fresh context.
func rawBlock(t *testing.T, pairs ...string) []byte {
	raw := binary.BigEndian.AppendUint32(nil, uint32(len(pairs)/2))
	for _, s := range pairs {
		raw = binary.BigEndian.AppendUint32(raw, uint32(len(s)))
		raw = append(raw, s...)
	}
	var out bytes.Buffer
	zw, err := zlib.NewWriterLevelDict(&out, zlib.BestCompression, headerDictionary())
	require.NoError(t, err)
	_, err = zw.Write(raw)
	require.NoError(t, err)
	require.NoError(t, zw.Flush())
	return out.Bytes()
}

func synWithBlock(id uint32, block []byte) []byte {
	b := appendControl(nil, TypeSynStream, 0, 10+len(block))
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, 0, 0)
	return append(b, block...)
}

func TestReaderStreamErrors(t *testing.T) {
	for _, pairs := range [][]string{
		{"Upper", "x"}, {"connection", "close"}, {"a", "1", "a", "2"}, {"", "x"},
	} {
		r := NewReader(bufio.NewReader(bytes.NewReader(synWithBlock(1, rawBlock(t, pairs...)))), Limits{})
		_, err := r.ReadFrame()
		var se *StreamError
		require.ErrorAs(t, err, &se, "%q", pairs)
		assert.Equal(t, uint32(1), se.StreamID)
		assert.Equal(t, StatusProtocolError, se.Status)
	}
}

func TestReaderLimits(t *testing.T) {
	// Header count over the limit: refused before the map is allocated.
	raw := binary.BigEndian.AppendUint32(nil, 1<<30)
	var out bytes.Buffer
	zw, _ := zlib.NewWriterLevelDict(&out, zlib.BestCompression, headerDictionary())
	zw.Write(raw)
	zw.Flush()
	r := NewReader(bufio.NewReader(bytes.NewReader(synWithBlock(1, out.Bytes()))), Limits{})
	_, err := r.ReadFrame()
	assert.ErrorIs(t, err, ErrHeaderLimit)

	// A name length far beyond the block budget.
	raw = binary.BigEndian.AppendUint32(nil, 1)
	raw = binary.BigEndian.AppendUint32(raw, 1<<31)
	out.Reset()
	zw, _ = zlib.NewWriterLevelDict(&out, zlib.BestCompression, headerDictionary())
	zw.Write(raw)
	zw.Flush()
	r = NewReader(bufio.NewReader(bytes.NewReader(synWithBlock(1, out.Bytes()))), Limits{})
	_, err = r.ReadFrame()
	assert.ErrorIs(t, err, ErrHeaderLimit)

	// A control frame longer than MaxControlFrame.
	b := appendControl(nil, TypeSynStream, 0, DefaultMaxControlFrame+1)
	r = NewReader(bufio.NewReader(bytes.NewReader(b)), Limits{})
	_, err = r.ReadFrame()
	assert.ErrorIs(t, err, ErrFrameTooLarge)

	// SETTINGS with more entries than its length holds.
	b = appendControl(nil, TypeSettings, 0, 4)
	b = binary.BigEndian.AppendUint32(b, 1000)
	r = NewReader(bufio.NewReader(bytes.NewReader(b)), Limits{})
	_, err = r.ReadFrame()
	assert.ErrorIs(t, err, ErrMalformed)

	// Wrong version.
	b = binary.BigEndian.AppendUint32(nil, 0x80000000|2<<16|uint32(TypePing))
	b = binary.BigEndian.AppendUint32(b, 4)
	b = append(b, 0, 0, 0, 1)
	r = NewReader(bufio.NewReader(bytes.NewReader(b)), Limits{})
	_, err = r.ReadFrame()
	assert.ErrorIs(t, err, ErrUnsupportedVersion)
}

func TestCompressionContextSpansFrames(t *testing.T) {
	for _, compress := range []bool{false, true} {
		testContextSpansFrames(t, compress)
	}
}

func TestStoredBlocksSplitLargeHeaders(t *testing.T) {
	w, buf, r := newPair(false)
	big := strings.Repeat("v", 100<<10) // more than one stored block
	b, err := w.AppendSynStream(nil, 1, 0, 0, 0, http.Header{"Big": {big}})
	require.NoError(t, err)
	buf.Write(b)
	f, err := r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, big, f.Headers.Get("big"))
	// Stored blocks decode with the standard zlib reader and the dictionary.
	zr, err := zlib.NewReaderDict(bytes.NewReader(b[18:]), headerDictionary())
	require.NoError(t, err)
	head := make([]byte, 4)
	_, err = io.ReadFull(zr, head)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 1}, head)
}

func testContextSpansFrames(t *testing.T, compress bool) {
	w, buf, r := newPair(compress)
	for i := range 50 {
		b, err := w.AppendSynStream(nil, uint32(2*i+1), 0, 0, 0, http.Header{"Streamtype": {"stdout"}, "Requestid": {"42"}})
		require.NoError(t, err)
		buf.Write(b)
	}
	for i := range 50 {
		f, err := r.ReadFrame()
		require.NoError(t, err)
		assert.Equal(t, uint32(2*i+1), f.StreamID)
		assert.Equal(t, "stdout", f.Headers.Get("streamtype"))
		assert.Equal(t, "42", f.Headers.Get("requestid"))
	}
}
