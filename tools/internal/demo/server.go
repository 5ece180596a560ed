package demo

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/httpstream"
	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/longpoll"
	"github.com/streamkit-dev/streamkit/sse"
)

//go:embed web/index.html
var web embed.FS

// NotificationsCategory is the long-poll category of the notifications panel.
const NotificationsCategory = "notifications"

// StreamProtocol is the httpstream protocol the /stream echo endpoint speaks.
const StreamProtocol = "streamkit.v1"

// Config configures the demo server.
type Config struct {
	// Addr is the listen address; default 127.0.0.1:8080.
	Addr string
	// Store is "memory" (default), "file:PATH" or "redis://host:port".
	Store string
	// Tick is the ticker's period; default 1s.
	Tick time.Duration
	// NoTicker leaves the ticker off: with several processes over one
	// Redis, run the ticker in one of them (or none, and publish ticks
	// with POST /sse/ticker).
	NoTicker bool
	// Signals makes Run stop on SIGINT/SIGTERM (the command sets it;
	// in-process tests stop Run through its context).
	Signals bool
	// Ready, if set, is called with the base URL ("http://127.0.0.1:8080")
	// once the server listens.
	Ready func(url string)
	// Out receives the one line saying where the server listens (nil:
	// nothing is printed).
	Out io.Writer
	// Logger receives errors; nil is silent.
	Logger *slog.Logger
}

// Server is the demo: every transport on one mux over one event store.
type Server struct {
	store     eventstore.Store
	hub       *fanout.Hub // scale-out mode (-store redis://); nil otherwise
	storeName string
	closeSt   func() error
	log       *slog.Logger

	sse    *sse.Server
	chat   *chat
	broker *longpoll.Broker
	jobs   *jobs

	up      httpstream.ResponseUpgrader
	mu      sync.Mutex
	streams map[httpstream.Connection]struct{}
	closed  bool
	nstream uint64

	tickStart int64
	stopTick  context.CancelFunc
	tickDone  chan struct{}
	mux       *http.ServeMux
}

// categoryRE keeps long-poll categories out of the other transports'
// streams in the shared store (those all contain ':' or '/').
var categoryRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// New opens the store and builds every transport. Start the ticker with
// Start, serve Handler, and end with the Shutdown hooks and Close.
func New(ctx context.Context, cfg Config) (*Server, error) {
	storeName := cfg.Store
	if storeName == "" {
		storeName = "memory"
	}
	st, hub, closeSt, err := openStore(storeName)
	if err != nil {
		return nil, err
	}
	s := &Server{store: st, hub: hub, storeName: storeName, closeSt: closeSt, log: cfg.Logger,
		streams: map[httpstream.Connection]struct{}{}, up: httpstream.NewResponseUpgrader(nil)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.tickStart, err = lastTick(ctx, st); err != nil {
		_ = closeSt()
		return nil, fmt.Errorf("demo: read the ticker's last number: %w", err)
	}
	s.sse = sse.NewServer(sse.Options{
		Store:         st,
		Fanout:        hub,
		Authorize:     func(*http.Request) ([]string, error) { return []string{tickerTopic}, nil },
		Retry:         time.Second,
		ShutdownRetry: time.Second,
		Logger:        cfg.Logger,
	})
	s.chat = newChat(st, hub)
	checkCategory := func(w http.ResponseWriter, cats []string) bool {
		for _, c := range cats {
			if !categoryRE.MatchString(c) {
				_ = httpx.WriteJSON(w, http.StatusOK, map[string]string{"error": "demo: categories are 1-64 letters, digits, '.', '_' or '-'"})
				return false
			}
		}
		return true
	}
	s.broker, err = longpoll.NewBroker(longpoll.Options{
		Store:             st,
		Fanout:            hub,
		MaxTimeoutSeconds: 60,
		MaxWaiting:        10_000,
		BeforeSubscribe: func(w http.ResponseWriter, r *http.Request) bool {
			return checkCategory(w, r.URL.Query()["category"])
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		_ = closeSt()
		return nil, err
	}
	s.jobs, err = newJobs(st, hub, func(ctx context.Context, text string) {
		_, _ = s.broker.Publish(context.WithoutCancel(ctx), NotificationsCategory, map[string]string{"text": text, "from": "job"})
	})
	if err != nil {
		_ = closeSt()
		return nil, err
	}
	s.mux = s.routes()
	return s, nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := web.ReadFile("web/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		_ = httpx.WriteJSON(w, http.StatusOK, s.Stats())
	})
	mux.Handle("GET /sse/ticker", lastEventIDFromQuery(s.sse))
	mux.HandleFunc("POST /sse/ticker", s.publishTick)
	mux.Handle("GET /ws/chat", s.chat.srv)
	mux.Handle("/poll/subscribe", s.broker.SubscriptionHandler())
	mux.Handle("POST /poll/publish", s.publishGuard(s.broker.PublishHandler()))
	mux.Handle("/mcp", sameOriginOnly(s.jobs.srv))
	mux.HandleFunc("POST /stream", s.serveStream)
	return mux
}

// lastEventIDFromQuery lets a page that had to create a new EventSource
// (after a 503 during a restart, EventSource gives up for good) resume by
// passing its last ID as ?lastEventId=; the header wins when both are set.
func lastEventIDFromQuery(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.URL.Query().Get("lastEventId"); id != "" && r.Header.Get("Last-Event-ID") == "" {
			r = r.Clone(r.Context())
			r.Header.Set("Last-Event-ID", id)
		}
		h.ServeHTTP(w, r)
	})
}

