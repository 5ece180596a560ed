package sse

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// forModes runs a test against the normal net/http path and the
// high-density (hijacked HTTP/1.1) path.
func forModes(t *testing.T, f func(t *testing.T, hd bool)) {
	t.Run("net-http", func(t *testing.T) { f(t, false) })
	t.Run("high-density", func(t *testing.T) { f(t, true) })
}
