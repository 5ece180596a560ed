package sse

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/httpx"
)

// Defaults for Options.
const (
	DefaultKeepAlive      = 15 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxQueueEvents = 1024
	DefaultMaxQueueBytes  = 1 << 20
	DefaultShutdownRetry  = 2 * time.Second
	DefaultResetEvent     = "reset"
	DefaultTopic          = "events"
)

// Errors a connection ends with (see Options.OnDisconnect) and that
// Publish and Send return. They match with errors.Is.
var (
	// ErrSlowClient: the connection's queue went over its bound (events or
	// bytes), or a write did not finish within WriteTimeout. The client can
	// resume with Last-Event-ID.
	ErrSlowClient = errors.New("sse: slow client evicted")
	// ErrServerClosed: the server is shutting down or shut down.
	ErrServerClosed = errors.New("sse: server closed")
	// ErrConnClosed: Send on a connection that has ended.
	ErrConnClosed = errors.New("sse: connection closed")
	// ErrClientGone: the client went away (the request context ended).
	ErrClientGone = errors.New("sse: client gone")
	// ErrBadLastEventID: a Last-Event-ID header that is too long, not
	// printable ASCII, or not an event ID of the store. It is reported to
	// Options.OnGap and answered with a reset event.
	ErrBadLastEventID = errors.New("sse: bad Last-Event-ID")
	// ErrBinary: a codec produced a binary message, which SSE cannot carry.
	ErrBinary = errors.New("sse: codec produced binary data")
)

// StatusError is returned by an Authorize hook to refuse a request with a
// given HTTP status (the default refusal is 403 Forbidden).
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return "sse: " + strconv.Itoa(e.Code) + " " + e.Msg }

// Options configure a Server. The zero value is usable: every request gets
// DefaultTopic, events go through a private in-memory store, keepalives
// after 15 s of quiet, 10 s write deadline, 1024 events / 1 MiB per
// connection queue.
type Options struct {
	// Store holds published events for Last-Event-ID replay. nil means a new
	// eventstore.NewMemory with default limits, owned (and closed) by the
	// server.
	Store eventstore.Store

	// Fanout, if set, makes the server one of many processes over a
	// shared store (see package eventstore/fanout): Publish only appends
	// to the hub's store (which replaces Store), and every event of the
	// store, whichever process appended it, reaches this server's
	// connections through the hub, which follows each topic while it has
	// connections here. Retry and Comment of a published event are not
	// stored, so they are not sent in this mode. While the store is
	// unavailable, streams stay open and receive nothing; once it is back
	// they receive what they missed, in order. A topic the hub cannot
	// resume (a gap) has its streams ended with the ShutdownRetry hint, so
	// that clients reconnect and replay from Last-Event-ID.
	Fanout *fanout.Hub

	// Authorize decides, per request, which topics the connection receives
	// (one eventstore stream each). It runs before anything is written; an
	// error refuses the request with 403, or with the status of a
	// *StatusError. nil gives every request []string{DefaultTopic}.
	Authorize func(r *http.Request) (topics []string, err error)

	// KeepAlive is the quiet period after which a comment line is sent.
	// 0 means DefaultKeepAlive; negative disables keepalives.
	KeepAlive time.Duration
	// Retry, if positive, is sent as a "retry:" hint right after the headers.
	Retry time.Duration
	// ShutdownRetry is the "retry:" hint sent as the last bytes of every
	// stream on Shutdown or CloseAll. 0 means DefaultShutdownRetry.
	ShutdownRetry time.Duration
	// WriteTimeout bounds each write+flush to a client, through a deadline
	// set with http.ResponseController: a write starts with between
	// WriteTimeout/2 and WriteTimeout left (the deadline is re-armed when
	// half is used). 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// MaxQueueEvents and MaxQueueBytes bound what waits to be written to one
	// connection. A connection over either bound is evicted (ErrSlowClient).
	MaxQueueEvents int
	MaxQueueBytes  int

	// ResetEvent is the event type sent when a client's Last-Event-ID
	// cannot be resumed (unknown, evicted, malformed); its data is the topic.
	// The client should reload its state. 0 means DefaultResetEvent.
	ResetEvent string
	// OnGap is called (on the request's goroutine) when a reset event is
	// sent, with the topic and the cause (an eventstore *GapError or
	// ErrBadLastEventID).
	OnGap func(r *http.Request, topic string, err error)

	// OnConnect is called once a stream has started (headers flushed), and
	// OnDisconnect when it ends, with the reason (ErrClientGone, noticed
	// within a second when nothing was being written,
	// ErrSlowClient, ErrServerClosed or a write error). Both run on the
	// request's goroutine and must not block.
	OnConnect    func(c *Conn)
	OnDisconnect func(c *Conn, err error)

	// HighDensity serves plain HTTP/1.1 streams on hijacked connections:
	// the server writes the response head (the same headers) and the
	// chunked body itself, so an idle stream holds no goroutine and none
	// of net/http's buffers (a few KB per connection instead of ~24 KB).
	// HTTP/2, HTTP/1.0, TLS and writers that cannot be hijacked keep the
	// normal path. Queues, coalescing, eviction, keepalives and shutdown
	// are the same. A client that goes away is noticed at once where the
	// platform has readiness polling (httpx.Poller: Linux, and other Unix
	// systems with a goroutine per watch), otherwise by the next write or
	// keepalive. The stream's request context is cancelled once the
	// handler returns, which is right after setup: use Conn.Request only
	// for its fields. http.Server.Shutdown does not wait for these
	// connections; Server.Shutdown ends them.
	HighDensity bool

	// Logger receives debug logs of evictions and errors; nil is silent.
	Logger *slog.Logger
}

