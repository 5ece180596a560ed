package eventstore

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrGap means a reader cannot resume where it asked: the position is
	// unknown, from another stream, or its events were evicted. The error is a
	// *GapError that says what is still held.
	ErrGap = errors.New("eventstore: gap in stream")
	// ErrClosed is returned by every call on a closed store.
	ErrClosed = errors.New("eventstore: store closed")
	// ErrTooLarge is returned by Append for an event over Limits.MaxEventSize.
	ErrTooLarge = errors.New("eventstore: event too large")
	// ErrBadStream is returned for an empty or over-long stream name.
	ErrBadStream = errors.New("eventstore: bad stream name")
	// ErrUnavailable wraps failures of a store's backend (disk, network).
	ErrUnavailable = errors.New("eventstore: store unavailable")
)

// GapError is the error for a position a reader cannot resume from. It
// matches [ErrGap] with errors.Is.
type GapError struct {
	Stream string
	After  ID // the position asked for (for ReadSince, the first ID of that millisecond)
	// Oldest is the oldest ID the stream still holds, or the zero ID when it
	// holds none. A reader that accepts the loss resumes with ReadAfter from
	// the ID just before it (or the zero ID, which reads from the oldest).
	Oldest ID
}

func (e *GapError) Error() string {
	if e.Oldest.IsZero() {
		return fmt.Sprintf("eventstore: gap in stream %q after %s (stream holds no events)", e.Stream, e.After)
	}
	return fmt.Sprintf("eventstore: gap in stream %q after %s (oldest held %s)", e.Stream, e.After, e.Oldest)
}

// Is makes errors.Is(err, ErrGap) true.
func (e *GapError) Is(target error) bool { return target == ErrGap }
