package longpoll

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var directRoute = routeKey{path: "/sub", host: "test"}

// directSeeds are requests on an idle parked connection, served directly
// or not.
var directSeeds = []string{
	"GET /sub?category=c&timeout=5 HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /sub?category=c&timeout=5 HTTP/1.1\r\nHost: test\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\n\r\n",
	"GET /sub HTTP/1.1\nHost: test\n\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc",
	"GET /sub HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
	"GET /sub HTTP/1.0\r\nHost: test\r\n\r\n",
	"GET /sub HTTP/1.0\r\nHost: test\r\nConnection: keep-alive\r\n\r\n",
	"POST /sub HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n",
	"HEAD /sub HTTP/1.1\r\nHost: test\r\n\r\n",
	"get /sub HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /pub HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /sub/ HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /./sub HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET //sub HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /%73ub HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET http://test/sub HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET * HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: other\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nHost: test\r\n\r\n",
	"GET /sub HTTP/1.1\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nAuthorization: Basic eDp5\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nCookie: a=b\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nX-Bad Name: v\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nX-Ctl: a\x01b\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\nX-Fold: a\r\n b\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test\r\n",
	"GET /sub HTTP/1.1\r\nHost: te",
	"GET /sub HTTP/1.1\r\nHost: test\r\n\r\nGET /sub HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /sub HTTP/2.0\r\nHost: test\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"GET /sub?x=%zz HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /sub?c=\xc3\xa9 HTTP/1.1\r\nHost: test\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: test:80\r\n\r\n",
	"GET /sub HTTP/1.1\r\nHost: te st\r\n\r\n",
	"GET /sub HTTP/1.1\r\nhost: test\r\n\r\n",
	"GET  /sub HTTP/1.1\r\nHost: test\r\n\r\n",
	"\r\nGET /sub HTTP/1.1\r\nHost: test\r\n\r\n",
	"",
}

// routedBy is what net/http's server gave the handler for a request sent on
// a fresh connection, and whether it kept the connection open after.
type routedBy struct {
	method, path, host, auth string
	served, keptOpen         bool
}

// netHTTPServer is a plain net/http server that records what it routes.
type netHTTPServer struct {
	addr string
	mu   sync.Mutex
	last *routedBy
	srv  *httptest.Server
}

func newNetHTTPServer(t testing.TB) *netHTTPServer {
	s := &netHTTPServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.last = &routedBy{method: r.Method, path: r.URL.Path, host: r.Host, auth: authSig(r.Header), served: true}
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.srv.Close)
	s.addr = s.srv.Listener.Addr().String()
	return s
}

// send writes raw on a fresh connection and reports what net/http did.
func (s *netHTTPServer) send(t testing.TB, raw string) routedBy {
	s.mu.Lock()
	s.last = nil
	s.mu.Unlock()
	c, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	var got routedBy
	s.mu.Lock()
	if s.last != nil {
		got = *s.last
	}
	s.mu.Unlock()
	if err != nil {
		return routedBy{}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		got.served = got.served && resp.StatusCode == http.StatusOK
		return got
	}
	// Still open: a second request on it is answered.
	_, err = io.WriteString(c, "GET /probe HTTP/1.1\r\nHost: test\r\n\r\n")
	if err == nil {
		if resp, err = http.ReadResponse(br, nil); err == nil {
			resp.Body.Close()
			got.keptOpen = true
		}
	}
	return got
}

// checkDirect is the differential property: a request served directly is
// one that net/http would have routed to the same handler (same method,
// path, Host and credentials) and answered keeping the connection open.
func checkDirect(t testing.TB, s *netHTTPServer, d *directReaders, raw string) bool {
	req, ok := d.parseDirect([]byte(raw), directRoute)
	if !ok {
		return false
	}
	assert.Equal(t, http.MethodGet, req.Method)
	// The same request again on this connection takes the fast check,
	// unless its target has bytes the fast check leaves to the full parse.
	query, fast := fastDirect([]byte(raw), headerBlock([]byte(raw)), directRoute.path)
	assert.Equal(t, visibleASCII(req.RequestURI), fast, "fast check on a repeat of %q", raw)
	if fast {
		assert.Equal(t, req.URL.RawQuery, string(query))
	}
	got := s.send(t, raw)
	assert.True(t, got.served, "net/http did not serve %q", raw)
	assert.Equal(t, routedBy{method: "GET", path: directRoute.path, host: directRoute.host, auth: directRoute.auth, served: true, keptOpen: true},
		got, "net/http routed %q differently", raw)
	return true
}

