package httpstream

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpPair returns connected loopback TCP connections.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server = <-ch
	require.NotNil(t, server)
	return client, server
}

// connPair starts a client and a server Conn over nc/sc; the server hands
// accepted streams to the returned channel.
func connPair(t testing.TB, nc, sc net.Conn, ccfg, scfg *Config, handler NewStreamHandler) (*Conn, *Conn) {
	t.Helper()
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := NewServerConnection(sc, handler, scfg)
		ch <- res{c, err}
	}()
	client, err := NewClientConnection(nc, ccfg)
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	t.Cleanup(func() {
		client.Close()
		r.c.Close()
	})
	return client, r.c
}

// acceptInto returns a handler that passes each accepted stream on.
func acceptInto(ch chan<- Stream) NewStreamHandler {
	return func(s Stream, replySent <-chan struct{}) error {
		ch <- s
		return nil
	}
}

func echoHandler(s Stream, replySent <-chan struct{}) error {
	go func() {
		<-replySent
		_, _ = io.Copy(s, s)
		_ = s.Close()
	}()
	return nil
}

func TestEchoAndHalfClose(t *testing.T) {
	nc, sc := tcpPair(t)
	client, server := connPair(t, nc, sc, nil, nil, echoHandler)
	s, err := client.CreateStream(http.Header{"StreamType": {"data"}})
	require.NoError(t, err)
	assert.Equal(t, uint32(1), s.Identifier())
	msg := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: several frames
	go func() {
		_, _ = s.Write(msg)
		_ = s.Close()
	}()
	got, err := io.ReadAll(s)
	require.NoError(t, err)
	assert.Equal(t, msg, got)
	require.Eventually(t, func() bool { return client.NumStreams() == 0 && server.NumStreams() == 0 },
		5*time.Second, 5*time.Millisecond, "fully closed streams leave the map")
	_, err = s.Write([]byte("x"))
	assert.ErrorIs(t, err, ErrStreamClosed)
}

func TestHeadersMixedCaseAndMultiValue(t *testing.T) {
	nc, sc := tcpPair(t)
	accepted := make(chan Stream, 1)
	client, _ := connPair(t, nc, sc, nil, nil, acceptInto(accepted))
	h := http.Header{}
	h.Set("streamType", "stdout")
	h["requestID"] = []string{"7"} // non-canonical key as a map entry
	h.Add("X-Multi", "a")
	h.Add("X-Multi", "b")
	s, err := client.CreateStream(h)
	require.NoError(t, err)
	defer s.Reset()
	got := (<-accepted).Headers()
	assert.Equal(t, "stdout", got.Get("STREAMTYPE"))
	assert.Equal(t, "7", got.Get("requestid"))
	assert.Equal(t, []string{"a", "b"}, got.Values("x-multi"))
	assert.Equal(t, "stdout", s.Headers().Get("streamtype"))

	_, err = client.CreateStream(http.Header{"Connection": {"close"}})
	assert.Error(t, err, "illegal connection header")
}

func TestHandlerRejectionFailsCreateStream(t *testing.T) {
	nc, sc := tcpPair(t)
	client, server := connPair(t, nc, sc, nil, nil, func(Stream, <-chan struct{}) error {
		return errors.New("no")
	})
	_, err := client.CreateStream(http.Header{})
	assert.ErrorIs(t, err, ErrStreamRefused)
	assert.Equal(t, 0, client.NumStreams())
	assert.Equal(t, 0, server.NumStreams())
	// The connection carries on.
	_, err = client.CreateStream(http.Header{})
	assert.ErrorIs(t, err, ErrStreamRefused)
}

