package httpx

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ResolveURL resolves ref against base as RFC 3986, section 5.2 says: an
// absolute ref is returned as it is, "/path" keeps base's scheme and host,
// "path" is taken relative to base's directory, "?q" and "#f" replace only
// those parts. base must be absolute (scheme and host). An SSE client
// resolves the MCP "endpoint" event this way; check the result with
// [SameOrigin] before sending credentials to it.
func ResolveURL(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("httpx: base URL: %w", err)
	}
	if b.Scheme == "" || b.Host == "" {
		return "", fmt.Errorf("httpx: base URL %q is not absolute", base)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("httpx: reference URL: %w", err)
	}
	return b.ResolveReference(r).String(), nil
}

// SameOrigin reports whether two absolute URLs have the same origin (RFC
// 6454): scheme, host and port, with default ports made explicit and case
// ignored. Unparsable URLs are never the same origin.
func SameOrigin(a, b string) bool {
	oa, ok := origin(a)
	if !ok {
		return false
	}
	ob, ok := origin(b)
	return ok && oa == ob
}

func origin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http", "ws":
			port = "80"
		case "https", "wss":
			port = "443"
		}
	}
	return scheme + "://" + host + ":" + port, true
}

// QueryString encodes params as a URL query ("a=1&b=x+y"), keys sorted, so
// the same map always gives the same string (cache keys, signatures, tests).
// It has no leading "?" and is "" for an empty map.
func QueryString(params map[string]string) string {
	v := make(url.Values, len(params))
	for k, val := range params {
		v.Set(k, val)
	}
	return v.Encode() // Encode sorts by key
}

// ErrNotWebSocketURL is returned by [NormalizeWebSocketURL] for a URL it
// cannot turn into a ws:// or wss:// URL.
var ErrNotWebSocketURL = errors.New("httpx: not a WebSocket URL")

// NormalizeWebSocketURL turns an http:// URL into ws:// and an https:// URL
// into wss:// (ws:// and wss:// are kept), with the scheme lower-cased and
// any fragment removed (RFC 6455 forbids fragments). Other schemes, relative
// URLs and URLs without a host give an error wrapping [ErrNotWebSocketURL].
func NormalizeWebSocketURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotWebSocketURL, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w: %q has scheme %q", ErrNotWebSocketURL, raw, u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w: %q has no host", ErrNotWebSocketURL, raw)
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}
