package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
)

// The redisstore scenarios compare the Redis Streams store with go-redis
// doing the raw commands itself on the same redis-server (no persistence, so
// the store's overhead is what is measured, not the disk): XADD with MAXLEN ~
// trimming for appends, and an XADD + XREAD BLOCK loop for follow latency.
// The store does more per append (a Lua script that also keeps the
// predecessor ID, byte and stream bounds and eviction reports), so the ratio
// is its price. Each scenario starts its own redis-server with redistest.

func redisstoreScenarios() []Scenario {
	return []Scenario{
		{Name: "redisstore/append", Peers: "go-redis XADD", Run: redisAppend},
		{Name: "redisstore/append-pipelined", Peers: "go-redis pipelined XADD", Run: redisAppendPipelined},
		{Name: "redisstore/follow-latency", Peers: "go-redis XADD+XREAD BLOCK", Run: redisFollowLatency},
	}
}

var redisPayload = []byte(`{"user":"ada","text":"hello, world","room":42}`)

// redisEnv is one redis-server with a client for the store and one for the
// raw peer.
type redisEnv struct {
	srv         *redistest.Server
	ours, peer  *redis.Client
	store       *redisstore.Store
	rounds, ops int
}

func newRedisEnv(cfg Config, prefix string) (*redisEnv, error) {
	srv, err := redistest.Start(redistest.Config{})
	if err != nil {
		return nil, err
	}
	e := &redisEnv{
		srv:    srv,
		ours:   redis.NewClient(srv.Options()),
		peer:   redis.NewClient(srv.Options()),
		rounds: 5,
		ops:    3000,
	}
	if cfg.Short {
		e.rounds, e.ops = 1, 20
	}
	e.store, err = redisstore.New(e.ours, redisstore.Options{Prefix: prefix})
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *redisEnv) close() {
	if e.store != nil {
		_ = e.store.Close()
	}
	_ = e.ours.Close()
	_ = e.peer.Close()
	_ = e.srv.Stop()
}

// rate runs fn (which does n operations) rounds times and returns the
// median operations per second.
func rate(rounds, n int, fn func() error) (float64, error) {
	var rates []float64
	for range rounds {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		rates = append(rates, float64(n)/time.Since(start).Seconds())
	}
	slices.Sort(rates)
	return rates[len(rates)/2], nil
}

func redisAppend(ctx context.Context, cfg Config) ([]Row, error) {
	e, err := newRedisEnv(cfg, "bench:{es}:")
	if err != nil {
		return nil, err
	}
	defer e.close()
	ours := func() error {
		for range e.ops {
			if _, err := e.store.Append(ctx, "s", "msg", redisPayload); err != nil {
				return err
			}
		}
		return nil
	}
	peer := func() error {
		for range e.ops {
			err := e.peer.XAdd(ctx, &redis.XAddArgs{
				Stream: "raw", MaxLen: eventstore.DefaultMaxEventsPerStream, Approx: true,
				Values: []any{"t", "msg", "d", redisPayload},
			}).Err()
			if err != nil {
				return err
			}
		}
		return nil
	}
	o, p, err := alternate(e.rounds, e.ops, ours, peer)
	if err != nil {
		return nil, err
	}
	return []Row{{Scenario: "redisstore/append", Metric: "appends/s", Goal: Higher, Ours: o, Peer: "go-redis XADD", PeerVal: p}}, nil
}

// alternate measures ours and peer in alternating rounds, so that load on the
// machine hits both alike.
func alternate(rounds, n int, ours, peer func() error) (float64, float64, error) {
	var os, ps []float64
	for range rounds {
		o, err := rate(1, n, ours)
		if err != nil {
			return 0, 0, fmt.Errorf("ours: %w", err)
		}
		p, err := rate(1, n, peer)
		if err != nil {
			return 0, 0, fmt.Errorf("peer: %w", err)
		}
		os, ps = append(os, o), append(ps, p)
	}
	slices.Sort(os)
	slices.Sort(ps)
	return os[len(os)/2], ps[len(ps)/2], nil
}

const redisBatch = 100

