package streamable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/httpx"
)

// Header names of the MCP Streamable HTTP transport.
const (
	HeaderSessionID       = "Mcp-Session-Id"
	HeaderProtocolVersion = "Mcp-Protocol-Version"
	HeaderLastEventID     = "Last-Event-ID"
	// HeaderMethod (2026-07-28) repeats the JSON-RPC method; a value that
	// differs from the body's is 400 with CodeHeaderMismatch.
	HeaderMethod = "Mcp-Method"
)

// CodeHeaderMismatch is the JSON-RPC error code (2026-07-28) for an HTTP
// header that contradicts the message body.
const CodeHeaderMismatch = -32020

// Server defaults.
const (
	DefaultMaxBodyBytes = 4 << 20
	DefaultSessionTTL   = 30 * time.Minute
	DefaultMaxSessions  = 10_000
	DefaultRetry        = time.Second
	// maxStreamsPerSession bounds how many POST streams of one session stay
	// resumable; the oldest is deleted from the store past it.
	maxStreamsPerSession = 256
)

// Server errors (errors.Is).
var (
	// ErrNoStream: Notify on a request answered with JSON, or on a session
	// without a connected GET stream and no store.
	ErrNoStream = errors.New("streamable: no stream to send on")
	// ErrSessionClosed: the session ended (DELETE, idle TTL, server close).
	ErrSessionClosed = errors.New("streamable: session closed")
	// ErrServerClosed: the server was closed.
	ErrServerClosed = errors.New("streamable: server closed")
)

// ResponseMode says how a POST carrying requests is answered.
type ResponseMode uint8

const (
	// ResponseSSE answers with an event stream: notifications the handler
	// sends, then the response (the default).
	ResponseSSE ResponseMode = iota
	// ResponseJSON answers with one JSON body; Request.Notify returns
	// ErrNoStream.
	ResponseJSON
)

// HandleFunc answers one JSON-RPC request. It returns the result (a
// json.RawMessage or anything encoding/json encodes; nil means {}) or an
// error: a *Error is sent as is, any other error as -32603 with its text.
// ctx is cancelled when the session ends or the server closes; when the
// client disconnects, only under 2026-07-28, for requests without a
// session, or with ServerOptions.CancelOnDisconnect (before 2026-07-28 a
// disconnect is not a cancellation: clients send notifications/cancelled).
type HandleFunc func(ctx context.Context, req *Request) (any, error)

// ServerOptions configure a Server. Handle is required.
type ServerOptions struct {
	// Handle answers requests. The module knows no MCP methods: the
	// application's dispatcher lives here.
	Handle HandleFunc
	// OnMessage, if set, receives the notifications and responses clients
	// POST (answered 202). s is nil in stateless mode.
	OnMessage func(ctx context.Context, s *Session, msg *Message)
	// IsSessionStart reports whether msg starts a session; a session is
	// minted only after Handle answers it without an error. nil means
	// method == "initialize".
	IsSessionStart func(msg *Message) bool
	// OnSessionClosed, if set, is called once per session when it ends, for
	// any reason, after its handlers returned.
	OnSessionClosed func(s *Session)

	// Versions decides which MCP-Protocol-Version values are accepted.
	Versions VersionPolicy
	// Stateless mints no sessions and offers no GET stream or DELETE, for
	// every revision (2026-07-28 requests are always stateless).
	Stateless bool
	// Response is ResponseSSE (default) or ResponseJSON.
	Response ResponseMode
	// DisableGET answers GET with 405 (no server-to-client stream).
	DisableGET bool
	// DisableDELETE answers DELETE with 405 (sessions end by TTL only).
	DisableDELETE bool
	// CancelOnDisconnect also cancels a session's handler when its client
	// disconnects under revisions before 2026-07-28 (where the spec says a
	// disconnect is not a cancellation). It does not apply to resumable
	// streams, whose handlers deliver to the store.
	CancelOnDisconnect bool
	// Store makes streams resumable: POST and GET streams are logged, event
	// IDs are "<stream>_<store id>", and GET with Last-Event-ID replays one
	// stream. With a store, a request keeps running when its client
	// disconnects, and its later messages wait in the store.
	Store eventstore.Store
	// Fanout, if set, is a hub over Store (see package eventstore/fanout)
	// through which streams are followed: every open stream of the process
	// shares the hub's one follower of its log (with eventstore/redisstore,
	// one blocking Redis read per process for all of them) instead of a
	// Follow of its own. Store must be the hub's store. A stream whose
	// connection falls 1,024 events behind ends; the client
	// resumes with Last-Event-ID.
	Fanout *fanout.Hub
	// Retry is the "retry:" hint sent with priming events; 0 means
	// DefaultRetry.
	Retry time.Duration

	// MaxBodyBytes caps a POST body (413 past it); 0 means 4 MiB.
	MaxBodyBytes int64
	// MaxBatchItems caps a batch (2025-03-26 only); 0 means 100.
	MaxBatchItems int
	// SessionTTL ends sessions idle for that long (no request and no open
	// stream); 0 means 30 minutes.
	SessionTTL time.Duration
	// MaxSessions caps live sessions; a session start past it gets 503.
	// 0 means 10,000.
	MaxSessions int
	// Principal, if set, names the authenticated user of a request; a
	// session is bound to the principal that started it and any other gets
	// 403.
	Principal func(r *http.Request) string

	// AllowedOrigins lists the origins ("https://app.example") whose
	// browser requests are served; a request with any other Origin header
	// gets 403 on every method. Requests without Origin are not browsers'
	// cross-origin requests and pass.
	AllowedOrigins []string
	// DisableHostCheck turns off DNS-rebinding protection: when the
	// connection arrived on a loopback address, a Host that is not
	// localhost, 127.0.0.1 or [::1] gets 403.
	DisableHostCheck bool

	// KeepAlive and WriteTimeout are as in Options.
	KeepAlive    time.Duration
	WriteTimeout time.Duration
	// Logger, if set, logs rejected requests and failed writes at debug
	// level. nil is silent.
	Logger *slog.Logger
}

