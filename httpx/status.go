package httpx

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxErrorBody is how much of a response body [NewHTTPStatusError] keeps.
const MaxErrorBody = 16 << 10

// StatusCoder is implemented by errors that carry an HTTP status.
// [ErrorToStatus] finds it anywhere in an error chain.
type StatusCoder interface {
	HTTPStatus() int
}

// HTTPStatusError is a response with an unexpected status, kept for the
// caller: the status, the header and the start of the body.
type HTTPStatusError struct {
	StatusCode int         // 404
	Status     string      // "404 Not Found"
	Header     http.Header // the response header
	Body       []byte      // at most MaxErrorBody bytes of the body
	Truncated  bool        // the body was longer than Body
	ReadErr    error       // an error reading the body, if any (not io.EOF)
}

// NewHTTPStatusError reads at most [MaxErrorBody] bytes of resp.Body and
// returns them with resp's status and header. It does not close resp.Body.
func NewHTTPStatusError(resp *http.Response) *HTTPStatusError {
	e := &HTTPStatusError{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header}
	if e.Status == "" {
		e.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if resp.Body == nil {
		return e
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody+1))
	if len(body) > MaxErrorBody {
		body, e.Truncated = body[:MaxErrorBody], true
	}
	e.Body, e.ReadErr = body, err
	return e
}

// Error returns the status and the start of the body, on one line, with
// control characters replaced so a hostile body cannot forge log lines.
func (e *HTTPStatusError) Error() string {
	const show = 256
	b := e.Body
	cut := e.Truncated
	if len(b) > show {
		b, cut = b[:show], true
	}
	if len(b) == 0 {
		return "httpx: unexpected status " + e.Status
	}
	var sb strings.Builder
	sb.WriteString("httpx: unexpected status ")
	sb.WriteString(e.Status)
	sb.WriteString(": ")
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			r = ' '
		}
		sb.WriteRune(r)
	}
	if cut {
		sb.WriteString("...")
	}
	return sb.String()
}

// HTTPStatus returns StatusCode, so [ErrorToStatus] sees it.
func (e *HTTPStatusError) HTTPStatus() int { return e.StatusCode }

// Transient reports whether retrying may succeed ([IsTransient]).
func (e *HTTPStatusError) Transient() bool { return IsTransient(e.StatusCode) }

// IsTransient reports whether a request that got status may succeed if
// retried later: 408 Request Timeout, 425 Too Early, 429 Too Many Requests,
// 500, 502, 503 and 504. 501 Not Implemented and other statuses are not.
func IsTransient(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ErrorToStatus returns the HTTP status a handler should answer err with:
// 200 for nil, the status of the first error in the chain that implements
// [StatusCoder] (if it is a valid 1xx-5xx status), and 500 otherwise.
func ErrorToStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var sc StatusCoder
	if errors.As(err, &sc) {
		if s := sc.HTTPStatus(); s >= 100 && s <= 599 {
			return s
		}
	}
	return http.StatusInternalServerError
}

// WithStatus wraps err so that [ErrorToStatus] returns status for it.
// errors.Is and errors.As still see err. It returns nil if err is nil.
func WithStatus(err error, status int) error {
	if err == nil {
		return nil
	}
	return &statusError{err: err, status: status}
}

type statusError struct {
	err    error
	status int
}

func (e *statusError) Error() string   { return e.err.Error() }
func (e *statusError) Unwrap() error   { return e.err }
func (e *statusError) HTTPStatus() int { return e.status }
