package streamable

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/streamkit-dev/streamkit/httpx"
)

// Session is one MCP session of a stateful server: minted after a
// successful session start, named by the Mcp-Session-Id header, ended by
// DELETE, by its idle TTL or by Server.Close. Its methods are safe for
// concurrent use.
type Session struct {
	srv       *Server
	id        string
	version   string
	principal string
	ctx       context.Context
	cancel    context.CancelCauseFunc
	wg        sync.WaitGroup // detached (resumable) handlers

	mu       sync.Mutex
	ended    bool
	busy     int // requests and streams in progress
	lastUsed time.Time
	timer    *time.Timer
	getOpen  bool
	getW     *sseWriter
	streams  []string // keys of this session's POST streams in the store
	nextKey  uint64
}

// ID is the session ID sent in Mcp-Session-Id.
func (ss *Session) ID() string { return ss.id }

// Version is the protocol revision negotiated by the session start ("" if
// the answer named none the policy accepts).
func (ss *Session) Version() string { return ss.version }

// Principal is the principal the session is bound to ("" if none).
func (ss *Session) Principal() string { return ss.principal }

// Context is cancelled when the session ends; its cause says why
// (ErrSessionClosed, ErrServerClosed).
func (ss *Session) Context() context.Context { return ss.ctx }

// Notify sends a notification on the session's GET stream. With a store it
// is logged (and delivered to the GET stream when one is open, or replayed
// to one that resumes); without one it fails with ErrNoStream when no GET
// stream is open.
func (ss *Session) Notify(ctx context.Context, method string, params any) error {
	m, err := NewNotification(method, params)
	if err != nil {
		return err
	}
	return ss.Send(ctx, m)
}

// Send sends msg on the session's GET stream; see Notify.
func (ss *Session) Send(ctx context.Context, msg *Message) error {
	if err := context.Cause(ss.ctx); ss.ctx.Err() != nil {
		return err
	}
	b, err := encodeMessage(msg)
	if err != nil {
		return err
	}
	if st := ss.srv.opts.Store; st != nil {
		_, err := st.Append(ctx, ss.storeName(getStreamKey), "", b)
		return err
	}
	ss.mu.Lock()
	w := ss.getW
	ss.mu.Unlock()
	if w == nil {
		return ErrNoStream
	}
	return writeData(w, b, "")
}

func (ss *Session) storeName(key string) string { return ss.id + "/" + key }

// newStreamKey names a new POST stream and keeps at most
// maxStreamsPerSession of them; it returns the key of one to delete.
func (ss *Session) newStreamKey() (key, evict string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.nextKey++
	key = "p" + strconv.FormatUint(ss.nextKey, 10)
	ss.streams = append(ss.streams, key)
	if len(ss.streams) > maxStreamsPerSession {
		evict = ss.streams[0]
		ss.streams = ss.streams[1:]
	}
	return key, evict
}

func (ss *Session) claimGET() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.getOpen {
		return false
	}
	ss.getOpen = true
	return true
}

func (ss *Session) unclaimGET() {
	ss.mu.Lock()
	ss.getOpen = false
	ss.mu.Unlock()
}

func (ss *Session) attachGET(w *sseWriter) {
	ss.mu.Lock()
	ss.getW = w
	ss.mu.Unlock()
}

func (ss *Session) detachGET(w *sseWriter) {
	ss.mu.Lock()
	if ss.getW == w {
		ss.getW = nil
	}
	ss.mu.Unlock()
}

// acquire marks the session busy (it cannot expire); false if it ended.
func (ss *Session) acquire() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return false
	}
	ss.busy++
	return true
}

func (ss *Session) release() {
	ss.mu.Lock()
	ss.busy--
	ss.lastUsed = time.Now()
	ss.mu.Unlock()
}

// goDetached runs f on a goroutine owned by the session (Close and
// endSession wait for it), keeping the session busy meanwhile. It returns
// false if the session already ended.
func (ss *Session) goDetached(f func(ctx context.Context)) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return false
	}
	ss.busy++
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		defer ss.release()
		f(ss.ctx)
	}()
	return true
}

// onTimer ends the session when it has been idle for the TTL.
func (ss *Session) onTimer() {
	ttl := ss.srv.opts.SessionTTL
	ss.mu.Lock()
	if ss.ended {
		ss.mu.Unlock()
		return
	}
	if ss.busy > 0 {
		ss.timer.Reset(ttl)
		ss.mu.Unlock()
		return
	}
	if idle := time.Since(ss.lastUsed); idle < ttl {
		ss.timer.Reset(ttl - idle)
		ss.mu.Unlock()
		return
	}
	ss.mu.Unlock()
	ss.srv.endSession(ss, ErrSessionClosed)
}

// lookupSession finds the request's session and marks it busy; on failure
// it returns the status to answer: 400 without the header, 404 for an
// unknown or ended session, 403 for another principal.
func (s *Server) lookupSession(r *http.Request) (*Session, int, string) {
	id := r.Header.Get(HeaderSessionID)
	if id == "" {
		return nil, http.StatusBadRequest, "missing " + HeaderSessionID
	}
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	if ss == nil {
		return nil, http.StatusNotFound, "session not found"
	}
	if s.opts.Principal != nil && s.opts.Principal(r) != ss.principal {
		return nil, http.StatusForbidden, "session belongs to another principal"
	}
	if !ss.acquire() {
		return nil, http.StatusNotFound, "session not found"
	}
	return ss, 0, ""
}

var errTooManySessions = errors.New("streamable: too many sessions")

// newSession mints a session for a successful session start; the session
// is returned busy (the caller releases it).
func (s *Server) newSession(r *http.Request, resp *Message) (*Session, error) {
	ss := &Session{srv: s, id: httpx.NewSessionID(), busy: 1, lastUsed: time.Now()}
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if json.Unmarshal(resp.Result, &res) == nil && s.opts.Versions.Supports(res.ProtocolVersion) {
		ss.version = res.ProtocolVersion
	}
	if s.opts.Principal != nil {
		ss.principal = s.opts.Principal(r)
	}
	ss.ctx, ss.cancel = context.WithCancelCause(s.ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ss.cancel(ErrServerClosed)
		return nil, ErrServerClosed
	}
	if len(s.sessions) >= s.opts.MaxSessions {
		ss.cancel(errTooManySessions)
		return nil, errTooManySessions
	}
	s.sessions[ss.id] = ss
	ss.timer = time.AfterFunc(s.opts.SessionTTL, ss.onTimer)
	return ss, nil
}

// endSession removes ss, cancels its context, and (on a goroutine owned by
// the server) waits for its handlers, deletes its store streams and calls
// OnSessionClosed. Only the first call for a session does anything.
func (s *Server) endSession(ss *Session, cause error) {
	s.mu.Lock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
	}
	s.mu.Unlock()
	ss.mu.Lock()
	if ss.ended {
		ss.mu.Unlock()
		return
	}
	ss.ended = true
	if ss.timer != nil {
		ss.timer.Stop()
	}
	keys := append(append([]string(nil), ss.streams...), getStreamKey)
	ss.mu.Unlock()
	ss.cancel(cause)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ss.wg.Wait()
		if st := s.opts.Store; st != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for _, k := range keys {
				_ = st.Delete(ctx, ss.storeName(k)) // an unknown stream is not an error worth reporting
			}
			cancel()
		}
		if s.opts.OnSessionClosed != nil {
			s.opts.OnSessionClosed(ss)
		}
	}()
}
