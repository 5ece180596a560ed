// Package fanout delivers the events of a shared [eventstore.Store] to the
// subscribers of one process, so that many server processes over one store
// (Redis Streams, through eventstore/redisstore) act as one: a publish on any
// process reaches subscribers on all of them.
//
// Publishing is an append to the store ([Hub.Publish]). Each process follows
// only the streams its local subscribers need: the first [Hub.Subscribe] to a
// stream starts one follower (one [eventstore.Store.Follow]) for the whole
// process, every later subscriber to that stream shares it, and the follower
// stops Linger after the last subscriber leaves (a long poller that comes
// straight back does not restart it). Every subscriber receives the stream's
// events in ID order, each once.
//
// # Connections
//
// A store that implements [MultiStore] (eventstore/redisstore does) is
// followed through one [Tailer] per hub: one blocking read over every
// followed stream (one XREAD BLOCK, re-issued when the set changes), so a
// process holds one blocking Redis connection whatever its streams and
// subscribers, plus the pooled connections its appends and replays use at
// the same moment; N processes hold N blocking connections. Each read names
// every followed stream, so its size grows with the streams followed
// (bounded by MaxStreams). A Subscribe past MaxStreams fails with
// [ErrTooManyStreams].
//
// Any other store is followed with one [eventstore.Store.Follow] per
// stream (one goroutine per followed stream, whatever the number of
// subscribers).
//
// # Failure
//
// When the store is unavailable (Redis down: errors matching
// [eventstore.ErrUnavailable]), Publish fails at once with that error (the
// caller's context and the client's timeouts bound it); the follower tells
// every subscriber of the stream once, by calling its function with the
// error (the subscription stays open), and follows again from the last
// delivered ID with backoff (RetryMin doubling to RetryMax). When the store
// comes back every event appended since is delivered, in order, none
// twice. A follower that cannot resume (a *[eventstore.GapError]: its next
// event was evicted while it was away, or the stream was deleted) passes
// the gap to its subscribers and ends their subscriptions; they should
// resynchronise from the store.
package fanout

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// Options configure a [Hub]. The zero value is usable.
type Options struct {
	// MaxStreams bounds the streams followed at once (the blocking
	// connections one process holds, with a Redis store). Default 64.
	MaxStreams int
	// Linger is how long a stream is still followed after its last
	// subscriber left. Default 5s; negative means stop at once.
	Linger time.Duration
	// RetryMin and RetryMax bound the backoff between follows of an
	// unavailable store. Defaults 50ms and 2s.
	RetryMin, RetryMax time.Duration
	// ReplayBuffer bounds the live events held for one subscriber while it
	// replays history (Subscribe with an ID); past it the subscription ends
	// with ErrSlow. Default 10,000.
	ReplayBuffer int
}

// Errors.
var (
	// ErrTooManyStreams is returned by Subscribe past Options.MaxStreams.
	ErrTooManyStreams = errors.New("fanout: too many streams followed")
	// ErrHubClosed is returned by calls after Close, and passed to
	// subscribers when the hub closes.
	ErrHubClosed = errors.New("fanout: hub closed")
	// ErrSlow ends a subscription whose replay fell behind the live tail
	// by more than Options.ReplayBuffer events.
	ErrSlow = errors.New("fanout: replay fell too far behind")
)

// MultiStore is a store that can follow a changing set of streams at once.
type MultiStore interface {
	eventstore.Store
	// NewTailer returns a tailer that calls fn with the events of the
	// streams added to it (each stream's in ID order, once), with an
	// error matching eventstore.ErrUnavailable while the store is away
	// (the tailer resumes each stream from its last delivered ID), or
	// with a *eventstore.GapError for a stream it dropped (Event.Stream
	// names it). fn must not block.
	NewTailer(fn func(eventstore.Event, error)) Tailer
}

// Tailer follows a set of streams; see [MultiStore].
type Tailer interface {
	// Add starts following stream from its tail: every event appended
	// after Add returns is delivered.
	Add(ctx context.Context, stream string) error
	// Remove stops following stream.
	Remove(stream string)
	// Close ends the tailer and waits for it.
	Close()
}

// Func receives a subscription's events, in ID order, each once, or an
// error: one matching [eventstore.ErrUnavailable] says the store is away
// (the subscription goes on and resumes without loss); any other error
// ends the subscription and is the last call. A Func must not block: it
// runs on the stream's follower goroutine (queue the event).
type Func func(ev eventstore.Event, err error)

