package eventstore

import (
	"context"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Memory is the in-memory [Store]: each stream is a ring buffer of its newest
// events, so an append is O(1) (no copy of the buffer) and finding a resume
// point is a binary search. IDs come from one store-wide [Generator], so an ID
// is unique across streams and an ID of another stream is unknown here.
//
// Memory is safe for concurrent use. Its zero value is not usable: call
// [NewMemory]. It starts no goroutines; age eviction happens when a stream is
// touched and, for idle streams, during appends to other streams.
type Memory struct {
	c core
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store bounded by opts.Limits.
func NewMemory(opts Options) *Memory {
	m := &Memory{}
	m.c.init(opts)
	return m
}

// Append implements [Store].
func (m *Memory) Append(ctx context.Context, stream, typ string, data []byte) (Event, error) {
	return m.c.append(ctx, stream, typ, data)
}

// ReadAfter implements [Store].
func (m *Memory) ReadAfter(ctx context.Context, stream string, after ID, limit int) ([]Event, error) {
	return m.c.readAfter(ctx, stream, after, limit)
}

// ReadSince implements [Store].
func (m *Memory) ReadSince(ctx context.Context, stream string, since time.Time, limit int) ([]Event, error) {
	return m.c.readSince(ctx, stream, since, limit)
}

// Follow implements [Store].
func (m *Memory) Follow(ctx context.Context, stream string, after ID) iter.Seq2[Event, error] {
	return m.c.follow(ctx, stream, after)
}

// Trim implements [Store].
func (m *Memory) Trim(ctx context.Context, stream string, minID ID) (int, error) {
	return m.c.trim(ctx, stream, minID)
}

// Delete implements [Store].
func (m *Memory) Delete(ctx context.Context, stream string) error {
	return m.c.delete(ctx, stream)
}

// Stats implements [Store].
func (m *Memory) Stats() Stats { return m.c.stats() }

// Close implements [Store].
func (m *Memory) Close() error {
	m.c.close()
	return nil
}

// slot is one held event. Slots are reused as the ring wraps.
type slot struct {
	id   ID
	typ  string
	data []byte
}

func (s *slot) size(nameLen int) int64 { return int64(len(s.data) + len(s.typ) + nameLen) }

// stream is one stream's ring buffer and bookkeeping. Guarded by core.mu.
type stream struct {
	name        string
	ring        []slot // grows by doubling up to MaxEventsPerStream
	head, n     int
	bytes       int64
	lastEvicted ID            // newest ID that left the stream; a reader there missed nothing
	wake        chan struct{} // closed on the next append; nil while nobody waits
	dead        bool          // deleted or evicted whole
	prev, next  *stream       // LRU list by last append, least recent first
}

func (s *stream) at(i int) *slot { return &s.ring[(s.head+i)%len(s.ring)] }

// search returns the index of the first held event with ID > id.
func (s *stream) search(id ID) int {
	lo, hi := 0, s.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if !id.Less(s.at(mid).id) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// last returns the newest ID held, or the last evicted one.
func (s *stream) last() ID {
	if s.n == 0 {
		return s.lastEvicted
	}
	return s.at(s.n - 1).id
}

func (s *stream) oldest() ID {
	if s.n == 0 {
		return ID{}
	}
	return s.at(0).id
}

func (s *stream) signal() {
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
}

// evictList collects the evictions of one operation so that OnEvict runs
// after the lock is released. The common case (one record) does not allocate.
type evictList struct {
	n     int
	first [2]Eviction
	more  []Eviction
}

func (l *evictList) add(s *stream, r EvictReason, bytes int64, through ID) {
	l.addN(s, r, 1, bytes, through)
}

func (l *evictList) addN(s *stream, r EvictReason, n int, bytes int64, through ID) {
	if l.n > 0 {
		last := l.get(l.n - 1)
		if last.Stream == s.name && last.Reason == r {
			last.Events += n
			last.Bytes += bytes
			last.Through = through
			return
		}
	}
	e := Eviction{Stream: s.name, Reason: r, Events: n, Bytes: bytes, Through: through}
	if l.n < len(l.first) {
		l.first[l.n] = e
	} else {
		l.more = append(l.more, e)
	}
	l.n++
}

func (l *evictList) get(i int) *Eviction {
	if i < len(l.first) {
		return &l.first[i]
	}
	return &l.more[i-len(l.first)]
}

// core is the engine shared by Memory and File.
type core struct {
	mu      sync.Mutex
	opts    Options
	lim     Limits
	gen     Generator
	streams map[string]*stream
	lruHead *stream // least recently appended
	lruTail *stream
	sweep   *stream // next stream the append-time age sweep visits
	visible ID      // newest ID inserted (readers may see it)
	events  int64
	bytes   int64
	created chan struct{} // closed when a stream is created; nil while nobody waits
	closed  bool
	done    chan struct{} // closed by close

	appended  uint64
	evicted   uint64
	evictedBy [EvictDelete + 1]uint64
	followers atomic.Int64

	// persist, when set (File), writes a record for every change before it
	// is applied, under mu. An error fails the operation.
	persist persister
}

type persister interface {
	logAppend(stream string, id ID, typ string, data []byte) error
	logTrim(stream string, minID ID) error
	logDelete(stream string) error
	// settle makes every earlier append visible before a trim or delete
	// looks at the index; their evictions go to l.
	settle(l *evictList) error
}

func (c *core) init(opts Options) {
	c.opts = opts
	c.lim = opts.Limits.WithDefaults()
	c.streams = make(map[string]*stream)
	c.done = make(chan struct{})
}

func (c *core) report(l *evictList) {
	if c.opts.OnEvict == nil {
		return
	}
	for i := 0; i < l.n; i++ {
		c.opts.OnEvict(*l.get(i))
	}
}

func (c *core) check(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(name) == 0 || len(name) > c.lim.MaxStreamNameLen {
		return ErrBadStream
	}
	return nil
}

func (c *core) checkSize(name, typ string, data []byte) error {
	size := int64(len(data) + len(typ) + len(name))
	if size > int64(c.lim.MaxEventSize) || size > c.lim.MaxBytes {
		return ErrTooLarge
	}
	return nil
}

// evictOldest removes the oldest event of s. Caller holds mu.
func (c *core) evictOldest(s *stream, r EvictReason, l *evictList) {
	sl := s.at(0)
	sz := sl.size(len(s.name))
	id := sl.id
	*sl = slot{}
	s.head = (s.head + 1) % len(s.ring)
	s.n--
	s.bytes -= sz
	c.bytes -= sz
	c.events--
	s.lastEvicted = id
	c.evicted++
	c.evictedBy[r]++
	l.add(s, r, sz, id)
}

// expire evicts the events of s older than MaxAge. Caller holds mu.
func (c *core) expire(s *stream, nowMs uint64, l *evictList) {
	age := uint64(c.lim.MaxAge.Milliseconds())
	if nowMs < age {
		return
	}
	cut := nowMs - age
	for s.n > 0 && s.at(0).id.Ms < cut {
		c.evictOldest(s, EvictAge, l)
	}
}

func (c *core) nowMs() uint64 { return uint64(max(c.opts.Now().UnixMilli(), 0)) }

func (c *core) lruRemove(s *stream) {
	if c.sweep == s {
		c.sweep = s.next
	}
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		c.lruHead = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		c.lruTail = s.prev
	}
	s.prev, s.next = nil, nil
}

func (c *core) lruPush(s *stream) {
	s.prev = c.lruTail
	s.next = nil
	if c.lruTail != nil {
		c.lruTail.next = s
	} else {
		c.lruHead = s
	}
	c.lruTail = s
}

// drop removes s from the store, reporting its events with reason r.
func (c *core) drop(s *stream, r EvictReason, l *evictList) {
	if s.n > 0 {
		through := s.last()
		var sz int64
		for i := 0; i < s.n; i++ {
			sz += s.at(i).size(len(s.name))
		}
		c.evicted += uint64(s.n)
		c.evictedBy[r] += uint64(s.n)
		c.events -= int64(s.n)
		c.bytes -= sz
		l.addN(s, r, s.n, sz, through)
	}
	s.ring, s.n, s.head, s.bytes = nil, 0, 0, 0
	s.dead = true
	s.signal()
	delete(c.streams, s.name)
	c.lruRemove(s)
}

func (c *core) append(ctx context.Context, name, typ string, data []byte) (Event, error) {
	if err := c.check(ctx, name); err != nil {
		return Event{}, err
	}
	if err := c.checkSize(name, typ, data); err != nil {
		return Event{}, err
	}
	var l evictList
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Event{}, ErrClosed
	}
	now := c.opts.Now()
	id := c.gen.Next(now)
	if c.persist != nil {
		if err := c.persist.logAppend(name, id, typ, data); err != nil {
			c.mu.Unlock()
			return Event{}, err
		}
	}
	data = append([]byte(nil), data...)
	ev := c.insert(name, id, typ, data, id.Ms, &l)
	c.mu.Unlock()
	c.report(&l)
	return ev, nil
}

// insert adds an event (data already owned by the store) and applies the
// bounds. Caller holds mu.
func (c *core) insert(name string, id ID, typ string, data []byte, nowMs uint64, l *evictList) Event {
	s := c.streams[name]
	if s == nil {
		for len(c.streams) >= c.lim.MaxStreams && c.lruHead != nil {
			c.drop(c.lruHead, EvictStreams, l)
		}
		s = &stream{name: strings.Clone(name)} // do not pin a caller's larger buffer
		c.streams[name] = s
		c.lruPush(s)
		if c.created != nil {
			close(c.created)
			c.created = nil
		}
	} else if c.lruTail != s {
		c.lruRemove(s)
		c.lruPush(s)
	}
	c.expire(s, nowMs, l)
	if s.n == c.lim.MaxEventsPerStream {
		c.evictOldest(s, EvictCount, l)
	}
	if s.n == len(s.ring) {
		c.grow(s)
	}
	sl := &s.ring[(s.head+s.n)%len(s.ring)]
	sl.id, sl.typ, sl.data = id, typ, data
	s.n++
	sz := sl.size(len(s.name))
	s.bytes += sz
	c.bytes += sz
	c.events++
	c.appended++
	c.visible = id
	// Bytes: oldest events of the least recently appended streams first.
	for o := c.lruHead; c.bytes > c.lim.MaxBytes && o != nil; {
		if o.n == 0 || (o == s && s.n == 1) {
			o = o.next
			continue
		}
		c.evictOldest(o, EvictBytes, l)
	}
	// Age: visit two other streams per append, round robin, so that the
	// memory of idle streams goes back without a goroutine.
	for range 2 {
		if c.sweep == nil {
			c.sweep = c.lruHead
		}
		if c.sweep != s {
			c.expire(c.sweep, nowMs, l)
		}
		c.sweep = c.sweep.next
	}
	s.signal()
	return Event{Stream: s.name, ID: id, Type: typ, Data: data, Time: id.Time()}
}

func (c *core) grow(s *stream) {
	n := max(8, 2*len(s.ring))
	n = min(n, c.lim.MaxEventsPerStream)
	ring := make([]slot, n)
	for i := 0; i < s.n; i++ {
		ring[i] = *s.at(i)
	}
	s.ring, s.head = ring, 0
}

// touch returns the stream after applying age eviction, or nil.
func (c *core) touch(name string, l *evictList) *stream {
	s := c.streams[name]
	if s != nil {
		c.expire(s, c.nowMs(), l)
	}
	return s
}

// resume returns the index of the first event after after, or a gap.
// Caller holds mu; s may be nil.
func resume(s *stream, name string, after ID) (int, error) {
	if after.IsZero() {
		return 0, nil
	}
	if s == nil {
		return 0, &GapError{Stream: name, After: after}
	}
	if after == s.lastEvicted {
		return 0, nil
	}
	i := s.search(after)
	if i > 0 && s.at(i-1).id == after {
		return i, nil
	}
	return 0, &GapError{Stream: name, After: after, Oldest: s.oldest()}
}

func (s *stream) copyOut(dst []Event, from, limit int) []Event {
	for i := from; i < s.n && len(dst) < limit; i++ {
		sl := s.at(i)
		dst = append(dst, Event{Stream: s.name, ID: sl.id, Type: sl.typ, Data: sl.data, Time: sl.id.Time()})
	}
	return dst
}

func (c *core) readAfter(ctx context.Context, name string, after ID, limit int) ([]Event, error) {
	if err := c.check(ctx, name); err != nil {
		return nil, err
	}
	var l evictList
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	s := c.touch(name, &l)
	i, err := resume(s, name, after)
	var out []Event
	if err == nil && s != nil && limit > 0 {
		out = s.copyOut(make([]Event, 0, min(limit, s.n-i)), i, limit)
	}
	c.mu.Unlock()
	c.report(&l)
	return out, err
}

func (c *core) readSince(ctx context.Context, name string, since time.Time, limit int) ([]Event, error) {
	if err := c.check(ctx, name); err != nil {
		return nil, err
	}
	from := ID{Ms: uint64(max(since.UnixMilli(), 0))}
	var l evictList
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	s := c.touch(name, &l)
	var out []Event
	var err error
	if s != nil {
		if !s.lastEvicted.IsZero() && !s.lastEvicted.Less(from) {
			err = &GapError{Stream: name, After: from, Oldest: s.oldest()}
		} else if limit > 0 {
			i := 0
			if !from.IsZero() {
				i = s.search(ID{Ms: from.Ms - 1, Seq: ^uint64(0)})
			}
			out = s.copyOut(make([]Event, 0, min(limit, s.n-i)), i, limit)
		}
	}
	c.mu.Unlock()
	c.report(&l)
	return out, err
}

// trimLocked removes events of s before minID. Caller holds mu.
func (c *core) trimLocked(s *stream, minID ID, r EvictReason, l *evictList) int {
	n := 0
	for s.n > 0 && s.at(0).id.Less(minID) {
		c.evictOldest(s, r, l)
		n++
	}
	return n
}

func (c *core) trim(ctx context.Context, name string, minID ID) (int, error) {
	if err := c.check(ctx, name); err != nil {
		return 0, err
	}
	var l evictList
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, ErrClosed
	}
	if c.persist != nil {
		if err := c.persist.settle(&l); err != nil {
			c.mu.Unlock()
			c.report(&l)
			return 0, err
		}
	}
	s := c.streams[name]
	n := 0
	if s != nil && s.n > 0 && s.at(0).id.Less(minID) {
		if c.persist != nil {
			if err := c.persist.logTrim(name, minID); err != nil {
				c.mu.Unlock()
				c.report(&l)
				return 0, err
			}
		}
		n = c.trimLocked(s, minID, EvictTrim, &l)
		s.signal()
	}
	c.mu.Unlock()
	c.report(&l)
	return n, nil
}

