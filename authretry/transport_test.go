package authretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenServer answers 200 with the request body echoed for want, and 401
// invalid_token (echoing the bad token in the body) for anything else.
func tokenServer(t *testing.T, want string, on401 func()) *httptest.Server {
	t.Helper()
	return newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if got != "Bearer "+want {
			if on401 != nil {
				on401()
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="invalid_token", resource_metadata="https://rs.example/.well-known/oauth-protected-resource"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "token rejected: %s", got)
			return
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}))
}

func TestConcurrent401SharesOneRefresh(t *testing.T) {
	const n = 100
	var unauthorized atomic.Int64
	gate := make(chan struct{})
	var gateOnce sync.Once
	srv := tokenServer(t, newToken, func() {
		if unauthorized.Add(1) == n {
			gateOnce.Do(func() { close(gate) })
		}
	})
	var calls atomic.Int64
	tr, err := NewTransport(Config{
		Origin: srv.URL,
		Base:   newBase(t),
		Token:  oldToken,
		Refresh: func(ctx context.Context, stale string, b Bearer) (string, error) {
			calls.Add(1)
			assert.Equal(t, oldToken, stale)
			assert.Equal(t, "https://rs.example/.well-known/oauth-protected-resource", b.ResourceMetadata)
			// Hold the refresh until every request has seen its 401, so
			// all 100 really are concurrent callers of one refresh.
			select {
			case <-gate:
			case <-time.After(20 * time.Second):
			}
			return newToken, nil
		},
	})
	require.NoError(t, err)
	client := tr.Client()

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("payload %d", i)
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/rpc", strings.NewReader(want))
			if err != nil {
				errs <- err
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != want {
				errs <- fmt.Errorf("request %d: %d %q", i, resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.EqualValues(t, 1, calls.Load(), "exactly one refresh")
	assert.EqualValues(t, n, unauthorized.Load())
	assert.Equal(t, newToken, tr.Token())
	st := tr.Stats()
	assert.EqualValues(t, 1, st.Refreshes)
	assert.EqualValues(t, n, st.AuthRetries)
}

func TestStale401AfterRefreshDoesNotRefreshAgain(t *testing.T) {
	srv := tokenServer(t, newToken, nil)
	var calls atomic.Int64
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
		Refresh: func(context.Context, string, Bearer) (string, error) { calls.Add(1); return newToken, nil }})
	require.NoError(t, err)
	// Another caller refreshed already: a 401 for the old token must just
	// retry with the current one (compare-and-swap).
	require.NoError(t, tr.refreshToken(context.Background(), oldToken, Bearer{}))
	require.NoError(t, tr.refreshToken(context.Background(), oldToken, Bearer{}))
	assert.EqualValues(t, 1, calls.Load())
	resp, err := tr.Client().Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, calls.Load())
}

func TestSharedRefreshSurvivesOneCallerCancelling(t *testing.T) {
	var unauthorized atomic.Int64
	twoSeen := make(chan struct{})
	srv := tokenServer(t, newToken, func() {
		if unauthorized.Add(1) == 2 {
			close(twoSeen)
		}
	})
	entered := make(chan struct{})
	release := make(chan struct{})
	hookErr := make(chan error, 1)
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
		Refresh: func(ctx context.Context, _ string, _ Bearer) (string, error) {
			close(entered)
			<-release
			hookErr <- ctx.Err()
			return newToken, nil
		}})
	require.NoError(t, err)
	client := tr.Client()

	// Caller A starts the shared refresh (its context is the parent of the
	// hook's), then B joins it, then A gives up.
	ctxA, cancelA := context.WithCancel(context.Background())
	resA := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctxA, http.MethodGet, srv.URL, nil)
		resp, err := client.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		resA <- err
	}()
	<-entered
	resB := make(chan *http.Response, 1)
	go func() {
		resp, err := client.Get(srv.URL)
		assert.NoError(t, err)
		resB <- resp
	}()
	<-twoSeen
	cancelA()
	require.ErrorIs(t, <-resA, context.Canceled, "A returns at once with its own context error")
	close(release)
	respB := <-resB
	require.NotNil(t, respB)
	respB.Body.Close()
	assert.Equal(t, http.StatusOK, respB.StatusCode)
	assert.NoError(t, <-hookErr, "the shared refresh's context must not be cancelled by caller A")
	assert.EqualValues(t, 1, tr.Stats().Refreshes)
	assert.Equal(t, newToken, tr.Token())
}

