package httpstream

import (
	"bufio"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/httpstream/internal/spdy"
)

// rawPeer is a server that speaks SPDY frames by hand, like a k8s peer: it
// never sends SETTINGS, replies to every SYN_STREAM, and records frames.
type rawPeer struct {
	frames chan spdy.Frame // copies, DATA payload discarded
	nc     net.Conn
}

func newRawPeer(t *testing.T, nc net.Conn) *rawPeer {
	p := &rawPeer{frames: make(chan spdy.Frame, 1024), nc: nc}
	go func() {
		defer close(p.frames)
		r := spdy.NewReader(bufio.NewReader(nc), spdy.Limits{})
		w := spdy.NewWriter(spdy.Limits{}, true)
		for {
			f, err := r.ReadFrame()
			if err != nil {
				return
			}
			if f.Type == spdy.TypeData && r.DiscardData(int(f.Length)) != nil {
				return
			}
			if f.Type == spdy.TypeSynStream {
				b, _ := w.AppendSynReply(nil, f.StreamID, 0, nil)
				if _, err := nc.Write(b); err != nil {
					return
				}
			}
			p.frames <- *f
		}
	}()
	return p
}

func TestWireFramesAgainstPeerWithoutSettings(t *testing.T) {
	nc, sc := tcpPair(t)
	peer := newRawPeer(t, sc)
	c, err := NewClientConnection(nc, nil)
	require.NoError(t, err)
	defer c.Close()

	first := <-peer.frames
	assert.Equal(t, spdy.TypeSettings, first.Type, "SETTINGS is the first frame")
	assert.Equal(t, spdy.TypeWindowUpdate, (<-peer.frames).Type, "then the session window")

	s, err := c.CreateStream(http.Header{"Streamtype": {"data"}})
	require.NoError(t, err)
	syn := <-peer.frames
	assert.Equal(t, spdy.TypeSynStream, syn.Type)
	assert.Equal(t, "data", syn.Headers.Get("streamtype"))

	// 300 KiB in one Write: frames of at most 32 KiB, no window waits
	// (the peer never sent SETTINGS), then FIN on Close.
	_, err = s.Write(make([]byte, 300<<10))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	total := 0
	for total < 300<<10 {
		f := <-peer.frames
		require.Equal(t, spdy.TypeData, f.Type)
		assert.LessOrEqual(t, int(f.Length), 32<<10)
		total += int(f.Length)
	}
	fin := <-peer.frames
	assert.Equal(t, spdy.TypeData, fin.Type)
	assert.True(t, fin.Fin())
	assert.Zero(t, fin.Length)
	assert.Equal(t, 300<<10, total)
}
