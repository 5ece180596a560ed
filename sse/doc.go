// Package sse implements server-sent events (the HTML Living Standard's
// text/event-stream): a server and hub that fan events out to many
// clients, a client that reconnects and resumes, and the wire writer.
// The WHATWG parser lives in the sub-package parser.
//
// # Server
//
// A Server is an http.Handler. Mount it on any router; an Authorize hook
// decides, per request, which topics the connection receives (one or
// many), or refuses it:
//
//	s := sse.NewServer(sse.Options{
//		Authorize: func(r *http.Request) ([]string, error) { return []string{"news"}, nil },
//	})
//	mux.Handle("GET /events", s)
//	s.Publish(ctx, "news", sse.Event{Type: "headline", Data: []byte("...")})
//
// On connect the status and headers (Content-Type: text/event-stream,
// Cache-Control: no-cache, X-Accel-Buffering: no; never Connection) are
// flushed at once, so proxies and EventSource.onopen do not wait for the
// first event, followed by the optional Options.Retry hint. A keepalive
// comment goes out only when a stream was quiet for Options.KeepAlive
// (15 s by default).
//
// Publish appends the event to an eventstore.Store (an in-memory one by
// default), which assigns its ID ("<unix-ms>-<seq>"), and queues the
// encoded bytes to every subscriber. A client that reconnects with
// Last-Event-ID gets the events it missed from the store, then the live
// ones, with nothing lost or doubled. When its ID cannot be resumed
// (evicted from the store, unknown, from another server's store, or
// malformed) the client receives a "reset" event (Options.ResetEvent)
// whose data is the topic, and Options.OnGap is called: reload your state,
// the stream continues live. Nothing is ever skipped silently. (A
// connection with several topics resumes each topic that does not hold the
// client's ID from the time the ID carries, skipping events not after it;
// events are delivered to every connection in ID order.)
//
// # Client
//
//	c := &sse.Client{URL: "https://example.com/events"}
//	for ev, err := range c.Events(ctx) {
//		if err != nil { ... } // the client gave up; see Client for the policy
//		fmt.Println(ev.Type, ev.Data, ev.ID)
//	}
//
// The client reconnects with Last-Event-ID, honours retry:, backs off
// exponentially with full jitter (capped at 30 s, reset only after a
// connection stayed healthy), stops on 204, fails on other statuses and
// wrong content types as a browser does, honours Retry-After on 429/503,
// and detects dead servers with a read-idle timeout. Set Finite for
// streams the server ends when done (LLM responses): EOF then ends the
// sequence.
//
// # Concurrency
//
// Server, Conn and Client methods are safe for concurrent use. Publish
// never waits for a client: it takes a store append and one short lock per
// subscriber to queue a shared byte slice. The bytes are written by a few
// writer goroutines shared by all of a server's connections: a connection
// with something queued waits on their FIFO list once, and everything it
// has queued by its turn goes out in one write and one flush; no lock is
// held across network I/O. A write that blocks (a client that stopped
// reading) does not hold up the others: a write running for more than
// 2 ms no longer counts as a writer, and another one is started, so at
// least max(2, GOMAXPROCS) writers keep making progress; those extra
// writers exit once the list is empty, and all of them when the server has
// no connections. The request goroutine (net/http's) only waits for its
// stream to end, on a shallow stack: idle connections cost no goroutine
// beyond net/http's two, and keep them at net/http's minimum stack sizes.
// One periodic goroutine runs per server while it has connections: it
// sends the keepalives and, every second, checks the request context of
// every stream. The request goroutine waits on its stream alone (a wait
// on the context as well would cost each idle connection a few hundred
// bytes), so a client that goes away while nothing is written to it is
// noticed within a second (ErrClientGone, then OnDisconnect); a write to
// it fails sooner. Hooks (Authorize, OnConnect, OnDisconnect, OnGap) run
// on the request's goroutine.
//
// # Memory and slow clients
//
// Every connection's queue is bounded by Options.MaxQueueEvents (1024)
// and Options.MaxQueueBytes (1 MiB), and every write+flush by a deadline
// set through http.ResponseController: each write starts with between half
// of Options.WriteTimeout (10 s) and all of it left, so
// http.Server.WriteTimeout can stay 0. A
// client over either bound is evicted at once (ErrSlowClient; its queued
// bytes are freed and its blocked write is aborted); it can reconnect and
// resume with Last-Event-ID. Other clients never wait for it. Replay is
// read from the store a page (256 events) at a time. The store is bounded
// by its own limits (eventstore.Limits). An idle connection costs what
// net/http spends on it (two goroutines, about 24 KB in all) and a few
// hundred bytes of ours; in high-density mode about 6 KB and no
// goroutine. Writers are at most max(2, GOMAXPROCS) plus one per write
// blocked at that moment. On the client side, events are
// bounded by Client.MaxEventSize (1 MiB): a larger one ends the sequence
// with an error instead of a reconnect loop.
//
// # Security
//
// Event IDs and types are validated, never rewritten: CR, LF and NUL (and,
// for IDs, any control character, invalid UTF-8, or more than MaxIDLen
// bytes) are rejected with ErrInvalidID / ErrInvalidType, so no value can
// inject a field or an event, and every emitted ID can be echoed back by a
// client. Data and comments are split on CR, LF and CRLF into separate
// lines. The Last-Event-ID header is untrusted: it is length-checked
// (MaxIDLen), must be printable ASCII and parse as a store ID, and is never
// echoed. Authorize runs before anything is written. SSE carries text: a
// codec that produces binary is refused (ErrBinary). Do not compress
// event streams unless the compressor flushes per write.
//
// # Shutdown
//
// Server.Shutdown refuses new streams with 503, ends every stream with a
// final "retry:" hint (Options.ShutdownRetry, 2 s) so clients come back
// promptly to the next instance, waits for the handlers to return or ctx
// to end (then aborts the rest), and closes the store if the server
// created it. Its signature is func(context.Context) error, an
// httpx.ListenAndServeGraceful shutdown hook; run it before
// http.Server.Shutdown, which would otherwise wait for streams that never
// end. CloseAll ends the current streams without refusing new ones.
//
// # HTTP/2 and middleware
//
// By default the server never hijacks connections, so it works over HTTP/2
// (many streams share one connection; browsers allow 6 HTTP/1.1 streams per
// origin). Flushes and deadlines go through http.ResponseController, which
// follows Unwrap() through middleware wrappers; a writer that cannot flush
// ends the stream with an error instead of a panic.
//
// # High-density mode
//
// With Options.HighDensity, plain HTTP/1.1 streams are hijacked: the server
// writes the status line and the same headers (with those a middleware set
// before ServeHTTP, a Date and Transfer-Encoding: chunked; never
// Connection) and then the chunked body itself, through the same shared
// writers, queues, coalescing, eviction, keepalives and shutdown (the
// final retry hint is followed by the terminating chunk, then the
// connection is closed). An idle stream then holds no goroutine and none
// of net/http's buffers: about 6 KB per connection instead of about 24 KB
// (see tools/bench/RESULTS.md). A client that closes its connection is
// noticed at once through an httpx.Poller (one epoll instance and two
// goroutines per server on Linux, started with the first such stream and
// stopped when the last one ends), elsewhere by the next write or
// keepalive. HTTP/2, HTTP/1.0, TLS (a hijacked TLS connection keeps its
// buffers) and writers that cannot be hijacked keep the normal path. Trade-offs: the
// request's context is cancelled once setup is done (Conn.Request is for
// its fields), OnDisconnect runs on a writer goroutine, and
// http.Server.Shutdown does not wait for hijacked streams: call
// Server.Shutdown, which ends them.
package sse