// sameOriginOnly refuses browser requests from another origin and passes
// same-origin ones on without their Origin header: the MCP layer accepts
// only the origins it lists, and the demo's own origin depends on -addr.
func sameOriginOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			if !httpx.SameOrigin(o, "http://"+r.Host) && !httpx.SameOrigin(o, "https://"+r.Host) {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
			r = r.Clone(r.Context())
			r.Header.Del("Origin")
		}
		h.ServeHTTP(w, r)
	})
}

// publishGuard checks the category of a publish before the broker reads
// the body (bounded at 64 KiB here).
func (s *Server) publishGuard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		var req longpoll.PublishRequest
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if jsonErr := httpx.DecodeJSON(bytesReader(body), &req); jsonErr == nil && !categoryRE.MatchString(req.Category) {
			http.Error(w, "demo: categories are 1-64 letters, digits, '.', '_' or '-'", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytesReader(body))
		h.ServeHTTP(w, r)
	})
}

// publishTick publishes the request body (JSON, at most 4 KiB) as a "tick"
// event on the ticker's topic: with several processes, ticks can come from
// outside rather than from one process's ticker. It answers the event's ID.
func (s *Server) publishTick(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if !json.Valid(body) {
		http.Error(w, "demo: the body must be JSON", http.StatusBadRequest)
		return
	}
	id, err := s.sse.Publish(r.Context(), tickerTopic, sse.Event{Type: "tick", Data: body})
	if err != nil {
		s.log.Error("publish tick", "err", err)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "demo: event store unavailable", http.StatusServiceUnavailable)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, map[string]string{"id": id.String()})
}

// serveStream upgrades to an httpstream (SPDY/3.1) connection whose streams
// echo what they read.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	if _, err := httpstream.Handshake(r, w, []string{StreamProtocol}); err != nil {
		return // Handshake answered 400 or 403
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	conn := s.up.UpgradeResponse(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		go func() {
			<-replySent
			_, _ = io.Copy(st, st)
			_ = st.Close()
		}()
		return nil
	})
	if conn == nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.streams[conn] = struct{}{}
	s.nstream++
	s.mu.Unlock()
	conn.SetIdleTimeout(5 * time.Minute)
	<-conn.CloseChan()
	s.mu.Lock()
	delete(s.streams, conn)
	s.mu.Unlock()
}

func (s *Server) closeStreams(context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]httpstream.Connection, 0, len(s.streams))
	for c := range s.streams {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return nil
}

// Handler is the demo's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Start starts the ticker; its numbers follow the newest one in the store.
func (s *Server) Start(period time.Duration) {
	if period <= 0 {
		period = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopTick = cancel
	s.tickDone = make(chan struct{})
	go func() {
		defer close(s.tickDone)
		runTicker(ctx, s.sse, period, s.tickStart, func(err error) { s.log.Error("ticker", "err", err) })
	}()
}

func (s *Server) stopTicker(ctx context.Context) error {
	if s.stopTick == nil {
		return nil
	}
	s.stopTick()
	select {
	case <-s.tickDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ShutdownHooks end the ticker and then every transport's streams, for
// httpx.ListenAndServeGraceful.
func (s *Server) ShutdownHooks() []httpx.ShutdownHook {
	return []httpx.ShutdownHook{s.stopTicker, s.sse.Shutdown, s.chat.shutdown, s.broker.Shutdown, s.jobs.srv.Close, s.closeStreams}
}

// Close stops what the hooks did not and closes the store.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, h := range s.ShutdownHooks() {
		errs = append(errs, h(ctx))
	}
	errs = append(errs, s.closeSt())
	return errors.Join(errs...)
}

// Run serves the demo until ctx ends (or a signal, with cfg.Signals), then
// shuts it down gracefully and closes the store.
func Run(ctx context.Context, cfg Config) error {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	s, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = s.Close()
		return fmt.Errorf("demo: %w", err)
	}
	if !cfg.NoTicker {
		s.Start(cfg.Tick)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	opts := []httpx.GracefulOption{
		httpx.WithContext(ctx),
		httpx.WithListener(ln),
		httpx.WithDrainTimeout(5 * time.Second),
		httpx.WithShutdownHooks(s.ShutdownHooks()...),
		httpx.WithReady(func(sv *httpx.Serving) {
			url := "http://" + sv.Addr().String()
			if cfg.Out != nil {
				fmt.Fprintf(cfg.Out, "streamkit demo on %s/ (store %s; Ctrl-C stops it)\n", url, displayStore(s.storeName))
			}
			if cfg.Ready != nil {
				cfg.Ready(url)
			}
		}),
	}
	if !cfg.Signals {
		opts = append(opts, httpx.WithSignals())
	} else {
		opts = append(opts, httpx.WithSignals(os.Interrupt, syscall.SIGTERM))
	}
	err = httpx.ListenAndServeGraceful(srv, opts...)
	return errors.Join(err, s.Close())
}

// Start runs the demo (Run) on its own goroutine and returns once it
// listens, with its URL and a stop function that ends it (as Ctrl-C
// would) and returns Run's error. Tests start the server in-process with it.
func Start(cfg Config) (url string, stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	inner := cfg.Ready
	cfg.Ready = func(u string) {
		if inner != nil {
			inner(u)
		}
		ready <- u
	}
	cfg.Signals = false
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	select {
	case url = <-ready:
	case err = <-done:
		cancel()
		return "", nil, err
	}
	return url, func() error { cancel(); return <-done }, nil
}