// Server is an http.Handler that streams events to clients and a hub that
// publishes them.
//
// Concurrency: every method is safe for concurrent use. Publish never
// blocks on a client: it appends to the store, encodes the event once, and
// puts the same bytes on every subscribed connection's bounded queue. The
// queues are written by a few writer goroutines shared by the server's
// connections (see the package doc), so an idle connection costs no
// goroutine of ours; one goroutine per server sends keepalives and finds
// clients that went away (within a second) while connections exist.
//
// Shutdown: Shutdown (or CloseAll) ends every stream with a final "retry:"
// hint; after Shutdown new requests get 503.
type Server struct {
	opts      Options
	store     eventstore.Store
	ownsStore bool

	pubMu sync.Mutex // orders append+fan-out, so delivery order is ID order
	fol   follows    // Options.Fanout subscriptions

	mu       sync.RWMutex
	conns    map[*Conn]struct{}
	topics   map[string]map[*Conn]struct{}
	nextID   uint64
	closing  bool
	active   int           // registered connections whose end (and hook) has not finished
	drained  chan struct{} // closed when closing and active is 0
	ticking  bool
	stopTick chan struct{}
	tickDone chan struct{}

	keepaliveFrame []byte
	bufPool        sync.Pool
	writers        *writerPool
	poller         *httpx.Poller // high-density close detection; under mu

	stats struct {
		connects, evictions, published, dropped atomic.Uint64
	}
}

// NewServer returns a Server with opts.
func NewServer(opts Options) *Server {
	if opts.KeepAlive == 0 {
		opts.KeepAlive = DefaultKeepAlive
	}
	if opts.ShutdownRetry <= 0 {
		opts.ShutdownRetry = DefaultShutdownRetry
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.MaxQueueEvents <= 0 {
		opts.MaxQueueEvents = DefaultMaxQueueEvents
	}
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if opts.ResetEvent == "" || CheckType(opts.ResetEvent) != nil {
		opts.ResetEvent = DefaultResetEvent
	}
	s := &Server{
		opts:           opts,
		store:          opts.Store,
		conns:          make(map[*Conn]struct{}),
		topics:         make(map[string]map[*Conn]struct{}),
		keepaliveFrame: []byte(":\n\n"),
		writers:        newWriterPool(),
	}
	if opts.Fanout != nil {
		s.store = opts.Fanout.Store()
	}
	if s.store == nil {
		s.store = eventstore.NewMemory(eventstore.Options{})
		s.ownsStore = true
	}
	return s
}

// Store returns the store events are published to.
func (s *Server) Store() eventstore.Store { return s.store }

// Stats are a server's counters.
type Stats struct {
	Conns     int    // connections streaming now
	Connects  uint64 // streams started
	Evictions uint64 // connections evicted as slow
	Published uint64 // events published
	Dropped   uint64 // queued frames discarded by evictions
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	n := len(s.conns)
	s.mu.RUnlock()
	return Stats{
		Conns:     n,
		Connects:  s.stats.connects.Load(),
		Evictions: s.stats.evictions.Load(),
		Published: s.stats.published.Load(),
		Dropped:   s.stats.dropped.Load(),
	}
}

// Count returns the number of connections streaming now.
func (s *Server) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.conns)
}

