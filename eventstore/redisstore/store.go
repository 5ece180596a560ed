package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// Options configure a [Store].
type Options struct {
	// Options are the bounds, eviction hook and clock every store takes.
	// Every process that shares a Prefix must use the same Limits: the
	// bounds are enforced by whichever process appends.
	//
	// Clock: when nil, IDs and age eviction use the Redis server's clock
	// (one clock for every process); when set, the caller's.
	eventstore.Options

	// Prefix starts every key the store uses. Stores (in one process or
	// many) with the same Prefix share their streams. Default
	// "streamkit:{es}:"; the braces are a Redis Cluster hash tag that keeps
	// every key of the store in one slot, which the store's scripts need.
	// A custom prefix for Redis Cluster must keep a hash tag.
	Prefix string

	// BlockTimeout is how long one XREAD BLOCK of a follower waits before
	// it checks its position again (which is how a follower notices a
	// Delete). It also bounds how long Close waits for followers' pending
	// reads. Default 1s.
	BlockTimeout time.Duration

	// ReadBatch is how many events a follower fetches per round trip.
	// Default 256.
	ReadBatch int

	// StatsTimeout bounds the round trip that Stats makes, through its
	// context: go-redis honours it only with ContextTimeoutEnabled, else
	// the client's own timeouts apply. Default 1s.
	StatsTimeout time.Duration
}

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "streamkit:{es}:"

// Store is an [eventstore.Store] on Redis Streams. Many Stores, in one
// process or in many, that use the same Redis and Prefix share their streams:
// an event appended through one is read and followed through all.
//
// A Store is safe for concurrent use. It does not own the client: Close ends
// the store's followers but leaves the client open.
type Store struct {
	c      redis.UniversalClient
	opts   Options
	lim    eventstore.Limits
	prefix string
	zk     string // streams zset
	bk     string // bytes hash
	lk     string // last-ID hash
	stk    string // stats hash

	maxAge, maxLen, maxBytes, maxStreams string // script arguments

	mu     sync.Mutex
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup // followers' pending XREADs

	appended  atomic.Uint64
	evicted   atomic.Uint64
	evictedBy [eventstore.EvictDelete + 1]atomic.Uint64
	followers atomic.Int64

	statsMu sync.Mutex
	remote  eventstore.Stats // the last Streams/Events/Bytes read from Redis
}

var _ eventstore.Store = (*Store)(nil)

// New returns a Store on client. It makes no round trip: a Redis that is down
// shows up as errors matching [eventstore.ErrUnavailable] from the calls. The
// server must be Redis 6.2 or newer (exclusive XRANGE, XTRIM MINID).
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.BlockTimeout <= 0 {
		opts.BlockTimeout = time.Second
	}
	if opts.ReadBatch <= 0 {
		opts.ReadBatch = 256
	}
	if opts.StatsTimeout <= 0 {
		opts.StatsTimeout = time.Second
	}
	lim := opts.Limits.WithDefaults()
	s := &Store{
		c:          client,
		opts:       opts,
		lim:        lim,
		prefix:     opts.Prefix,
		zk:         opts.Prefix + "streams",
		bk:         opts.Prefix + "bytes",
		lk:         opts.Prefix + "last",
		stk:        opts.Prefix + "stats",
		maxAge:     strconv.FormatInt(max(lim.MaxAge.Milliseconds(), 1), 10),
		maxLen:     strconv.Itoa(lim.MaxEventsPerStream),
		maxBytes:   strconv.FormatInt(lim.MaxBytes, 10),
		maxStreams: strconv.Itoa(lim.MaxStreams),
		done:       make(chan struct{}),
	}
	return s, nil
}

// StreamKey returns the Redis key of stream's Redis stream.
func (s *Store) StreamKey(stream string) string { return s.prefix + "s:" + stream }

func (s *Store) keys(stream string) []string {
	return []string{s.StreamKey(stream), s.zk, s.bk, s.lk, s.stk}
}

// args returns the ARGV every script starts with.
func (s *Store) args(stream string, extra ...any) []any {
	now := ""
	if s.opts.Clock != nil {
		now = strconv.FormatInt(max(s.opts.Clock().UnixMilli(), 0), 10)
	}
	return append([]any{stream, s.prefix, now, s.maxAge}, extra...)
}

// check validates a call before any round trip.
func (s *Store) check(stream string) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return eventstore.ErrClosed
	}
	if err := s.lim.CheckStream(stream); err != nil {
		return err
	}
	return nil
}

