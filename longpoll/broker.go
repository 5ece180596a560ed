package longpoll

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/httpx"
)

// Defaults for [Options].
const (
	DefaultMaxTimeoutSeconds       = 110 // golongpoll's default
	DefaultBufferSize              = 250 // golongpoll's default
	DefaultMaxEventsPerAnswer      = 250
	DefaultMaxCategoriesPerRequest = 16
	DefaultMaxWaiting              = 100_000
	DefaultMaxCategories           = 100_000
	DefaultMaxEventSize            = 1 << 20
)

// cacheSize is how many encoded events a category keeps for its waiters.
const cacheSize = 32

// Options configure a [Broker]. The zero value is usable: an in-memory store
// of 250 events per category, timeouts up to 110 s, every cap at its default.
type Options struct {
	// Store holds the events. nil means a memory store built from
	// BufferSize, TTL, MaxBytes, MaxEventSize and MaxCategories, owned by
	// the broker and closed by Shutdown. A store given here is not closed
	// by the broker, and its own limits apply (the five fields above are
	// then ignored).
	Store eventstore.Store

	// Fanout, if set, makes the broker one of many processes over a
	// shared store (see package eventstore/fanout): its store replaces
	// Store, and the broker follows each category that has waiting polls
	// (or a publish in progress) here, so an event that another process
	// appends wakes this process's polls at once. While the store is
	// unavailable, polls that read fail (500) and clients retry; the
	// events themselves are always read from the store, so none is lost
	// or doubled.
	Fanout *fanout.Hub

	// MaxTimeoutSeconds is the largest "timeout" a poll may ask for.
	// Default 110.
	MaxTimeoutSeconds int
	// BufferSize is how many events a category keeps (the oldest are
	// evicted). Default 250.
	BufferSize int
	// TTL evicts events older than this. 0 means the eventstore default
	// (24 hours); memory is never unbounded.
	TTL time.Duration
	// MaxBytes bounds the payload bytes held over all categories. 0 means
	// the eventstore default (256 MiB).
	MaxBytes int64
	// MaxEventSize is the largest event (payload plus category); a larger
	// publish fails. Default 1 MiB.
	MaxEventSize int
	// MaxCategories bounds the categories held by the store and the
	// categories with waiting clients. Default 100,000.
	MaxCategories int
	// MaxEventsPerAnswer caps the events in one answer; the client gets the
	// rest on its next poll. Default 250.
	MaxEventsPerAnswer int
	// MaxCategoriesPerRequest caps the categories one poll may name.
	// Default 16.
	MaxCategoriesPerRequest int
	// MaxWaiting caps the polls waiting at once; past it a poll gets a 503.
	// Default 100,000.
	MaxWaiting int
	// DeleteAfterRead removes events once one poll has fetched them (they
	// go to whichever client asks first, as golongpoll's
	// DeleteEventAfterFirstRetrieval). Gaps are then expected and are not
	// reported as history lost.
	DeleteAfterRead bool

	// BeforeSubscribe and BeforePublish, if set, run before the handlers
	// (the seed's HandlerToRunBefore*). Returning false means the hook has
	// answered the request and the handler must not.
	BeforeSubscribe func(w http.ResponseWriter, r *http.Request) bool
	BeforePublish   func(w http.ResponseWriter, r *http.Request) bool

	// CORS, if set, wraps both handlers in httpx.CORS with these options.
	CORS *httpx.CORSOptions

	// DisableConnParking keeps every poll on net/http's handler goroutine.
	// By default a plain HTTP/1.1 poll that has to wait, served through an
	// httpx.HandbackListener (the seed Server uses one on Linux), is parked
	// on its bare connection instead (see "High density" in the package
	// doc).
	DisableConnParking bool
	// IdleTimeout closes a parked connection that has been answered and
	// sent no new request for this long (net/http's IdleTimeout, for the
	// connections the broker holds). Default 2 minutes.
	IdleTimeout time.Duration

	// Logger receives store failures. nil means silent.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxTimeoutSeconds, DefaultMaxTimeoutSeconds)
	def(&o.BufferSize, DefaultBufferSize)
	def(&o.MaxEventSize, DefaultMaxEventSize)
	def(&o.MaxCategories, DefaultMaxCategories)
	def(&o.MaxEventsPerAnswer, DefaultMaxEventsPerAnswer)
	def(&o.MaxCategoriesPerRequest, DefaultMaxCategoriesPerRequest)
	def(&o.MaxWaiting, DefaultMaxWaiting)
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	return o
}