func TestResetUnblocksRead(t *testing.T) {
	nc, sc := tcpPair(t)
	accepted := make(chan Stream, 1)
	client, _ := connPair(t, nc, sc, nil, nil, acceptInto(accepted))
	s, err := client.CreateStream(http.Header{})
	require.NoError(t, err)
	remote := <-accepted

	errs := make(chan error, 2)
	go func() { _, err := s.Read(make([]byte, 10)); errs <- err }()
	go func() { _, err := remote.Read(make([]byte, 10)); errs <- err }()
	require.NoError(t, s.Reset())
	for range 2 {
		select {
		case err := <-errs:
			assert.ErrorIs(t, err, ErrStreamReset)
		case <-time.After(10 * time.Second):
			t.Fatal("Read not unblocked by Reset")
		}
	}
	_, err = remote.Write([]byte("x"))
	assert.ErrorIs(t, err, ErrStreamReset)
}

func TestSlowHandlerDoesNotStallConnection(t *testing.T) {
	nc, sc := tcpPair(t)
	release := make(chan struct{})
	client, _ := connPair(t, nc, sc, nil, nil, func(s Stream, replySent <-chan struct{}) error {
		if s.Headers().Get("slow") != "" {
			<-release
		}
		return echoHandler(s, replySent)
	})
	slowDone := make(chan error, 1)
	go func() {
		_, err := client.CreateStream(http.Header{"Slow": {"1"}})
		slowDone <- err
	}()
	s, err := client.CreateStream(http.Header{})
	require.NoError(t, err, "a blocked handler must not hold up other streams")
	_, err = s.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(s, buf)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(buf))
	close(release)
	require.NoError(t, <-slowDone)
}

// A stream nobody reads must not stall the others when both ends are ours.
func TestStalledStreamDoesNotBlockOthers(t *testing.T) {
	nc, sc := tcpPair(t)
	accepted := make(chan Stream, 2)
	cfg := &Config{StreamWindow: 64 << 10, ConnWindow: 1 << 20}
	client, _ := connPair(t, nc, sc, cfg, cfg, acceptInto(accepted))
	stalled, err := client.CreateStream(http.Header{})
	require.NoError(t, err)
	<-accepted // never read
	wrote := make(chan int, 1)
	go func() {
		n, _ := stalled.Write(make([]byte, 1<<20))
		wrote <- n
	}()
	live, err := client.CreateStream(http.Header{})
	require.NoError(t, err)
	remote := <-accepted
	msg := make([]byte, 256<<10)
	go func() { _, _ = live.Write(msg) }()
	got := make([]byte, len(msg))
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(remote, got); done <- err }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("live stream stalled behind an unread one")
	}
	require.NoError(t, stalled.Reset())
	n := <-wrote
	assert.Less(t, n, 1<<20, "the stalled writer was held by its window")
}

func TestPeerWindowViolationResetsStream(t *testing.T) {
	// A server with a 32 KiB window; the client ignores it by pretending
	// the server never sent SETTINGS.
	nc, sc := tcpPair(t)
	accepted := make(chan Stream, 1)
	client, _ := connPair(t, nc, sc, nil, &Config{StreamWindow: 32 << 10}, acceptInto(accepted))
	s, err := client.CreateStream(http.Header{})
	require.NoError(t, err)
	remote := <-accepted
	client.windowedFlag.Store(false)
	_, _ = s.Write(make([]byte, 100<<10))
	_, err = io.ReadAll(remote)
	assert.ErrorIs(t, err, ErrStreamReset)
}

func TestCloseResetsStreamsAndCloseChan(t *testing.T) {
	nc, sc := tcpPair(t)
	accepted := make(chan Stream, 1)
	client, server := connPair(t, nc, sc, nil, nil, acceptInto(accepted))
	s, err := client.CreateStream(http.Header{})
	require.NoError(t, err)
	remote := <-accepted
	readErr := make(chan error, 1)
	go func() { _, err := remote.Read(make([]byte, 1)); readErr <- err }()
	require.NoError(t, client.Close())
	assert.Error(t, <-readErr)
	select {
	case <-server.CloseChan():
	case <-time.After(10 * time.Second):
		t.Fatal("server did not close after the client went away")
	}
	select {
	case <-client.CloseChan():
	default:
		t.Fatal("CloseChan not closed")
	}
	_, err = s.Write([]byte("x"))
	assert.Error(t, err)
	_, err = client.CreateStream(http.Header{})
	assert.Error(t, err)
}

