// Package longpoll is HTTP long polling, wire-compatible with golongpoll
// (v1.3.1) so that its Go and JavaScript clients work unmodified, over an
// eventstore.Store, and free of golongpoll's known bugs.
//
// # Entry points
//
//   - Broker: NewBroker(opts) gives a SubscriptionHandler and a
//     PublishHandler (plain http.Handlers for any router) and a Go Publish.
//   - Server: the seed's all-in-one Start(ServerInfo, FilePersistorInfo,
//     failureFunc) / Stop(timeout), a Broker on its own http.Server (with
//     waiting polls parked on bare connections on Linux: High density).
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
// All methods are safe for concurrent use. On net/http's path a waiting poll
// costs its handler goroutine (and net/http's per-connection goroutine and
// buffers, about 16 KB), one small waiter, and a runtime timer: no goroutine
// of its own, no per-poll channel send from a manager goroutine. Parked (see
// High density) it costs the socket, a small struct and a runtime timer:
// about 3 KB of RSS, no goroutine. Each event is
// rendered to JSON once while polls wait on its category and the bytes are
// shared by every answer that carries it (Stats.Encodes counts renders).
// Waking is a non-blocking signal; a waiter then reads from the store, so a
// slow client never holds up a publish.
//
// # High density: polls parked on bare connections
//
// net/http holds every HTTP/1.1 connection with two goroutines and about
// 16 KB of buffers; a server with many waiting polls sits on that floor. The
// broker can go under it: a plain HTTP/1.1 poll that has to wait and that
// arrived through an [httpx.HandbackListener] is hijacked, net/http's
// goroutines and buffers are dropped, and the poll waits parked on the bare
// connection, watched by an [httpx.Poller] (one epoll set on Linux) that
// reports a client that leaves. A publish writes one pre-rendered answer
// (status line, golongpoll's headers, Date, Content-Length, body: the bytes
// net/http would write), shared by every parked poll of its category,
// straight to each socket. The connection then stays with the broker: its
// next request, if it is a plain keep-alive GET for the same path and Host
// with the same Authorization and Cookie headers (parsed by net/http's own
// http.ReadRequest; a request whose header block repeats, byte for byte,
// that of the last one so parsed on the connection has only its request
// line and query read), is served right there, answered or parked again;
// anything else (a publish, another path, HTTP/1.0, Connection: close, a
// body, Expect, Upgrade, a partial or pipelined read) is handed back to
// net/http with the bytes read. An answered connection with no new request
// is closed after Options.IdleTimeout (default 2 minutes).
//
// Turning it on: the seed [Server] does on Linux. A [Broker] user serves
// through the listener wrapper:
//
//	hl := httpx.NewHandbackListener(ln, httpx.HandbackOptions{})
//	srv := &http.Server{Handler: mux, ConnContext: hl.ConnContext}
//	srv.Serve(hl)
//
// What stays on net/http's path: TLS and HTTP/2 polls (HTTP/2 multiplexes
// streams; a stream is not a connection), polls on servers without the
// wrapper, polls naming several categories, polls whose BeforeSubscribe
// hook or middleware set response headers, and every poll with
// Options.DisableConnParking, Options.Fanout or Options.DeleteAfterRead.
// With BeforeSubscribe or CORS set, a parked connection's later polls go
// back through net/http (and the hook) instead of being served directly.
//
// Middleware in front of SubscriptionHandler runs for the poll that net/http
// routes, not for the later polls served directly on the same connection;
// those must match the routed poll's path, Host, Authorization and Cookie
// byte for byte. Middleware that decides on anything else (client address
// aside, which cannot change on a connection) should be a BeforeSubscribe
// hook, which turns direct serving off.
//
// Stats.Parked counts parked polls (within Waiting), Stats.IdleConns the
// answered connections held until their next request. Broker.Shutdown
// answers parked polls at once, closes every held connection, and stops the
// poller (a broker that has parked a poll owns it, an epoll goroutine and
// four callback workers, until Shutdown). On Unix systems other than Linux
// the poller spends a goroutine per watched connection (the seed Server
// leaves parking off there); elsewhere polls always stay on net/http's
// path.
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
// every waiting poll (parked ones too, then closing their connections) with
// a timeout answer (its clients re-poll elsewhere
// without losing their place), waits for the handlers to return or ctx, and
// closes the store it owns. Server.Stop does that, then shuts the
// http.Server down within its timeout. In an httpx.ListenAndServeGraceful
// program, pass Broker.Shutdown as a shutdown hook.
package longpoll