// StoreOptions returns the eventstore options a broker with these Options
// uses for its own memory store; pass them to eventstore.OpenFile (inside
// FileOptions) to give a file store the same bounds.
func (o Options) StoreOptions() eventstore.Options {
	o = o.withDefaults()
	return eventstore.Options{Limits: eventstore.Limits{
		MaxEventsPerStream: o.BufferSize,
		MaxBytes:           o.MaxBytes,
		MaxEventSize:       o.MaxEventSize,
		MaxAge:             o.TTL,
		MaxStreams:         o.MaxCategories,
		MaxStreamNameLen:   MaxCategoryLen,
	}}
}

// Broker is a long-poll server: a subscription handler and a publish handler
// over one event store, wire-compatible with golongpoll.
//
// Concurrency: every method is safe for concurrent use. Events of one
// category are ordered by the store, which assigns their time and sequence
// in one place; a waiting poll holds no goroutine of its own (only the
// net/http handler goroutine) and no timer goroutine.
//
// Shutdown: [Broker.Shutdown] answers every waiting poll at once, refuses
// later polls and publishes, and closes the store if the broker owns it. A
// Broker is not restarted; make a new one.
type Broker struct {
	opts     Options
	store    eventstore.Store
	ownStore bool
	sub, pub http.Handler

	mu   sync.Mutex // guards cats, active, idle
	cats map[string]*category
	// active counts running subscribe handlers; idle is closed when it
	// reaches zero after stop.
	active     int
	idle       chan struct{}
	idleClosed bool

	stop     chan struct{}
	stopOnce sync.Once
	waiting  atomic.Int64

	published, answers, delivered, timeouts, encodes atomic.Uint64

	// bareOK: polls may park on bare connections; directOK: requests on
	// them may be served without net/http (no hooks or CORS to honour).
	bareOK, directOK bool
	bare             bareSet
}

// category is the waiting room of one category. It exists while polls wait
// on it or a publish is in progress, and is dropped when idle.
type category struct {
	name     string
	hash     uint64
	mu       sync.Mutex // orders append+wake against read+register
	waiters  map[*waiter]struct{}
	busy     int  // publishes holding a reference
	dead     bool // removed from the broker's map; look it up again
	cache    [cacheSize]cached
	cacheN   int // entries used, newest at cache[(cacheAt-1)%cacheSize]
	cacheAt  int
	unfollow func() // ends the Options.Fanout subscription
}

type cached struct {
	id  eventstore.ID
	enc []byte
}

// waiter is a poll registered in a category: woken through ch (a poll on
// net/http's goroutine) or, when bare is set, claimed and answered by the
// publish itself (a poll parked on a bare connection, parked.go).
type waiter struct {
	ch   chan struct{}
	bare *bareConn
}

func (w *waiter) wake() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// NewBroker returns a broker with opts. It fails only for invalid CORS
// options.
func NewBroker(opts Options) (*Broker, error) {
	opts = opts.withDefaults()
	if opts.Fanout != nil {
		opts.Store = opts.Fanout.Store()
	}
	b := &Broker{opts: opts, store: opts.Store, cats: map[string]*category{}, stop: make(chan struct{}), idle: make(chan struct{})}
	// Parked polls are answered by the publish that claims them, with the
	// one event it appended: not with events of other processes (Fanout),
	// nor when a read takes events away from others (DeleteAfterRead).
	b.bareOK = bareSupported && !opts.DisableConnParking && opts.Fanout == nil && !opts.DeleteAfterRead
	b.directOK = opts.BeforeSubscribe == nil && opts.CORS == nil
	if b.store == nil {
		b.store = eventstore.NewMemory(opts.StoreOptions())
		b.ownStore = true
	}
	b.sub = http.HandlerFunc(b.serveSubscribe)
	b.pub = http.HandlerFunc(b.servePublish)
	if opts.CORS != nil {
		mw, err := httpx.CORS(*opts.CORS)
		if err != nil {
			if b.ownStore {
				_ = b.store.Close()
			}
			return nil, err
		}
		b.sub, b.pub = mw(b.sub), mw(b.pub)
	}
	return b, nil
}

