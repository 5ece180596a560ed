package sse

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// defaultTopics is what a request gets without an Authorize hook; shared,
// never modified.
var defaultTopics = []string{DefaultTopic}

// replayPage is how many events replay reads from the store at a time.
const replayPage = 256

// ServeHTTP streams events to one client until it leaves, is evicted, or
// the server shuts down.
//
// Order: Authorize; status 200 and headers flushed at once (with the
// optional retry hint); Last-Event-ID replay from the store; then live
// events. Replay and live events meet without loss or duplicates: the
// connection subscribes before it reads the store, and live events that
// the replay already wrote are dropped from its queue.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Setup and streaming are separate, non-inlined calls so that an idle
	// connection's goroutine blocks with a shallow stack (which lets the
	// runtime shrink it): idle memory per connection is the point.
	if c := s.open(w, r); c != nil && c.raw == nil {
		s.stream(c)
	}
}

// open authorizes the request, writes the headers and registers the
// connection; nil means the request was answered.
//
//go:noinline
func (s *Server) open(w http.ResponseWriter, r *http.Request) *Conn {
	if s.isClosing() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "sse: server shutting down", http.StatusServiceUnavailable)
		return nil
	}
	topics := defaultTopics
	if s.opts.Authorize != nil {
		t, err := s.opts.Authorize(r)
		if err != nil {
			code := http.StatusForbidden
			var se *StatusError
			if errors.As(err, &se) && se.Code >= 400 && se.Code < 600 {
				code = se.Code
			}
			http.Error(w, http.StatusText(code), code)
			return nil
		}
		topics = t
	}
	if len(topics) == 0 {
		http.Error(w, "sse: no topics", http.StatusForbidden)
		return nil
	}
	if err := s.acquire(topics); err != nil {
		refuseUnavailable(w)
		return nil
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	if s.highDensity(r) {
		if c, done := s.openRaw(w, r, topics); done {
			return c
		}
	}
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	// The request body is done with; a server ReadTimeout must not end the
	// stream.
	_ = rc.SetReadDeadline(time.Time{})

	c := newConn(s, r, topics)
	c.w = w
	var first []byte
	if s.opts.Retry > 0 {
		first = AppendRetry(nil, s.opts.Retry)
	}
	// Registered before the headers go out: a client that has its
	// response is subscribed, so an event published as soon as it
	// connects reaches it. Live events wait (hold) until the replay is
	// written.
	if !s.register(c) {
		s.release(topics)
		_ = c.writeSync(AppendRetry(nil, s.opts.ShutdownRetry))
		c.kill(ErrServerClosed)
		c.finished.Wait()
		s.retireIfIdle()
		return nil
	}
	if err := c.writeSync(first); err != nil {
		c.finished.Wait()
		s.end(c, err, false)
		return nil
	}
	s.stats.connects.Add(1)
	if s.opts.OnConnect != nil {
		s.opts.OnConnect(c)
	}
	if err := s.replay(r.Context(), c, r.Header.Get("Last-Event-ID")); err != nil {
		c.kill(err)
	}
	c.startLive()
	return c
}

// stream waits until the connection ends; the server's writers write its
// events meanwhile.
//
//go:noinline
func (s *Server) stream(c *Conn) {
	// The goroutine waits on the connection alone; the request context
	// (client gone, server closed) is checked by the server's sweep. A
	// select on both held two sudogs and the context's lazily made Done
	// channel, and a context.AfterFunc registration cost more still: idle
	// memory per connection is the point.
	err := c.wait()
	s.end(c, err, true)
}

// end unregisters an ended connection and runs the hook if OnConnect ran.
func (s *Server) end(c *Conn, err error, hook bool) {
	if errors.Is(err, ErrSlowClient) {
		s.debug("sse: evicted slow client", "conn", c.id, "remote", c.req.RemoteAddr)
	}
	// Gone from the server before the hook runs: the hook sees Stats and
	// Count without this connection.
	s.unregister(c)
	s.release(c.topics)
	if hook && s.opts.OnDisconnect != nil {
		s.opts.OnDisconnect(c, err)
	}
	s.finished()
}