// fail turns an error from Redis into the store's error: the context's error
// when ctx is done, else one that matches eventstore.ErrUnavailable.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: redisstore: %s: %w", eventstore.ErrUnavailable, op, err)
}

// Append implements [eventstore.Store]. It is one round trip: a script that
// adds the entry, trims the stream (MaxEventsPerStream, MaxAge) and applies
// the store-wide bounds (MaxStreams, MaxBytes) atomically.
func (s *Store) Append(ctx context.Context, stream, typ string, data []byte) (eventstore.Event, error) {
	if err := s.checkAppend(stream, typ, data); err != nil {
		return eventstore.Event{}, err
	}
	in := [1]eventstore.Event{{Stream: stream, Type: typ, Data: data}}
	keys, args := s.appendArgs(in[:])
	res, err := s.runAppend(ctx, keys, args)
	if err != nil {
		return eventstore.Event{}, fail(ctx, "append", err)
	}
	out, err := s.stored(in[:], res)
	if err != nil {
		return eventstore.Event{}, err
	}
	return out[0], nil
}

func (s *Store) checkAppend(stream, typ string, data []byte) error {
	if err := s.check(stream); err != nil {
		return err
	}
	size := len(stream) + len(typ) + len(data)
	if size > s.lim.MaxEventSize {
		return fmt.Errorf("%w: %d bytes, MaxEventSize is %d", eventstore.ErrTooLarge, size, s.lim.MaxEventSize)
	}
	if int64(size) > s.lim.MaxBytes {
		return fmt.Errorf("%w: %d bytes, MaxBytes is %d", eventstore.ErrTooLarge, size, s.lim.MaxBytes)
	}
	return nil
}

// appendArgs returns the KEYS and ARGV of the append script for evs.
func (s *Store) appendArgs(evs []eventstore.Event) ([]string, []any) {
	args := s.args(evs[0].Stream, s.maxLen, s.maxBytes, s.maxStreams, len(evs))
	for i := range evs {
		args = append(args, evs[i].Stream, evs[i].Type, evs[i].Data)
	}
	return s.keys(evs[0].Stream), args
}

// stored builds the stored events from an append script's reply.
func (s *Store) stored(evs []eventstore.Event, res []any) ([]eventstore.Event, error) {
	if len(res) < len(evs) {
		return nil, fmt.Errorf("%w: redisstore: append: short reply", eventstore.ErrUnavailable)
	}
	out := make([]eventstore.Event, len(evs))
	for i := range evs {
		id, err := parseID(res[i])
		if err != nil {
			return nil, err
		}
		out[i] = eventstore.Event{
			Stream: evs[i].Stream,
			ID:     id,
			Type:   evs[i].Type,
			Data:   append([]byte(nil), evs[i].Data...),
			Time:   id.Time(),
		}
	}
	s.appended.Add(uint64(len(evs)))
	s.report(res[len(evs):])
	return out, nil
}

// onceCmd is a command the client must not retry. An append whose reply was
// lost (a dropped connection, a read timeout) may have run: sending it again
// would store the event twice, so the caller gets the error instead.
type onceCmd struct{ *redis.Cmd }

func (onceCmd) NoRetry() bool { return true }

func appendCmd(ctx context.Context, verb, script string, keys []string, args []any) onceCmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, verb, script, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	return onceCmd{redis.NewCmd(ctx, append(a, args...)...)}
}

// runAppend runs the append script once: EVALSHA, and EVAL when the server
// does not have the script (NOSCRIPT means it did not run).
func (s *Store) runAppend(ctx context.Context, keys []string, args []any) ([]any, error) {
	cmd := appendCmd(ctx, "evalsha", appendScript.Hash(), keys, args)
	err := s.c.Process(ctx, cmd)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd = appendCmd(ctx, "eval", appendSrc, keys, args)
		err = s.c.Process(ctx, cmd)
	}
	if err != nil {
		return nil, err
	}
	return cmd.Slice()
}

// maxScriptBatch bounds the events of one append script, so that a large
// batch does not hold Redis (which runs scripts one at a time) for long.
const maxScriptBatch = 256

