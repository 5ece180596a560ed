package eventstore

import "time"

// Event is one entry of a stream: the unit that every resumable transport
// (SSE Last-Event-ID, long-poll since_time/last_id, Streamable HTTP
// resumption) replays.
//
// An Event returned by a store is owned by the caller, except Data, which the
// caller must treat as read-only: stores may share the bytes between readers
// to avoid copies on fan-out.
type Event struct {
	Stream string    // Stream name.
	ID     ID        // Assigned by the store.
	Type   string    // Optional event type (the SSE "event:" name); "" for none.
	Data   []byte    // Payload; never modified after it is stored.
	Time   time.Time // When the store accepted the event (the time in ID, to the millisecond).
}

// Size is the number of bytes an event counts against a store's byte bound:
// its payload, type and stream name.
func (e *Event) Size() int64 { return int64(len(e.Data) + len(e.Type) + len(e.Stream)) }
