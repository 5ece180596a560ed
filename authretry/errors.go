package authretry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// MaxErrorBodySize is how much of an error response body is kept in an
// *Error (16 KiB). Longer bodies are cut and Error.Truncated is set.
const MaxErrorBodySize = 16 << 10

// maxDrain bounds how much more of a body is read and thrown away after
// MaxErrorBodySize so the connection can be reused; past that, the
// connection is closed instead.
const maxDrain = 64 << 10

// Sentinel errors, wrapped by *Error (use errors.Is).
var (
	// ErrUnauthorized: the server answered 401 and the one refresh did not
	// help (the retry got 401 again, or the refresh itself failed).
	ErrUnauthorized = errors.New("authretry: unauthorized")
	// ErrForbidden: the server answered 403 insufficient_scope and the
	// step-up failed.
	ErrForbidden = errors.New("authretry: forbidden")
	// ErrStepUpRepeated: a step-up for the same method, URL and scopes was
	// already done, yet the server still asks for them; retrying again
	// would loop.
	ErrStepUpRepeated = errors.New("authretry: insufficient scope after step-up")
	// ErrInsecureRedirect: a redirect from https to http was refused.
	ErrInsecureRedirect = errors.New("authretry: refusing redirect from https to http")
)

// Error is a failed response, read into memory: at most MaxErrorBodySize
// bytes of the body, the header and the parsed WWW-Authenticate challenges.
// Tokens are redacted: Body, Header values and Challenges have every bearer
// token it knows of replaced by "[REDACTED]" (Body also anything shaped like
// "Bearer <token>"), Header has no Authorization, Cookie or Set-Cookie
// values, and URL has no query, fragment or user info.
//
// Unwrap returns the sentinel (ErrUnauthorized, ErrStepUpRepeated, ...) and
// the cause (for example the refresh hook's error), so errors.Is and
// errors.As see both.
type Error struct {
	Method     string
	URL        string
	StatusCode int
	Header     http.Header
	Body       []byte
	Truncated  bool
	// Challenges parsed from WWW-Authenticate; ChallengeErr is set when the
	// header was present but malformed.
	Challenges   []Challenge
	ChallengeErr error
	// RetryAfter is the parsed Retry-After wait (0 when absent).
	RetryAfter time.Duration

	// Kind is the sentinel this error wraps (nil for a plain HTTP error
	// from ReadError).
	Kind error
	// Cause is what made a retry impossible (a hook's error), if anything.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	} else {
		b.WriteString("authretry: HTTP error")
	}
	fmt.Fprintf(&b, ": %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if bt, ok := e.Bearer(); ok && bt.Error != "" {
		fmt.Fprintf(&b, " (error=%q", bt.Error)
		if len(bt.Scope) > 0 {
			fmt.Fprintf(&b, " scope=%q", strings.Join(bt.Scope, " "))
		}
		b.WriteString(")")
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

// Bearer returns the fields of the response's Bearer challenge.
func (e *Error) Bearer() (Bearer, bool) { return FindBearer(e.Challenges) }

// RequiredScopes returns the scopes the Bearer challenge asks for.
func (e *Error) RequiredScopes() []string {
	b, _ := e.Bearer()
	return b.Scope
}

// ReadError turns a response into an *Error: it reads at most
// MaxErrorBodySize bytes of the body, drains a bounded amount more, closes
// the body and redacts the token the request carried (resp.Request's
// Authorization header) plus anything shaped like "Bearer <token>". Use it on
// a response the Transport returned as is (a 401 it could not retry, say).
func ReadError(resp *http.Response) *Error {
	var secrets []string
	if resp.Request != nil {
		secrets = append(secrets, tokenFromHeader(resp.Request.Header.Get("Authorization")))
	}
	return readError(resp, secrets...)
}

func readError(resp *http.Response, secrets ...string) *Error {
	e := &Error{StatusCode: resp.StatusCode}
	if req := resp.Request; req != nil {
		e.Method = req.Method
		if e.Method == "" {
			e.Method = http.MethodGet
		}
		e.URL = redactURL(req.URL)
	}
	e.Header = redactHeader(resp.Header, secrets)
	if resp.Body != nil {
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBodySize+1))
		if len(body) > MaxErrorBodySize {
			body = body[:MaxErrorBodySize]
			e.Truncated = true
			_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		}
		_ = err // a body cut short by the network is still worth reporting
		_ = resp.Body.Close()
		if e.Truncated {
			body = cutSecretPrefix(body, secrets)
		}
		e.Body = redactBody(body, secrets)
		if len(e.Body) > MaxErrorBodySize { // "[REDACTED]" can be longer than what it replaced
			e.Body = e.Body[:MaxErrorBodySize]
		}
	}
	e.Challenges, e.ChallengeErr = Challenges(resp.Header)
	for i := range e.Challenges {
		c := &e.Challenges[i]
		// Every part: a server may echo the token anywhere, even as the
		// scheme's name (found by FuzzRedaction).
		c.Scheme = redactSecrets(c.Scheme, secrets)
		c.Token68 = redactSecrets(c.Token68, secrets)
		for j := range c.Params {
			c.Params[j].Value = redactSecrets(c.Params[j].Value, secrets)
		}
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	return e
}

func tokenFromHeader(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

const redacted = "[REDACTED]"

var bearerPattern = regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*`)

// cutSecretPrefix drops a tail of body that is the start of a secret: the
// cut at MaxErrorBodySize may have split a token, and exact-match redaction
// would miss the half that remains.
func cutSecretPrefix(body []byte, secrets []string) []byte {
	for _, t := range secrets {
		if len(t) < 8 {
			continue
		}
		for n := min(len(t)-1, len(body)); n >= 4; n-- {
			if string(body[len(body)-n:]) == t[:n] {
				body = append(body[:len(body)-n:len(body)-n], redacted...)
				break
			}
		}
	}
	return body
}

func redactBody(b []byte, secrets []string) []byte {
	return []byte(redactString(string(b), secrets))
}

// redactString replaces the known secrets and anything shaped like
// "Bearer <token68>": for free text such as bodies.
func redactString(s string, secrets []string) string {
	return bearerPattern.ReplaceAllString(redactSecrets(s, secrets), "${1}"+redacted)
}

// redactSecrets replaces the known secrets only: for header values, where
// the "Bearer <token68>" shape also matches a challenge such as
// `Bearer realm="x"`.
func redactSecrets(s string, secrets []string) string {
	for _, t := range secrets {
		// Very short "tokens" would redact ordinary words; real tokens are long.
		if len(t) < 8 {
			continue
		}
		// A replacement can form the token anew with the text around it
		// (a token starting with "D]" after "[REDACTE"); repeat a few
		// times, then give up on the value altogether.
		for i := 0; strings.Contains(s, t); i++ {
			if i == 4 {
				return redacted
			}
			s = strings.ReplaceAll(s, t, redacted)
		}
	}
	return s
}

var sensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

func redactHeader(h http.Header, secrets []string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for k, vs := range out {
		for i, v := range vs {
			vs[i] = redactSecrets(v, secrets)
		}
		out[k] = vs
	}
	for _, k := range sensitiveHeaders {
		if _, ok := out[k]; ok {
			out[k] = []string{redacted}
		}
	}
	return out
}

func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := *u
	v.User = nil
	v.RawQuery = ""
	v.ForceQuery = false
	v.Fragment = ""
	v.RawFragment = ""
	return v.String()
}
