package httpstream

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// UpgradeRoundTripper is an http.RoundTripper that sends upgrade requests
// and turns their 101 answers into Connections.
type UpgradeRoundTripper interface {
	http.RoundTripper
	// NewConnection returns the Connection of a response from RoundTrip. A
	// response other than 101 with the SPDY/3.1 upgrade headers yields an
	// *UpgradeFailureError carrying the server's message.
	NewConnection(resp *http.Response) (Connection, error)
}

// RoundTripperConfig configures a RoundTripper.
type RoundTripperConfig struct {
	// TLSClientConfig is used for https URLs (ALPN is forced to http/1.1:
	// upgrades do not exist in HTTP/2). Nil means a default config.
	TLSClientConfig *tls.Config
	// Proxy picks a proxy per request; nil means http.ProxyFromEnvironment.
	// http and https proxies are reached with CONNECT; the proxy URL's
	// user info becomes Basic Proxy-Authorization.
	Proxy func(*http.Request) (*url.URL, error)
	// DialContext dials TCP; nil means a net.Dialer with a 30 s timeout.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Conn configures the connections NewConnection starts.
	Conn *Config
	// Carrier selects how Dial reaches the server; the default,
	// CarrierAuto, tries WebSocket first and falls back to the SPDY/3.1
	// upgrade when the server answers anything but 101.
	Carrier Carrier
}

// Carrier is the way the SPDY byte stream reaches the server.
type Carrier int

const (
	// CarrierAuto tries CarrierWebSocket, then CarrierSPDY.
	CarrierAuto Carrier = iota
	// CarrierSPDY is "Upgrade: SPDY/3.1" with X-Stream-Protocol-Version.
	CarrierSPDY
	// CarrierWebSocket is a WebSocket with subprotocols "SPDY/3.1+<p>"
	// (what k8s port-forward uses and what L7 proxies pass).
	CarrierWebSocket
)

// RoundTripper dials the server itself (always HTTP/1.1), sends the upgrade
// request and keeps the connection for NewConnection. It is safe for
// concurrent use: each response is matched to its own connection.
type RoundTripper struct {
	cfg RoundTripperConfig

	mu      sync.Mutex
	pending map[*http.Response]*pendingConn
}

type pendingConn struct {
	nc net.Conn
	br *bufio.Reader
}

var _ UpgradeRoundTripper = (*RoundTripper)(nil)

// NewRoundTripper returns a RoundTripper.
func NewRoundTripper(cfg RoundTripperConfig) *RoundTripper {
	return &RoundTripper{cfg: cfg, pending: make(map[*http.Response]*pendingConn)}
}

// RoundTrip sends req with the SPDY/3.1 upgrade headers. The caller passes
// the response to NewConnection (which also releases it on failure).
func (rt *RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(HeaderConnection, "Upgrade")
	req.Header.Set(HeaderUpgrade, ProtocolSPDY31)
	nc, err := rt.dial(req)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(req.Context(), func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := req.Write(nc); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("httpstream: writing upgrade request: %w", err)
	}
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("httpstream: reading upgrade response: %w", err)
	}
	if !stop() {
		_ = nc.Close()
		return nil, req.Context().Err()
	}
	rt.mu.Lock()
	rt.pending[resp] = &pendingConn{nc: nc, br: br}
	rt.mu.Unlock()
	return resp, nil
}

// NewConnection starts a client Connection on a 101 response from
// RoundTrip, or returns the server's refusal as an *UpgradeFailureError.
func (rt *RoundTripper) NewConnection(resp *http.Response) (Connection, error) {
	return rt.newConn(resp)
}

func (rt *RoundTripper) newConn(resp *http.Response) (*Conn, error) {
	rt.mu.Lock()
	p := rt.pending[resp]
	delete(rt.pending, resp)
	rt.mu.Unlock()
	if p == nil {
		return nil, errors.New("httpstream: response did not come from this RoundTripper")
	}
	if resp.StatusCode != http.StatusSwitchingProtocols ||
		!headerHasToken(resp.Header, HeaderConnection, "upgrade") ||
		!headerHasToken(resp.Header, HeaderUpgrade, ProtocolSPDY31) {
		defer p.nc.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, &UpgradeFailureError{StatusCode: resp.StatusCode, Cause: errors.New(failureMessage(resp, body))}
	}
	_ = p.nc.SetDeadline(time.Time{})
	return newConn(p.nc, p.br, false, rt.cfg.Conn.withDefaults())
}

// failureMessage extracts the server's explanation: the message of a k8s
// Status object when the body is one, else the body text, else the status.
func failureMessage(resp *http.Response, body []byte) string {
	var status struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &status) == nil && status.Message != "" {
		return status.Message
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		return fmt.Sprintf("%s: %s", resp.Status, s)
	}
	return resp.Status
}

