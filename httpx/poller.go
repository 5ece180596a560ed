package httpx

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// ErrPollerClosed is returned by [Poller.Watch], [Poller.Register] and
// [Registration.Arm] after [Poller.Close], and by Arm after
// [Registration.Close].
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

// Poller reports, once per arming, that a connection has become readable —
// data arrived, or the peer closed or reset it — without a goroutine per
// connection. It is what lets a server park thousands of idle HTTP/1.1
// connections (hijacked, see [HandbackListener]) for the cost of the socket
// and a small struct each.
//
// There are two ways in. [Poller.Watch] arms a single report. A connection
// that is watched again and again (a kept-alive connection between
// requests) is better added once with [Poller.Register]: each
// [Registration.Arm] then costs no allocation, and on Linux one system
// call.
//
// On Linux a Poller is one epoll instance and one goroutine that waits on it
// (a second registration next to Go's own netpoller), plus Workers
// goroutines that run callbacks. On other Unix
// systems each armed connection waits in a goroutine of its own, parked in
// [syscall.RawConn.Read] until the runtime's netpoller says the socket is
// readable: same API and semantics, but a goroutine (2 KiB or more) per
// armed connection. Where there is no [syscall.RawConn] readiness (not
// Unix), Watch and Arm return an error wrapping [errors.ErrUnsupported];
// callers then keep their goroutine-per-connection path.
//
// Concurrency: all methods are safe for concurrent use. Callbacks run on the
// poller's worker goroutines, never while a lock of the poller is held, so
// a callback may arm again or stop. Watch or register a connection at most
// once at a time; do not read from it while it is armed. A callback can, in
// rare races, run when the bytes it was told of are gone (read by someone
// else, or reported just before a re-arm): read without blocking.
//
// Shutdown: [Poller.Close] disarms everything, waits for running callbacks
// to return and for every goroutine of the poller to end. Callbacks that
// were ready but had not started are dropped. It does not close the
// connections: they belong to the caller.
type Poller struct {
	opts  PollerOptions
	queue chan func()
	done  chan struct{}
	wg    sync.WaitGroup // workers and backend goroutines

	// mu guards regs and closed. Arm and reports take it shared, so that
	// Close sees every arming either finished or refused.
	mu     sync.RWMutex
	closed bool
	next   uint32
	regs   map[uint32]*Registration
	armed  atomic.Int64
	be     pollBackend
}

// Registration is a connection added to a [Poller] with [Poller.Register]:
// each [Registration.Arm] asks for one report, delivered by running the
// registration's callback on a worker.
//
// Arm and Close belong to the registration's owner: the code that arms it,
// and then the callback that arming runs. Two owners must not call them
// concurrently, but an arming's callback may run, and arm again, before
// that Arm has returned. Disarm may be called from anywhere.
type Registration struct {
	p       *Poller
	id      uint32
	conn    net.Conn
	rc      syscall.RawConn
	onReady func()
	oneShot bool // made by Watch: forgotten once reported or stopped

	// state is the generation of the latest arming << regGenShift, plus
	// regArmed while it waits and regClosed once closed. A report, Disarm
	// and Close clear regArmed by compare-and-swap, so exactly one of them
	// wins an arming; a report that names an older generation is ignored.
	state atomic.Uint64
	aux   any // backend state
}

const (
	regArmed    = 1
	regClosed   = 2
	regGenShift = 2
)

