package ws

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pipeServer returns a Server serving rec, reachable in memory through d.
func pipeServer(t *testing.T, opts *Options, rec *recorder) (*Server[any, any], *websocket.Dialer) {
	s := NewServer[any, any](HandlerFunc[any, any](oneSession(rec)), codec.JSONCodec{}, opts)
	return s, pipeDialer(s)
}

// A client that only listens (its library answers pings with pongs) is never
// timed out: liveness runs on control frames, not application messages.
func TestListeningClientStaysAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		_, d := pipeServer(t, &Options{PingPeriod: 10 * time.Second, PongTimeout: 30 * time.Second}, rec)
		c, _, err := d.Dial("ws://pipe/", nil)
		require.NoError(t, err)
		var pings atomic.Int32
		c.SetPingHandler(func(data string) error {
			pings.Add(1)
			return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		readErr := make(chan error, 1)
		go func() {
			_, _, err := c.ReadMessage() // processes pings while waiting
			readErr <- err
		}()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		assert.GreaterOrEqual(t, pings.Load(), int32(29))
		_, closes, timeouts := rec.counts()
		assert.Zero(t, closes)
		assert.Zero(t, timeouts)

		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(CloseNormal, ""), time.Now().Add(time.Second))
		<-rec.closed
		assert.Equal(t, CloseNormal, CloseStatus(rec.closeErr))
		assert.Error(t, <-readErr)
		_ = c.Close()
	})
}

// A peer that goes silent (no pongs) is dropped after PongTimeout: OnTimeout,
// then OnClose with ErrPongTimeout.
func TestPongTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		_, d := pipeServer(t, &Options{PingPeriod: 10 * time.Second, PongTimeout: 30 * time.Second, WriteTimeout: time.Second}, rec)
		c, _, err := d.Dial("ws://pipe/", nil)
		require.NoError(t, err)
		defer c.Close()
		t0 := time.Now()
		<-rec.closed // the client never reads, so never pongs
		elapsed := time.Since(t0)
		assert.GreaterOrEqual(t, elapsed, 30*time.Second)
		assert.Less(t, elapsed, 32*time.Second)
		_, closes, timeouts := rec.counts()
		assert.Equal(t, 1, timeouts)
		assert.Equal(t, 1, closes)
		assert.ErrorIs(t, rec.closeErr, ErrPongTimeout)
	})
}

// Each message also counts as a sign of life.
func TestMessagesExtendDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		_, d := pipeServer(t, &Options{PingPeriod: -1, PongTimeout: 30 * time.Second}, rec)
		c, _, err := d.Dial("ws://pipe/", nil)
		require.NoError(t, err)
		for range 10 {
			time.Sleep(20 * time.Second)
			require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte("1")))
		}
		synctest.Wait()
		_, closes, _ := rec.counts()
		assert.Zero(t, closes)
		_ = c.Close() // TCP drop
		<-rec.closed
		assert.Equal(t, CloseAbnormal, CloseStatus(rec.closeErr))
		assert.Len(t, rec.msgs, 10)
	})
}

// Our close waits a bounded time for the peer's close frame.
func TestCloseWaitsBoundedForReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		started := make(chan *jsonConn, 1)
		rec.onStart = func(c *jsonConn) error { started <- c; return nil }
		_, d := pipeServer(t, &Options{CloseTimeout: 3 * time.Second, WriteTimeout: 5 * time.Second, PingPeriod: -1}, rec)
		c, _, err := d.Dial("ws://pipe/", nil)
		require.NoError(t, err)
		defer c.Close()
		sc := <-started
		got := make(chan error, 1)
		go func() {
			// Read the close frame but do not answer it.
			c.SetCloseHandler(func(int, string) error { return nil })
			_, _, err := c.ReadMessage()
			got <- err
		}()
		t0 := time.Now()
		require.NoError(t, sc.Close(4000, "bye"))
		<-rec.closed
		assert.Equal(t, 3*time.Second, time.Since(t0))
		assert.Equal(t, 4000, CloseStatus(rec.closeErr))
		var ce *websocket.CloseError
		require.ErrorAs(t, <-got, &ce)
		assert.Equal(t, 4000, ce.Code)
		assert.Equal(t, "bye", ce.Text)
	})
}

// A peer that reads nothing blocks the writer; the write deadline drops it.
func TestWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		started := make(chan *jsonConn, 1)
		rec.onStart = func(c *jsonConn) error { started <- c; return nil }
		_, d := pipeServer(t, &Options{WriteTimeout: 5 * time.Second, PingPeriod: -1, PongTimeout: time.Hour}, rec)
		c, _, err := d.Dial("ws://pipe/", nil)
		require.NoError(t, err)
		defer c.Close()
		sc := <-started
		t0 := time.Now()
		require.NoError(t, sc.Send("never read")) // net.Pipe has no buffer
		<-rec.closed
		assert.Equal(t, 5*time.Second, time.Since(t0))
		assert.Equal(t, CloseAbnormal, CloseStatus(rec.closeErr))
	})
}

func TestAppPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		opts := &Options{PingPeriod: 10 * time.Second, AppPing: func(seq uint64) []byte {
			return []byte(`{"type":"ping","pingId":` + string(rune('0'+seq)) + `}`)
		}}
		_, d := pipeServer(t, opts, rec)
		c, _, err := d.Dial("ws://pipe/", nil)
		require.NoError(t, err)
		_, data, err := c.ReadMessage()
		require.NoError(t, err)
		assert.JSONEq(t, `{"type":"ping","pingId":1}`, string(data))
		_, data, err = c.ReadMessage()
		require.NoError(t, err)
		assert.JSONEq(t, `{"type":"ping","pingId":2}`, string(data))
		_ = c.Close()
		<-rec.closed
	})
}
