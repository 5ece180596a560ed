package httpx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// DefaultDrainTimeout bounds a graceful shutdown when [WithDrainTimeout] is
// not given: shutdown hooks plus draining take at most this long before the
// remaining connections are closed.
const DefaultDrainTimeout = 15 * time.Second

// ErrForcedClose is returned (wrapped, with the cause) by
// [ListenAndServeGraceful] when connections were still open at the end of
// the drain timeout, or a second signal arrived, and the server was closed.
var ErrForcedClose = errors.New("httpx: drain did not finish; connections were closed")

// ErrSecondSignal is the cause given with [ErrForcedClose] when a second
// signal cut the drain short.
var ErrSecondSignal = errors.New("httpx: second signal")

// ErrDrainTimeout is the cause given with [ErrForcedClose] when the drain
// timeout ran out.
var ErrDrainTimeout = errors.New("httpx: drain timeout")

// ShutdownHook runs when a graceful shutdown starts, before the server stops
// accepting and drains. It is the place to end long-lived streams (an SSE
// hub's or WebSocket registry's Shutdown), which [http.Server.Shutdown]
// cannot end by itself. ctx ends at the drain deadline or on a second signal;
// a hook must return when it does.
type ShutdownHook = func(ctx context.Context) error

// GracefulOption configures [ListenAndServeGraceful].
type GracefulOption func(*gracefulConfig)

type gracefulConfig struct {
	drain     time.Duration
	hooks     []ShutdownHook
	signals   []os.Signal
	parent    context.Context
	ready     func(*Serving)
	ln        net.Listener
	tls       bool
	cert, key string
}

// WithDrainTimeout bounds the whole shutdown (hooks plus draining); when it
// runs out, remaining connections are closed. Default [DefaultDrainTimeout].
// A value <= 0 keeps the default.
func WithDrainTimeout(d time.Duration) GracefulOption {
	return func(c *gracefulConfig) {
		if d > 0 {
			c.drain = d
		}
	}
}

// WithShutdownHooks adds hooks that run, in order, when shutdown starts and
// before draining. Hook errors are joined into the returned error; they do
// not stop the shutdown.
func WithShutdownHooks(hooks ...ShutdownHook) GracefulOption {
	return func(c *gracefulConfig) {
		for _, h := range hooks {
			if h != nil {
				c.hooks = append(c.hooks, h)
			}
		}
	}
}

// WithSignals sets the signals that start a shutdown (default os.Interrupt
// and SIGTERM); a second one forces Close. With no arguments, signals are
// not watched at all and only the parent context stops the server.
func WithSignals(sigs ...os.Signal) GracefulOption {
	return func(c *gracefulConfig) { c.signals = append([]os.Signal(nil), sigs...) }
}

// WithContext sets a parent context whose end starts a graceful shutdown.
func WithContext(ctx context.Context) GracefulOption {
	return func(c *gracefulConfig) {
		if ctx != nil {
			c.parent = ctx
		}
	}
}

// WithReady sets a callback run once the server is listening, with the
// running server (its Addr and URL are final). It runs on the calling
// goroutine of ListenAndServeGraceful, so it must not wait for the server
// to stop.
func WithReady(f func(*Serving)) GracefulOption {
	return func(c *gracefulConfig) { c.ready = f }
}

// WithListener serves on ln instead of listening on srv.Addr. ln is closed
// when the server stops.
func WithListener(ln net.Listener) GracefulOption {
	return func(c *gracefulConfig) { c.ln = ln }
}

// WithTLS serves HTTPS with the given files, as [ListenAndServeTLSAsync].
// Both may be empty when srv.TLSConfig carries the certificates.
func WithTLS(certFile, keyFile string) GracefulOption {
	return func(c *gracefulConfig) { c.tls, c.cert, c.key = true, certFile, keyFile }
}

