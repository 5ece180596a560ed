package longpoll

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"sync"
)

// directBufSize is the read buffer for a request on an idle parked
// connection. A request that does not fit goes back to net/http.
const directBufSize = 4096

// routeKey is what decided that a connection's request reached the
// subscription handler: a request with the same path, Host and credentials
// headers goes the same way, so it can be served without net/http. Anything
// else (another path, publish, different credentials) is handed back.
type routeKey struct {
	path, host, auth string
}

func routeOf(r *http.Request) routeKey {
	return routeKey{path: r.URL.Path, host: r.Host, auth: authSig(r.Header)}
}

// authSig joins the headers an authenticating middleware in front of the
// handler would look at; a direct request must carry the same ones.
func authSig(h http.Header) string {
	a, c := h["Authorization"], h["Cookie"]
	if len(a) == 0 && len(c) == 0 {
		return ""
	}
	return strings.Join(a, "\n") + "\x00" + strings.Join(c, "\n")
}

// directReaders pools the bufio.Readers that http.ReadRequest needs.
type directReaders struct{ pool sync.Pool }

func (d *directReaders) get(data []byte) (*bufio.Reader, *bytes.Reader) {
	rd := bytes.NewReader(data)
	br, _ := d.pool.Get().(*bufio.Reader)
	if br == nil {
		br = bufio.NewReaderSize(rd, directBufSize)
	} else {
		br.Reset(rd)
	}
	return br, rd
}

// parseDirect decides whether data, read from an idle parked connection,
// is exactly one complete request that the subscription handler would get
// and that can be served without net/http: parsed by net/http's own
// http.ReadRequest, a plain HTTP/1.1 GET for want's path and Host with the
// same credentials headers, keep-alive, no body, no Expect or Upgrade, and
// nothing after it. Everything else is handed back to net/http with the
// bytes.
func (d *directReaders) parseDirect(data []byte, want routeKey) (*http.Request, bool) {
	br, rd := d.get(data)
	defer func() {
		br.Reset(nil)
		d.pool.Put(br)
	}()
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, false // partial, malformed, or too long: net/http decides
	}
	if br.Buffered() > 0 || rd.Len() > 0 {
		return nil, false // a body or a pipelined request follows
	}
	if !directable(req) {
		return nil, false
	}
	// The path as sent, byte for byte: no escapes for a router to
	// decode differently.
	path, _, _ := strings.Cut(req.RequestURI, "?")
	if path != want.path || req.Host != want.host || authSig(req.Header) != want.auth {
		return nil, false
	}
	return req, true
}

// directable is the part of parseDirect that does not depend on the
// connection's route.
func directable(req *http.Request) bool {
	switch {
	case req.Method != http.MethodGet,
		req.ProtoMajor != 1 || req.ProtoMinor != 1,
		req.Close, // Connection: close is net/http's to honour
		req.ContentLength != 0 || len(req.TransferEncoding) > 0,
		len(req.Header["Expect"]) > 0,
		len(req.Header["Upgrade"]) > 0,
		len(req.Header["Connection"]) > 0 && !isKeepAlive(req.Header["Connection"]),
		len(req.RequestURI) == 0 || req.RequestURI[0] != '/', // origin form only
		req.Host == "":
		return false
	}
	for k, vs := range req.Header {
		if !validHeaderName(k) {
			return false
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return false
			}
		}
	}
	return true
}

func isKeepAlive(vs []string) bool {
	for _, v := range vs {
		if !strings.EqualFold(strings.TrimSpace(v), "keep-alive") {
			return false
		}
	}
	return true
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue: no control characters but HTAB.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// headerBlock is what follows a request's request line: its line ending,
// the header lines and the empty line that ends them.
func headerBlock(data []byte) []byte {
	j := bytes.IndexByte(data, '\n')
	if j < 0 {
		return nil
	}
	if j > 0 && data[j-1] == '\r' {
		j--
	}
	return data[j:]
}

// fastDirect serves the common case of parseDirect without parsing the
// headers: a request whose header block (headerBlock) is byte for byte the
// one of a request parseDirect accepted on this connection (hdrs) and whose
// request line is "GET <path>[?<query>] HTTP/1.1", with the route's path as
// sent then and a query of visible ASCII. http.ReadRequest derives nothing
// from the request line but the method, the protocol, the target and, for
// origin-form targets, nothing that the headers decide otherwise, so such a
// request is one parseDirect accepts, with the same headers and this query
// as URL.RawQuery (the differential test and FuzzFastDirect check it).
// Anything else returns false and takes the full parse.
func fastDirect(data, hdrs []byte, path string) (query []byte, ok bool) {
	if len(hdrs) == 0 || len(data) <= len(hdrs) || !bytes.Equal(data[len(data)-len(hdrs):], hdrs) {
		return nil, false
	}
	line := data[:len(data)-len(hdrs)]
	// The request line ends where the stored block begins: it holds no
	// line ending of its own (visible ASCII only, below).
	const pre, post = "GET ", " HTTP/1.1"
	if len(line) < len(pre)+len(path)+len(post) || string(line[:len(pre)]) != pre ||
		string(line[len(line)-len(post):]) != post {
		return nil, false
	}
	target := line[len(pre) : len(line)-len(post)]
	if string(target[:len(path)]) != path {
		return nil, false
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return nil, false
		}
	}
	rest := target[len(path):]
	if len(rest) == 0 {
		return rest, true
	}
	if rest[0] != '?' {
		return nil, false
	}
	return rest[1:], true
}