// Send queues ev for the connection with the given ID (see Conn.ID and
// Options.OnConnect) only; see Conn.Send. It returns ErrConnClosed when no
// such connection is streaming.
func (s *Server) Send(connID uint64, ev Event) error {
	var c *Conn
	s.mu.RLock()
	for k := range s.conns {
		if k.id == connID {
			c = k
			break
		}
	}
	s.mu.RUnlock()
	if c == nil {
		return ErrConnClosed
	}
	return c.Send(ev)
}

// Publish appends an event to topic's stream in the store, which assigns
// its ID, and queues it (encoded once, bytes shared) to every connection
// subscribed to topic. ev.ID must be empty; ev.Retry and ev.Comment are
// sent but not stored. It returns the ID, or an error from validation or
// the store (nothing is sent then). Publish does not wait for any client.
func (s *Server) Publish(ctx context.Context, topic string, ev Event) (eventstore.ID, error) {
	if ev.ID != "" {
		return eventstore.ID{}, errors.New("sse: Publish: the store assigns IDs; leave Event.ID empty")
	}
	if err := CheckType(ev.Type); err != nil {
		return eventstore.ID{}, err
	}
	if ev.Data == nil {
		ev.Data = []byte{}
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if s.isClosing() {
		return eventstore.ID{}, ErrServerClosed
	}
	stored, err := s.store.Append(ctx, topic, ev.Type, ev.Data)
	if err != nil {
		return eventstore.ID{}, err
	}
	if s.opts.Fanout != nil {
		// The hub delivers it, here as on every other process.
		s.stats.published.Add(1)
		return stored.ID, nil
	}
	ev.ID = stored.ID.String()
	b, err := ev.AppendTo(make([]byte, 0, ev.Size()+eventstore.MaxIDLen))
	if err != nil {
		return eventstore.ID{}, err
	}
	s.stats.published.Add(1)
	s.fanout(topic, frame{b: b, topic: topic, id: stored.ID})
	return stored.ID, nil
}

func (s *Server) fanout(topic string, f frame) {
	var evicted []*Conn
	s.mu.RLock()
	for c := range s.topics[topic] {
		if c.enqueue(f) {
			evicted = append(evicted, c)
		}
	}
	s.mu.RUnlock()
	for _, c := range evicted {
		c.abortWrite()
	}
}

func (s *Server) isClosing() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closing
}

// register adds c; it fails once the server is closing.
func (s *Server) register(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.nextID++
	c.id = s.nextID
	s.active++
	s.conns[c] = struct{}{}
	for _, t := range c.topics {
		m := s.topics[t]
		if m == nil {
			m = make(map[*Conn]struct{})
			s.topics[t] = m
		}
		m[c] = struct{}{}
	}
	if !s.ticking {
		s.ticking = true
		s.stopTick = make(chan struct{})
		s.tickDone = make(chan struct{})
		go s.keepalive(s.stopTick, s.tickDone)
	}
	return true
}

// pollerFor returns the server's poller for high-density connections,
// started with the first of them; nil if the system refuses one (then a
// dead peer is found by the next write).
func (s *Server) pollerFor() *httpx.Poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poller == nil {
		p, err := httpx.NewPoller(httpx.PollerOptions{Workers: 1})
		if err != nil {
			s.debug("sse: no poller; dead peers are found by writes", "err", err)
			return nil
		}
		s.poller = p
	}
	return s.poller
}

