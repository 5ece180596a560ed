package httpx

import (
	"encoding/base32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewSessionID(t *testing.T) {
	seen := make(map[string]bool)
	for range 10000 {
		id := NewSessionID()
		require.Len(t, id, 26)
		for _, c := range []byte(id) {
			assert.True(t, c >= 0x21 && c <= 0x7e, "visible ASCII only: %q", id)
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(id)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, len(raw)*8, 128, "at least 128 bits")
		require.False(t, seen[id], "duplicate id %q", id)
		seen[id] = true
	}
}
