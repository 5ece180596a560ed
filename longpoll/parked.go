package longpoll

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamkit-dev/streamkit/httpx"
)

// Parking polls on bare connections (the high-density path).
//
// A plain HTTP/1.1 poll that arrived through an httpx.HandbackListener is
// hijacked: net/http's goroutines and buffers go, and the poll waits as a
// bareConn (the socket, this struct, a runtime timer) watched by the
// broker's httpx.Poller, which reports a client that leaves. A publish claims
// the parked polls of its category under the category's lock and writes one
// pre-rendered answer, shared by all of them, straight to each socket. The
// connection then stays with the broker, watched, until its next request:
// a plain GET for the same route is served here (answered or parked again);
// anything else is handed back to net/http with the bytes read.
//
// Ownership: whoever removes a parked poll's waiter from its category (under
// the category's lock) answers it: a publish, the timer, shutdown, or the
// watch reporting that the client left. Lock order: bareConn.mu, then
// Broker.mu, then category.mu.

// Defaults of the parked path.
const (
	DefaultIdleTimeout = 2 * time.Minute
	// bareWriteTimeout bounds an answer that the socket does not take at
	// once (a client that stopped reading); it is finished on a goroutine
	// of its own so that no publish waits for it.
	bareWriteTimeout = 10 * time.Second
)

type bareState uint8

const (
	bareBusy   bareState = iota // a goroutine serves a request or writes an answer
	bareParked                  // a poll waits
	bareIdle                    // between requests, watched
	bareClosed                  // closed or handed back
)

// bareConn is a hijacked connection held by the broker.
type bareConn struct {
	b     *Broker
	conn  net.Conn
	io    *sockIO
	hl    *httpx.HandbackListener
	route routeKey

	mu       sync.Mutex
	state    bareState
	p        *poll // while parked
	timer    *time.Timer
	deadline time.Time           // when the timer's work is due
	fireAt   time.Time           // when the timer is set to fire (never after deadline)
	reg      *httpx.Registration // with the broker's poller, made on the first watch
	armed    bool                // reg is armed
	pending  []byte              // bytes net/http had read past the hijacked request
	hdrs     []byte              // header block of the last request parseDirect accepted (fastDirect)
	gone     bool                // the client left while a claimed answer was on its way
}

// bareSet is the broker's parked-connection state.
type bareSet struct {
	mu     sync.Mutex
	conns  map[*bareConn]struct{}
	closed bool
	poller *httpx.Poller
	perr   error
	wg     sync.WaitGroup // unfinished writes; Add only under mu, before closed

	parked, idle atomic.Int64
	readers      directReaders
	bufs         sync.Pool
}

// getPoller starts the poller on first use; nil after shutdown or if the
// system refuses one (polls then wait on net/http's goroutine).
func (s *bareSet) getPoller() *httpx.Poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.perr != nil {
		return nil
	}
	if s.poller == nil {
		s.poller, s.perr = httpx.NewPoller(httpx.PollerOptions{})
	}
	return s.poller
}

func (s *bareSet) add(bc *bareConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = map[*bareConn]struct{}{}
	}
	s.conns[bc] = struct{}{}
	return true
}

func (s *bareSet) remove(bc *bareConn) {
	s.mu.Lock()
	delete(s.conns, bc)
	s.mu.Unlock()
}

// park moves a poll that arrived through an httpx.HandbackListener onto its
// bare connection. It returns false, having done nothing, when the poll
// must stay on net/http's goroutine: parking is off, several categories,
// not plain HTTP/1.1 keep-alive (TLS, HTTP/2, HTTP/1.0, Connection: close),
// or a hook or middleware set headers that only the ResponseWriter would
// write.
func (b *Broker) park(w http.ResponseWriter, r *http.Request, p *poll) bool {
	if !b.bareOK || len(p.cats) != 1 || r.ProtoMinor != 1 || r.Close || len(w.Header()) != 5 {
		return false
	}
	hl := httpx.HandbackFor(r)
	if hl == nil {
		return false
	}
	poller := b.bare.getPoller()
	if poller == nil {
		return false
	}
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	conn, rest := httpx.UnwrapConn(c)
	rc, ok := rawConnOf(conn)
	if !ok { // HandbackFor vouched for a socket; be safe anyway
		p.finish()
		_ = conn.Close()
		return true
	}
	bc := &bareConn{b: b, conn: conn, io: newSockIO(rc), hl: hl, route: routeOf(r)}
	if n := brw.Reader.Buffered(); n > 0 {
		buf, _ := brw.Reader.Peek(n)
		bc.pending = append(bc.pending, buf...)
	}
	bc.pending = append(bc.pending, rest...)
	_ = conn.SetDeadline(time.Time{}) // net/http's header and write deadlines
	if !b.bare.add(bc) {
		// Shut down meanwhile: answer as shutdown does, then close.
		bc.mu.Lock()
		bc.p = p
		bc.answerLocked(p)
		bc.mu.Unlock()
		return true
	}
	bc.runPoll(p)
	return true
}