// Server is an http.Handler for one MCP Streamable HTTP endpoint.
//
// Concurrency: safe for concurrent use. Shutdown: Close ends every session
// (cancelling handlers and streams) and waits for their goroutines.
type Server struct {
	opts    ServerOptions
	streamO Options
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // detached handlers and store cleanups

	mu       sync.Mutex
	sessions map[string]*Session
	closed   bool
}

// NewServer returns a Server. It fails if opts.Handle is nil.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Handle == nil {
		return nil, errors.New("streamable: ServerOptions.Handle is required")
	}
	if opts.IsSessionStart == nil {
		opts.IsSessionStart = func(m *Message) bool { return m.Method == "initialize" }
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.Retry <= 0 {
		opts.Retry = DefaultRetry
	}
	for i, o := range opts.AllowedOrigins {
		opts.AllowedOrigins[i] = strings.ToLower(strings.TrimSuffix(o, "/"))
	}
	s := &Server{opts: opts, sessions: map[string]*Session{}}
	s.streamO = Options{KeepAlive: opts.KeepAlive, WriteTimeout: opts.WriteTimeout}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Sessions returns the number of live sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session and waits, until ctx is done, for handlers and
// cleanups to return. It has the shape of an httpx.ShutdownHook. Later
// requests get 503.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	all := make([]*Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		s.endSession(ss, ErrServerClosed)
	}
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("streamable: close: %w", ctx.Err())
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, msg := s.checkSecurity(r); status != 0 {
		s.reject(w, r, status, CodeInvalidRequest, msg)
		return
	}
	if s.ctx.Err() != nil {
		s.reject(w, r, http.StatusServiceUnavailable, CodeInternalError, "server closed")
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.servePOST(w, r)
	case http.MethodGet:
		s.serveGET(w, r)
	case http.MethodDelete:
		s.serveDELETE(w, r)
	default:
		w.Header().Set("Allow", s.allow())
		s.reject(w, r, http.StatusMethodNotAllowed, CodeInvalidRequest, "method not allowed")
	}
}

func (s *Server) allow() string {
	a := "POST"
	if !s.opts.Stateless && !s.opts.DisableGET {
		a += ", GET"
	}
	if !s.opts.Stateless && !s.opts.DisableDELETE {
		a += ", DELETE"
	}
	return a
}

// reject answers with status and a JSON-RPC error without id.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	if s.opts.Logger != nil {
		s.opts.Logger.Debug("streamable: rejected", "method", r.Method, "status", status, "reason", msg)
	}
	b, _ := encodeMessage(NewErrorResponse(nil, &Error{Code: code, Message: msg}))
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// encodeMessage encodes m. The raw fields are valid JSON by construction
// (parsed, or produced by encoding/json, or checked in rawJSON), so the
// common shapes are appended directly instead of going through reflection.
func encodeMessage(m *Message) ([]byte, error) {
	if m.Error != nil || !plainString(m.Method) {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("streamable: encoding message: %w", err)
		}
		return b, nil
	}
	b := make([]byte, 0, 48+len(m.ID)+len(m.Method)+len(m.Params)+len(m.Result))
	b = append(b, `{"jsonrpc":"2.0"`...)
	if len(m.ID) > 0 {
		b = append(b, `,"id":`...)
		b = append(b, m.ID...)
	}
	if m.Method != "" {
		b = append(b, `,"method":"`...)
		b = append(b, m.Method...)
		b = append(b, '"')
	}
	if len(m.Params) > 0 {
		b = append(b, `,"params":`...)
		b = append(b, m.Params...)
	}
	if len(m.Result) > 0 {
		b = append(b, `,"result":`...)
		b = append(b, m.Result...)
	}
	return append(b, '}'), nil
}

