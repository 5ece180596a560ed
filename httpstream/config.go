package httpstream

import (
	"log/slog"
	"time"
)

// Config tunes a connection. The zero value (or nil) gives the defaults.
type Config struct {
	// StreamWindow is the flow-control window of each stream, advertised in
	// SETTINGS, and the bound of each stream's receive buffer. Default 512 KiB.
	StreamWindow int
	// ConnWindow is the session window: bytes that may be in flight to this
	// side across all streams. Default 16 MiB.
	ConnWindow int
	// MaxStreams bounds the streams the peer may have open at once; more are
	// refused (RST_STREAM REFUSED_STREAM). Default 1000.
	MaxStreams int
	// WriteTimeout bounds each frame write; a write that times out closes the
	// connection (a half-written frame cannot be recovered). Default 30 s.
	WriteTimeout time.Duration
	// CreateStreamTimeout bounds the wait for the peer's SYN_REPLY in
	// CreateStream. Default 30 s (as k8s).
	CreateStreamTimeout time.Duration
	// PingPeriod, when positive, sends a PING every period. A ping not
	// answered within PingTimeout is a miss; MaxMissedPings misses in a row
	// close the connection with ErrPingTimeout. Pings do not count as
	// activity for the idle timeout.
	PingPeriod time.Duration
	// PingTimeout is how long a ping may go unanswered. Default PingPeriod.
	PingTimeout time.Duration
	// MaxMissedPings, default 3.
	MaxMissedPings int
	// IdleTimeout is the initial SetIdleTimeout value (0: none).
	IdleTimeout time.Duration
	// GoAwayTimeout bounds how long a connection that received GOAWAY stays
	// open for its remaining streams. Default 30 s.
	GoAwayTimeout time.Duration
	// NewStream accepts streams the peer opens (see NewStreamHandler). On a
	// server connection it is the handler given to the constructor; on a
	// client connection nil refuses server-initiated streams.
	NewStream NewStreamHandler
	// CompressHeaders compresses the header blocks we send with zlib and the
	// SPDY/3 dictionary, as spdystream does. By default they go out as
	// stored (uncompressed) blocks of the same zlib stream, which every
	// SPDY/3 decoder reads: the standard library's compressor holds about
	// 650 KB per connection for header blocks of a few dozen bytes.
	// Received blocks are decompressed either way.
	CompressHeaders bool
	// Logger receives connection-level events at debug level; nil is silent.
	Logger *slog.Logger
}

const (
	defaultStreamWindow = 512 << 10
	defaultConnWindow   = 16 << 20
	spdyDefaultWindow   = 64 << 10 // SPDY/3.1 initial stream and session window
	maxFrameData        = 32 << 10 // DATA payload per frame we send
	maxWindow           = 1<<31 - 1
)

func (c *Config) withDefaults() Config {
	var cfg Config
	if c != nil {
		cfg = *c
	}
	if cfg.StreamWindow <= 0 {
		cfg.StreamWindow = defaultStreamWindow
	}
	cfg.StreamWindow = max(min(cfg.StreamWindow, maxWindow), maxFrameData)
	if cfg.ConnWindow <= 0 {
		cfg.ConnWindow = defaultConnWindow
	}
	cfg.ConnWindow = max(min(cfg.ConnWindow, maxWindow), spdyDefaultWindow)
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 1000
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.CreateStreamTimeout <= 0 {
		cfg.CreateStreamTimeout = 30 * time.Second
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = cfg.PingPeriod
	}
	if cfg.MaxMissedPings <= 0 {
		cfg.MaxMissedPings = 3
	}
	if cfg.GoAwayTimeout <= 0 {
		cfg.GoAwayTimeout = 30 * time.Second
	}
	return cfg
}
