// Package eventstore is the resumable event log behind every streamkit
// transport that survives a reconnect: SSE Last-Event-ID, long-poll
// since_time/last_id, Streamable HTTP resumption, and hub fan-out.
//
// # Model
//
// A [Store] holds named streams. An [Event] is a stream name, an [ID], an
// optional type, a payload and a time. Append stores an event and returns it
// with the ID the store assigned; ReadAfter, ReadSince and Follow read it
// back; Trim and Delete remove events; Close ends everything.
//
// # IDs
//
// IDs have the shape of Redis stream IDs, "<unix-ms>-<seq>" ([ID.String],
// [ParseID]). They strictly increase within a stream, even when the wall
// clock steps back (a [Generator] keeps the last millisecond and raises the
// sequence), and they carry the time, so an ID handed out before a restart
// still orders correctly after it: a client's old Last-Event-ID can never
// match a different, newer event. IDs compare without a store ([ID.Compare]).
// The zero ID means "from the start"; [Tail] means "only what comes next".
// ParseID is strict (digits and one dash, at most [MaxIDLen] bytes), because
// IDs come from clients.
//
// # Gaps
//
// ReadAfter(after) resumes after an ID the stream holds, or after the last ID
// it evicted (the reader missed nothing). Anything else, an unknown ID, an ID
// of another stream, a forged or future ID, an ID evicted longer ago, is a
// *[GapError] (errors.Is(err, [ErrGap])) that carries the oldest ID still
// held. A store never replays everything silently in place of a position it
// does not know. A client that accepts the loss resumes from the zero ID (the
// oldest held) and tells its user that history was lost. ReadSince returns
// a gap when events at or after the time were evicted. Finding the position
// is a binary search.
//
// # Follow
//
// Follow replays the events after a position and then delivers new ones as
// they are appended, as a Go iterator:
//
//	for ev, err := range store.Follow(ctx, "room", lastID) {
//		if err != nil {
//			return err // a *GapError, ErrClosed, ...
//		}
//		send(ev)
//	}
//
// Replay and live delivery are one sequence with no window between them:
// nothing is lost and nothing is delivered twice, however appends race with
// the start of Follow. The consumer sets the pace: the iterator holds no
// lock while it yields, costs an idle stream nothing, and reads in batches.
// A consumer so slow that its next event was evicted gets a *GapError rather
// than a silent skip. The sequence ends when ctx is done, when the consumer
// breaks out of the loop, or after yielding [ErrClosed] when the store
// closes. Stats.Followers counts running iterators.
//
// # Bounds
//
// Every store is bounded, by [Limits]: events per stream (oldest evicted),
// total bytes (the oldest events of the least recently appended streams go
// first), event size (Append fails with [ErrTooLarge]), age, number of
// streams (the least recently appended stream is evicted whole) and stream
// name length ([ErrBadStream]). A zero field means its default, never
// "unlimited". Every eviction is reported to Options.OnEvict with its
// [EvictReason] and the newest evicted ID, and counted in [Stats]. Age is
// enforced lazily: when a stream is touched, and on each append for two
// other streams in turn, so the memory of idle streams goes back without a
// background goroutine.
//
// # Choosing a store
//
//   - [Memory] ([NewMemory]): the default. One process; history is lost on
//     restart (clients then get gap errors, not wrong events, because IDs
//     carry time). A per-stream ring buffer: O(1) appends that allocate only
//     the copy of the payload, O(log n) resume.
//   - [File] ([OpenFile]): one process, history survives restarts and
//     kill -9. An append-only log in segment files with CRC-checked records,
//     replayed into the memory index on open; a torn tail is cut, never
//     served. The [SyncPolicy] says what survives a machine crash:
//     SyncAlways (the default) fsyncs before every Append returns,
//     SyncInterval every FileOptions.SyncEvery, SyncNever leaves it to the
//     OS. Under every policy an acknowledged append survives the process
//     being killed. Retention removes whole segments: once none of their
//     events are held, once they are older than MaxAge, or when the log
//     passes FileOptions.MaxLogBytes (their events are then evicted). One
//     File per directory: OpenFile locks it (flock on dir/LOCK).
//   - redisstore (module eventstore/redisstore): many processes behind a
//     load balancer share one log and its live tail through Redis Streams.
//
// Every implementation passes the conformance suite in package
// eventstore/storetest; a third-party Store can run it too.
//
// # Concurrency
//
// Every Store method is safe for concurrent use. Appends to a stream are
// totally ordered, and the order of IDs is the order of events. [Memory]
// and [File] serialize writes behind one store-wide lock and hand out IDs
// from one store-wide generator, so IDs are unique across streams. File
// writes each record under that lock but fsyncs outside it: under
// SyncAlways, concurrent appends share one fsync (group commit), and an
// event becomes visible to readers only once it is durable. Event.Data is
// shared between readers: treat it as read-only. OnEvict runs on the
// goroutine that caused the eviction, with no lock held; it must be quick
// and must not call the store.
//
// # Memory
//
// A Memory or File store holds at most Limits.MaxBytes of event bytes (plus
// a fixed overhead per event and per stream); rings grow by doubling up to
// MaxEventsPerStream and are then reused. The file store's disk use is
// bounded by MaxLogBytes plus one segment.
//
// # Security
//
// IDs, stream names and positions come from clients. ParseID rejects
// anything but an ID; stream names are length-bounded; an unknown or forged
// ID yields a gap error, never another stream's events or a full replay.
// Stream names are not authorization: check that a client may read a stream
// before following it.
//
// # Shutdown
//
// Close ends every Follow iterator (each yields [ErrClosed]) and makes later
// calls return ErrClosed; it is idempotent. File.Close also stops its syncer
// goroutine and fsyncs the log. Neither store leaves a goroutine running
// after Close; cancel a Follow's context to end it earlier.
package eventstore
