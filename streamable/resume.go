package streamable

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/sse"
)

// Store event types that mark the shape of a logged stream. They never
// reach the wire as event types.
const (
	primeType    = "prime" // the empty priming event
	lastType     = "last"  // the last response of a POST stream: the stream ends after it
	getStreamKey = "g"     // the session's GET stream
)

// writeMessage writes m as an unnamed event with the given id.
func writeMessage(w *sseWriter, m *Message, id string) error {
	b, err := encodeMessage(m)
	if err != nil {
		return err
	}
	return writeData(w, b, id)
}

func writeData(w *sseWriter, b []byte, id string) error {
	return w.write(&sse.Event{ID: id, Data: b})
}

// eventID is the SSE id of a logged event: the stream key, "_", the store ID.
func eventID(key string, id eventstore.ID) string {
	return key + "_" + id.String()
}

// parseEventID splits a Last-Event-ID into its stream key and store ID.
func parseEventID(s string) (string, eventstore.ID, bool) {
	key, rest, ok := strings.Cut(s, "_")
	if !ok || !validKey(key) {
		return "", eventstore.ID{}, false
	}
	id, err := eventstore.ParseID(rest)
	if err != nil || id.IsZero() {
		return "", eventstore.ID{}, false
	}
	return key, id, true
}

func validKey(k string) bool {
	if k == getStreamKey {
		return true
	}
	if len(k) < 2 || len(k) > 21 || k[0] != 'p' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	return true
}

func (s *Server) writePrime(w *sseWriter, key string, id eventstore.ID) error {
	return w.write(&sse.Event{ID: eventID(key, id), Data: []byte{}, Retry: s.opts.Retry})
}

// follow writes the logged stream name from after on until its last
// event, ctx ends, or a write or the store fails.
func (s *Server) follow(ctx context.Context, w *sseWriter, name, key string, after eventstore.ID) {
	if s.opts.Fanout != nil && s.followHub(ctx, w, name, key, after) {
		return
	}
	for ev, err := range s.opts.Store.Follow(ctx, name, after) {
		if err != nil {
			s.logWrite(err)
			return
		}
		if ev.Type == primeType {
			if err := w.write(&sse.Event{ID: eventID(key, ev.ID), Data: []byte{}}); err != nil {
				return
			}
			continue
		}
		if err := writeData(w, ev.Data, eventID(key, ev.ID)); err != nil {
			s.logWrite(err)
			return
		}
		if ev.Type == lastType {
			return
		}
	}
}

// serveResumable answers requests whose messages are logged: the handler
// runs on a goroutine owned by the session (a disconnect does not cancel
// it), and this connection follows the log until the last response.
func (s *Server) serveResumable(w http.ResponseWriter, r *http.Request, ss *Session, version string, reqs []*Message) {
	st := s.opts.Store
	key, evict := ss.newStreamKey()
	if evict != "" {
		_ = st.Delete(r.Context(), ss.storeName(evict))
	}
	name := ss.storeName(key)
	var after eventstore.ID
	prime := false
	if Primes(version) {
		e, err := st.Append(r.Context(), name, primeType, nil)
		if err != nil {
			s.reject(w, r, http.StatusServiceUnavailable, CodeInternalError, "store: "+err.Error())
			return
		}
		after, prime = e.ID, true
	}
	// ctx is this connection's: the client leaving, the session ending or
	// the handler calling CloseStream ends it, never the handler.
	ctx, cancel := mergeCancel(r.Context(), ss.ctx)
	defer cancel()
	out := &storeOut{store: st, name: name, cancel: cancel}
	httpReq := r
	started := ss.goDetached(func(ctx context.Context) {
		for i, m := range reqs {
			resp := s.call(ctx, &Request{Message: m, Session: ss, HTTP: httpReq, Version: version, out: out})
			b, err := encodeMessage(resp)
			if err != nil {
				continue
			}
			typ := ""
			if i == len(reqs)-1 {
				typ = lastType
			}
			if _, err := st.Append(ctx, name, typ, b); err != nil {
				s.logWrite(err)
				return
			}
		}
	})
	if !started {
		s.reject(w, r, http.StatusNotFound, CodeInvalidRequest, "session not found")
		return
	}
	sw := startSSE(w, nil, s.streamO.keepAlive(), s.streamO.writeTimeout())
	defer sw.close()
	if prime {
		if err := s.writePrime(sw, key, after); err != nil {
			return
		}
	}
	s.follow(ctx, sw, name, key, after)
}

// resumeStream answers GET with Last-Event-ID: it replays one stream of
// this session after that ID and follows it. A malformed ID, an ID of
// another session's or an unknown stream, and an ID whose successors were
// evicted are all 400: never a partial or foreign replay.
func (s *Server) resumeStream(w http.ResponseWriter, r *http.Request, ss *Session, version, last string) {
	st := s.opts.Store
	if st == nil {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "streams are not resumable on this endpoint")
		return
	}
	key, id, ok := parseEventID(last)
	if !ok {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "malformed Last-Event-ID")
		return
	}
	name := ss.storeName(key)
	if _, err := st.ReadAfter(r.Context(), name, id, 1); err != nil {
		if errors.Is(err, eventstore.ErrGap) {
			s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "Last-Event-ID is unknown or its events were evicted")
			return
		}
		s.reject(w, r, http.StatusServiceUnavailable, CodeInternalError, "store: "+err.Error())
		return
	}
	if key == getStreamKey {
		if !ss.claimGET() {
			s.reject(w, r, http.StatusConflict, CodeInvalidRequest, "the session already has a GET stream")
			return
		}
		defer ss.unclaimGET()
	}
	ctx, cancel := mergeCancel(r.Context(), ss.ctx)
	defer cancel()
	sw := startSSE(w, nil, s.streamO.keepAlive(), s.streamO.writeTimeout())
	defer sw.close()
	if Primes(version) {
		if err := sw.writeRaw(sse.AppendRetry(nil, s.opts.Retry)); err != nil {
			return
		}
	}
	s.follow(ctx, sw, name, key, id)
}
