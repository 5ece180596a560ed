package main

// The SSE benchmark's server process. The bench binary re-executes itself
// with STREAMKIT_BENCH_SSE_SERVER=<impl> (streamkit, go-sse, r3labs,
// launchdarkly, naive); init then serves that implementation on
// 127.0.0.1:0 (/sse, /publish, /stats), prints the address on stdout, and
// exits when stdin closes. Each is configured as its docs teach; queue
// sizes are raised to 4096 events where a library has one, so a 2,000-event
// burst measures throughput rather than a drop policy.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	ldes "github.com/launchdarkly/eventsource"
	r3sse "github.com/r3labs/sse/v2"
	gosse "github.com/tmaxmax/go-sse"

	"github.com/streamkit-dev/streamkit/sse"
)

const sseServerEnv = "STREAMKIT_BENCH_SSE_SERVER"

func init() {
	if impl := os.Getenv(sseServerEnv); impl != "" {
		os.Exit(sseServe(impl))
	}
}

// sseStats is what /stats reports.
type sseStats struct {
	RSS        uint64
	Heap       uint64
	Goroutines int
	// Diagnostics (printed with STREAMKIT_BENCH_SSE_DEBUG): stack bytes in
	// use and the runtime's starting stack size for new goroutines.
	Stack      uint64
	StartStack uint64
	MaxStart   uint64 // largest starting stack size seen (sampled every ms with the debug knob)
	// The runtime's memory outside HeapInuse and StackInuse (mspans, GC
	// metadata, other), for what RSS holds beyond the heap.
	Meta uint64
	// RSSFile is the file-backed part of RSS (the binary's pages touched).
	RSSFile uint64
}

type ldEvent struct{ data string }

func (e ldEvent) Id() string    { return "" }
func (e ldEvent) Event() string { return "" }
func (e ldEvent) Data() string  { return e.data }

// naiveHub is the "net/http floor": a handler per connection that writes
// and flushes each event itself, fed by a channel; a publisher waits up to
// 1 s for a full channel, then drops that subscriber.
type naiveHub struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

func (h *naiveHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(200)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	ch := make(chan []byte, 64)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}()
	for {
		select {
		case <-r.Context().Done():
			return
		case b, ok := <-ch:
			if !ok {
				return
			}
			if _, err := w.Write(b); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

func (h *naiveHub) publish(data []byte) {
	b := append(append([]byte("data: "), data...), '\n', '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- b:
		default:
			t := time.NewTimer(time.Second)
			select {
			case ch <- b:
			case <-t.C:
				delete(h.subs, ch)
				close(ch)
			}
			t.Stop()
		}
	}
}

// floorHub is the loopback write floor, not an SSE library: it hijacks each
// connection, writes a chunked 200 response head, and publishes by writing
// each event as one chunk to every socket in turn from the publishing
// goroutine: one write system call per socket and nothing else. No
// isolation: a stalled socket blocks it (it is for the fan-out rows).
type floorHub struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (h *floorHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	h.mu.Lock()
	h.conns = append(h.conns, conn)
	h.mu.Unlock()
}

func (h *floorHub) publish(data []byte) {
	ev := append(append([]byte("data: "), data...), '\n', '\n')
	chunk := append(fmt.Appendf(nil, "%x\r\n", len(ev)), ev...)
	chunk = append(chunk, "\r\n"...)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		_, _ = c.Write(chunk)
	}
}

func (h *floorHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
}

