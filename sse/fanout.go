package sse

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// followed is the server's one fan-out subscription to a topic, shared by
// every connection of that topic.
type followed struct {
	n     int
	stop  func()
	ended atomic.Bool // the hub ended it (a gap): subscribe again
}

// follows is the state of Options.Fanout.
type follows struct {
	mu sync.Mutex
	m  map[string]*followed
}

// acquire makes sure the server follows every topic (one hub subscription
// per topic, counted); it is undone by release.
func (s *Server) acquire(topics []string) error {
	if s.opts.Fanout == nil {
		return nil
	}
	s.fol.mu.Lock()
	defer s.fol.mu.Unlock()
	if s.fol.m == nil {
		s.fol.m = map[string]*followed{}
	}
	for i, t := range topics {
		f := s.fol.m[t]
		if f != nil && f.ended.Load() {
			f.stop()
			f.stop = nil
		}
		if f == nil || f.stop == nil {
			nf := &followed{n: 0}
			if f != nil {
				nf.n = f.n
			}
			stop, err := s.opts.Fanout.Subscribe(t, eventstore.Tail, s.deliverFunc(t, nf))
			if err != nil {
				s.releaseLocked(topics[:i])
				return err
			}
			nf.stop = stop
			s.fol.m[t] = nf
			f = nf
		}
		f.n++
	}
	return nil
}

func (s *Server) release(topics []string) {
	if s.opts.Fanout == nil {
		return
	}
	s.fol.mu.Lock()
	defer s.fol.mu.Unlock()
	s.releaseLocked(topics)
}

func (s *Server) releaseLocked(topics []string) {
	for _, t := range topics {
		f := s.fol.m[t]
		if f == nil {
			continue
		}
		if f.n--; f.n <= 0 {
			delete(s.fol.m, t)
			if f.stop != nil {
				f.stop()
			}
		}
	}
}

// deliverFunc returns the hub callback of topic: it encodes each event once
// and queues it to the topic's connections.
func (s *Server) deliverFunc(topic string, f *followed) func(eventstore.Event, error) {
	return func(ev eventstore.Event, err error) {
		if err != nil {
			if errors.Is(err, eventstore.ErrUnavailable) {
				// Policy: streams stay open; the hub resumes from the
				// last delivered ID when the store is back.
				s.debug("sse: store unavailable; streams wait", "topic", topic, "err", err)
				return
			}
			// The hub could not resume (a gap): end the topic's streams
			// with the retry hint; clients reconnect and replay from
			// Last-Event-ID, which reports the gap as a reset.
			f.ended.Store(true)
			s.debug("sse: fan-out ended; closing the topic's streams", "topic", topic, "err", err)
			final := AppendRetry(nil, s.opts.ShutdownRetry)
			s.mu.RLock()
			conns := make([]*Conn, 0, len(s.topics[topic]))
			for c := range s.topics[topic] {
				conns = append(conns, c)
			}
			s.mu.RUnlock()
			for _, c := range conns {
				c.closeWith(final)
			}
			return
		}
		e := Event{ID: ev.ID.String(), Type: ev.Type, Data: ev.Data}
		b, err := e.AppendTo(make([]byte, 0, e.Size()+eventstore.MaxIDLen))
		if err != nil {
			s.debug("sse: fan-out event not encodable", "topic", topic, "err", err)
			return
		}
		s.fanout(topic, frame{b: b, topic: topic, id: ev.ID})
	}
}

// refuseUnavailable answers a request the fan-out cannot serve now.
func refuseUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "sse: event store unavailable", http.StatusServiceUnavailable)
}
