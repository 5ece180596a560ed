package authretry

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzParseWWWAuthenticate(f *testing.F) {
	for _, s := range []string{
		`Bearer`,
		`Bearer realm="example", scope="urn:example:channel=HBO&urn:example:rating=G,PG-13"`,
		`Basic realm="x\\", Bearer error="invalid_token"`,
		`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`,
		`Negotiate YIIBhgYGKwYBBQUCoII=, Bearer`,
		` , Bearer realm="a",, , error=x ,, Basic , `,
		"Bearer error = invalid_token ,\trealm\t=\t\"r\"",
		`Bearer error="insufficient_scope", error_description="need scope=x"`,
	} {
		f.Add(s, "")
	}
	f.Add(`Basic realm="a"`, `Bearer scope="x y"`)
	f.Fuzz(func(t *testing.T, a, b string) {
		cs, err := ParseWWWAuthenticate(a, b)
		if err != nil {
			if cs != nil {
				t.Fatalf("challenges %v with error %v", cs, err)
			}
			return
		}
		for _, c := range cs {
			_, _ = c.Bearer()
			if c.Token68 != "" && len(c.Params) > 0 {
				t.Fatalf("token68 and params in %#v", c)
			}
		}
		s := FormatWWWAuthenticate(cs)
		again, err := ParseWWWAuthenticate(s)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q, %q): %v", s, a, b, err)
		}
		if !equalChallenges(cs, again) {
			t.Fatalf("round trip changed %q:\n first %#v\n again %#v", s, cs, again)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "-1", "1.5", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if ok && d < 0 {
			t.Fatalf("negative wait %v for %q", d, s)
		}
		if !ok && d != 0 {
			t.Fatalf("wait %v without ok for %q", d, s)
		}
	})
}

func equalChallenges(a, b []Challenge) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Scheme != b[i].Scheme || a[i].Token68 != b[i].Token68 || len(a[i].Params) != len(b[i].Params) {
			return false
		}
		for j := range a[i].Params {
			if a[i].Params[j] != b[i].Params[j] {
				return false
			}
		}
	}
	return true
}

// FuzzRedaction: whatever the server echoes, an *Error never holds the token
// the request carried, in its body, header values or parsed challenges.
func FuzzRedaction(f *testing.F) {
	f.Add("token-12345678 rejected", `Bearer error_description="token-12345678"`, "token-12345678")
	f.Add("D]abcdefgabcdefg", `Bearer realm="D]abcdefgabcdefg"`, "D]abcdefg")
	f.Add("xx Bearer abc.def== yy", "Basic", "abcdefghijkl")
	f.Fuzz(func(t *testing.T, body, challenge, secret string) {
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: "a.example"},
			Header: http.Header{"Authorization": {"Bearer " + secret}}}
		secret = tokenFromHeader(req.Header.Get("Authorization")) // the token as sent
		if len(secret) < 8 {
			return // shorter strings are not redacted (they would hit ordinary words)
		}
		resp := &http.Response{StatusCode: 401, Request: req, Body: io.NopCloser(strings.NewReader(body)),
			Header: http.Header{"Www-Authenticate": {challenge}, "X-Echo": {body}}}
		e := ReadError(resp)
		if len(e.Body) > MaxErrorBodySize {
			t.Fatalf("body of %d bytes", len(e.Body))
		}
		if strings.Contains(string(e.Body), secret) {
			t.Fatalf("secret %q in body %q", secret, e.Body)
		}
		for k, vs := range e.Header {
			for _, v := range vs {
				if strings.Contains(v, secret) {
					t.Fatalf("secret %q in header %s: %q", secret, k, v)
				}
			}
		}
		for _, c := range e.Challenges {
			if strings.Contains(c.String(), secret) {
				t.Fatalf("secret %q in challenge %q", secret, c.String())
			}
		}
		if strings.Contains(e.Error(), secret) {
			t.Fatalf("secret %q in message %q", secret, e.Error())
		}
	})
}