// Store returns the broker's event store.
func (b *Broker) Store() eventstore.Store { return b.store }

// SubscriptionHandler returns the long-poll handler (golongpoll's
// SubscriptionHandler): any method, parameters in the query.
func (b *Broker) SubscriptionHandler() http.Handler { return b.sub }

// PublishHandler returns the publish handler: POST {"category","data"}.
func (b *Broker) PublishHandler() http.Handler { return b.pub }

func (b *Broker) stopped() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// lockCategory returns the live category name, created if needed, locked.
func (b *Broker) lockCategory(name string) (*category, error) {
	for {
		b.mu.Lock()
		c := b.cats[name]
		if c == nil {
			if len(b.cats) >= b.opts.MaxCategories {
				b.mu.Unlock()
				return nil, ErrTooManyCategories
			}
			c = &category{name: name, hash: categoryHash(name), waiters: map[*waiter]struct{}{}}
			if b.opts.Fanout != nil {
				stop, err := b.opts.Fanout.Subscribe(name, eventstore.Tail, c.remote)
				if err != nil {
					b.mu.Unlock()
					return nil, err
				}
				c.unfollow = stop
			}
			b.cats[name] = c
		}
		b.mu.Unlock()
		c.mu.Lock()
		if !c.dead {
			return c, nil
		}
		c.mu.Unlock()
	}
}

// release drops c from the map if nothing uses it. Call without c.mu.
func (b *Broker) release(c *category) {
	b.mu.Lock()
	c.mu.Lock()
	var unfollow func()
	if len(c.waiters) == 0 && c.busy == 0 && !c.dead {
		c.dead = true
		delete(b.cats, c.name)
		unfollow = c.unfollow
	}
	c.mu.Unlock()
	b.mu.Unlock()
	if unfollow != nil {
		unfollow()
	}
}

