package interop

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/stretchr/testify/require"
	kstream "k8s.io/streaming/pkg/httpstream"
	kspdy "k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/streamkit-dev/streamkit/httpstream"
)

// Benchmarks compare streamkit's httpstream with k8s.io/streaming v0.37.2
// (spdystream v0.5.1), hashicorp/yamux v0.1.2 and raw TCP over loopback:
//
//	GOWORK=off go test -run '^$' -bench . -benchtime 3x ./
//
// Each multiplexer runs directly on a TCP pair (no HTTP upgrade), the same
// way for every peer.

type peer string

const (
	peerTCP       peer = "tcp"
	peerStreamkit peer = "streamkit"
	peerK8s       peer = "k8s"
	peerYamux     peer = "yamux"
)

var muxPeers = []peer{peerStreamkit, peerK8s, peerYamux}

// benchConfig lifts the 1,000-stream default so the idle-memory scenario can
// open its streams; everything else is the default.
var benchConfig = &httpstream.Config{MaxStreams: 10000}

// pair is a connected client and server of one multiplexer.
type pair struct {
	open   func() (io.ReadWriteCloser, error)
	accept chan io.ReadWriteCloser
	close  func()
	kill   func()
	nc, sc net.Conn
}

func tcpPair(tb testing.TB) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(tb, err)
	sc := <-ch
	require.NotNil(tb, sc)
	return nc, sc
}

func newPair(tb testing.TB, p peer) *pair {
	pr := newMux(tb, p)
	pr.kill = func() {
		// The raw connections close first: a k8s Close blocks writing RST
		// frames to a peer whose read loop is stuck.
		pr.nc.Close()
		pr.sc.Close()
		pr.close()
	}
	return pr
}

func newMux(tb testing.TB, p peer) *pair {
	nc, sc := tcpPair(tb)
	accept := make(chan io.ReadWriteCloser, 1024)
	switch p {
	case peerTCP:
		accept <- sc
		used := false
		return &pair{
			open: func() (io.ReadWriteCloser, error) {
				if used {
					return nil, errors.New("tcp: one stream only")
				}
				used = true
				return nc, nil
			},
			accept: accept,
			close:  func() { nc.Close(); sc.Close() },
			nc:     nc, sc: sc,
		}
	case peerStreamkit:
		type res struct {
			c   *httpstream.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := httpstream.NewServerConnection(sc, func(s httpstream.Stream, replySent <-chan struct{}) error {
				go func() { <-replySent; accept <- s }()
				return nil
			}, benchConfig)
			ch <- res{c, err}
		}()
		client, err := httpstream.NewClientConnection(nc, benchConfig)
		require.NoError(tb, err)
		r := <-ch
		require.NoError(tb, r.err)
		return &pair{
			open: func() (io.ReadWriteCloser, error) {
				return client.CreateStream(http.Header{"Streamtype": {"data"}})
			},
			accept: accept,
			close:  func() { client.Close(); r.c.Close() },
			nc:     nc, sc: sc,
		}
	case peerK8s:
		server, err := kspdy.NewServerConnection(sc, func(s kstream.Stream, replySent <-chan struct{}) error {
			go func() { <-replySent; accept <- s }()
			return nil
		})
		require.NoError(tb, err)
		client, err := kspdy.NewClientConnection(nc)
		require.NoError(tb, err)
		return &pair{
			open: func() (io.ReadWriteCloser, error) {
				return client.CreateStream(http.Header{"Streamtype": {"data"}})
			},
			accept: accept,
			close:  func() { client.Close(); server.Close() },
			nc:     nc, sc: sc,
		}
	case peerYamux:
		cfg := yamux.DefaultConfig()
		cfg.LogOutput = io.Discard
		server, err := yamux.Server(sc, cfg)
		require.NoError(tb, err)
		client, err := yamux.Client(nc, cfg)
		require.NoError(tb, err)
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				s, err := server.AcceptStream()
				if err != nil {
					return
				}
				accept <- s
			}
		})
		return &pair{
			open:   func() (io.ReadWriteCloser, error) { return client.OpenStream() },
			accept: accept,
			close:  func() { client.Close(); server.Close(); wg.Wait() },
			nc:     nc, sc: sc,
		}
	}
	tb.Fatalf("unknown peer %s", p)
	return nil
}

// halfClose ends the writing side so the reader sees EOF.
func halfClose(s io.ReadWriteCloser) error {
	if tc, ok := s.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return s.Close()
}

// throughput writes total bytes in chunk-sized writes on one stream that
// the server drains; it returns the elapsed time until the server saw EOF.
func throughput(tb testing.TB, pr *pair, total, chunk int) time.Duration {
	s, err := pr.open()
	require.NoError(tb, err)
	remote := <-pr.accept
	done := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, remote)
		done <- n
	}()
	buf := make([]byte, chunk)
	start := time.Now()
	for sent := 0; sent < total; sent += chunk {
		_, err := s.Write(buf[:min(chunk, total-sent)])
		require.NoError(tb, err)
	}
	require.NoError(tb, halfClose(s))
	n := <-done
	elapsed := time.Since(start)
	require.Equal(tb, int64(total), n)
	if r, ok := s.(interface{ Reset() error }); ok {
		_ = r.Reset()
	}
	return elapsed
}