func (c *core) delete(ctx context.Context, name string) error {
	if err := c.check(ctx, name); err != nil {
		return err
	}
	var l evictList
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.persist != nil {
		if err := c.persist.settle(&l); err != nil {
			c.mu.Unlock()
			c.report(&l)
			return err
		}
	}
	if s := c.streams[name]; s != nil {
		if c.persist != nil {
			if err := c.persist.logDelete(name); err != nil {
				c.mu.Unlock()
				c.report(&l)
				return err
			}
		}
		c.drop(s, EvictDelete, &l)
	}
	c.mu.Unlock()
	c.report(&l)
	return nil
}

func (c *core) stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Streams:   len(c.streams),
		Events:    c.events,
		Bytes:     c.bytes,
		Followers: int(c.followers.Load()),
		Appended:  c.appended,
		Evicted:   c.evicted,
		EvictedBy: c.evictedBy,
	}
}

// close ends followers and fails later calls. It reports whether this call
// closed the store.
func (c *core) close() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed = true
	close(c.done)
	return true
}

// followBatch is how many events a follower copies per lock acquisition.
const followBatch = 64

func (c *core) follow(ctx context.Context, name string, after ID) iter.Seq2[Event, error] {
	// Tail means "after what is appended before Follow returns", so it is
	// resolved now rather than when iteration starts.
	f := follower{c: c, name: name, pos: after, exact: after != Tail}
	if after == Tail {
		c.mu.Lock()
		f.tailLocked()
		c.mu.Unlock()
	}
	return func(yield func(Event, error) bool) {
		f := f // each iteration of the sequence starts afresh
		if err := c.check(ctx, name); err != nil {
			if ctx.Err() == nil {
				yield(Event{}, err)
			}
			return
		}
		c.followers.Add(1)
		defer c.followers.Add(-1)
		buf := make([]Event, 0, followBatch)
		for ctx.Err() == nil {
			batch, wait, err := f.next(buf[:0])
			if err != nil {
				yield(Event{}, err)
				return
			}
			for i := range batch {
				if !yield(batch[i], nil) {
					return
				}
				batch[i] = Event{} // let the data go once delivered
			}
			if wait == nil {
				continue
			}
			select {
			case <-wait:
			case <-ctx.Done():
				return
			case <-c.done:
				yield(Event{}, ErrClosed)
				return
			}
		}
	}
}

