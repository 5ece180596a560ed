package httpstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blackhole reads and drops everything: a peer that is connected but dead.
func blackhole(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

func TestPingMissesCloseDeadPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, peer := net.Pipe()
		go blackhole(peer)
		c, err := NewClientConnection(nc, &Config{PingPeriod: time.Second, MaxMissedPings: 3})
		require.NoError(t, err)
		start := time.Now()
		<-c.CloseChan()
		assert.ErrorIs(t, c.Err(), ErrPingTimeout)
		// Third ping sent at 3 s misses at 4 s.
		assert.Equal(t, 4*time.Second, time.Since(start))
		c.Close()
		peer.Close()
	})
}

func TestPingsAnsweredKeepConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, sc := net.Pipe()
		client, server := connPair(t, nc, sc, &Config{PingPeriod: time.Second}, nil, echoHandler)
		time.Sleep(10 * time.Second)
		assert.NoError(t, client.Err())
		assert.NoError(t, server.Err())
		assert.GreaterOrEqual(t, client.lastPong.Load(), uint32(17), "ten pings answered")
	})
}

func TestIdleTimeoutNotResetByPings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, sc := net.Pipe()
		client, server := connPair(t, nc, sc, &Config{PingPeriod: 100 * time.Millisecond}, nil, echoHandler)
		server.SetIdleTimeout(2 * time.Second)
		start := time.Now()
		<-server.CloseChan()
		assert.ErrorIs(t, server.Err(), ErrIdleTimeout)
		assert.Equal(t, 2*time.Second, time.Since(start))
		<-client.CloseChan()
	})
}

func TestIdleTimeoutCountsStreamActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, sc := net.Pipe()
		client, server := connPair(t, nc, sc, nil, &Config{IdleTimeout: 2 * time.Second}, echoHandler)
		s, err := client.CreateStream(http.Header{})
		require.NoError(t, err)
		start := time.Now()
		for range 5 {
			time.Sleep(time.Second)
			_, err := s.Write([]byte("x"))
			require.NoError(t, err)
			_, err = io.ReadFull(s, make([]byte, 1))
			require.NoError(t, err)
		}
		assert.NoError(t, server.Err())
		<-server.CloseChan()
		assert.Equal(t, 7*time.Second, time.Since(start))
		_, err = s.Read(make([]byte, 1))
		assert.Error(t, err, "streams end with the connection")
	})
}

func TestGoAwayDrainIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, sc := net.Pipe()
		accepted := make(chan Stream, 1)
		client, server := connPair(t, nc, sc, &Config{GoAwayTimeout: 5 * time.Second}, nil, acceptInto(accepted))
		s, err := client.CreateStream(http.Header{})
		require.NoError(t, err)
		<-accepted
		start := time.Now()
		shutdownErr := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			shutdownErr <- server.Shutdown(ctx)
		}()
		synctest.Wait()
		_, err = client.CreateStream(http.Header{})
		assert.ErrorIs(t, err, ErrGoAway)
		// The open stream keeps working during the drain.
		_, err = s.Write([]byte("x"))
		require.NoError(t, err)
		<-client.CloseChan()
		assert.Equal(t, 5*time.Second, time.Since(start), "client gave up at GoAwayTimeout")
		require.NoError(t, <-shutdownErr)
	})
}

func TestShutdownWaitsForStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, sc := net.Pipe()
		client, server := connPair(t, nc, sc, nil, nil, echoHandler)
		s, err := client.CreateStream(http.Header{})
		require.NoError(t, err)
		go func() {
			time.Sleep(3 * time.Second)
			_ = s.Close()
			_, _ = io.ReadAll(s)
		}()
		start := time.Now()
		require.NoError(t, server.Shutdown(context.Background()))
		assert.Less(t, time.Since(start), 4*time.Second)
		assert.GreaterOrEqual(t, time.Since(start), 3*time.Second)
		<-client.CloseChan()
	})
}

func TestWriteTimeoutIsFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, peer := net.Pipe()
		defer peer.Close()
		// The peer reads our SETTINGS and WINDOW_UPDATE (36 bytes), then
		// stops reading without closing.
		go func() { _, _ = io.ReadFull(peer, make([]byte, 36)) }()
		c, err := NewClientConnection(nc, &Config{WriteTimeout: time.Second})
		require.NoError(t, err)
		start := time.Now()
		_, err = c.CreateStream(http.Header{})
		require.Error(t, err)
		assert.Equal(t, time.Second, time.Since(start))
		<-c.CloseChan()
		assert.ErrorIs(t, c.Err(), os.ErrDeadlineExceeded, "a timed-out write closes the connection")
		c.Close()
	})
}

func TestPingMeasuresRoundTrip(t *testing.T) {
	nc, sc := tcpPair(t)
	client, server := connPair(t, nc, sc, nil, nil, echoHandler)
	for _, c := range []*Conn{client, server, client} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rtt, err := c.Ping(ctx)
		cancel()
		require.NoError(t, err)
		assert.Positive(t, rtt)
	}
}

func TestCloseDoesNotWaitForAPeerThatStoppedReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nc, peer := net.Pipe()
		defer peer.Close()
		go func() { _, _ = io.ReadFull(peer, make([]byte, 36)) }() // SETTINGS, then silence
		c, err := NewClientConnection(nc, &Config{WriteTimeout: time.Minute})
		require.NoError(t, err)
		synctest.Wait()
		start := time.Now()
		require.NoError(t, c.Close())
		assert.LessOrEqual(t, time.Since(start), time.Second)
	})
}
