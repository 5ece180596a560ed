package authretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultRefreshTimeout      = 30 * time.Second
	DefaultStepUpTimeout       = 5 * time.Minute
	DefaultMaxRetryAfter       = 30 * time.Second
	DefaultMaxRateLimitRetries = 2
	// stepUpMemory bounds how many (method, URL, scopes) step-ups a
	// Transport remembers; the oldest are forgotten first.
	stepUpMemory = 1024
)

// Config configures a Transport. Only Origin is required.
type Config struct {
	// Origin is the one origin ("https://api.example.com", or
	// "http://127.0.0.1:8080" for loopback) whose requests carry the token.
	// Requests to any other scheme, host or port never see it, which is
	// what keeps a redirect to another host from leaking it.
	Origin string

	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper

	// Token is the initial bearer token; it may be empty, in which case
	// the first 401 asks Refresh for one.
	Token string
	// Scopes the initial token was granted; the start of the set a step-up
	// widens.
	Scopes []string

	// Refresh returns a new token after the server rejected stale with
	// 401. It runs at most once at a time per stale token, shared by all
	// concurrent callers, on a context detached from any one caller's
	// cancellation and bounded by RefreshTimeout. The bearer fields of the
	// 401 challenge (resource_metadata, for one) are passed along; they
	// are zero when the server sent none. Nil: 401 responses are returned
	// as is.
	Refresh func(ctx context.Context, stale string, challenge Bearer) (string, error)
	// RefreshTimeout bounds one Refresh call (default 30s).
	RefreshTimeout time.Duration

	// StepUp returns a token carrying scopes after a 403 whose Bearer
	// challenge says error="insufficient_scope". scopes is the union of
	// the scopes held so far and the challenged ones. Calls for the same
	// scope set are shared like Refresh, bounded by StepUpTimeout. Nil: 403
	// responses are returned as is.
	StepUp func(ctx context.Context, challenge Bearer, scopes []string) (string, error)
	// StepUpTimeout bounds one StepUp call (default 5m; step-up may need
	// a person to consent).
	StepUpTimeout time.Duration

	// MaxRetryAfter is the longest Retry-After the Transport waits for on
	// a 429 or 503 (default 30s). A longer wait, or one that would outlast
	// the request's context deadline, is not waited for: the response is
	// returned as is so the caller sees the server's Retry-After.
	MaxRetryAfter time.Duration
	// MaxRateLimitRetries is how many 429/503 responses one request waits
	// out (default 2; negative disables).
	MaxRateLimitRetries int
	// Replayable says whether a request may be sent again after a 429 or
	// 503. Nil means net/http's rule: GET, HEAD, OPTIONS and TRACE, or a
	// request with an Idempotency-Key or X-Idempotency-Key header. Either
	// way the body must be replayable (GetBody set, or no body).
	Replayable func(*http.Request) bool

	// Logger receives debug records of refreshes, step-ups and waits
	// (never tokens). Nil: silent.
	Logger *slog.Logger
}

// Stats are counters of what a Transport did, for export to metrics.
type Stats struct {
	Refreshes      int64 // Refresh hook calls
	StepUps        int64 // StepUp hook calls
	AuthRetries    int64 // requests re-sent after a refresh or step-up
	RateLimitWaits int64 // Retry-After waits completed
}

// Transport is an http.RoundTripper that adds a bearer token to requests for
// one origin and recovers from 401 (refresh), 403 insufficient_scope (step
// up) and 429/503 with Retry-After (wait), each with exactly one bounded
// retry. See the package documentation for the full policy.
//
// A Transport is safe for concurrent use; its token is shared by every
// request sent through it.
type Transport struct {
	base          http.RoundTripper
	origin        origin
	refresh       func(context.Context, string, Bearer) (string, error)
	stepUp        func(context.Context, Bearer, []string) (string, error)
	refreshTO     time.Duration
	stepUpTO      time.Duration
	maxRetryAfter time.Duration
	maxWaits      int
	replayable    func(*http.Request) bool
	log           *slog.Logger

	mu         sync.Mutex
	token      string
	scopes     []string // sorted, unique
	refreshing *call
	stepping   map[string]*call
	seen       seenSet

	refreshes, stepUps, authRetries, waits atomic.Int64
}

// call is one shared refresh or step-up; done closes once err is set (the
// new token is installed in the Transport before that).
type call struct {
	stale string
	done  chan struct{}
	err   error
}

