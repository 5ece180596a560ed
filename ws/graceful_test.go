package ws

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Server.Shutdown as an httpx.ListenAndServeGraceful hook: hijacked
// WebSocket connections, which http.Server.Shutdown cannot see, get a 1001
// close and the drain finishes well before its bound.
func TestGracefulHook(t *testing.T) {
	s := NewServer[any, any](HandlerFunc[any, any](func(*http.Request) (Session[any, any], error) {
		return newRecorder(), nil
	}), codec.JSONCodec{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *httpx.Serving, 1)
	done := make(chan error, 1)
	go func() {
		done <- httpx.ListenAndServeGraceful(&http.Server{Addr: "127.0.0.1:0", Handler: s},
			httpx.WithContext(ctx), httpx.WithSignals(), httpx.WithDrainTimeout(10*time.Second),
			httpx.WithShutdownHooks(s.Shutdown), httpx.WithReady(func(sv *httpx.Serving) { ready <- sv }))
	}()
	sv := <-ready
	c := rawDial(t, "ws"+strings.TrimPrefix(sv.URL(), "http")+"/", nil)
	require.Eventually(t, func() bool { return s.Count() == 1 }, 2*time.Second, 5*time.Millisecond)
	t0 := time.Now()
	cancel()
	assert.Equal(t, CloseGoingAway, readClose(t, c, 5*time.Second))
	require.NoError(t, <-done)
	assert.Less(t, time.Since(t0), 5*time.Second)
	assert.Zero(t, s.Count())
}
