package ws

import (
	"net/http"
	"net/url"
	"strings"
)

// originChecker returns the check used before the upgrade: the user's
// CheckOrigin, or same-origin plus the allow-list. A request without an
// Origin header is not from a browser and is allowed: origin checks protect
// browsers' ambient credentials (cookies), which other clients do not send
// on a page's behalf.
func originChecker(o *Options) func(r *http.Request) bool {
	if o.CheckOrigin != nil {
		return o.CheckOrigin
	}
	allowed := make([]allowedOrigin, 0, len(o.AllowedOrigins))
	for _, s := range o.AllowedOrigins {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			continue // an unparsable entry allows nothing
		}
		allowed = append(allowed, allowedOrigin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Host)})
	}
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" {
			return false
		}
		host := strings.ToLower(u.Host)
		if host == strings.ToLower(r.Host) {
			return true
		}
		scheme := strings.ToLower(u.Scheme)
		for _, a := range allowed {
			if a.match(scheme, host) {
				return true
			}
		}
		return false
	}
}

type allowedOrigin struct{ scheme, host string }

func (a allowedOrigin) match(scheme, host string) bool {
	if a.scheme != scheme {
		return false
	}
	if suffix, ok := strings.CutPrefix(a.host, "*."); ok {
		// "*.example.com" matches "a.example.com" and "a.b.example.com",
		// never "example.com" itself nor "evilexample.com".
		return strings.HasSuffix(host, "."+suffix)
	}
	return a.host == host
}
