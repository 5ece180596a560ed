package protocodec_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/codec/protocodec"
)

// FuzzBinaryProtoCodecDecode: Decode never panics on any bytes, and a message
// it accepts encodes and decodes back to an equal message.
func FuzzBinaryProtoCodecDecode(f *testing.F) {
	seed, err := structpb.NewStruct(map[string]any{"a": 1.5, "b": []any{"x", true, nil}, "c": map[string]any{"d": "e"}})
	require.NoError(f, err)
	b, err := proto.Marshal(seed)
	require.NoError(f, err)
	f.Add(b, false)
	f.Add(b, true)
	f.Add([]byte{}, false)
	f.Add([]byte{0xff}, false)
	f.Add([]byte{0x0a, 0x05, 'a'}, true)
	f.Add([]byte{0x98, 0x06, 0x07}, false) // unknown field 99

	f.Fuzz(func(t *testing.T, data []byte, discard bool) {
		c := protocodec.NewBinaryProtoCodec[structpb.Struct, structpb.Struct]()
		c.UnmarshalOptions.DiscardUnknown = discard
		c.MarshalOptions.Deterministic = true

		_, err := c.Decode(data, codec.Text)
		require.ErrorIs(t, err, codec.ErrMessageType)

		m, err := c.Decode(data, codec.Binary)
		if err != nil {
			assert.Nil(t, m)
			return
		}
		enc, mt, err := c.Encode(m)
		require.NoError(t, err, "a decoded message must encode")
		require.Equal(t, codec.Binary, mt)
		again, err := c.Decode(enc, mt)
		require.NoError(t, err)
		require.True(t, proto.Equal(m, again), "round trip changed %v into %v", m, again)
		if discard {
			assert.Empty(t, again.ProtoReflect().GetUnknown())
		}
	})
}

// FuzzProtoJSONCodecDecode: Decode never panics on any input, and a message
// it accepts encodes and decodes back to an equal message.
func FuzzProtoJSONCodecDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[true,null,"x"],"c":{"d":-1.5e-7}}`, `"s"`, `null`, `[]`, `{}`, `1e400`,
		`{"a":1,"a":2}`, `{"a":`, "\"\xff\"", `"\ud800"`, `-0`, `[[[[[[[[[[]]]]]]]]]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c protocodec.ProtoJSONCodec[structpb.Value, structpb.Value, *structpb.Value, *structpb.Value]
		_, err := c.Decode(data, codec.Binary)
		require.ErrorIs(t, err, codec.ErrMessageType)

		m, err := c.Decode(data, codec.Text)
		if err != nil {
			assert.Nil(t, m)
			return
		}
		enc, mt, err := c.Encode(m)
		require.NoError(t, err, "a decoded message must encode")
		require.Equal(t, codec.Text, mt)
		again, err := c.Decode(enc, mt)
		require.NoError(t, err, "encoded %q", enc)
		require.True(t, proto.Equal(m, again), "round trip changed %v into %v", m, again)
	})
}
