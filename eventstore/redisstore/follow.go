package redisstore

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/redis/go-redis/v9"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// Follow implements [eventstore.Store].
//
// It replays with the read script (the same checks as ReadAfter) and then
// waits for the live tail with XREAD BLOCK from the last delivered ID, so the
// switch from replay to live loses and doubles nothing: both read "after the
// last ID delivered". Each entry carries the ID of its predecessor, so a
// follower checks in O(1) that the first entry an XREAD returns directly
// follows its position; when it does not (the follower fell behind eviction,
// or the stream was deleted and created again) it yields a *GapError.
//
// Each follower uses one pooled connection while it waits in XREAD BLOCK
// (size the client's PoolSize for the followers you run). An XREAD that times
// out after Options.BlockTimeout is followed by a position check, which is how
// a follower notices Delete without new appends.
//
// A Redis error (a dropped connection the client could not re-establish, a
// server that is down) is yielded as an error matching
// [eventstore.ErrUnavailable] and ends the sequence; follow again from the
// last delivered ID to resume without loss once Redis is back. A context
// that ends or Close return at once, even while an XREAD is pending: the
// pending call finishes in the background (within BlockTimeout), owned by the
// Store, and Close waits for it.
//
// Tail is resolved when Follow is called (one round trip), to the stream's
// newest ID.
func (s *Store) Follow(ctx context.Context, stream string, after eventstore.ID) iter.Seq2[eventstore.Event, error] {
	pos := after
	startErr := s.check(stream)
	if startErr == nil && after == eventstore.Tail {
		pos, startErr = s.tail(ctx, stream)
	}
	return func(yield func(eventstore.Event, error) bool) {
		if startErr != nil {
			if ctx.Err() == nil {
				yield(eventstore.Event{}, startErr)
			}
			return
		}
		s.followers.Add(1)
		defer s.followers.Add(-1)
		f := follower{s: s, stream: stream, key: s.StreamKey(stream), pos: pos}
		if err := f.run(ctx, yield); err != nil && ctx.Err() == nil {
			yield(eventstore.Event{}, err)
		}
	}
}

// tail returns the stream's newest ID, or the zero ID for a stream that does
// not exist (its first entry then follows "0-0").
func (s *Store) tail(ctx context.Context, stream string) (eventstore.ID, error) {
	last, err := s.c.HGet(ctx, s.lk, stream).Result()
	if errors.Is(err, redis.Nil) {
		return eventstore.ID{}, nil
	}
	if err != nil {
		return eventstore.ID{}, fail(ctx, "follow", err)
	}
	id, err := eventstore.ParseID(last)
	if err != nil {
		return eventstore.ID{}, fmt.Errorf("%w: redisstore: bad ID %q in %s", eventstore.ErrUnavailable, last, s.lk)
	}
	return id, nil
}

type follower struct {
	s      *Store
	stream string
	key    string
	pos    eventstore.ID
}

// errStop means the consumer stopped the iteration.
var errStop = errors.New("stop")

// deliver yields evs and advances pos. It returns errStop when the consumer
// stopped.
func (f *follower) deliver(evs []eventstore.Event, yield func(eventstore.Event, error) bool) error {
	for i := range evs {
		f.pos = evs[i].ID
		if !yield(evs[i], nil) {
			return errStop
		}
	}
	return nil
}

// catchUp reads with the read script until a short batch. It is the replay,
// and the recovery after an XREAD that timed out or did not line up.
func (f *follower) catchUp(ctx context.Context, yield func(eventstore.Event, error) bool) error {
	for {
		if err := f.s.check(f.stream); err != nil {
			return err
		}
		evs, last, err := f.s.read(ctx, f.stream, "after", f.pos, f.s.opts.ReadBatch)
		if err != nil {
			return err
		}
		if len(evs) == 0 && f.pos.IsZero() {
			// From the start of a stream that holds nothing: the next entry
			// follows the stream's newest ID.
			f.pos = last
		}
		if err := f.deliver(evs, yield); err != nil {
			return err
		}
		if len(evs) < f.s.opts.ReadBatch {
			return nil
		}
	}
}

func (f *follower) run(ctx context.Context, yield func(eventstore.Event, error) bool) error {
	if err := f.catchUp(ctx, yield); err != nil {
		return stopped(err)
	}
	for {
		msgs, err := f.s.xread(ctx, f.key, f.pos)
		if err != nil {
			return stopped(err)
		}
		if len(msgs) == 0 || msgs[0].Values["p"] != f.pos.String() {
			// Timed out (check the position still holds: Delete) or the
			// entries do not follow on (gap, or recreated stream): the read
			// script decides, exactly as ReadAfter would.
			if err := f.catchUp(ctx, yield); err != nil {
				return stopped(err)
			}
			continue
		}
		for _, m := range msgs {
			ev, err := xmessage(f.stream, m)
			if err != nil {
				return err
			}
			f.pos = ev.ID
			if !yield(ev, nil) {
				return nil
			}
		}
	}
}

func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// xread runs one XREAD BLOCK of one stream from pos (see xreadMany).
func (s *Store) xread(ctx context.Context, key string, pos eventstore.ID) ([]redis.XMessage, error) {
	res, err := s.xreadMany(ctx, "follow", []string{key, pos.String()})
	if err != nil || len(res) == 0 {
		return nil, err
	}
	return res[0].Messages, nil
}

// xmessage converts an XREAD entry.
func xmessage(stream string, m redis.XMessage) (eventstore.Event, error) {
	id, err := eventstore.ParseID(m.ID)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("%w: redisstore: bad ID %q from XREAD", eventstore.ErrUnavailable, m.ID)
	}
	ev := eventstore.Event{Stream: stream, ID: id, Time: id.Time(), Data: []byte{}}
	if d, ok := m.Values["d"].(string); ok {
		ev.Data = []byte(d)
	}
	if t, ok := m.Values["t"].(string); ok {
		ev.Type = t
	}
	return ev, nil
}
