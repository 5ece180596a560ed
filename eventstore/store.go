package eventstore

import (
	"context"
	"iter"
	"math"
	"time"
)

// Store is an ordered, bounded, resumable log of named streams.
//
// Concurrency: every method is safe for concurrent use. Appends to one stream
// are totally ordered; the order of IDs is the order of events.
//
// Errors: methods return errors that match, with errors.Is, one of this
// package's sentinels ([ErrGap], [ErrClosed], [ErrTooLarge], [ErrBadStream],
// [ErrUnavailable]) or a context error; a gap is a *[GapError] (errors.As)
// that says which events are still held.
//
// Shutdown: Close ends every Follow iterator (they yield [ErrClosed]) and makes
// later calls return [ErrClosed]. Close is idempotent.
type Store interface {
	// Append stores one event in stream and returns it with its ID and time.
	// data is copied (or written out) before Append returns, so the caller may
	// reuse it. Bounds are applied after the append: the oldest events of the
	// stream (or the least recently used streams) are evicted and reported.
	Append(ctx context.Context, stream, typ string, data []byte) (Event, error)

	// ReadAfter returns up to limit events of stream that come after the event
	// with ID after, oldest first. The zero ID reads from the oldest event held.
	//
	// after must be an ID the stream holds, or the ID of the last event the
	// stream evicted (the reader then missed nothing). Any other ID (unknown,
	// from another stream, from a store that lost its memory, or evicted
	// longer ago) is a *[GapError]: the store never replays silently from
	// somewhere else. Finding the position is O(log n) or better.
	ReadAfter(ctx context.Context, stream string, after ID, limit int) ([]Event, error)

	// ReadSince returns up to limit events of stream accepted at or after
	// since (to the millisecond), oldest first. When events at or after since
	// were already evicted it returns a *[GapError] instead, so that a long
	// poller can say "history lost" rather than skip events silently.
	ReadSince(ctx context.Context, stream string, since time.Time, limit int) ([]Event, error)

	// Follow replays the events after after (as ReadAfter) and then delivers
	// new events as they are appended, with nothing lost and nothing twice
	// between the replay and the live tail. after may be [Tail] to receive only
	// events appended after Follow is called.
	//
	// The sequence ends when ctx is done (without yielding ctx's error), or
	// after yielding an error: a *[GapError] when after is not resumable or
	// when the follower fell so far behind that its next event was evicted,
	// [ErrClosed] when the store closes. The consumer sets the pace; a slow
	// consumer costs the store nothing until it falls behind eviction.
	Follow(ctx context.Context, stream string, after ID) iter.Seq2[Event, error]

	// Trim removes the events of stream whose ID is before minID and returns
	// how many it removed. Removed events are reported as evictions.
	Trim(ctx context.Context, stream string, minID ID) (int, error)

	// Delete removes stream and all its events. Followers of the stream get a
	// *[GapError] when they next need an event.
	Delete(ctx context.Context, stream string) error

	// Stats reports counters and current sizes.
	Stats() Stats

	// Close releases the store. See the type's doc for what it ends.
	Close() error
}

// Tail is the position "after everything appended so far": Follow(ctx, s,
// Tail) delivers only events appended after the call. It is not a valid ID of
// any event. Do not modify it.
var Tail = ID{Ms: math.MaxUint64, Seq: math.MaxUint64}

// Options are the settings every store implementation takes. The zero value
// is usable and bounded by the defaults of [Limits].
type Options struct {
	Limits Limits

	// OnEvict, if set, is called for every eviction, with no store lock held,
	// on the goroutine that caused it (an append, a trim, a delete, or the
	// store's own expiry). It must be quick and must not call the store.
	OnEvict func(Eviction)

	// Clock returns the current time; nil means time.Now. Tests use it to step
	// the clock back.
	Clock func() time.Time
}

// Now returns o.Clock() or time.Now().
func (o *Options) Now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

// Limits bound a store. Every bound is always in force: a zero field means its
// default, never "unlimited".
type Limits struct {
	// MaxEventsPerStream is the most events one stream holds; the oldest are
	// evicted past it. Default 10,000.
	MaxEventsPerStream int
	// MaxBytes bounds the sum of [Event.Size] over all streams; past it the
	// oldest events of the least recently appended streams are evicted first.
	// Default 256 MiB.
	MaxBytes int64
	// MaxEventSize is the largest single event ([Event.Size]); a larger append
	// fails with [ErrTooLarge]. Default 1 MiB.
	MaxEventSize int
	// MaxAge evicts events older than this. Default 24 hours.
	MaxAge time.Duration
	// MaxStreams is the most streams a store holds; past it the stream that
	// was appended to least recently is evicted whole. Default 100,000.
	MaxStreams int
	// MaxStreamNameLen bounds stream names. Default 1,024 bytes.
	MaxStreamNameLen int
}

// Default bounds; see [Limits].
const (
	DefaultMaxEventsPerStream = 10_000
	DefaultMaxBytes           = 256 << 20
	DefaultMaxEventSize       = 1 << 20
	DefaultMaxAge             = 24 * time.Hour
	DefaultMaxStreams         = 100_000
	DefaultMaxStreamNameLen   = 1024
)

// WithDefaults returns l with every zero or negative field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxEventsPerStream <= 0 {
		l.MaxEventsPerStream = DefaultMaxEventsPerStream
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEventSize <= 0 {
		l.MaxEventSize = DefaultMaxEventSize
	}
	if l.MaxAge <= 0 {
		l.MaxAge = DefaultMaxAge
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = DefaultMaxStreams
	}
	if l.MaxStreamNameLen <= 0 {
		l.MaxStreamNameLen = DefaultMaxStreamNameLen
	}
	return l
}

// CheckStream reports whether name is an acceptable stream name under l:
// non-empty and at most MaxStreamNameLen bytes. It returns [ErrBadStream] if not.
func (l Limits) CheckStream(name string) error {
	if name == "" || len(name) > l.WithDefaults().MaxStreamNameLen {
		return ErrBadStream
	}
	return nil
}

// EvictReason says why events left a store.
type EvictReason uint8

// Eviction reasons.
const (
	EvictCount   EvictReason = iota + 1 // MaxEventsPerStream
	EvictBytes                          // MaxBytes
	EvictAge                            // MaxAge
	EvictStreams                        // MaxStreams: a whole stream
	EvictTrim                           // Store.Trim
	EvictDelete                         // Store.Delete
)

func (r EvictReason) String() string {
	switch r {
	case EvictCount:
		return "count"
	case EvictBytes:
		return "bytes"
	case EvictAge:
		return "age"
	case EvictStreams:
		return "streams"
	case EvictTrim:
		return "trim"
	case EvictDelete:
		return "delete"
	}
	return "unknown"
}

// Eviction reports events that left a stream.
type Eviction struct {
	Stream  string
	Reason  EvictReason
	Events  int   // how many events
	Bytes   int64 // their [Event.Size] sum
	Through ID    // the newest evicted ID: a reader positioned here missed nothing
}

// Stats are a store's counters (since it was opened) and current sizes.
type Stats struct {
	Streams   int    // streams held now
	Events    int64  // events held now
	Bytes     int64  // bytes held now ([Event.Size] sum)
	Followers int    // Follow iterators running now
	Appended  uint64 // events appended
	Evicted   uint64 // events evicted, all reasons
	// EvictedBy counts evicted events per reason, indexed by EvictReason.
	EvictedBy [EvictDelete + 1]uint64
}
