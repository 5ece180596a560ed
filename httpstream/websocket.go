package httpstream

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The WebSocket carrier tunnels the SPDY/3.1 byte stream through binary
// WebSocket messages (RFC 6455), as k8s port-forward does: the subprotocol
// is "SPDY/3.1+<protocol>", message boundaries carry no meaning, and a close
// frame reads as EOF. Only what the tunnel needs is implemented: binary and
// continuation frames, ping/pong, close; no extensions, no text messages.

const (
	wsGUID         = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	wsProtoPrefix  = ProtocolSPDY31 + "+"
	wsOpCont       = 0x0
	wsOpText       = 0x1
	wsOpBinary     = 0x2
	wsOpClose      = 0x8
	wsOpPing       = 0x9
	wsOpPong       = 0xA
	wsMaxControl   = 125
	wsCloseNormal  = 1000
	wsCloseProto   = 1002
	wsCloseUnsupp  = 1003
	wsMaxHeaderLen = 14
)

var errWSProtocol = errors.New("httpstream: websocket protocol error")

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// IsWebSocketRequest reports whether req asks for a WebSocket upgrade.
func IsWebSocketRequest(req *http.Request) bool {
	return headerHasToken(req.Header, HeaderConnection, "upgrade") && headerHasToken(req.Header, HeaderUpgrade, "websocket")
}

// wsConn is a net.Conn over WebSocket binary messages.
type wsConn struct {
	net.Conn
	br     *bufio.Reader
	client bool // masks what it sends

	rmu       sync.Mutex
	remaining int64 // payload bytes left in the current data frame
	mask      [4]byte
	masked    bool
	maskPos   int
	eof       bool

	wmu    sync.Mutex
	wbuf   []byte
	closed bool
}

func newWSConn(nc net.Conn, br *bufio.Reader, client bool) *wsConn {
	if br == nil {
		br = bufio.NewReaderSize(nc, 16<<10)
	}
	return &wsConn{Conn: nc, br: br, client: client}
}

// Read returns payload bytes of binary messages; control frames are
// handled on the way.
func (w *wsConn) Read(p []byte) (int, error) {
	w.rmu.Lock()
	defer w.rmu.Unlock()
	for w.remaining == 0 {
		if w.eof {
			return 0, io.EOF
		}
		if err := w.nextFrame(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > w.remaining {
		p = p[:w.remaining]
	}
	n, err := w.br.Read(p)
	if w.masked {
		for i := range n {
			p[i] ^= w.mask[w.maskPos&3]
			w.maskPos++
		}
	}
	w.remaining -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// nextFrame reads frame headers until a data frame with payload starts.
func (w *wsConn) nextFrame() error {
	var hdr [2]byte
	if _, err := io.ReadFull(w.br, hdr[:]); err != nil {
		return err
	}
	op := hdr[0] & 0x0f
	if hdr[0]&0x70 != 0 {
		return w.fail(wsCloseProto, "reserved bits set")
	}
	masked := hdr[1]&0x80 != 0
	if masked == w.client {
		// Clients mask, servers do not (RFC 6455 5.1).
		return w.fail(wsCloseProto, "wrong masking")
	}
	n := int64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return err
		}
		n = int64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return err
		}
		n = int64(binary.BigEndian.Uint64(b[:]) & (1<<63 - 1))
	}
	w.masked = masked
	w.maskPos = 0
	if masked {
		if _, err := io.ReadFull(w.br, w.mask[:]); err != nil {
			return err
		}
	}
	switch op {
	case wsOpBinary, wsOpCont:
		w.remaining = n
		return nil
	case wsOpText:
		return w.fail(wsCloseUnsupp, "text messages are not part of the tunnel")
	case wsOpClose, wsOpPing, wsOpPong:
		if n > wsMaxControl || hdr[0]&0x80 == 0 {
			return w.fail(wsCloseProto, "invalid control frame")
		}
		var buf [wsMaxControl]byte
		payload := buf[:n]
		if _, err := io.ReadFull(w.br, payload); err != nil {
			return err
		}
		if masked {
			for i := range payload {
				payload[i] ^= w.mask[i&3]
			}
		}
		switch op {
		case wsOpPing:
			return w.writeFrame(wsOpPong, payload)
		case wsOpClose:
			w.eof = true
			code := make([]byte, 2)
			binary.BigEndian.PutUint16(code, wsCloseNormal)
			_ = w.writeFrame(wsOpClose, code)
			return io.EOF
		}
		return nil
	}
	return w.fail(wsCloseProto, "unknown opcode")
}

