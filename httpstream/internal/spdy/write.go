package spdy

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"net/http"
	"slices"
	"strings"
)

// ErrInvalidHeader is returned when headers cannot be sent: an empty or
// non-token name, a connection-specific header, a value with a NUL byte, or
// a block over the limit.
var ErrInvalidHeader = errors.New("spdy: invalid header")

// Writer encodes frames for one direction of a connection. Frames are
// appended to a caller's buffer; the caller writes them in the order they
// were encoded (the header compression context depends on it).
type Writer struct {
	lim      Limits
	compress bool
	started  bool // the zlib stream header has been written
	zbuf     bytes.Buffer
	zw       *zlib.Writer
	raw      []byte
	names    []string
}

// NewWriter returns a Writer. lim bounds the header blocks it will encode
// (a peer with the same limits would refuse larger ones).
//
// With compress false, header blocks go out as stored (uncompressed)
// deflate blocks of one zlib stream that declares the SPDY/3 dictionary:
// any SPDY/3 decoder reads them, and the writer needs no compressor state.
// The standard library's compressor keeps about 650 KB per connection
// whatever the level, for header blocks that are a few dozen bytes in the
// k8s protocols. With compress true, blocks are compressed with
// zlib.BestCompression and the dictionary, as spdystream does.
func NewWriter(lim Limits, compress bool) *Writer {
	return &Writer{lim: lim.withDefaults(), compress: compress}
}

// storeBlock appends raw to the zlib stream as stored deflate blocks.
func (w *Writer) storeBlock(raw []byte) {
	if !w.started {
		// CMF 0x78 (deflate, 32 KiB window), FLG 0x20 (FDICT; 0x7820 is a
		// multiple of 31, so FCHECK is 0), then the dictionary's Adler-32.
		w.zbuf.Write([]byte{0x78, 0x20})
		w.zbuf.Write(binary.BigEndian.AppendUint32(nil, adler32.Checksum(headerDictionary())))
		w.started = true
	}
	// Each header block ends with an empty stored block, as a zlib sync
	// flush does: decoders (Go's among them) hand out a stored block's
	// bytes only when the next block header arrives, and that must happen
	// within this frame.
	for done := false; !done; {
		n := min(len(raw), 0xffff)
		done = n == 0
		// BFINAL 0, BTYPE 00, padded to the byte: the stream stays byte
		// aligned between blocks.
		w.zbuf.WriteByte(0)
		var l [4]byte
		binary.LittleEndian.PutUint16(l[0:], uint16(n))
		binary.LittleEndian.PutUint16(l[2:], ^uint16(n))
		w.zbuf.Write(l[:])
		w.zbuf.Write(raw[:n])
		raw = raw[n:]
	}
}

func appendControl(dst []byte, t FrameType, flags uint8, length int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, 0x80000000|Version<<16|uint32(t))
	return binary.BigEndian.AppendUint32(dst, uint32(flags)<<24|uint32(length))
}

// AppendDataHeader appends the 8-byte header of a DATA frame of n bytes.
func AppendDataHeader(dst []byte, id uint32, flags uint8, n int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, id&0x7fffffff)
	return binary.BigEndian.AppendUint32(dst, uint32(flags)<<24|uint32(n))
}

// AppendSynStream appends a SYN_STREAM frame.
func (w *Writer) AppendSynStream(dst []byte, id, assoc uint32, pri, flags uint8, h http.Header) ([]byte, error) {
	block, err := w.headerBlock(h)
	if err != nil {
		return dst, err
	}
	dst = appendControl(dst, TypeSynStream, flags, 10+len(block))
	dst = binary.BigEndian.AppendUint32(dst, id&0x7fffffff)
	dst = binary.BigEndian.AppendUint32(dst, assoc&0x7fffffff)
	dst = append(dst, (pri&7)<<5, 0)
	return append(dst, block...), nil
}

// AppendSynReply appends a SYN_REPLY frame.
func (w *Writer) AppendSynReply(dst []byte, id uint32, flags uint8, h http.Header) ([]byte, error) {
	return w.appendStreamHeaders(dst, TypeSynReply, id, flags, h)
}

// AppendHeaders appends a HEADERS frame.
func (w *Writer) AppendHeaders(dst []byte, id uint32, flags uint8, h http.Header) ([]byte, error) {
	return w.appendStreamHeaders(dst, TypeHeaders, id, flags, h)
}

