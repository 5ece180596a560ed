package protocodec_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/apipb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/codec/protocodec"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Both codecs implement codec.Codec for pointer message types, as zero
// values and as built by their constructors.
var (
	_ codec.Codec[*structpb.Struct, *structpb.Struct]             = protocodec.BinaryProtoCodec[structpb.Struct, structpb.Struct, *structpb.Struct, *structpb.Struct]{}
	_ codec.Codec[*apipb.Method, *timestamppb.Timestamp]          = protocodec.NewBinaryProtoCodec[apipb.Method, timestamppb.Timestamp]()
	_ codec.Codec[*structpb.Value, *structpb.Value]               = protocodec.ProtoJSONCodec[structpb.Value, structpb.Value, *structpb.Value, *structpb.Value]{}
	_ codec.Codec[*wrapperspb.StringValue, *apipb.Method]         = protocodec.NewProtoJSONCodec[wrapperspb.StringValue, apipb.Method]()
	_ codec.Codec[*wrapperspb.StringValue, *apipb.Method]         = &protocodec.ProtoJSONCodec[wrapperspb.StringValue, apipb.Method, *wrapperspb.StringValue, *apipb.Method]{}
	_ codec.Codec[*wrapperspb.BytesValue, *wrapperspb.BytesValue] = &protocodec.BinaryProtoCodec[wrapperspb.BytesValue, wrapperspb.BytesValue, *wrapperspb.BytesValue, *wrapperspb.BytesValue]{}
)

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	require.NoError(t, err)
	return s
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

// nestedList returns a structpb.Value of lists nested depth deep.
func nestedList(depth int) *structpb.Value {
	v := structpb.NewNullValue()
	for range depth {
		v = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{v}})
	}
	return v
}