func TestManyCyclesNoGrowth(t *testing.T) {
	nc, sc := tcpPair(t)
	client, server := connPair(t, nc, sc, nil, nil, echoHandler)
	var wg sync.WaitGroup
	for i := range 1000 {
		s, err := client.CreateStream(http.Header{})
		require.NoError(t, err)
		if i%2 == 0 {
			_, err = s.Write([]byte("x"))
			require.NoError(t, err)
			require.NoError(t, s.Close())
			_, err = io.ReadAll(s)
			require.NoError(t, err)
		} else {
			require.NoError(t, s.Reset())
		}
	}
	wg.Wait()
	require.Eventually(t, func() bool { return client.NumStreams() == 0 && server.NumStreams() == 0 },
		10*time.Second, 10*time.Millisecond)
}

func TestConcurrentCreateStreamIDsInOrder(t *testing.T) {
	nc, sc := tcpPair(t)
	client, _ := connPair(t, nc, sc, nil, nil, echoHandler)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			s, err := client.CreateStream(http.Header{"A": {"b"}})
			if err == nil {
				err = s.Reset()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		// A SYN_STREAM with a lower ID after a higher one is a protocol
		// error that would close the connection.
		require.NoError(t, err)
	}
}

func TestHandlerMayWriteBeforeReturning(t *testing.T) {
	nc, sc := tcpPair(t)
	client, _ := connPair(t, nc, sc, nil, nil, func(s Stream, replySent <-chan struct{}) error {
		// Writing from inside the handler must not deadlock.
		if _, err := s.Write([]byte("greeting")); err != nil {
			return err
		}
		<-replySent
		return s.Close()
	})
	s, err := client.CreateStream(http.Header{})
	require.NoError(t, err)
	got, err := io.ReadAll(s)
	require.NoError(t, err)
	assert.Equal(t, "greeting", string(got))
}

func TestReadAfterFinThenConnectionCloseIsEOF(t *testing.T) {
	nc, sc := tcpPair(t)
	accepted := make(chan Stream, 1)
	client, server := connPair(t, nc, sc, nil, nil, acceptInto(accepted))
	s, err := client.CreateStream(http.Header{})
	require.NoError(t, err)
	remote := <-accepted
	<-remote.(*stream).replySent
	_, err = remote.Write([]byte("last words"))
	require.NoError(t, err)
	require.NoError(t, remote.Close())
	got := make([]byte, 10)
	_, err = io.ReadFull(s, got)
	require.NoError(t, err)
	require.NoError(t, server.Close())
	<-client.CloseChan()
	_, err = s.Read(got)
	assert.ErrorIs(t, err, io.EOF, "the peer finished the stream before the connection went away")
}

// Data left unread in reset streams returns to the session window: without
// that, resets would leak the window until writers block forever.
func TestResetReturnsUnreadDataToSessionWindow(t *testing.T) {
	nc, sc := tcpPair(t)
	accepted := make(chan Stream, 1)
	cfg := &Config{StreamWindow: 64 << 10, ConnWindow: 128 << 10}
	client, _ := connPair(t, nc, sc, cfg, cfg, acceptInto(accepted))
	for i := range 20 { // 20 x 64 KiB unread: ten times the session window
		s, err := client.CreateStream(http.Header{})
		require.NoError(t, err)
		remote := <-accepted
		done := make(chan error, 1)
		go func() { _, err := s.Write(make([]byte, 64<<10)); done <- err }()
		select {
		case err := <-done:
			require.NoError(t, err, "stream %d", i)
		case <-time.After(10 * time.Second):
			t.Fatalf("stream %d: writer blocked: the session window leaked", i)
		}
		require.Eventually(t, func() bool {
			st := remote.(*stream)
			st.mu.Lock()
			defer st.mu.Unlock()
			return st.w-st.r == 64<<10
		}, 10*time.Second, time.Millisecond)
		require.NoError(t, remote.Reset())
	}
}