// follower is the state of one Follow iterator.
type follower struct {
	c     *core
	name  string
	s     *stream // the stream once seen; a different one later means a gap
	pos   ID      // last delivered ID (or the starting position)
	exact bool    // pos is a client's ID, checked as ReadAfter does
}

// tailLocked positions f after everything appended so far. IDs are
// store-wide increasing, so the newest visible ID is a valid position for a
// stream that does not exist yet. Caller holds mu.
func (f *follower) tailLocked() {
	f.pos, f.exact = f.c.visible, false
	if s := f.c.streams[f.name]; s != nil {
		f.pos, f.s = s.last(), s
	}
}

// next returns the next batch, or a channel to wait on when there is none.
func (f *follower) next(buf []Event) ([]Event, <-chan struct{}, error) {
	c := f.c
	var l evictList
	c.mu.Lock()
	defer func() {
		c.mu.Unlock()
		c.report(&l)
	}()
	if c.closed {
		return nil, nil, ErrClosed
	}
	s := c.touch(f.name, &l)
	if f.s != nil && s != f.s {
		var oldest ID
		if s != nil {
			oldest = s.oldest()
		}
		return nil, nil, &GapError{Stream: f.name, After: f.pos, Oldest: oldest}
	}
	if s == nil {
		if !f.pos.IsZero() && f.exact {
			return nil, nil, &GapError{Stream: f.name, After: f.pos}
		}
		if c.created == nil {
			c.created = make(chan struct{})
		}
		return nil, c.created, nil
	}
	f.s = s
	var i int
	if f.exact {
		var err error
		if i, err = resume(s, f.name, f.pos); err != nil {
			return nil, nil, err
		}
		f.exact = false
	} else {
		if f.pos.Less(s.lastEvicted) {
			return nil, nil, &GapError{Stream: f.name, After: f.pos, Oldest: s.oldest()}
		}
		i = s.search(f.pos)
	}
	if i < s.n {
		buf = s.copyOut(buf, i, cap(buf))
		f.pos = buf[len(buf)-1].ID
		return buf, nil, nil
	}
	if s.wake == nil {
		s.wake = make(chan struct{})
	}
	return nil, s.wake, nil
}
