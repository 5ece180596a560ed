package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// DefaultMaxJSONBytes is the body size cap of the JSON helpers when
// [JSONMaxBytes] is not given.
const DefaultMaxJSONBytes = 1 << 20

// ErrBodyTooLarge matches (errors.Is) every [*BodyTooLargeError].
var ErrBodyTooLarge = errors.New("httpx: body too large")

// BodyTooLargeError says a body was longer than the cap. Its HTTP status is
// 413 Content Too Large.
type BodyTooLargeError struct {
	Limit int64 // the cap in bytes
}

func (e *BodyTooLargeError) Error() string {
	return "httpx: body exceeds the limit of " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// Is makes errors.Is(err, ErrBodyTooLarge) true.
func (e *BodyTooLargeError) Is(target error) bool { return target == ErrBodyTooLarge }

// HTTPStatus returns 413.
func (e *BodyTooLargeError) HTTPStatus() int { return http.StatusRequestEntityTooLarge }

// JSONError says a body was not one valid JSON value of the expected shape
// (syntax error, wrong type, unknown field, trailing data, empty body). It
// wraps the encoding/json error. Its HTTP status is 400 Bad Request, or 415
// Unsupported Media Type for a request that is not declared as JSON.
type JSONError struct {
	Err    error
	Status int
}

func (e *JSONError) Error() string   { return "httpx: invalid JSON body: " + e.Err.Error() }
func (e *JSONError) Unwrap() error   { return e.Err }
func (e *JSONError) HTTPStatus() int { return e.Status }

// JSONOption configures the JSON decoding helpers.
type JSONOption func(*jsonConfig)

type jsonConfig struct {
	max           int64
	strict        bool
	useNumber     bool
	requireCTJSON bool
}

// JSONMaxBytes caps the body at n bytes (default [DefaultMaxJSONBytes]).
// n <= 0 keeps the default; there is no unlimited setting.
func JSONMaxBytes(n int64) JSONOption {
	return func(c *jsonConfig) {
		if n > 0 {
			c.max = n
		}
	}
}

// JSONDisallowUnknownFields rejects objects with fields the target struct
// does not have.
func JSONDisallowUnknownFields() JSONOption {
	return func(c *jsonConfig) { c.strict = true }
}

// JSONUseNumber decodes numbers into interface values as json.Number
// instead of float64, so large integers survive.
func JSONUseNumber() JSONOption {
	return func(c *jsonConfig) { c.useNumber = true }
}

// JSONRequireContentType makes [DecodeJSONRequest] reject a request whose
// Content-Type is not application/json or a +json type (status 415).
func JSONRequireContentType() JSONOption {
	return func(c *jsonConfig) { c.requireCTJSON = true }
}

func jsonOpts(opts []JSONOption) jsonConfig {
	c := jsonConfig{max: DefaultMaxJSONBytes}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// DecodeJSON decodes exactly one JSON value from r into v, reading at most
// the cap. A body over the cap is a [*BodyTooLargeError]; anything else
// wrong with it is a [*JSONError].
func DecodeJSON(r io.Reader, v any, opts ...JSONOption) error {
	return decodeJSON(r, v, jsonOpts(opts))
}

func decodeJSON(r io.Reader, v any, c jsonConfig) error {
	lr := &capReader{r: r, left: c.max, limit: c.max}
	dec := json.NewDecoder(lr)
	if c.strict {
		dec.DisallowUnknownFields()
	}
	if c.useNumber {
		dec.UseNumber()
	}
	if err := dec.Decode(v); err != nil {
		return jsonErr(err, lr)
	}
	// Exactly one value: anything but whitespace after it is an error.
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("trailing data after the JSON value")
		}
		return jsonErr(err, lr)
	}
	return nil
}

func jsonErr(err error, lr *capReader) error {
	var tl *BodyTooLargeError
	if errors.As(err, &tl) {
		return tl
	}
	if lr.err != nil {
		return fmt.Errorf("httpx: read JSON body: %w", lr.err)
	}
	if err == io.EOF {
		err = errors.New("empty body")
	}
	return &JSONError{Err: err, Status: http.StatusBadRequest}
}

// capReader reads at most limit bytes and fails only if more data actually
// follows, so a body of exactly limit bytes is accepted.
type capReader struct {
	r     io.Reader
	left  int64
	limit int64
	err   error // a read error from r other than io.EOF
}

func (c *capReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, &BodyTooLargeError{Limit: c.limit}
		}
		return 0, c.noteErr(err)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, c.noteErr(err)
}

func (c *capReader) noteErr(err error) error {
	if err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &BodyTooLargeError{Limit: c.limit}
		}
		c.err = err
	}
	return err
}

// DecodeJSONRequest decodes r's body into v with [DecodeJSON]'s rules. The
// body is also wrapped in [http.MaxBytesReader], so a client that sends too
// much has its connection closed instead of read to the end. Errors carry a
// status for [ErrorToStatus] (400, 413, 415).
func DecodeJSONRequest(w http.ResponseWriter, r *http.Request, v any, opts ...JSONOption) error {
	c := jsonOpts(opts)
	if c.requireCTJSON && !isJSONContentType(r.Header.Get("Content-Type")) {
		return &JSONError{Err: errors.New("Content-Type is not application/json"), Status: http.StatusUnsupportedMediaType}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return &JSONError{Err: errors.New("empty body"), Status: http.StatusBadRequest}
	}
	if r.ContentLength > c.max {
		return &BodyTooLargeError{Limit: c.max}
	}
	body := http.MaxBytesReader(w, r.Body, c.max)
	return decodeJSON(body, v, c)
}

func isJSONContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// WriteJSON encodes v and writes it with status and Content-Type
// application/json. v is encoded before anything is written, so an encoding
// error leaves w untouched and is returned.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("httpx: encode JSON: %w", err)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// WriteJSONError writes {"error": err.Error()} with the status
// [ErrorToStatus] gives for err. For a 5xx status the message is the status
// text instead, so internal details are not shown to clients.
func WriteJSONError(w http.ResponseWriter, err error) error {
	status := ErrorToStatus(err)
	msg := http.StatusText(status)
	if status < 500 && err != nil {
		msg = err.Error()
	}
	return WriteJSON(w, status, map[string]string{"error": msg})
}

// DoJSON sends a request with in encoded as JSON (no body if in is nil) and
// decodes a 2xx response into out (skipped if out is nil), with the size cap
// of opts. A non-2xx response is returned as a [*HTTPStatusError]. client
// nil means [http.DefaultClient].
func DoJSON(ctx context.Context, client *http.Client, method, url string, in, out any, opts ...JSONOption) error {
	if client == nil {
		client = http.DefaultClient
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("httpx: encode JSON: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("httpx: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return NewHTTPStatusError(resp)
	}
	if out == nil {
		return nil
	}
	return DecodeJSON(resp.Body, out, opts...)
}