// replay writes the events after lastID, merged across the connection's
// topics in ID order, and records how far it got so that run does not
// write them twice. A position that cannot be resumed gets a reset event.
func (s *Server) replay(ctx context.Context, c *Conn, header string) error {
	if header == "" {
		return nil
	}
	after, err := parseLastEventID(header)
	if err != nil {
		for _, t := range c.topics {
			if err := s.reset(c, t, ErrBadLastEventID); err != nil {
				return err
			}
		}
		return nil
	}
	cursors := make([]*cursor, 0, len(c.topics))
	for _, t := range c.topics {
		cur := &cursor{topic: t}
		if err := cur.start(ctx, s.store, after, len(c.topics) > 1); err != nil {
			if !errors.Is(err, eventstore.ErrGap) {
				return err
			}
			if err := s.reset(c, t, err); err != nil {
				return err
			}
			continue
		}
		cursors = append(cursors, cur)
	}
	upTo := make(map[string]eventstore.ID, len(cursors))
	bp := s.getBuf()
	defer s.putBuf(bp)
	for {
		// Pick the cursor with the smallest next ID.
		var best *cursor
		for _, cur := range cursors {
			if err := cur.fill(ctx, s.store); err != nil {
				if !errors.Is(err, eventstore.ErrGap) {
					return err
				}
				if err := s.reset(c, cur.topic, err); err != nil {
					return err
				}
				cur.done = true
			}
			if cur.done || len(cur.page) == 0 {
				continue
			}
			if best == nil || cur.page[0].ID.Less(best.page[0].ID) {
				best = cur
			}
		}
		if best == nil || len(*bp) >= 32<<10 {
			if err := c.deadErr(); err != nil {
				return err // evicted or gone while replaying
			}
			if len(*bp) > 0 {
				if err := c.writeSync(*bp); err != nil {
					return err
				}
				*bp = (*bp)[:0]
			}
			if best == nil {
				break
			}
		}
		ev := best.page[0]
		best.page = best.page[1:]
		upTo[best.topic] = ev.ID
		out := Event{ID: ev.ID.String(), Type: ev.Type, Data: ev.Data}
		if out.Data == nil {
			out.Data = []byte{}
		}
		if b, err := out.AppendTo(*bp); err == nil {
			*bp = b
		}
	}
	c.dropReplayed(upTo)
	return nil
}

func (s *Server) reset(c *Conn, topic string, cause error) error {
	if s.opts.OnGap != nil {
		s.opts.OnGap(c.req, topic, cause)
	}
	ev := Event{Type: s.opts.ResetEvent, Data: []byte(topic)}
	b, _ := ev.AppendTo(nil)
	return c.writeSync(b)
}

// parseLastEventID checks a client's header (bounded, printable ASCII)
// before parsing it as a store ID.
func parseLastEventID(h string) (eventstore.ID, error) {
	if len(h) > MaxIDLen {
		return eventstore.ID{}, ErrBadLastEventID
	}
	for i := 0; i < len(h); i++ {
		if h[i] < 0x21 || h[i] > 0x7e {
			return eventstore.ID{}, ErrBadLastEventID
		}
	}
	id, err := eventstore.ParseID(h)
	if err != nil {
		return eventstore.ID{}, ErrBadLastEventID
	}
	return id, nil
}

// cursor pages through one topic's events after a position.
type cursor struct {
	topic  string
	page   []eventstore.Event
	last   eventstore.ID // last event taken (or the start position)
	filter eventstore.ID // drop events at or before this (since-based start)
	done   bool
}

// start reads the first page. For a connection with several topics the
// client's ID belongs to one of them; the others resume by time (IDs are
// ordered by the time they carry) and skip what is not after the ID.
func (cur *cursor) start(ctx context.Context, st eventstore.Store, after eventstore.ID, multi bool) error {
	cur.last = after
	page, err := st.ReadAfter(ctx, cur.topic, after, replayPage)
	if err != nil && multi && errors.Is(err, eventstore.ErrGap) {
		cur.filter = after
		page, err = st.ReadSince(ctx, cur.topic, after.Time(), replayPage)
	}
	if err != nil {
		return err
	}
	cur.took(page)
	return nil
}

// took installs a page read from the store: the next page starts after its
// last event, whether that event is written or skipped.
func (cur *cursor) took(raw []eventstore.Event) {
	if len(raw) == 0 {
		cur.done = true
		return
	}
	cur.last = raw[len(raw)-1].ID
	cur.page = skipUpTo(raw, cur.filter)
}

func skipUpTo(page []eventstore.Event, id eventstore.ID) []eventstore.Event {
	for len(page) > 0 && page[0].ID.Compare(id) <= 0 {
		page = page[1:]
	}
	return page
}

// fill reads the next page when the current one is used up.
func (cur *cursor) fill(ctx context.Context, st eventstore.Store) error {
	if cur.done || len(cur.page) > 0 {
		return nil
	}
	page, err := st.ReadAfter(ctx, cur.topic, cur.last, replayPage)
	if err != nil {
		return err
	}
	cur.took(page)
	return nil
}
