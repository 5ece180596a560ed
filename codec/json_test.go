package codec_test

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/codec"
)

func TestJSONCodecDecode(t *testing.T) {
	tests := []struct {
		name      string
		useNumber bool
		data      string
		mt        codec.MessageType
		want      any
		errIs     error // sentinel the error must wrap
		errAs     bool  // error must be a *json.SyntaxError
	}{
		{name: "object", data: `{"a":1,"b":[true,null,"x"]}`, mt: codec.Text,
			want: map[string]any{"a": 1.0, "b": []any{true, nil, "x"}}},
		{name: "number as float64", data: `12345678901234567890`, mt: codec.Text, want: 12345678901234567890.0},
		{name: "number as json.Number", useNumber: true, data: `12345678901234567890`, mt: codec.Text,
			want: json.Number("12345678901234567890")},
		{name: "nested json.Number", useNumber: true, data: `{"id":9007199254740993}`, mt: codec.Text,
			want: map[string]any{"id": json.Number("9007199254740993")}},
		{name: "null", data: `null`, mt: codec.Text, want: nil},
		{name: "null with UseNumber", useNumber: true, data: ` null `, mt: codec.Text, want: nil},
		{name: "surrounding white space", data: " \t\r\n\"s\"\n", mt: codec.Text, want: "s"},
		{name: "trailing white space with UseNumber", useNumber: true, data: "1 \n\t\r", mt: codec.Text,
			want: json.Number("1")},

		{name: "binary frame", data: `{"a":1}`, mt: codec.Binary, errIs: codec.ErrMessageType},
		{name: "binary frame with UseNumber", useNumber: true, data: `1`, mt: codec.Binary, errIs: codec.ErrMessageType},
		{name: "zero message type", data: `1`, mt: 0, errIs: codec.ErrMessageType},
		{name: "unknown message type", data: `1`, mt: 8, errIs: codec.ErrMessageType},
		{name: "empty", data: ``, mt: codec.Text, errAs: true},
		{name: "empty with UseNumber", useNumber: true, data: ``, mt: codec.Text, errAs: true},
		{name: "only white space", useNumber: true, data: "  \n", mt: codec.Text, errAs: true},
		{name: "invalid", data: `{a:1}`, mt: codec.Text, errAs: true},
		{name: "truncated", data: `{"a":`, mt: codec.Text, errAs: true},
		{name: "truncated with UseNumber", useNumber: true, data: `{"a":`, mt: codec.Text, errAs: true},
		{name: "trailing data", data: `{"a":1}x`, mt: codec.Text, errAs: true},
		{name: "trailing data with UseNumber", useNumber: true, data: `{"a":1} {"b":2}`, mt: codec.Text, errAs: true},
		{name: "trailing number with UseNumber", useNumber: true, data: `1 2`, mt: codec.Text, errAs: true},
		{name: "number out of float64 range", data: `1e400`, mt: codec.Text},
		{name: "nil data", data: "", mt: codec.Binary, errIs: codec.ErrMessageType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := codec.JSONCodec{UseNumber: tt.useNumber}
			got, err := c.Decode([]byte(tt.data), tt.mt)
			switch {
			case tt.errIs != nil:
				require.ErrorIs(t, err, tt.errIs)
				assert.Nil(t, got)
			case tt.errAs:
				var se *json.SyntaxError
				require.ErrorAs(t, err, &se)
				assert.Contains(t, err.Error(), "codec: decode JSON: ")
				assert.Nil(t, got)
			case tt.want == nil && tt.data != "null" && tt.data != " null ":
				// 1e400 does not fit a float64: an error, not Inf.
				require.Error(t, err)
				assert.Contains(t, err.Error(), "codec: ")
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestJSONCodecDecodeNilSlice(t *testing.T) {
	var c codec.JSONCodec
	_, err := c.Decode(nil, codec.Text)
	var se *json.SyntaxError
	require.ErrorAs(t, err, &se)
}

func TestJSONCodecEncode(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
		err  bool
	}{
		{name: "nil", v: nil, want: `null`},
		{name: "map", v: map[string]any{"b": 2, "a": "x"}, want: `{"a":"x","b":2}`},
		{name: "html escaped", v: "<a&b>", want: `"\u003ca\u0026b\u003e"`},
		{name: "nil pointer", v: (*struct{ A int })(nil), want: `null`},
		{name: "json.Number", v: json.Number("9007199254740993"), want: `9007199254740993`},
		{name: "raw message", v: json.RawMessage(`{"x":[1,2]}`), want: `{"x":[1,2]}`},
		{name: "channel", v: make(chan int), err: true},
		{name: "func", v: func() {}, err: true},
		{name: "NaN", v: math.NaN(), err: true},
		{name: "infinity", v: math.Inf(1), err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mt, err := codec.JSONCodec{}.Encode(tt.v)
			if tt.err {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "codec: encode JSON: ")
				assert.Nil(t, b)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, codec.Text, mt)
			assert.Equal(t, tt.want, string(b))
		})
	}
}

func TestJSONCodecEncodeErrorUnwraps(t *testing.T) {
	_, _, err := codec.JSONCodec{}.Encode(math.NaN())
	var ue *json.UnsupportedValueError
	require.ErrorAs(t, err, &ue)
}

// Decode must not retain data: transports reuse their read buffers.
func TestJSONDecodeDoesNotRetainData(t *testing.T) {
	for _, useNumber := range []bool{false, true} {
		data := []byte(`{"s":"hello","n":12,"raw":{"k":"v"}}`)
		v, err := codec.JSONCodec{UseNumber: useNumber}.Decode(data, codec.Text)
		require.NoError(t, err)
		before, err := json.Marshal(v)
		require.NoError(t, err)
		for i := range data {
			data[i] = 'x'
		}
		after, err := json.Marshal(v)
		require.NoError(t, err)
		assert.Equal(t, string(before), string(after), "UseNumber=%v", useNumber)
	}

	type withRaw struct {
		Raw json.RawMessage `json:"raw"`
		S   string          `json:"s"`
	}
	for _, strict := range []bool{false, true} {
		data := []byte(`{"s":"hello","raw":{"k":"v"}}`)
		v, err := codec.TypedJSONCodec[withRaw, withRaw]{DisallowUnknownFields: strict}.Decode(data, codec.Text)
		require.NoError(t, err)
		for i := range data {
			data[i] = 'x'
		}
		assert.Equal(t, `{"k":"v"}`, string(v.Raw), "strict=%v", strict)
		assert.Equal(t, "hello", v.S)
	}
}

type event struct {
	ID    int64             `json:"id"`
	Type  string            `json:"type,omitempty"`
	Tags  []string          `json:"tags,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
	Extra any               `json:"extra,omitempty"`
}

func TestTypedJSONCodecDecode(t *testing.T) {
	tests := []struct {
		name   string
		codec  codec.TypedJSONCodec[event, event]
		data   string
		mt     codec.MessageType
		want   event
		errIs  error
		errAs  any // pointer to the error type the chain must hold
		errMsg string
	}{
		{name: "full", data: `{"id":7,"type":"t","tags":["a"],"attrs":{"k":"v"},"extra":1}`, mt: codec.Text,
			want: event{ID: 7, Type: "t", Tags: []string{"a"}, Attrs: map[string]string{"k": "v"}, Extra: 1.0}},
		{name: "UseNumber in any field", codec: codec.TypedJSONCodec[event, event]{UseNumber: true},
			data: `{"id":7,"extra":9007199254740993}`, mt: codec.Text,
			want: event{ID: 7, Extra: json.Number("9007199254740993")}},
		{name: "unknown field ignored", data: `{"id":1,"nope":2}`, mt: codec.Text, want: event{ID: 1}},
		{name: "unknown field rejected", codec: codec.TypedJSONCodec[event, event]{DisallowUnknownFields: true},
			data: `{"id":1,"nope":2}`, mt: codec.Text, errMsg: `unknown field "nope"`},
		{name: "null is the zero value", data: `null`, mt: codec.Text, want: event{}},
		{name: "empty object", data: `{}`, mt: codec.Text, want: event{}},
		{name: "binary frame", data: `{"id":1}`, mt: codec.Binary, errIs: codec.ErrMessageType},
		{name: "binary frame strict", codec: codec.TypedJSONCodec[event, event]{DisallowUnknownFields: true},
			data: `{"id":1}`, mt: codec.Binary, errIs: codec.ErrMessageType},
		{name: "wrong JSON type", data: `{"id":"seven"}`, mt: codec.Text, errAs: new(*json.UnmarshalTypeError)},
		{name: "wrong JSON type strict", codec: codec.TypedJSONCodec[event, event]{DisallowUnknownFields: true},
			data: `{"id":"seven"}`, mt: codec.Text, errAs: new(*json.UnmarshalTypeError)},
		{name: "array for struct", data: `[1]`, mt: codec.Text, errAs: new(*json.UnmarshalTypeError)},
		{name: "invalid", data: `{"id":1,}`, mt: codec.Text, errAs: new(*json.SyntaxError)},
		{name: "invalid strict", codec: codec.TypedJSONCodec[event, event]{DisallowUnknownFields: true},
			data: `{"id":1,}`, mt: codec.Text, errAs: new(*json.SyntaxError)},
		{name: "trailing strict", codec: codec.TypedJSONCodec[event, event]{DisallowUnknownFields: true},
			data: `{"id":1}{"id":2}`, mt: codec.Text, errAs: new(*json.SyntaxError)},
		{name: "empty", data: ``, mt: codec.Text, errAs: new(*json.SyntaxError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.Decode([]byte(tt.data), tt.mt)
			switch {
			case tt.errIs != nil:
				require.ErrorIs(t, err, tt.errIs)
			case tt.errAs != nil:
				require.ErrorAs(t, err, tt.errAs)
			case tt.errMsg != "":
				require.ErrorContains(t, err, tt.errMsg)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			assert.Contains(t, err.Error(), "codec: ")
			assert.Zero(t, got, "a failed Decode returns the zero value")
		})
	}
}

func TestTypedJSONCodecPointerTypes(t *testing.T) {
	var c codec.TypedJSONCodec[*event, *event]
	got, err := c.Decode([]byte(`{"id":3}`), codec.Text)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, int64(3), got.ID)

	again, err := c.Decode([]byte(`{"id":3}`), codec.Text)
	require.NoError(t, err)
	assert.NotSame(t, got, again, "each Decode returns a new value")

	for _, null := range []string{`null`, " \t\r\nnull\n"} {
		got, err = c.Decode([]byte(null), codec.Text)
		require.NoError(t, err)
		assert.Nil(t, got, "%q decodes to a nil pointer", null)
	}
	for _, bad := range []string{"\vnull", `nul`, `null x`, `{"id":"x"}`, ``} {
		got, err = c.Decode([]byte(bad), codec.Text)
		require.Error(t, err, "%q", bad)
		assert.Nil(t, got)
	}

	strict := codec.TypedJSONCodec[*event, *event]{DisallowUnknownFields: true, UseNumber: true}
	got, err = strict.Decode([]byte(`{"id":4,"extra":18446744073709551617}`), codec.Text)
	require.NoError(t, err)
	assert.Equal(t, &event{ID: 4, Extra: json.Number("18446744073709551617")}, got)
	got, err = strict.Decode([]byte(`{"id":4,"nope":1}`), codec.Text)
	require.ErrorContains(t, err, `unknown field "nope"`)
	assert.Nil(t, got)
	got, err = strict.Decode([]byte(` null `), codec.Text)
	require.NoError(t, err)
	assert.Nil(t, got)

	// A pointer to a pointer, and a pointer to a json.Unmarshaler.
	pp, err := codec.TypedJSONCodec[**event, **event]{}.Decode([]byte(`{"id":5}`), codec.Text)
	require.NoError(t, err)
	require.NotNil(t, pp)
	require.NotNil(t, *pp)
	assert.Equal(t, int64(5), (*pp).ID)
	u, err := codec.TypedJSONCodec[*upper, *upper]{}.Decode([]byte(`"abc"`), codec.Text)
	require.NoError(t, err)
	assert.Equal(t, upper("ABC"), *u)
	u, err = codec.TypedJSONCodec[*upper, *upper]{}.Decode([]byte(`null`), codec.Text)
	require.NoError(t, err)
	assert.Nil(t, u)

	b, mt, err := c.Encode(nil)
	require.NoError(t, err)
	assert.Equal(t, codec.Text, mt)
	assert.Equal(t, "null", string(b))
}

// upper is a json.Unmarshaler (with a pointer receiver) that upper-cases a
// JSON string.
type upper string

func (u *upper) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*u = upper(strings.ToUpper(s))
	return nil
}

func TestTypedJSONCodecDifferentDirections(t *testing.T) {
	type req struct {
		Method string `json:"method"`
	}
	type resp struct {
		OK bool `json:"ok"`
	}
	var c codec.Codec[req, resp] = codec.TypedJSONCodec[req, resp]{}
	r, err := c.Decode([]byte(`{"method":"ping"}`), codec.Text)
	require.NoError(t, err)
	assert.Equal(t, req{Method: "ping"}, r)
	b, mt, err := c.Encode(resp{OK: true})
	require.NoError(t, err)
	assert.Equal(t, codec.Text, mt)
	assert.JSONEq(t, `{"ok":true}`, string(b))
}

func TestTypedJSONCodecEncode(t *testing.T) {
	b, mt, err := codec.TypedJSONCodec[event, event]{}.Encode(event{ID: 1, Tags: []string{"x"}})
	require.NoError(t, err)
	assert.Equal(t, codec.Text, mt)
	assert.Equal(t, `{"id":1,"tags":["x"]}`, string(b))

	b, _, err = codec.TypedJSONCodec[event, event]{}.Encode(event{Extra: make(chan int)})
	require.Error(t, err)
	var ute *json.UnsupportedTypeError
	require.ErrorAs(t, err, &ute)
	assert.Contains(t, err.Error(), "codec: encode JSON: ")
	assert.Nil(t, b)
}

func TestCodecsImplementInterface(t *testing.T) {
	var _ codec.Codec[any, any] = codec.JSONCodec{}
	var _ codec.Codec[any, any] = &codec.JSONCodec{}
	var _ codec.Codec[event, *event] = codec.TypedJSONCodec[event, *event]{}
	var _ codec.Codec[int, string] = codec.Funcs[int, string]{}

	// The same value through every JSON codec encodes to the same bytes.
	v := event{ID: 42, Type: "x"}
	a, _, err := codec.JSONCodec{}.Encode(v)
	require.NoError(t, err)
	b, _, err := codec.TypedJSONCodec[event, event]{}.Encode(v)
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

// Codecs are shared by every connection of a transport; run them from many
// goroutines at once so -race checks that claim.
func TestJSONCodecsConcurrentUse(t *testing.T) {
	untyped := codec.JSONCodec{UseNumber: true}
	typed := codec.TypedJSONCodec[event, event]{DisallowUnknownFields: true}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				in := event{ID: int64(g*1000 + i), Type: "t"}
				b, _, err := typed.Encode(in)
				if !assert.NoError(t, err) {
					return
				}
				out, err := typed.Decode(b, codec.Text)
				if !assert.NoError(t, err) || !assert.Equal(t, in, out) {
					return
				}
				v, err := untyped.Decode(b, codec.Text)
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, json.Number(strconv.FormatInt(in.ID, 10)), v.(map[string]any)["id"])
			}
		})
	}
	wg.Wait()
}
