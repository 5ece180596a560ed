package longpoll

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// cursor is where a poll resumes in one category.
type cursor struct {
	after   eventstore.ID // with byID: events after this ID
	byID    bool
	sinceMs int64 // otherwise: events at or after this millisecond
	// onlyNew: skip whatever the category holds at the first read (no
	// since_time: "only new events").
	onlyNew bool
}

// cursorFor maps golongpoll's since_time/last_id to a position in one
// category:
//
//   - last_id of this category at or after since_time: after that event;
//   - otherwise, with some last_id given: events at or after since_time
//     (golongpoll: ts > since, or ts == since and id != last_id);
//   - since_time alone: events after since_time (ts > since);
//   - neither: only new events (at or after now).
func cursorFor(q *subscribeQuery, hash uint64, nowMs int64) cursor {
	if !q.HasSince {
		return cursor{sinceMs: nowMs, onlyNew: true}
	}
	for i := len(q.LastIDs) - 1; i >= 0; i-- {
		w := q.LastIDs[i]
		if w.Hash == hash && w.ID.Ms <= math.MaxInt64 && int64(w.ID.Ms) >= q.Since {
			return cursor{after: w.ID, byID: true}
		}
	}
	if q.HasLastID {
		return cursor{sinceMs: q.Since}
	}
	if q.Since == math.MaxInt64 {
		return cursor{sinceMs: q.Since}
	}
	return cursor{sinceMs: q.Since + 1}
}

// read returns up to limit encoded events after cur and moves cur past
// them. A cursor the store cannot resume from (evicted history) reads from
// the oldest event held and reports lost. Call with c.mu held.
func (b *Broker) read(ctx context.Context, c *category, cur *cursor, limit int) (evs []eventstore.Event, lost bool, err error) {
	if cur.onlyNew {
		// Position after the newest event now held: appends happen under
		// c.mu, so nothing falls between this read and the registration
		// that follows it. Events of this millisecond are all read to find
		// the newest; there are few (a store may bound what one read
		// returns, so the limit is large but finite).
		evs, err = b.store.ReadSince(ctx, c.name, time.UnixMilli(max(cur.sinceMs, 0)), 1<<16)
		if err != nil && !errors.Is(err, eventstore.ErrGap) {
			return nil, false, err
		}
		*cur = cursor{sinceMs: cur.sinceMs}
		if len(evs) > 0 {
			*cur = cursor{after: evs[len(evs)-1].ID, byID: true}
		}
		return nil, false, nil
	}
	if cur.byID {
		evs, err = b.store.ReadAfter(ctx, c.name, cur.after, limit)
	} else {
		evs, err = b.store.ReadSince(ctx, c.name, time.UnixMilli(max(cur.sinceMs, 0)), limit)
	}
	if err != nil && isGapError(err) {
		// A stream that holds nothing and a cursor that is merely unknown
		// (another process's memory, a category never published here)
		// is still reported: the client cannot have everything.
		lost = !b.opts.DeleteAfterRead
		*cur = cursor{byID: true}
		evs, err = b.store.ReadAfter(ctx, c.name, eventstore.ID{}, limit)
	}
	if err != nil {
		return nil, lost, err
	}
	if len(evs) > 0 {
		*cur = cursor{after: evs[len(evs)-1].ID, byID: true}
		if b.opts.DeleteAfterRead {
			if _, err := b.store.Trim(ctx, c.name, evs[len(evs)-1].ID.Next()); err != nil {
				b.logf("longpoll: trim after read failed", "category", c.name, "err", err)
			}
		}
	}
	return evs, lost, nil
}

func (b *Broker) logf(msg string, args ...any) {
	if b.opts.Logger != nil {
		b.opts.Logger.Warn(msg, args...)
	}
}

func setPollHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "0")
}

type pollOut struct {
	ms  int64
	enc []byte
}

// poll is one subscription request in progress.
type poll struct {
	b     *Broker
	q     subscribeQuery
	cats  []*category // locked one at a time, never two at once
	curs  []cursor
	w     waiter
	timer *time.Timer
	lost  bool
	out   []pollOut
	// Room for the common one category, in the poll's own allocation.
	cat1 [1]*category
	cur1 [1]cursor
}

