package streamable

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/sse"
)

// Media types the transport speaks.
const (
	ContentTypeJSON = "application/json"
	ContentTypeSSE  = "text/event-stream"
)

// Reply is a handler's answer to one request: either a single JSON body or
// an event stream. Build it with JSON or StreamReply.
type Reply struct {
	// Status is the HTTP status of a JSON reply (0 means 200). Streams are
	// always 200.
	Status int
	// Header is added to the response headers (either kind).
	Header http.Header
	// Body is the JSON body of a single reply; nil with status 202 or 204
	// writes no body.
	Body []byte
	// Stream, when set, makes the reply an event stream: it runs on the
	// request's goroutine after the headers were flushed and produces events
	// with s.Send until it returns. Its error is only logged.
	Stream func(s *Stream) error
}

// JSON returns a single-response reply.
func JSON(status int, body []byte) Reply { return Reply{Status: status, Body: body} }

// StreamReply returns a streaming reply driven by produce.
func StreamReply(produce func(s *Stream) error) Reply { return Reply{Stream: produce} }

// HandlerFunc decides, per request, how to answer it.
type HandlerFunc func(r *http.Request) Reply

// Options configure Handler and Serve. The zero value is usable.
type Options struct {
	// KeepAlive is the interval of ": keepalive" comment lines on idle
	// streams, so proxies and clients with idle timeouts keep the
	// connection. 0 means DefaultKeepAlive; negative disables them.
	KeepAlive time.Duration
	// WriteTimeout bounds each write to a stream; a client that does not
	// read for that long is disconnected (the slow-consumer policy). 0 means
	// DefaultWriteTimeout; negative disables it.
	WriteTimeout time.Duration
	// Retry, if positive, is sent as the stream's "retry:" hint first.
	Retry time.Duration
	// Store, with StreamName, makes streams resumable: every event sent is
	// appended to the store stream StreamName(r) first and carries the
	// store's ID ("<ms>-<seq>") as its SSE id.
	Store      eventstore.Store
	StreamName func(r *http.Request) string
	// OnError, if set, is told about producer errors and failed writes.
	OnError func(r *http.Request, err error)
}

func (o *Options) keepAlive() time.Duration {
	switch {
	case o == nil || o.KeepAlive == 0:
		return DefaultKeepAlive
	case o.KeepAlive < 0:
		return 0
	}
	return o.KeepAlive
}

func (o *Options) writeTimeout() time.Duration {
	switch {
	case o == nil || o.WriteTimeout == 0:
		return DefaultWriteTimeout
	case o.WriteTimeout < 0:
		return 0
	}
	return o.WriteTimeout
}

// Handler returns an http.Handler that asks h for each request's reply and
// writes it with Serve.
func Handler(h HandlerFunc, opts *Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Serve(w, r, h(r), opts)
	})
}

// AcceptsJSON reports whether r's Accept header admits application/json
// (wildcards and q-values honoured; no header admits everything).
func AcceptsJSON(r *http.Request) bool {
	_, ok := httpx.Negotiate(r.Header.Get("Accept"), ContentTypeJSON)
	return ok
}

// AcceptsStream reports whether r's Accept header admits text/event-stream.
func AcceptsStream(r *http.Request) bool {
	_, ok := httpx.Negotiate(r.Header.Get("Accept"), ContentTypeSSE)
	return ok
}

// Serve writes reply as r's response. A JSON reply the client does not
// accept, or a stream it does not accept, is answered 406 instead. Serve
// returns when the reply is written: for a stream, when its producer
// returned; the keepalive timer is stopped before Serve returns.
func Serve(w http.ResponseWriter, r *http.Request, reply Reply, opts *Options) {
	if reply.Stream == nil {
		if len(reply.Body) > 0 && !AcceptsJSON(r) {
			http.Error(w, "streamable: client does not accept application/json", http.StatusNotAcceptable)
			return
		}
		writeJSONReply(w, reply)
		return
	}
	if !AcceptsStream(r) {
		http.Error(w, "streamable: client does not accept text/event-stream", http.StatusNotAcceptable)
		return
	}
	if opts == nil {
		opts = &Options{}
	}
	s := &Stream{ctx: r.Context(), r: r}
	if opts.Store != nil && opts.StreamName != nil {
		s.store, s.name = opts.Store, opts.StreamName(r)
	}
	s.w = startSSE(w, reply.Header, opts.keepAlive(), opts.writeTimeout())
	stop := closeOnDone(r.Context(), s.w)
	defer func() {
		stop()
		s.w.close()
	}()
	if opts.Retry > 0 {
		if err := s.w.writeRaw(sse.AppendRetry(nil, opts.Retry)); err != nil {
			report(opts, r, err)
			return
		}
	}
	if err := reply.Stream(s); err != nil {
		report(opts, r, err)
	}
}

func report(opts *Options, r *http.Request, err error) {
	if opts != nil && opts.OnError != nil {
		opts.OnError(r, err)
	}
}

func writeJSONReply(w http.ResponseWriter, reply Reply) {
	h := w.Header()
	for k, v := range reply.Header {
		h[k] = v
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	if reply.Body == nil {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Type", ContentTypeJSON) // net/http adds Content-Length for a body this size
	w.WriteHeader(status)
	_, _ = w.Write(reply.Body) // a failed write means the client left: nothing to tell it
}

// Stream is the producer's side of an event stream. Send is safe for
// concurrent use; every send fails with ErrStreamClosed (wrapping the
// cause) once the client disconnected, a write failed or timed out, or the
// producer returned, so a producer blocked in Send is always released.
type Stream struct {
	ctx   context.Context
	r     *http.Request
	w     *sseWriter
	store eventstore.Store
	name  string
}

// Context is the request's context: it is cancelled when the client
// disconnects. Producers waiting on anything else should select on it.
func (s *Stream) Context() context.Context { return s.ctx }

// Request is the request being answered.
func (s *Stream) Request() *http.Request { return s.r }

// Send writes one event and flushes it. When the stream is resumable the
// event is first appended to the store and ev.ID is replaced by the
// store's ID. It returns the ID written.
func (s *Stream) Send(ev sse.Event) (string, error) {
	if err := s.ctx.Err(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrStreamClosed, err)
	}
	if s.store != nil {
		e, err := s.store.Append(s.ctx, s.name, ev.Type, ev.Data)
		if err != nil {
			return "", err
		}
		ev.ID = e.ID.String()
	}
	return ev.ID, s.w.write(&ev)
}

// SendMessage writes msg, JSON-encoded, as an unnamed ("message") event.
func (s *Stream) SendMessage(msg *Message) error {
	b, err := encodeMessage(msg)
	if err != nil {
		return err
	}
	_, err = s.Send(sse.Event{Data: b})
	return err
}
