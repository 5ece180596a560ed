package ws

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// Messages around the sizes where reading changes shape (the 512 B read
// buffer, the 8 KiB readiness read, several reads) come back byte for byte,
// one at a time and pipelined in one burst.
func TestEchoAcrossReadBoundaries(t *testing.T) {
	sizes := []int{2, 500, 511, 512, 513, 4104, 8184, 8185, 8192, 8193, 9000, 20000, 70000}
	_, hs := startServer(t, nil, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{Message: func(c *jsonConn, msg any) error { return c.Send(msg) }}, nil
	})
	c := rawDial(t, wsURL(hs), nil)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	// A JSON string of n bytes: quotes around a pattern that shows a
	// misplaced or lost chunk.
	payload := func(n int) []byte {
		var b strings.Builder
		b.WriteByte('"')
		for i := 0; b.Len() < n-1; i++ {
			b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[i%36])
		}
		b.WriteByte('"')
		return []byte(b.String())
	}
	check := func(want []byte) {
		t.Helper()
		typ, got, err := c.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, websocket.TextMessage, typ)
		require.Equal(t, len(want), len(got))
		require.Equal(t, string(want), string(got))
	}
	for _, n := range sizes {
		p := payload(n)
		require.NoError(t, c.WriteMessage(websocket.TextMessage, p))
		check(p)
	}
	for _, n := range sizes {
		require.NoError(t, c.WriteMessage(websocket.TextMessage, payload(n)))
	}
	for _, n := range sizes {
		check(payload(n))
	}
}