func TestSecond401IsTypedErrorWithRedactedBody(t *testing.T) {
	var hits atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.Header().Set("Set-Cookie", "session=secret")
		w.Header().Set("X-Debug", "saw "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "bad token %s; header was %q", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), r.Header.Get("Authorization"))
	}))
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
		Refresh: func(context.Context, string, Bearer) (string, error) { return newToken, nil }})
	require.NoError(t, err)
	resp, err := tr.Client().Get(srv.URL + "/x?access_token=" + oldToken)
	require.Nil(t, resp)
	require.ErrorIs(t, err, ErrUnauthorized)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.EqualValues(t, 2, hits.Load(), "exactly one retry")
	assert.Equal(t, http.StatusUnauthorized, e.StatusCode)
	assert.Equal(t, srv.URL+"/x", e.URL, "query (which may hold a token) is dropped")
	assert.False(t, e.Truncated)
	b, ok := e.Bearer()
	require.True(t, ok)
	assert.Equal(t, ErrorInvalidToken, b.Error)
	for _, tok := range []string{oldToken, newToken} {
		assert.NotContains(t, string(e.Body), tok)
		// Our message never has the token; the *url.Error http.Client wraps
		// around it quotes the request URL as given, query and all.
		assert.NotContains(t, e.Error(), tok)
		assert.NotContains(t, fmt.Sprint(e.Header), tok)
	}
	assert.Contains(t, string(e.Body), "[REDACTED]")
	assert.Equal(t, []string{"[REDACTED]"}, e.Header.Values("Set-Cookie"))
}

func TestRefreshErrorIsTypedWithCause(t *testing.T) {
	srv := tokenServer(t, newToken, nil)
	boom := errors.New("idp down")
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
		Refresh: func(context.Context, string, Bearer) (string, error) { return "", boom }})
	require.NoError(t, err)
	_, err = tr.Client().Get(srv.URL)
	require.ErrorIs(t, err, ErrUnauthorized)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, oldToken, tr.Token(), "a failed refresh keeps the old token")
}

func TestEmptyTokenAsksRefreshFirst(t *testing.T) {
	srv := tokenServer(t, newToken, nil)
	var stale atomic.Value
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t),
		Refresh: func(_ context.Context, s string, _ Bearer) (string, error) { stale.Store(s); return newToken, nil }})
	require.NoError(t, err)
	resp, err := tr.Client().Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "", stale.Load())
}

func TestNonReplayableBodyIsNotRetried(t *testing.T) {
	var hits atomic.Int64
	srv := tokenServer(t, newToken, func() { hits.Add(1) })
	var calls atomic.Int64
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
		Refresh: func(context.Context, string, Bearer) (string, error) { calls.Add(1); return newToken, nil }})
	require.NoError(t, err)
	body := &trackedBody{Reader: strings.NewReader("once only")}
	req, err := http.NewRequest(http.MethodPost, srv.URL, body)
	require.NoError(t, err)
	require.Nil(t, req.GetBody, "a custom reader has no GetBody")
	resp, err := tr.Client().Do(req)
	require.NoError(t, err, "the 401 is returned as is, not turned into an error")
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.EqualValues(t, 1, hits.Load())
	assert.Zero(t, calls.Load())
	assert.True(t, body.closed.Load(), "request body closed")
	e := ReadError(resp)
	assert.NotContains(t, string(e.Body), oldToken, "ReadError redacts the token the request carried")
}

func TestCallerRequestNotMutatedAndBodiesClosed(t *testing.T) {
	srv := tokenServer(t, newToken, nil)
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
		Refresh: func(context.Context, string, Bearer) (string, error) { return newToken, nil }})
	require.NoError(t, err)
	body := &trackedBody{Reader: strings.NewReader("abc")}
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/p", body)
	require.NoError(t, err)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("abc")), nil }
	req.Header.Set("X-Keep", "1")
	before := req.Header.Clone()
	urlBefore := req.URL.String()
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "abc", string(got), "the retry replayed the body via GetBody")
	assert.Equal(t, before, req.Header)
	assert.Empty(t, req.Header.Get("Authorization"))
	assert.Equal(t, urlBefore, req.URL.String())
	assert.True(t, body.closed.Load())
}

func TestCrossHostRedirectNeverSeesToken(t *testing.T) {
	var other recorder
	otherSrv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.add(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized) // even a 401 there must not trigger a refresh
	}))
	var ours recorder
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ours.add(r.Header.Get("Authorization"))
		http.Redirect(w, r, otherSrv.URL+"/landing", http.StatusFound)
	}))
	var calls atomic.Int64
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
		Refresh: func(context.Context, string, Bearer) (string, error) { calls.Add(1); return newToken, nil }})
	require.NoError(t, err)

	for name, client := range map[string]*http.Client{
		"NewClient":        tr.Client(),
		"bare http.Client": {Transport: tr},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/start", nil)
			require.NoError(t, err)
			// Even a token the caller copied in by hand is stripped.
			req.Header.Set("Authorization", "Bearer "+oldToken)
			resp, err := client.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		})
	}
	assert.Equal(t, []string{"Bearer " + oldToken, "Bearer " + oldToken}, ours.all())
	assert.Equal(t, []string{"", ""}, other.all(), "the other origin never sees the token")
	assert.Zero(t, calls.Load())
}

