package main

// WebSocket scenarios: our ws module (gorilla underneath) against raw
// gorilla/websocket written as its chat example teaches, olahol/melody and
// coder/websocket. Each server runs in its own process (this binary,
// re-executed with STREAMKIT_BENCH_WS_SERVER, see ws_server.go), pinned to
// CPU 1 with taskset when there is one; this process is the load generator,
// pinned to CPU 0. Every connection costs one file descriptor on each side,
// so sizes stay under the 20,000 fds a process may hold here.
//
// Rows: idle RSS per connection (10,000 held), broadcast deliveries/s and
// delivery p99 (100 x 128 B to 1,000 and 5,000 clients), echo p50/p99 (64 B,
// 4 KiB, and 64 B with 5,000 idle connections open).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

var wsPeers = []string{"gorilla", "melody", "coder"}

func wsScenarios() []Scenario {
	return []Scenario{{Name: "ws", Peers: strings.Join(wsPeers, ", "), Run: runWS}}
}

// wsSizes are the run's sizes; -short shrinks them to a smoke test.
type wsSizes struct {
	idle       int
	bcast      []int
	bcastMsgs  int
	echoN      int
	echoIdle   int
	settleIdle time.Duration
	rounds     int // broadcast and echo are measured this many times (broadcast: the best counts; echo: the rounds are pooled)
}