// setStateLocked keeps the parked/idle counts.
func (bc *bareConn) setStateLocked(s bareState) {
	switch bc.state {
	case bareParked:
		bc.b.bare.parked.Add(-1)
	case bareIdle:
		bc.b.bare.idle.Add(-1)
	}
	switch s {
	case bareParked:
		bc.b.bare.parked.Add(1)
	case bareIdle:
		bc.b.bare.idle.Add(1)
	}
	bc.state = s
}

// runPoll reads p's category and answers at once, or registers p and
// parks. State busy, bc.mu not held.
func (bc *bareConn) runPoll(p *poll) {
	b := bc.b
	p.w.bare = bc
	c := p.cats[0]
	bc.mu.Lock()
	defer bc.mu.Unlock()
	c.mu.Lock()
	evs, lost, err := b.read(context.Background(), c, &p.curs[0], b.opts.MaxEventsPerAnswer)
	p.lost = p.lost || lost
	if err == nil && len(evs) == 0 {
		bc.p = p // before it can be claimed: deliverAll reads it unlocked
		c.waiters[&p.w] = struct{}{}
		c.mu.Unlock()
		bc.setStateLocked(bareParked)
		bc.setDeadlineLocked(time.Duration(p.q.Timeout) * time.Second)
		if len(bc.pending) == 0 {
			bc.watchLocked()
		}
		if b.stopped() && bc.claimLocked() {
			bc.answerLocked(p) // shutdown ran before this poll registered
		}
		return
	}
	for j := range evs {
		p.out = append(p.out, pollOut{int64(evs[j].ID.Ms), c.encoded(&evs[j], &b.encodes)})
	}
	c.mu.Unlock()
	var resp []byte
	if err != nil {
		status, body := p.failAnswer(err)
		resp = renderResponse(status, body, time.Now())
	} else {
		resp = renderResponse(http.StatusOK, p.eventsBody(), time.Now())
	}
	p.finish()
	bc.writeLocked(resp)
}

// claimLocked takes the parked poll out of its category; true means this
// caller answers it.
func (bc *bareConn) claimLocked() bool {
	p := bc.p
	if p == nil {
		return false
	}
	c := p.cats[0]
	c.mu.Lock()
	_, ok := c.waiters[&p.w]
	delete(c.waiters, &p.w)
	c.mu.Unlock()
	return ok
}

// answerLocked answers a claimed poll from the store (timeout, shutdown):
// the timeout's timestamp is taken before the last read, as in poll.run.
func (bc *bareConn) answerLocked(p *poll) {
	bc.p = nil
	ts := time.Now().UnixMilli() - 1
	var resp []byte
	if err := p.collect(context.Background(), false); err != nil {
		status, body := p.failAnswer(err)
		resp = renderResponse(status, body, time.Now())
	} else if len(p.out) > 0 {
		resp = renderResponse(http.StatusOK, p.eventsBody(), time.Now())
	} else {
		resp = renderResponse(http.StatusOK, p.timeoutBody(ts), time.Now())
	}
	p.finish()
	bc.writeLocked(resp)
}

// deliverAll answers the parked polls a publish claimed with its one
// event: first every write (the shared rendering, or the poll's own if it
// must say history_lost), then the bookkeeping, so that the last of many
// parked polls is answered as early as the first ones allow. A claimed
// poll's connection is written by its claimer alone: nothing else writes to
// or closes it until deliver has run.
func (b *Broker) deliverAll(claimed []*bareConn, enc []byte) {
	shared := renderResponse(http.StatusOK, answerEvents([][]byte{enc}, false), time.Now())
	type sent struct {
		resp []byte
		n    int
		err  error
	}
	res := make([]sent, len(claimed))
	for i, bc := range claimed {
		resp := shared
		// bc.p and its lost flag were set before the waiter was
		// registered, and the claim under the category's lock orders this
		// read after that; nobody changes them while the poll is claimed.
		if bc.p.lost {
			resp = renderResponse(http.StatusOK, answerEvents([][]byte{enc}, true), time.Now())
		}
		n, err := writeNow(bc.io, resp)
		res[i] = sent{resp, n, err}
	}
	for i, bc := range claimed {
		bc.delivered(res[i].resp, res[i].n, res[i].err)
	}
}