// collect reads every category after its cursor; with register it then
// leaves the waiter registered, otherwise it removes it. Each category is
// read and (de)registered under its lock, so no publish falls between.
func (p *poll) collect(ctx context.Context, register bool) error {
	limit := p.b.opts.MaxEventsPerAnswer
	multi := len(p.cats) > 1
	for i, c := range p.cats {
		n := limit - len(p.out)
		if multi && !p.b.opts.DeleteAfterRead {
			n = limit // merged and cut below
		}
		c.mu.Lock()
		if register {
			c.waiters[&p.w] = struct{}{}
		} else {
			delete(c.waiters, &p.w)
		}
		var err error
		if n > 0 {
			var evs []eventstore.Event
			var lost bool
			evs, lost, err = p.b.read(ctx, c, &p.curs[i], n)
			p.lost = p.lost || lost
			for j := range evs {
				p.out = append(p.out, pollOut{int64(evs[j].ID.Ms), c.encoded(&evs[j], &p.b.encodes)})
			}
		}
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// cut merges several categories' events by time and cuts the answer to the
// cap without splitting a millisecond: the next poll's since_time is the
// last event's time, and events of that millisecond in a category without
// a last_id would be skipped.
func (p *poll) cut() {
	if len(p.cats) == 1 || p.b.opts.DeleteAfterRead {
		return
	}
	slices.SortStableFunc(p.out, func(a, b pollOut) int {
		switch {
		case a.ms < b.ms:
			return -1
		case a.ms > b.ms:
			return 1
		}
		return 0
	})
	limit := p.b.opts.MaxEventsPerAnswer
	if len(p.out) <= limit {
		return
	}
	last := p.out[limit-1].ms
	n := limit
	for n > 0 && p.out[n-1].ms == last {
		n--
	}
	if n == 0 {
		n = limit // more than the cap in one millisecond: the cap wins
	}
	p.out = p.out[:n]
}

// serveSubscribe keeps its own frame and that of run small: a waiting poll
// parks on this goroutine's stack, and net/http's frames plus ours must stay
// within the goroutine's initial stack for it not to double (memory per
// waiting poll). The work with deep or large frames is in helpers that have
// returned before the poll parks.
func (b *Broker) serveSubscribe(w http.ResponseWriter, r *http.Request) {
	if b.opts.BeforeSubscribe != nil && !b.opts.BeforeSubscribe(w, r) {
		return
	}
	p := b.startPoll(w, r)
	if p == nil {
		return
	}
	if b.park(w, r, p) {
		return // answered or parked on the bare connection
	}
	p.timer = time.NewTimer(time.Duration(p.q.Timeout) * time.Second)
	p.run(w, r.Context())
	p.finish()
}

// startPoll validates the request and registers the poll's categories; it
// answers and returns nil when the poll cannot start.
//
//go:noinline
func (b *Broker) startPoll(w http.ResponseWriter, r *http.Request) *poll {
	setPollHeaders(w.Header())
	p, status, body := b.newPoll(queryOf(r.URL.Query()), false)
	if p == nil {
		if status != http.StatusOK {
			w.WriteHeader(status)
		}
		_, _ = w.Write(body)
		return nil
	}
	return p
}

// newPoll validates a query and takes the poll's hold on its categories
// (an entered handler, a waiting slot); it returns the error answer's status
// and body when the poll cannot start. bare polls (parked on a hijacked
// connection) get no channel: they are woken by claiming (parked.go).
func (b *Broker) newPoll(query rawQuery, bare bool) (*poll, int, []byte) {
	p := &poll{b: b}
	q := &p.q
	if bad := parseSubscribe(&query, b.opts.MaxTimeoutSeconds, b.opts.MaxCategoriesPerRequest, q); bad != "" {
		return nil, http.StatusOK, answerError(bad)
	}
	if !b.enter() {
		return nil, http.StatusServiceUnavailable, answerError(ErrStopped.Error())
	}
	p.cats, p.curs = p.cat1[:0], p.cur1[:0]
	if !bare {
		p.w.ch = make(chan struct{}, 1)
	}
	nowMs := time.Now().UnixMilli()
	for _, name := range q.Categories {
		c, err := b.lockCategory(name)
		if err != nil {
			p.release()
			b.leave()
			return nil, http.StatusServiceUnavailable, answerError(err.Error())
		}
		c.busy++ // held until release
		c.mu.Unlock()
		p.cats = append(p.cats, c)
		p.curs = append(p.curs, cursorFor(q, c.hash, nowMs))
	}
	if b.waiting.Add(1) > int64(b.opts.MaxWaiting) {
		b.waiting.Add(-1)
		p.release()
		b.leave()
		return nil, http.StatusServiceUnavailable, answerError(ErrTooManyWaiting.Error())
	}
	return p, 0, nil
}

// finish undoes startPoll.
//
//go:noinline
func (p *poll) finish() {
	if p.timer != nil {
		p.timer.Stop()
	}
	p.b.waiting.Add(-1)
	p.release()
	p.b.leave()
}

// run waits for events, the timeout, shutdown or the client's departure,
// and answers.
func (p *poll) run(w http.ResponseWriter, ctx context.Context) {
	for {
		if !p.gather(w, ctx, true) {
			return
		}
		if len(p.out) > 0 {
			break
		}
		var done, expired bool
		select {
		case <-p.w.ch:
		case <-p.timer.C:
			expired = true
		case <-p.b.stop:
			expired = true
		case <-ctx.Done():
			done = true
		}
		// The timeout's timestamp is taken before the last read: every
		// event appended after it has a later millisecond, and every event
		// appended before it is found by the read below. So a client that
		// moves since_time to this timestamp skips nothing (golongpoll can
		// answer "timeout" with a timestamp past an event it never sent).
		ts := time.Now().UnixMilli() - 1
		if !p.gather(w, ctx, false) {
			return
		}
		if len(p.out) > 0 {
			break
		}
		if done {
			return
		}
		if expired {
			p.answerTimeout(w, ts)
			return
		}
		// Woken, but another poll took the events (DeleteAfterRead): wait on.
	}
	p.answer(w)
}

// gather is collect with the failure answered; false means stop.
//
//go:noinline
func (p *poll) gather(w http.ResponseWriter, ctx context.Context, register bool) bool {
	if err := p.collect(ctx, register); err != nil {
		p.fail(w, err)
		return false
	}
	return true
}

//go:noinline
func (p *poll) answerTimeout(w http.ResponseWriter, ts int64) {
	_, _ = w.Write(p.timeoutBody(ts))
}

// timeoutBody is the timeout answer, counted.
func (p *poll) timeoutBody(ts int64) []byte {
	if p.q.HasSince {
		ts = max(ts, p.q.Since)
	}
	p.b.timeouts.Add(1)
	return answerTimeout(ts, p.lost)
}

//go:noinline
func (p *poll) answer(w http.ResponseWriter) {
	for _, c := range p.cats {
		c.mu.Lock()
		delete(c.waiters, &p.w)
		c.mu.Unlock()
	}
	_, _ = w.Write(p.eventsBody())
}

// eventsBody is the answer with the collected events (cut to the cap),
// counted.
func (p *poll) eventsBody() []byte {
	p.cut()
	encs := make([][]byte, len(p.out))
	for i := range p.out {
		encs[i] = p.out[i].enc
	}
	p.b.answers.Add(1)
	p.b.delivered.Add(uint64(len(encs)))
	return answerEvents(encs, p.lost)
}

// release gives up the poll's hold on its categories.
func (p *poll) release() {
	for _, c := range p.cats {
		c.mu.Lock()
		delete(c.waiters, &p.w)
		c.busy--
		c.mu.Unlock()
		p.b.release(c)
	}
	p.cats, p.cat1[0] = nil, nil
}

func (p *poll) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if !p.b.stopped() {
			return
		}
	}
	status, body := p.failAnswer(err)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// failAnswer is the answer to a poll whose store read failed.
func (p *poll) failAnswer(err error) (int, []byte) {
	if p.b.stopped() || errors.Is(err, eventstore.ErrClosed) {
		return http.StatusServiceUnavailable, answerError(ErrStopped.Error())
	}
	p.b.logf("longpoll: store read failed", "err", err)
	return http.StatusInternalServerError, answerError("longpoll: store unavailable")
}

// isGapError says whether err is the store's *eventstore.GapError. It is a
// function so that the error's address is taken (and allocated) only when
// there is an error.
func isGapError(err error) bool {
	var ge *eventstore.GapError
	return errors.As(err, &ge)
}
