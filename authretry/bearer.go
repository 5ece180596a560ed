package authretry

import "strings"

// Bearer error codes from RFC 6750 §3.1.
const (
	// ErrorInvalidRequest: the request is malformed; retrying will not help.
	ErrorInvalidRequest = "invalid_request"
	// ErrorInvalidToken: the token is expired, revoked or malformed; refresh.
	ErrorInvalidToken = "invalid_token"
	// ErrorInsufficientScope: the token lacks scopes; step up.
	ErrorInsufficientScope = "insufficient_scope"
)

// Bearer holds the fields of a Bearer challenge (RFC 6750 §3, RFC 9728 §5.1).
// Error codes and scope tokens are case-sensitive and kept as sent.
type Bearer struct {
	Realm            string
	Scope            []string // the space-separated scope parameter, split
	Error            string   // "invalid_token", "insufficient_scope", ...
	ErrorDescription string
	ErrorURI         string
	// ResourceMetadata is the RFC 9728 protected resource metadata URL.
	ResourceMetadata string
}

// Bearer returns the Bearer fields of c, and false if c is not a Bearer
// challenge. A bare "Bearer" with no parameters is accepted (ok is true,
// every field empty).
func (c Challenge) Bearer() (Bearer, bool) {
	if !c.Is("Bearer") {
		return Bearer{}, false
	}
	var b Bearer
	b.Realm, _ = c.Param("realm")
	if s, ok := c.Param("scope"); ok {
		b.Scope = strings.Fields(s)
	}
	b.Error, _ = c.Param("error")
	b.ErrorDescription, _ = c.Param("error_description")
	b.ErrorURI, _ = c.Param("error_uri")
	b.ResourceMetadata, _ = c.Param("resource_metadata")
	return b, true
}

// FindBearer returns the first Bearer challenge in cs, wherever it appears
// in the list. Fields are read from that challenge only, never from a
// neighbouring challenge of another scheme.
func FindBearer(cs []Challenge) (Bearer, bool) {
	for _, c := range cs {
		if b, ok := c.Bearer(); ok {
			return b, true
		}
	}
	return Bearer{}, false
}