func runWS(ctx context.Context, cfg Config) ([]Row, error) {
	sz := wsSizes{idle: 10000, bcast: []int{1000, 5000}, bcastMsgs: 100, echoN: 20000, echoIdle: 5000, settleIdle: time.Second, rounds: 3}
	if cfg.Short {
		sz = wsSizes{idle: 50, bcast: []int{20}, bcastMsgs: 5, echoN: 50, echoIdle: 20, settleIdle: 10 * time.Millisecond, rounds: 1}
	}
	if pinSelf() {
		// The runtime sized GOMAXPROCS before the pin: two Ps on one CPU
		// make two threads take turns at the clients' reads, which adds a
		// context switch to some round trips. One CPU, one P, for this
		// scenario.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	impls := append([]string{"streamkit"}, wsPeers...)
	// STREAMKIT_BENCH_WS_ROWS=idle,broadcast,echo picks row groups (all by
	// default) for a quicker look at one of them.
	only := os.Getenv("STREAMKIT_BENCH_WS_ROWS")
	want := func(group string) bool { return only == "" || strings.Contains(only, group) }
	results := map[string]map[string]float64{} // metric -> impl -> value
	set := func(metric, impl string, v float64) {
		if results[metric] == nil {
			results[metric] = map[string]float64{}
		}
		results[metric][impl] = v
	}
	var metrics []string
	add := func(m string) {
		if !slices.Contains(metrics, m) {
			metrics = append(metrics, m)
		}
	}
	// best keeps the best value seen for a metric over the rounds: the
	// machine is shared, so the least disturbed run is the fairest one.
	best := func(metric, impl string, v float64, higher bool) {
		add(metric)
		old, ok := results[metric][impl]
		if !ok || (higher && v > old) || (!higher && v < old) {
			set(metric, impl, v)
		}
	}
	echoAll := map[string][]echoResult{} // label -> impl -> every round's round trips
	var echoLabels []string
	if want("idle") {
		for _, impl := range impls {
			kb, err := wsIdle(ctx, impl, sz.idle, sz.settleIdle)
			if err != nil {
				return nil, fmt.Errorf("%s idle: %w", impl, err)
			}
			best(fmt.Sprintf("idle KB/conn (%d conns)", sz.idle), impl, kb, false)
		}
	}
	// Each broadcast and echo measurement gets a fresh server process, so
	// one's garbage does not land in the next; with -short they share one
	// per implementation (a process start costs ~1 s under the race
	// detector, and -short numbers are not results).
	for range sz.rounds {
		if !want("broadcast") && !want("echo") {
			break
		}
		for _, impl := range impls { // interleaved, so drift in load hits all alike
			var shared *wsProc
			server := func() (*wsProc, func(), error) {
				if !cfg.Short {
					p, err := startWSServer(impl)
					if err != nil {
						return nil, nil, err
					}
					return p, p.stop, nil
				}
				if shared == nil {
					var err error
					if shared, err = startWSServer(impl); err != nil {
						return nil, nil, err
					}
				}
				return shared, func() {}, nil
			}
			err := func() error {
				for _, n := range sz.bcast {
					if !want("broadcast") {
						break
					}
					p, done, err := server()
					if err != nil {
						return err
					}
					rate, p99, cpu, dropped, err := wsBroadcast(ctx, p, n, sz.bcastMsgs, 128)
					done()
					if err != nil {
						return fmt.Errorf("%s broadcast %d: %w", impl, n, err)
					}
					prefix := fmt.Sprintf("broadcast %dx128B to %d: ", sz.bcastMsgs, n)
					best(prefix+"deliveries/s", impl, rate, true)
					best(prefix+"p99 ms", impl, p99, false)
					best(prefix+"server CPU µs/delivery", impl, cpu, false)
					// Drops are a failure of the run, not noise: keep the worst.
					add(prefix + "dropped")
					set(prefix+"dropped", impl, max(results[prefix+"dropped"][impl], float64(dropped)))
				}
				return nil
			}()
			if shared != nil {
				shared.stop()
			}
			if err != nil {
				return nil, err
			}
		}
		if !want("echo") {
			continue
		}
		// Echo: every implementation's server runs at once and the round
		// trips alternate between them in short blocks (see wsEcho), so a
		// change in the machine's load hits all of them alike.
		err := func() error {
			procs := make([]*wsProc, len(impls))
			defer func() {
				for _, p := range procs {
					if p != nil {
						p.stop()
					}
				}
			}()
			for i, impl := range impls {
				p, err := startWSServer(impl)
				if err != nil {
					return err
				}
				procs[i] = p
			}
			for _, e := range []struct {
				size, idle int
			}{{64, 0}, {4096, 0}, {64, sz.echoIdle}} {
				label := fmt.Sprintf("echo %dB", e.size)
				if e.idle > 0 {
					label += fmt.Sprintf(" (+%d idle)", e.idle)
				}
				res, err := wsEcho(ctx, procs, e.size, sz.echoN, e.idle, sz.settleIdle)
				if err != nil {
					return fmt.Errorf("echo %d: %w", e.size, err)
				}
				if echoAll[label] == nil {
					echoLabels = append(echoLabels, label)
					echoAll[label] = make([]echoResult, len(impls))
				}
				for i, impl := range impls {
					// Each round on stderr; the table pools the rounds.
					p50, p99, cpu := res[i].figures()
					fmt.Fprintf(os.Stderr, "ws %s %s: p50 %.1f µs, p99 %.1f µs, server CPU %.1f µs/msg\n", label, impl, p50, p99, cpu)
					all := &echoAll[label][i]
					all.rtt = append(all.rtt, res[i].rtt...)
					all.cpu += res[i].cpu
					all.served += res[i].served
				}
			}
			return nil
		}()
		if err != nil {
			return nil, err
		}
	}
	// Echo figures pool every round's round trips. Best-of-rounds would take
	// each implementation's figure from its own luckiest round, so two
	// implementations' figures could come from different rounds with the
	// machine in different states; pooled, every implementation's figure
	// covers the same interleaved span of time.
	for _, label := range echoLabels {
		for i, impl := range impls {
			p50, p99, cpu := echoAll[label][i].figures()
			best(label+" p50 µs", impl, p50, false)
			best(label+" p99 µs", impl, p99, false)
			best(label+" server CPU µs/msg", impl, cpu, false)
		}
	}
	var rows []Row
	for _, m := range metrics {
		goal := Lower
		if strings.Contains(m, "deliveries/s") {
			goal = Higher
		}
		for _, p := range wsPeers {
			rows = append(rows, Row{Scenario: "ws", Metric: m, Goal: goal, Ours: results[m]["streamkit"], Peer: p, PeerVal: results[m][p]})
		}
	}
	return rows, nil
}

// pinSelf puts the load generator on CPU 0 (the server gets CPU 1) and
// reports whether it did.
func pinSelf() bool {
	if _, err := exec.LookPath("taskset"); err != nil {
		return false
	}
	return exec.Command("taskset", "-a", "-p", "-c", "0", strconv.Itoa(os.Getpid())).Run() == nil
}

// wsProc is a running server process.
type wsProc struct{ *serverProc }

func startWSServer(impl string) (*wsProc, error) {
	p, err := startServerProc(impl, 1, wsServerEnv+"="+impl)
	if err != nil {
		return nil, err
	}
	return &wsProc{p}, nil
}

// stats reads the server's counters; memory ones only with gc (it forces a
// collection and returns freed memory to the OS first, which is slow).
func (p *wsProc) stats(gc ...bool) (wsStats, error) {
	var s wsStats
	q := ""
	if len(gc) > 0 && gc[0] {
		q = "?gc=1"
	}
	return s, p.getJSON("/stats"+q, &s)
}

// gc has the server run a garbage collection (no scavenge).
func (p *wsProc) gc() error {
	var s wsStats
	return p.getJSON("/gc", &s)
}

// waitConns waits until the server reports n connections.
func (p *wsProc) waitConns(n int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s, err := p.stats()
		if err != nil {
			return err
		}
		if s.Conns == n {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("server never reported %d connections", n)
}

// wsClients is the load generator's connections; each has a reader.
type wsClients struct {
	conns []*websocket.Conn
	wg    sync.WaitGroup
}

// dialMany opens n connections; onMsg (if not nil) sees every message.
func dialMany(ctx context.Context, addr string, n int, onMsg func(i int, data []byte)) (*wsClients, error) {
	cs := &wsClients{}
	d := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: 30 * time.Second}
	for i := range n {
		c, _, err := d.DialContext(ctx, "ws://"+addr+"/ws", nil)
		if err != nil {
			cs.close()
			return nil, fmt.Errorf("dial %d of %d: %w", i+1, n, err)
		}
		cs.conns = append(cs.conns, c)
		cs.wg.Go(func() {
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				if onMsg != nil {
					onMsg(i, data)
				}
			}
		})
	}
	return cs, nil
}

