package httpx

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveURL(t *testing.T) {
	base := "https://api.example.com/mcp/sse?x=1"
	for ref, want := range map[string]string{
		"/messages?sessionId=abc":         "https://api.example.com/messages?sessionId=abc",
		"messages?sessionId=abc":          "https://api.example.com/mcp/messages?sessionId=abc",
		"../up":                           "https://api.example.com/up",
		"?y=2":                            "https://api.example.com/mcp/sse?y=2",
		"https://other.example.org/a":     "https://other.example.org/a",
		"//cdn.example.net/b":             "https://cdn.example.net/b",
		"":                                "https://api.example.com/mcp/sse?x=1",
		"#frag":                           "https://api.example.com/mcp/sse?x=1#frag",
		"/a/./b/../c":                     "https://api.example.com/a/c",
		"http://api.example.com:80/mixed": "http://api.example.com:80/mixed",
	} {
		got, err := ResolveURL(base, ref)
		require.NoError(t, err, ref)
		assert.Equal(t, want, got, ref)
	}
	_, err := ResolveURL("/relative/base", "x")
	assert.ErrorContains(t, err, "not absolute")
	_, err = ResolveURL("http://a b/", "x")
	assert.ErrorContains(t, err, "base URL")
	_, err = ResolveURL(base, "http://a b/")
	assert.ErrorContains(t, err, "reference URL")
}

func TestSameOrigin(t *testing.T) {
	assert.True(t, SameOrigin("https://Example.com/a", "https://example.com:443/b?c"))
	assert.True(t, SameOrigin("http://example.com", "http://example.com:80"))
	assert.True(t, SameOrigin("http://[::1]:8080/", "HTTP://[::1]:8080/x"))
	assert.False(t, SameOrigin("https://example.com", "http://example.com"))
	assert.False(t, SameOrigin("https://example.com", "https://example.com:8443"))
	assert.False(t, SameOrigin("https://example.com", "https://evil.example.com"))
	assert.False(t, SameOrigin("/relative", "/relative"))
	assert.False(t, SameOrigin("http://a b", "http://a b"))
	assert.False(t, SameOrigin("https://example.com", "::"))
}

func TestQueryString(t *testing.T) {
	assert.Equal(t, "", QueryString(nil))
	assert.Equal(t, "", QueryString(map[string]string{}))
	m := map[string]string{"z": "last", "a": "x y", "m": "&=?", "": "empty key", "b": ""}
	want := "=empty+key&a=x+y&b=&m=%26%3D%3F&z=last"
	for range 20 { // map order varies; output must not
		assert.Equal(t, want, QueryString(m))
	}
	v, err := url.ParseQuery(QueryString(m))
	require.NoError(t, err)
	for k, val := range m {
		assert.Equal(t, val, v.Get(k))
	}
}

func TestNormalizeWebSocketURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://example.com/ws":         "ws://example.com/ws",
		"https://example.com/ws?t=1":    "wss://example.com/ws?t=1",
		"HTTPS://Example.com:8443/ws#f": "wss://Example.com:8443/ws",
		"ws://127.0.0.1:1/":             "ws://127.0.0.1:1/",
		"WSS://[::1]:9/x":               "wss://[::1]:9/x",
	} {
		got, err := NormalizeWebSocketURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"ftp://example.com", "example.com/ws", "/ws", "http:///nohost", "http://a b", "localhost:8080"} {
		_, err := NormalizeWebSocketURL(in)
		assert.ErrorIs(t, err, ErrNotWebSocketURL, in)
	}
}

func FuzzNormalizeWebSocketURL(f *testing.F) {
	for _, s := range []string{"http://a/b", "https://a:1/?q#f", "ws://x", "wss://[::1]/", "mailto:x", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeWebSocketURL(in)
		if err != nil {
			assert.ErrorIs(t, err, ErrNotWebSocketURL)
			return
		}
		assert.True(t, strings.HasPrefix(out, "ws://") || strings.HasPrefix(out, "wss://"), out)
		u, err := url.Parse(out)
		require.NoError(t, err, out)
		assert.NotEmpty(t, u.Host)
		assert.Empty(t, u.Fragment)
		again, err := NormalizeWebSocketURL(out)
		require.NoError(t, err)
		assert.Equal(t, out, again, "idempotent")
	})
}
