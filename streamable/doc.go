// Package streamable implements the "POST that optionally streams" pattern
// of MCP's Streamable HTTP transport: one endpoint answers each request
// either with a single JSON body or with a text/event-stream, and, on top of
// that core, a complete MCP Streamable HTTP server layer (sessions, the GET
// stream, resumption, version rules, DNS-rebinding protection) and a Go
// client. The module knows no MCP methods: the application's dispatcher is
// a hook. See examples/mcpserver for a whole MCP server.
//
// # Core: JSON or a stream, per request
//
// A [HandlerFunc] returns a [Reply]: [JSON] (status and body) or
// [StreamReply] (a producer). [Handler] and [Serve] write it. A stream
// flushes its headers at once (clients with a first-byte timeout do not hang
// up), sends Cache-Control: no-cache and X-Accel-Buffering: no (nginx would
// buffer it otherwise), clears the http.Server write deadline through
// http.ResponseController (WriteTimeout would cut a long stream), and writes
// ": keepalive" comments every [Options].KeepAlive (15 s). Events go through
// the sse module's field writer, so no payload can inject fields. With
// [Options].Store every event is logged first and carries the store's ID.
// The Accept header is honoured for both kinds (wildcards, q-values; 406
// otherwise).
//
// # JSON-RPC and framing helpers
//
// [ParseMessage] validates one JSON-RPC 2.0 envelope and returns typed
// errors (*[Error] with -32700 or -32600; errors.Is [ErrInvalidMessage]).
// [DetectBatch] and [SplitBatch] handle batches (an empty batch is Invalid
// Request; items and bytes are capped). [ReadFrame] and [WriteFrame] speak
// Content-Length framing (LSP, stdio transports), with caps on the length
// and on header lines, so a hostile peer cannot make the reader allocate.
//
// # MCP server layer
//
// [NewServer] returns an http.Handler for one MCP endpoint. Per request it
// applies the rules of the protocol revision ([VersionPolicy]; 2025-03-26,
// 2025-06-18, 2025-11-25, 2026-07-28):
//
//   - POST: Content-Type must be application/json (415), Accept must list
//     application/json and text/event-stream (406), the body is capped (413),
//     bad JSON is 400 with -32700, batches only under 2025-03-26 and never
//     with the session start, notifications and responses get 202.
//   - Sessions: minted only after the session start (default "initialize")
//     answered without an error, and only if its client is still there to
//     learn the ID; IDs are crypto-random visible ASCII;
//     Mcp-Session-Id is then required (400 missing, 404 unknown or ended,
//     403 for another principal when [ServerOptions].Principal is set);
//     DELETE ends one; an idle TTL and a cap bound them. Every end (DELETE,
//     TTL, server close, failed start) runs the same cleanup: the session's
//     context is cancelled, its handlers are waited for, its store streams
//     are deleted and OnSessionClosed runs.
//   - MCP-Protocol-Version: an unsupported value is 400; absent means the
//     session's negotiated revision, else 2025-03-26.
//   - GET opens the session's server-to-client stream ([Session.Notify]); a
//     second one gets 409; DisableGET answers 405.
//   - Resumption, with [ServerOptions].Store: event IDs are
//     "<stream key>_<store id>", so a Last-Event-ID names the one stream it
//     came from, and GET with it replays only that stream of that session.
//     A malformed, unknown, foreign or evicted ID is 400: never a partial or
//     foreign replay. Under 2025-11-25 every stream starts with a priming
//     event (an ID and empty data) and a retry: hint; [Request.CloseStream]
//     ends a POST's HTTP response early while its handler goes on.
//   - 2026-07-28 (or [ServerOptions].Stateless): no sessions, GET or DELETE
//     (405), and closing the stream cancels the request.
//
// # Client
//
// [NewClient] POSTs with both Accept types, reads a JSON or an SSE answer
// (with the sse/parser package), keeps Mcp-Session-Id and the negotiated
// MCP-Protocol-Version, resumes a dropped stream with GET and Last-Event-ID
// (capped, jittered backoff; the server's retry: replaces the base) and
// sends DELETE on Close. A 404 for its session is [ErrSessionExpired].
//
// # Concurrency
//
// Server, Session, Client and Stream are safe for concurrent use. A
// HandleFunc runs on the request's goroutine, except with a Store (and a
// revision before 2026-07-28), where it runs on a goroutine owned by the
// session so that it can outlive its connection; Server.Close waits for
// it. Notifications a handler sends on its own stream are written in order.
// The long-lived GET stream never holds a lock the other requests need.
//
// # Disconnects and slow clients
//
// In the core, a client that disconnects cancels the request's context;
// every Send on a dead stream fails with [ErrStreamClosed], so a producer
// blocked in Send is always released. Each write has a deadline
// ([Options].WriteTimeout, 30 s): a client that stops reading is
// disconnected, never buffered for.
//
// In the MCP layer the revision decides. Under 2026-07-28 (and for requests
// without a session) closing the stream cancels the handler. Before it, a
// disconnect is not a cancellation: the handler's sends fail with
// ErrStreamClosed (or, with a store, wait in the store for a resume) and its
// context ends with the session; [ServerOptions].CancelOnDisconnect opts
// into cancelling.
//
// # Memory
//
// Bodies are capped (MaxBodyBytes, 4 MiB), batches (100 items), sessions
// (MaxSessions, 10,000), resumable POST streams per session (256; the
// oldest is deleted from the store), the client's messages (4 MiB) and the
// store's own bounds apply to everything logged. A session start's
// notifications are buffered (at most 64) until its answer is known,
// because the session ID header must precede the body.
//
// # Security
//
// Origin must be on [ServerOptions].AllowedOrigins when present, on every
// method (http.CrossOriginProtection lets GET through, which is not enough
// here): 403 otherwise. When the connection arrived on a loopback address,
// a Host that is not localhost, 127.0.0.1 or [::1] is 403 (DNS rebinding);
// bind local servers to 127.0.0.1. Session IDs are 128-bit random; bind
// them to a principal when requests are authenticated.
//
// # Shutdown
//
// [Server.Close] (an httpx.ShutdownHook) ends every session, which ends
// their GET and resumed streams and cancels their handlers, and waits for
// them until its context ends; later requests get 503. Direct POST streams
// end when their handler returns, which the session's cancelled context
// asks for.
package streamable
