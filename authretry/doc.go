// Package authretry is an HTTP client side for bearer-token APIs (OAuth 2.0
// resource servers, MCP servers): it attaches the token, refreshes it once on
// 401, steps up its scopes once on 403 insufficient_scope, waits out a
// bounded Retry-After on 429/503, and never leaks the token to another
// origin.
//
// # Entry points
//
//   - [NewClient] (or [NewTransport] and [Transport.Client]): an
//     [http.RoundTripper] that does all of the above for every request sent
//     through it, sharing one token and one refresh among concurrent callers.
//   - [DoWithAuthRetry]: the stateless, callback-driven form: it builds a
//     new request per attempt and calls your hooks on 401 and on
//     insufficient_scope 403; the hooks own the token.
//   - [ParseWWWAuthenticate], [Challenge.Bearer], [FindBearer]: an RFC 9110
//     §11.6.1 / RFC 6750 §3 challenge parser.
//   - [FetchResourceMetadata], [ResourceMetadataURL]: RFC 9728 protected
//     resource metadata, where a 401's resource_metadata points.
//   - [ReadError]: a response read into a typed, redacted [*Error].
//
// # The retry policy of a Transport
//
// Every attempt sends a clone of the caller's request; the caller's request
// (header, URL, body) is never modified and its body is always closed. A
// request is only ever sent again if its body can be replayed: no body,
// [http.NoBody], or GetBody set (http.NewRequest sets it for bytes.Buffer,
// bytes.Reader and strings.Reader bodies). Otherwise the first response is
// returned as is, whatever its status.
//
//   - 401 from the configured origin, with Config.Refresh set: Refresh is
//     called with the token the request carried. Concurrent callers that
//     got a 401 for the same token share one call (single flight), and the
//     swap is compare-and-swap: a 401 for a token that has already been
//     replaced just retries with the current one, without a refresh. The
//     shared call runs on a context detached from the callers' (values kept,
//     cancellation dropped) bounded by RefreshTimeout, so one caller giving
//     up does not fail the others; that caller gets its own context error at
//     once. Exactly one retry: a second 401 is an [*Error] wrapping
//     [ErrUnauthorized].
//   - 403 whose Bearer challenge says error="insufficient_scope", with
//     Config.StepUp set: StepUp is called with the union of the scopes held
//     (Config.Scopes plus earlier step-ups) and the challenged ones. One
//     retry. A successful step-up is remembered per (method, URL without
//     query, scope set), so a server that keeps asking for the same scopes
//     gets [ErrStepUpRepeated] instead of a loop; the memory is bounded (the
//     1024 most recent entries are kept). Any other 403 is returned as is.
//   - 429 or 503 with Retry-After (delta-seconds or an HTTP-date): the
//     Transport waits on the request's context and retries, only for
//     requests that are safe to repeat (GET, HEAD, OPTIONS, TRACE, or an
//     Idempotency-Key / X-Idempotency-Key header; Config.Replayable
//     overrides this), at most MaxRateLimitRetries times. A wait longer
//     than MaxRetryAfter (30s by default), or one that would outlast the
//     context's deadline, is not started: the response is returned as is,
//     so the caller sees the server's Retry-After. A missing or malformed
//     Retry-After is no retry.
//
// Hook failures end in an [*Error] wrapping the sentinel and the hook's
// error (errors.Is sees both). Responses the Transport does not act on are
// returned untouched for the caller to read and close; [ReadError] turns
// one into an [*Error].
//
// # Concurrency
//
// A [Transport] is safe for concurrent use. Its token is shared by every
// request; [Transport.Token], [Transport.SetToken] and [Transport.Scopes]
// may be called at any time. Refresh and StepUp are never called
// concurrently for the same stale token or the same scope set, but a
// refresh and a step-up may overlap. The goroutine that runs a shared hook
// belongs to the Transport; it ends when the hook returns, even if every
// caller waiting on it has gone. Hooks must honour their context, which
// ends at RefreshTimeout or StepUpTimeout.
//
// # Memory
//
// Error bodies are read to at most [MaxErrorBodySize] (16 KiB) plus a
// bounded drain for connection reuse; successful and streaming bodies are
// never buffered. WWW-Authenticate values over [MaxWWWAuthenticateLength]
// are refused. Metadata documents are capped at [MaxMetadataSize] (1 MiB).
// The step-up memory holds at most 1024 keys.
//
// # Security
//
// Origins. The token goes only to Config.Origin: the same scheme, host and
// port (default ports normalised, host compared without case). http.Client
// calls RoundTrip once per redirect hop, and that per-hop check is what keeps
// a redirect to another host, another port or plain http from carrying the
// token (golang.org/x/oauth2's Transport re-adds it on every hop). A token
// the caller copied into a request for another origin by hand is removed.
// Config.Origin must be https, or http to a loopback host.
//
// Redirects. A redirect from https to anything else is refused with
// [ErrInsecureRedirect], twice over: [CheckRedirect] (set by NewClient and
// Transport.Client) refuses it before the request is built, and the
// Transport refuses it again on its own for clients that lack the policy.
// A 401 or 403 from another origin never triggers a refresh or a step-up.
//
// Redaction. An [*Error] never holds the token: every token the Transport
// knows (the one sent and the current one) is replaced by "[REDACTED]" in
// Body, in Header values and in the parsed Challenges; Body also loses
// anything shaped like "Bearer <token68>"; Authorization,
// Proxy-Authorization, Cookie and Set-Cookie header values are replaced
// outright. A token split by the MaxErrorBodySize cut is removed too. Error.URL drops the query, fragment and user info.
// Note that http.Client wraps RoundTrip errors in a *url.Error that quotes
// the request URL as given, query included: do not put tokens in URLs. Debug
// logs (Config.Logger) carry the origin, method and redacted URL only.
//
// Metadata. [FetchResourceMetadata] sends no credentials, accepts only
// https (or loopback http) for the document, every redirect and every
// authorization server it lists, and requires "resource" to equal the
// resource the caller expected (RFC 9728 §3.3), so a hostile server cannot
// point a client at someone else's authorization server.
//
// # Shutdown
//
// A Transport holds no resources of its own beyond the base transport's
// connections ([Transport.CloseIdleConnections] forwards to it) and the
// goroutines of hooks in flight, which end with the hooks. A Retry-After
// wait ends when the request's context does.
package authretry