// Publish appends an event with data (marshalled to JSON; a
// json.RawMessage is used as is once validated) to category and wakes the
// polls waiting on it. It returns the event's wire ID.
func (b *Broker) Publish(ctx context.Context, category string, data any) (string, error) {
	if data == nil {
		return "", ErrNilData
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	return b.publish(ctx, category, raw)
}

func (b *Broker) publish(ctx context.Context, name string, raw []byte) (string, error) {
	if len(name) == 0 || len(name) > MaxCategoryLen {
		return "", ErrBadCategory
	}
	if len(raw) == 0 || string(raw) == "null" {
		return "", ErrNilData
	}
	if b.stopped() {
		return "", ErrStopped
	}
	c, err := b.lockCategory(name)
	if err != nil {
		return "", err
	}
	c.busy++
	ev, err := b.store.Append(ctx, name, "", raw)
	if err == nil {
		if _, ok := encodeID(ev.ID, c.hash); !ok {
			// Only reachable with a store that hands out sequences
			// past 2^32 within one millisecond.
			err = errors.New("longpoll: event ID does not fit a UUID")
		}
	}
	var id string
	var claimed []*bareConn
	var enc []byte
	if err == nil {
		b.published.Add(1)
		u, _ := encodeID(ev.ID, c.hash)
		id = string(formatUUID(nil, u))
		if len(c.waiters) > 0 {
			b.encodes.Add(1)
			enc = encodeEvent(&ev, c.hash)
			c.put(ev.ID, enc)
			for w := range c.waiters {
				if w.bare != nil {
					// Parked at the tail (registered by a read that found
					// nothing, and every append claims it): this event is
					// its whole answer.
					delete(c.waiters, w)
					claimed = append(claimed, w.bare)
					continue
				}
				w.wake()
			}
		}
	}
	c.busy--
	idle := len(c.waiters) == 0
	c.mu.Unlock()
	if len(claimed) > 0 {
		// One rendering, headers included, for every parked poll.
		b.deliverAll(claimed, enc)
	}
	if idle {
		b.release(c)
	}
	if err != nil {
		if errors.Is(err, eventstore.ErrClosed) && b.stopped() {
			return "", ErrStopped
		}
		return "", err
	}
	return id, nil
}

// remote is c's Options.Fanout callback: an event appended by any process
// wakes the waiting polls, which read it from the store.
func (c *category) remote(_ eventstore.Event, err error) {
	if err != nil {
		return // polls read the store themselves; they see its errors
	}
	c.mu.Lock()
	for w := range c.waiters {
		w.wake()
	}
	c.mu.Unlock()
}

func (c *category) put(id eventstore.ID, enc []byte) {
	c.cache[c.cacheAt] = cached{id, enc}
	c.cacheAt = (c.cacheAt + 1) % cacheSize
	c.cacheN = min(c.cacheN+1, cacheSize)
}

// encoded returns the shared encoding of ev, from the cache when a publish
// put it there. Call with c.mu held.
func (c *category) encoded(ev *eventstore.Event, n *atomic.Uint64) []byte {
	for i := 1; i <= c.cacheN; i++ {
		e := &c.cache[(c.cacheAt-i+cacheSize)%cacheSize]
		if e.id == ev.ID {
			return e.enc
		}
		if e.id.Less(ev.ID) {
			break
		}
	}
	n.Add(1)
	enc := encodeEvent(ev, c.hash)
	if len(c.waiters) > 0 && (c.cacheN == 0 || c.cache[(c.cacheAt-1+cacheSize)%cacheSize].id.Less(ev.ID)) {
		c.put(ev.ID, enc)
	}
	return enc
}

// Shutdown answers every waiting poll at once (with a timeout answer),
// refuses new polls and publishes, waits for the subscribe handlers to
// return or ctx to end, and closes the store if the broker owns it. It is
// idempotent.
func (b *Broker) Shutdown(ctx context.Context) error {
	first := false
	b.stopOnce.Do(func() {
		first = true
		b.mu.Lock()
		close(b.stop)
		b.closeIdleLocked()
		b.mu.Unlock()
		b.bare.shutdown()
	})
	var err error
	select {
	case <-b.idle:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if first && b.ownStore {
		err = errors.Join(err, b.store.Close())
	}
	return err
}

// enter counts a running subscribe handler; false after stop.
func (b *Broker) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped() {
		return false
	}
	b.active++
	return true
}

func (b *Broker) leave() {
	b.mu.Lock()
	b.active--
	b.closeIdleLocked()
	b.mu.Unlock()
}

func (b *Broker) closeIdleLocked() {
	if b.active == 0 && b.stopped() && !b.idleClosed {
		b.idleClosed = true
		close(b.idle)
	}
}

// Stats are a broker's counters and current sizes.
type Stats struct {
	Waiting    int    // polls waiting now (Parked included)
	Parked     int    // of those, polls parked on bare connections (no goroutine)
	IdleConns  int    // answered bare connections held until their next request
	Categories int    // categories with waiting polls (or a publish in progress)
	Published  uint64 // events published
	Answers    uint64 // polls answered with events
	Delivered  uint64 // events sent, summed over answers
	Timeouts   uint64 // polls answered with a timeout
	Encodes    uint64 // events rendered to JSON (once per event while it is cached)
	Store      eventstore.Stats
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	n := len(b.cats)
	b.mu.Unlock()
	return Stats{
		Waiting: int(b.waiting.Load()), Categories: n,
		Parked: int(b.bare.parked.Load()), IdleConns: int(b.bare.idle.Load()),
		Published: b.published.Load(), Answers: b.answers.Load(), Delivered: b.delivered.Load(),
		Timeouts: b.timeouts.Load(), Encodes: b.encodes.Load(), Store: b.store.Stats(),
	}
}
