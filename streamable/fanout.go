package streamable

import (
	"context"
	"errors"
	"sync"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/sse"
)

// followQueue bounds the events a stream holds for a slow connection when
// following through Options.Fanout; past it the connection's stream ends
// and the client resumes with Last-Event-ID.
const followQueue = 1024

type followItem struct {
	ev  eventstore.Event
	err error
}

// followHub is follow through ServerOptions.Fanout: the connection shares
// the hub's one follower of name (with a Redis store, one blocking read per
// process for every stream) instead of a Follow of its own. ok is false
// when the hub could not take the stream (ErrTooManyStreams): follow then
// uses the store directly.
func (s *Server) followHub(ctx context.Context, w *sseWriter, name, key string, after eventstore.ID) (ok bool) {
	ch := make(chan followItem, followQueue)
	overflow := make(chan struct{})
	var once sync.Once
	stop, err := s.opts.Fanout.Subscribe(name, after, func(ev eventstore.Event, err error) {
		if err != nil && errors.Is(err, eventstore.ErrUnavailable) {
			return // the hub resumes without loss when the store is back
		}
		select {
		case ch <- followItem{ev, err}:
		default:
			once.Do(func() { close(overflow) })
		}
	})
	if err != nil {
		return false
	}
	defer stop()
	for {
		var it followItem
		select {
		case <-ctx.Done():
			return true
		case <-overflow:
			return true
		case it = <-ch:
		}
		if it.err != nil {
			s.logWrite(it.err)
			return true
		}
		ev := it.ev
		if ev.Type == primeType {
			if err := w.write(&sse.Event{ID: eventID(key, ev.ID), Data: []byte{}}); err != nil {
				return true
			}
			continue
		}
		if err := writeData(w, ev.Data, eventID(key, ev.ID)); err != nil {
			s.logWrite(err)
			return true
		}
		if ev.Type == lastType {
			return true
		}
	}
}