// AppendBatch appends events (their Stream, Type and Data; ID and Time are
// ignored) in one round trip and returns them as stored. Each run of up to
// 256 events is one atomic script that does the bookkeeping and applies the
// bounds once per stream rather than once per event, so a batch is several
// times faster per event than single appends. Runs are pipelined; the batch
// as a whole is not atomic: on an error, a prefix of it may be stored (the
// returned slice holds the events known to be stored).
func (s *Store) AppendBatch(ctx context.Context, events []eventstore.Event) ([]eventstore.Event, error) {
	for i := range events {
		if err := s.checkAppend(events[i].Stream, events[i].Type, events[i].Data); err != nil {
			return nil, err
		}
	}
	if len(events) == 0 {
		return nil, nil
	}
	var chunks [][]eventstore.Event
	for rest := events; len(rest) > 0; {
		n := min(len(rest), maxScriptBatch)
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
	}
	for attempt := 0; ; attempt++ {
		cmds, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range chunks {
				keys, args := s.appendArgs(c)
				_ = p.Process(ctx, appendCmd(ctx, "evalsha", appendScript.Hash(), keys, args))
			}
			return nil
		})
		if err != nil && attempt == 0 && len(cmds) > 0 && redis.HasErrorPrefix(cmds[0].Err(), "NOSCRIPT") {
			// The server lost the script (restart, SCRIPT FLUSH): nothing
			// ran, so load it and send the batch again.
			if lerr := appendScript.Load(ctx, s.c).Err(); lerr != nil {
				return nil, fail(ctx, "append", lerr)
			}
			continue
		}
		out := make([]eventstore.Event, 0, len(events))
		for i, c := range cmds {
			res, cerr := c.(onceCmd).Slice()
			if cerr != nil {
				return out, fail(ctx, "append", cerr)
			}
			evs, perr := s.stored(chunks[i], res)
			if perr != nil {
				return out, perr
			}
			out = append(out, evs...)
		}
		if err != nil {
			return out, fail(ctx, "append", err)
		}
		return out, nil
	}
}

// report counts the evictions of a script reply and calls OnEvict.
func (s *Store) report(vals []any) {
	for i := 0; i+4 < len(vals); i += 5 {
		name, _ := vals[i].(string)
		reason, _ := vals[i+1].(int64)
		n, _ := vals[i+2].(int64)
		bytes, _ := vals[i+3].(int64)
		through, _ := parseID(vals[i+4])
		if reason <= 0 || reason >= int64(len(s.evictedBy)) || n <= 0 {
			continue
		}
		s.evicted.Add(uint64(n))
		s.evictedBy[reason].Add(uint64(n))
		if s.opts.OnEvict != nil {
			s.opts.OnEvict(eventstore.Eviction{
				Stream:  name,
				Reason:  eventstore.EvictReason(reason),
				Events:  int(n),
				Bytes:   bytes,
				Through: through,
			})
		}
	}
}

func parseID(v any) (eventstore.ID, error) {
	str, ok := v.(string)
	if !ok {
		return eventstore.ID{}, fmt.Errorf("%w: redisstore: unexpected reply %T", eventstore.ErrUnavailable, v)
	}
	id, err := eventstore.ParseID(str)
	if err != nil {
		return eventstore.ID{}, fmt.Errorf("%w: redisstore: bad ID %q in reply", eventstore.ErrUnavailable, str)
	}
	return id, nil
}

// read runs the read script. It returns the events, the stream's newest ID
// (for a follower that starts from nothing) and a *GapError when pos is not
// resumable.
func (s *Store) read(ctx context.Context, stream, mode string, pos eventstore.ID, limit int) ([]eventstore.Event, eventstore.ID, error) {
	if err := s.check(stream); err != nil {
		return nil, eventstore.ID{}, err
	}
	count := min(max(limit, 1), s.lim.MaxEventsPerStream)
	res, err := readScript.Run(ctx, s.c, s.keys(stream), s.args(stream, mode, pos.String(), count)...).Slice()
	if err != nil {
		return nil, eventstore.ID{}, fail(ctx, "read", err)
	}
	if len(res) < 3 {
		return nil, eventstore.ID{}, fmt.Errorf("%w: redisstore: read: short reply", eventstore.ErrUnavailable)
	}
	s.report(res[3:])
	status, _ := res[0].(string)
	info, _ := res[1].(string)
	if status == "gap" {
		g := &eventstore.GapError{Stream: stream, After: pos}
		if info != "" {
			g.Oldest, _ = eventstore.ParseID(info)
		}
		return nil, eventstore.ID{}, g
	}
	last, err := eventstore.ParseID(info)
	if err != nil {
		return nil, eventstore.ID{}, fmt.Errorf("%w: redisstore: bad ID %q in reply", eventstore.ErrUnavailable, info)
	}
	entries, _ := res[2].([]any)
	if limit <= 0 {
		return nil, last, nil
	}
	evs := make([]eventstore.Event, 0, len(entries))
	for _, e := range entries {
		ev, err := scriptEntry(stream, e)
		if err != nil {
			return nil, eventstore.ID{}, err
		}
		evs = append(evs, ev)
	}
	return evs, last, nil
}