func (w *wsConn) fail(code uint16, reason string) error {
	b := binary.BigEndian.AppendUint16(nil, code)
	b = append(b, reason...)
	_ = w.writeFrame(wsOpClose, b[:min(len(b), wsMaxControl)])
	return fmt.Errorf("%w: %s", errWSProtocol, reason)
}

// Write sends p as one binary message.
func (w *wsConn) Write(p []byte) (int, error) {
	if err := w.writeFrame(wsOpBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *wsConn) writeFrame(op byte, p []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.closed {
		return net.ErrClosed
	}
	b := append(w.wbuf[:0], 0x80|op)
	var maskBit byte
	if w.client {
		maskBit = 0x80
	}
	switch n := len(p); {
	case n < 126:
		b = append(b, maskBit|byte(n))
	case n <= 0xffff:
		b = append(b, maskBit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, maskBit|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !w.client {
		b = append(b, p...)
	} else {
		var key [4]byte
		_, _ = rand.Read(key[:])
		b = append(b, key[:]...)
		start := len(b)
		b = append(b, p...)
		for i := range p {
			b[start+i] ^= key[i&3]
		}
	}
	w.wbuf = b
	if cap(w.wbuf) > 64<<10 {
		w.wbuf = nil // a rare large write does not pin its buffer
	}
	if op == wsOpClose {
		w.closed = true
	}
	_, err := w.Conn.Write(b)
	return err
}

// Close sends a close frame (1000) and closes the connection.
func (w *wsConn) Close() error {
	_ = w.SetWriteDeadline(time.Now().Add(time.Second))
	_ = w.writeFrame(wsOpClose, binary.BigEndian.AppendUint16(nil, wsCloseNormal))
	return w.Conn.Close()
}

// WebSocketUpgrader accepts the WebSocket carrier: a GET with
// "Upgrade: websocket" offering subprotocols "SPDY/3.1+<protocol>".
type WebSocketUpgrader struct {
	// Protocols the server speaks (without the "SPDY/3.1+" prefix). The
	// client's first offer found here wins.
	Protocols []string
	// AllowedOrigins lists Origin values accepted besides the request's own
	// host. Requests without Origin (non-browser clients) are accepted.
	AllowedOrigins []string
	// Config configures the connections (nil: defaults).
	Config *Config
}

func (u *WebSocketUpgrader) originOK(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range u.AllowedOrigins {
		if o == origin {
			return true
		}
	}
	ou, err := url.Parse(origin)
	return err == nil && strings.EqualFold(ou.Host, r.Host)
}

// Upgrade answers 101 and starts a server Connection inside the WebSocket.
// On failure it writes an error response (400 not a WebSocket request, 403
// foreign Origin or no common protocol, 500 cannot hijack) and returns the
// error.
func (u *WebSocketUpgrader) Upgrade(w http.ResponseWriter, r *http.Request, handler NewStreamHandler) (*Conn, error) {
	fail := func(code int, msg string) (*Conn, error) {
		err := fmt.Errorf("httpstream: websocket upgrade: %s", msg)
		http.Error(w, err.Error(), code)
		return nil, err
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !IsWebSocketRequest(r) || r.Header.Get("Sec-WebSocket-Version") != "13" || key == "" {
		return fail(http.StatusBadRequest, "not a WebSocket version 13 request")
	}
	if !u.originOK(r) {
		return fail(http.StatusForbidden, "origin not allowed")
	}
	var chosen string
	offered := protocolHeaders(r.Header.Values("Sec-WebSocket-Protocol"))
	for _, o := range offered {
		p, ok := strings.CutPrefix(o, wsProtoPrefix)
		if !ok {
			continue
		}
		for _, s := range u.Protocols {
			if p == s && chosen == "" {
				chosen = o
			}
		}
	}
	if chosen == "" {
		for _, s := range u.Protocols {
			w.Header().Add(HeaderAcceptedProtocolVersions, s)
		}
		return fail(http.StatusForbidden, fmt.Sprintf("no common protocol: client offers %q", offered))
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return fail(http.StatusInternalServerError, "cannot hijack the connection")
	}
	_ = nc.SetDeadline(time.Time{})
	cfg := u.Config.withDefaults()
	_ = nc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wsAccept(key) + "\r\nSec-WebSocket-Protocol: " + chosen + "\r\n\r\n"
	if _, err := io.WriteString(nc, resp); err != nil {
		_ = nc.Close()
		return nil, err
	}
	cfg.NewStream = handler
	c, err := newConn(newWSConn(nc, brw.Reader, false), nil, true, cfg)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	c.protocol = strings.TrimPrefix(chosen, wsProtoPrefix)
	return c, nil
}