func (w *Writer) appendStreamHeaders(dst []byte, t FrameType, id uint32, flags uint8, h http.Header) ([]byte, error) {
	block, err := w.headerBlock(h)
	if err != nil {
		return dst, err
	}
	dst = appendControl(dst, t, flags, 4+len(block))
	dst = binary.BigEndian.AppendUint32(dst, id&0x7fffffff)
	return append(dst, block...), nil
}

// AppendRstStream appends a RST_STREAM frame.
func AppendRstStream(dst []byte, id, status uint32) []byte {
	dst = appendControl(dst, TypeRstStream, 0, 8)
	dst = binary.BigEndian.AppendUint32(dst, id&0x7fffffff)
	return binary.BigEndian.AppendUint32(dst, status)
}

// AppendSettings appends a SETTINGS frame.
func AppendSettings(dst []byte, flags uint8, s ...Setting) []byte {
	dst = appendControl(dst, TypeSettings, flags, 4+8*len(s))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	for _, e := range s {
		dst = binary.BigEndian.AppendUint32(dst, uint32(e.Flags)<<24|e.ID&0xffffff)
		dst = binary.BigEndian.AppendUint32(dst, e.Value)
	}
	return dst
}

// AppendPing appends a PING frame.
func AppendPing(dst []byte, id uint32) []byte {
	dst = appendControl(dst, TypePing, 0, 4)
	return binary.BigEndian.AppendUint32(dst, id)
}

// AppendGoAway appends a GOAWAY frame.
func AppendGoAway(dst []byte, lastGood, status uint32) []byte {
	dst = appendControl(dst, TypeGoAway, 0, 8)
	dst = binary.BigEndian.AppendUint32(dst, lastGood&0x7fffffff)
	return binary.BigEndian.AppendUint32(dst, status)
}

// AppendWindowUpdate appends a WINDOW_UPDATE frame (id 0: the session window).
func AppendWindowUpdate(dst []byte, id, delta uint32) []byte {
	dst = appendControl(dst, TypeWindowUpdate, 0, 8)
	dst = binary.BigEndian.AppendUint32(dst, id&0x7fffffff)
	return binary.BigEndian.AppendUint32(dst, delta&0x7fffffff)
}

// headerBlock encodes and compresses h: names lowercased (names equal but
// for case are merged), values NUL-joined, in sorted name order.
func (w *Writer) headerBlock(h http.Header) ([]byte, error) {
	w.names = w.names[:0]
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		lk := strings.ToLower(k)
		if lk == "" || illegalHeader(lk) || checkName(lk) != "" {
			return nil, ErrInvalidHeader
		}
		w.names = append(w.names, k)
	}
	// Sort by lowercase name so that merged names are adjacent.
	slices.SortFunc(w.names, func(a, b string) int {
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	})
	raw := append(w.raw[:0], 0, 0, 0, 0)
	count := 0
	for i := 0; i < len(w.names); {
		lk := strings.ToLower(w.names[i])
		raw = binary.BigEndian.AppendUint32(raw, uint32(len(lk)))
		raw = append(raw, lk...)
		lenAt := len(raw)
		raw = append(raw, 0, 0, 0, 0)
		first := true
		for ; i < len(w.names) && strings.ToLower(w.names[i]) == lk; i++ {
			for _, v := range h[w.names[i]] {
				if strings.IndexByte(v, 0) >= 0 {
					return nil, ErrInvalidHeader
				}
				if !first {
					raw = append(raw, 0)
				}
				first = false
				raw = append(raw, v...)
			}
		}
		binary.BigEndian.PutUint32(raw[lenAt:], uint32(len(raw)-lenAt-4))
		count++
		if len(raw) > w.lim.MaxHeaderBlock || count > w.lim.MaxHeaders {
			return nil, ErrInvalidHeader
		}
	}
	binary.BigEndian.PutUint32(raw, uint32(count))
	w.raw = raw
	// Checked before compressing: a block refused after the compressor has
	// seen it would desynchronise the peer's decompressor.
	if len(raw)+len(raw)/512+64 > w.lim.MaxControlFrame-10 {
		return nil, ErrInvalidHeader
	}
	w.zbuf.Reset()
	if !w.compress {
		w.storeBlock(raw)
		return w.zbuf.Bytes(), nil
	}
	if w.zw == nil {
		zw, err := zlib.NewWriterLevelDict(&w.zbuf, zlib.BestCompression, headerDictionary())
		if err != nil {
			return nil, err
		}
		w.zw = zw
	}
	if _, err := w.zw.Write(raw); err != nil {
		return nil, err
	}
	if err := w.zw.Flush(); err != nil {
		return nil, err
	}
	return w.zbuf.Bytes(), nil
}
