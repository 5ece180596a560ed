package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"time"
)

// WaitOption configures [WaitForURL].
type WaitOption func(*waitConfig)

type waitConfig struct {
	client     *http.Client
	roots      *x509.CertPool
	initial    time.Duration
	max        time.Duration
	tryTimeout time.Duration
	validate   func(*http.Response) error
}

// WithWaitClient sends the probes with c (for its transport, proxy or TLS
// settings). c's own Timeout still applies on top of the per-try timeout.
func WithWaitClient(c *http.Client) WaitOption {
	return func(w *waitConfig) { w.client = c }
}

// WithRootCAs verifies the server's certificate against roots instead of the
// system pool (a test CA, a self-signed development certificate).
// Verification is never turned off. Ignored when [WithWaitClient] is given.
func WithRootCAs(roots *x509.CertPool) WaitOption {
	return func(w *waitConfig) { w.roots = roots }
}

// WithBackoff sets the delay before the second try (initial, default 50ms)
// and its upper bound (max, default 2s); the delay doubles after each failed
// try. Values <= 0 keep the defaults.
func WithBackoff(initial, max time.Duration) WaitOption {
	return func(w *waitConfig) {
		if initial > 0 {
			w.initial = initial
		}
		if max > 0 {
			w.max = max
		}
	}
}

// WithTryTimeout bounds each probe (default 5s), so one hung connection does
// not eat the whole wait.
func WithTryTimeout(d time.Duration) WaitOption {
	return func(w *waitConfig) {
		if d > 0 {
			w.tryTimeout = d
		}
	}
}

// WithValidate replaces the per-try check. It is called with each response
// (its body is readable and closed afterwards); a nil error ends the wait.
// The default accepts any 2xx status.
func WithValidate(f func(*http.Response) error) WaitOption {
	return func(w *waitConfig) {
		if f != nil {
			w.validate = f
		}
	}
}

// WaitForURL polls url with GET until a response passes validation, ctx
// ends, or a probe fails in a way retrying cannot fix (a malformed URL).
// Between tries it backs off exponentially. TLS certificates are verified.
//
// On ctx's end it returns an error wrapping ctx's error and the last probe's
// error, so "connection refused" and "x509: certificate signed by unknown
// authority" are visible to the caller.
func WaitForURL(ctx context.Context, url string, opts ...WaitOption) error {
	cfg := waitConfig{
		initial:    50 * time.Millisecond,
		max:        2 * time.Second,
		tryTimeout: 5 * time.Second,
		validate:   validate2xx,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.max < cfg.initial {
		cfg.max = cfg.initial
	}
	client := cfg.client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.roots != nil {
			tr.TLSClientConfig = &tls.Config{RootCAs: cfg.roots, MinVersion: tls.VersionTLS12}
		}
		// Every probe starts fresh, so nothing idles after we return.
		tr.DisableKeepAlives = true
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}
	if _, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil); err != nil {
		return fmt.Errorf("httpx: wait for URL: %w", err)
	}

	delay := cfg.initial
	var timer *time.Timer
	var lastErr error
	for try := 1; ; try++ {
		err := probe(ctx, client, url, cfg.tryTimeout, cfg.validate)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			// A probe cut short by ctx says less than the one before it.
			if lastErr == nil {
				lastErr = err
			}
			return fmt.Errorf("httpx: wait for %s: %w after %d tries; last error: %w", url, ctx.Err(), try, lastErr)
		}
		lastErr = err
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("httpx: wait for %s: %w after %d tries; last error: %w", url, ctx.Err(), try, lastErr)
		case <-timer.C:
		}
		delay = min(delay*2, cfg.max)
	}
}

func probe(ctx context.Context, c *http.Client, url string, timeout time.Duration, validate func(*http.Response) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() {
		// Drain a little so a keep-alive connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	return validate(resp)
}

func validate2xx(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return NewHTTPStatusError(resp)
}
