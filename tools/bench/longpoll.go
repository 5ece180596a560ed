package main

// The long-poll scenario: our longpoll.Broker against golongpoll v1.3.1's
// LongpollManager, each in its own server process (pinned to CPU 1, one P),
// driven by the same load from this process (pinned to CPU 0):
//
//   - memory per waiting poll, at 5,000 and 9,000 waiters on one category;
//   - publish-to-delivery p50/p99 with 1,000 waiters on one category;
//   - server CPU per delivered event, 100 categories x 10 subscribers;
//   - gaps, duplicates and reorderings seen by every subscriber;
//   - the timeout-boundary race: 400 of golongpoll's own clients with a 1 s
//     timeout, one publish every second plus a few ms of drift, 20 s, five
//     runs: deliveries missing.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	glpclient "github.com/jcuga/golongpoll/client"
)

func longpollScenarios() []Scenario {
	return []Scenario{{Name: "longpoll", Peers: "golongpoll v1.3.1", Run: runLongpoll}}
}

type lpSizes struct {
	idle          []int
	settle        time.Duration
	latN, latMsgs int
	cpuCats       int
	cpuSubs       int
	cpuDur        time.Duration
	raceClients   int
	raceEvents    int
	raceRuns      int
	rounds        int // latency and CPU are measured this many times, interleaved; the best counts
}

func runLongpoll(ctx context.Context, cfg Config) ([]Row, error) {
	sz := lpSizes{idle: []int{5000, 9000}, settle: 2 * time.Second, latN: 1000, latMsgs: 30,
		cpuCats: 100, cpuSubs: 10, cpuDur: 5 * time.Second, raceClients: 400, raceEvents: 20, raceRuns: 5, rounds: 3}
	if cfg.Short {
		sz = lpSizes{idle: []int{50}, settle: 50 * time.Millisecond, latN: 20, latMsgs: 2,
			cpuCats: 4, cpuSubs: 2, cpuDur: 300 * time.Millisecond, raceClients: 10, raceEvents: 2, raceRuns: 1, rounds: 1}
	}
	pinSelf()
	// STREAMKIT_BENCH_LP_ROWS=idle,latency,cpu,race picks row groups.
	only := os.Getenv("STREAMKIT_BENCH_LP_ROWS")
	want := func(g string) bool { return only == "" || strings.Contains(only, g) }
	impls := []string{"streamkit", "golongpoll"}
	// The net/http path of ours (DisableConnParking) is measured too,
	// unless STREAMKIT_BENCH_LP_NETHTTP=0; not in the race rows.
	measured := impls
	if os.Getenv("STREAMKIT_BENCH_LP_NETHTTP") != "0" {
		measured = append([]string{"streamkit-nethttp"}, impls...)
	}
	res := map[string]map[string]float64{}
	var metrics []string
	set := func(m, impl string, v float64) {
		if res[m] == nil {
			res[m] = map[string]float64{}
			metrics = append(metrics, m)
		}
		res[m][impl] = v
	}
	if want("idle") {
		for _, n := range sz.idle {
			for _, impl := range measured {
				kb, g, err := lpIdle(ctx, impl, n, sz.settle)
				if err != nil {
					return nil, fmt.Errorf("%s idle %d: %w", impl, n, err)
				}
				set(fmt.Sprintf("RSS KB per waiting poll (%d waiting)", n), impl, kb)
				set(fmt.Sprintf("goroutines per waiting poll (%d waiting)", n), impl, g)
			}
		}
	}
	// best keeps the best value over the rounds (the machine is shared, so
	// the least disturbed run is the fairest); bad counts are summed.
	best := func(m, impl string, v float64, higher bool) {
		old, ok := res[m][impl]
		if !ok || (higher && v > old) || (!higher && v < old) {
			set(m, impl, v)
		}
	}
	sum := func(m, impl string, v float64) { set(m, impl, res[m][impl]+v) }
	for range sz.rounds {
		if want("latency") {
			for _, impl := range measured {
				r, err := lpFanout(ctx, impl, 1, sz.latN, sz.latMsgs, 0)
				if err != nil {
					return nil, fmt.Errorf("%s latency: %w", impl, err)
				}
				pre := fmt.Sprintf("publish-to-delivery, %d waiters on 1 category: ", sz.latN)
				best(pre+"p50 ms", impl, r.p50, false)
				best(pre+"p99 ms", impl, r.p99, false)
				sum(pre+"gaps+dups+reorders (all rounds)", impl, float64(r.bad))
			}
		}
		if want("cpu") {
			for _, impl := range measured {
				r, err := lpFanout(ctx, impl, sz.cpuCats, sz.cpuSubs, 0, sz.cpuDur)
				if err != nil {
					return nil, fmt.Errorf("%s cpu: %w", impl, err)
				}
				pre := fmt.Sprintf("%d categories x %d subscribers: ", sz.cpuCats, sz.cpuSubs)
				best(pre+"server CPU µs per delivered event", impl, r.cpuPerEvent, false)
				best(pre+"delivered events/s", impl, r.rate, true)
				sum(pre+"gaps+dups+reorders (all rounds)", impl, float64(r.bad))
			}
		}
	}
	if want("race") {
		for _, impl := range impls {
			var total, worst int
			for range sz.raceRuns {
				missing, err := lpRace(ctx, impl, sz.raceClients, sz.raceEvents)
				if err != nil {
					return nil, fmt.Errorf("%s race: %w", impl, err)
				}
				total += missing
				worst = max(worst, missing)
			}
			pre := fmt.Sprintf("timeout-boundary race, %d clients x %d events x %d runs: ", sz.raceClients, sz.raceEvents, sz.raceRuns)
			set(pre+"missing deliveries (total)", impl, float64(total))
			set(pre+"missing deliveries (worst run)", impl, float64(worst))
		}
	}
	var rows []Row
	for _, m := range metrics {
		goal := Lower
		if strings.Contains(m, "events/s") {
			goal = Higher
		}
		rows = append(rows, Row{Scenario: "longpoll", Metric: m, Goal: goal, Ours: res[m]["streamkit"], Peer: "golongpoll", PeerVal: res[m]["golongpoll"]})
		if v, ok := res[m]["streamkit-nethttp"]; ok {
			rows = append(rows, Row{Scenario: "longpoll", Metric: m + " [ours: net/http path]", Goal: goal, Ours: v, Peer: "golongpoll", PeerVal: res[m]["golongpoll"]})
		}
	}
	return rows, nil
}