// plainString reports whether s needs no escaping in a JSON string (and
// none of the HTML escaping encoding/json applies).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// requestVersion returns the revision of r: its header, else the session's
// negotiated one, else the policy's assumption. ok is false when the
// header names a revision the policy does not accept.
func (s *Server) requestVersion(r *http.Request, ss *Session) (string, bool) {
	if v := r.Header.Get(HeaderProtocolVersion); v != "" {
		return v, s.opts.Versions.Supports(v)
	}
	if ss != nil && ss.version != "" {
		return ss.version, true
	}
	return s.opts.Versions.assume(), true
}

// acceptsBoth reports whether an Accept header lists both media types (or
// wildcards covering them) with a non-zero weight. An absent header does
// not: the spec requires the client to list both.
func acceptsBoth(h string) bool {
	if h == "" {
		return false
	}
	if strings.Contains(h, ContentTypeJSON) && strings.Contains(h, ContentTypeSSE) && !strings.Contains(h, "q=") {
		return true // the common exact form, no weights to honour
	}
	_, j := httpx.Negotiate(h, ContentTypeJSON)
	_, e := httpx.Negotiate(h, ContentTypeSSE)
	return j && e
}

func (s *Server) stateless(version string) bool {
	return s.opts.Stateless || !HasSessions(version)
}

func isJSONContentType(ct string) bool {
	if ct == ContentTypeJSON || strings.HasPrefix(ct, ContentTypeJSON+";") {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == ContentTypeJSON
}

// ---- POST ----

func (s *Server) servePOST(w http.ResponseWriter, r *http.Request) {
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		s.reject(w, r, http.StatusUnsupportedMediaType, CodeInvalidRequest, "Content-Type must be application/json")
		return
	}
	if !acceptsBoth(r.Header.Get("Accept")) {
		s.reject(w, r, http.StatusNotAcceptable, CodeInvalidRequest, "Accept must list application/json and text/event-stream")
		return
	}
	if r.Header.Get(HeaderLastEventID) != "" {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "Last-Event-ID is only accepted on GET")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.reject(w, r, http.StatusRequestEntityTooLarge, CodeInvalidRequest, "body too large")
			return
		}
		s.reject(w, r, http.StatusBadRequest, CodeParseError, "reading body: "+err.Error())
		return
	}
	hdrVersion, ok := s.requestVersion(r, nil)
	if !ok {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "unsupported "+HeaderProtocolVersion+": "+r.Header.Get(HeaderProtocolVersion))
		return
	}
	msgs, batch, perr := s.parseBody(body)
	if perr != nil {
		s.reject(w, r, http.StatusBadRequest, perr.Code, perr.Message)
		return
	}
	start := false
	for _, m := range msgs {
		if s.opts.IsSessionStart(m) {
			start = true
		}
	}
	if start && batch {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "a session start cannot be batched")
		return
	}
	var ss *Session
	version := hdrVersion
	if !s.stateless(hdrVersion) {
		if start {
			if r.Header.Get(HeaderSessionID) != "" {
				s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "session already started")
				return
			}
		} else {
			var status int
			var msg string
			ss, status, msg = s.lookupSession(r)
			if ss == nil {
				s.reject(w, r, status, CodeInvalidRequest, msg)
				return
			}
			defer ss.release()
			version, _ = s.requestVersion(r, ss)
		}
	}
	if !HasSessions(version) && len(msgs) == 1 {
		if hm := r.Header.Get(HeaderMethod); hm != "" && hm != msgs[0].Method {
			s.reject(w, r, http.StatusBadRequest, CodeHeaderMismatch, HeaderMethod+" does not match the body's method")
			return
		}
	}
	if batch && !AllowsBatch(version) {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "batches are not allowed in protocol revision "+version)
		return
	}
	var reqs []*Message
	for _, m := range msgs {
		if m.IsRequest() {
			reqs = append(reqs, m)
		} else if s.opts.OnMessage != nil {
			s.opts.OnMessage(r.Context(), ss, m)
		}
	}
	if len(reqs) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if start && !s.stateless(hdrVersion) {
		s.serveSessionStart(w, r, reqs[0])
		return
	}
	s.serveRequests(w, r, ss, version, reqs, batch)
}