func (cs *wsClients) close() {
	for _, c := range cs.conns {
		_ = c.Close()
	}
	cs.wg.Wait()
}

// wsIdle measures the server's RSS growth per idle connection.
func wsIdle(ctx context.Context, impl string, n int, settle time.Duration) (float64, error) {
	p, err := startWSServer(impl)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	before, err := p.stats(true)
	if err != nil {
		return 0, err
	}
	cs, err := dialMany(ctx, p.addr, n, nil)
	if err != nil {
		return 0, err
	}
	defer cs.close()
	if err := p.waitConns(n); err != nil {
		return 0, err
	}
	time.Sleep(settle)
	after, err := p.stats(true)
	if err != nil {
		return 0, err
	}
	if os.Getenv("STREAMKIT_BENCH_WS_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "ws idle %s: heap %.2f KB/conn, stack %.2f KB/conn, goroutines %d\n", impl,
			float64(int64(after.Heap)-int64(before.Heap))/float64(n)/1024,
			float64(int64(after.Stack)-int64(before.Stack))/float64(n)/1024, after.Goroutines-before.Goroutines)
		// The heap profile (every allocation sampled) for go tool pprof.
		if resp, err := http.Get("http://" + p.addr + "/debug/heap"); err == nil {
			name := filepath.Join(os.TempDir(), "ws-idle-heap-"+impl+".pb.gz")
			if f, err := os.Create(name); err == nil {
				_, _ = io.Copy(f, resp.Body)
				_ = f.Close()
				fmt.Fprintf(os.Stderr, "ws idle %s: heap profile in %s\n", impl, name)
			}
			_ = resp.Body.Close()
		}
	}
	return float64(int64(after.RSS)-int64(before.RSS)) / float64(n) / 1024, nil
}

// wsBroadcast has the server send msgs messages of size bytes to n clients
// and measures deliveries/s (first send to last delivery), the p99 of the
// per-delivery latency in ms, and how many deliveries never arrived.
func wsBroadcast(ctx context.Context, p *wsProc, n, msgs, size int) (rate, p99, cpu float64, dropped int, err error) {
	// Leave the server empty for the next measurement on it.
	defer func() { _ = p.waitConns(0) }()
	total := n * msgs
	var got atomic.Int64
	lat := make([][]int64, n) // per client, so no lock is needed
	for i := range lat {
		lat[i] = make([]int64, 0, msgs)
	}
	var last atomic.Int64
	done := make(chan struct{})
	cs, err := dialMany(ctx, p.addr, n, func(i int, data []byte) {
		now := time.Now().UnixNano()
		if len(data) >= 8 {
			lat[i] = append(lat[i], now-int64(binary.LittleEndian.Uint64(data)))
		}
		last.Store(now)
		if got.Add(1) == int64(total) {
			close(done)
		}
	})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer cs.close()
	if err := p.waitConns(n); err != nil {
		return 0, 0, 0, 0, err
	}
	before, err := p.stats()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	start := time.Now()
	resp, err := http.Get(fmt.Sprintf("http://%s/broadcast?n=%d&size=%d", p.addr, msgs, size))
	if err != nil {
		return 0, 0, 0, 0, err
	}
	resp.Body.Close()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
		return 0, 0, 0, 0, ctx.Err()
	}
	received := got.Load()
	after, err := p.stats()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	cpu = float64((after.CPU - before.CPU).Nanoseconds()) / 1e3 / float64(max(received, 1))
	if received == 0 {
		return 0, 0, 0, total, errors.New("no message delivered")
	}
	elapsed := time.Duration(last.Load() - start.UnixNano())
	var all []int64
	for i := range lat {
		all = append(all, lat[i]...)
	}
	slices.Sort(all)
	p99 = float64(all[len(all)*99/100]) / 1e6
	return float64(received) / elapsed.Seconds(), p99, cpu, total - int(received), nil
}