func sseServe(impl string) int {
	var handler http.Handler
	var publish func([]byte)
	var shutdown func()
	switch impl {
	case "streamkit", "streamkit-hd":
		s := sse.NewServer(sse.Options{MaxQueueEvents: 4096, MaxQueueBytes: 4 << 20, HighDensity: impl == "streamkit-hd"})
		handler = s
		ctx := context.Background()
		publish = func(b []byte) { _, _ = s.Publish(ctx, sse.DefaultTopic, sse.Event{Data: b}) }
		shutdown = func() { _ = s.Shutdown(ctx) }
	case "go-sse":
		s := &gosse.Server{}
		handler = s
		publish = func(b []byte) {
			m := &gosse.Message{}
			m.AppendData(string(b))
			_ = s.Publish(m)
		}
		shutdown = func() { _ = s.Shutdown(context.Background()) }
	case "r3labs":
		s := r3sse.New()
		s.AutoReplay = false
		s.BufferSize = 4096
		s.CreateStream("b")
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.URL.RawQuery = "stream=b"
			s.ServeHTTP(w, r)
		})
		publish = func(b []byte) { s.Publish("b", &r3sse.Event{Data: b}) }
		shutdown = s.Close
	case "launchdarkly":
		s := ldes.NewServer()
		s.BufferSize = 4096
		handler = s.Handler("b")
		publish = func(b []byte) { s.Publish([]string{"b"}, ldEvent{string(b)}) }
		shutdown = s.Close
	case "naive":
		h := &naiveHub{subs: make(map[chan []byte]struct{})}
		handler = h
		publish = h.publish
		shutdown = func() {}
	case "floor":
		h := &floorHub{}
		handler = h
		publish = h.publish
		shutdown = h.close
	default:
		fmt.Fprintln(os.Stderr, "unknown impl", impl)
		return 2
	}
	if f := os.Getenv("STREAMKIT_BENCH_SSE_CPUPROFILE"); f != "" { // a CPU profile of this server process
		if out, err := os.Create(f + "." + impl); err == nil {
			if pprof.StartCPUProfile(out) == nil {
				defer func() { pprof.StopCPUProfile(); _ = out.Close() }()
			}
		}
	}
	var maxStart atomic.Uint64
	debugOn := os.Getenv("STREAMKIT_BENCH_SSE_DEBUG") != ""
	if debugOn {
		runtime.MemProfileRate = 1
	}
	if debugOn {
		go func() {
			sm := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
			for {
				metrics.Read(sm)
				if v := sm[0].Value.Uint64(); v != maxStart.Load() {
					fmt.Fprintf(os.Stderr, "bench: sse server: starting stack %d B at %d goroutines\n", v, runtime.NumGoroutine())
					maxStart.Store(v)
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	mux := http.NewServeMux()
	mux.Handle("/sse", handler)
	mux.HandleFunc("/publish", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, _ := strconv.Atoi(q.Get("n"))
		size, _ := strconv.Atoi(q.Get("size"))
		rate, _ := strconv.Atoi(q.Get("rate"))
		go ssePublishLoop(publish, n, size, rate)
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		sm := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
		metrics.Read(sm)
		var start uint64
		if sm[0].Value.Kind() == metrics.KindUint64 {
			start = sm[0].Value.Uint64()
		}
		_ = json.NewEncoder(w).Encode(sseStats{RSS: readRSS(), Heap: ms.HeapInuse + ms.StackInuse, Goroutines: runtime.NumGoroutine(),
			Stack: ms.StackInuse, StartStack: start, MaxStart: maxStart.Load(),
			Meta: ms.MSpanInuse + ms.MCacheInuse + ms.BuckHashSys + ms.GCSys + ms.OtherSys, RSSFile: readStatusKB("RssFile")})
	})
	if debugOn {
		mux.HandleFunc("/heap", func(w http.ResponseWriter, _ *http.Request) {
			runtime.GC()
			_ = pprof.Lookup("heap").WriteTo(w, 0)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println(ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	shutdown()
	_ = srv.Close()
	return 0
}

// ssePublishLoop publishes n events of size bytes whose data starts with
// the scheduled send time (Unix ns, 19 digits); rate 0 means unthrottled.
// Latency is measured from the schedule, so a blocked publisher shows up
// as latency (no coordinated omission).
func ssePublishLoop(publish func([]byte), n, size, rate int) {
	size = max(size, 20)
	start := time.Now()
	for i := range n {
		sched := time.Now()
		if rate > 0 {
			sched = start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			if d := time.Until(sched); d > 0 {
				time.Sleep(d)
			}
		}
		b := make([]byte, size)
		copy(b, fmt.Sprintf("%019d", sched.UnixNano()))
		for j := 19; j < size; j++ {
			b[j] = 'x'
		}
		publish(b)
	}
}

func readRSS() uint64 { return readStatusKB("VmRSS") }

// readStatusKB reads a "name: N kB" line of /proc/self/status, in bytes.
func readStatusKB(name string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb uint64
		if n, _ := fmt.Sscanf(sc.Text(), name+": %d kB", &kb); n == 1 {
			return kb << 10
		}
	}
	return 0
}

var _ = syscall.Getpid
