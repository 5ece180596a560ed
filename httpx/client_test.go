package httpx

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientPresets(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		make                  func() *http.Client
		timeout               time.Duration
		idle, idlePerHost     int
		responseHeaderTimeout time.Duration
	}{
		{"low", NewLowRateClient, 30 * time.Second, 10, 2, 0},
		{"medium", NewMediumRateClient, 15 * time.Second, 64, 16, 0},
		{"high", NewHighRateClient, 10 * time.Second, 512, 128, 10 * time.Second},
		{"streaming", NewStreamingClient, 0, 16, 4, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.make()
			assert.Equal(t, tc.timeout, c.Timeout)
			tr, ok := c.Transport.(*http.Transport)
			require.True(t, ok)
			assert.Equal(t, tc.idle, tr.MaxIdleConns)
			assert.Equal(t, tc.idlePerHost, tr.MaxIdleConnsPerHost)
			assert.Equal(t, tc.responseHeaderTimeout, tr.ResponseHeaderTimeout)
			assert.Equal(t, 10*time.Second, tr.TLSHandshakeTimeout)
			assert.True(t, tr.ForceAttemptHTTP2)
			assert.Nil(t, tr.TLSClientConfig, "verification stays on")
			assert.NotNil(t, tr.Proxy)

			other := tc.make()
			assert.NotSame(t, c, other, "a new client per call")
			assert.NotSame(t, tr, other.Transport, "and a new transport")

			// The client works end to end.
			s, err := ListenAndServeAsync(&http.Server{Addr: "127.0.0.1:0", Handler: helloHandler()})
			require.NoError(t, err)
			defer s.Close()
			defer tr.CloseIdleConnections()
			assert.Equal(t, "hello", getBody(t, c, s.URL()))
		})
	}
}
