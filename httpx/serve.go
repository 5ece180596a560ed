package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// Serving is a running server started by [ListenAndServeAsync],
// [ListenAndServeTLSAsync], [Serve] or [ServeTLS]. Its methods are safe for
// concurrent use.
//
// The serve goroutine is owned by the Serving: it ends when the server is shut
// down or closed (through the Serving, the [http.Server], or the context given
// to [Serve]) or when Serve fails, and [Serving.Wait] reports how it ended.
type Serving struct {
	srv    *http.Server
	addr   net.Addr
	scheme string
	done   chan struct{}
	err    error // written once before done is closed
}

// Addr returns the address the server is listening on, with the real port
// when it was started on port 0.
func (s *Serving) Addr() net.Addr { return s.addr }

// URL returns a base URL ("http://127.0.0.1:41234" or "https://...") that a
// client on this machine can dial. A wildcard listen address (":0", "[::]:0")
// is replaced by 127.0.0.1. For a non-TCP listener the host is the
// listener address's String().
func (s *Serving) URL() string {
	host := s.addr.String()
	if ta, ok := s.addr.(*net.TCPAddr); ok {
		ip := ta.IP
		switch {
		case ip == nil || ip.Equal(net.IPv4zero):
			ip = net.IPv4(127, 0, 0, 1)
		case ip.Equal(net.IPv6unspecified):
			// A dual-stack "[::]" listener also accepts IPv4, and IPv4
			// loopback exists on every host that has networking at all.
			ip = net.IPv4(127, 0, 0, 1)
		}
		host = net.JoinHostPort(ip.String(), strconv.Itoa(ta.Port))
	}
	return (&url.URL{Scheme: s.scheme, Host: host}).String()
}

// Done is closed when the server has stopped serving: Serve returned.
// Handlers that ignore their request context may still be running.
func (s *Serving) Done() <-chan struct{} { return s.done }

// Wait blocks until the server has stopped serving and returns nil if it was
// shut down or closed, or the error that ended Serve otherwise.
func (s *Serving) Wait() error {
	<-s.done
	return s.err
}

// Shutdown shuts the server down gracefully ([http.Server.Shutdown]): it stops
// accepting, then waits for active requests to finish. If ctx ends first it
// closes every connection ([http.Server.Close]) and returns ctx's error. In
// both cases it returns only after the serve goroutine has ended.
//
// Shutdown does not end streaming handlers that wait for their request
// context, nor hijacked connections; end those first (see
// [ListenAndServeGraceful] and its shutdown hooks), or rely on ctx's bound.
func (s *Serving) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	return err
}

// Close closes the listener and every connection at once
// ([http.Server.Close]) and waits for the serve goroutine to end.
func (s *Serving) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}

// ListenAndServeAsync listens on srv.Addr and serves srv in a new goroutine.
// It returns once the socket is listening, so a request sent right after it
// returns is accepted. A listen error is returned; a later serve error
// reaches the caller through [Serving.Wait]. Nothing is logged and the
// process is never exited.
//
// If srv.Addr asks for an ephemeral port (":0", "localhost:0", "[::1]:0", or
// "" — note that unlike [http.Server.ListenAndServe], an empty Addr means an
// ephemeral port, as it does for [net.Listen], not ":80"), srv.Addr is set to
// the real address before ListenAndServeAsync returns, for example
// "127.0.0.1:41234" or "[::]:41234".
func ListenAndServeAsync(srv *http.Server) (*Serving, error) {
	ln, err := listen(srv)
	if err != nil {
		return nil, err
	}
	return serve(context.Background(), srv, ln, "http", func() error { return srv.Serve(ln) })
}

// ListenAndServeTLSAsync is [ListenAndServeAsync] for HTTPS. certFile and
// keyFile are as for [http.Server.ListenAndServeTLS]; both may be empty if
// srv.TLSConfig has Certificates or GetCertificate. Certificate errors are
// returned before the socket is opened. srv.Addr is rewritten for ephemeral
// ports exactly as for plain HTTP.
func ListenAndServeTLSAsync(srv *http.Server, certFile, keyFile string) (*Serving, error) {
	if err := checkTLS(srv, certFile, keyFile); err != nil {
		return nil, err
	}
	ln, err := listen(srv)
	if err != nil {
		return nil, err
	}
	return serve(context.Background(), srv, ln, "https", func() error { return srv.ServeTLS(ln, certFile, keyFile) })
}

// Serve serves srv on a listener the caller has already opened (a systemd
// socket, a Unix socket, an in-memory listener in tests). It takes ownership
// of ln: ln is closed when the server stops. srv.Addr is left as it is.
//
// When ctx ends, the server is closed at once ([http.Server.Close]); use
// [Serving.Shutdown] or [ListenAndServeGraceful] for a graceful stop.
// Serve returns an error only if srv or ln is nil.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) (*Serving, error) {
	if srv == nil || ln == nil {
		return nil, errors.New("httpx: Serve needs a server and a listener")
	}
	return serve(ctx, srv, ln, "http", func() error { return srv.Serve(ln) })
}

// ServeTLS is [Serve] for HTTPS, with certFile and keyFile as for
// [ListenAndServeTLSAsync]. A certificate error is returned (and ln closed)
// before serving starts.
func ServeTLS(ctx context.Context, srv *http.Server, ln net.Listener, certFile, keyFile string) (*Serving, error) {
	if srv == nil || ln == nil {
		return nil, errors.New("httpx: ServeTLS needs a server and a listener")
	}
	if err := checkTLS(srv, certFile, keyFile); err != nil {
		ln.Close()
		return nil, err
	}
	return serve(ctx, srv, ln, "https", func() error { return srv.ServeTLS(ln, certFile, keyFile) })
}

// checkTLS loads the certificate up front so that a bad path or key is a
// returned error, not a later serve failure.
func checkTLS(srv *http.Server, certFile, keyFile string) error {
	if srv == nil {
		return errors.New("httpx: nil server")
	}
	if certFile != "" || keyFile != "" {
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			return fmt.Errorf("httpx: load TLS certificate: %w", err)
		}
		return nil
	}
	if srv.TLSConfig == nil || (len(srv.TLSConfig.Certificates) == 0 &&
		srv.TLSConfig.GetCertificate == nil && srv.TLSConfig.GetConfigForClient == nil) {
		return errors.New("httpx: TLS needs certFile and keyFile or srv.TLSConfig certificates")
	}
	return nil
}

// listen opens the TCP listener for srv.Addr and, for an ephemeral port,
// writes the real address back to srv.Addr.
func listen(srv *http.Server) (net.Listener, error) {
	if srv == nil {
		return nil, errors.New("httpx: nil server")
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return nil, fmt.Errorf("httpx: listen: %w", err)
	}
	if ephemeral(srv.Addr) {
		srv.Addr = ln.Addr().String()
	}
	return ln, nil
}

// ephemeral reports whether addr asks the kernel to pick the port.
func ephemeral(addr string) bool {
	if addr == "" {
		return true
	}
	_, port, err := net.SplitHostPort(addr)
	return err == nil && (port == "" || port == "0")
}

func serve(ctx context.Context, srv *http.Server, ln net.Listener, scheme string, run func() error) (*Serving, error) {
	s := &Serving{srv: srv, addr: ln.Addr(), scheme: scheme, done: make(chan struct{})}
	// Close the server when ctx ends. AfterFunc starts no goroutine unless
	// ctx ends, and stop releases it when serving ends first.
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	go func() {
		defer close(s.done)
		err := run()
		stop()
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("httpx: serve: %w", err)
		}
		s.err = err
	}()
	return s, nil
}