func TestParseDirectAgreesWithNetHTTP(t *testing.T) {
	s := newNetHTTPServer(t)
	var d directReaders
	accepted := map[string]bool{}
	for _, raw := range directSeeds {
		accepted[raw] = checkDirect(t, s, &d, raw)
	}
	// The plain forms are served directly; the rest go back to net/http.
	direct := map[string]bool{}
	for _, i := range []int{0, 1, 2, 3, 4, 29, 35, 36, 39} {
		direct[directSeeds[i]] = true
	}
	for _, raw := range directSeeds {
		assert.Equal(t, direct[raw], accepted[raw], "direct? %q", raw)
	}

	// Credentials must be those of the request that net/http routed.
	withAuth := routeKey{path: "/sub", host: "test", auth: authSig(http.Header{"Authorization": {"Basic eDp5"}})}
	_, ok := d.parseDirect([]byte("GET /sub HTTP/1.1\r\nHost: test\r\nAuthorization: Basic eDp5\r\n\r\n"), withAuth)
	assert.True(t, ok)
	_, ok = d.parseDirect([]byte("GET /sub HTTP/1.1\r\nHost: test\r\nAuthorization: Basic other\r\n\r\n"), withAuth)
	assert.False(t, ok)
	_, ok = d.parseDirect([]byte("GET /sub HTTP/1.1\r\nHost: test\r\n\r\n"), withAuth)
	assert.False(t, ok)
}

func FuzzParseDirect(f *testing.F) {
	for _, s := range directSeeds {
		f.Add(s)
	}
	s := newNetHTTPServer(f)
	var d directReaders
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) >= directBufSize {
			return
		}
		if checkDirect(t, s, &d, raw) {
			assert.True(t, strings.Contains(raw, "\n"))
		}
	})
}

// checkFast is the fast check's differential property: a request that
// fastDirect accepts after prev (accepted by parseDirect) on the same
// connection is one that parseDirect accepts too, with prev's headers and
// Host and fastDirect's query, and that net/http routes alike.
func checkFast(t testing.TB, s *netHTTPServer, d *directReaders, prev, next string) bool {
	preq, ok := d.parseDirect([]byte(prev), directRoute)
	if !ok {
		return false
	}
	query, fast := fastDirect([]byte(next), headerBlock([]byte(prev)), directRoute.path)
	if !fast {
		return false
	}
	req, ok := d.parseDirect([]byte(next), directRoute)
	if !assert.True(t, ok, "fast check took %q after %q; parseDirect refuses it", next, prev) {
		return true
	}
	assert.Equal(t, preq.Header, req.Header)
	assert.Equal(t, preq.Host, req.Host)
	assert.Equal(t, http.MethodGet, req.Method)
	assert.Equal(t, req.URL.RawQuery, string(query))
	requireSameQuery(t, queryOf(req.URL.Query()), parseRawQuery(string(query)), string(query))
	assert.True(t, checkDirect(t, s, d, next))
	return true
}

func TestFastDirectAgreesWithParseDirect(t *testing.T) {
	s := newNetHTTPServer(t)
	var d directReaders
	const prev = "GET /sub?category=c&timeout=5 HTTP/1.1\r\nHost: test\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n"
	hdrs := "\r\nHost: test\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n"
	for next, want := range map[string]bool{
		"GET /sub?category=d&timeout=9&since_time=5&last_id=x HTTP/1.1" + hdrs: true,
		"GET /sub HTTP/1.1" + hdrs:             true,
		"GET /sub? HTTP/1.1" + hdrs:            true,
		"GET /sub?a=%zz&b=c+d HTTP/1.1" + hdrs: true,
		"GET /sub?x#frag HTTP/1.1" + hdrs:      true,
		prev:                                   true,
		"GET /sub/?category=c HTTP/1.1" + hdrs: false,
		"GET /subx HTTP/1.1" + hdrs:            false,
		"GET //sub HTTP/1.1" + hdrs:            false,
		"GET http://test/sub HTTP/1.1" + hdrs:  false,
		"GET /sub?a b HTTP/1.1" + hdrs:         false,
		"GET /sub?a\x7fb HTTP/1.1" + hdrs:      false,
		"GET /sub?\xc3\xa9 HTTP/1.1" + hdrs:    false,
		"GET /sub HTTP/1.0" + hdrs:             false,
		"GET /sub HTTP/1.1\r" + hdrs:           false,
		"GET  /sub HTTP/1.1" + hdrs:            false,
		"HEAD /sub HTTP/1.1" + hdrs:            false,
		"GET /sub HTTP/1.1\nHost: test\nUser-Agent: Go-http-client/1.1\nAccept-Encoding: gzip\n\n":            false,
		"GET /sub HTTP/1.1\r\nHost: test\r\n\r\n":                                                             false,
		"GET /sub HTTP/1.1\r\nHost: other\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n": false,
		"GET /sub HTTP/1.1" + hdrs + "GET /sub HTTP/1.1" + hdrs:                                               false,
		hdrs: false,
		"":   false,
	} {
		assert.Equal(t, want, checkFast(t, s, &d, prev, next), "fast? %q", next)
	}
	// No block stored (the connection's first request came through
	// net/http): always the full parse.
	_, ok := fastDirect([]byte(prev), nil, "/sub")
	assert.False(t, ok)
}

func FuzzFastDirect(f *testing.F) {
	for _, prev := range directSeeds {
		for _, next := range directSeeds[:4] {
			f.Add(prev, next)
		}
		f.Add(prev, prev)
	}
	s := newNetHTTPServer(f)
	var d directReaders
	f.Fuzz(func(t *testing.T, prev, next string) {
		if len(prev) >= directBufSize || len(next) >= directBufSize {
			return
		}
		checkFast(t, s, &d, prev, next)
	})
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
