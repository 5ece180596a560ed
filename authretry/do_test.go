package authretry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// authServer: 401 unless "Bearer <refreshed>", then 403 insufficient_scope
// unless "Bearer <stepped>", then 200 echoing the body.
func authServer(t *testing.T, hits *atomic.Int64) string {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.Header.Get("Authorization") {
		case "Bearer stepped-up-token":
			body, _ := io.ReadAll(r.Body)
			_, _ = w.Write(body)
		case "Bearer refreshed-token":
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="write"`)
			w.WriteHeader(http.StatusForbidden)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "rejected "+r.Header.Get("Authorization"))
		}
	}))
	return srv.URL
}

func TestDoWithAuthRetryRefreshThenStepUp(t *testing.T) {
	var hits atomic.Int64
	url := authServer(t, &hits)
	token := "stale-token-abcdef"
	var builds int
	cfg := AuthRetryConfig{
		SetAuth: func(req *http.Request) error { req.Header.Set("Authorization", "Bearer "+token); return nil },
		OnUnauthorized: func(ctx context.Context, e *Error) error {
			assert.Equal(t, http.StatusUnauthorized, e.StatusCode)
			assert.NotContains(t, string(e.Body), "stale-token-abcdef", "body redacted before the hook sees it")
			token = "refreshed-token"
			return nil
		},
		OnForbidden: func(ctx context.Context, e *Error, scopes []string) error {
			assert.Equal(t, []string{"write"}, scopes)
			token = "stepped-up-token"
			return nil
		},
	}
	base := newBase(t)
	client := &http.Client{Transport: base}
	resp, err := DoWithAuthRetry(context.Background(), cfg, func(ctx context.Context) (*http.Request, error) {
		builds++
		return http.NewRequestWithContext(ctx, http.MethodPost, url, &trackedBody{Reader: strings.NewReader("hello")})
	}, client.Do)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "hello", string(body), "each attempt has a freshly built body")
	assert.Equal(t, 3, builds)
	assert.EqualValues(t, 3, hits.Load(), "at most three requests")
}

func TestDoWithAuthRetryGivesUp(t *testing.T) {
	var hits atomic.Int64
	url := authServer(t, &hits)
	build := func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
	client := &http.Client{Transport: newBase(t)}

	// Second 401: typed error, the hook ran once.
	var calls int
	_, err := DoWithAuthRetry(context.Background(), AuthRetryConfig{
		OnUnauthorized: func(context.Context, *Error) error { calls++; return nil },
	}, build, client.Do)
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.Equal(t, 1, calls)
	assert.EqualValues(t, 2, hits.Load())

	// No hook: the first 401 is the answer.
	_, err = DoWithAuthRetry(context.Background(), AuthRetryConfig{}, build, client.Do)
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.EqualValues(t, 3, hits.Load())

	// Hook error is the cause.
	boom := errors.New("no refresh token")
	_, err = DoWithAuthRetry(context.Background(), AuthRetryConfig{
		OnUnauthorized: func(context.Context, *Error) error { return boom },
	}, build, client.Do)
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, err, ErrUnauthorized)

	// Repeated step-up: typed error, OnForbidden once.
	hits.Store(0)
	var steps int
	_, err = DoWithAuthRetry(context.Background(), AuthRetryConfig{
		SetAuth:     func(r *http.Request) error { r.Header.Set("Authorization", "Bearer refreshed-token"); return nil },
		OnForbidden: func(context.Context, *Error, []string) error { steps++; return nil },
	}, build, client.Do)
	require.ErrorIs(t, err, ErrStepUpRepeated)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, []string{"write"}, e.RequiredScopes())
	assert.Equal(t, 1, steps)
	assert.EqualValues(t, 2, hits.Load())
}

func TestDoWithAuthRetryOther403AndOtherStatuses(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/forbidden" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	client := &http.Client{Transport: newBase(t)}
	var steps int
	cfg := AuthRetryConfig{OnForbidden: func(context.Context, *Error, []string) error { steps++; return nil }}
	_, err := DoWithAuthRetry(context.Background(), cfg, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/forbidden", nil)
	}, client.Do)
	require.ErrorIs(t, err, ErrForbidden)
	assert.Zero(t, steps, "a 403 without insufficient_scope never steps up")

	resp, err := DoWithAuthRetry(context.Background(), cfg, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/teapot", nil)
	}, nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTeapot, resp.StatusCode, "other statuses are returned as is")

	buildErr := errors.New("cannot build")
	_, err = DoWithAuthRetry(context.Background(), cfg, func(context.Context) (*http.Request, error) { return nil, buildErr }, client.Do)
	require.ErrorIs(t, err, buildErr)

	setErr := errors.New("no credentials")
	body := &trackedBody{Reader: strings.NewReader("x")}
	_, err = DoWithAuthRetry(context.Background(), AuthRetryConfig{SetAuth: func(*http.Request) error { return setErr }},
		func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, body)
		}, client.Do)
	require.ErrorIs(t, err, setErr)
	assert.True(t, body.closed.Load(), "body closed when SetAuth fails")
}