// ListenAndServeGraceful runs srv until a signal arrives or the parent
// context ends, then shuts it down within a bound, and returns.
//
// Shutdown goes in this order:
//  1. the shutdown hooks run, in order, with a context that ends at the
//     drain deadline (this is where streams say goodbye and end);
//  2. [http.Server.Shutdown] stops accepting and waits for active
//     connections to go idle;
//  3. if the drain deadline passes, or a second signal arrives, at any point
//     in 1 or 2, [http.Server.Close] closes every connection at once.
//
// It returns nil after a clean shutdown; an error wrapping [ErrForcedClose]
// (and [ErrDrainTimeout] or [ErrSecondSignal]) after a forced one, joined
// with any hook errors; a listen error at once; and the serve error if the
// server stopped by itself. It never exits the process and never logs.
//
// A hook that ignores its context is not waited for past the deadline: it
// keeps running in the background while the server is closed.
//
// Close does not close hijacked connections (WebSocket): the module that
// hijacked them must end them, from a shutdown hook.
func ListenAndServeGraceful(srv *http.Server, opts ...GracefulOption) error {
	cfg := gracefulConfig{
		drain:   DefaultDrainTimeout,
		signals: []os.Signal{os.Interrupt, syscall.SIGTERM},
		parent:  context.Background(),
	}
	for _, o := range opts {
		o(&cfg)
	}

	// Register for signals before listening, so that a signal sent once
	// the server is ready never takes the default action (exit).
	var sigCh chan os.Signal
	if len(cfg.signals) > 0 {
		sigCh = make(chan os.Signal, 2)
		signal.Notify(sigCh, cfg.signals...)
		defer signal.Stop(sigCh)
	}

	s, err := startGraceful(srv, &cfg)
	if err != nil {
		return err
	}
	if cfg.ready != nil {
		cfg.ready(s)
	}

	select {
	case <-s.Done():
		return s.Wait()
	case <-cfg.parent.Done():
	case <-sigCh:
	}

	// ctx carries the drain deadline (hooks can read their budget from it)
	// and is canceled early by a second signal.
	base, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ctx, stopDeadline := context.WithDeadlineCause(base, time.Now().Add(cfg.drain), ErrDrainTimeout)
	defer stopDeadline()

	// A second signal cuts the drain short. This goroutine ends when
	// shutdown is over (ctx is canceled on return at the latest).
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-sigCh: // nil channel when signals are off: waits for ctx
			cancel(ErrSecondSignal)
		case <-ctx.Done():
		}
	}()

	hooks := startHooks(ctx, cfg.hooks)
	var errs []error
	hooksOver := false
	select {
	case errs = <-hooks:
		hooksOver = true
	case <-ctx.Done():
	}
	if ctx.Err() == nil {
		// Shutdown fails either because ctx ended (then Close below) or
		// because closing a listener failed after draining.
		if err := srv.Shutdown(ctx); err == nil || ctx.Err() == nil {
			if err != nil {
				err = fmt.Errorf("httpx: shutdown: %w", err)
			}
			cancel(nil)
			<-watcherDone
			<-s.Done()
			return errors.Join(append(errs, err, s.Wait())...)
		}
	}
	closeErr := srv.Close()
	<-s.Done()
	if !hooksOver {
		// ctx has ended: hooks that honour it return now. One that does
		// not is left running rather than stretch the bound.
		select {
		case errs = <-hooks:
		case <-time.After(hookGrace):
		}
	}
	errs = append(errs, fmt.Errorf("%w: %w", ErrForcedClose, context.Cause(ctx)), closeErr, s.Wait())
	cancel(nil)
	<-watcherDone
	return errors.Join(errs...)
}

// hookGrace is how long a forced shutdown waits for hooks to notice that
// their context ended.
const hookGrace = 100 * time.Millisecond

func startGraceful(srv *http.Server, cfg *gracefulConfig) (*Serving, error) {
	switch {
	case cfg.ln != nil && cfg.tls:
		return ServeTLS(context.Background(), srv, cfg.ln, cfg.cert, cfg.key)
	case cfg.ln != nil:
		return Serve(context.Background(), srv, cfg.ln)
	case cfg.tls:
		return ListenAndServeTLSAsync(srv, cfg.cert, cfg.key)
	default:
		return ListenAndServeAsync(srv)
	}
}

// startHooks runs the hooks in order on one goroutine, which ends when the
// last hook returns; it stops calling hooks once ctx ends.
func startHooks(ctx context.Context, hooks []ShutdownHook) <-chan []error {
	done := make(chan []error, 1)
	go func() {
		var errs []error
		for _, h := range hooks {
			if ctx.Err() != nil {
				break
			}
			if err := h(ctx); err != nil {
				errs = append(errs, fmt.Errorf("httpx: shutdown hook: %w", err))
			}
		}
		done <- errs
	}()
	return done
}
