// Package ws runs WebSocket connections on gorilla/websocket (v1.5.3) with a
// lifecycle that cannot be misused: typed messages through a codec.Codec,
// hooks that run in order and end with exactly one OnClose, control-frame
// liveness, one writer per connection behind a bounded queue, limits and
// origin checks on by default, and a Shutdown that says goodbye with 1001.
//
// # Entry points
//
//   - Server: NewServer(handler, codec, opts) is an http.Handler. The
//     Handler's Accept authorizes the request before the upgrade and returns
//     the Session (hooks) for the connection.
//   - Dial and Redial: the same Conn and Session on the client side, with
//     optional reconnection (capped, jittered backoff) and HTTP(S) proxies.
//   - Hub: rooms and broadcasts (all, room, filter, except one), send by ID.
//
// The examples are the quickest way in. A Server works behind middleware
// that wraps the http.ResponseWriter as long as the wrapper implements
// Hijack or Unwrap (the upgrade goes through http.ResponseController).
//
// # Lifecycle
//
// A Session needs only OnMessage; it may add OnStart, OnError (what an
// undecodable message does), OnTimeout and OnClose, or be a *Hooks of
// closures. All hooks of a connection run on its read goroutine, one at a
// time: OnStart, then OnMessage per message, then OnClose exactly once, on
// every path (peer close, our close, network error, pong timeout, queue
// overflow, shutdown). OnClose gets a *CloseError with the code, the reason,
// who closed, and the cause.
//
// A peer's close frame or a dropped TCP connection ends the connection as
// soon as the read loop sees it (milliseconds), not at a timeout. The read
// loop stops at the first read error. Closing from our side (Conn.Close, a
// hook's error, a limit, Shutdown) sends a close frame with code and reason
// and waits at most Options.CloseTimeout for the peer's answer before closing
// the TCP connection.
//
// Close codes used: 1000 normal, 1001 shutdown, 1003 a frame type the codec
// does not take, 1007 invalid UTF-8 or undecodable data, 1008 send queue
// full (Options.QueueFullCode), 1009 message over Options.ReadLimit, 1011 a
// hook returned an error (return CloseWith(code, reason) to choose).
//
// # Liveness
//
// Every Options.PingPeriod the connection sends a WebSocket ping control
// frame; any pong or message pushes the read deadline Options.PongTimeout
// ahead. A client that only listens stays connected because its WebSocket
// library (and every browser) answers pings by itself. Options.AppPing adds
// an application-level ping message for peers that expect one (off by
// default).
//
// # Concurrency
//
// gorilla allows one reader and one writer per connection and panics on
// concurrent writes; this package owns both. Every Conn method (Send,
// SendRaw, Close, ...) and every Hub method is safe from any goroutine. Send
// encodes in the caller's goroutine, then queues: it never waits for the
// network. Each connection has exactly one writer, a goroutine started when
// something is queued and gone when the queue is empty; every write has a
// deadline (Options.WriteTimeout) and a missed deadline drops the
// connection. A reply sent from OnMessage while nothing else is queued or
// being written is written by the read goroutine itself when the hook
// returns (one write at most; whatever queued meanwhile goes to a writer
// goroutine), which spares a goroutine hand-off per request/response.
// Pings go out with WriteControl, which gorilla allows concurrently with the
// writer. Messages that queued up while the writer was busy go out together,
// in one write of up to 64 KiB, instead of one system call per message: under
// a broadcast burst this is most of the cost saved.
//
// The queue is bounded by Options.SendQueue messages and
// Options.SendQueueBytes bytes. When a message does not fit, the default
// policy (QueueClose) closes the connection with 1008 "too slow" and Send
// returns ErrQueueFull; QueueDrop refuses only that message. A slow consumer
// therefore never blocks its sender, a broadcast, or other connections. A
// connection closed that way gets Options.CloseTimeout, not a fresh
// WriteTimeout, for the write it is stuck in and its close frame, so its
// socket and buffers are freed soon after the drop.
//
// The Hub encodes each broadcast once and shares the encoded frame (a
// websocket.PreparedMessage, so with compression each recipient's frame is
// compressed once too). Queueing does no I/O, so the hub's lock is never
// held across a write. Connections leave the hub by themselves when they end.
//
// # Memory
//
// An idle connection holds one goroutine (its read loop), a 512 B read
// buffer (Options.ReadBufferSize), one timer, and no write buffer. On Unix
// the read loop waits for the next message in a shallow call (a readiness
// check on the socket whose bytes are handed to gorilla), not deep inside
// gorilla's frame reader, so the runtime keeps its stack at the minimal
// 2 KiB instead of 4 KiB: about 6.7 KB per idle connection in all, under
// half of an idiomatic raw gorilla server's. That check reads up to 8 KiB
// at once into a pooled buffer, so a message of a few KiB costs one read
// system call; the buffer goes back to the pool once gorilla has consumed
// it, so idle connections hold none. (Server connections over TLS,
// client connections, and a ReadBufferSize of 256 or less park in gorilla's
// read.) Write buffers come from a pool shared by the Server, and the send
// queue's backing array exists only while messages are queued. The HTTP
// handler returns after the upgrade, so net/http's per-request buffers are
// freed. Messages are read into pooled buffers (codecs must not retain them,
// as codec.Codec requires). Hooks run on the read goroutine, so a hook with
// a deep call stack grows that goroutine's stack until a garbage collection
// finds it idle (and, where the read loop parks in gorilla, for the rest of
// the connection's life); hand heavy work to a worker. Measured against raw
// gorilla in tools/bench (see RESULTS.md there).
//
// Sizes are bounded: messages by Options.ReadLimit (1 MiB default), queues as
// above, connections by Options.MaxConns (503 beyond it).
//
// # Security: origin, limits, UTF-8
//
// Browsers send cookies with cross-site WebSocket handshakes, so a server
// that trusts cookies must check Origin. By default only same-origin
// requests (Origin's host equals the Host header) and requests without
// Origin (non-browser clients) are accepted; Options.AllowedOrigins lists
// more origins ("https://app.example.com", "https://*.example.com"). There is
// no allow-all switch; Options.CheckOrigin replaces the check entirely if you
// must. The origin is checked before Accept runs, and a refused or failed
// upgrade writes exactly one HTTP response.
//
// Text frames are validated as UTF-8 (gorilla does not) and closed with 1007
// when invalid. permessage-deflate is off by default; with
// Options.Compression it is negotiated and used only for messages of at
// least Options.CompressThreshold bytes (1 KiB default), as small messages
// gain nothing and compression state costs memory and CPU.
//
// # Shutdown
//
// Server.Shutdown(ctx) refuses new upgrades (503), sends every connection a
// 1001 close after what is already queued for it, and waits for each to end
// until ctx is done; then it closes the remaining TCP connections and
// returns ctx.Err(). http.Server.Shutdown does not see hijacked connections,
// so pass Server.Shutdown as a hook to httpx.ListenAndServeGraceful
// (httpx.WithShutdownHooks), which runs it before draining. Client
// connections end with Conn.Close, or when Redial's context is done.
package ws
