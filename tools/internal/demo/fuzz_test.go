package demo

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/codec"
)

// FuzzChatDecode: whatever a client sends, the chat codec returns a message
// or an error, and plain text comes through as it was.
func FuzzChatDecode(f *testing.F) {
	for _, s := range []string{`{"text":"hi"}`, "hello", `{"text":`, "{", "", `{"text":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := chatCodec.Decode(b, codec.Text)
		if len(b) == 0 || b[0] != '{' {
			require.NoError(t, err)
			require.Equal(t, string(b), in.Text)
		}
		_, err = chatCodec.Decode(b, codec.Binary)
		require.Error(t, err)
	})
}

// FuzzClean: names and rooms stay short, on one line, and never empty.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"alice", "", " \n\t", strings.Repeat("é", 40), "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := clean(s, "guest", maxNameLen)
		require.NotEmpty(t, got)
		require.LessOrEqual(t, len(got), maxNameLen)
		require.False(t, strings.ContainsAny(got, "\r\n\x00"))
		if utf8.ValidString(s) {
			require.True(t, utf8.ValidString(got))
		}
	})
}
