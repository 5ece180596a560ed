package httpx

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CORSOptions configures [CORS]. There is no allow-all default: with no
// AllowedOrigins and no AllowOriginFunc, no origin is allowed.
type CORSOptions struct {
	// AllowedOrigins lists the exact origins allowed, such as
	// "https://app.example.com" or "http://localhost:5173": scheme, host,
	// and port if not the default, with no path. Compared case-insensitively.
	AllowedOrigins []string
	// AllowOriginFunc, if set, is asked about origins not in AllowedOrigins.
	// It must be safe for concurrent use.
	AllowOriginFunc func(origin string) bool
	// AllowedMethods for preflighted requests. Default GET, HEAD, POST.
	AllowedMethods []string
	// AllowedHeaders a preflighted request may send, case-insensitive.
	// Default Content-Type, Authorization, Last-Event-ID.
	AllowedHeaders []string
	// ExposedHeaders are response headers scripts may read.
	ExposedHeaders []string
	// AllowCredentials lets the browser send cookies and HTTP auth.
	AllowCredentials bool
	// MaxAge is how long a browser may cache a preflight answer. 0 sends no
	// Access-Control-Max-Age (the browser's default, 5 s).
	MaxAge time.Duration
}

// CORS returns middleware that answers cross-origin requests from allowed
// origins only:
//
//   - Every response gets "Vary: Origin", appended with Header.Add so other
//     Vary values set by the handler or other middleware are kept.
//   - A request without Origin, or from an origin not allowed, passes to
//     next untouched: no CORS header, so the browser withholds the response.
//   - An actual request from an allowed origin passes to next with
//     Access-Control-Allow-Origin set to that origin (never "*").
//   - A preflight (OPTIONS with Origin and Access-Control-Request-Method)
//     from an allowed origin is answered here, without calling next: 204 with
//     the allowed methods and headers, or 403 if the requested method or a
//     requested header is not allowed. A preflight from an origin not
//     allowed is not answered here; it passes to next like any request.
//
// It returns an error for an origin that is not of the form
// scheme://host[:port] (a "*" included).
func CORS(opts CORSOptions) (func(http.Handler) http.Handler, error) {
	c := &cors{
		origins:  make(map[string]bool, len(opts.AllowedOrigins)),
		fn:       opts.AllowOriginFunc,
		methods:  map[string]bool{},
		headers:  map[string]bool{},
		creds:    opts.AllowCredentials,
		exposed:  strings.Join(opts.ExposedHeaders, ", "),
		maxAge:   "",
		varyPref: []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"},
	}
	for _, o := range opts.AllowedOrigins {
		norm, err := normalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		c.origins[norm] = true
	}
	methods := opts.AllowedMethods
	if methods == nil {
		methods = []string{http.MethodGet, http.MethodHead, http.MethodPost}
	}
	for _, m := range methods {
		c.methods[strings.ToUpper(m)] = true
	}
	c.methodList = strings.Join(methods, ", ")
	headers := opts.AllowedHeaders
	if headers == nil {
		headers = []string{"Content-Type", "Authorization", "Last-Event-ID"}
	}
	for _, h := range headers {
		c.headers[strings.ToLower(h)] = true
	}
	if opts.MaxAge > 0 {
		c.maxAge = strconv.Itoa(int(opts.MaxAge / time.Second))
	}
	return c.wrap, nil
}

type cors struct {
	origins    map[string]bool
	fn         func(string) bool
	methods    map[string]bool
	methodList string
	headers    map[string]bool
	creds      bool
	exposed    string
	maxAge     string
	varyPref   []string
}

func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("httpx: CORS origin %q is not scheme://host[:port]", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

func (c *cors) allowed(origin string) bool {
	if origin == "" || origin == "null" {
		// "null" is sent by sandboxed and file: documents; allowing it would
		// allow all of them.
		return c.fn != nil && origin != "" && c.fn(origin)
	}
	if c.origins[strings.ToLower(origin)] {
		return true
	}
	return c.fn != nil && c.fn(origin)
}

var errCORSPreflight = errors.New("httpx: CORS preflight not allowed")

func (c *cors) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && origin != "" &&
			r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			for _, v := range c.varyPref {
				h.Add("Vary", v)
			}
		} else {
			h.Add("Vary", "Origin")
		}
		if !c.allowed(origin) {
			next.ServeHTTP(w, r)
			return
		}
		if preflight {
			c.preflight(w, r, origin)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if c.creds {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if c.exposed != "" {
			h.Set("Access-Control-Expose-Headers", c.exposed)
		}
		next.ServeHTTP(w, r)
	})
}

func (c *cors) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	if err := c.checkPreflight(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", c.methodList)
	if reqHeaders := r.Header.Values("Access-Control-Request-Headers"); len(reqHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
	}
	if c.creds {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if c.maxAge != "" {
		h.Set("Access-Control-Max-Age", c.maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *cors) checkPreflight(r *http.Request) error {
	if !c.methods[strings.ToUpper(r.Header.Get("Access-Control-Request-Method"))] {
		return fmt.Errorf("%w: method %q", errCORSPreflight, r.Header.Get("Access-Control-Request-Method"))
	}
	for _, line := range r.Header.Values("Access-Control-Request-Headers") {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !c.headers[name] {
				return fmt.Errorf("%w: header %q", errCORSPreflight, name)
			}
		}
	}
	return nil
}
