package authretry

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadErrorTruncatesAndRedacts(t *testing.T) {
	secret := "s3cr3t-token-value"
	body := "token " + secret + " and Authorization: Bearer abc.def-ghi_jkl~mno+pqr/stu== end " + strings.Repeat("x", 2*MaxErrorBodySize)
	u, _ := url.Parse("https://user:pw@api.example.com/p?access_token=" + secret + "#frag")
	req := &http.Request{Method: http.MethodPost, URL: u, Header: http.Header{"Authorization": {"Bearer " + secret}}}
	rc := &trackedBody{Reader: strings.NewReader(body)}
	resp := &http.Response{
		StatusCode: http.StatusUnauthorized,
		Header: http.Header{
			"Www-Authenticate": {`Bearer error="invalid_token", error_description="token ` + secret + ` expired"`},
			"Set-Cookie":       {"id=1"},
			"Retry-After":      {"3"},
		},
		Body:    rc,
		Request: req,
	}
	e := ReadError(resp)
	assert.True(t, rc.closed.Load())
	assert.True(t, e.Truncated)
	assert.LessOrEqual(t, len(e.Body), MaxErrorBodySize)
	assert.Greater(t, len(e.Body), MaxErrorBodySize-100)
	assert.NotContains(t, string(e.Body), secret)
	assert.NotContains(t, string(e.Body), "abc.def")
	assert.Contains(t, string(e.Body), "Bearer [REDACTED]")
	assert.Equal(t, []string{`Bearer error="invalid_token", error_description="token [REDACTED] expired"`}, e.Header.Values("Www-Authenticate"),
		"the challenge header keeps its shape; only the token is replaced")
	assert.Equal(t, []string{"[REDACTED]"}, e.Header.Values("Set-Cookie"))
	assert.Equal(t, "https://api.example.com/p", e.URL)
	assert.Equal(t, http.MethodPost, e.Method)
	assert.Equal(t, 3e9, float64(e.RetryAfter))
	assert.Nil(t, e.Kind)
	assert.Empty(t, e.Unwrap())
	assert.Contains(t, e.Error(), "authretry: HTTP error: POST https://api.example.com/p: 401 Unauthorized")
	assert.NotContains(t, e.Error(), secret)
	assert.NoError(t, e.ChallengeErr)
	b, ok := e.Bearer()
	require.True(t, ok)
	assert.Equal(t, ErrorInvalidToken, b.Error)
	assert.Equal(t, "token [REDACTED] expired", b.ErrorDescription, "parsed challenge values are redacted too")
}

func TestReadErrorSecretSplitAtCut(t *testing.T) {
	secret := "split-secret-token-value"
	body := strings.Repeat("x", MaxErrorBodySize-10) + secret + "tail"
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: "a"}, Header: http.Header{"Authorization": {"Bearer " + secret}}}
	e := ReadError(&http.Response{StatusCode: 401, Body: io.NopCloser(strings.NewReader(body)), Request: req})
	assert.True(t, e.Truncated)
	assert.NotContains(t, string(e.Body), secret[:10])
	assert.True(t, strings.HasSuffix(string(e.Body), "[REDACTED]"))
}

func TestReadErrorMalformedChallengeAndShortBody(t *testing.T) {
	resp := &http.Response{
		StatusCode: http.StatusForbidden,
		Header:     http.Header{"Www-Authenticate": {`Bearer realm="x`}},
		Body:       io.NopCloser(strings.NewReader("short")),
	}
	e := ReadError(resp)
	assert.False(t, e.Truncated)
	assert.Equal(t, "short", string(e.Body))
	assert.ErrorIs(t, e.ChallengeErr, ErrMalformedChallenge)
	assert.Nil(t, e.Challenges)
	_, ok := e.Bearer()
	assert.False(t, ok)
}

func TestErrorUnwrapsKindAndCause(t *testing.T) {
	cause := errors.New("cause")
	e := &Error{Kind: ErrForbidden, Cause: cause, StatusCode: 403, Method: "GET", URL: "https://x/"}
	assert.ErrorIs(t, e, ErrForbidden)
	assert.ErrorIs(t, e, cause)
	assert.NotErrorIs(t, e, ErrUnauthorized)
	assert.Equal(t, "authretry: forbidden: GET https://x/: 403 Forbidden: cause", e.Error())
	wrapped := errors.Join(errors.New("outer"), e)
	var got *Error
	require.ErrorAs(t, wrapped, &got)
	assert.Same(t, e, got)
}

func TestCheckRedirect(t *testing.T) {
	mk := func(u string) *http.Request { return mustReq(t, u) }
	assert.NoError(t, CheckRedirect(mk("https://b/"), []*http.Request{mk("https://a/")}))
	assert.NoError(t, CheckRedirect(mk("http://b/"), []*http.Request{mk("http://a/")}))
	assert.NoError(t, CheckRedirect(mk("https://b/"), []*http.Request{mk("http://a/")}))
	assert.ErrorIs(t, CheckRedirect(mk("http://b/"), []*http.Request{mk("https://a/")}), ErrInsecureRedirect)
	assert.ErrorIs(t, CheckRedirect(mk("http://c/"), []*http.Request{mk("https://a/"), mk("https://b/")}), ErrInsecureRedirect)
	via := make([]*http.Request, 10)
	for i := range via {
		via[i] = mk("https://a/")
	}
	assert.Error(t, CheckRedirect(mk("https://a/"), via))
}