// NewTransport validates cfg and returns a Transport.
func NewTransport(cfg Config) (*Transport, error) {
	o, err := parseOrigin(cfg.Origin)
	if err != nil {
		return nil, err
	}
	t := &Transport{
		base:          cfg.Base,
		origin:        o,
		refresh:       cfg.Refresh,
		stepUp:        cfg.StepUp,
		refreshTO:     cfg.RefreshTimeout,
		stepUpTO:      cfg.StepUpTimeout,
		maxRetryAfter: cfg.MaxRetryAfter,
		maxWaits:      cfg.MaxRateLimitRetries,
		replayable:    cfg.Replayable,
		log:           cfg.Logger,
		token:         cfg.Token,
		scopes:        union(nil, cfg.Scopes),
		stepping:      map[string]*call{},
	}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	if t.refreshTO <= 0 {
		t.refreshTO = DefaultRefreshTimeout
	}
	if t.stepUpTO <= 0 {
		t.stepUpTO = DefaultStepUpTimeout
	}
	if t.maxRetryAfter <= 0 {
		t.maxRetryAfter = DefaultMaxRetryAfter
	}
	switch {
	case t.maxWaits == 0:
		t.maxWaits = DefaultMaxRateLimitRetries
	case t.maxWaits < 0:
		t.maxWaits = 0
	}
	if t.replayable == nil {
		t.replayable = idempotent
	}
	return t, nil
}

// NewClient returns an http.Client whose Transport is a new Transport for
// cfg and whose CheckRedirect refuses https to http redirects: the one
// constructor that gets both halves of the redirect policy right.
func NewClient(cfg Config) (*http.Client, error) {
	t, err := NewTransport(cfg)
	if err != nil {
		return nil, err
	}
	return t.Client(), nil
}

// Client returns a new http.Client that sends through t and uses
// CheckRedirect.
func (t *Transport) Client() *http.Client {
	return &http.Client{Transport: t, CheckRedirect: CheckRedirect}
}

// Token returns the current token.
func (t *Transport) Token() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.token
}

// SetToken replaces the current token (after a login flow the application
// ran itself, say).
func (t *Transport) SetToken(token string) {
	t.mu.Lock()
	t.token = token
	t.mu.Unlock()
}

// Scopes returns the scopes the Transport believes its token holds: the
// configured ones plus every scope a successful step-up asked for.
func (t *Transport) Scopes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.scopes...)
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Refreshes:      t.refreshes.Load(),
		StepUps:        t.stepUps.Load(),
		AuthRetries:    t.authRetries.Load(),
		RateLimitWaits: t.waits.Load(),
	}
}

// CloseIdleConnections forwards to the base transport, so
// http.Client.CloseIdleConnections works through a Transport.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper. It never modifies req and always
// closes req.Body. It returns an *Error (wrapping ErrUnauthorized,
// ErrForbidden or ErrStepUpRepeated) when a retry it made did not help or a
// hook failed; a response it did not try to recover from (another origin, a
// body it cannot replay, no hook configured, any other status) is returned
// as is.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := insecureRedirect(req); err != nil {
		closeBody(req)
		return nil, err
	}
	ctx := req.Context()
	_, ours := t.matchOrigin(req)
	canReplay := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	var refreshed, steppedUp bool
	waits := 0
	for n := 0; ; n++ {
		r, token, err := t.prepare(req, n, ours)
		if err != nil {
			return nil, err
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		if !canReplay {
			return resp, nil
		}
		switch {
		case ours && resp.StatusCode == http.StatusUnauthorized && t.refresh != nil:
			e := t.snapshot(resp, token, ErrUnauthorized)
			if refreshed {
				return nil, e
			}
			refreshed = true
			b, _ := e.Bearer()
			if err := t.refreshToken(ctx, token, b); err != nil {
				e.Cause = err
				return nil, e
			}
			t.authRetries.Add(1)
			continue

		case ours && resp.StatusCode == http.StatusForbidden && t.stepUp != nil:
			cs, _ := Challenges(resp.Header)
			b, ok := FindBearer(cs)
			if !ok || b.Error != ErrorInsufficientScope {
				return resp, nil
			}
			e := t.snapshot(resp, token, ErrForbidden)
			if steppedUp {
				e.Kind = ErrStepUpRepeated
				return nil, e
			}
			steppedUp = true
			if err := t.stepUpToken(ctx, req, b); err != nil {
				if errors.Is(err, errSeen) {
					e.Kind = ErrStepUpRepeated
				} else {
					e.Cause = err
				}
				return nil, e
			}
			t.authRetries.Add(1)
			continue

		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			if waits >= t.maxWaits || !t.replayable(req) {
				return resp, nil
			}
			d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			if !ok || d > t.maxRetryAfter {
				return resp, nil
			}
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
				return resp, nil
			}
			discard(resp)
			waits++
			t.debug("waiting for Retry-After", req, slog.Int("status", resp.StatusCode), slog.Duration("wait", d))
			if err := sleep(ctx, d); err != nil {
				return nil, fmt.Errorf("authretry: waiting %v for Retry-After: %w", d, err)
			}
			t.waits.Add(1)
			continue
		}
		return resp, nil
	}
}

// prepare clones req for attempt n: a fresh body from GetBody after the
// first attempt, the token set for our origin and removed elsewhere.
func (t *Transport) prepare(req *http.Request, n int, ours bool) (*http.Request, string, error) {
	r := req.Clone(req.Context())
	if n > 0 && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, "", fmt.Errorf("authretry: replaying request body: %w", err)
		}
		r.Body = body
	}
	t.mu.Lock()
	token := t.token
	t.mu.Unlock()
	if !ours {
		// Never let our token leave the origin, even when the caller
		// copied it into the request themselves.
		if token != "" && tokenFromHeader(r.Header.Get("Authorization")) == token {
			r.Header.Del("Authorization")
		}
		return r, "", nil
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r, token, nil
}