// manyStreams moves per bytes on each of n concurrent streams.
func manyStreams(tb testing.TB, pr *pair, n, per int) time.Duration {
	streams := make([]io.ReadWriteCloser, n)
	remotes := make([]io.ReadWriteCloser, n)
	for i := range n {
		s, err := pr.open()
		require.NoError(tb, err)
		streams[i] = s
		remotes[i] = <-pr.accept
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			got, err := io.Copy(io.Discard, remotes[i])
			if err == nil && got != int64(per) {
				err = fmt.Errorf("stream %d: got %d bytes", i, got)
			}
			errs <- err
		})
		wg.Go(func() {
			buf := make([]byte, 32<<10)
			var err error
			for sent := 0; sent < per && err == nil; sent += len(buf) {
				_, err = streams[i].Write(buf[:min(len(buf), per-sent)])
			}
			if err == nil {
				err = halfClose(streams[i])
			}
			errs <- err
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		require.NoError(tb, err)
	}
	for _, s := range streams {
		if r, ok := s.(interface{ Reset() error }); ok {
			_ = r.Reset()
		}
	}
	return elapsed
}

// echoServer echoes up to n accepted streams until stop is closed.
func echoServer(pr *pair, n int, stop <-chan struct{}) {
	for range n {
		var s io.ReadWriteCloser
		select {
		case s = <-pr.accept:
		case <-stop:
			return
		}
		go func() {
			_, _ = io.Copy(s, s)
			_ = s.Close()
		}()
	}
}

// openEcho opens a stream, sends 64 bytes, reads the echo and resets, n
// times; it returns the time per cycle.
func openEcho(tb testing.TB, pr *pair, n int) time.Duration {
	go echoServer(pr, n, nil)
	msg := make([]byte, 64)
	got := make([]byte, 64)
	start := time.Now()
	for range n {
		s, err := pr.open()
		require.NoError(tb, err)
		_, err = s.Write(msg)
		require.NoError(tb, err)
		_, err = io.ReadFull(s, got)
		require.NoError(tb, err)
		if r, ok := s.(interface{ Reset() error }); ok {
			_ = r.Reset()
		} else {
			_ = s.Close()
		}
	}
	return time.Since(start) / time.Duration(n)
}

// errStalled reports live streams blocked behind the unread one.
var errStalled = errors.New("live streams stalled behind an unread stream")

