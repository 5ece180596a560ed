package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
	"github.com/streamkit-dev/streamkit/tools/internal/scaleout"
)

// The scale-out scenario measures the demo server (SSE ticker topic) run as
// three processes over one redis-server, in scale-out mode (eventstore/fanout
// over redisstore), against the same load on one process with the memory
// store. Subscribers are spread round-robin over the processes (as an L4
// load balancer would; no proxy in the measured path); a publisher POSTs
// events round-robin to the processes too, each carrying its send time.
// Latency is publish start to delivery at a subscriber; events/s is
// deliveries over the time from the first publish to the last delivery.
// The processes are this binary started again (scaleout.RunIfChild).

func init() { scaleout.RunIfChild() }

func scaleoutScenarios() []Scenario {
	return []Scenario{{Name: "scaleout/sse-3proc-redis", Peers: "1 process, memory store", Run: scaleoutRun}}
}

func scaleoutRun(ctx context.Context, cfg Config) ([]Row, error) {
	sizes := []int{1000, 10000}
	events := 200
	if cfg.Short {
		sizes, events = []int{60}, 10
	}
	var rows []Row
	for _, subs := range sizes {
		if subs >= 10000 && ctx.Err() == nil {
			events = 50
		}
		multi, err := scaleoutMeasure(ctx, 3, true, subs, events)
		if err != nil {
			return nil, fmt.Errorf("3 processes, %d subscribers: %w", subs, err)
		}
		single, err := scaleoutMeasure(ctx, 1, false, subs, events)
		if err != nil {
			return nil, fmt.Errorf("1 process, %d subscribers: %w", subs, err)
		}
		name, peer := "scaleout/sse-3proc-redis", "1 process, memory"
		m := fmt.Sprintf("%d subscribers: ", subs)
		rows = append(rows,
			Row{Scenario: name, Metric: m + "p50 ms", Goal: Lower, Ours: multi.p50, Peer: peer, PeerVal: single.p50},
			Row{Scenario: name, Metric: m + "p99 ms", Goal: Lower, Ours: multi.p99, Peer: peer, PeerVal: single.p99},
			Row{Scenario: name, Metric: m + "delivered events/s", Goal: Higher, Ours: multi.rate, Peer: peer, PeerVal: single.rate},
		)
	}
	return rows, nil
}

type scaleoutResult struct{ p50, p99, rate float64 }

func scaleoutMeasure(ctx context.Context, procs int, redis bool, subs, events int) (res scaleoutResult, err error) {
	args := []string{"-tick", "0"}
	if redis {
		rs, err := redistest.Start(redistest.Config{})
		if err != nil {
			return res, err
		}
		defer func() { _ = rs.Stop() }()
		args = append(args, "-store", "redis://"+rs.Addr())
	}
	var demos []*scaleout.Demo
	defer func() {
		for _, d := range demos {
			d.Stop()
		}
	}()
	for range procs {
		d, err := scaleout.StartDemo(args...)
		if err != nil {
			return res, err
		}
		demos = append(demos, d)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	var (
		mu        sync.Mutex
		lat       = make([]float64, 0, subs*events)
		delivered atomic.Int64
		lastAt    atomic.Int64
		connected sync.WaitGroup
		wg        sync.WaitGroup
		failed    atomic.Pointer[error]
	)
	want := int64(subs * events)
	all := make(chan struct{})
	connected.Add(subs)
	for i := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]float64, 0, events)
			defer func() {
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, demos[i%procs].URL+"/sse/ticker", nil)
			resp, err := hc.Do(req)
			if err != nil {
				failed.CompareAndSwap(nil, &err)
				connected.Done()
				return
			}
			defer resp.Body.Close()
			connected.Done()
			sc := bufio.NewScanner(resp.Body)
			n := 0
			for sc.Scan() {
				line := sc.Bytes()
				rest, ok := bytes.CutPrefix(line, []byte("data: "))
				if !ok {
					continue
				}
				var p struct {
					T int64 `json:"t"`
				}
				if json.Unmarshal(rest, &p) != nil || p.T == 0 {
					continue
				}
				now := time.Now().UnixNano()
				local = append(local, float64(now-p.T)/1e6)
				lastAt.Store(now)
				if delivered.Add(1) == want {
					close(all)
				}
				if n++; n == events {
					return
				}
			}
		}()
	}
	connected.Wait()
	if e := failed.Load(); e != nil {
		return res, *e
	}
	// Every subscriber is registered (and every process follows) once the
	// processes count them.
	if err := waitSSE(ctx, hc, demos, subs); err != nil {
		return res, err
	}
	start := time.Now()
	const publishers = 4
	var pub sync.WaitGroup
	var next atomic.Int64
	for range publishers {
		pub.Add(1)
		go func() {
			defer pub.Done()
			for {
				i := next.Add(1)
				if i > int64(events) {
					return
				}
				body := `{"n":` + strconv.FormatInt(i, 10) + `,"t":` + strconv.FormatInt(time.Now().UnixNano(), 10) + `}`
				for ctx.Err() == nil {
					resp, err := hc.Post(demos[int(i)%procs].URL+"/sse/ticker", "application/json", strings.NewReader(body))
					if err == nil {
						_ = resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							break
						}
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	pub.Wait()
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		cancel()
		wg.Wait()
		return res, fmt.Errorf("%d of %d deliveries after 2 minutes", delivered.Load(), want)
	case <-ctx.Done():
		wg.Wait()
		return res, ctx.Err()
	}
	elapsed := time.Duration(lastAt.Load() - start.UnixNano())
	cancel()
	wg.Wait()
	slices.Sort(lat)
	if len(lat) == 0 {
		return res, errors.New("no deliveries")
	}
	res.p50 = lat[len(lat)/2]
	res.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	res.rate = float64(len(lat)) / elapsed.Seconds()
	return res, nil
}

// waitSSE waits until the processes together hold n SSE connections.
func waitSSE(ctx context.Context, hc *http.Client, demos []*scaleout.Demo, n int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		total := 0
		for _, d := range demos {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+"/stats", nil)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			var s struct {
				Connections map[string]int `json:"connections"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&s)
			_ = resp.Body.Close()
			total += s.Connections["sse"]
		}
		if total >= n {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("SSE connections did not reach %d", n)
}
