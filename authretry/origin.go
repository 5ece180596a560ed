package authretry

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// origin is a normalised (scheme, host, port) triple.
type origin struct {
	scheme, host, port string
}

func (o origin) String() string {
	return o.scheme + "://" + net.JoinHostPort(o.host, o.port)
}

func originOf(u *url.URL) (origin, bool) {
	if u == nil {
		return origin{}, false
	}
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.host == "" {
		return origin{}, false
	}
	if o.port == "" {
		switch o.scheme {
		case "https":
			o.port = "443"
		case "http":
			o.port = "80"
		default:
			return origin{}, false
		}
	}
	return o, true
}

// parseOrigin parses the configured origin: "https://host[:port]", or
// "http://..." for a loopback host only. A path, query or user info is
// refused so that nobody believes the token is scoped to a path.
func parseOrigin(s string) (origin, error) {
	u, err := url.Parse(s)
	if err != nil {
		return origin{}, fmt.Errorf("authretry: origin %q: %w", s, err)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return origin{}, fmt.Errorf("authretry: origin %q must be scheme://host[:port] only", s)
	}
	o, ok := originOf(u)
	if !ok || (o.scheme != "https" && o.scheme != "http") {
		return origin{}, fmt.Errorf("authretry: origin %q: want https://host[:port]", s)
	}
	if o.scheme == "http" && !isLoopback(o.host) {
		return origin{}, fmt.Errorf("authretry: origin %q: plain http is allowed for loopback hosts only", s)
	}
	return o, nil
}

// isLoopback reports whether host is "localhost" or a loopback IP.
func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// secureURL reports whether u is https, or http to a loopback host.
func secureURL(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Host != ""
	case "http":
		return isLoopback(u.Hostname())
	}
	return false
}

// maxRedirects matches net/http's default policy.
const maxRedirects = 10

// CheckRedirect is an http.Client CheckRedirect policy: it refuses a
// redirect from https to http (ErrInsecureRedirect) anywhere in the chain
// and stops after 10 redirects, like the default policy. NewClient sets it;
// set it yourself when you build the http.Client by hand.
//
// The Transport also refuses https to http redirects on its own (it sees
// each redirect hop's originating response), so the check holds even with a
// client that lacks this policy; setting both makes the refusal happen
// before any request is built.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errors.New("authretry: stopped after 10 redirects")
	}
	for _, v := range via {
		if strings.EqualFold(v.URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
			return fmt.Errorf("%w: %s", ErrInsecureRedirect, redactURL(req.URL))
		}
	}
	return nil
}
