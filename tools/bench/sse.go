package main

// SSE scenarios: our sse module against tmaxmax/go-sse v0.11.0, r3labs/sse
// v2.10.0, launchdarkly/eventsource v1.11.0 and a naive net/http handler.
// Each server runs in its own process (see sse_server.go), pinned to CPU 1
// with GOMAXPROCS=1 when taskset exists; this process is the load
// generator, pinned to CPU 0 with GOMAXPROCS=1 (sseOwnCore), the same for
// every implementation: raw TCP clients that de-chunk with http.ReadResponse and read
// lines, so no client library skews the numbers. The parser rows are
// in-process micro-benchmarks.
//
// Knobs for quick looks (numbers from them are not the scenario's rows):
// STREAMKIT_BENCH_SSE_IMPLS=a,b (a subset), STREAMKIT_BENCH_SSE_CLIENTS,
// STREAMKIT_BENCH_SSE_FANOUT (client counts), STREAMKIT_BENCH_SSE_IDLE_ONLY
// (stop after the idle rows; with STREAMKIT_BENCH_SSE_PAUSE=30s the server
// stays up for inspection), STREAMKIT_BENCH_SSE_PACED_ONLY (no burst, no
// stalled run), STREAMKIT_BENCH_SSE_DEBUG (stack diagnostics and a heap
// profile endpoint), STREAMKIT_BENCH_SSE_CPUPROFILE=file (a CPU profile
// of each server process, file.<impl>).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	ldes "github.com/launchdarkly/eventsource"
	gosse "github.com/tmaxmax/go-sse"

	"github.com/streamkit-dev/streamkit/sse/parser"
)

var ssePeers = []string{"go-sse", "r3labs", "launchdarkly", "naive"}

func sseScenarios() []Scenario {
	return []Scenario{
		{Name: "sse/parser", Peers: "go-sse, launchdarkly", Run: sseParserScenario},
		{Name: "sse/server", Peers: strings.Join(ssePeers, ", "), Run: sseServerScenario},
		{Name: "sse/fanout", Peers: strings.Join(ssePeers, ", "), Run: sseFanoutScenario},
	}
}

// --- parser ---

func sseParserStream() []byte {
	one := "id: 1700000000000-1\nevent: update\ndata: {\"type\":\"tick\",\"value\":\"0123456789abcdef0123456789abcdef012345\"}\n\n"
	return []byte(strings.Repeat(one, 1000))
}

func sseParserScenario(_ context.Context, _ Config) ([]Row, error) {
	stream := sseParserStream()
	const events = 1000
	run := map[string]func(b *testing.B){
		"streamkit": func(b *testing.B) {
			r := bytes.NewReader(stream)
			p := parser.New(r, parser.Options{})
			for b.Loop() {
				r.Reset(stream)
				p.Reset(r)
				n := 0
				for {
					if _, err := p.Next(); err != nil {
						break
					}
					n++
				}
				if n != events {
					b.Fatalf("streamkit parsed %d events", n)
				}
			}
		},
		"go-sse": func(b *testing.B) {
			for b.Loop() {
				n := 0
				for _, err := range gosse.Read(bytes.NewReader(stream), nil) {
					if err != nil {
						break
					}
					n++
				}
				if n != events {
					b.Fatalf("go-sse parsed %d events", n)
				}
			}
		},
		"launchdarkly": func(b *testing.B) {
			for b.Loop() {
				dec := ldes.NewDecoder(bytes.NewReader(stream))
				n := 0
				for {
					if _, err := dec.Decode(); err != nil {
						break
					}
					n++
				}
				if n != events {
					b.Fatalf("launchdarkly parsed %d events", n)
				}
			}
		},
	}
	res := map[string]Measured{}
	for _, name := range []string{"streamkit", "go-sse", "launchdarkly"} {
		res[name] = Measure(run[name])
	}
	mbps := func(m Measured) float64 {
		if m.NsPerOp == 0 {
			return 0
		}
		return float64(len(stream)) / m.NsPerOp * 1e3
	}
	var rows []Row
	for _, peer := range []string{"go-sse", "launchdarkly"} {
		rows = append(rows,
			Row{Scenario: "sse/parser", Metric: "MB/s", Goal: Higher, Ours: mbps(res["streamkit"]), Peer: peer, PeerVal: mbps(res[peer])},
			Row{Scenario: "sse/parser", Metric: "allocs/event", Goal: Lower, Ours: res["streamkit"].AllocsPerOp / events, Peer: peer, PeerVal: res[peer].AllocsPerOp / events},
		)
	}
	return rows, nil
}

// --- server ---