func TestSameHostOtherPortIsAnotherOrigin(t *testing.T) {
	var rec recorder
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r.Header.Get("Authorization"))
	}))
	tr, err := NewTransport(Config{Origin: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), Base: newBase(t), Token: oldToken})
	require.NoError(t, err)
	resp, err := tr.Client().Get(srv.URL) // 127.0.0.1 is not "localhost"
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{""}, rec.all())
}

func TestHTTPSToHTTPRedirectRefused(t *testing.T) {
	var plainHits atomic.Int64
	plain := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	tlsSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/downgraded", http.StatusFound)
	}))
	base := tlsSrv.Client().Transport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	tr, err := NewTransport(Config{Origin: tlsSrv.URL, Base: base, Token: oldToken})
	require.NoError(t, err)
	for name, client := range map[string]*http.Client{
		"NewClient":        tr.Client(),
		"bare http.Client": {Transport: tr},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := client.Get(tlsSrv.URL + "/start")
			if resp != nil {
				resp.Body.Close()
			}
			require.ErrorIs(t, err, ErrInsecureRedirect)
		})
	}
	assert.Zero(t, plainHits.Load(), "the http server was never contacted")

	// https to https on another origin is followed (without the token).
	c, err := NewClient(Config{Origin: "https://api.example.com", Base: base, Token: oldToken})
	require.NoError(t, err)
	assert.NoError(t, c.CheckRedirect(mustReq(t, "https://b.example/"), []*http.Request{mustReq(t, "https://a.example/")}))
}

func TestStepUpUnionAndNoLoop(t *testing.T) {
	var hits atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="files:write admin", error_description="scope=x"`)
		w.WriteHeader(http.StatusForbidden)
	}))
	var got [][]string
	var mu sync.Mutex
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken, Scopes: []string{"files:read"},
		StepUp: func(_ context.Context, b Bearer, scopes []string) (string, error) {
			mu.Lock()
			got = append(got, scopes)
			mu.Unlock()
			assert.Equal(t, ErrorInsufficientScope, b.Error)
			return newToken, nil
		}})
	require.NoError(t, err)
	client := tr.Client()

	_, err = client.Get(srv.URL + "/admin")
	require.ErrorIs(t, err, ErrStepUpRepeated)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusForbidden, e.StatusCode)
	assert.Equal(t, []string{"files:write", "admin"}, e.RequiredScopes())
	assert.EqualValues(t, 2, hits.Load(), "one step-up, one retry")
	assert.Equal(t, [][]string{{"admin", "files:read", "files:write"}}, got, "union of held and challenged scopes")
	assert.Equal(t, []string{"admin", "files:read", "files:write"}, tr.Scopes())

	// The same (method, URL, scopes) again: no hook call, one request.
	_, err = client.Get(srv.URL + "/admin")
	require.ErrorIs(t, err, ErrStepUpRepeated)
	assert.EqualValues(t, 3, hits.Load())
	assert.Len(t, got, 1)
	assert.EqualValues(t, 1, tr.Stats().StepUps)
}

func TestStepUpSucceeds(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+newToken {
			w.Header().Add("WWW-Authenticate", `Basic realm="legacy"`)
			w.Header().Add("WWW-Authenticate", `Bearer error="insufficient_scope", scope="write"`)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}))
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken, Scopes: []string{"read"},
		StepUp: func(_ context.Context, _ Bearer, scopes []string) (string, error) {
			assert.Equal(t, []string{"read", "write"}, scopes)
			return newToken, nil
		}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte("data")))
	require.NoError(t, err)
	resp, err := tr.Client().Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "data", string(body))
	assert.Equal(t, newToken, tr.Token())
}

func TestOther403ReturnedAsIs(t *testing.T) {
	for name, challenge := range map[string]string{
		"no challenge":             "",
		"bearer invalid_token":     `Bearer error="invalid_token"`,
		"basic insufficient_scope": `Basic error="insufficient_scope"`,
		"malformed":                `Bearer error="insufficient_scope`,
		"description mentions it":  `Bearer error_description="error=insufficient_scope"`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if challenge != "" {
					w.Header().Set("WWW-Authenticate", challenge)
				}
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, "no")
			}))
			var calls atomic.Int64
			tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
				StepUp: func(context.Context, Bearer, []string) (string, error) { calls.Add(1); return newToken, nil }})
			require.NoError(t, err)
			resp, err := tr.Client().Get(srv.URL)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Equal(t, "no", string(body), "body untouched")
			assert.Zero(t, calls.Load())
		})
	}
}

