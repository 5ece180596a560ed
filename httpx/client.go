package httpx

import (
	"net"
	"net/http"
	"time"
)

// The presets below return a new *http.Client with its own
// *http.Transport each time they are called, so tuning or closing one never
// affects another; keep and reuse the client you make. All of them verify
// TLS, honour HTTP(S)_PROXY from the environment, try HTTP/2, dial with a
// 5 s timeout and 30 s TCP keep-alive, and allow 10 s for the TLS
// handshake. Their overall Client.Timeout also bounds reading the body, so
// do not use them for streams: use [NewStreamingClient].

// NewLowRateClient is for a few requests a minute (health checks, webhooks,
// token refresh): Timeout 30 s; at most 2 idle connections per host and 10
// in all, dropped after 30 s idle.
func NewLowRateClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: newTransport(10, 2, 0, 30*time.Second)}
}

// NewMediumRateClient is for steady traffic to a few hosts (tens of
// requests a second): Timeout 15 s; at most 16 idle connections per host
// and 64 in all, dropped after 90 s idle.
func NewMediumRateClient() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: newTransport(64, 16, 0, 90*time.Second)}
}

// NewHighRateClient is for hundreds of requests a second or more to a few
// hosts (service to service): Timeout 10 s; at most 128 idle connections
// per host and 512 in all, dropped after 90 s idle, with a 10 s limit on
// waiting for response headers. There is no cap on open connections per
// host; add one (Transport.MaxConnsPerHost) to protect a fragile backend.
func NewHighRateClient() *http.Client {
	t := newTransport(512, 128, 0, 90*time.Second)
	t.ResponseHeaderTimeout = 10 * time.Second
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}

// NewStreamingClient is for long-lived responses (SSE, long polls, NDJSON):
// no overall Timeout (end a stream with its request context), but 10 s to
// get response headers; at most 4 idle connections per host and 16 in all,
// dropped after 90 s idle.
func NewStreamingClient() *http.Client {
	t := newTransport(16, 4, 0, 90*time.Second)
	t.ResponseHeaderTimeout = 10 * time.Second
	return &http.Client{Transport: t}
}

func newTransport(maxIdle, maxIdlePerHost, maxPerHost int, idle time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxIdle,
		MaxIdleConnsPerHost:   maxIdlePerHost,
		MaxConnsPerHost:       maxPerHost,
		IdleConnTimeout:       idle,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