type sseSizes struct {
	clients      int // idle, burst and paced clients
	burst        int // events in the burst
	pacedRate    int
	pacedDur     time.Duration
	stallReaders int
	stallEvents  int
	stallRate    int
	stallSize    int
	settle       time.Duration // idle settling, and the delivery window after the stalled run
}

func sseServerScenario(ctx context.Context, cfg Config) ([]Row, error) {
	defer sseOwnCore()()
	sz := sseSizes{clients: 1000, burst: 2000, pacedRate: 100, pacedDur: 3 * time.Second,
		stallReaders: 100, stallEvents: 1000, stallRate: 1000, stallSize: 4096, settle: 10 * time.Second}
	if cfg.Short {
		sz = sseSizes{clients: 20, burst: 50, pacedRate: 100, pacedDur: 200 * time.Millisecond,
			stallReaders: 10, stallEvents: 100, stallRate: 1000, stallSize: 4096, settle: time.Second}
	}
	if v, _ := strconv.Atoi(os.Getenv("STREAMKIT_BENCH_SSE_CLIENTS")); v > 0 {
		sz.clients = v
	}
	// streamkit-hd is ours with Options.HighDensity (hijacked HTTP/1.1).
	impls := append([]string{"streamkit", "streamkit-hd"}, ssePeers...)
	if v := os.Getenv("STREAMKIT_BENCH_SSE_IMPLS"); v != "" { // for quick looks: a subset
		impls = strings.Split(v, ",")
	}
	res := map[string]map[string]float64{}
	for _, impl := range impls {
		m, err := sseMeasure(ctx, impl, sz)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", impl, err)
		}
		res[impl] = m
		fmt.Fprintf(os.Stderr, "bench: sse/server %s: %v\n", impl, m)
	}
	metrics := []struct {
		name string
		goal Goal
	}{
		{"idle KB/conn", Lower},
		{"idle heap+stack KB/conn", Lower},
		{"goroutines/conn", Lower},
		{"burst deliveries/s", Higher},
		{"burst delivered %", Higher},
		{"paced p99 ms", Lower},
		{"stalled: healthy delivered %", Higher},
		{"stalled: healthy p99 ms", Lower},
	}
	var rows []Row
	for _, m := range metrics {
		for _, peer := range ssePeers {
			if _, ok := res[peer]; !ok {
				continue
			}
			rows = append(rows, Row{Scenario: "sse/server", Metric: fmt.Sprintf("%s (C=%d)", m.name, sz.clients), Goal: m.goal,
				Ours: res["streamkit"][m.name], Peer: peer, PeerVal: res[peer][m.name]})
		}
	}
	// The high-density mode against go-sse, the peer with the least idle
	// memory.
	if hd, ok := res["streamkit-hd"]; ok {
		if _, ok := res["go-sse"]; ok {
			for _, m := range metrics {
				rows = append(rows, Row{Scenario: "sse/server", Metric: fmt.Sprintf("%s (C=%d) [high-density]", m.name, sz.clients), Goal: m.goal,
					Ours: hd[m.name], Peer: "go-sse", PeerVal: res["go-sse"][m.name]})
			}
		}
	}
	for i := range rows {
		if strings.HasPrefix(rows[i].Metric, "stalled") {
			suffix := ""
			if strings.HasSuffix(rows[i].Metric, "[high-density]") {
				suffix = " [high-density]"
			}
			rows[i].Metric = fmt.Sprintf("%s (%d readers + 1 stalled, %d x %d B)%s", strings.SplitN(rows[i].Metric, " (", 2)[0], sz.stallReaders, sz.stallEvents, sz.stallSize, suffix)
		}
	}
	return rows, nil
}

// sseOwnCore pins this process (the load generator) to CPU 0 and runs it
// with one P until the returned func restores GOMAXPROCS; the servers get
// CPU 1. Unpinned, the generator shared CPU 0 with the pinned server at
// the scheduler's whim, which moved paced p99 by tens of ms from run to
// run; two Ps on one CPU would take turns at the clients' reads.
func sseOwnCore() (restore func()) {
	if !pinSelf() {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(prev) }
}

// sseServerCPU is the CPU the server processes are pinned to; the load
// generator has CPU 0 (sseOwnCore).
const sseServerCPU = 1

// sseProc is a running server process.
type sseProc struct{ *serverProc }

func startSSEServer(impl string) (*sseProc, error) {
	p, err := startServerProc(impl, sseServerCPU, sseServerEnv+"="+impl, "GOMAXPROCS=1")
	if err != nil {
		return nil, err
	}
	return &sseProc{p}, nil
}