// delivered finishes a claimed poll whose answer deliverAll wrote n bytes
// of.
func (bc *bareConn) delivered(resp []byte, n int, err error) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	p := bc.p
	bc.p = nil
	bc.b.answers.Add(1)
	bc.b.delivered.Add(1)
	p.finish()
	bc.wroteLocked(resp, n, err)
}

// writeLocked writes an answer and moves to idle. What the socket does not
// take at once is written by a goroutine of its own, within
// bareWriteTimeout.
func (bc *bareConn) writeLocked(resp []byte) {
	n, err := writeNow(bc.io, resp)
	bc.wroteLocked(resp, n, err)
}

// wroteLocked goes on after writeNow wrote n bytes of resp.
func (bc *bareConn) wroteLocked(resp []byte, n int, err error) {
	if err != nil {
		bc.closeLocked()
		return
	}
	if n == len(resp) {
		bc.idleLocked()
		return
	}
	bc.setStateLocked(bareBusy)
	rest := resp[n:]
	s := &bc.b.bare
	s.mu.Lock()
	if s.closed { // shutting down: no new writer after shutdown's Wait
		s.mu.Unlock()
		bc.closeLocked()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		_ = bc.conn.SetWriteDeadline(time.Now().Add(bareWriteTimeout))
		_, err := bc.conn.Write(rest)
		_ = bc.conn.SetWriteDeadline(time.Time{})
		bc.mu.Lock()
		defer bc.mu.Unlock()
		if err != nil {
			bc.closeLocked()
			return
		}
		bc.idleLocked()
	}()
}

// idleLocked waits for the connection's next request.
func (bc *bareConn) idleLocked() {
	if bc.b.stopped() || bc.gone {
		bc.closeLocked()
		return
	}
	if len(bc.pending) > 0 {
		// A request pipelined behind the hijacked one: net/http's.
		bc.handbackLocked(bc.pending)
		return
	}
	bc.setStateLocked(bareIdle)
	bc.setDeadlineLocked(bc.b.opts.IdleTimeout)
	bc.watchLocked() // fires at once if the next request is already there
}

// setDeadlineLocked moves the connection's one deadline (poll timeout or
// idle timeout). The timer is reset only to fire earlier: a later deadline
// is left to onTimer, which re-arms for the rest, so that the common
// poll-answer-poll cycle costs no timer operation.
func (bc *bareConn) setDeadlineLocked(d time.Duration) {
	bc.deadline = time.Now().Add(d)
	switch {
	case bc.timer == nil:
		bc.timer = time.AfterFunc(d, bc.onTimer)
		bc.fireAt = bc.deadline
	case bc.fireAt.IsZero() || bc.deadline.Before(bc.fireAt):
		bc.timer.Reset(d)
		bc.fireAt = bc.deadline
	}
}

// watchLocked arms the readiness watch unless it is armed. The
// connection is registered with the poller once, so that re-arming it
// between requests allocates nothing (one epoll_ctl).
func (bc *bareConn) watchLocked() {
	if bc.armed {
		return
	}
	if bc.reg == nil {
		poller := bc.b.bare.getPoller()
		if poller == nil {
			bc.failLocked()
			return
		}
		reg, err := poller.Register(bc.conn, bc.onReadable)
		if err != nil {
			bc.failLocked()
			return
		}
		bc.reg = reg
	}
	if err := bc.reg.Arm(); err != nil {
		bc.failLocked()
		return
	}
	bc.armed = true
}

// failLocked ends a connection that cannot be watched (shutdown): a parked
// poll is answered first if this caller can claim it.
func (bc *bareConn) failLocked() {
	if bc.state == bareParked && bc.claimLocked() {
		p := bc.p
		bc.p = nil
		p.finish()
	}
	bc.closeLocked()
}

func (bc *bareConn) closeLocked() {
	if bc.state == bareClosed {
		return
	}
	bc.setStateLocked(bareClosed)
	bc.release()
	_ = bc.conn.Close()
}

// release drops the broker's hold (watch, timer, set membership).
func (bc *bareConn) release() {
	if bc.reg != nil {
		bc.reg.Close()
		bc.reg, bc.armed = nil, false
	}
	if bc.timer != nil {
		bc.timer.Stop()
	}
	bc.b.bare.remove(bc)
}