func (s *Server) parseBody(body []byte) ([]*Message, bool, *Error) {
	if !DetectBatch(body) {
		m, err := ParseMessage(body)
		if err != nil {
			return nil, false, err.(*Error)
		}
		return []*Message{m}, false, nil
	}
	items, err := SplitBatch(body, BatchLimits{MaxItems: s.opts.MaxBatchItems, MaxBytes: int(s.opts.MaxBodyBytes)})
	if err != nil {
		return nil, true, err.(*Error)
	}
	msgs := make([]*Message, len(items))
	for i, it := range items {
		m, err := ParseMessage(it)
		if err != nil {
			return nil, true, err.(*Error)
		}
		msgs[i] = m
	}
	return msgs, true, nil
}

// call runs Handle and turns its outcome into a response message.
func (s *Server) call(ctx context.Context, req *Request) *Message {
	res, err := s.opts.Handle(ctx, req)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: CodeInternalError, Message: err.Error()}
		}
		return NewErrorResponse(req.ID, e)
	}
	m, err := NewResult(req.ID, res)
	if err != nil {
		return NewErrorResponse(req.ID, &Error{Code: CodeInternalError, Message: err.Error()})
	}
	return m
}

// serveSessionStart answers a session start. The session ID header must
// precede the body, and the session exists only if the answer is not an
// error, so the answer is computed before anything is written.
func (s *Server) serveSessionStart(w http.ResponseWriter, r *http.Request, m *Message) {
	s.mu.Lock()
	full := len(s.sessions) >= s.opts.MaxSessions
	s.mu.Unlock()
	if full {
		s.reject(w, r, http.StatusServiceUnavailable, CodeInternalError, "too many sessions")
		return
	}
	buf := &bufferOut{}
	version, _ := s.requestVersion(r, nil)
	req := &Request{Message: m, HTTP: r, Version: version, out: buf}
	resp := s.call(r.Context(), req)
	if r.Context().Err() != nil {
		return // the client left: it could never learn the session ID, so none is minted
	}
	var ss *Session
	if resp.Error == nil {
		var err error
		ss, err = s.newSession(r, resp)
		if err != nil {
			s.reject(w, r, http.StatusServiceUnavailable, CodeInternalError, err.Error())
			return
		}
		w.Header().Set(HeaderSessionID, ss.id)
		defer ss.release()
	}
	msgs := append(buf.msgs, resp)
	if s.opts.Response == ResponseJSON {
		b, _ := encodeMessage(resp)
		writeJSONReply(w, Reply{Body: b})
		return
	}
	sw := startSSE(w, nil, -1, s.streamO.writeTimeout())
	defer sw.close()
	for _, msg := range msgs {
		if err := writeMessage(sw, msg, ""); err != nil {
			return
		}
	}
}

// serveRequests answers one or more requests (several only in a batch).
func (s *Server) serveRequests(w http.ResponseWriter, r *http.Request, ss *Session, version string, reqs []*Message, batch bool) {
	if s.opts.Response == ResponseJSON {
		ctx, cancel := s.handlerCtx(r, ss, version)
		defer cancel()
		resps := make([]*Message, len(reqs))
		for i, m := range reqs {
			resps[i] = s.call(ctx, &Request{Message: m, Session: ss, HTTP: r, Version: version, out: noStream{}})
		}
		var b []byte
		if batch {
			b, _ = json.Marshal(resps)
		} else {
			b, _ = encodeMessage(resps[0])
		}
		writeJSONReply(w, Reply{Body: b})
		return
	}
	if ss != nil && s.opts.Store != nil && !DisconnectCancels(version) {
		s.serveResumable(w, r, ss, version, reqs)
		return
	}
	// Direct stream: the handler runs on this goroutine and writes to the
	// connection; once the client left, its sends fail, and (see
	// handlerCtx) its context ends only where the revision says so.
	ctx, cancel := s.handlerCtx(r, ss, version)
	defer cancel()
	sw := startSSE(w, nil, s.streamO.keepAlive(), s.streamO.writeTimeout())
	stop := closeOnDone(r.Context(), sw)
	defer func() {
		stop()
		sw.close()
	}()
	out := &directOut{w: sw, conn: r.Context()}
	logged := false
	for _, m := range reqs {
		resp := s.call(ctx, &Request{Message: m, Session: ss, HTTP: r, Version: version, out: out})
		if err := writeMessage(sw, resp, ""); err != nil && !logged {
			s.logWrite(err)
			logged = true
		}
	}
}

