package httpx

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsTransient(t *testing.T) {
	transient := []int{408, 425, 429, 500, 502, 503, 504}
	for code := 100; code <= 599; code++ {
		want := false
		for _, c := range transient {
			want = want || c == code
		}
		assert.Equal(t, want, IsTransient(code), "status %d", code)
	}
	assert.False(t, IsTransient(501), "501 Not Implemented will not start working")
}

func response(code int, body string) *http.Response {
	return &http.Response{
		StatusCode: code,
		Status:     fmt.Sprintf("%d %s", code, http.StatusText(code)),
		Header:     http.Header{"Retry-After": {"3"}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

func TestHTTPStatusError(t *testing.T) {
	e := NewHTTPStatusError(response(503, "try later"))
	assert.Equal(t, 503, e.StatusCode)
	assert.Equal(t, "3", e.Header.Get("Retry-After"))
	assert.Equal(t, []byte("try later"), e.Body)
	assert.False(t, e.Truncated)
	assert.True(t, e.Transient())
	assert.Equal(t, "httpx: unexpected status 503 Service Unavailable: try later", e.Error())
	assert.Equal(t, 503, ErrorToStatus(fmt.Errorf("calling upstream: %w", e)))

	exact := strings.Repeat("a", MaxErrorBody)
	e = NewHTTPStatusError(response(500, exact))
	assert.Len(t, e.Body, MaxErrorBody)
	assert.False(t, e.Truncated, "exactly 16 KiB is complete")

	e = NewHTTPStatusError(response(500, exact+"b"))
	assert.Len(t, e.Body, MaxErrorBody)
	assert.True(t, e.Truncated)
	assert.True(t, strings.HasSuffix(e.Error(), "..."))
	assert.Less(t, len(e.Error()), 400, "message shows only the start of the body")

	e = NewHTTPStatusError(&http.Response{StatusCode: 418})
	assert.Equal(t, "418 I'm a teapot", e.Status)
	assert.Equal(t, "httpx: unexpected status 418 I'm a teapot", e.Error())

	e = NewHTTPStatusError(response(400, "bad\r\nX-Forged: 1\x00"))
	assert.NotContains(t, e.Error(), "\n")
	assert.NotContains(t, e.Error(), "\r")
	assert.NotContains(t, e.Error(), "\x00")
}

type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, errors.New("conn reset") }
func (brokenBody) Close() error             { return nil }

func TestHTTPStatusErrorKeepsReadError(t *testing.T) {
	e := NewHTTPStatusError(&http.Response{StatusCode: 502, Body: brokenBody{}})
	assert.EqualError(t, e.ReadErr, "conn reset")
	assert.Empty(t, e.Body)
}

type teapot struct{}

func (teapot) Error() string   { return "short and stout" }
func (teapot) HTTPStatus() int { return http.StatusTeapot }

type badCode struct{}

func (badCode) Error() string   { return "bad" }
func (badCode) HTTPStatus() int { return 42 }

func TestErrorToStatus(t *testing.T) {
	assert.Equal(t, 200, ErrorToStatus(nil))
	assert.Equal(t, 500, ErrorToStatus(errors.New("plain")))
	assert.Equal(t, 418, ErrorToStatus(teapot{}))
	assert.Equal(t, 418, ErrorToStatus(fmt.Errorf("wrapped: %w", teapot{})))
	assert.Equal(t, 418, ErrorToStatus(errors.Join(errors.New("x"), teapot{})))
	assert.Equal(t, 500, ErrorToStatus(badCode{}), "invalid codes become 500")
	assert.Equal(t, 413, ErrorToStatus(&BodyTooLargeError{Limit: 1}))

	base := errors.New("no such item")
	err := WithStatus(base, http.StatusNotFound)
	assert.Equal(t, 404, ErrorToStatus(err))
	assert.ErrorIs(t, err, base)
	assert.Equal(t, "no such item", err.Error())
	assert.Equal(t, 404, ErrorToStatus(fmt.Errorf("lookup: %w", err)))
	assert.NoError(t, WithStatus(nil, 404))
	require.Equal(t, 409, ErrorToStatus(WithStatus(teapot{}, 409)), "the outermost status wins")
}
