package sse

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/sse/parser"
)

// TestSlowClientIsolation: 100 readers and one socket that never reads.
// Every reader gets every event in order, publishing never waits for the
// stalled socket, and the stalled connection is evicted by its write
// deadline while the readers are untouched.
func TestSlowClientIsolation(t *testing.T) {
	forModes(t, func(t *testing.T, hd bool) {
		const readers, events, size = 100, 800, 1024
		type ended struct {
			remote string
			err    error
			at     time.Time
		}
		endedCh := make(chan ended, readers+1)
		s := NewServer(Options{HighDensity: hd, WriteTimeout: 10 * time.Second, OnDisconnect: func(c *Conn, err error) {
			endedCh <- ended{c.Request().RemoteAddr, err, time.Now()}
		}})
		// A small kernel send buffer on the server side of the first connection
		// (the stalled one, dialed first), so that it stalls after tens of KB
		// instead of the ~2 MB loopback autotuning allows. The readers keep
		// large buffers: on a loaded machine a reader may not be scheduled for
		// seconds, which must not look like a stalled client.
		ts := httptest.NewUnstartedServer(s)
		ts.Listener = &smallSendBuffers{Listener: ts.Listener}
		ts.Start()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.NoError(t, s.Shutdown(ctx))
			ts.Close()
		})

		// The stalled socket: a tiny receive buffer, and nobody reads it.
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = setRecvBuffer(fd, 2048) })
			if err != nil {
				return err
			}
			return serr
		}}
		stalled, err := d.Dial("tcp", ts.Listener.Addr().String())
		require.NoError(t, err)
		defer stalled.Close()
		_, err = fmt.Fprintf(stalled, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		stalledAddr := stalled.LocalAddr().String()
		require.Eventually(t, func() bool { return s.Count() == 1 }, 20*time.Second, 5*time.Millisecond, "stalled socket accepted first")

		tr := &http.Transport{MaxIdleConnsPerHost: readers}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		var wg sync.WaitGroup
		got := make([]int, readers)
		errs := make([]error, readers)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for i := range readers {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL, nil)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Cleanup(func() { resp.Body.Close() })
				p := parser.New(resp.Body, parser.Options{})
				for got[i] < events {
					ev, err := p.Next()
					if err != nil {
						errs[i] = err
						return
					}
					if ev.Data[:8] != fmt.Sprintf("%08d", got[i]) {
						errs[i] = fmt.Errorf("reader %d: event %q out of order at %d", i, ev.Data[:8], got[i])
						return
					}
					got[i]++
				}
			}()
		}
		require.Eventually(t, func() bool { return s.Count() == readers+1 }, 20*time.Second, 5*time.Millisecond)

		pad := make([]byte, size-8)
		for i := range pad {
			pad[i] = 'x'
		}
		start := time.Now()
		for i := range events {
			publish(t, s, DefaultTopic, Event{Data: append([]byte(fmt.Sprintf("%08d", i)), pad...)})
		}
		publishTime := time.Since(start)
		assert.Less(t, publishTime, 10*time.Second, "publishing waited for a client")

		wg.Wait()
		if t.Failed() || len(endedCh) > 1 {
			for len(endedCh) > 0 {
				e := <-endedCh
				t.Logf("ended: %s %v at %v", e.remote, e.err, e.at.Sub(start))
			}
		}
		for i := range readers {
			require.NoError(t, errs[i], "reader %d", i)
			assert.Equal(t, events, got[i], "reader %d", i)
		}
		// The stalled socket is evicted (write deadline 10 s after it stalled);
		// no reader was.
		select {
		case e := <-endedCh:
			assert.Equal(t, stalledAddr, e.remote, "the only connection to end is the stalled one")
			assert.ErrorIs(t, e.err, ErrSlowClient)
			assert.Less(t, e.at.Sub(start), publishTime+25*time.Second)
		case <-time.After(30 * time.Second):
			t.Fatal("stalled connection not evicted")
		}

		st := s.Stats()
		assert.Equal(t, uint64(1), st.Evictions)
		assert.Equal(t, readers, st.Conns)
		cancel()
	})
}

type smallSendBuffers struct {
	net.Listener
	done bool
}

func (l *smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok && !l.done {
		l.done = true
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}
