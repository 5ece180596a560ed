// Package longpoll is HTTP long polling, wire-compatible with golongpoll
// (v1.3.1) so that its Go and JavaScript clients work unmodified, over an
// eventstore.Store, and free of golongpoll's known bugs.
//
// # Entry points
//
//   - Broker: NewBroker(opts) gives a SubscriptionHandler and a
//     PublishHandler (plain http.Handlers for any router) and a Go Publish.
//   - Server: the seed's all-in-one Start(ServerInfo, FilePersistorInfo,
//     failureFunc) / Stop(timeout), a Broker on its own http.Server.
//   - Subscription and Publish: the seed's one-request client functions.
//   - Client: a context-aware loop, Events(ctx, categories...), that tracks
//     since_time and last_id, reconnects with capped jittered backoff, and
//     never yields an event twice.
//
// # Wire
//
// Subscribe: GET ?category=&timeout=&since_time=&last_id= (any method is
// accepted, as golongpoll does; the seed Server routes GET only).
// Parameters are validated in golongpoll's order with its error texts, as
// HTTP 200 {"error": "..."}. Answers are {"events":[{"timestamp","category",
// "data","id"}]} (oldest first) or {"timeout":"no events before timeout",
// "timestamp":ms}. Publish: POST {"category","data"} with any Content-Type,
// 405/400 with golongpoll's texts, success exactly {"success": true}.
//
// Event IDs are UUID-shaped (golongpoll's Go client decodes them as UUIDs)
// and ordered: a version-7 layout carrying the eventstore ID's millisecond
// and sequence and a hash of the category ([FormatID], [ParseID]). last_id
// is therefore a cursor, not a value to look for in a buffer.
//
// Extensions that golongpoll clients ignore or never send: "category" may
// repeat (one poll for several categories, at most
// Options.MaxCategoriesPerRequest) with one "last_id" per category; an
// answer carries "history_lost":true when events after the client's
// position were evicted before it read them (the events that follow are the
// oldest still held).
//
// # What is fixed compared with golongpoll
//
//   - No event is lost at the timeout boundary. A poll whose timer fires
//     takes the time first, then unregisters and reads once more: events
//     that arrived meanwhile are sent, and the timeout's timestamp is never
//     later than an event this poll did not send.
//   - Order: the store assigns time and sequence in one place, under the
//     category's lock, so concurrent publishers cannot interleave out of
//     order, and two events in one millisecond are both delivered.
//   - Bounded: events per category (BufferSize), age (TTL), bytes, event
//     size, categories, waiting polls, events per answer, categories per
//     poll. Hitting a bound is an error answer (503 for capacity) or an
//     eviction that readers are told about.
//   - Shutdown answers every waiting poll at once; Publish after it returns
//     ErrStopped instead of panicking; Stop on a Server never started
//     returns nil; Start, Stop, Start on the same Server works.
//
// # Concurrency and memory
//
// All methods are safe for concurrent use. A waiting poll costs its net/http
// handler goroutine, one small waiter, and a runtime timer: no goroutine of
// its own, no per-poll channel send from a manager goroutine. Each event is
// rendered to JSON once while polls wait on its category and the bytes are
// shared by every answer that carries it (Stats.Encodes counts renders).
// Waking is a non-blocking signal; a waiter then reads from the store, so a
// slow client never holds up a publish.
//
// # Persistence
//
// Events live in an eventstore.Store: memory by default (owned and closed by
// the Broker); pass a file store (eventstore.OpenFile) for restarts that
// replay, with the durability its SyncPolicy states, or any other Store.
// The seed's FilePersistorInfo opens a file store in the directory FileName.
//
// # Security
//
// Publishing is open to whoever reaches the handler, as in golongpoll: wrap
// it, or set Options.BeforePublish (and BeforeSubscribe) to authenticate and
// to restrict categories. Options.CORS applies httpx.CORS (an allow-list,
// never "*"). Bodies are bounded by MaxEventSize; query values are checked
// before use and never echoed into headers.
//
// # Shutdown
//
// Broker.Shutdown(ctx) closes the broker to new polls and publishes, answers
// every waiting poll with a timeout answer (its clients re-poll elsewhere
// without losing their place), waits for the handlers to return or ctx, and
// closes the store it owns. Server.Stop does that, then shuts the
// http.Server down within its timeout. In an httpx.ListenAndServeGraceful
// program, pass Broker.Shutdown as a shutdown hook.
package longpoll
