package streamable

import (
	"net"
	"net/http"
	"slices"
	"strings"
)

// checkSecurity applies the DNS-rebinding protections: a loopback
// listener only answers loopback Host names, and an Origin header must be
// on the allow-list. It returns 403 and a reason, or 0.
func (s *Server) checkSecurity(r *http.Request) (int, string) {
	if !s.opts.DisableHostCheck {
		if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && isLoopbackAddr(la) && !isLoopbackHost(r.Host) {
			return http.StatusForbidden, "Host is not a loopback name"
		}
	}
	if o := r.Header.Get("Origin"); o != "" && !slices.Contains(s.opts.AllowedOrigins, strings.ToLower(o)) {
		return http.StatusForbidden, "Origin not allowed"
	}
	return 0, ""
}

func isLoopbackAddr(a net.Addr) bool {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.IsLoopback()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isLoopbackHost(h string) bool {
	host := h
	if hh, _, err := net.SplitHostPort(h); err == nil {
		host = hh
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