func redisAppendPipelined(ctx context.Context, cfg Config) ([]Row, error) {
	e, err := newRedisEnv(cfg, "bench:{es}:")
	if err != nil {
		return nil, err
	}
	defer e.close()
	batch := make([]eventstore.Event, redisBatch)
	for i := range batch {
		batch[i] = eventstore.Event{Stream: "s", Type: "msg", Data: redisPayload}
	}
	n := max(e.ops/redisBatch, 1) * redisBatch * 4
	ours := func() error {
		for range n / redisBatch {
			if _, err := e.store.AppendBatch(ctx, batch); err != nil {
				return err
			}
		}
		return nil
	}
	peer := func() error {
		for range n / redisBatch {
			_, err := e.peer.Pipelined(ctx, func(p redis.Pipeliner) error {
				for range redisBatch {
					p.XAdd(ctx, &redis.XAddArgs{
						Stream: "raw", MaxLen: eventstore.DefaultMaxEventsPerStream, Approx: true,
						Values: []any{"t", "msg", "d", redisPayload},
					})
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	o, p, err := alternate(e.rounds, n, ours, peer)
	if err != nil {
		return nil, err
	}
	return []Row{{Scenario: "redisstore/append-pipelined", Metric: fmt.Sprintf("appends/s (batch %d)", redisBatch),
		Goal: Higher, Ours: o, Peer: "go-redis pipelined XADD", PeerVal: p}}, nil
}

// redisFollowLatency appends one event at a time and measures from just
// before the append to its delivery to a follower waiting in XREAD BLOCK.
// Ours and the peer take turns in rounds, so load on the machine hits both.
func redisFollowLatency(ctx context.Context, cfg Config) ([]Row, error) {
	e, err := newRedisEnv(cfg, "bench:{es}:")
	if err != nil {
		return nil, err
	}
	defer e.close()
	ours, err := startOursFollower(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("ours: %w", err)
	}
	defer ours.stop()
	peer := startRawFollower(ctx, e)
	defer peer.stop()

	var ol, pl []time.Duration
	per := max(e.ops/2/e.rounds, 1)
	for range e.rounds {
		o, err := ours.measure(ctx, per)
		if err != nil {
			return nil, fmt.Errorf("ours: %w", err)
		}
		p, err := peer.measure(ctx, per)
		if err != nil {
			return nil, fmt.Errorf("peer: %w", err)
		}
		ol, pl = append(ol, o...), append(pl, p...)
	}
	slices.Sort(ol)
	slices.Sort(pl)
	const peerName = "go-redis XADD+XREAD BLOCK"
	return []Row{
		{Scenario: "redisstore/follow-latency", Metric: "p50 µs", Goal: Lower, Ours: pct(ol, 50), Peer: peerName, PeerVal: pct(pl, 50)},
		{Scenario: "redisstore/follow-latency", Metric: "p99 µs", Goal: Lower, Ours: pct(ol, 99), Peer: peerName, PeerVal: pct(pl, 99)},
	}, nil
}

func pct(sorted []time.Duration, p int) float64 {
	i := min(len(sorted)*p/100, len(sorted)-1)
	return float64(sorted[i].Nanoseconds()) / 1e3
}

// liveFollower is a follower goroutine that reports when each event arrives,
// and the append that feeds it.
type liveFollower struct {
	appendOne func() error
	got       chan time.Time
	errc      chan error
	cancel    context.CancelFunc
	done      chan struct{}
}

func (f *liveFollower) stop() {
	f.cancel()
	<-f.done
}

// measure times n append→delivery round trips.
func (f *liveFollower) measure(ctx context.Context, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := f.appendOne(); err != nil {
			return nil, err
		}
		select {
		case at := <-f.got:
			out = append(out, at.Sub(start))
		case err := <-f.errc:
			return nil, err
		case <-time.After(10 * time.Second):
			return nil, errors.New("event not delivered within 10s")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

func startOursFollower(ctx context.Context, e *redisEnv) (*liveFollower, error) {
	fctx, cancel := context.WithCancel(ctx)
	f := &liveFollower{
		appendOne: func() error {
			_, err := e.store.Append(ctx, "live", "msg", redisPayload)
			return err
		},
		got: make(chan time.Time, 1), errc: make(chan error, 1), cancel: cancel, done: make(chan struct{}),
	}
	seq := e.store.Follow(fctx, "live", eventstore.Tail)
	go func() {
		defer close(f.done)
		for _, err := range seq {
			if err != nil {
				f.errc <- err
				return
			}
			f.got <- time.Now()
		}
	}()
	return f, nil
}

func startRawFollower(ctx context.Context, e *redisEnv) *liveFollower {
	fctx, cancel := context.WithCancel(ctx)
	f := &liveFollower{
		appendOne: func() error {
			return e.peer.XAdd(ctx, &redis.XAddArgs{
				Stream: "rawlive", MaxLen: eventstore.DefaultMaxEventsPerStream, Approx: true,
				Values: []any{"t", "msg", "d", redisPayload},
			}).Err()
		},
		got: make(chan time.Time, 1), errc: make(chan error, 1), cancel: cancel, done: make(chan struct{}),
	}
	// Its own client for the blocking reads, as the store's follower holds
	// its own pooled connection. XREAD from the current last ID, then from
	// each delivered one.
	reader := redis.NewClient(e.srv.Options())
	last := "0-0"
	if res, err := reader.XRevRangeN(ctx, "rawlive", "+", "-", 1).Result(); err == nil && len(res) > 0 {
		last = res[0].ID
	}
	go func() {
		defer close(f.done)
		defer reader.Close()
		for fctx.Err() == nil {
			res, err := reader.XRead(fctx, &redis.XReadArgs{Streams: []string{"rawlive", last}, Count: 256, Block: 200 * time.Millisecond}).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				if fctx.Err() == nil {
					f.errc <- err
				}
				return
			}
			for _, m := range res[0].Messages {
				last = m.ID
				f.got <- time.Now()
			}
		}
	}()
	return f
}
