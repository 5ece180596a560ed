package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
)

var _ fanout.MultiStore = (*Store)(nil)

// NewTailer implements [fanout.MultiStore]: it returns a tailer that
// follows a changing set of streams with one XREAD BLOCK over all of them,
// on one pooled connection, whatever the number of streams. The read is
// re-issued when the set changes: Add appends to a private wake-up stream
// (a key under Prefix that expires a minute after its last use, deleted by
// Close) that every read includes, so a pending read returns at once.
//
// fn receives the events of the streams in the set, each stream's in ID
// order and once; while Redis is unavailable it receives, once per outage,
// an error matching [eventstore.ErrUnavailable], and the tailer reads again
// from each stream's last delivered ID (with backoff up to 2s) when Redis
// returns. A stream whose next event is gone (evicted, or the stream was
// deleted and created again) is dropped from the set and fn receives a
// *[eventstore.GapError] with the event's Stream set. fn runs on the
// tailer's goroutine and must not block.
//
// Unlike Follow, a tailer does not notice a Delete without new appends.
func (s *Store) NewTailer(fn func(eventstore.Event, error)) fanout.Tailer {
	var b [8]byte
	_, _ = rand.Read(b[:])
	ctx, cancel := context.WithCancel(context.Background())
	t := &tailer{
		s: s, fn: fn, pos: map[string]eventstore.ID{},
		wake: s.prefix + "wake:" + hex.EncodeToString(b[:]), wakePos: "0-0",
		ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	go t.run()
	return t
}

type tailer struct {
	s       *Store
	fn      func(eventstore.Event, error)
	wake    string
	wakePos string // tailer goroutine only

	mu  sync.Mutex
	pos map[string]eventstore.ID // stream -> last delivered (or tail) ID

	ctx    context.Context
	cancel context.CancelFunc
	kick   chan struct{} // the set went from empty to not empty
	done   chan struct{}
}

// Add implements [fanout.Tailer]: stream's tail is read now (one round
// trip), so every event appended after Add returns is delivered.
func (t *tailer) Add(ctx context.Context, stream string) error {
	if err := t.s.check(stream); err != nil {
		return err
	}
	pos, err := t.s.tail(ctx, stream)
	if err != nil {
		return err
	}
	t.mu.Lock()
	if _, ok := t.pos[stream]; ok {
		t.mu.Unlock()
		return nil
	}
	t.pos[stream] = pos
	t.mu.Unlock()
	select {
	case t.kick <- struct{}{}:
	default:
	}
	// Wake a pending read so that the next one includes stream. If this
	// fails the stream joins at the next read anyway (within BlockTimeout),
	// from its position: nothing is lost.
	pipe := t.s.c.Pipeline()
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: t.wake, MaxLen: 16, Approx: true, Values: []any{"w", "1"}})
	pipe.PExpire(ctx, t.wake, time.Minute)
	_, _ = pipe.Exec(ctx)
	return nil
}

// Remove implements [fanout.Tailer]. The stream leaves the set at the next
// read (within BlockTimeout); fn receives nothing more of it.
func (t *tailer) Remove(stream string) {
	t.mu.Lock()
	delete(t.pos, stream)
	t.mu.Unlock()
}

// Close implements [fanout.Tailer]: it ends the tailer and waits for its
// goroutine (a pending read ends within BlockTimeout).
func (t *tailer) Close() {
	t.cancel()
	<-t.done
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = t.s.c.Del(ctx, t.wake).Err()
}

func (t *tailer) run() {
	defer close(t.done)
	delay := 50 * time.Millisecond
	told := false
	for t.ctx.Err() == nil {
		t.mu.Lock()
		n := len(t.pos)
		keys := make([]string, 0, 2*n+2)
		keys = append(keys, t.wake)
		ids := make([]string, 0, n+1)
		ids = append(ids, t.wakePos)
		for name, pos := range t.pos {
			keys = append(keys, t.s.StreamKey(name))
			ids = append(ids, pos.String())
		}
		t.mu.Unlock()
		if n == 0 {
			select {
			case <-t.ctx.Done():
				return
			case <-t.kick:
			case <-time.After(t.s.opts.BlockTimeout):
			}
			continue
		}
		res, err := t.s.xreadMany(t.ctx, "tail", append(keys, ids...))
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, eventstore.ErrClosed) {
				return
			}
			if !told {
				told = true
				t.fn(eventstore.Event{}, err)
			}
			select {
			case <-t.ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 2*time.Second)
			continue
		}
		delay, told = 50*time.Millisecond, false
		for _, st := range res {
			if st.Stream == t.wake {
				if len(st.Messages) > 0 {
					t.wakePos = st.Messages[len(st.Messages)-1].ID
				}
				continue
			}
			name := strings.TrimPrefix(st.Stream, t.s.prefix+"s:")
			t.deliver(name, st.Messages)
		}
	}
}

// deliver hands one stream's entries to fn, or catches up with the read
// script when they do not follow on from the stream's position.
func (t *tailer) deliver(name string, msgs []redis.XMessage) {
	t.mu.Lock()
	pos, ok := t.pos[name]
	t.mu.Unlock()
	if !ok || len(msgs) == 0 {
		return
	}
	if msgs[0].Values["p"] != pos.String() {
		t.catchUp(name, pos)
		return
	}
	for _, m := range msgs {
		ev, err := xmessage(name, m)
		if err != nil {
			t.fn(eventstore.Event{}, err)
			return
		}
		if !t.advance(name, ev.ID) {
			return
		}
		t.fn(ev, nil)
	}
}

// advance moves name's position to id; false if name left the set.
func (t *tailer) advance(name string, id eventstore.ID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pos[name]; !ok {
		return false
	}
	t.pos[name] = id
	return true
}

// catchUp reads name after pos with the read script (the same checks as
// ReadAfter) until a short batch; a gap drops the stream from the set.
func (t *tailer) catchUp(name string, pos eventstore.ID) {
	for {
		evs, last, err := t.s.read(t.ctx, name, "after", pos, t.s.opts.ReadBatch)
		if err != nil {
			var gap *eventstore.GapError
			if errors.As(err, &gap) {
				t.Remove(name)
				t.fn(eventstore.Event{Stream: name}, err)
			}
			return // other errors: the next read tries again
		}
		if len(evs) == 0 && pos.IsZero() {
			t.advance(name, last)
			return
		}
		for _, ev := range evs {
			if !t.advance(name, ev.ID) {
				return
			}
			t.fn(ev, nil)
			pos = ev.ID
		}
		if len(evs) < t.s.opts.ReadBatch {
			return
		}
	}
}

// xreadMany runs one XREAD BLOCK over streams ("key... id..."). The call
// runs on a goroutine owned by the Store so that the caller returns at once
// when ctx ends or the store closes: go-redis cannot interrupt a blocked
// read, and the read ends by itself within BlockTimeout. op names the caller
// in errors.
func (s *Store) xreadMany(ctx context.Context, op string, streams []string) ([]redis.XStream, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, eventstore.ErrClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()
	type result struct {
		res []redis.XStream
		err error
	}
	ch := make(chan result, 1)
	args := &redis.XReadArgs{Streams: streams, Count: int64(s.opts.ReadBatch), Block: s.opts.BlockTimeout}
	go func() {
		defer s.wg.Done()
		res, err := s.c.XRead(context.WithoutCancel(ctx), args).Result()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		ch <- result{res, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fail(ctx, op, r.err)
		}
		return r.res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, eventstore.ErrClosed
	}
}