func (t *Transport) matchOrigin(req *http.Request) (origin, bool) {
	o, ok := originOf(req.URL)
	return o, ok && o == t.origin
}

// insecureRedirect refuses a redirect hop from https to anything else. The
// http.Client sets req.Response on requests it makes to follow a redirect.
func insecureRedirect(req *http.Request) error {
	if req.Response == nil || req.Response.Request == nil || req.Response.Request.URL == nil {
		return nil
	}
	if strings.EqualFold(req.Response.Request.URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		return fmt.Errorf("%w: %s", ErrInsecureRedirect, redactURL(req.URL))
	}
	return nil
}

func (t *Transport) snapshot(resp *http.Response, token string, kind error) *Error {
	t.mu.Lock()
	cur := t.token
	t.mu.Unlock()
	e := readError(resp, token, cur)
	e.Kind = kind
	return e
}

// refreshToken makes sure the token is newer than stale: it returns at once
// if another caller already replaced stale (compare-and-swap), joins a
// refresh in flight, or starts one. The refresh runs on its own goroutine
// with a context detached from ctx, so a caller that gives up does not
// cancel it for the others.
func (t *Transport) refreshToken(ctx context.Context, stale string, b Bearer) error {
	t.mu.Lock()
	if t.token != stale {
		t.mu.Unlock()
		return nil
	}
	c := t.refreshing
	if c == nil || c.stale != stale {
		c = &call{stale: stale, done: make(chan struct{})}
		t.refreshing = c
		t.refreshes.Add(1)
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.refreshTO)
		go func() {
			defer cancel()
			tok, err := t.refresh(hctx, stale, b)
			t.mu.Lock()
			if err == nil && t.token == stale {
				t.token = tok
			}
			c.err = err
			if t.refreshing == c {
				t.refreshing = nil
			}
			t.mu.Unlock()
			close(c.done)
		}()
		t.debug("refreshing token", nil)
	}
	t.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("authretry: refresh: %w", c.err)
		}
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

var errSeen = errors.New("authretry: step-up already done")

// stepUpToken asks for a token holding the union of our scopes and the
// challenged ones, unless this (method, URL, scopes) was stepped up before.
func (t *Transport) stepUpToken(ctx context.Context, req *http.Request, b Bearer) error {
	t.mu.Lock()
	scopes := union(t.scopes, b.Scope)
	set := strings.Join(scopes, " ")
	key := req.Method + " " + redactURL(req.URL) + " " + set
	if t.seen.has(key) {
		t.mu.Unlock()
		return errSeen
	}
	c := t.stepping[set]
	if c == nil {
		c = &call{done: make(chan struct{})}
		t.stepping[set] = c
		t.stepUps.Add(1)
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.stepUpTO)
		go func() {
			defer cancel()
			tok, err := t.stepUp(hctx, b, append([]string(nil), scopes...))
			t.mu.Lock()
			if err == nil {
				t.token = tok
				t.scopes = union(t.scopes, scopes)
			}
			c.err = err
			delete(t.stepping, set)
			t.mu.Unlock()
			close(c.done)
		}()
		t.debug("stepping up", req, slog.String("scopes", set))
	}
	t.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("authretry: step-up: %w", c.err)
		}
		t.mu.Lock()
		t.seen.add(key)
		t.mu.Unlock()
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (t *Transport) debug(msg string, req *http.Request, attrs ...slog.Attr) {
	if t.log == nil {
		return
	}
	attrs = append(attrs, slog.String("origin", t.origin.String()))
	if req != nil {
		attrs = append(attrs, slog.String("method", req.Method), slog.String("url", redactURL(req.URL)))
	}
	t.log.LogAttrs(context.Background(), slog.LevelDebug, "authretry: "+msg, attrs...)
}

// idempotent is net/http's replay rule for methods and idempotency keys.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// union returns the sorted set of scopes in a and b.
func union(a, b []string) []string {
	m := make(map[string]struct{}, len(a)+len(b))
	for _, s := range a {
		m[s] = struct{}{}
	}
	for _, s := range b {
		m[s] = struct{}{}
	}
	out := make([]string, 0, len(m))
	for s := range m {
		if s != "" {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// discard drains a bounded amount of a response body (so the connection can
// be reused) and closes it.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, MaxErrorBodySize+maxDrain)
	_ = resp.Body.Close()
}

// seenSet is a bounded FIFO set of step-up keys.
type seenSet struct {
	m     map[string]struct{}
	order []string
}

func (s *seenSet) has(k string) bool {
	_, ok := s.m[k]
	return ok
}

func (s *seenSet) add(k string) {
	if s.m == nil {
		s.m = map[string]struct{}{}
	}
	if _, ok := s.m[k]; ok {
		return
	}
	if len(s.order) >= stepUpMemory {
		delete(s.m, s.order[0])
		s.order = s.order[1:]
	}
	s.m[k] = struct{}{}
	s.order = append(s.order, k)
}
