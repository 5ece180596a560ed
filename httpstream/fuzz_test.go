package httpstream

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/httpstream/internal/spdy"
)

// FuzzConnection feeds arbitrary frames to a server connection whose
// handler echoes every stream: the connection must neither panic nor hang,
// and must close once its peer goes away.
func FuzzConnection(f *testing.F) {
	w := spdy.NewWriter(spdy.Limits{}, false)
	syn, _ := w.AppendSynStream(nil, 1, 0, 0, 0, http.Header{"Streamtype": {"data"}})
	syn3, _ := w.AppendSynStream(nil, 3, 0, 0, spdy.FlagFin, http.Header{"A": {"b"}})
	var seed []byte
	seed = spdy.AppendSettings(seed, 0, spdy.Setting{ID: spdy.SettingInitialWindowSize, Value: 1024})
	seed = append(seed, syn...)
	seed = append(spdy.AppendDataHeader(seed, 1, 0, 4), "abcd"...)
	seed = spdy.AppendWindowUpdate(seed, 1, 100)
	seed = spdy.AppendPing(seed, 1)
	seed = append(seed, syn3...)
	seed = spdy.AppendRstStream(seed, 1, spdy.StatusCancel)
	seed = spdy.AppendGoAway(seed, 0, 0)
	f.Add(seed)
	f.Add(append(syn, spdy.AppendDataHeader(nil, 1, spdy.FlagFin, 0)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, peer := net.Pipe()
		drained := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, peer)
			close(drained)
		}()
		c, err := NewServerConnection(nc, echoHandler, &Config{StreamWindow: 64 << 10, WriteTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = peer.Write(data)
		_ = peer.Close()
		select {
		case <-c.CloseChan():
		case <-time.After(20 * time.Second):
			t.Fatal("connection did not close after its peer went away")
		}
		_ = c.Close()
		<-drained
	})
}
