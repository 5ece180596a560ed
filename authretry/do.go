package authretry

import (
	"context"
	"net/http"
)

// AuthRetryConfig holds the hooks of DoWithAuthRetry. Each hook is called
// at most once per DoWithAuthRetry call.
type AuthRetryConfig struct {
	// SetAuth adds credentials to every request built, before it is sent.
	// Nil: requests are sent as built.
	SetAuth func(req *http.Request) error
	// OnUnauthorized runs after a 401, with the response already read into
	// e (body closed). Returning nil means "credentials refreshed, try
	// again"; an error ends the call with an *Error wrapping
	// ErrUnauthorized and that error. Nil: a 401 ends the call.
	OnUnauthorized func(ctx context.Context, e *Error) error
	// OnForbidden runs after a 403 whose Bearer challenge says
	// error="insufficient_scope" (any other 403 ends the call without it),
	// with the union of every scope challenged so far in this call.
	// Returning nil means "stepped up, try again". Nil: a 403 ends the call.
	OnForbidden func(ctx context.Context, e *Error, scopes []string) error
}

// DoWithAuthRetry sends the request buildReq makes, through do, and
// recovers from one 401 and one insufficient_scope 403 by calling the hooks
// and sending a freshly built request: at most three requests in all.
// buildReq is called once per attempt, so request bodies need no GetBody.
//
// A 401 or 403 it cannot recover from ends in an *Error (wrapping
// ErrUnauthorized, ErrForbidden or ErrStepUpRepeated), with at most
// MaxErrorBodySize bytes of the body and the parsed challenges; any other
// response, successful or not, is returned as is for the caller to read
// and close. do nil means a client with CheckRedirect.
//
// It is the stateless cousin of Transport: the hooks own the token. Use a
// Transport to share one token, and one refresh, among concurrent callers.
func DoWithAuthRetry(ctx context.Context, cfg AuthRetryConfig, buildReq func(ctx context.Context) (*http.Request, error), do func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	if do == nil {
		do = (&http.Client{CheckRedirect: CheckRedirect}).Do
	}
	var unauthorized, forbidden bool
	var scopes []string
	for {
		req, err := buildReq(ctx)
		if err != nil {
			return nil, err
		}
		if req.Context() != ctx {
			req = req.WithContext(ctx)
		}
		if cfg.SetAuth != nil {
			if err := cfg.SetAuth(req); err != nil {
				closeBody(req)
				return nil, err
			}
		}
		token := tokenFromHeader(req.Header.Get("Authorization"))
		resp, err := do(req)
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			e := readError(resp, token)
			e.Kind = ErrUnauthorized
			if unauthorized || cfg.OnUnauthorized == nil {
				return nil, e
			}
			unauthorized = true
			if err := cfg.OnUnauthorized(ctx, e); err != nil {
				e.Cause = err
				return nil, e
			}
		case http.StatusForbidden:
			e := readError(resp, token)
			e.Kind = ErrForbidden
			b, ok := e.Bearer()
			if !ok || b.Error != ErrorInsufficientScope || cfg.OnForbidden == nil {
				return nil, e
			}
			if forbidden {
				e.Kind = ErrStepUpRepeated
				return nil, e
			}
			forbidden = true
			scopes = union(scopes, b.Scope)
			if err := cfg.OnForbidden(ctx, e, append([]string(nil), scopes...)); err != nil {
				e.Cause = err
				return nil, e
			}
		default:
			return resp, nil
		}
	}
}
