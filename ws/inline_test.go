package ws

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Replies from OnMessage are written by the read goroutine, while other
// goroutines send too: every message arrives once, each sender's in order,
// and a burst the client pipelines (bytes waitIdle hands to gorilla, frames
// split across reads) is read whole.
func TestInlineRepliesWithConcurrentSenders(t *testing.T) {
	const pipelined, senders, each = 300, 4, 100
	ready := make(chan *jsonConn, 1)
	_, hs := startServer(t, &Options{SendQueue: 2 * (pipelined + senders*each)}, func(*http.Request) (Session[any, any], error) {
		return &Hooks[any, any]{
			Start: func(c *jsonConn) error { ready <- c; return nil },
			Message: func(c *jsonConn, msg any) error {
				// Two replies: the first may go inline, the second then
				// queues behind it and is handed to a writer goroutine.
				if err := c.Send([]any{-1, msg}); err != nil {
					return err
				}
				return c.Send([]any{-2, msg})
			},
		}, nil
	})
	c := rawDial(t, wsURL(hs), nil)
	sc := <-ready
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				assert.NoError(t, sc.Send([]int{s, i}))
			}
		})
	}
	wg.Go(func() {
		for i := range pipelined {
			// Sizes vary so frames straddle the 512 B read buffer and,
			// every tenth, the 8 KiB readiness read.
			n := i * 7 % 900
			if i%10 == 0 {
				n += i * 97 % 20000
			}
			pad := make([]byte, n)
			for j := range pad {
				pad[j] = 'x'
			}
			assert.NoError(t, c.WriteJSON(map[string]any{"i": i, "pad": string(pad)}))
		}
	})
	last := map[int]int{-1: -1, -2: -1}
	for s := range senders {
		last[s] = -1
	}
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	for range 2*pipelined + senders*each {
		var m []any
		require.NoError(t, c.ReadJSON(&m))
		require.Len(t, m, 2)
		k := int(m[0].(float64))
		var i int
		if k < 0 {
			i = int(m[1].(map[string]any)["i"].(float64))
		} else {
			i = int(m[1].(float64))
		}
		assert.Equal(t, last[k]+1, i, "order of stream %d", k)
		last[k] = i
	}
	wg.Wait()
	assert.Equal(t, pipelined-1, last[-1])
	assert.Equal(t, pipelined-1, last[-2])
	require.NoError(t, c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "")))
}
