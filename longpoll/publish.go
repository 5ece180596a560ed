package longpoll

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// golongpoll's publish error texts, byte for byte.
const (
	errTextMethod      = "Invalid HTTP Method. Only POST allowed."
	errTextBody        = "Invalid POST body json."
	errTextPubCategory = "Invalid or missing 'category' arg, must be 1-1024 characters long."
	errTextData        = "Invalid or missing 'data' arg, must be non-nil."
)

// successBody is golongpoll's publish answer, exactly (note the space).
const successBody = `{"success": true}`

type publishBody struct {
	Category string          `json:"category"`
	Data     json.RawMessage `json:"data"`
}

func (b *Broker) servePublish(w http.ResponseWriter, r *http.Request) {
	if b.opts.BeforePublish != nil && !b.opts.BeforePublish(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write(answerError(errTextMethod))
		return
	}
	// Content-Type is not checked: golongpoll's Go client sends none.
	limit := int64(b.opts.MaxEventSize) + MaxCategoryLen + 4096
	raw, err := readBody(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = w.Write(answerError(eventstore.ErrTooLarge.Error()))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(answerError(errTextBody))
		return
	}
	body, err := decodePublishBody(raw)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(answerError(errTextBody))
		return
	}
	if len(body.Category) == 0 || len(body.Category) > MaxCategoryLen {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(answerError(errTextPubCategory))
		return
	}
	if len(body.Data) == 0 || string(body.Data) == "null" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(answerError(errTextData))
		return
	}
	if _, err := b.publish(r.Context(), body.Category, body.Data); err != nil {
		w.WriteHeader(publishStatus(err))
		_, _ = w.Write(answerError(err.Error()))
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(successBody))
}

// readBody reads a whole request body, in one allocation when its
// Content-Length is known (net/http then ends the body there). A body over
// limit fails whole (a MaxBytesError), even if a complete JSON value came
// before the limit.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength < 0 || contentLength > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, contentLength)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// decodePublishBody decodes a publish body as json.Decoder.Decode does: the
// first JSON value, whatever follows it unread. The shape every client
// sends, {"category":"<text without escapes>","data":<value>} and nothing
// but whitespace after it, is taken apart by hand (fastPublishBody);
// anything else goes through encoding/json. FuzzPublishBody checks that
// the two agree.
func decodePublishBody(raw []byte) (publishBody, error) {
	if body, ok := fastPublishBody(raw); ok {
		return body, nil
	}
	var body publishBody
	err := json.NewDecoder(bytes.NewReader(raw)).Decode(&body)
	return body, err
}

// fastPublishBody reads `{"category":"<plain>","data":<value>}` with any
// JSON whitespace between tokens and after it. <plain> is valid UTF-8
// without quotes, backslashes or control characters (so it decodes to
// itself); <value> is everything up to the closing brace, which
// json.Valid must accept as exactly one value. false means "ask
// encoding/json", not "invalid".
func fastPublishBody(d []byte) (publishBody, bool) {
	var body publishBody
	i, ok := expectJSON(d, 0, `{`, `"category"`, `:`, `"`)
	if !ok {
		return body, false
	}
	end := bytes.IndexByte(d[i:], '"')
	if end < 0 {
		return body, false
	}
	cat := d[i : i+end]
	for _, c := range cat {
		if c < 0x20 || c == '\\' {
			return body, false
		}
	}
	if !utf8.Valid(cat) {
		return body, false
	}
	if i, ok = expectJSON(d, i+end+1, `,`, `"data"`, `:`); !ok {
		return body, false
	}
	i = skipJSONSpace(d, i)
	last := len(d) - 1
	for last >= 0 && isJSONSpace(d[last]) {
		last--
	}
	if last <= i || d[last] != '}' {
		return body, false
	}
	value := d[i:last]
	for len(value) > 0 && isJSONSpace(value[len(value)-1]) {
		value = value[:len(value)-1]
	}
	if !json.Valid(value) {
		return body, false
	}
	body.Category, body.Data = string(cat), value
	return body, true
}

// expectJSON reads the literal tokens toks from d at i, each after optional
// JSON whitespace, and returns the index after the last; false if one is
// not there.
func expectJSON(d []byte, i int, toks ...string) (int, bool) {
	for _, t := range toks {
		i = skipJSONSpace(d, i)
		if len(d)-i < len(t) || string(d[i:i+len(t)]) != t {
			return i, false
		}
		i += len(t)
	}
	return i, true
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipJSONSpace(d []byte, i int) int {
	for i < len(d) && isJSONSpace(d[i]) {
		i++
	}
	return i
}

func publishStatus(err error) int {
	switch {
	case errors.Is(err, eventstore.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrStopped), errors.Is(err, ErrTooManyCategories), errors.Is(err, eventstore.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