// scriptEntry converts an entry as a script returns it: {id, {field, value, ...}}.
func scriptEntry(stream string, e any) (eventstore.Event, error) {
	pair, ok := e.([]any)
	if !ok || len(pair) != 2 {
		return eventstore.Event{}, fmt.Errorf("%w: redisstore: malformed entry in reply", eventstore.ErrUnavailable)
	}
	id, err := parseID(pair[0])
	if err != nil {
		return eventstore.Event{}, err
	}
	ev := eventstore.Event{Stream: stream, ID: id, Time: id.Time()}
	kv, _ := pair[1].([]any)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		v, _ := kv[i+1].(string)
		switch k {
		case "d":
			ev.Data = []byte(v)
		case "t":
			ev.Type = v
		}
	}
	if ev.Data == nil {
		ev.Data = []byte{}
	}
	return ev, nil
}

// ReadAfter implements [eventstore.Store]: one round trip, an exclusive
// XRANGE from after plus an O(1) check that after is resumable.
func (s *Store) ReadAfter(ctx context.Context, stream string, after eventstore.ID, limit int) ([]eventstore.Event, error) {
	evs, _, err := s.read(ctx, stream, "after", after, limit)
	return evs, err
}

// ReadSince implements [eventstore.Store]: an XRANGE from "<ms>-0", with a
// gap when the stream evicted an event at or after since.
func (s *Store) ReadSince(ctx context.Context, stream string, since time.Time, limit int) ([]eventstore.Event, error) {
	pos := eventstore.ID{Ms: uint64(max(since.UnixMilli(), 0))}
	evs, _, err := s.read(ctx, stream, "since", pos, limit)
	return evs, err
}

// Trim implements [eventstore.Store] with XTRIM MINID (exact).
func (s *Store) Trim(ctx context.Context, stream string, minID eventstore.ID) (int, error) {
	if err := s.check(stream); err != nil {
		return 0, err
	}
	if minID.IsZero() {
		return 0, nil
	}
	res, err := trimScript.Run(ctx, s.c, s.keys(stream), s.args(stream, minID.String())...).Slice()
	if err != nil {
		return 0, fail(ctx, "trim", err)
	}
	n := 0
	for i := 0; i+4 < len(res); i += 5 {
		if c, _ := res[i+2].(int64); c > 0 {
			n += int(c)
		}
	}
	s.report(res)
	return n, nil
}

// Delete implements [eventstore.Store]: the stream's key goes with DEL.
func (s *Store) Delete(ctx context.Context, stream string) error {
	if err := s.check(stream); err != nil {
		return err
	}
	res, err := deleteScript.Run(ctx, s.c, s.keys(stream), s.args(stream)...).Slice()
	if err != nil {
		return fail(ctx, "delete", err)
	}
	s.report(res)
	return nil
}

// Stats implements [eventstore.Store]. Streams, Events and Bytes are the
// shared totals of every store on this Prefix, read from Redis in one round
// trip bounded by Options.StatsTimeout (when Redis does not answer, the last
// values read). Appended, Evicted, EvictedBy and Followers count this Store's
// own calls: evictions another process's append caused are counted there.
func (s *Store) Stats() eventstore.Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.check("-") == nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.StatsTimeout)
		var zc *redis.IntCmd
		var hm *redis.SliceCmd
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			zc = p.ZCard(ctx, s.zk)
			hm = p.HMGet(ctx, s.stk, "events", "bytes")
			return nil
		})
		cancel()
		if err == nil {
			s.remote.Streams = int(zc.Val())
			vals := hm.Val()
			s.remote.Events = hashInt(vals[0])
			s.remote.Bytes = hashInt(vals[1])
		}
	}
	st := s.remote
	st.Followers = int(s.followers.Load())
	st.Appended = s.appended.Load()
	st.Evicted = s.evicted.Load()
	for i := range st.EvictedBy {
		st.EvictedBy[i] = s.evictedBy[i].Load()
	}
	return st
}

func hashInt(v any) int64 {
	str, _ := v.(string)
	n, _ := strconv.ParseInt(str, 10, 64)
	return n
}

// Close implements [eventstore.Store]. It ends every Follow iterator (they
// yield ErrClosed), waits for their pending XREAD calls (at most
// Options.BlockTimeout plus a round trip) and leaves the client open.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