// pollBackend waits for readiness and calls Poller.fire(id, gen).
type pollBackend interface {
	add(r *Registration) error             // once, before r is shared
	arm(r *Registration, gen uint32) error // may overlap another arm of r and its report
	disarm(r *Registration)                // after Disarm or Close won an arming
	remove(r *Registration)                // Registration.Close
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
	p := &Poller{opts: opts, queue: make(chan func(), opts.QueueSize), done: make(chan struct{}), regs: map[uint32]*Registration{}}
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

// Register adds c to the poller, disarmed. onReady runs on a worker
// goroutine once per [Registration.Arm], when c has bytes to read, has been
// closed or reset by the peer, or has failed. c must be a connection with a
// file descriptor ([syscall.Conn], such as *net.TCPConn or *net.UnixConn;
// not a *tls.Conn), and is neither read nor closed by the poller. Call
// [Registration.Close] before closing c.
func (p *Poller) Register(c net.Conn, onReady func()) (*Registration, error) {
	return p.register(c, onReady, false)
}

func (p *Poller) register(c net.Conn, onReady func(), oneShot bool) (*Registration, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errors.New("httpx: poller: connection has no file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &Registration{p: p, conn: c, rc: rc, onReady: onReady, oneShot: oneShot}
	if err := p.be.add(r); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPollerClosed
	}
	p.next++
	for p.regs[p.next] != nil || p.next == 0 { // after 2^32 registrations
		p.next++
	}
	r.id = p.next
	p.regs[r.id] = r
	return r, nil
}

// Arm asks for one report: the callback runs once c is readable (at once
// if it already is). Arming an armed registration does nothing.
func (r *Registration) Arm() error {
	p := r.p
	p.mu.RLock()
	defer p.mu.RUnlock()
	var armed uint64
	var gen uint32
	for {
		v := r.state.Load()
		switch {
		case p.closed || v&regClosed != 0:
			return ErrPollerClosed
		case v&regArmed != 0:
			return nil
		}
		gen = uint32(v>>regGenShift) + 1
		if gen == 0 {
			gen = 1 // 0 is a registration never armed
		}
		armed = uint64(gen)<<regGenShift | regArmed
		if r.state.CompareAndSwap(v, armed) {
			break
		}
	}
	p.armed.Add(1)
	if err := p.be.arm(r, gen); err != nil {
		if r.state.CompareAndSwap(armed, armed&^regArmed) {
			p.armed.Add(-1)
		}
		return err
	}
	return nil
}

// Disarm cancels the pending report: true if the callback had not been
// scheduled (it then does not run for this arming), false if the
// registration was not armed or its callback already ran or is about to.
func (r *Registration) Disarm() bool {
	for {
		v := r.state.Load()
		if v&regArmed == 0 {
			return false
		}
		if r.state.CompareAndSwap(v, v&^regArmed) {
			r.p.armed.Add(-1)
			r.p.be.disarm(r)
			return true
		}
	}
}

// Close disarms the registration and removes it from the poller; Arm then
// fails. It does not close the connection. Close is idempotent.
func (r *Registration) Close() {
	if !r.markClosed() {
		return
	}
	p := r.p
	p.forget(r)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.closed { // else the backend is gone, and its descriptors with it
		p.be.remove(r)
	}
}

// markClosed sets regClosed (disarming first); false if it was set.
func (r *Registration) markClosed() bool {
	for {
		v := r.state.Load()
		if v&regClosed != 0 {
			return false
		}
		if r.state.CompareAndSwap(v, (v|regClosed)&^regArmed) {
			if v&regArmed != 0 {
				r.p.armed.Add(-1)
				r.p.be.disarm(r)
			}
			return true
		}
	}
}

func (p *Poller) forget(r *Registration) {
	p.mu.Lock()
	if p.regs[r.id] == r {
		delete(p.regs, r.id)
	}
	p.mu.Unlock()
}

// Watch arms a single report for c: onReady runs once, on a worker
// goroutine, when c has bytes to read, has been closed or reset by the
// peer, or has failed. Watch again to be told again (or use
// [Poller.Register], which does not allocate per arming). c must be a
// connection with a file descriptor ([syscall.Conn], such as *net.TCPConn
// or *net.UnixConn; not a *tls.Conn), and is neither read nor closed by the
// poller.
//
// stop disarms the watch: it returns true if onReady had not been scheduled
// (it then never runs) and false if it already ran or is about to. Call stop
// (or let onReady run) before closing c.
func (p *Poller) Watch(c net.Conn, onReady func()) (stop func() bool, err error) {
	r, err := p.register(c, onReady, true)
	if err != nil {
		return nil, err
	}
	if err := r.Arm(); err != nil {
		p.forget(r)
		return nil, err
	}
	return func() bool {
		ok := r.Disarm()
		// Forgotten, but left in the kernel's set (epoll): a next Watch of
		// the same connection re-arms that entry with one system call.
		p.forget(r)
		return ok
	}, nil
}

// fire schedules the callback of registration id for its arming gen, once.
// It blocks while the queue is full, until Close.
func (p *Poller) fire(id, gen uint32) {
	r := p.lookup(id)
	if r == nil {
		return // closed meanwhile
	}
	armed := uint64(gen)<<regGenShift | regArmed
	if !r.state.CompareAndSwap(armed, armed&^regArmed) {
		return // disarmed, or an older arming
	}
	p.schedule(r)
}

func (p *Poller) lookup(id uint32) *Registration {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.regs[id]
}

func (p *Poller) schedule(r *Registration) {
	p.armed.Add(-1)
	if r.oneShot {
		p.forget(r)
	}
	select {
	case p.queue <- r.onReady:
	case <-p.done:
	}
}

// Len returns how many registrations and watches are armed.
func (p *Poller) Len() int { return int(p.armed.Load()) }

// Close disarms every registration and watch, waits for running callbacks
// and the poller's goroutines, and drops callbacks that had not started. It
// is idempotent and returns nil.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	rs := make([]*Registration, 0, len(p.regs))
	for _, r := range p.regs {
		rs = append(rs, r)
	}
	clear(p.regs)
	p.mu.Unlock()
	for _, r := range rs {
		r.markClosed()
	}
	close(p.done)
	p.be.close()
	p.wg.Wait()
	return nil
}
