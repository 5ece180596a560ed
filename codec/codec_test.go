package codec_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/codec"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestMessageTypeValues(t *testing.T) {
	// gorilla/websocket: TextMessage = 1, BinaryMessage = 2. The ws module
	// converts with a cast, so these numbers are part of the API.
	assert.Equal(t, 1, int(codec.Text))
	assert.Equal(t, 2, int(codec.Binary))
}

func TestMessageTypeString(t *testing.T) {
	tests := []struct {
		t    codec.MessageType
		want string
	}{
		{codec.Text, "text"},
		{codec.Binary, "binary"},
		{0, "MessageType(0)"},
		{9, "MessageType(9)"},
		{-1, "MessageType(-1)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.t.String())
	}
}

func TestCheckType(t *testing.T) {
	require.NoError(t, codec.CheckType(codec.Text, codec.Text))
	require.NoError(t, codec.CheckType(codec.Binary, codec.Binary))

	err := codec.CheckType(codec.Binary, codec.Text)
	require.ErrorIs(t, err, codec.ErrMessageType)
	assert.Equal(t, "codec: unexpected message type: got binary, want text", err.Error())

	err = codec.CheckType(0, codec.Binary)
	require.ErrorIs(t, err, codec.ErrMessageType)
	assert.Contains(t, err.Error(), "got MessageType(0), want binary")
}

func TestFuncs(t *testing.T) {
	boom := errors.New("boom")
	f := codec.Funcs[string, int]{
		DecodeFunc: func(data []byte, mt codec.MessageType) (string, error) {
			if mt != codec.Text {
				return "", codec.CheckType(mt, codec.Text)
			}
			return string(data), nil
		},
		EncodeFunc: func(v int) ([]byte, codec.MessageType, error) {
			if v < 0 {
				return nil, 0, boom
			}
			return []byte{byte(v)}, codec.Binary, nil
		},
	}
	var c codec.Codec[string, int] = f

	got, err := c.Decode([]byte("hi"), codec.Text)
	require.NoError(t, err)
	assert.Equal(t, "hi", got)
	_, err = c.Decode([]byte("hi"), codec.Binary)
	require.ErrorIs(t, err, codec.ErrMessageType)

	b, mt, err := c.Encode(7)
	require.NoError(t, err)
	assert.Equal(t, []byte{7}, b)
	assert.Equal(t, codec.Binary, mt)
	_, _, err = c.Encode(-1)
	require.ErrorIs(t, err, boom)
}

func TestFuncsZeroValue(t *testing.T) {
	var f codec.Funcs[string, string]
	v, err := f.Decode([]byte("x"), codec.Text)
	require.ErrorIs(t, err, codec.ErrNotConfigured)
	assert.Empty(t, v)
	b, _, err := f.Encode("x")
	require.ErrorIs(t, err, codec.ErrNotConfigured)
	assert.Nil(t, b)
	assert.Contains(t, err.Error(), "codec: ")
}