// stalled opens one stream that the server never reads and writes stall
// bytes into it, then measures 64-byte echo round trips on live streams. It
// returns the p99 latency, or errStalled when a round trip takes longer
// than limit.
func stalled(tb testing.TB, pr *pair, live, samples, stall int, limit time.Duration) (time.Duration, error) {
	dead, err := pr.open()
	require.NoError(tb, err)
	<-pr.accept // never read
	go func() {
		buf := make([]byte, 32<<10)
		for sent := 0; sent < stall; sent += len(buf) {
			if _, err := dead.Write(buf); err != nil {
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the stalled stream fill what it can
	stop := make(chan struct{})
	result := make(chan []time.Duration, 1)
	go func() {
		var mu sync.Mutex
		var lat []time.Duration
		defer func() { result <- lat }()
		streams := make([]io.ReadWriteCloser, live)
		for i := range live {
			s, err := pr.open()
			if err != nil {
				return // the SYN_REPLY itself is stuck
			}
			streams[i] = s
		}
		go echoServer(pr, live, stop)
		var wg sync.WaitGroup
		for _, s := range streams {
			wg.Go(func() {
				msg := make([]byte, 64)
				for range samples {
					t0 := time.Now()
					if _, err := s.Write(msg); err != nil {
						return
					}
					if _, err := io.ReadFull(s, msg); err != nil {
						return
					}
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}()
	var lat []time.Duration
	select {
	case lat = <-result:
	case <-time.After(limit):
		pr.kill() // unblocks everything
		<-result  // partial: the live streams stalled
	}
	close(stop)
	if len(lat) < live*samples {
		return 0, errStalled
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100], nil
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// idleStreamCost opens n idle streams (both ends in this process) and
// returns heap bytes and goroutines per stream.
func idleStreamCost(tb testing.TB, pr *pair, n int) (float64, float64) {
	s, err := pr.open() // warm up lazily allocated per-connection state
	require.NoError(tb, err)
	<-pr.accept
	_ = s
	g0, h0 := runtime.NumGoroutine(), heapInUse()
	keep := make([]io.ReadWriteCloser, 0, 2*n)
	for range n {
		s, err := pr.open()
		require.NoError(tb, err)
		keep = append(keep, s, <-pr.accept)
	}
	time.Sleep(20 * time.Millisecond)
	h1, g1 := heapInUse(), runtime.NumGoroutine()
	runtime.KeepAlive(keep)
	return float64(int64(h1)-int64(h0)) / float64(n), float64(g1-g0) / float64(n)
}

// idleConnCost opens n idle connections with one stream each opened and
// closed (so per-connection lazy state is counted) and returns heap bytes and
// goroutines per connection, both ends included.
func idleConnCost(tb testing.TB, p peer, n int) (float64, float64) {
	g0, h0 := runtime.NumGoroutine(), heapInUse()
	pairs := make([]*pair, n)
	for i := range n {
		pairs[i] = newPair(tb, p)
		s, err := pairs[i].open()
		require.NoError(tb, err)
		r := <-pairs[i].accept
		_ = s.Close()
		_ = r.Close()
	}
	time.Sleep(50 * time.Millisecond)
	h1, g1 := heapInUse(), runtime.NumGoroutine()
	for _, pr := range pairs {
		pr.close()
	}
	return float64(int64(h1)-int64(h0)) / float64(n), float64(g1-g0) / float64(n)
}

func BenchmarkOneStream32KiB(b *testing.B) {
	for _, p := range append([]peer{peerTCP}, muxPeers...) {
		b.Run(string(p), func(b *testing.B) {
			pr := newPair(b, p)
			defer pr.close()
			b.SetBytes(32 << 10)
			b.ResetTimer()
			throughput(b, pr, b.N*32<<10, 32<<10)
		})
	}
}

func BenchmarkStreams64x8MiB(b *testing.B) {
	const n, per = 64, 8 << 20
	for _, p := range muxPeers {
		b.Run(string(p), func(b *testing.B) {
			pr := newPair(b, p)
			defer pr.close()
			b.SetBytes(n * per)
			b.ResetTimer()
			for range b.N {
				manyStreams(b, pr, n, per)
			}
		})
	}
}

func BenchmarkOpenFirstEcho(b *testing.B) {
	for _, p := range muxPeers {
		b.Run(string(p), func(b *testing.B) {
			pr := newPair(b, p)
			defer pr.close()
			b.ResetTimer()
			openEcho(b, pr, b.N)
		})
	}
}

// BenchmarkStalledStreamLiveP99 measures 64-byte echo round trips on 8 live
// streams while a ninth stream has 16 MiB written into it and is never
// read; "no-stall" is the same with nothing written to the ninth stream,
// the baseline for "unaffected".
func BenchmarkStalledStreamLiveP99(b *testing.B) {
	cases := []struct {
		name  string
		p     peer
		stall int
	}{
		{"streamkit-no-stall", peerStreamkit, 0},
		{"streamkit", peerStreamkit, 16 << 20},
		{"k8s", peerK8s, 16 << 20},
		{"yamux", peerYamux, 16 << 20},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			pr := newPair(b, tc.p)
			defer pr.close()
			p99, err := stalled(b, pr, 8, max(b.N, 500), tc.stall, 5*time.Second)
			if errors.Is(err, errStalled) {
				b.ReportMetric(1, "stalled")
				return
			}
			require.NoError(b, err)
			b.ReportMetric(0, "stalled")
			b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
		})
	}
}

func BenchmarkIdleMemory(b *testing.B) {
	for _, p := range muxPeers {
		b.Run(string(p), func(b *testing.B) {
			pr := newPair(b, p)
			perStream, gStream := idleStreamCost(b, pr, 1000)
			pr.close()
			perConn, gConn := idleConnCost(b, p, 50)
			b.ReportMetric(perStream, "B/idle-stream")
			b.ReportMetric(gStream, "goroutines/stream")
			b.ReportMetric(perConn, "B/idle-conn")
			b.ReportMetric(gConn, "goroutines/conn")
		})
	}
}

// TestBenchScenariosRun runs every scenario once at a tiny size so that the
// benchmarks cannot rot (the numbers are not results).
func TestBenchScenariosRun(t *testing.T) {
	for _, p := range append([]peer{peerTCP}, muxPeers...) {
		pr := newPair(t, p)
		throughput(t, pr, 1<<20, 32<<10)
		pr.close()
	}
	for _, p := range muxPeers {
		pr := newPair(t, p)
		manyStreams(t, pr, 4, 256<<10)
		pr.close()
		pr = newPair(t, p)
		require.Positive(t, openEcho(t, pr, 10))
		pr.close()
		pr = newPair(t, p)
		_, _ = idleStreamCost(t, pr, 20) // too few streams for a meaningful number
		pr.close()
	}
	pr := newPair(t, peerStreamkit)
	defer pr.close()
	p99, err := stalled(t, pr, 2, 10, 4<<20, 30*time.Second)
	require.NoError(t, err, "streamkit live streams must not stall behind an unread one")
	require.Positive(t, p99)
}
