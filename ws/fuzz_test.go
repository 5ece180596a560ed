package ws

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/codec"
)

// FuzzOrigin: the origin check never panics, and allows only no Origin, the
// request's own host, or an allow-listed origin.
func FuzzOrigin(f *testing.F) {
	f.Add("https://app.example.com", "srv.example.com")
	f.Add("https://a.trusted.dev", "x")
	f.Add("http://srv.example.com", "srv.example.com")
	f.Add("null", "h")
	f.Add("https://evil.example/https://app.example.com", "h")
	f.Add("https://%zz", "h")
	check := originChecker(&Options{AllowedOrigins: []string{"https://app.example.com", "https://*.trusted.dev"}})
	f.Fuzz(func(t *testing.T, origin, host string) {
		r := &http.Request{Header: http.Header{}, Host: host}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		ok := check(r)
		if !ok || origin == "" {
			return
		}
		u, err := url.Parse(origin)
		if err != nil {
			t.Fatalf("unparsable origin %q allowed", origin)
		}
		h := strings.ToLower(u.Host)
		https := strings.EqualFold(u.Scheme, "https")
		if h == "" || (h != strings.ToLower(host) && !(https && (h == "app.example.com" || strings.HasSuffix(h, ".trusted.dev")))) {
			t.Fatalf("origin %q allowed for host %q", origin, host)
		}
	})
}

// FuzzServerFrames feeds arbitrary bytes to a server connection after the
// handshake: it must never panic, and the connection must end (OnClose
// exactly once) when the peer goes away.
func FuzzServerFrames(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, '"' ^ 1, 'a' ^ 2, 'b' ^ 3, 'c' ^ 4, '"' ^ 1})    // masked text
	f.Add([]byte{0x82, 0x80, 0, 0, 0, 0})                                                 // empty binary
	f.Add([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8})                                     // close 1000
	f.Add([]byte{0x89, 0x80, 0, 0, 0, 0, 0x01, 0x80, 0, 0, 0, 0})                         // ping, then fragment
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}) // huge length
	f.Add([]byte{0x81, 0x04, 'a', 'b', 'c', 'd'})                                         // unmasked
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := newRecorder()
		rec.onMsg = echo
		s := NewServer[any, any](HandlerFunc[any, any](oneSession(rec)), codec.JSONCodec{},
			&Options{ReadLimit: 1 << 16, WriteTimeout: time.Second, CloseTimeout: 100 * time.Millisecond})
		c, _, err := pipeDialer(s).Dial("ws://pipe/", nil)
		if err != nil {
			t.Fatal(err)
		}
		nc := c.NetConn()
		go func() {
			// Drain whatever the server writes so it never blocks on the pipe.
			buf := make([]byte, 4096)
			for {
				if _, err := nc.Read(buf); err != nil {
					return
				}
			}
		}()
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = nc.Write(data)
		_ = nc.Close()
		select {
		case <-rec.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("connection did not end")
		}
		if _, closes, _ := rec.counts(); closes != 1 {
			t.Fatalf("OnClose ran %d times", closes)
		}
	})
}