func (p *sseProc) stats() (sseStats, error) {
	var s sseStats
	return s, p.getJSON("/stats", &s)
}

func (p *sseProc) publish(n, size, rate int) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/publish?n=%d&size=%d&rate=%d", p.addr, n, size, rate))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// sseLoadClient is one raw subscriber.
type sseLoadClient struct {
	conn   net.Conn
	count  atomic.Int64
	mu     sync.Mutex
	lat    []time.Duration
	record atomic.Bool
	done   chan struct{}
}

func dialSSE(addr string, stalled bool) (*sseLoadClient, error) {
	return dialSSESize(addr, stalled, 16<<10)
}

func dialSSESize(addr string, stalled bool, bufSize int) (*sseLoadClient, error) {
	d := net.Dialer{}
	if stalled {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(conn, "GET /sse HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	c := &sseLoadClient{conn: conn, done: make(chan struct{})}
	if stalled {
		close(c.done)
		return c, nil
	}
	go c.read(bufSize)
	return c, nil
}

func (c *sseLoadClient) read(bufSize int) {
	defer close(c.done)
	br := bufio.NewReaderSize(c.conn, bufSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return
	}
	body := bufio.NewReaderSize(resp.Body, bufSize)
	for {
		line, err := body.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		if !bytes.HasPrefix(line, []byte("data:")) {
			continue
		}
		d := bytes.TrimPrefix(line[5:], []byte(" "))
		if c.record.Load() && len(d) >= 19 {
			if ns, err := strconv.ParseInt(string(d[:19]), 10, 64); err == nil {
				lat := time.Since(time.Unix(0, ns))
				c.mu.Lock()
				c.lat = append(c.lat, lat)
				c.mu.Unlock()
			}
		}
		c.count.Add(1)
	}
}

func (c *sseLoadClient) close() {
	c.conn.Close()
	<-c.done
}

func sumCounts(cs []*sseLoadClient) int64 {
	var n int64
	for _, c := range cs {
		n += c.count.Load()
	}
	return n
}

func p99(cs []*sseLoadClient) float64 {
	var all []time.Duration
	for _, c := range cs {
		c.mu.Lock()
		all = append(all, c.lat...)
		c.lat = nil
		c.mu.Unlock()
	}
	if len(all) == 0 {
		return 0
	}
	slices.Sort(all)
	return float64(all[len(all)*99/100]) / 1e6
}

// waitCount waits until every client in cs has at least n events, or
// within passes; it returns the time the condition was met.
func waitCount(ctx context.Context, cs []*sseLoadClient, n int64, within time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ok := true
		for _, c := range cs {
			if c.count.Load() < n {
				ok = false
				break
			}
		}
		if ok {
			return time.Now(), true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Now(), false
}

func sseMeasure(ctx context.Context, impl string, sz sseSizes) (map[string]float64, error) {
	p, err := startSSEServer(impl)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	out := map[string]float64{}
	// The base is taken with one warm-up client connected and served an
	// event, so the idle rows are the cost per connection: what a
	// server's first connection costs once (the code pages its path
	// touches, pools, the library's own goroutines) is not divided among
	// the clients. Measured from a cold base, the binary's pages touched
	// were 0.2 (go-sse) to 0.5 KB (ours) "per connection" at C=1000.
	warm, err := dialSSE(p.addr, false)
	if err != nil {
		return nil, err
	}
	defer warm.close()
	for i := 0; ; i++ {
		if err := p.publish(1, 64, 0); err != nil {
			return nil, err
		}
		if _, ok := waitCount(ctx, []*sseLoadClient{warm}, 1, 200*time.Millisecond); ok {
			break
		}
		if i > 150 {
			return nil, errors.New("the warm-up client did not receive an event")
		}
	}
	time.Sleep(min(sz.settle, time.Second))
	base, err := p.stats()
	if err != nil {
		return nil, err
	}

	// Idle memory after the first event.
	clients := make([]*sseLoadClient, 0, sz.clients)
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	for range sz.clients {
		c, err := dialSSE(p.addr, false)
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
	}
	// Publish until every client has seen an event (some libraries register
	// subscribers asynchronously and send no headers before an event).
	for i := 0; ; i++ {
		if err := p.publish(1, 64, 0); err != nil {
			return nil, err
		}
		if _, ok := waitCount(ctx, clients, 1, 200*time.Millisecond); ok {
			break
		}
		if i > 150 {
			return nil, fmt.Errorf("clients did not all receive the first event (%d/%d)", sumCounts(clients), sz.clients)
		}
	}
	time.Sleep(min(sz.settle, time.Second))
	st, err := p.stats()
	if err != nil {
		return nil, err
	}
	if os.Getenv("STREAMKIT_BENCH_SSE_DEBUG") == "2" { // a second GC: do parked stacks shrink further?
		if st, err = p.stats(); err != nil {
			return nil, err
		}
	}
	if os.Getenv("STREAMKIT_BENCH_SSE_DEBUG") != "" {
		per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / 1024 / float64(sz.clients) }
		fmt.Fprintf(os.Stderr, "bench: sse %s idle: stack %.2f KB/conn, runtime metadata %.2f KB/conn, RSS beyond heap+stack %.2f KB/conn (file-backed %.2f), starting stack %d B (base %d, max %d)\n", impl,
			per(st.Stack, base.Stack), per(st.Meta, base.Meta), per(st.RSS, base.RSS)-per(st.Heap, base.Heap), per(st.RSSFile, base.RSSFile), st.StartStack, base.StartStack, st.MaxStart)
	}
	out["idle KB/conn"] = float64(int64(st.RSS)-int64(base.RSS)) / 1024 / float64(sz.clients)
	out["goroutines/conn"] = float64(st.Goroutines-base.Goroutines) / float64(sz.clients)
	out["idle heap+stack KB/conn"] = float64(int64(st.Heap)-int64(base.Heap)) / 1024 / float64(sz.clients)
	if os.Getenv("STREAMKIT_BENCH_SSE_IDLE_ONLY") != "" { // for quick looks at the idle rows
		if d, _ := time.ParseDuration(os.Getenv("STREAMKIT_BENCH_SSE_PAUSE")); d > 0 { // time to inspect the server process
			fmt.Fprintf(os.Stderr, "bench: sse %s idle: pausing %v (heap profile: http://%s/heap)\n", impl, d, p.addr)
			time.Sleep(d)
		}
		return out, nil
	}

	pacedOnly := os.Getenv("STREAMKIT_BENCH_SSE_PACED_ONLY") != "" // for profiling the paced rows
	// Burst: sz.burst events of 64 B, unthrottled.
	burst := sz.burst
	if pacedOnly {
		burst = 0
	}
	start0 := sumCounts(clients)
	per := make([]int64, len(clients))
	for i, c := range clients {
		per[i] = c.count.Load()
	}
	t0 := time.Now()
	if err := p.publish(burst, 64, 0); err != nil {
		return nil, err
	}
	want := start0 + int64(burst*len(clients))
	deadline := time.Now().Add(30 * time.Second)
	var last time.Time
	prev := int64(-1)
	for time.Now().Before(deadline) {
		n := sumCounts(clients)
		if n != prev {
			prev, last = n, time.Now()
		}
		if n >= want || time.Since(last) > 2*time.Second {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	delivered := sumCounts(clients) - start0
	out["burst delivered %"] = 100 * float64(delivered) / float64(sz.burst*len(clients))
	if el := last.Sub(t0).Seconds(); el > 0 {
		out["burst deliveries/s"] = float64(delivered) / el
	}

	// Paced: rate ev/s of 64 B for pacedDur; p99 from the scheduled time.
	// Clients cut during the burst (a drop policy) no longer count.
	var alive []*sseLoadClient
	for _, c := range clients {
		select {
		case <-c.done:
		default:
			alive = append(alive, c)
		}
	}
	for _, c := range alive {
		c.record.Store(true)
	}
	n := int(sz.pacedDur.Seconds() * float64(sz.pacedRate))
	before := make([]int64, len(alive))
	for i, c := range alive {
		before[i] = c.count.Load()
	}
	if err := p.publish(n, 64, sz.pacedRate); err != nil {
		return nil, err
	}
	time.Sleep(sz.pacedDur + min(sz.settle, time.Second))
	out["paced p99 ms"] = p99(alive)
	for _, c := range clients {
		c.close()
	}
	clients = clients[:0]
	if pacedOnly {
		return out, nil
	}

	// Stalled: readers plus one socket that never reads.
	stalled, err := dialSSE(p.addr, true)
	if err != nil {
		return nil, err
	}
	defer stalled.close()
	readers := make([]*sseLoadClient, 0, sz.stallReaders)
	for range sz.stallReaders {
		c, err := dialSSE(p.addr, false)
		if err != nil {
			return nil, err
		}
		readers = append(readers, c)
		clients = append(clients, c)
	}
	for i := 0; ; i++ {
		if err := p.publish(1, 64, 0); err != nil {
			return nil, err
		}
		if _, ok := waitCount(ctx, readers, 1, 200*time.Millisecond); ok {
			break
		}
		if i > 150 {
			return nil, errors.New("stalled scenario: readers did not connect")
		}
	}
	time.Sleep(200 * time.Millisecond)
	for _, c := range readers {
		c.count.Store(0)
		c.record.Store(true)
	}
	if err := p.publish(sz.stallEvents, sz.stallSize, sz.stallRate); err != nil {
		return nil, err
	}
	pubTime := time.Duration(sz.stallEvents) * time.Second / time.Duration(sz.stallRate)
	waitCount(ctx, readers, int64(sz.stallEvents), pubTime+sz.settle)
	out["stalled: healthy delivered %"] = 100 * float64(sumCounts(readers)) / float64(sz.stallEvents*len(readers))
	out["stalled: healthy p99 ms"] = p99(readers)
	return out, nil
}

// sseFanoutScenario: one event to many clients (10,000; one load process
// holds them, within its 20,000 descriptors): the time until the last
// client has it, from the scheduled send time. Median of 5 events.
func sseFanoutScenario(ctx context.Context, cfg Config) ([]Row, error) {
	defer sseOwnCore()()
	clients := 10000
	if cfg.Short {
		clients = 50
	}
	if v, _ := strconv.Atoi(os.Getenv("STREAMKIT_BENCH_SSE_FANOUT")); v > 0 {
		clients = v
	}
	// "floor" is not a peer: one goroutine writing the event to every
	// socket in turn (no HTTP after the response head), the least a server
	// process can spend here.
	impls := append([]string{"streamkit", "streamkit-hd"}, append(ssePeers, "floor")...)
	if v := os.Getenv("STREAMKIT_BENCH_SSE_IMPLS"); v != "" {
		impls = strings.Split(v, ",")
	}
	res := map[string]float64{}
	for _, impl := range impls {
		v, err := sseFanout(ctx, impl, clients, cfg.Short)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", impl, err)
		}
		res[impl] = v
		fmt.Fprintf(os.Stderr, "bench: sse/fanout %s: last delivery %.1f ms\n", impl, v)
	}
	var rows []Row
	for _, peer := range append(ssePeers, "floor") {
		if _, ok := res[peer]; !ok {
			continue
		}
		rows = append(rows, Row{Scenario: "sse/fanout", Metric: fmt.Sprintf("one event to C=%d: last delivery ms", clients),
			Goal: Lower, Ours: res["streamkit"], Peer: peer, PeerVal: res[peer]})
	}
	if hd, ok := res["streamkit-hd"]; ok {
		for _, peer := range []string{"go-sse", "floor"} {
			if _, ok := res[peer]; ok {
				rows = append(rows, Row{Scenario: "sse/fanout", Metric: fmt.Sprintf("one event to C=%d: last delivery ms [high-density]", clients),
					Goal: Lower, Ours: hd, Peer: peer, PeerVal: res[peer]})
			}
		}
	}
	return rows, nil
}

func sseFanout(ctx context.Context, impl string, n int, short bool) (float64, error) {
	rounds, pause := 5, 200*time.Millisecond
	if short {
		rounds, pause = 1, 20*time.Millisecond
	}
	p, err := startSSEServer(impl)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	clients := make([]*sseLoadClient, 0, n)
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	for range n {
		c, err := dialSSESize(p.addr, false, 4096)
		if err != nil {
			return 0, err
		}
		clients = append(clients, c)
	}
	for i := 0; ; i++ {
		if err := p.publish(1, 64, 0); err != nil {
			return 0, err
		}
		if _, ok := waitCount(ctx, clients, 1, 5*pause); ok {
			break
		}
		if i > 120 {
			return 0, fmt.Errorf("clients did not all receive the first event (%d/%d)", sumCounts(clients), n)
		}
	}
	time.Sleep(2 * pause)
	var spans []float64
	for range rounds {
		target := make([]int64, len(clients))
		for i, c := range clients {
			c.mu.Lock()
			c.lat = c.lat[:0]
			c.mu.Unlock()
			c.record.Store(true)
			target[i] = c.count.Load() + 1
		}
		if err := p.publish(1, 64, 0); err != nil {
			return 0, err
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			done := true
			for i, c := range clients {
				if c.count.Load() < target[i] {
					done = false
					break
				}
			}
			if done {
				break
			}
			time.Sleep(time.Millisecond)
		}
		var worst time.Duration
		for _, c := range clients {
			c.record.Store(false)
			c.mu.Lock()
			for _, l := range c.lat {
				worst = max(worst, l)
			}
			c.mu.Unlock()
		}
		spans = append(spans, float64(worst)/1e6)
		time.Sleep(pause)
	}
	slices.Sort(spans)
	return spans[len(spans)/2], nil
}
