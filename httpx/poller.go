package httpx

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// ErrPollerClosed is returned by [Poller.Watch] after [Poller.Close].
var ErrPollerClosed = errors.New("httpx: poller closed")

// Defaults for [PollerOptions].
const (
	DefaultPollerWorkers   = 4
	DefaultPollerQueueSize = 1024
)

// PollerOptions configure a [Poller]. The zero value is usable.
type PollerOptions struct {
	// Workers is how many goroutines run the onReady callbacks. Default 4.
	// A callback that blocks holds one of them; the others go on.
	Workers int
	// QueueSize bounds the callbacks that are ready but not yet running.
	// When it is full the poller waits for a worker before it reports more
	// readiness (the connections stay readable, so nothing is lost).
	// Default 1024.
	QueueSize int
}

// Poller reports, once per [Poller.Watch], that a connection has become
// readable — data arrived, or the peer closed or reset it — without a
// goroutine per connection. It is what lets a server park thousands of idle
// HTTP/1.1 connections (hijacked, see [HandbackListener]) for the cost of
// the socket and a small struct each.
//
// On Linux a Poller is one epoll instance and one goroutine that waits on it
// (a second registration next to Go's own netpoller, level-triggered and
// one-shot), plus Workers goroutines that run callbacks. On other Unix
// systems each watched connection waits in a goroutine of its own, parked in
// [syscall.RawConn.Read] until the runtime's netpoller says the socket is
// readable: same API and semantics, but a goroutine (2 KiB or more) per
// watched connection. Where there is no [syscall.RawConn] readiness (not
// Unix), Watch returns an error wrapping [errors.ErrUnsupported]; callers
// then keep their goroutine-per-connection path.
//
// Concurrency: all methods are safe for concurrent use. Callbacks run on the
// poller's worker goroutines, never while a lock of the poller is held, so
// a callback may call Watch again (to re-arm) or stop. Watch a connection at
// most once at a time; do not read from it while it is watched.
//
// Shutdown: [Poller.Close] stops watching everything, waits for running
// callbacks to return and for every goroutine of the poller to end.
// Callbacks that were ready but had not started are dropped. It does not
// close the connections: they belong to the caller.
type Poller struct {
	opts  PollerOptions
	queue chan func()
	done  chan struct{}
	wg    sync.WaitGroup // workers and backend goroutines

	mu      sync.Mutex
	closed  bool
	next    uint64
	watches map[uint64]*watch
	be      pollBackend
}

// watch is one armed Watch.
type watch struct {
	token   uint64
	conn    net.Conn
	rc      syscall.RawConn
	onReady func()
	aux     any // backend state
}

// pollBackend waits for readiness and calls Poller.fire(token).
type pollBackend interface {
	arm(w *watch) error
	disarm(w *watch)
	close()
}

// NewPoller starts a poller. It fails only if the system refuses an epoll
// instance (file descriptor limits).
func NewPoller(opts PollerOptions) (*Poller, error) {
	return newPoller(opts, newPollBackend)
}

func newPoller(opts PollerOptions, backend func(*Poller) (pollBackend, error)) (*Poller, error) {
	if opts.Workers <= 0 {
		opts.Workers = DefaultPollerWorkers
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultPollerQueueSize
	}
	p := &Poller{opts: opts, queue: make(chan func(), opts.QueueSize), done: make(chan struct{}), watches: map[uint64]*watch{}}
	be, err := backend(p)
	if err != nil {
		return nil, err
	}
	p.be = be
	for range opts.Workers {
		p.wg.Go(p.work)
	}
	return p, nil
}

func (p *Poller) work() {
	for {
		select {
		case f := <-p.queue:
			f()
		case <-p.done:
			return
		}
	}
}

// Watch arms a one-shot readiness report for c: onReady runs once, on a
// worker goroutine, when c has bytes to read, has been closed or reset by
// the peer, or has failed. Watch again to be told again. c must be a
// connection with a file descriptor ([syscall.Conn], such as *net.TCPConn
// or *net.UnixConn; not a *tls.Conn), and is neither read nor closed by the
// poller.
//
// stop disarms the watch: it returns true if onReady had not been scheduled
// (it then never runs) and false if it already ran or is about to. Call stop
// (or let onReady run) before closing c.
func (p *Poller) Watch(c net.Conn, onReady func()) (stop func() bool, err error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errors.New("httpx: poller: connection has no file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrPollerClosed
	}
	p.next++
	w := &watch{token: p.next, conn: c, rc: rc, onReady: onReady}
	// Registered before it is armed: readiness may be reported at once.
	p.watches[w.token] = w
	p.mu.Unlock()
	if err := p.be.arm(w); err != nil {
		p.forget(w.token)
		return nil, err
	}
	return func() bool {
		if p.forget(w.token) == nil {
			return false
		}
		p.be.disarm(w)
		return true
	}, nil
}

// forget removes a watch; nil if it was already gone.
func (p *Poller) forget(token uint64) *watch {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.watches[token]
	if w != nil {
		delete(p.watches, token)
	}
	return w
}

// fire schedules the callback of token, once. It blocks while the queue is
// full, until Close.
func (p *Poller) fire(token uint64) {
	w := p.forget(token)
	if w == nil {
		return // stopped meanwhile
	}
	select {
	case p.queue <- w.onReady:
	case <-p.done:
	}
}

// Len returns how many watches are armed.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.watches)
}

// Close disarms every watch, waits for running callbacks and the poller's
// goroutines, and drops callbacks that had not started. It is idempotent
// and returns nil.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	ws := make([]*watch, 0, len(p.watches))
	for _, w := range p.watches {
		ws = append(ws, w)
	}
	clear(p.watches)
	p.mu.Unlock()
	for _, w := range ws {
		p.be.disarm(w)
	}
	close(p.done)
	p.be.close()
	p.wg.Wait()
	return nil
}