// lpProc is a running server process.
type lpProc struct{ *serverProc }

func startLPServer(impl string) (*lpProc, error) {
	p, err := startServerProc(impl, 1, lpServerEnv+"="+impl, "GOMAXPROCS=1")
	if err != nil {
		return nil, err
	}
	return &lpProc{p}, nil
}

func (p *lpProc) stats() (lpStats, error) {
	var s lpStats
	return s, p.getJSON("/stats", &s)
}

// waitActive waits until at least n requests are in progress on the server.
func (p *lpProc) waitActive(ctx context.Context, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		s, err := p.stats()
		if err != nil {
			return err
		}
		if s.Active >= int64(n) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("server never had %d waiting polls", n)
}

func (p *lpProc) publish(hc *http.Client, category string, data any) error {
	body, _ := json.Marshal(map[string]any{"category": category, "data": data})
	resp, err := hc.Post("http://"+p.addr+"/publish", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("publish: %s: %s", resp.Status, b)
	}
	return nil
}

func lpTransport(n int) *http.Transport {
	return &http.Transport{MaxIdleConns: n + 100, MaxIdleConnsPerHost: n + 100, DisableCompression: true,
		IdleConnTimeout: time.Minute}
}

// lpPayload is every benchmark event's data.
type lpPayload struct {
	Seq int   `json:"seq"`
	T   int64 `json:"t"` // publish time, UnixNano
}

type lpEvent struct {
	Timestamp int64     `json:"timestamp"`
	Category  string    `json:"category"`
	Data      lpPayload `json:"data"`
	ID        string    `json:"id"`
	recv      int64     // when the generator read it, UnixNano
}

// lpIdle parks n polls on one category and returns the server's RSS growth
// per poll (KB) and goroutines per poll.
func lpIdle(ctx context.Context, impl string, n int, settle time.Duration) (float64, float64, error) {
	p, err := startLPServer(impl)
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	base, err := p.stats()
	if err != nil {
		return 0, 0, err
	}
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); p.stop(); wg.Wait() }()
	cats := make([]string, n)
	for i := range cats {
		cats[i] = "idle"
	}
	wg.Go(func() { _ = lpPollers(pctx, p.addr, cats, 110, func(int, lpEvent) {}) })
	if err := p.waitActive(ctx, n, 120*time.Second); err != nil {
		return 0, 0, err
	}
	time.Sleep(settle)
	s, err := p.stats()
	if err != nil {
		return 0, 0, err
	}
	if os.Getenv("STREAMKIT_BENCH_LP_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "%s idle %d: heap %.0f B/poll, stack %.0f B/poll\n", impl, n,
			float64(s.Heap-base.Heap)/float64(n), float64(s.Stack-base.Stack)/float64(n))
	}
	return float64(s.RSS-base.RSS) / 1024 / float64(n), float64(s.Goroutines-base.Goroutines) / float64(n), nil
}

type lpFanoutResult struct {
	p50, p99    float64 // ms
	bad         int     // gaps + duplicates + reorderings
	cpuPerEvent float64 // µs
	rate        float64 // delivered events/s
}

