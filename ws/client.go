package ws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
)

// DialOptions configure Dial and Redial. The zero value is usable.
type DialOptions struct {
	// Options are the connection's options (timeouts, limits, queue,
	// compression, requested subprotocols); server-only fields are ignored.
	Options
	// Header is sent with the opening handshake (Origin, Authorization,
	// cookies).
	Header http.Header
	// Proxy returns the proxy for a request; nil uses
	// http.ProxyFromEnvironment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). gorilla
	// v1.5.3 dials http:// proxies (CONNECT, with Proxy-Authorization from
	// the URL's user info) and socks5:// proxies; it cannot dial an https://
	// proxy, and such a URL fails the dial. wss:// through an http:// proxy
	// is TLS end to end inside the tunnel.
	Proxy func(*http.Request) (*url.URL, error)
	// TLSClientConfig is used for wss:// URLs (nil: defaults).
	TLSClientConfig *tls.Config
	// NetDialContext dials the TCP connection (nil: net.Dialer).
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// HandshakeError is returned by Dial when the server answered the opening
// handshake with something other than 101.
type HandshakeError struct {
	StatusCode int
	Err        error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("ws: handshake failed with HTTP %d: %v", e.StatusCode, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// Dial opens a client connection to url (ws:// or wss://) and runs sess on
// it exactly as a Server runs an accepted one: same hooks, codec, queue,
// pings and close handshake. ctx bounds the handshake only; use Conn.Close,
// or cancel through Conn.Context, to end the connection.
func Dial[I, O any](ctx context.Context, url string, c codec.Codec[I, O], sess Session[I, O], opts *DialOptions) (*Conn[I, O], error) {
	var d dialer
	d.init(opts)
	return dialWith(ctx, &d, url, c, sess)
}

type dialer struct {
	env    *env
	d      websocket.Dialer
	header http.Header
	nextID atomic.Uint64
}

func (d *dialer) init(opts *DialOptions) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	d.env = newEnv(&o.Options)
	e := d.env.opts
	proxy := o.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	d.header = o.Header
	d.d = websocket.Dialer{
		NetDialContext:    o.NetDialContext,
		Proxy:             proxy,
		TLSClientConfig:   o.TLSClientConfig,
		HandshakeTimeout:  e.HandshakeTimeout,
		ReadBufferSize:    e.ReadBufferSize,
		WriteBufferSize:   e.WriteBufferSize,
		WriteBufferPool:   &d.env.writePool,
		Subprotocols:      e.Subprotocols,
		EnableCompression: e.Compression,
	}
}

func dialWith[I, O any](ctx context.Context, d *dialer, url string, c codec.Codec[I, O], sess Session[I, O]) (*Conn[I, O], error) {
	if sess == nil {
		return nil, errors.New("ws: Dial with a nil Session")
	}
	// A per-dial copy of the dialer wraps the TCP connection for batched
	// writes (under TLS too: the batch then holds TLS records).
	dd := d.d
	var bc *batchConn
	dial := dd.NetDialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	dd.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		bc = newBatchConn(c, &d.env.batchPool)
		return bc, nil
	}
	wc, resp, err := dd.DialContext(ctx, url, d.header)
	if err != nil {
		if resp != nil {
			_ = resp.Body.Close()
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Err: err}
		}
		return nil, fmt.Errorf("ws: dial %s: %w", url, err)
	}
	conn := newConn(d.env, d.nextID.Add(1), wc, bc, c, sess)
	go conn.run()
	return conn, nil
}

// Backoff is the wait between Redial's attempts: it starts at Min, doubles
// after every failure up to Max, and each wait is shortened by a random
// fraction of up to Jitter (0..1) so that many clients cut off together do
// not come back together. Zero fields default to 100ms, 30s and 0.5.
type Backoff struct {
	Min, Max time.Duration
	Jitter   float64
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = max(30*time.Second, b.Min)
	}
	if b.Jitter <= 0 || b.Jitter > 1 {
		b.Jitter = 0.5
	}
	return b
}

// delay is the wait before attempt n (0-based) after failures.
func (b Backoff) delay(n int) time.Duration {
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d - time.Duration(rand.Float64()*b.Jitter*float64(d))
}

// Redial keeps a client connection to url up until ctx is done: it dials,
// runs the Session newSession returns for that attempt, and when the connection ends, waits
// per b and dials again. attempt is the number of consecutive failed dials
// before this one; the wait grows with it and starts over after a
// successful connection. When ctx is done it closes the current connection
// with 1001, waits for its OnClose, and returns ctx.Err().
func Redial[I, O any](ctx context.Context, url string, c codec.Codec[I, O], newSession func(attempt int) Session[I, O], opts *DialOptions, b Backoff) error {
	b = b.withDefaults()
	var d dialer
	d.init(opts)
	failures := 0 // consecutive failed dials
	for {
		conn, err := dialWith(ctx, &d, url, c, newSession(failures))
		var wait time.Duration
		if err == nil {
			failures = 0
			select {
			case <-conn.Done():
			case <-ctx.Done():
				_ = conn.Close(CloseGoingAway, "client going away")
				<-conn.Done()
				return ctx.Err()
			}
			wait = b.delay(0)
		} else {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if l := d.env.opts.Logger; l != nil {
				l.Debug("ws: redial failed", "url", url, "err", err)
			}
			wait = b.delay(failures)
			failures++
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