// Hub follows streams of a store for the subscribers of one process.
type Hub struct {
	st   eventstore.Store
	opts Options

	ctx  context.Context // ends at Close: replays
	stop context.CancelFunc

	tail Tailer // with a MultiStore

	mu      sync.Mutex
	streams map[string]*stream
	closed  bool
	wg      sync.WaitGroup
}

type stream struct {
	h      *Hub
	name   string
	cancel context.CancelFunc
	subs   map[*sub]struct{}
	linger *time.Timer
	gone   bool // ended: a new Subscribe starts a new follower
}

type sub struct {
	fn        Func
	replaying bool
	buf       []eventstore.Event
	last      eventstore.ID
	dead      bool
}

// New returns a hub over st. The hub does not own st.
func New(st eventstore.Store, opts Options) *Hub {
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = 64
	}
	if opts.Linger == 0 {
		opts.Linger = 5 * time.Second
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 50 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(2*time.Second, opts.RetryMin)
	}
	if opts.ReplayBuffer <= 0 {
		opts.ReplayBuffer = 10_000
	}
	h := &Hub{st: st, opts: opts, streams: map[string]*stream{}}
	h.ctx, h.stop = context.WithCancel(context.Background())
	if ms, ok := st.(MultiStore); ok {
		h.tail = ms.NewTailer(h.tailed)
	}
	return h
}

// Store returns the hub's store.
func (h *Hub) Store() eventstore.Store { return h.st }

// Publish appends an event to stream; subscribers of every process that
// follows stream receive it. It fails fast with the store's error.
func (h *Hub) Publish(ctx context.Context, stream, typ string, data []byte) (eventstore.Event, error) {
	return h.st.Append(ctx, stream, typ, data)
}

// Following returns the number of streams followed now.
func (h *Hub) Following() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

// Subscribe calls fn with the events of stream that come after after:
// [eventstore.Tail] for only those appended after Subscribe returns, or an
// event's ID to replay what came after it first (a reconnecting client's
// Last-Event-ID) and then go on live, with nothing lost or doubled between
// the two. The returned function ends the subscription; fn is not called
// after it returns.
func (h *Hub) Subscribe(stream string, after eventstore.ID, fn Func) (cancel func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	s := h.streams[stream]
	if s == nil {
		if len(h.streams) >= h.opts.MaxStreams {
			return nil, ErrTooManyStreams
		}
		s, err = h.start(stream)
		if err != nil {
			return nil, err
		}
	}
	if s.linger != nil {
		s.linger.Stop()
		s.linger = nil
	}
	u := &sub{fn: fn, last: after, replaying: after != eventstore.Tail}
	s.subs[u] = struct{}{}
	if u.replaying {
		h.wg.Add(1)
		go s.replay(u)
	}
	return func() { s.remove(u) }, nil
}

// start begins following name from its tail; the position is fixed before
// start returns. Call with h.mu held.
func (h *Hub) start(name string) (*stream, error) {
	if h.tail != nil {
		if err := h.tail.Add(h.ctx, name); err != nil {
			return nil, err
		}
		s := &stream{h: h, name: name, subs: map[*sub]struct{}{}}
		s.cancel = func() { h.tail.Remove(name) }
		h.streams[name] = s
		return s, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &stream{h: h, name: name, cancel: cancel, subs: map[*sub]struct{}{}}
	seq := h.st.Follow(ctx, name, eventstore.Tail)
	h.streams[name] = s
	h.wg.Add(1)
	go s.follow(ctx, seq)
	return s, nil
}

func (s *stream) remove(u *sub) {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	u.dead = true
	delete(s.subs, u)
	if len(s.subs) > 0 || s.gone {
		return
	}
	if h.opts.Linger < 0 {
		s.stopLocked()
		return
	}
	s.linger = time.AfterFunc(h.opts.Linger, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(s.subs) == 0 && !s.gone {
			s.stopLocked()
		}
	})
}

// stopLocked ends the follower. Call with h.mu held.
func (s *stream) stopLocked() {
	s.gone = true
	if s.linger != nil {
		s.linger.Stop()
		s.linger = nil
	}
	if s.h.streams[s.name] == s {
		delete(s.h.streams, s.name)
	}
	s.cancel()
}

