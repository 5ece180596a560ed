package sse

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// stuckAfter is how long a write may run before the pool stops counting
// its worker as one that makes progress. A write that does not block takes
// microseconds; one that runs this long waits for a client's socket buffer.
const stuckAfter = 2 * time.Millisecond

// writerPool writes for all of a server's connections on a few shared
// goroutines, instead of one goroutine per write or per connection.
//
// Why: a connection's own goroutine that runs net/http's deep write path
// keeps an 8 KB stack for good, and a goroutine per write leaves dead
// goroutines behind (see retire below). A few long-lived writers keep idle
// connections at net/http's minimum stacks, and one event to many
// connections costs no goroutine wake-up per connection.
//
// Policy: a connection with something to write is put once on a FIFO
// ready list (what arrives meanwhile is coalesced into its next write).
// Up to base workers drain the list. They park when it is empty and exit
// when the server has no connections left (retire): a goroutine that exits
// leaves its 4 KB stack on the runtime's free list, and net/http's next
// connection would start its background-read goroutine on it instead of on
// a fresh 2 KB stack (measured: 0.5-2 KB more per idle connection when
// every write ran on its own goroutine). A write that blocks (a client that
// stopped reading, until its write deadline or its eviction aborts the
// write) must not hold up the others: while the list is not empty, a
// check every stuckAfter stops counting workers whose current write has run
// longer than that, and starts new ones so that base workers make
// progress; those extra workers exit as soon as they find the list empty.
// Workers are thus at most base plus the writes blocked at that moment (at
// most one per connection).
type writerPool struct {
	base int

	mu      sync.Mutex
	ready   []*Conn
	head    int
	workers []*writer
	idle    []*writer   // parked workers, each waiting on its wake channel
	retired bool        // no connections: parked workers exit
	timer   *time.Timer // the stuck check; armed while the list waits
	armed   bool
}

// writer is one worker; since is when its current write started (unix
// ns), 0 between writes.
type writer struct {
	since atomic.Int64
	wake  chan struct{} // buffered 1
}

func newWriterPool() *writerPool {
	return &writerPool{base: max(2, runtime.GOMAXPROCS(0))}
}

// schedule puts c on the ready list. The caller holds c.mu and has set
// c.scheduled, so c is on the list at most once.
func (p *writerPool) schedule(c *Conn) {
	p.mu.Lock()
	p.retired = false
	p.ready = append(p.ready, c)
	switch {
	case len(p.idle) > 0:
		w := p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		w.wake <- struct{}{}
	case len(p.workers) < p.base:
		p.startLocked()
	default:
		p.armLocked()
	}
	p.mu.Unlock()
}

// retire makes parked workers exit; the server calls it when its last
// connection has ended. The next schedule starts workers again.
func (p *writerPool) retire() {
	p.mu.Lock()
	p.retired = true
	for _, w := range p.idle {
		w.wake <- struct{}{}
	}
	clear(p.idle)
	p.idle = p.idle[:0]
	if p.armed {
		p.timer.Stop()
		p.armed = false
	}
	p.mu.Unlock()
}

func (p *writerPool) startLocked() {
	w := &writer{wake: make(chan struct{}, 1)}
	p.workers = append(p.workers, w)
	go p.run(w)
}

func (p *writerPool) armLocked() {
	if p.armed {
		return
	}
	p.armed = true
	if p.timer == nil {
		p.timer = time.AfterFunc(stuckAfter, p.check)
	} else {
		p.timer.Reset(stuckAfter)
	}
}

// check starts workers in place of stuck ones while the list waits.
func (p *writerPool) check() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = false
	if p.head == len(p.ready) {
		return
	}
	cutoff := time.Now().Add(-stuckAfter).UnixNano()
	live := 0
	for _, w := range p.workers {
		if s := w.since.Load(); s == 0 || s > cutoff {
			live++
		}
	}
	for ; live < p.base; live++ {
		p.startLocked()
	}
	p.armLocked()
}

func (p *writerPool) popLocked() *Conn {
	if p.head == len(p.ready) {
		return nil
	}
	c := p.ready[p.head]
	p.ready[p.head] = nil
	p.head++
	if p.head == len(p.ready) {
		p.head = 0
		p.ready = p.ready[:0]
		if cap(p.ready) > 4096 { // a list that grew for a big fan-out is not kept
			p.ready = nil
		}
	}
	return c
}

func (p *writerPool) run(w *writer) {
	var c *Conn
	for {
		p.mu.Lock()
		if c != nil { // it has more to write: back of the line
			p.ready = append(p.ready, c)
		}
		c = p.popLocked()
		if c == nil && !p.retired && len(p.workers) <= p.base {
			p.idle = append(p.idle, w)
			p.mu.Unlock()
			<-w.wake
			continue
		}
		if c == nil {
			for i, x := range p.workers {
				if x == w {
					last := len(p.workers) - 1
					p.workers[i] = p.workers[last]
					p.workers[last] = nil
					p.workers = p.workers[:last]
					break
				}
			}
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		w.since.Store(time.Now().UnixNano())
		more := c.flush()
		w.since.Store(0)
		if !more {
			c = nil
		}
	}
}
