package streamable

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMessageKinds(t *testing.T) {
	cases := map[string]Kind{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`:                            KindRequest,
		`{"jsonrpc":"2.0","id":"a","method":"x","params":{"a":1}}`:            KindRequest,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`:              KindNotification,
		`{"jsonrpc":"2.0","id":1,"result":{}}`:                                KindResponse,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}`: KindError,
	}
	for in, want := range cases {
		m, err := ParseMessage([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, m.Kind(), in)
	}
}

func TestParseMessageErrors(t *testing.T) {
	cases := map[string]int{
		``:                                       CodeParseError,
		`{"jsonrpc":`:                            CodeParseError,
		`nope`:                                   CodeParseError,
		`42`:                                     CodeInvalidRequest,
		`{"id":1,"method":"x"}`:                  CodeInvalidRequest,
		`{"jsonrpc":"1.0","id":1,"method":"x"}`:  CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":{},"method":"x"}`: CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":1,"method":""}`:   CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":1,"method":5}`:    CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":null,"method":"x"}`:                            CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":1}`:                                            CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}}`: CodeInvalidRequest,
		`{"jsonrpc":"2.0","result":1}`:                                        CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":1,"method":"x","result":1}`:                    CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":1,"method":"x","params":3}`:                    CodeInvalidRequest,
	}
	for in, code := range cases {
		_, err := ParseMessage([]byte(in))
		var e *Error
		require.ErrorAs(t, err, &e, in)
		assert.Equal(t, code, e.Code, in)
		assert.ErrorIs(t, err, ErrInvalidMessage, in)
	}
}

func TestBatch(t *testing.T) {
	assert.True(t, DetectBatch([]byte(" \n[1]")))
	assert.False(t, DetectBatch([]byte(`{"a":[1]}`)))
	assert.False(t, DetectBatch(nil))

	items, err := SplitBatch([]byte(`[{"a":1}, {"b":[2,3]} ,"x"]`), BatchLimits{})
	require.NoError(t, err)
	require.Len(t, items, 3)
	assert.JSONEq(t, `{"b":[2,3]}`, string(items[1]))

	_, err = SplitBatch([]byte(` [ ] `), BatchLimits{})
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, CodeInvalidRequest, e.Code, "an empty batch is Invalid Request")

	_, err = SplitBatch([]byte(`[1,2,3]`), BatchLimits{MaxItems: 2})
	require.ErrorAs(t, err, &e)
	assert.Equal(t, CodeInvalidRequest, e.Code)

	_, err = SplitBatch([]byte(`[1,2,3]`), BatchLimits{MaxBytes: 4})
	require.ErrorAs(t, err, &e)
	assert.Equal(t, CodeInvalidRequest, e.Code)

	for _, bad := range []string{`[1,`, `[1]x`, `[1][2]`, `{}`} {
		_, err = SplitBatch([]byte(bad), BatchLimits{})
		require.ErrorAs(t, err, &e, bad)
		assert.Equal(t, CodeParseError, e.Code, bad)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteFrame(&buf, []byte(`{"a":1}`)))
	require.NoError(t, WriteFrame(&buf, nil))
	assert.Equal(t, "Content-Length: 7\r\n\r\n{\"a\":1}Content-Length: 0\r\n\r\n", buf.String())
	r := bufio.NewReader(&buf)
	b, err := ReadFrame(r, FrameLimits{})
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(b))
	b, err = ReadFrame(r, FrameLimits{})
	require.NoError(t, err)
	assert.Empty(t, b)
	_, err = ReadFrame(r, FrameLimits{})
	assert.Equal(t, io.EOF, err)
}

func TestFrameHeaders(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("content-length: 2\nContent-Type: application/vscode-jsonrpc; charset=utf-8\n\n{}"))
	b, err := ReadFrame(r, FrameLimits{})
	require.NoError(t, err)
	assert.Equal(t, "{}", string(b))

	bad := map[string]error{
		"Content-Length: 99999999999\r\n\r\n":             ErrFrameTooLarge,
		"Content-Length: 11\r\n\r\n":                      ErrFrameTooLarge,
		"Content-Length: -1\r\n\r\n":                      ErrBadFrameHeader,
		"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx": ErrBadFrameHeader,
		"X: y\r\n\r\n":                                    ErrBadFrameHeader,
		"garbage\r\n\r\n":                                 ErrBadFrameHeader,
		"\r\n":                                            ErrBadFrameHeader,
		"X-Long: " + strings.Repeat("a", 200) + "\r\n":    ErrBadFrameHeader,
		strings.Repeat("A: b\r\n", 5) + "\r\n":            ErrBadFrameHeader,
		"Content-Length: 5\r\n\r\nab":                     io.ErrUnexpectedEOF,
		"Content-Length: 5\r\n":                           io.ErrUnexpectedEOF,
	}
	for in, want := range bad {
		_, err := ReadFrame(bufio.NewReaderSize(strings.NewReader(in), 16), FrameLimits{MaxBytes: 10, MaxHeaderLine: 100, MaxHeaderLines: 4})
		assert.True(t, errors.Is(err, want), "%q: got %v, want %v", in, err, want)
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, `{"jsonrpc":"2.0","id":1,"result":{}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}`, `[]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != CodeParseError && e.Code != CodeInvalidRequest) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, err := encodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseMessage(out)
		if err != nil || m2.Kind() != m.Kind() {
			t.Fatalf("re-encoded message %s does not parse the same: %v", out, err)
		}
	})
}

func FuzzSplitBatch(f *testing.F) {
	for _, s := range []string{`[{"a":1},2]`, `[]`, `[`, `[1]]`, ` [ "x" ] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := SplitBatch(b, BatchLimits{MaxItems: 8})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(items) == 0 || len(items) > 8 {
			t.Fatalf("%d items", len(items))
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	for _, s := range []string{"Content-Length: 2\r\n\r\n{}", "Content-Length: 99999999999999999999\r\n\r\n", "a\nb\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for i := 0; i < 4; i++ {
			body, err := ReadFrame(r, FrameLimits{MaxBytes: 64})
			if err != nil {
				return
			}
			if len(body) > 64 {
				t.Fatalf("frame of %d bytes over the cap", len(body))
			}
		}
	})
}

// FuzzParseEventID: a Last-Event-ID either parses to a stream key of this
// server's shape and a store ID that format back to an equivalent ID, or is
// refused.
func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"p1_1700000000000-0", "g_1-2", "p_1-1", "x_1-1", "p12", "p1_", "p1_-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, id, ok := parseEventID(s)
		if !ok {
			return
		}
		if !validKey(key) || id.IsZero() {
			t.Fatalf("accepted %q as key %q id %v", s, key, id)
		}
		k2, id2, ok := parseEventID(eventID(key, id))
		if !ok || k2 != key || id2 != id {
			t.Fatalf("%q does not round-trip", s)
		}
	})
}
