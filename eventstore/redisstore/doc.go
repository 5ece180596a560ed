// Package redisstore is an [eventstore.Store] on Redis Streams, for services
// that run as several processes behind a load balancer: every process opens a
// Store on the same Redis with the same key prefix, and an event appended
// through any of them is read, resumed and followed through all.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(client, redisstore.Options{})
//	ev, err := store.Append(ctx, "orders", "created", payload)
//	for ev, err := range store.Follow(ctx, "orders", lastSeenID) { ... }
//
// It lives in its own module so that users of the memory and file stores
// never download go-redis. It needs Redis 6.2 or newer (tested with 7.0).
//
// # IDs
//
// Event IDs are the Redis stream entry IDs, "<unix-ms>-<seq>", exactly the
// shape of [eventstore.ID]. The store assigns them itself (XADD with an
// explicit ID) from one counter per key prefix, so IDs are unique across the
// streams of a store, strictly increase even when a clock steps back (the
// millisecond is held and the sequence raised), and survive Delete. The time
// is the Redis server's (TIME) unless [eventstore.Options.Clock] is set, so
// processes with skewed clocks still agree.
//
// # Key layout
//
// With the default prefix "streamkit:{es}:" a store uses:
//
//	<prefix>s:<stream>   a Redis stream per event stream; entry fields
//	                     p (previous entry's ID), d (data), t (type, if any)
//	<prefix>streams      sorted set: stream name -> append counter at its last
//	                     append (least recently appended first)
//	<prefix>last         hash: stream name -> its newest ID
//	<prefix>bytes        hash: stream name -> bytes it holds
//	<prefix>stats        hash: events, bytes (held, all streams), last (the
//	                     newest ID handed out), n (append counter)
//
// The braces in the default prefix are a Redis Cluster hash tag: the scripts
// touch several keys, which must share a slot. A custom prefix for Redis
// Cluster must keep a hash tag (and the whole store then lives on one shard).
//
// # Commands
//
// Append, ReadAfter, ReadSince, Trim and Delete are each one Lua script (one
// round trip, atomic against every other client): XADD with the next ID,
// XTRIM MINID for MaxEventsPerStream and MaxAge, XRANGE with an exclusive
// start ("(id") for reads, DEL for Delete, plus the hash and sorted-set
// bookkeeping above. Scripts are sent with EVALSHA and loaded on NOSCRIPT.
// [Store.AppendBatch] pipelines several appends in one round trip.
//
// Resume checks are O(1): each entry stores the ID of the entry before it in
// its stream ("p"), so an ID x is a valid position exactly when it is held,
// or it is the first held entry's p (the newest evicted ID: the reader missed
// nothing), or it is the stream's newest ID. Anything else is a
// *[eventstore.GapError] with the oldest ID still held. (Redis 7.0's XINFO
// STREAM max-deleted-entry-id is updated by XDEL only, not by XTRIM or
// XADD's trimming, so it cannot tell how far trimming went; the p field can.)
//
// # Following
//
// Follow replays with the read script and then waits with XREAD BLOCK from
// the last delivered ID, so nothing is lost or doubled between replay and
// live. Each follower makes its own blocking XREAD and holds one pooled
// connection while it waits: size the client's PoolSize (go-redis default 10
// per CPU) above the number of followers plus concurrent calls. Sharing one
// XREAD between the followers of a stream is future work (fan-out). An XREAD
// that times out after [Options.BlockTimeout] is followed by a position check,
// which is how a follower notices a Delete without new appends. A follower
// that fell behind eviction gets a *[eventstore.GapError].
//
// # Bounds and their cost
//
// Every bound of [eventstore.Limits] is enforced inside the append script,
// by whichever process appends, so every process sharing a prefix must use
// the same Limits:
//
//   - MaxEventsPerStream and MaxAge trim the stream appended to (XTRIM
//     MINID). Reads also drop expired events of the stream they read, and an
//     append drops up to 8 idle streams whose newest event expired, so an
//     idle stream's events are never served past MaxAge.
//   - MaxStreams evicts the least recently appended stream whole: one ZCARD
//     per append, and a ZRANGE plus DEL per eviction. The sorted set costs
//     about 100 bytes per stream in Redis.
//   - MaxBytes evicts the oldest events of the least recently appended
//     streams: the script reads the entries it evicts to count their bytes.
//
// Every eviction is reported through OnEvict on the goroutine whose call
// caused it, after the script returned. Evictions caused by another process's
// append are reported in that process.
//
// # Stats
//
// Stats makes one round trip (bounded by [Options.StatsTimeout]) for
// Streams, Events and Bytes, which are shared by every store on the prefix;
// Appended, Evicted, EvictedBy and Followers count this Store's own calls.
// When Redis does not answer, Stats returns the last values it read.
//
// # Failures
//
// Errors from Redis (refused or dropped connections, timeouts, script
// errors) match [eventstore.ErrUnavailable]; a done context gives the
// context's error. Nothing hangs on a dead server: a refused connection fails
// after the client's retries, and a blocked XREAD sees its connection drop.
// go-redis re-dials on its own, so a connection killed under a follower (a
// proxy restart, CLIENT KILL) is retried transparently when the server is
// still up. When the server is down, the follower yields an error and ends;
// Follow again from the last delivered ID once Redis is back: entries carry
// their predecessor's ID, so the new follower resumes exactly where the old
// one stopped, or reports a gap if events were evicted meanwhile.
//
// Time bounds come from the client: go-redis applies a context's deadline
// to a call only with Options.ContextTimeoutEnabled; otherwise its
// DialTimeout, ReadTimeout and WriteTimeout (and MaxRetries) bound each call,
// and Options.StatsTimeout too. A server that hangs without closing the
// connection (frozen, partitioned) therefore fails calls after ReadTimeout
// (3s by default) and a waiting follower's XREAD after BlockTimeout plus 10s
// (go-redis's deadline for blocking commands). A cancelled context or Close
// still ends a follower at once; Close then waits for that pending XREAD.
//
// Appends are never retried by the client: an append whose reply was lost
// (the connection dropped after Redis ran it) may be stored, and sending it
// again would store it twice, so the caller gets an ErrUnavailable error
// instead and decides (a caller that retries gets at-least-once). Reads and
// XREAD are retried by go-redis as usual (Options.MaxRetries).
//
// Durability is Redis's: with appendonly yes and appendfsync always, an event
// whose Append returned survives a crash of Redis. A Redis that restarts
// without its data forgets the streams; readers positioned in them then get
// gap errors, never events from an unrelated stream.
//
// # Concurrency and shutdown
//
// A Store is safe for concurrent use. Close ends every follower at once
// (they yield [eventstore.ErrClosed]), waits for their pending XREADs (at
// most BlockTimeout plus a round trip) and makes later calls return
// ErrClosed. The client belongs to the caller; Close does not close it.
//
// # Security
//
// Stream names become parts of Redis keys verbatim; they are bounded by
// MaxStreamNameLen and cannot escape the prefix. Event data is stored as is.
// Use Redis ACLs and TLS (go-redis Options.TLSConfig) as for any other Redis
// data; the store needs EVALSHA/EVAL, XREAD, HGET, ZCARD, HMGET and SCRIPT
// LOAD on keys under its prefix.
package redisstore
