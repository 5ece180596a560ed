package spdy

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
)

// maxLeftover bounds compressed bytes a header block may leave unconsumed
// (the empty stored block of a sync flush is 5 bytes).
const maxLeftover = 4 << 10

// Reader decodes frames from one direction of a connection.
type Reader struct {
	r     *bufio.Reader
	lim   Limits
	hdr   [8]byte
	ctrl  []byte
	frame Frame
	zsrc  zsource
	zr    io.ReadCloser
	tmp   [4]byte
}

// NewReader returns a Reader on r. Limits' zero fields take their defaults.
func NewReader(r *bufio.Reader, lim Limits) *Reader {
	return &Reader{r: r, lim: lim.withDefaults()}
}

// ReadFrame reads the next frame. For DATA only the 8-byte header is read:
// the caller then reads exactly Frame.Length bytes with ReadData or
// DiscardData before the next ReadFrame. Unknown control frame types are
// returned with their Type and no fields; callers ignore them. A
// *StreamError leaves the connection usable; any other error ends it.
func (r *Reader) ReadFrame() (*Frame, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return nil, err
	}
	w0 := binary.BigEndian.Uint32(r.hdr[0:4])
	w1 := binary.BigEndian.Uint32(r.hdr[4:8])
	settings := r.frame.Settings[:0]
	r.frame = Frame{Flags: uint8(w1 >> 24), Length: w1 & 0xffffff}
	fr := &r.frame
	if w0&0x80000000 == 0 {
		fr.Type = TypeData
		fr.StreamID = w0 & 0x7fffffff
		return fr, nil
	}
	if (w0>>16)&0x7fff != Version {
		return nil, ErrUnsupportedVersion
	}
	fr.Type = FrameType(w0 & 0xffff)
	if fr.Length > uint32(r.lim.MaxControlFrame) {
		return nil, ErrFrameTooLarge
	}
	n := int(fr.Length)
	if cap(r.ctrl) < n {
		r.ctrl = make([]byte, n)
	}
	p := r.ctrl[:n]
	if _, err := io.ReadFull(r.r, p); err != nil {
		return nil, noEOF(err)
	}
	be := binary.BigEndian
	switch fr.Type {
	case TypeSynStream:
		if n < 10 {
			return nil, ErrMalformed
		}
		fr.StreamID = be.Uint32(p) & 0x7fffffff
		fr.AssocID = be.Uint32(p[4:]) & 0x7fffffff
		fr.Priority = p[8] >> 5
		h, err := r.readHeaderBlock(p[10:], fr.StreamID)
		fr.Headers = h
		return fr, err
	case TypeSynReply, TypeHeaders:
		if n < 4 {
			return nil, ErrMalformed
		}
		fr.StreamID = be.Uint32(p) & 0x7fffffff
		h, err := r.readHeaderBlock(p[4:], fr.StreamID)
		fr.Headers = h
		return fr, err
	case TypeRstStream:
		if n != 8 {
			return nil, ErrMalformed
		}
		fr.StreamID = be.Uint32(p) & 0x7fffffff
		fr.Status = be.Uint32(p[4:])
	case TypeSettings:
		if n < 4 {
			return nil, ErrMalformed
		}
		count := be.Uint32(p)
		if count > maxSettings || uint64(n) != 4+8*uint64(count) {
			return nil, ErrMalformed
		}
		for i := range int(count) {
			e := p[4+8*i:]
			w := be.Uint32(e)
			settings = append(settings, Setting{Flags: uint8(w >> 24), ID: w & 0xffffff, Value: be.Uint32(e[4:])})
		}
		fr.Settings = settings
	case TypePing:
		if n != 4 {
			return nil, ErrMalformed
		}
		fr.PingID = be.Uint32(p)
	case TypeGoAway:
		if n != 8 {
			return nil, ErrMalformed
		}
		fr.LastGoodID = be.Uint32(p) & 0x7fffffff
		fr.Status = be.Uint32(p[4:])
	case TypeWindowUpdate:
		if n != 8 {
			return nil, ErrMalformed
		}
		fr.StreamID = be.Uint32(p) & 0x7fffffff
		fr.Delta = be.Uint32(p[4:]) & 0x7fffffff
	}
	return fr, nil
}

// ReadData reads payload bytes of the current DATA frame into p; the caller
// tracks how many remain.
func (r *Reader) ReadData(p []byte) error {
	_, err := io.ReadFull(r.r, p)
	return noEOF(err)
}