// lpFanout runs cats x subs pollers. With msgs > 0 it publishes msgs events
// to category 0, one at a time, each once every poll is parked again
// (latency). With dur > 0 it publishes to every category in rounds for dur
// (CPU per delivered event).
func lpFanout(ctx context.Context, impl string, cats, subs, msgs int, dur time.Duration) (lpFanoutResult, error) {
	var r lpFanoutResult
	p, err := startLPServer(impl)
	if err != nil {
		return r, err
	}
	n := cats * subs
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); p.stop(); wg.Wait() }()
	var mu sync.Mutex
	var lat []float64
	var delivered atomic.Int64
	bad := 0
	names := make([]string, 0, n)
	for c := range cats {
		for range subs {
			names = append(names, "cat-"+strconv.Itoa(c))
		}
	}
	next := make([]int, n)
	wg.Go(func() {
		_ = lpPollers(pctx, p.addr, names, 60, func(i int, ev lpEvent) {
			d := float64(ev.recv-ev.Data.T) / 1e6
			delivered.Add(1)
			mu.Lock()
			lat = append(lat, d)
			if ev.Data.Seq != next[i] {
				bad++
			}
			next[i] = ev.Data.Seq + 1
			mu.Unlock()
		})
	})
	if err := p.waitActive(ctx, n, 120*time.Second); err != nil {
		return r, err
	}
	pub := &http.Client{Transport: lpTransport(64)}
	defer pub.CloseIdleConnections()
	before, err := p.stats()
	if err != nil {
		return r, err
	}
	start := time.Now()
	sent := 0
	if msgs > 0 {
		for k := range msgs {
			if err := p.publish(pub, "cat-0", lpPayload{Seq: k, T: time.Now().UnixNano()}); err != nil {
				return r, err
			}
			sent += subs
			waitFor(func() bool { return delivered.Load() >= int64(sent) }, 10*time.Second)
			if err := p.waitActive(ctx, n, 10*time.Second); err != nil {
				return r, err
			}
			time.Sleep(20 * time.Millisecond)
		}
	} else {
		// Rounds of one event per category, 8 publishers, every 100 ms.
		for k := 0; time.Since(start) < dur; k++ {
			round := time.Now()
			var pw sync.WaitGroup
			var perr atomic.Value
			ch := make(chan int)
			for range 8 {
				pw.Go(func() {
					for c := range ch {
						if err := p.publish(pub, "cat-"+strconv.Itoa(c), lpPayload{Seq: k, T: time.Now().UnixNano()}); err != nil {
							perr.Store(err)
						}
					}
				})
			}
			for c := range cats {
				ch <- c
			}
			close(ch)
			pw.Wait()
			if e, ok := perr.Load().(error); ok {
				return r, e
			}
			sent += cats * subs
			time.Sleep(100*time.Millisecond - time.Since(round))
		}
		waitFor(func() bool { return delivered.Load() >= int64(sent) }, 30*time.Second)
	}
	elapsed := time.Since(start)
	after, err := p.stats()
	if err != nil {
		return r, err
	}
	got := delivered.Load()
	mu.Lock()
	defer mu.Unlock()
	r.bad = bad + int(int64(sent)-got)
	if got > 0 {
		r.cpuPerEvent = float64(after.CPUMicros-before.CPUMicros) / float64(got)
		r.rate = float64(got) / elapsed.Seconds()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return r, nil
}

func waitFor(cond func() bool, within time.Duration) {
	deadline := time.Now().Add(within)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
}

// lpRace is the timeout-boundary race with golongpoll's own client: it
// returns how many of clients x events deliveries never arrived.
func lpRace(ctx context.Context, impl string, clients, events int) (int, error) {
	p, err := startLPServer(impl)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	tr := lpTransport(clients)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	sub, _ := url.Parse("http://" + p.addr + "/events")
	var stopped atomic.Bool
	got := make([]map[int]bool, clients)
	var wg sync.WaitGroup
	var received atomic.Int64
	start := time.Now()
	for i := range clients {
		c, err := glpclient.NewClient(glpclient.ClientOptions{SubscribeUrl: *sub, Category: "race", PollTimeoutSeconds: 1,
			ReattemptWaitSeconds: 1, HttpClient: hc, OnFailure: func(error) bool { return !stopped.Load() }})
		if err != nil {
			return 0, err
		}
		got[i] = map[int]bool{}
		ch := c.Start(start)
		wg.Go(func() {
			for ev := range ch {
				b, _ := json.Marshal(ev.Data)
				var pl lpPayload
				if json.Unmarshal(b, &pl) == nil && !got[i][pl.Seq] {
					got[i][pl.Seq] = true
					received.Add(1)
				}
			}
		})
	}
	pub := &http.Client{Transport: lpTransport(4)}
	defer pub.CloseIdleConnections()
	// golongpoll's client truncates Start to whole seconds: publish after that second.
	time.Sleep(1100*time.Millisecond - time.Since(start)%time.Second)
	for k := range events {
		if err := p.publish(pub, "race", lpPayload{Seq: k, T: time.Now().UnixNano()}); err != nil {
			return 0, err
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(time.Second + time.Duration(k%3)*time.Millisecond)
	}
	// Every client gets a few poll cycles to receive the last event.
	waitFor(func() bool { return received.Load() >= int64(clients*events) }, 5*time.Second)
	// Not Client.Stop: it races with the client's own loop and drops what
	// a poll in flight brings back. The clients end when the server does.
	stopped.Store(true)
	p.stop()
	wg.Wait()
	missing := 0
	for i := range clients {
		for k := range events {
			if !got[i][k] {
				missing++
			}
		}
	}
	return missing, nil
}
