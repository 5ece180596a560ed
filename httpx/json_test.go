package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type item struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeJSON(t *testing.T) {
	var v item
	require.NoError(t, DecodeJSON(strings.NewReader(`{"name":"a","count":2}`+"\n  "), &v))
	assert.Equal(t, item{"a", 2}, v)

	// Unknown fields: allowed by default, rejected when asked.
	require.NoError(t, DecodeJSON(strings.NewReader(`{"name":"a","extra":1}`), &v))
	err := DecodeJSON(strings.NewReader(`{"name":"a","extra":1}`), &v, JSONDisallowUnknownFields())
	var je *JSONError
	require.ErrorAs(t, err, &je)
	assert.Equal(t, 400, ErrorToStatus(err))
	assert.Contains(t, err.Error(), `unknown field "extra"`)

	for name, body := range map[string]string{
		"empty":    "",
		"syntax":   `{"name":`,
		"type":     `{"count":"x"}`,
		"trailing": `{"name":"a"} {"name":"b"}`,
		"garbage":  `{"name":"a"}x`,
	} {
		err := DecodeJSON(strings.NewReader(body), &v)
		assert.ErrorAs(t, err, &je, name)
		assert.Equal(t, 400, ErrorToStatus(err), name)
	}
}

func TestDecodeJSONSizeCap(t *testing.T) {
	body := `{"name":"` + strings.Repeat("x", 100) + `"}`
	var v item
	require.NoError(t, DecodeJSON(strings.NewReader(body), &v, JSONMaxBytes(int64(len(body)))),
		"a body of exactly the cap is accepted")

	err := DecodeJSON(strings.NewReader(body), &v, JSONMaxBytes(int64(len(body)-1)))
	require.ErrorIs(t, err, ErrBodyTooLarge)
	var tl *BodyTooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, int64(len(body)-1), tl.Limit)
	assert.Equal(t, "httpx: body exceeds the limit of 110 bytes", err.Error())
	assert.Equal(t, 413, ErrorToStatus(err))

	// Trailing whitespace past the cap still counts.
	err = DecodeJSON(strings.NewReader(body+"    "), &v, JSONMaxBytes(int64(len(body))))
	assert.ErrorIs(t, err, ErrBodyTooLarge)

	// The default cap applies without options: a huge stream is cut.
	huge := io.MultiReader(strings.NewReader(`["`), infiniteX{})
	var s []string
	assert.ErrorIs(t, DecodeJSON(huge, &s), ErrBodyTooLarge)

	// A non-positive cap keeps the default rather than meaning unlimited.
	assert.ErrorIs(t, DecodeJSON(io.MultiReader(strings.NewReader(`["`), infiniteX{}), &s, JSONMaxBytes(0)), ErrBodyTooLarge)
}

type infiniteX struct{}

func (infiniteX) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestDecodeJSONReadError(t *testing.T) {
	var v item
	err := DecodeJSON(io.MultiReader(strings.NewReader(`{"name":`), brokenBody{}), &v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read JSON body: conn reset")
	var je *JSONError
	assert.False(t, errors.As(err, &je), "a transport failure is not a client's bad JSON")
}

func TestDecodeJSONUseNumber(t *testing.T) {
	var v map[string]any
	require.NoError(t, DecodeJSON(strings.NewReader(`{"id": 9007199254740993}`), &v, JSONUseNumber()))
	assert.Equal(t, json.Number("9007199254740993"), v["id"])
	require.NoError(t, DecodeJSON(strings.NewReader(`{"id": 9007199254740993}`), &v))
	assert.IsType(t, float64(0), v["id"])
}

func TestDecodeJSONRequestAndWriteJSON(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in item
		if err := DecodeJSONRequest(w, r, &in, JSONMaxBytes(64), JSONRequireContentType(), JSONDisallowUnknownFields()); err != nil {
			WriteJSONError(w, err)
			return
		}
		in.Count++
		WriteJSON(w, http.StatusCreated, in)
	})
	do := func(ct, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := do("application/json; charset=utf-8", `{"name":"a","count":1}`)
	assert.Equal(t, 201, w.Code)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	assert.JSONEq(t, `{"name":"a","count":2}`, w.Body.String())
	assert.Equal(t, w.Header().Get("Content-Length"), "23")

	assert.Equal(t, 201, do("application/vnd.api+json", `{"name":"a"}`).Code)

	w = do("text/plain", `{"name":"a"}`)
	assert.Equal(t, 415, w.Code)
	assert.JSONEq(t, `{"error":"httpx: invalid JSON body: Content-Type is not application/json"}`, w.Body.String())

	w = do("application/json", `{"name":"`+strings.Repeat("x", 100)+`"}`)
	assert.Equal(t, 413, w.Code)
	assert.Contains(t, w.Body.String(), "exceeds the limit of 64 bytes")

	assert.Equal(t, 400, do("application/json", `{"nope":1}`).Code)
	assert.Equal(t, 400, do("application/json", ``).Code)

	// Declared Content-Length over the cap is refused before reading.
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat(" ", 100)))
	r.Header.Set("Content-Type", "application/json")
	var v item
	assert.ErrorIs(t, DecodeJSONRequest(httptest.NewRecorder(), r, &v, JSONMaxBytes(10)), ErrBodyTooLarge)
}