func (bc *bareConn) handbackLocked(data []byte) {
	bc.setStateLocked(bareClosed)
	bc.release()
	if err := bc.hl.Handback(bc.conn, data); err != nil {
		_ = bc.conn.Close()
	}
}

// onTimer is the poll's timeout or the idle timeout.
func (bc *bareConn) onTimer() {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.state == bareClosed {
		return
	}
	bc.fireAt = time.Time{} // not pending any more
	if now := time.Now(); now.Before(bc.deadline) {
		bc.fireAt = bc.deadline // moved later meanwhile: wait for the rest
		bc.timer.Reset(bc.deadline.Sub(now))
		return
	}
	switch bc.state {
	case bareParked:
		if bc.claimLocked() {
			bc.answerLocked(bc.p)
		}
	case bareIdle:
		bc.closeLocked()
	}
}

// onReadable runs when the watch fires: while parked, the client left (or
// pipelined a request, served after the answer); while idle, the next
// request.
func (bc *bareConn) onReadable() {
	bc.mu.Lock()
	bc.armed = false
	switch bc.state {
	case bareParked:
		err := peekNow(bc.io)
		switch {
		case err == errWouldBlock:
			bc.watchLocked()
		case err == nil:
			// Pipelined: left on the socket; idleLocked re-arms the watch
			// after the answer and it fires at once.
		case bc.claimLocked():
			p := bc.p
			bc.p = nil
			p.finish()
			bc.closeLocked()
		default:
			bc.gone = true // a claimed answer is on its way; close after it
		}
		bc.mu.Unlock()
	case bareIdle:
		bp := bc.b.bare.getBuf()
		n, err := readNow(bc.io, *bp)
		switch {
		case err == errWouldBlock:
			bc.watchLocked()
			bc.mu.Unlock()
		case err != nil:
			bc.closeLocked()
			bc.mu.Unlock()
		default:
			bc.setStateLocked(bareBusy)
			bc.mu.Unlock()
			bc.serve((*bp)[:n])
		}
		bc.b.bare.bufs.Put(bp)
	default:
		bc.mu.Unlock()
	}
}

func (s *bareSet) getBuf() *[]byte {
	if bp, ok := s.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, directBufSize)
	return &b
}

// serve handles the next request of an idle connection: a plain poll is
// served here, anything else goes back to net/http. State busy.
func (bc *bareConn) serve(data []byte) {
	b := bc.b
	var q rawQuery
	ok := len(data) < directBufSize && b.directOK && !b.stopped()
	if ok {
		if raw, fast := fastDirect(data, bc.hdrs, bc.route.path); fast {
			q = parseRawQuery(string(raw))
		} else {
			var req *http.Request
			if req, ok = b.bare.readers.parseDirect(data, bc.route); ok {
				q = parseRawQuery(req.URL.RawQuery)
				bc.hdrs = append(bc.hdrs[:0], headerBlock(data)...)
			}
		}
	}
	if !ok {
		bc.mu.Lock()
		bc.handbackLocked(append([]byte(nil), data...))
		bc.mu.Unlock()
		return
	}
	p, status, body := b.newPoll(q, true)
	if p == nil {
		bc.mu.Lock()
		bc.writeLocked(renderResponse(status, body, time.Now()))
		bc.mu.Unlock()
		return
	}
	if len(p.cats) != 1 {
		// Several categories wait on net/http's goroutine.
		p.finish()
		bc.mu.Lock()
		bc.handbackLocked(append([]byte(nil), data...))
		bc.mu.Unlock()
		return
	}
	bc.runPoll(p)
}

// shutdown answers every parked poll (as Shutdown does for the others),
// closes every held connection, and stops the poller. Connections that a
// publish or a request in progress holds are closed by it when it is done
// (it sees the broker stopped).
func (s *bareSet) shutdown() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*bareConn, 0, len(s.conns))
	for bc := range s.conns {
		conns = append(conns, bc)
	}
	poller := s.poller
	s.mu.Unlock()
	for _, bc := range conns {
		bc.mu.Lock()
		switch bc.state {
		case bareParked:
			if bc.claimLocked() {
				bc.answerLocked(bc.p) // then closed: the broker is stopped
			}
		case bareIdle:
			bc.closeLocked()
		}
		bc.mu.Unlock()
	}
	s.wg.Wait()
	if poller != nil {
		_ = poller.Close()
	}
}