func TestBinaryProtoCodecDecode(t *testing.T) {
	valid := mustStruct(t, map[string]any{"a": 1.5, "b": []any{"x", true, nil}, "c": map[string]any{"d": "e"}})
	validBytes := marshal(t, valid)

	method := &apipb.Method{Name: "Get", RequestTypeUrl: "type.googleapis.com/x.Req"}
	withUnknown := protowire.AppendVarint(protowire.AppendTag(marshal(t, method), 99, protowire.VarintType), 7)
	badUTF8 := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "\xff\xfe")
	deep := marshal(t, nestedList(20))

	type methodCodec = protocodec.BinaryProtoCodec[apipb.Method, apipb.Method, *apipb.Method, *apipb.Method]
	tests := []struct {
		name    string
		codec   methodCodec
		data    []byte
		mt      codec.MessageType
		want    *apipb.Method
		errIs   error
		errText string
	}{
		{name: "valid", data: marshal(t, method), mt: codec.Binary, want: method},
		{name: "empty is an empty message", data: []byte{}, mt: codec.Binary, want: &apipb.Method{}},
		{name: "nil is an empty message", data: nil, mt: codec.Binary, want: &apipb.Method{}},
		{name: "text frame", data: marshal(t, method), mt: codec.Text, errIs: codec.ErrMessageType},
		{name: "zero frame type", data: marshal(t, method), mt: 0, errIs: codec.ErrMessageType},
		{name: "truncated varint", data: []byte{0xff}, mt: codec.Binary, errText: "protocodec: decode protobuf: "},
		{name: "truncated length", data: []byte{0x0a, 0x05, 'a'}, mt: codec.Binary, errText: "protocodec: decode protobuf: "},
		{name: "field number zero", data: []byte{0x00, 0x01}, mt: codec.Binary, errText: "protocodec: decode protobuf: "},
		{name: "invalid UTF-8 string", data: badUTF8, mt: codec.Binary, errText: "UTF-8"},
		{name: "JSON in a binary frame", data: []byte(`{"name":"Get"}`), mt: codec.Binary, errText: "protocodec: decode protobuf: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.Decode(tt.data, tt.mt)
			switch {
			case tt.errIs != nil:
				require.ErrorIs(t, err, tt.errIs)
				assert.Nil(t, got)
			case tt.errText != "":
				require.ErrorContains(t, err, tt.errText)
				assert.Nil(t, got)
			default:
				require.NoError(t, err)
				assert.True(t, proto.Equal(tt.want, got), "got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("struct", func(t *testing.T) {
		got, err := protocodec.NewBinaryProtoCodec[structpb.Struct, structpb.Struct]().Decode(validBytes, codec.Binary)
		require.NoError(t, err)
		assert.True(t, proto.Equal(valid, got))
	})
	t.Run("unknown fields kept by default", func(t *testing.T) {
		c := protocodec.NewBinaryProtoCodec[apipb.Method, apipb.Method]()
		got, err := c.Decode(withUnknown, codec.Binary)
		require.NoError(t, err)
		assert.Equal(t, "Get", got.GetName())
		assert.NotEmpty(t, got.ProtoReflect().GetUnknown())
		b, _, err := c.Encode(got)
		require.NoError(t, err)
		assert.Equal(t, withUnknown, b, "unknown fields re-encode")
	})
	t.Run("unknown fields discarded", func(t *testing.T) {
		c := protocodec.NewBinaryProtoCodec[apipb.Method, apipb.Method]()
		c.UnmarshalOptions.DiscardUnknown = true
		got, err := c.Decode(withUnknown, codec.Binary)
		require.NoError(t, err)
		assert.Equal(t, "Get", got.GetName())
		assert.Empty(t, got.ProtoReflect().GetUnknown())
	})
	t.Run("recursion limit", func(t *testing.T) {
		c := protocodec.NewBinaryProtoCodec[structpb.Value, structpb.Value]()
		_, err := c.Decode(deep, codec.Binary)
		require.NoError(t, err, "the default limit is far above 20")
		c.UnmarshalOptions.RecursionLimit = 5
		_, err = c.Decode(deep, codec.Binary)
		require.ErrorContains(t, err, "protocodec: decode protobuf: ")
	})
}

func TestBinaryProtoCodecEncode(t *testing.T) {
	c := protocodec.NewBinaryProtoCodec[timestamppb.Timestamp, timestamppb.Timestamp]()
	ts := timestamppb.New(time.Date(2026, 11, 21, 6, 0, 0, 5, time.UTC))
	b, mt, err := c.Encode(ts)
	require.NoError(t, err)
	assert.Equal(t, codec.Binary, mt)
	assert.Equal(t, marshal(t, ts), b, "same bytes as proto.Marshal")

	got, err := c.Decode(b, mt)
	require.NoError(t, err)
	assert.True(t, proto.Equal(ts, got))

	b, mt, err = c.Encode(nil)
	require.NoError(t, err, "a nil message encodes as an empty one")
	assert.Equal(t, codec.Binary, mt)
	assert.Empty(t, b)

	b, _, err = c.Encode(&timestamppb.Timestamp{})
	require.NoError(t, err)
	assert.Empty(t, b)
}

func TestBinaryProtoCodecDeterministic(t *testing.T) {
	keys := map[string]any{}
	for i := range 50 {
		keys[strings.Repeat("k", i+1)] = float64(i)
	}
	s := mustStruct(t, keys)
	c := protocodec.NewBinaryProtoCodec[structpb.Struct, structpb.Struct]()
	c.MarshalOptions.Deterministic = true
	first, _, err := c.Encode(s)
	require.NoError(t, err)
	for range 20 {
		again, _, err := c.Encode(s)
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

func TestProtoJSONCodecDecode(t *testing.T) {
	type valueCodec = protocodec.ProtoJSONCodec[structpb.Value, structpb.Value, *structpb.Value, *structpb.Value]
	tests := []struct {
		name    string
		data    string
		mt      codec.MessageType
		want    *structpb.Value
		errIs   error
		errText string
	}{
		{name: "object", data: `{"a":1,"b":[true,null,"x"]}`, mt: codec.Text,
			want: structpb.NewStructValue(mustStruct(t, map[string]any{"a": 1.0, "b": []any{true, nil, "x"}}))},
		{name: "number", data: ` 2.5 `, mt: codec.Text, want: structpb.NewNumberValue(2.5)},
		{name: "null", data: `null`, mt: codec.Text, want: structpb.NewNullValue()},
		{name: "binary frame", data: `1`, mt: codec.Binary, errIs: codec.ErrMessageType},
		{name: "unknown frame type", data: `1`, mt: 5, errIs: codec.ErrMessageType},
		{name: "empty", data: ``, mt: codec.Text, errText: "protocodec: decode protojson: "},
		{name: "invalid", data: `{a:1}`, mt: codec.Text, errText: "protocodec: decode protojson: "},
		{name: "truncated", data: `{"a":`, mt: codec.Text, errText: "protocodec: decode protojson: "},
		{name: "trailing data", data: `{"a":1} 2`, mt: codec.Text, errText: "protocodec: decode protojson: "},
		{name: "duplicate key", data: `{"a":1,"a":2}`, mt: codec.Text, errText: "duplicate"},
		{name: "number out of range", data: `1e400`, mt: codec.Text, errText: "protocodec: decode protojson: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c valueCodec // the zero value is ready to use
			got, err := c.Decode([]byte(tt.data), tt.mt)
			switch {
			case tt.errIs != nil:
				require.ErrorIs(t, err, tt.errIs)
				assert.Nil(t, got)
			case tt.errText != "":
				require.ErrorContains(t, err, tt.errText)
				assert.Nil(t, got)
			default:
				require.NoError(t, err)
				assert.True(t, proto.Equal(tt.want, got), "got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProtoJSONCodecWellKnownTypes(t *testing.T) {
	ts := protocodec.NewProtoJSONCodec[timestamppb.Timestamp, timestamppb.Timestamp]()
	got, err := ts.Decode([]byte(`"2026-11-21T06:00:00.5Z"`), codec.Text)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 21, 6, 0, 0, 5e8, time.UTC), got.AsTime())
	_, err = ts.Decode([]byte(`"yesterday"`), codec.Text)
	require.ErrorContains(t, err, "protocodec: decode protojson: ")

	b, mt, err := ts.Encode(got)
	require.NoError(t, err)
	assert.Equal(t, codec.Text, mt)
	assert.Equal(t, `"2026-11-21T06:00:00.500Z"`, string(b))

	str := protocodec.NewProtoJSONCodec[wrapperspb.StringValue, wrapperspb.StringValue]()
	s, err := str.Decode([]byte(`"h\u00e9llo"`), codec.Text)
	require.NoError(t, err)
	assert.Equal(t, "héllo", s.GetValue())
	_, err = str.Decode([]byte(`5`), codec.Text)
	require.ErrorContains(t, err, "protocodec: decode protojson: ")
}

func TestProtoJSONCodecOptions(t *testing.T) {
	const withUnknown = `{"name":"Get","requestTypeUrl":"u","bogus":1}`

	c := protocodec.NewProtoJSONCodec[apipb.Method, apipb.Method]()
	_, err := c.Decode([]byte(withUnknown), codec.Text)
	require.ErrorContains(t, err, "bogus", "unknown keys are an error by default")

	c.UnmarshalOptions.DiscardUnknown = true
	m, err := c.Decode([]byte(withUnknown), codec.Text)
	require.NoError(t, err)
	assert.Equal(t, "Get", m.GetName())
	assert.Equal(t, "u", m.GetRequestTypeUrl())

	b, _, err := c.Encode(m)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"Get","requestTypeUrl":"u"}`, string(b))

	c.MarshalOptions.UseProtoNames = true
	b, _, err = c.Encode(m)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"Get","request_type_url":"u"}`, string(b))

	c.MarshalOptions = protojson.MarshalOptions{EmitUnpopulated: true}
	b, _, err = c.Encode(&apipb.Method{})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"requestStreaming"`)

	deep, err := protojson.Marshal(nestedList(20))
	require.NoError(t, err)
	v := protocodec.NewProtoJSONCodec[structpb.Value, structpb.Value]()
	_, err = v.Decode(deep, codec.Text)
	require.NoError(t, err)
	v.UnmarshalOptions.RecursionLimit = 5
	_, err = v.Decode(deep, codec.Text)
	require.ErrorContains(t, err, "protocodec: decode protojson: ")
}

func TestProtoJSONCodecEncode(t *testing.T) {
	c := protocodec.NewProtoJSONCodec[structpb.Value, structpb.Value]()

	st := protocodec.NewProtoJSONCodec[structpb.Struct, structpb.Struct]()
	b, mt, err := st.Encode(nil)
	require.NoError(t, err, "a nil message encodes as an empty one")
	assert.Equal(t, codec.Text, mt)
	assert.JSONEq(t, `{}`, string(b))

	// A Value with no kind set cannot be written as JSON, nil or not.
	_, _, err = c.Encode(&structpb.Value{})
	require.ErrorContains(t, err, "protocodec: encode protojson: ")
	_, _, err = c.Encode(nil)
	require.ErrorContains(t, err, "none of the oneof fields is set")

	s := structpb.NewStringValue("x")
	b, _, err = c.Encode(s)
	require.NoError(t, err)
	got, err := c.Decode(b, codec.Text)
	require.NoError(t, err)
	assert.True(t, proto.Equal(s, got))
}

func TestBinaryProtoCodecEncodeError(t *testing.T) {
	// Invalid UTF-8 in a proto3 string field is a marshal error.
	c := protocodec.NewBinaryProtoCodec[apipb.Method, apipb.Method]()
	_, _, err := c.Encode(&apipb.Method{Name: "\xff"})
	require.ErrorContains(t, err, "protocodec: encode protobuf: ")
}

func TestDecodeDoesNotRetainData(t *testing.T) {
	bin := protocodec.NewBinaryProtoCodec[wrapperspb.BytesValue, wrapperspb.BytesValue]()
	data := marshal(t, wrapperspb.Bytes([]byte("payload")))
	data = protowire.AppendVarint(protowire.AppendTag(data, 77, protowire.VarintType), 1) // an unknown field too
	m, err := bin.Decode(data, codec.Binary)
	require.NoError(t, err)
	unknown := append([]byte(nil), m.ProtoReflect().GetUnknown()...)
	for i := range data {
		data[i] = 0
	}
	assert.Equal(t, []byte("payload"), m.GetValue())
	assert.Equal(t, unknown, []byte(m.ProtoReflect().GetUnknown()))

	js := protocodec.NewProtoJSONCodec[wrapperspb.BytesValue, wrapperspb.BytesValue]()
	data = []byte(`"cGF5bG9hZA=="`)
	m, err = js.Decode(data, codec.Text)
	require.NoError(t, err)
	for i := range data {
		data[i] = 'A'
	}
	assert.Equal(t, []byte("payload"), m.GetValue())
}

func TestConcurrentUse(t *testing.T) {
	bin := protocodec.NewBinaryProtoCodec[structpb.Struct, structpb.Struct]()
	js := protocodec.NewProtoJSONCodec[structpb.Struct, structpb.Struct]()
	js.UnmarshalOptions.DiscardUnknown = true
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				in, err := structpb.NewStruct(map[string]any{"g": float64(g), "i": float64(i)})
				if !assert.NoError(t, err) {
					return
				}
				b, mt, err := bin.Encode(in)
				if !assert.NoError(t, err) {
					return
				}
				out, err := bin.Decode(b, mt)
				if !assert.NoError(t, err) || !assert.True(t, proto.Equal(in, out)) {
					return
				}
				b, mt, err = js.Encode(in)
				if !assert.NoError(t, err) {
					return
				}
				out, err = js.Decode(b, mt)
				if !assert.NoError(t, err) || !assert.True(t, proto.Equal(in, out)) {
					return
				}
			}
		})
	}
	wg.Wait()
}
