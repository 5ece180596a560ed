package longpoll

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/httpx"
)

// ServerInfo is the seed's server configuration.
type ServerInfo struct {
	// Address to listen on, such as ":8080" or "127.0.0.1:0".
	Address string
	// TimeoutSeconds is the largest poll timeout a client may ask for.
	TimeoutSeconds int
	// SubscriptionURI is the path of the subscription handler (GET).
	SubscriptionURI string
	// HandlerToRunBeforeSubscription, if set, runs first; false means it
	// answered the request.
	HandlerToRunBeforeSubscription func(w http.ResponseWriter, r *http.Request) bool
	// PublishURI is the path of the publish handler (POST).
	PublishURI string
	// HandlerToRunBeforePublish, if set, runs first; false means it
	// answered the request.
	HandlerToRunBeforePublish func(w http.ResponseWriter, r *http.Request) bool
}

// FilePersistorInfo is the seed's persistence configuration. With Use,
// events go to an eventstore file store in the directory FileName (created
// if missing) and a restart replays them.
type FilePersistorInfo struct {
	Use      bool
	FileName string
	// WriteBufferSize is accepted for compatibility; the file store sizes
	// its own writes.
	WriteBufferSize int
	// WriteFlushPeriodSeconds > 0 syncs to disk in the background at that
	// period (a machine crash may lose that much; a process crash loses
	// nothing acknowledged). 0 syncs every publish before it is
	// acknowledged.
	WriteFlushPeriodSeconds int
}

// Server is the seed's all-in-one server: a [Broker] on its own
// http.Server. The zero value is ready; Start, Stop, Start again works.
// Its methods are safe for concurrent use.
type Server struct {
	// Options, if set before Start, configure the broker (Store,
	// MaxTimeoutSeconds and the hooks are taken from Start's arguments).
	Options Options

	mu      sync.Mutex
	broker  *Broker
	store   eventstore.Store
	serving *httpx.Serving
	watcher chan struct{} // closed when the failure watcher ends
}

// parkByDefault: the seed Server parks waiting polls on bare connections
// where httpx.Poller has one epoll set for all of them (elsewhere a watch is
// a goroutine, which saves nothing).
const parkByDefault = runtime.GOOS == "linux"

// ErrAlreadyStarted is returned by Start on a running Server.
var ErrAlreadyStarted = errors.New("longpoll: server already started")

// Start listens on info.Address and serves the subscription and publish
// handlers. It returns once the socket listens. failureFunc, if set, is
// called (once, on its own goroutine) if serving fails later.
func (s *Server) Start(info ServerInfo, persist FilePersistorInfo, failureFunc func(err error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broker != nil {
		return ErrAlreadyStarted
	}
	opts := s.Options
	opts.MaxTimeoutSeconds = info.TimeoutSeconds
	opts.BeforeSubscribe = info.HandlerToRunBeforeSubscription
	opts.BeforePublish = info.HandlerToRunBeforePublish
	var store eventstore.Store
	if persist.Use {
		fo := eventstore.FileOptions{Options: opts.StoreOptions(), Sync: eventstore.SyncAlways, Logger: opts.Logger}
		if persist.WriteFlushPeriodSeconds > 0 {
			fo.Sync = eventstore.SyncInterval
			fo.SyncEvery = time.Duration(persist.WriteFlushPeriodSeconds) * time.Second
		}
		f, err := eventstore.OpenFile(persist.FileName, fo)
		if err != nil {
			return err
		}
		store = f
		opts.Store = f
	}
	b, err := NewBroker(opts)
	if err != nil {
		closeStore(store)
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+info.SubscriptionURI, b.SubscriptionHandler())
	mux.Handle(info.PublishURI, b.PublishHandler())
	srv := &http.Server{Addr: info.Address, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", info.Address)
	if err != nil {
		_ = b.Shutdown(context.Background())
		closeStore(store)
		return fmt.Errorf("longpoll: listen: %w", err)
	}
	var l net.Listener = ln
	if parkByDefault && !opts.DisableConnParking {
		// Waiting polls park on their bare connections (see the package
		// doc, "High density").
		hl := httpx.NewHandbackListener(ln, httpx.HandbackOptions{})
		srv.ConnContext = hl.ConnContext
		l = hl
	}
	serving, err := httpx.Serve(context.Background(), srv, l)
	if err != nil {
		_ = ln.Close()
		_ = b.Shutdown(context.Background())
		closeStore(store)
		return err
	}
	s.broker, s.store, s.serving = b, store, serving
	s.watcher = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		if err := serving.Wait(); err != nil && failureFunc != nil {
			failureFunc(err)
		}
	}(s.watcher)
	return nil
}

func closeStore(st eventstore.Store) {
	if st != nil {
		_ = st.Close()
	}
}

// Stop answers every waiting poll, then shuts the HTTP server down within
// shutdownTimeout (closing what is left), and closes the store. Stop on a
// Server that is not running returns nil.
func (s *Server) Stop(shutdownTimeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broker == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.broker.Shutdown(ctx)
	err = errors.Join(err, s.serving.Shutdown(ctx))
	<-s.watcher
	if s.store != nil {
		err = errors.Join(err, s.store.Close())
	}
	s.broker, s.store, s.serving, s.watcher = nil, nil, nil, nil
	return err
}

// Broker returns the running broker, or nil when stopped.
func (s *Server) Broker() *Broker {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broker
}

// URL returns the base URL of the running server ("http://127.0.0.1:port"),
// or "" when stopped.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving == nil {
		return ""
	}
	return s.serving.URL()
}
