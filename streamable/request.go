package streamable

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// Request is one JSON-RPC request given to a HandleFunc.
type Request struct {
	*Message
	// Session is the request's session; nil for a session start and in
	// stateless mode.
	Session *Session
	// HTTP is the POST that carried the request. With a store the handler
	// may outlive it: read what you need from it first.
	HTTP *http.Request
	// Version is the protocol revision the request is served under.
	Version string

	out outbound
}

// Notify sends a notification related to this request (progress, logging)
// on the request's stream, before its response. It fails with ErrNoStream
// in JSON response mode, and with ErrStreamClosed when the stream is gone
// and cannot be resumed.
func (r *Request) Notify(ctx context.Context, method string, params any) error {
	m, err := NewNotification(method, params)
	if err != nil {
		return err
	}
	return r.out.send(ctx, m)
}

// CloseStream ends the HTTP response of this request's stream now, while
// the handler keeps running: the client reconnects with GET and
// Last-Event-ID and receives the rest (2025-11-25 polling). It needs a
// store and a resumable revision; it reports whether it did anything.
func (r *Request) CloseStream() bool { return r.out.closeStream() }

// outbound is where a request's notifications go.
type outbound interface {
	send(ctx context.Context, m *Message) error
	closeStream() bool
}

type noStream struct{}

func (noStream) send(context.Context, *Message) error { return ErrNoStream }
func (noStream) closeStream() bool                    { return false }

// bufferOut collects messages sent during a session start, written once
// the answer is known.
type bufferOut struct {
	mu   sync.Mutex
	msgs []*Message
}

func (b *bufferOut) send(_ context.Context, m *Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.msgs) >= 64 {
		return ErrNoStream
	}
	b.msgs = append(b.msgs, m)
	return nil
}
func (b *bufferOut) closeStream() bool { return false }

// directOut writes to the live stream of the connection conn.
type directOut struct {
	w    *sseWriter
	conn context.Context // the HTTP request's: done once the client left
}

func (d *directOut) send(ctx context.Context, m *Message) error {
	if err := d.conn.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStreamClosed, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeMessage(d.w, m, "")
}
func (d *directOut) closeStream() bool { return false }

// storeOut appends to the request's store stream; the connection (or a
// resumed one) follows it.
type storeOut struct {
	store  eventstore.Store
	name   string
	cancel context.CancelFunc // ends the connection following the stream
}

func (o *storeOut) send(ctx context.Context, m *Message) error {
	b, err := encodeMessage(m)
	if err != nil {
		return err
	}
	_, err = o.store.Append(ctx, o.name, "", b)
	return err
}

func (o *storeOut) closeStream() bool {
	o.cancel()
	return true
}
