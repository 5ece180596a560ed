package httpstream

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ResponseUpgrader upgrades an HTTP/1.1 request to a SPDY/3.1 connection.
type ResponseUpgrader interface {
	// UpgradeResponse answers 101 and starts a server Connection whose
	// peer-opened streams go to handler. On failure it writes an error
	// response (400 for a request that is not a SPDY upgrade, 500 when the
	// connection cannot be hijacked, e.g. over HTTP/2) and returns nil.
	UpgradeResponse(w http.ResponseWriter, req *http.Request, handler NewStreamHandler) Connection
}

// NewResponseUpgrader returns a ResponseUpgrader; cfg (nil for defaults)
// configures the connections it starts.
func NewResponseUpgrader(cfg *Config) ResponseUpgrader {
	u := &responseUpgrader{}
	if cfg != nil {
		u.cfg = *cfg
	}
	return u
}

type responseUpgrader struct{ cfg Config }

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (u *responseUpgrader) UpgradeResponse(w http.ResponseWriter, req *http.Request, handler NewStreamHandler) Connection {
	if !headerHasToken(req.Header, HeaderConnection, "upgrade") || !headerHasToken(req.Header, HeaderUpgrade, ProtocolSPDY31) {
		http.Error(w, fmt.Sprintf("httpstream: unable to upgrade: missing upgrade headers in request: %q", req.Header), http.StatusBadRequest)
		return nil
	}
	h := w.Header().Clone()
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "httpstream: unable to upgrade: unable to hijack response", http.StatusInternalServerError)
		return nil
	}
	h.Del("Content-Type")
	h.Del("Content-Length")
	h.Set(HeaderConnection, "Upgrade")
	h.Set(HeaderUpgrade, ProtocolSPDY31)
	// http.Server's read and write timeouts do not apply to the stream.
	_ = nc.SetDeadline(time.Time{})
	cfg := u.cfg.withDefaults()
	_ = nc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
	// The 101 goes out before any frame; the hijacked buffer is empty.
	bw := bufio.NewWriterSize(nc, 512)
	_, _ = bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	_ = h.Write(bw)
	_, _ = bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		_ = nc.Close()
		return nil
	}
	cfg.NewStream = handler
	c, err := newConn(nc, brw.Reader, true, cfg)
	if err != nil {
		_ = nc.Close()
		return nil
	}
	c.protocol = h.Get(HeaderProtocolVersion)
	return c
}