// follow runs the stream's follower: it delivers each event to every live
// subscriber and, when the store is unavailable, tells them and follows
// again from the last delivered ID.
func (s *stream) follow(ctx context.Context, seq func(func(eventstore.Event, error) bool)) {
	defer s.h.wg.Done()
	var pos eventstore.ID
	have := false // pos is an event's ID (else: the tail Follow resolved)
	delay := s.h.opts.RetryMin
	told := false
	for ctx.Err() == nil {
		var ferr error
		for ev, err := range seq {
			if err != nil {
				ferr = err
				break
			}
			pos, have = ev.ID, true
			delay, told = s.h.opts.RetryMin, false
			s.deliver(ev)
		}
		if ctx.Err() != nil {
			return
		}
		if ferr == nil || !errors.Is(ferr, eventstore.ErrUnavailable) {
			if ferr == nil {
				ferr = ErrHubClosed
			}
			s.end(ferr)
			return
		}
		if !told {
			told = true
			s.broadcast(ferr)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, s.h.opts.RetryMax)
		if have {
			seq = s.h.st.Follow(ctx, s.name, pos)
		} else {
			// Nothing delivered yet and the tail is not known: events
			// appended while the store was away before the first one
			// cannot be told apart; follow from the tail again.
			seq = s.h.st.Follow(ctx, s.name, eventstore.Tail)
		}
	}
}

// tailed is the Tailer's callback.
func (h *Hub) tailed(ev eventstore.Event, err error) {
	if err != nil && errors.Is(err, eventstore.ErrUnavailable) {
		h.mu.Lock()
		streams := make([]*stream, 0, len(h.streams))
		for _, s := range h.streams {
			streams = append(streams, s)
		}
		h.mu.Unlock()
		for _, s := range streams {
			s.broadcast(err)
		}
		return
	}
	h.mu.Lock()
	s := h.streams[ev.Stream]
	h.mu.Unlock()
	if s == nil {
		return
	}
	if err != nil {
		s.end(err)
		return
	}
	s.deliver(ev)
}

func (s *stream) deliver(ev eventstore.Event) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	for u := range s.subs {
		if u.replaying {
			if len(u.buf) >= s.h.opts.ReplayBuffer {
				u.dead = true
				delete(s.subs, u)
				u.fn(eventstore.Event{}, ErrSlow)
				continue
			}
			u.buf = append(u.buf, ev)
			continue
		}
		if u.last != eventstore.Tail && ev.ID.Compare(u.last) <= 0 {
			continue
		}
		u.last = ev.ID
		u.fn(ev, nil)
	}
}

// broadcast tells every subscriber err (the subscription goes on).
func (s *stream) broadcast(err error) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	for u := range s.subs {
		u.fn(eventstore.Event{}, err)
	}
}

// end passes err to every subscriber and drops the stream.
func (s *stream) end(err error) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	for u := range s.subs {
		u.dead = true
		u.fn(eventstore.Event{}, err)
	}
	clear(s.subs)
	s.stopLocked()
}

// replay reads u's history after u.last from the store, then delivers the
// live events buffered meanwhile (those it did not read) and switches u to
// live delivery.
func (s *stream) replay(u *sub) {
	defer s.h.wg.Done()
	ctx := s.h.ctx
	const page = 256
	delay, told := s.h.opts.RetryMin, false
	for {
		s.h.mu.Lock()
		dead, last := u.dead, u.last
		s.h.mu.Unlock()
		if dead {
			return
		}
		evs, err := s.h.st.ReadAfter(ctx, s.name, last, page)
		if err != nil && errors.Is(err, eventstore.ErrUnavailable) && ctx.Err() == nil {
			// The store is away: tell the subscriber once and retry.
			s.h.mu.Lock()
			if !u.dead && !told {
				u.fn(eventstore.Event{}, err)
			}
			s.h.mu.Unlock()
			told = true
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			delay = min(2*delay, s.h.opts.RetryMax)
			continue
		}
		told, delay = false, s.h.opts.RetryMin
		if err != nil {
			s.h.mu.Lock()
			defer s.h.mu.Unlock()
			if !u.dead {
				u.dead = true
				delete(s.subs, u)
				u.fn(eventstore.Event{}, err)
			}
			return
		}
		s.h.mu.Lock()
		if u.dead {
			s.h.mu.Unlock()
			return
		}
		for _, ev := range evs {
			u.last = ev.ID
			u.fn(ev, nil)
		}
		if len(evs) < page {
			for _, ev := range u.buf {
				if ev.ID.Compare(u.last) > 0 {
					u.last = ev.ID
					u.fn(ev, nil)
				}
			}
			u.buf, u.replaying = nil, false
			s.h.mu.Unlock()
			return
		}
		s.h.mu.Unlock()
	}
}

// Close ends every follower and subscription (subscribers are not called)
// and waits for the hub's goroutines. It does not close the store.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	for _, s := range h.streams {
		for u := range s.subs {
			u.dead = true
		}
		clear(s.subs)
		s.stopLocked()
	}
	h.mu.Unlock()
	h.stop()
	h.wg.Wait()
	if h.tail != nil {
		h.tail.Close()
	}
	return nil
}