func TestWriteJSONErrors(t *testing.T) {
	w := httptest.NewRecorder()
	err := WriteJSON(w, 200, math.Inf(1))
	require.Error(t, err)
	assert.Equal(t, 200, w.Code, "nothing written")
	assert.Empty(t, w.Header().Get("Content-Type"))
	assert.Zero(t, w.Body.Len())

	w = httptest.NewRecorder()
	require.NoError(t, WriteJSONError(w, errors.New("db password is hunter2")))
	assert.Equal(t, 500, w.Code)
	assert.JSONEq(t, `{"error":"Internal Server Error"}`, w.Body.String(), "5xx details stay private")

	w = httptest.NewRecorder()
	require.NoError(t, WriteJSONError(w, WithStatus(errors.New("no such item"), 404)))
	assert.Equal(t, 404, w.Code)
	assert.JSONEq(t, `{"error":"no such item"}`, w.Body.String())
}

func TestDoJSON(t *testing.T) {
	s, err := ListenAndServeAsync(&http.Server{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			var in item
			if err := DecodeJSONRequest(w, r, &in, JSONRequireContentType()); err != nil {
				WriteJSONError(w, err)
				return
			}
			assert.Equal(t, "application/json", r.Header.Get("Accept"))
			WriteJSON(w, 200, in)
		case "/big":
			w.Write(bytes.Repeat([]byte(" "), 2000))
			w.Write([]byte(`{}`))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}
	})})
	require.NoError(t, err)
	defer s.Close()
	c := testClient(nil)
	ctx := context.Background()

	var out item
	require.NoError(t, DoJSON(ctx, c, http.MethodPost, s.URL()+"/echo", item{"z", 7}, &out))
	assert.Equal(t, item{"z", 7}, out)

	err = DoJSON(ctx, c, http.MethodGet, s.URL()+"/down", nil, &out)
	var se *HTTPStatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 503, se.StatusCode)
	assert.Equal(t, "overloaded\n", string(se.Body))
	assert.True(t, se.Transient())

	assert.ErrorIs(t, DoJSON(ctx, c, http.MethodGet, s.URL()+"/big", nil, &out, JSONMaxBytes(1000)), ErrBodyTooLarge)
	assert.NoError(t, DoJSON(ctx, c, http.MethodDelete, s.URL()+"/empty", nil, nil))
	assert.Error(t, DoJSON(ctx, c, http.MethodPost, s.URL()+"/echo", math.NaN(), &out))
	assert.Error(t, DoJSON(ctx, c, "BAD METHOD", s.URL(), nil, nil))
}

func FuzzDecodeJSONCap(f *testing.F) {
	f.Add([]byte(`{"name":"a","count":1}`), uint8(10))
	f.Add([]byte(`[1,2,3]   `), uint8(7))
	f.Add([]byte(``), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, limit uint8) {
		max := int64(limit) + 1
		var v any
		err := DecodeJSON(bytes.NewReader(body), &v, JSONMaxBytes(max), JSONUseNumber()) // UseNumber: 1E700 is valid JSON but no float64
		if int64(len(body)) <= max {
			assert.NotErrorIs(t, err, ErrBodyTooLarge, "within the cap")
			if json.Valid(body) {
				assert.NoError(t, err)
			}
		}
		if err == nil {
			assert.LessOrEqual(t, int64(len(body)), max, "never accepts a body over the cap")
			assert.True(t, json.Valid(body))
		}
	})
}
