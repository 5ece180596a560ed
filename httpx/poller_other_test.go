//go:build !unix

package httpx

import (
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Without RawConn readiness the poller refuses to arm, so that callers keep
// their goroutine per connection.
func TestPollerUnsupported(t *testing.T) {
	p, err := NewPoller(PollerOptions{})
	require.NoError(t, err)
	defer p.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = p.Watch(c, func() {})
	assert.True(t, errors.Is(err, errors.ErrUnsupported), "%v", err)
}
