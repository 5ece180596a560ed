package httpstream

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// Header names and values used by the upgrade handshakes.
const (
	HeaderConnection               = "Connection"
	HeaderUpgrade                  = "Upgrade"
	HeaderProtocolVersion          = "X-Stream-Protocol-Version"
	HeaderAcceptedProtocolVersions = "X-Accepted-Stream-Protocol-Versions"

	// ProtocolSPDY31 is the Upgrade token of the SPDY carrier, and the prefix
	// ("SPDY/3.1+<protocol>") of the WebSocket carrier's subprotocols.
	ProtocolSPDY31 = "SPDY/3.1"
)

// NewStreamHandler is called for every stream the peer opens, on a goroutine
// of its own (never on the connection's read loop). Returning an error
// refuses the stream: the peer's CreateStream fails. Returning nil accepts
// it: SYN_REPLY is sent after the handler returns, then replySent is closed.
// A handler that hands the stream to other code should have that code wait
// on replySent before writing. A Write or Close made before the handler
// returns (even from the handler itself) sends SYN_REPLY first; if the
// handler then returns an error, the accepted stream is reset.
type NewStreamHandler func(stream Stream, replySent <-chan struct{}) error

// NoOpNewStreamHandler accepts every stream and does nothing with it.
func NoOpNewStreamHandler(Stream, <-chan struct{}) error { return nil }

// Connection is a multiplexed connection: many bidirectional streams over
// one upgraded HTTP connection. Its methods are safe for concurrent use.
type Connection interface {
	// CreateStream opens a stream with the given headers and waits for the
	// peer to accept it (SYN_REPLY), at most Config.CreateStreamTimeout.
	CreateStream(headers http.Header) (Stream, error)
	// Close resets every open stream and closes the connection.
	Close() error
	// CloseChan is closed when the connection has closed, for any reason.
	CloseChan() <-chan bool
	// SetIdleTimeout closes the connection after d without stream activity
	// (frames other than PING, in either direction); 0 disables it.
	SetIdleTimeout(d time.Duration)
	// RemoveStreams forgets streams. Streams leave the connection on their
	// own once fully closed or reset; this exists for k8s compatibility.
	RemoveStreams(streams ...Stream)
}

// Stream is one bidirectional stream of a Connection. Read and Write may be
// called concurrently with each other (one reader, one writer at a time).
// Close half-closes the stream: the peer reads io.EOF, and this side can
// still read until the peer closes too. Read returns an error wrapping
// ErrStreamReset after a reset by either side.
type Stream interface {
	io.ReadWriteCloser
	// Reset aborts the stream in both directions and unblocks Read and
	// Write on both sides.
	Reset() error
	// Headers returns the headers the stream was opened with.
	Headers() http.Header
	// Identifier returns the stream ID (odd: client-opened, even: server).
	Identifier() uint32
}

// Dialer opens a Connection, offering protocols in preference order, and
// returns the protocol the server chose.
type Dialer interface {
	Dial(protocols ...string) (Connection, string, error)
}

// Errors reported by connections and streams.
var (
	ErrConnectionClosed = errors.New("httpstream: connection closed")
	ErrStreamReset      = errors.New("httpstream: stream reset")
	ErrStreamClosed     = errors.New("httpstream: stream closed for writing")
	ErrStreamRefused    = errors.New("httpstream: stream refused by peer")
	ErrTimeout          = errors.New("httpstream: timeout waiting for stream reply")
	ErrPingTimeout      = errors.New("httpstream: peer did not answer pings")
	ErrIdleTimeout      = errors.New("httpstream: idle timeout")
	ErrGoAway           = errors.New("httpstream: connection is going away")
	ErrTooManyStreams   = errors.New("httpstream: too many streams")
)