func TestStepUpErrorIsTyped(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="x"`)
		w.WriteHeader(http.StatusForbidden)
	}))
	denied := errors.New("user declined")
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Token: oldToken,
		StepUp: func(context.Context, Bearer, []string) (string, error) { return "", denied }})
	require.NoError(t, err)
	_, err = tr.Client().Get(srv.URL)
	require.ErrorIs(t, err, ErrForbidden)
	require.ErrorIs(t, err, denied)
	// A failed step-up is not remembered: the next request may ask again.
	_, err = tr.Client().Get(srv.URL)
	require.ErrorIs(t, err, denied)
	assert.EqualValues(t, 2, tr.Stats().StepUps)
}

func TestNewTransportValidatesOrigin(t *testing.T) {
	for _, o := range []string{"", "api.example.com", "ftp://x", "http://api.example.com", "https://x/path", "https://u:p@x", "https://x?q=1"} {
		_, err := NewTransport(Config{Origin: o})
		assert.Error(t, err, o)
	}
	for _, o := range []string{"https://api.example.com", "https://API.example.com:443/", "http://127.0.0.1:8080", "http://localhost", "http://[::1]:1"} {
		_, err := NewTransport(Config{Origin: o})
		assert.NoError(t, err, o)
	}
	tr, err := NewTransport(Config{Origin: "https://API.example.com", Token: oldToken})
	require.NoError(t, err)
	r, tok, err := tr.prepare(mustReq(t, "https://api.example.com:443/x"), 0, true)
	require.NoError(t, err)
	assert.Equal(t, oldToken, tok)
	assert.Equal(t, "Bearer "+oldToken, r.Header.Get("Authorization"))
	_, ours := tr.matchOrigin(mustReq(t, "https://api.example.com:443/x"))
	assert.True(t, ours, "default port and host case are normalised")
	_, ours = tr.matchOrigin(mustReq(t, "http://api.example.com/x"))
	assert.False(t, ours, "scheme is part of the origin")
}

func TestSeenSetIsBounded(t *testing.T) {
	var s seenSet
	for i := range stepUpMemory + 10 {
		s.add(fmt.Sprint(i))
	}
	assert.Len(t, s.m, stepUpMemory)
	assert.False(t, s.has("0"))
	assert.True(t, s.has(fmt.Sprint(stepUpMemory+9)))
}

func mustReq(t *testing.T, u string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return r
}

func TestDebugLogsCarryNoTokens(t *testing.T) {
	srv := tokenServer(t, newToken, nil)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr, err := NewTransport(Config{Origin: srv.URL, Base: newBase(t), Logger: logger,
		Refresh: func(context.Context, string, Bearer) (string, error) { return newToken, nil }})
	require.NoError(t, err)
	tr.SetToken(oldToken)
	assert.Equal(t, oldToken, tr.Token())
	resp, err := tr.Client().Get(srv.URL + "/p?access_token=" + oldToken)
	require.NoError(t, err)
	resp.Body.Close()
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	assert.Contains(t, out, "authretry: refreshing token")
	assert.NotContains(t, out, oldToken)
	assert.NotContains(t, out, newToken)
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestBodyClosedOnEveryPath(t *testing.T) {
	tr, err := NewTransport(Config{Origin: "https://api.example.com", Token: oldToken,
		Base: handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		})},
		Refresh: func(context.Context, string, Bearer) (string, error) { return newToken, nil }})
	require.NoError(t, err)

	// Refused redirect hop: the transport closes the body itself.
	body := &trackedBody{Reader: strings.NewReader("x")}
	req, err := http.NewRequest(http.MethodPost, "http://api.example.com/next", body)
	require.NoError(t, err)
	req.Response = &http.Response{Request: mustReq(t, "https://api.example.com/first")}
	_, err = tr.RoundTrip(req)
	require.ErrorIs(t, err, ErrInsecureRedirect)
	assert.True(t, body.closed.Load())

	// GetBody failing on the retry: an error, and the first body was closed.
	body = &trackedBody{Reader: strings.NewReader("x")}
	req, err = http.NewRequest(http.MethodPost, "https://api.example.com/p", body)
	require.NoError(t, err)
	boom := errors.New("cannot rewind")
	req.GetBody = func() (io.ReadCloser, error) { return nil, boom }
	_, err = tr.RoundTrip(req)
	require.ErrorIs(t, err, boom)
	assert.True(t, body.closed.Load())
}
