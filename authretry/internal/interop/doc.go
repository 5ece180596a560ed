// Package interop tests authretry against golang.org/x/oauth2: a real
// refresh-token grant behind the Transport's Refresh hook, and oauth2's own
// Transport side by side on the cases it does not cover (server-side
// revocation, cross-host redirects). It is a nested module so oauth2 never
// enters authretry's go.mod.
package interop