// DiscardData skips n payload bytes of the current DATA frame.
func (r *Reader) DiscardData(n int) error {
	_, err := r.r.Discard(n)
	return noEOF(err)
}

// readHeaderBlock decompresses one header block. The decompressor carries
// its context across frames, so it sees the bytes of every block in order.
func (r *Reader) readHeaderBlock(block []byte, id uint32) (http.Header, error) {
	if r.zsrc.Len()+len(block) > maxLeftover+r.lim.MaxControlFrame {
		return nil, ErrMalformed
	}
	r.zsrc.append(block)
	if r.zr == nil {
		zr, err := zlib.NewReaderDict(&r.zsrc, headerDictionary())
		if err != nil {
			return nil, ErrCompression
		}
		r.zr = zr
	}
	budget := r.lim.MaxHeaderBlock
	read := func(n int) ([]byte, error) {
		if n > budget {
			return nil, ErrHeaderLimit
		}
		budget -= n
		var b []byte
		if n <= len(r.tmp) {
			b = r.tmp[:n]
		} else {
			b = make([]byte, n)
		}
		if _, err := io.ReadFull(r.zr, b); err != nil {
			return nil, ErrCompression
		}
		return b, nil
	}
	b, err := read(4)
	if err != nil {
		return nil, err
	}
	count := binary.BigEndian.Uint32(b)
	if count > uint32(r.lim.MaxHeaders) {
		return nil, ErrHeaderLimit
	}
	h := make(http.Header, count)
	var serr *StreamError
	for range count {
		b, err := read(4)
		if err != nil {
			return nil, err
		}
		nb, err := read(int(min(binary.BigEndian.Uint32(b), uint32(budget)+1)))
		if err != nil {
			return nil, err
		}
		name := string(nb)
		b, err = read(4)
		if err != nil {
			return nil, err
		}
		vb, err := read(int(min(binary.BigEndian.Uint32(b), uint32(budget)+1)))
		if err != nil {
			return nil, err
		}
		if serr == nil {
			if reason := checkName(name); reason != "" {
				serr = &StreamError{StreamID: id, Status: StatusProtocolError, Reason: reason}
			} else if _, dup := h[http.CanonicalHeaderKey(name)]; dup {
				serr = &StreamError{StreamID: id, Status: StatusProtocolError, Reason: "duplicate header " + name}
			}
		}
		key := http.CanonicalHeaderKey(name)
		for v := range strings.SplitSeq(string(vb), "\x00") {
			h[key] = append(h[key], v)
		}
	}
	if r.zsrc.Len() > maxLeftover {
		return nil, ErrMalformed
	}
	r.zsrc.compact()
	if serr != nil {
		return h, serr
	}
	return h, nil
}

// checkName returns why a received header name is refused, or "".
func checkName(name string) string {
	if name == "" {
		return "empty header name"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			return "header name not lowercase: " + name
		}
		if !isTokenChar(c) {
			return "invalid header name"
		}
	}
	if illegalHeader(name) {
		return "illegal connection header " + name
	}
	return ""
}

// illegalHeader reports the connection-specific headers SPDY forbids.
func illegalHeader(lower string) bool {
	switch lower {
	case "connection", "host", "keep-alive", "proxy-connection", "transfer-encoding":
		return true
	}
	return false
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// zsource feeds compressed bytes to the decompressor. It implements
// io.ByteReader so flate reads exactly what it needs and never past the
// bytes handed to it.
type zsource struct {
	b   []byte
	off int
}

func (z *zsource) Len() int { return len(z.b) - z.off }

func (z *zsource) append(p []byte) { z.b = append(z.b, p...) }

func (z *zsource) compact() {
	n := copy(z.b, z.b[z.off:])
	z.b, z.off = z.b[:n], 0
	if cap(z.b) > 64<<10 && n < 1<<10 {
		// A large block grew the buffer; do not keep it for the connection's life.
		z.b = append([]byte(nil), z.b...)
	}
}

func (z *zsource) Read(p []byte) (int, error) {
	if z.off >= len(z.b) {
		return 0, io.EOF
	}
	n := copy(p, z.b[z.off:])
	z.off += n
	return n, nil
}

func (z *zsource) ReadByte() (byte, error) {
	if z.off >= len(z.b) {
		return 0, io.EOF
	}
	c := z.b[z.off]
	z.off++
	return c, nil
}

// isTokenChar reports whether c may appear in a header name (RFC 9110 tchar).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
