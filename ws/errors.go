package ws

import (
	"errors"
	"fmt"
	"net/http"
)

// Close codes (RFC 6455 section 7.4.1) that this package sends or reports.
const (
	CloseNormal          = 1000 // the purpose of the connection is fulfilled
	CloseGoingAway       = 1001 // server shutdown, browser navigating away
	CloseProtocolError   = 1002
	CloseUnsupportedData = 1003 // a frame type the codec does not decode
	CloseNoStatus        = 1005 // reported, never sent: the close frame had no code
	CloseAbnormal        = 1006 // reported, never sent: the TCP connection dropped
	CloseInvalidPayload  = 1007 // invalid UTF-8 in a text frame, undecodable data
	ClosePolicyViolation = 1008 // default when a send queue overflows
	CloseMessageTooBig   = 1009 // a message over the read limit
	CloseInternalError   = 1011 // a hook returned an error
	CloseTryAgainLater   = 1013
)

// Sentinel errors. They are returned as they are, or wrapped, so errors.Is
// finds them.
var (
	// ErrClosed is returned by Send and Close once the connection is closing
	// or closed.
	ErrClosed = errors.New("ws: connection closed")
	// ErrQueueFull is returned by Send when the connection's send queue is
	// full. With the default policy the connection is also being closed.
	ErrQueueFull = errors.New("ws: send queue full")
	// ErrPongTimeout is the cause (CloseError.Err) reported to OnClose when
	// the peer sent nothing, not even a pong, for Options.PongTimeout.
	ErrPongTimeout = errors.New("ws: pong timeout")
	// ErrServerClosed is the reason a Server rejects upgrades after Shutdown.
	ErrServerClosed = errors.New("ws: server shut down")
	// ErrTooManyConns is the reason a Server rejects an upgrade when
	// Options.MaxConns connections are open.
	ErrTooManyConns = errors.New("ws: too many connections")
	// ErrInvalidUTF8 is the cause reported when a text frame is not UTF-8.
	ErrInvalidUTF8 = errors.New("ws: invalid UTF-8 in text message")
	// ErrReadLimit is the cause reported when a message exceeds
	// Options.ReadLimit.
	ErrReadLimit = errors.New("ws: message exceeds read limit")
)

// CloseError says how a connection ended. OnClose receives one on every path
// (use errors.As), and a hook may return one to choose the close code.
type CloseError struct {
	// Code is the close code: the one the peer sent (Remote), the one we
	// sent, or CloseAbnormal (1006) when the TCP connection ended without a
	// close handshake.
	Code int
	// Reason is the close frame's reason text.
	Reason string
	// Remote is true when the peer started the close (or vanished).
	Remote bool
	// Err is the underlying cause, if any: a network error, ErrPongTimeout,
	// ErrReadLimit, ErrInvalidUTF8, a hook's error, ...
	Err error
}

func (e *CloseError) Error() string {
	who := "by us"
	if e.Remote {
		who = "by peer"
	}
	s := fmt.Sprintf("ws: closed %s with %d", who, e.Code)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CloseError) Unwrap() error { return e.Err }

// CloseWith returns a *CloseError that, returned from OnMessage or OnStart,
// closes the connection with code and reason instead of the default 1011.
func CloseWith(code int, reason string) error {
	return &CloseError{Code: code, Reason: reason}
}

// CloseStatus returns the close code carried by err (a *CloseError anywhere
// in its chain), or -1.
func CloseStatus(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// StatusError is returned by a Handler's Accept to refuse an upgrade with an
// HTTP status (401, 403, 429, ...). Any other error refuses it with 403.
type StatusError struct {
	Status int
	Err    error
}

func (e *StatusError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("ws: %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("ws: %d %s: %v", e.Status, http.StatusText(e.Status), e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }
