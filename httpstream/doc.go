// Package httpstream multiplexes bidirectional streams over one upgraded
// HTTP connection. It speaks SPDY/3.1 as Kubernetes does (the
// k8s.io/streaming httpstream API, moby/spdystream on the wire), so either
// end can be a kubelet, an API server or kubectl, and it adds what that
// stack lacks: flow control between two streamkit peers, a read loop that
// never runs user code, bounded buffers, pings with a deadline and an idle
// timer that pings do not reset. It uses the standard library only.
//
// # Quick start
//
// Server:
//
//	up := httpstream.NewResponseUpgrader(nil)
//	http.HandleFunc("/exec", func(w http.ResponseWriter, r *http.Request) {
//		if _, err := httpstream.Handshake(r, w, []string{"v1.example"}); err != nil {
//			return // Handshake answered 400 or 403
//		}
//		conn := up.UpgradeResponse(w, r, func(s httpstream.Stream, replySent <-chan struct{}) error {
//			go func() { <-replySent; io.Copy(s, s); s.Close() }()
//			return nil
//		})
//		if conn == nil {
//			return // UpgradeResponse answered with an error
//		}
//		<-conn.CloseChan()
//	})
//
// Client:
//
//	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{})
//	conn, proto, err := rt.Dial(ctx, http.MethodPost, "https://host/exec", nil, "v1.example")
//	s, err := conn.CreateStream(http.Header{"Streamtype": {"data"}})
//
// # Carriers
//
// The SPDY frames travel over one of two carriers:
//
//   - The SPDY/3.1 upgrade: an HTTP/1.1 request with "Connection: Upgrade"
//     and "Upgrade: SPDY/3.1" (plain TCP or TLS; the client forces ALPN
//     http/1.1, since HTTP/2 has no Upgrade). ResponseUpgrader serves it,
//     RoundTripper (an UpgradeRoundTripper) and NewDialer dial it. This is
//     what the kubelet, the container runtimes and older kubectl speak.
//   - WebSocket (RFC 6455) with subprotocols "SPDY/3.1+<protocol>": the
//     SPDY byte stream goes in binary messages whose boundaries carry no
//     meaning, exactly like k8s port-forward tunnelling. L7 proxies,
//     gateways and meshes pass WebSocket where they drop unknown upgrades.
//     WebSocketUpgrader serves it; it refuses a browser Origin other than
//     the request's host unless listed in AllowedOrigins. The framing is
//     the minimal subset the tunnel needs, written here so that the module
//     stays standard-library only.
//
// RoundTripper.Dial, with the default CarrierAuto, offers WebSocket first
// (a GET) and falls back to the SPDY upgrade (with the caller's method) when
// the server answers anything but 101, as kubectl does. Both carriers dial
// directly or through an http or https proxy with CONNECT (Basic
// credentials from the proxy URL's user info; SOCKS5 is not supported). A
// refused upgrade is an *UpgradeFailureError carrying the status and the
// server's message (the "message" of a k8s Status body when there is one).
// RoundTripper is safe for concurrent use, unlike k8s's.
//
// A server that accepts both on one URL:
//
//	if httpstream.IsWebSocketRequest(r) {
//		conn, err = ws.Upgrade(w, r, handler) // ws is a *WebSocketUpgrader
//	} else if _, err = httpstream.Handshake(r, w, protocols); err == nil {
//		c := up.UpgradeResponse(w, r, handler)
//	}
//
// Protocol negotiation follows k8s: the client lists protocols, most
// preferred first, in X-Stream-Protocol-Version; Handshake picks the
// client's first one that the server supports, answers 400 when the header
// is missing and 403 (with X-Accepted-Stream-Protocol-Versions) when
// nothing overlaps.
//
// # Streams and concurrency
//
// Conn and Stream methods are safe for concurrent use; a Stream has one
// reader and one writer at a time. CreateStream sends SYN_STREAM and waits
// for SYN_REPLY (Config.CreateStreamTimeout, 30 s by default; or use
// CreateStreamContext). Stream IDs are allocated and the SYN_STREAM written
// under one lock, so IDs reach the wire in order.
//
// The handler for peer-opened streams (NewStreamHandler) runs on a goroutine
// of its own, never on the read loop: a slow handler delays its own stream
// only. An error refuses the stream (the peer's CreateStream fails);
// otherwise SYN_REPLY is sent after the handler returns and then replySent
// is closed. Writes on such a stream wait for replySent by themselves.
//
// Stream.Close half-closes (the peer reads io.EOF, this side keeps
// reading); Stream.Reset aborts both directions and unblocks Read and Write
// on both ends with an error wrapping ErrStreamReset. A stream leaves the
// connection's map by itself once both sides closed it or it was reset;
// RemoveStreams exists for k8s compatibility only.
//
// # Flow control and memory
//
// Each connection starts by sending SETTINGS (INITIAL_WINDOW_SIZE =
// Config.StreamWindow, 512 KiB by default) and a session WINDOW_UPDATE
// (Config.ConnWindow, 16 MiB). When the peer sends SETTINGS too (a
// streamkit peer), SPDY/3.1 stream and session windows apply in both
// directions: a writer blocks when its window is spent, a reader returns
// window as it reads, and a stream nobody reads holds at most its window:
// the other streams keep flowing. A peer that sends more than its window
// has the stream reset (FLOW_CONTROL_ERROR), or the connection closed for
// the session window.
//
// Kubernetes peers (spdystream) ignore SETTINGS and WINDOW_UPDATE and never
// send them; against them httpstream sends no further window updates and
// cannot stop the peer from sending. Received data then goes into the
// stream's buffer (bounded by StreamWindow) and, when that is full, the
// read loop waits for the application to read: one unread stream stalls
// every stream of the connection, exactly as between two k8s peers. This
// head-of-line limit is the protocol's (spdystream has no windows), so read
// every stream you accept, or reset it.
//
// Writes are split into DATA frames of at most 32 KiB (spdystream sends one
// frame per Write, up to 16 MiB). Receive buffers grow on demand up to
// StreamWindow and are not allocated for idle streams.
//
// Header blocks are read with zlib and the SPDY/3 dictionary, one context
// per direction. The ones we send are, by default, stored (uncompressed)
// blocks of a zlib stream that declares the dictionary: every SPDY/3
// decoder reads them, and a connection does not carry the ~650 KB of
// compressor state the standard library's zlib writer needs at any level
// (an idle streamkit connection costs about 70 KB per end, a k8s one about
// 880 KB). Config.CompressHeaders compresses them as spdystream does.
//
// # Limits and security
//
// The frame parser checks every length and count before allocating:
// control frames up to 256 KiB, decompressed header blocks up to 256 KiB,
// at most 256 headers (spdystream v0.5.1, after CVE-2026-35469: 16 MiB,
// 1 MiB per field, 1000 headers). Header names are lowercased on the wire,
// multiple values NUL-joined; uppercase or non-token names, duplicates and
// the connection-specific headers (Connection, Host, Keep-Alive,
// Proxy-Connection, Transfer-Encoding) are refused in both directions.
// Config.MaxStreams (1000) bounds the streams a peer may open. The upgrade
// itself performs no authentication or origin check: do that in your
// handler before calling UpgradeResponse, and treat the upgrade as a write
// (a GET can carry it).
//
// # Liveness and shutdown
//
// Config.WriteTimeout (30 s) bounds every frame write; a write that times
// out closes the connection, because the peer may hold half a frame.
// Config.PingPeriod sends PINGs; a ping unanswered within PingTimeout is a
// miss and MaxMissedPings misses in a row close the connection with
// ErrPingTimeout. Conn.Ping measures one round trip. SetIdleTimeout closes
// the connection after a period without stream frames in either direction;
// pings do not count, so a pinging peer cannot keep an idle connection
// open.
//
// Conn.Close resets every stream, sends GOAWAY (giving a peer that stopped
// reading at most a second) and closes (k8s semantics); it waits for the
// connection's own goroutines, not for NewStreamHandler calls still running.
// Conn.Shutdown sends GOAWAY, refuses new streams and waits for open ones
// until its context ends, then closes. A connection that receives GOAWAY
// refuses new streams, closes when its last stream ends, and waits at most
// Config.GoAwayTimeout for them. CloseChan is closed once the connection is
// closed, whatever the reason; Conn.Err says why.
//
// # Logging
//
// Config.Logger receives debug events (why a connection closed, refused
// streams); nil, the default, is silent.
package httpstream