// echoResult is one implementation's echo round trips and the server CPU
// time they took (warm-ups included in served).
type echoResult struct {
	rtt    []time.Duration
	cpu    time.Duration
	served int
}

// figures are the p50 and p99 round trip and the server CPU per message,
// in µs.
func (r echoResult) figures() (p50, p99, cpu float64) {
	rtt := slices.Clone(r.rtt)
	slices.Sort(rtt)
	n := len(rtt)
	return float64(rtt[n/2].Nanoseconds()) / 1e3, float64(rtt[n*99/100].Nanoseconds()) / 1e3,
		float64(r.cpu.Nanoseconds()) / 1e3 / float64(max(r.served, 1))
}

// How wsEcho interleaves the servers. All of them share CPU 1, so what one
// server still does after its reply (parking its goroutines, a GC cycle,
// its runtime looking for work) runs while the next server handles its
// message. With the round trips alternating one by one in a fixed rotation
// that cost landed on the next implementation in the rotation every time
// (ours always followed coder/websocket, the most expensive one). So the
// round trips go in blocks to one server at a time, the blocks of a cycle
// in a fresh random order, and before every block the core gets a short
// pause to finish the previous server's leftovers and the next server gets
// a few unrecorded round trips to wake up. Within a block a server sees
// back-to-back requests, as it would on a core of its own; blocks are short
// (tens of ms), so a change in the machine's load still hits all alike.
const (
	echoBlock     = 200
	echoBlockWarm = 10
	echoBlockGap  = 2 * time.Millisecond
)

// wsEcho measures sequential round trips of size bytes on every server in
// procs, interleaved in blocks (see echoBlock), with idle other connections
// open on each. The idle connections are held by child processes (one per
// server), as one process may hold only ~20,000 file descriptors. Every
// measurement starts from the same state for every server: the idle
// connections are open and settled, then each server and this process run
// a garbage collection, so no implementation pays for another's (or for
// the setup's) garbage.
func wsEcho(ctx context.Context, procs []*wsProc, size, n, idle int, settle time.Duration) ([]echoResult, error) {
	defer func() {
		for _, p := range procs {
			_ = p.waitConns(0)
		}
	}()
	if idle > 0 {
		for _, p := range procs {
			h, err := startServerProc("idle holder", 0, fmt.Sprintf("%s=%s %d", wsHoldEnv, p.addr, idle))
			if err != nil {
				return nil, err
			}
			defer h.stop()
			if err := p.waitConns(idle); err != nil {
				return nil, err
			}
		}
	}
	d := websocket.Dialer{ReadBufferSize: 8192, WriteBufferSize: 8192}
	conns := make([]*websocket.Conn, len(procs))
	for i, p := range procs {
		c, _, err := d.DialContext(ctx, "ws://"+p.addr+"/ws", nil)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		conns[i] = c
	}
	msg := make([]byte, size)
	roundTrip := func(c *websocket.Conn) (time.Duration, error) {
		t0 := time.Now()
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			return 0, err
		}
		_, data, err := c.ReadMessage()
		if err != nil {
			return 0, err
		}
		if len(data) != size {
			return 0, fmt.Errorf("echo returned %d bytes, want %d", len(data), size)
		}
		return time.Since(t0), nil
	}
	for range min(n/10, 1000) { // warm up
		for _, c := range conns {
			if _, err := roundTrip(c); err != nil {
				return nil, err
			}
		}
	}
	time.Sleep(settle)
	for _, p := range procs {
		if err := p.gc(); err != nil {
			return nil, err
		}
	}
	runtime.GC()
	before := make([]wsStats, len(procs))
	for i, p := range procs {
		var err error
		if before[i], err = p.stats(); err != nil {
			return nil, err
		}
	}
	rtt := make([][]time.Duration, len(procs))
	for i := range rtt {
		rtt[i] = make([]time.Duration, 0, n)
	}
	served := make([]int, len(procs)) // round trips in the CPU figure, warm-ups included
	rng := rand.New(rand.NewPCG(uint64(size), uint64(idle)))
	for len(rtt[0]) < n {
		for _, i := range rng.Perm(len(procs)) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			time.Sleep(echoBlockGap)
			for range echoBlockWarm {
				if _, err := roundTrip(conns[i]); err != nil {
					return nil, err
				}
			}
			k := min(echoBlock, n-len(rtt[i]))
			for range k {
				d, err := roundTrip(conns[i])
				if err != nil {
					return nil, err
				}
				rtt[i] = append(rtt[i], d)
			}
			served[i] += echoBlockWarm + k
		}
	}
	res := make([]echoResult, len(procs))
	for i, p := range procs {
		after, err := p.stats()
		if err != nil {
			return nil, err
		}
		res[i] = echoResult{rtt: rtt[i], cpu: after.CPU - before[i].CPU, served: served[i]}
	}
	return res, nil
}