// handlerCtx is the context a handler runs under. It ends when the session
// ends or the server closes. Under revisions before 2026-07-28 a
// disconnect is not a cancellation (clients cancel with a notification),
// so the client leaving ends it only under 2026-07-28, for requests
// without a session, or with CancelOnDisconnect.
func (s *Server) handlerCtx(r *http.Request, ss *Session, version string) (context.Context, context.CancelFunc) {
	base, parent := s.ctx, r.Context()
	if ss != nil {
		base = ss.ctx
		if !DisconnectCancels(version) && !s.opts.CancelOnDisconnect {
			parent = context.WithoutCancel(parent)
		}
	}
	return mergeCancel(parent, base)
}

func (s *Server) logWrite(err error) {
	if s.opts.Logger != nil {
		s.opts.Logger.Debug("streamable: stream write failed", "err", err)
	}
}

// mergeCancel returns a context cancelled when either parent is.
func mergeCancel(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(a)
	stop := context.AfterFunc(b, func() { cancel(context.Cause(b)) })
	return ctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// ---- GET ----

func (s *Server) serveGET(w http.ResponseWriter, r *http.Request) {
	hdrVersion, ok := s.requestVersion(r, nil)
	if !ok {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "unsupported "+HeaderProtocolVersion)
		return
	}
	if s.opts.DisableGET || s.stateless(hdrVersion) {
		w.Header().Set("Allow", s.allow())
		s.reject(w, r, http.StatusMethodNotAllowed, CodeInvalidRequest, "no GET stream on this endpoint")
		return
	}
	if !AcceptsStream(r) || r.Header.Get("Accept") == "" {
		s.reject(w, r, http.StatusNotAcceptable, CodeInvalidRequest, "Accept must list text/event-stream")
		return
	}
	ss, status, msg := s.lookupSession(r)
	if ss == nil {
		s.reject(w, r, status, CodeInvalidRequest, msg)
		return
	}
	defer ss.release()
	version, _ := s.requestVersion(r, ss)
	if last := r.Header.Get(HeaderLastEventID); last != "" {
		s.resumeStream(w, r, ss, version, last)
		return
	}
	if !ss.claimGET() {
		s.reject(w, r, http.StatusConflict, CodeInvalidRequest, "the session already has a GET stream")
		return
	}
	defer ss.unclaimGET()
	ctx, cancel := mergeCancel(r.Context(), ss.ctx)
	defer cancel()
	if s.opts.Store != nil {
		name := ss.storeName(getStreamKey)
		after := eventstore.Tail
		var prime *eventstore.Event
		if Primes(version) {
			e, err := s.opts.Store.Append(ctx, name, primeType, nil)
			if err != nil {
				s.reject(w, r, http.StatusServiceUnavailable, CodeInternalError, "store: "+err.Error())
				return
			}
			prime, after = &e, e.ID
		}
		sw := startSSE(w, nil, s.streamO.keepAlive(), s.streamO.writeTimeout())
		defer sw.close()
		if prime != nil && s.writePrime(sw, getStreamKey, prime.ID) != nil {
			return
		}
		s.follow(ctx, sw, name, getStreamKey, after)
		return
	}
	sw := startSSE(w, nil, s.streamO.keepAlive(), s.streamO.writeTimeout())
	stop := closeOnDone(ctx, sw)
	defer func() {
		stop()
		sw.close()
	}()
	ss.attachGET(sw)
	defer ss.detachGET(sw)
	<-ctx.Done()
}

// ---- DELETE ----

func (s *Server) serveDELETE(w http.ResponseWriter, r *http.Request) {
	hdrVersion, ok := s.requestVersion(r, nil)
	if !ok {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidRequest, "unsupported "+HeaderProtocolVersion)
		return
	}
	if s.opts.DisableDELETE || s.stateless(hdrVersion) {
		w.Header().Set("Allow", s.allow())
		s.reject(w, r, http.StatusMethodNotAllowed, CodeInvalidRequest, "sessions cannot be deleted on this endpoint")
		return
	}
	ss, status, msg := s.lookupSession(r)
	if ss == nil {
		s.reject(w, r, status, CodeInvalidRequest, msg)
		return
	}
	ss.release()
	s.endSession(ss, ErrSessionClosed)
	w.WriteHeader(http.StatusNoContent)
}
