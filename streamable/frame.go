package streamable

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Frame bounds used when FrameLimits fields are zero.
const (
	DefaultMaxFrameBytes  = 4 << 20
	DefaultMaxHeaderLine  = 1 << 10
	DefaultMaxHeaderLines = 16
)

// Framing errors. They match with errors.Is.
var (
	// ErrFrameTooLarge: a Content-Length above FrameLimits.MaxBytes. The
	// body is not read; the stream cannot be resynchronised.
	ErrFrameTooLarge = errors.New("streamable: frame too large")
	// ErrBadFrameHeader: a malformed header block (no or a bad
	// Content-Length, a line without a colon, too many or too long lines).
	ErrBadFrameHeader = errors.New("streamable: bad frame header")
)

// FrameLimits bound ReadFrame. Zero fields take the defaults.
type FrameLimits struct {
	MaxBytes       int // largest Content-Length accepted; default 4 MiB
	MaxHeaderLine  int // longest header line, in bytes; default 1 KiB
	MaxHeaderLines int // most header lines per frame; default 16
}

// ReadFrame reads one Content-Length framed message (the framing of LSP
// and of stdio JSON-RPC transports):
//
//	Content-Length: 42\r\n
//	Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n
//	\r\n
//	{...42 bytes...}
//
// Header names are case-insensitive; other headers are ignored; lines may
// end in LF alone. It returns io.EOF when r ends cleanly before a frame,
// io.ErrUnexpectedEOF when it ends inside one, ErrFrameTooLarge and
// ErrBadFrameHeader (wrapped) for frames over the limits. The body is
// allocated only after its length passed the bound.
func ReadFrame(r *bufio.Reader, lim FrameLimits) ([]byte, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxFrameBytes
	}
	if lim.MaxHeaderLine <= 0 {
		lim.MaxHeaderLine = DefaultMaxHeaderLine
	}
	if lim.MaxHeaderLines <= 0 {
		lim.MaxHeaderLines = DefaultMaxHeaderLines
	}
	length := -1
	for n := 0; ; n++ {
		line, err := readLine(r, lim.MaxHeaderLine)
		if err != nil {
			if err == io.EOF && n > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			if n == 0 {
				return nil, fmt.Errorf("%w: empty header", ErrBadFrameHeader)
			}
			break
		}
		if n >= lim.MaxHeaderLines {
			return nil, fmt.Errorf("%w: more than %d header lines", ErrBadFrameHeader, lim.MaxHeaderLines)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: line without a colon", ErrBadFrameHeader)
		}
		if !strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			continue
		}
		if length >= 0 {
			return nil, fmt.Errorf("%w: duplicate Content-Length", ErrBadFrameHeader)
		}
		v := strings.TrimSpace(value)
		if v == "" || len(v) > 19 || strings.TrimLeft(v, "0123456789") != "" {
			return nil, fmt.Errorf("%w: bad Content-Length %q", ErrBadFrameHeader, v)
		}
		l, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad Content-Length %q", ErrBadFrameHeader, v)
		}
		if l > int64(lim.MaxBytes) {
			return nil, fmt.Errorf("%w: Content-Length %d over %d", ErrFrameTooLarge, l, lim.MaxBytes)
		}
		length = int(l)
	}
	if length < 0 {
		return nil, fmt.Errorf("%w: no Content-Length", ErrBadFrameHeader)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// readLine reads one line of at most max bytes (without its CRLF or LF).
func readLine(r *bufio.Reader, max int) (string, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(b)+len(frag) > max+2 {
			return "", fmt.Errorf("%w: header line longer than %d bytes", ErrBadFrameHeader, max)
		}
		b = append(b, frag...)
		switch err {
		case nil:
			b = b[:len(b)-1]
			if n := len(b); n > 0 && b[n-1] == '\r' {
				b = b[:n-1]
			}
			return string(b), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(b) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", io.EOF
		default:
			return "", err
		}
	}
}

// WriteFrame writes payload with a Content-Length header, in one Write.
func WriteFrame(w io.Writer, payload []byte) error {
	b := make([]byte, 0, len(payload)+32)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, payload...)
	_, err := w.Write(b)
	return err
}