func (rt *RoundTripper) dialContext(ctx context.Context, addr string) (net.Conn, error) {
	if rt.cfg.DialContext != nil {
		return rt.cfg.DialContext(ctx, "tcp", addr)
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" || u.Scheme == "wss" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func (rt *RoundTripper) tlsConfig(serverName string) *tls.Config {
	var cfg *tls.Config
	if rt.cfg.TLSClientConfig != nil {
		cfg = rt.cfg.TLSClientConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// dial connects to req's host, through a proxy if one applies, and starts
// TLS for https.
func (rt *RoundTripper) dial(req *http.Request) (net.Conn, error) {
	ctx := req.Context()
	proxy := rt.cfg.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	pu, err := proxy(req)
	if err != nil {
		return nil, fmt.Errorf("httpstream: proxy: %w", err)
	}
	target := hostPort(req.URL)
	var nc net.Conn
	if pu == nil {
		nc, err = rt.dialContext(ctx, target)
	} else {
		nc, err = rt.dialProxy(ctx, pu, target)
	}
	if err != nil {
		return nil, err
	}
	if req.URL.Scheme != "https" {
		return nc, nil
	}
	tc := tls.Client(nc, rt.tlsConfig(req.URL.Hostname()))
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("httpstream: TLS handshake: %w", err)
	}
	return tc, nil
}

// dialProxy opens a CONNECT tunnel to target through an http or https proxy.
func (rt *RoundTripper) dialProxy(ctx context.Context, pu *url.URL, target string) (net.Conn, error) {
	if pu.Scheme != "http" && pu.Scheme != "https" {
		return nil, fmt.Errorf("httpstream: unsupported proxy scheme %q", pu.Scheme)
	}
	nc, err := rt.dialContext(ctx, hostPort(pu))
	if err != nil {
		return nil, fmt.Errorf("httpstream: dialing proxy: %w", err)
	}
	if pu.Scheme == "https" {
		tc := tls.Client(nc, rt.tlsConfig(pu.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("httpstream: TLS to proxy: %w", err)
		}
		nc = tc
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	connect := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: target},
		Host:   target,
		Header: http.Header{},
	}
	if pu.User != nil {
		pass, _ := pu.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(pu.User.Username() + ":" + pass))
		connect.Header.Set("Proxy-Authorization", "Basic "+cred)
	}
	if err := connect.Write(nc); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("httpstream: CONNECT: %w", err)
	}
	br := bufio.NewReaderSize(nc, 1024)
	resp, err := http.ReadResponse(br, connect)
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("httpstream: CONNECT: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_ = nc.Close()
		return nil, fmt.Errorf("httpstream: proxy refused CONNECT: %s", resp.Status)
	}
	if br.Buffered() > 0 {
		// The proxy must not speak before the tunnel's client does.
		_ = nc.Close()
		return nil, errors.New("httpstream: proxy sent data after CONNECT")
	}
	return nc, nil
}

// Dial connects to rawURL offering protocols (most preferred first) and
// returns the connection and the protocol the server chose. With
// CarrierAuto it tries the WebSocket carrier (a GET) first and, when the
// server refuses it with any non-101 answer, the SPDY/3.1 upgrade with
// method.
func (rt *RoundTripper) Dial(ctx context.Context, method, rawURL string, header http.Header, protocols ...string) (*Conn, string, error) {
	if rt.cfg.Carrier != CarrierSPDY {
		c, p, err := rt.dialWebSocket(ctx, rawURL, header, protocols)
		if err == nil || rt.cfg.Carrier == CarrierWebSocket || !IsUpgradeFailure(err) {
			return c, p, err
		}
	}
	return rt.dialSPDY(ctx, method, rawURL, header, protocols)
}

func (rt *RoundTripper) dialSPDY(ctx context.Context, method, rawURL string, header http.Header, protocols []string) (*Conn, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, "", err
	}
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	for _, p := range protocols {
		req.Header.Add(HeaderProtocolVersion, p)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	c, err := rt.newConn(resp)
	if err != nil {
		return nil, "", err
	}
	c.protocol = resp.Header.Get(HeaderProtocolVersion)
	return c, c.protocol, nil
}

// dialWebSocket opens the WebSocket carrier.
func (rt *RoundTripper) dialWebSocket(ctx context.Context, rawURL string, header http.Header, protocols []string) (*Conn, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	var keyRaw [16]byte
	_, _ = rand.Read(keyRaw[:])
	key := base64.StdEncoding.EncodeToString(keyRaw[:])
	offered := make([]string, len(protocols))
	for i, p := range protocols {
		offered[i] = wsProtoPrefix + p
	}
	req.Header.Set(HeaderConnection, "Upgrade")
	req.Header.Set(HeaderUpgrade, "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", key)
	if len(offered) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(offered, ", "))
	}
	nc, err := rt.dial(req)
	if err != nil {
		return nil, "", err
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := req.Write(nc); err != nil {
		_ = nc.Close()
		return nil, "", fmt.Errorf("httpstream: writing websocket request: %w", err)
	}
	br := bufio.NewReaderSize(nc, 16<<10)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		_ = nc.Close()
		return nil, "", fmt.Errorf("httpstream: reading websocket response: %w", err)
	}
	chosen := resp.Header.Get("Sec-WebSocket-Protocol")
	if resp.StatusCode != http.StatusSwitchingProtocols || !headerHasToken(resp.Header, HeaderUpgrade, "websocket") {
		defer nc.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, "", &UpgradeFailureError{StatusCode: resp.StatusCode, Cause: errors.New(failureMessage(resp, body))}
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) || !slices.Contains(offered, chosen) {
		_ = nc.Close()
		return nil, "", errors.New("httpstream: invalid websocket handshake response")
	}
	if !stop() {
		_ = nc.Close()
		return nil, "", ctx.Err()
	}
	_ = nc.SetDeadline(time.Time{})
	c, err := newConn(newWSConn(nc, br, true), nil, false, rt.cfg.Conn.withDefaults())
	if err != nil {
		return nil, "", err
	}
	c.protocol = strings.TrimPrefix(chosen, wsProtoPrefix)
	return c, c.protocol, nil
}

// NewDialer returns a Dialer that sends method requests to u through rt.
func NewDialer(rt *RoundTripper, method string, u *url.URL) Dialer {
	return &dialer{rt: rt, method: method, url: u.String()}
}

type dialer struct {
	rt     *RoundTripper
	method string
	url    string
}

func (d *dialer) Dial(protocols ...string) (Connection, string, error) {
	c, p, err := d.rt.Dial(context.Background(), d.method, d.url, nil, protocols...)
	if err != nil {
		return nil, "", err
	}
	return c, p, nil
}
