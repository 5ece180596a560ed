package ws

import (
	"compress/flate"
	"log/slog"
	"net/http"
	"time"
)

// Defaults for the zero Options.
const (
	DefaultPingPeriod        = 25 * time.Second
	DefaultPongTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultCloseTimeout      = 2 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultReadLimit         = 1 << 20 // 1 MiB
	DefaultSendQueue         = 256
	DefaultSendQueueBytes    = 4 << 20 // 4 MiB
	DefaultReadBufferSize    = 512
	DefaultWriteBufferSize   = 4096
	DefaultCompressThreshold = 1024
)

// QueuePolicy says what happens when a message does not fit a connection's
// send queue.
type QueuePolicy int

const (
	// QueueClose (the default) closes the connection with
	// Options.QueueFullCode (1008 unless set): a consumer that cannot keep up
	// is disconnected, never waited for. Messages already queued are dropped.
	QueueClose QueuePolicy = iota
	// QueueDrop drops the new message and keeps the connection; Send returns
	// ErrQueueFull. Use it for data that a later message supersedes.
	QueueDrop
)

// Options configure a Server or a client connection. The zero value is a
// complete, safe configuration: every field has a default.
type Options struct {
	// PingPeriod is how often a WebSocket ping control frame is sent
	// (default 25s; negative disables pings).
	PingPeriod time.Duration
	// PongTimeout is how long the connection may be silent (no message, no
	// pong) before it is dropped and OnTimeout runs (default 60s; negative
	// disables the read deadline). It should exceed PingPeriod. A busy
	// connection's deadline is moved at most every PongTimeout/16, so the
	// effective bound is between 15/16 of PongTimeout and PongTimeout.
	PongTimeout time.Duration
	// WriteTimeout bounds every write (default 10s). A write that misses it
	// drops the connection.
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's close frame after ours
	// (default 2s); then the TCP connection is closed anyway.
	CloseTimeout time.Duration
	// HandshakeTimeout bounds the opening handshake (default 10s).
	HandshakeTimeout time.Duration

	// ReadLimit is the largest message accepted, in bytes (default 1 MiB). A
	// larger one closes the connection with 1009.
	ReadLimit int64
	// SendQueue is the number of messages a connection may have queued
	// (default 256); SendQueueBytes bounds their total size (default 4 MiB;
	// a single larger message is accepted when nothing else is queued).
	// The queue holds pointers and is allocated on demand, so an idle
	// connection pays nothing for its size.
	SendQueue      int
	SendQueueBytes int
	// QueueFull is the policy when the queue is full; QueueFullCode is the
	// close code QueueClose uses (default 1008, 1013 is the other usual one).
	QueueFull     QueuePolicy
	QueueFullCode int

	// ReadBufferSize is the size of the connection's read buffer (default
	// 512 B; it holds frame headers and small messages, larger payloads are
	// read past it straight into the message buffer). WriteBufferSize
	// is the size of the pooled write buffers (default 4 KiB).
	ReadBufferSize  int
	WriteBufferSize int

	// AllowedOrigins lists the browser origins (scheme://host[:port]) that may
	// connect besides the server's own; a host may start with "*." to match
	// subdomains ("https://*.example.com"). Requests with no Origin header
	// (non-browser clients) are allowed. Server only.
	AllowedOrigins []string
	// CheckOrigin, when set, replaces the same-origin + AllowedOrigins check.
	// Server only.
	CheckOrigin func(r *http.Request) bool

	// Subprotocols lists the subprotocols supported (server) or requested
	// (client), in order of preference. Conn.Subprotocol reports the
	// negotiated one.
	Subprotocols []string

	// Compression negotiates permessage-deflate (off by default). Only
	// messages of at least CompressThreshold bytes (default 1 KiB) are
	// compressed, at CompressionLevel (default flate.BestSpeed).
	Compression       bool
	CompressThreshold int
	CompressionLevel  int

	// AppPing, when set, also sends the message it returns as a text frame
	// every PingPeriod, for peers that expect application-level pings (the
	// control-frame ping is still sent). Off by default.
	AppPing func(seq uint64) []byte

	// MaxConns bounds the connections a Server holds; more upgrades are
	// refused with 503 (0: no bound). Server only.
	MaxConns int

	// Logger receives debug records about connection ends and refused
	// upgrades. nil is silent.
	Logger *slog.Logger
}

// withDefaults returns a copy with every zero field set to its default.
func (o *Options) withDefaults() *Options {
	var c Options
	if o != nil {
		c = *o
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.PingPeriod, DefaultPingPeriod)
	def(&c.PongTimeout, DefaultPongTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.CloseTimeout, DefaultCloseTimeout)
	def(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = DefaultSendQueueBytes
	}
	if c.QueueFullCode == 0 {
		c.QueueFullCode = ClosePolicyViolation
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = DefaultReadBufferSize
	}
	if c.WriteBufferSize <= 0 {
		c.WriteBufferSize = DefaultWriteBufferSize
	}
	if c.CompressThreshold <= 0 {
		c.CompressThreshold = DefaultCompressThreshold
	}
	if c.CompressionLevel == 0 {
		c.CompressionLevel = flate.BestSpeed
	}
	return &c
}
