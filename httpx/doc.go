// Package httpx is the small HTTP toolkit the streamkit transports share:
// starting and stopping servers safely, waiting for one to come up, and the
// helpers every JSON-over-HTTP service rewrites (size-capped JSON, status
// errors, Accept negotiation, URLs, session IDs, CORS, client presets). It
// imports only the standard library.
//
// # Starting a server
//
// [ListenAndServeAsync] and [ListenAndServeTLSAsync] listen first and serve
// in a goroutine, and return only once the socket is listening: a request
// sent right after they return is accepted. Listen and certificate errors
// are returned. For an ephemeral port (":0", "localhost:0", "[::1]:0" and,
// unlike net/http, an empty Addr) srv.Addr is rewritten to the real address,
// for HTTPS too. The returned [*Serving] reports the address ([Serving.Addr],
// [Serving.URL]), whether serving has ended ([Serving.Done]) and why
// ([Serving.Wait]), and stops the server ([Serving.Shutdown],
// [Serving.Close]). Nothing here logs or exits the process: a serve error
// reaches the caller through Wait.
//
// [Serve] and [ServeTLS] do the same on a listener the caller opened
// (socket activation, Unix sockets, in-memory listeners in tests) with a
// context that closes the server when it ends.
//
// # Shutting down
//
// [http.Server.Shutdown] waits for active requests, but a streaming response
// (SSE, a long poll) is active until it ends, and a hijacked WebSocket is
// not tracked at all; Shutdown does not cancel request contexts either
// (golang/go#17721). So a server with a live stream never drains by itself.
// [ListenAndServeGraceful] runs a server until a signal or its parent
// context ends it, then:
//
//  1. runs the shutdown hooks ([WithShutdownHooks]), which is where an SSE
//     hub or WebSocket registry says goodbye and ends its streams (pass
//     hub.Shutdown, which has the [ShutdownHook] signature);
//  2. calls Shutdown to stop accepting and drain;
//  3. calls Close if the drain timeout ([WithDrainTimeout], default 15 s)
//     runs out or a second signal arrives, and reports it with
//     [ErrForcedClose].
//
// The whole shutdown, hooks included, takes at most the drain timeout
// (plus a 100 ms grace for hooks to return once their context ends).
//
// # Waiting for a server
//
// [WaitForURL] polls a URL with exponential backoff until a response passes
// a validation hook (any 2xx by default) or its context ends; then the
// error keeps the last probe's error ("connection refused", an x509
// error). TLS certificates are always verified: trust a test CA with
// [WithRootCAs] or pass a client with [WithWaitClient].
//
// # Parking idle connections without a goroutine
//
// net/http spends two goroutines and about 16 KB of buffers on every
// HTTP/1.1 connection, busy or idle. A server that holds many idle
// connections (long polls, SSE clients between events) can go under that
// floor with two pieces:
//
//   - [Poller]: one-shot readiness reports ("this socket has bytes, or was
//     closed or reset") for many connections. On Linux it is one epoll
//     instance and one goroutine plus a few callback workers, whatever the
//     number of connections; on other Unix systems each armed connection
//     waits in a goroutine of its own (same API, no memory saving);
//     elsewhere arming reports errors.ErrUnsupported and the caller keeps
//     net/http's path. [Poller.Watch] arms one report; a connection watched
//     between every request is added once with [Poller.Register] and
//     re-armed with [Registration.Arm], which allocates nothing and on
//     Linux is one system call.
//   - [HandbackListener]: a listener wrapper through which a handler gives a
//     hijacked HTTP/1.1 connection back to its http.Server, with the bytes
//     it had already read, so net/http serves whatever the handler chose
//     not to serve itself. [HandbackFor] tells a handler whether its
//     request's connection can be given back (never for TLS or HTTP/2, never
//     on a server without [HandbackListener.ConnContext]); [UnwrapConn]
//     returns the socket under a handed-back connection.
//
// A handler then hijacks, drops net/http's buffers, parks the bare
// connection with a Watch (or a Registration), answers it later with a
// direct write, arms it again for the next request, serves a request it understands right there, and
// hands anything else back. Hijacked connections are not tracked by
// http.Server: their owner closes them at shutdown.
//
// # Helpers
//
//   - JSON: [DecodeJSON], [DecodeJSONRequest] and [DoJSON] read at most a
//     cap (default 1 MiB, [JSONMaxBytes]) and exactly one value; errors are
//     [*BodyTooLargeError] (413) and [*JSONError] (400/415). [WriteJSON]
//     encodes before writing; [WriteJSONError] hides 5xx details.
//   - Status: [HTTPStatusError] keeps a bad response's status, header and up
//     to 16 KiB of body (with Truncated); [IsTransient] says whether a status
//     is worth retrying; [ErrorToStatus] maps an error chain to a status
//     through the [StatusCoder] interface, and [WithStatus] attaches one.
//   - Content negotiation: [ParseAccept] and [Negotiate] (RFC 9110: q-values,
//     q=0 exclusions, wildcards, case-insensitive, bounded work).
//   - URLs: [ResolveURL] (RFC 3986), [SameOrigin], [QueryString] (sorted),
//     [NormalizeWebSocketURL] (http to ws, https to wss).
//   - [NewSessionID]: 128+ random bits as 26 visible ASCII characters.
//   - [CORS]: allow-listed origins only, Vary appended, preflights answered
//     only for allowed origins.
//   - Clients: [NewLowRateClient], [NewMediumRateClient], [NewHighRateClient]
//     and [NewStreamingClient] build a new tuned client per call; their docs
//     state their timeouts and pool sizes.
//
// # Concurrency
//
// [Poller] and [HandbackListener] methods are safe for concurrent use;
// Poller callbacks run on its worker goroutines, never under its locks, and
// both own their goroutines until Close. [Serving] methods are safe for concurrent use. The CORS middleware and the
// helpers hold no mutable state and are safe for concurrent use; the package
// has no package-level mutable state. Each function that starts a goroutine
// says who owns it: the serve goroutine ends when the server stops;
// ListenAndServeGraceful's goroutines end before it returns (except a
// shutdown hook that ignores its context past the deadline).
//
// # Memory
//
// Every reader is bounded: JSON bodies by their cap, error bodies by
// [MaxErrorBody], probe bodies in WaitForURL by 64 KiB, Accept headers by
// 64 ranges of 16 parameters.
//
// # Security
//
// No InsecureSkipVerify anywhere; CORS has no allow-all default and never
// answers with "*"; [HTTPStatusError.Error] strips control characters from
// the body it quotes, so a hostile server cannot forge log lines; session
// IDs come from crypto/rand.
package httpx