// finished counts an unregistered connection's end (after its hook): a
// Shutdown waits for every one.
func (s *Server) finished() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.active == 0 && s.drained != nil {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

// retireIfIdle lets the writers exit when no connection is left.
func (s *Server) retireIfIdle() {
	s.mu.RLock()
	n := len(s.conns)
	s.mu.RUnlock()
	if n == 0 {
		s.writers.retire()
	}
}

func (s *Server) unregister(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	for _, t := range c.topics {
		if m := s.topics[t]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(s.topics, t)
			}
		}
	}
	var idlePoller *httpx.Poller
	if len(s.conns) == 0 {
		s.writers.retire()
		idlePoller, s.poller = s.poller, nil
		if s.ticking {
			close(s.stopTick)
			s.ticking = false
		}
	}
	s.mu.Unlock()
	if idlePoller != nil {
		_ = idlePoller.Close() // off the lock: Close waits for running callbacks
	}
}

// goneCheck is how often the server looks for clients that went away
// without a write failing (see sweep).
const goneCheck = time.Second

// keepalive is the server's one periodic goroutine: it runs while
// connections exist, queues a comment on each connection that wrote
// nothing for KeepAlive, and ends the streams of clients that went away
// (sweep). It ticks every goneCheck, or four times per KeepAlive if that
// is sooner, so a keepalive goes out between 1 and 1.25 periods of quiet.
func (s *Server) keepalive(stop, done chan struct{}) {
	defer close(done)
	period := s.opts.KeepAlive
	tick := goneCheck
	if period > 0 {
		tick = min(tick, period/4)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var batch []*Conn
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			batch = batch[:0]
			s.mu.RLock()
			for c := range s.conns {
				batch = append(batch, c)
			}
			s.mu.RUnlock()
			s.sweep(batch)
			if period > 0 {
				cutoff := now.Add(-period).UnixNano()
				for _, c := range batch {
					c.keepalive(cutoff, s.keepaliveFrame)
				}
			}
			clear(batch)
		}
	}
}

// sweep ends the streams whose request context has ended: the client went
// away (or the server aborted the request). Request goroutines wait on
// their connection alone, not on the context too, which saves ~0.2-0.3 KB
// per idle connection (a second sudog and the context's Done channel,
// measured); the price is that a client that leaves while nothing is
// written is noticed within goneCheck instead of at once. A write to it
// fails sooner. High-density connections are watched by the poller: their
// request context ends with the handler, right after setup.
func (s *Server) sweep(conns []*Conn) {
	for _, c := range conns {
		if c.raw == nil && c.req.Context().Err() != nil {
			c.gone()
		}
	}
}

// CloseAll ends every current stream with the ShutdownRetry hint, without
// refusing new ones.
func (s *Server) CloseAll() {
	s.mu.RLock()
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.RUnlock()
	final := AppendRetry(nil, s.opts.ShutdownRetry)
	for _, c := range conns {
		c.closeWith(final)
	}
}

// Shutdown refuses new streams (503), ends every stream with a final
// "retry:" hint, and waits until their handlers have returned or ctx is
// done; then it aborts what is left (ctx's error is returned). It closes
// the store if the server created it. Its signature fits
// httpx.ListenAndServeGraceful's shutdown hooks; call it before the
// http.Server's own Shutdown, which waits for handlers.
func (s *Server) Shutdown(ctx context.Context) error {
	s.pubMu.Lock() // no publish is half done
	s.mu.Lock()
	first := !s.closing
	s.closing = true
	if s.drained == nil {
		s.drained = make(chan struct{})
		if s.active == 0 {
			close(s.drained)
		}
	}
	drained := s.drained
	s.mu.Unlock()
	s.pubMu.Unlock()

	s.CloseAll()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.RLock()
		for c := range s.conns {
			c.kill(ErrServerClosed)
			c.abortWrite()
		}
		s.mu.RUnlock()
	}
	s.mu.RLock()
	tickDone := s.tickDone
	ticking := s.ticking
	s.mu.RUnlock()
	if !ticking && tickDone != nil && err == nil {
		<-tickDone
	}
	if first && s.ownsStore {
		if cerr := s.store.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (s *Server) getBuf() *[]byte {
	if b, ok := s.bufPool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 16<<10)
	return &b
}

func (s *Server) putBuf(b *[]byte) {
	if cap(*b) > 256<<10 {
		return
	}
	*b = (*b)[:0]
	s.bufPool.Put(b)
}

func (s *Server) debug(msg string, args ...any) {
	if s.opts.Logger != nil {
		s.opts.Logger.Debug(msg, args...)
	}
}
