package authretry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/streamkit-dev/streamkit/authretry"
)

// apiServer accepts only "Bearer fresh-token" and answers 401 otherwise.
func apiServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer fresh-token" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", resource_metadata="https://api.example/.well-known/oauth-protected-resource"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "hello")
	}))
}

// NewClient builds the Transport and an http.Client that also refuses
// https to http redirects. Here the first request's token has expired: the
// Transport refreshes it once and retries.
func ExampleNewClient() {
	srv := apiServer()
	defer srv.Close()

	client, err := authretry.NewClient(authretry.Config{
		Origin: srv.URL, // only this origin ever sees the token
		Token:  "expired-token",
		Refresh: func(ctx context.Context, stale string, ch authretry.Bearer) (string, error) {
			// A real hook calls the authorization server (golang.org/x/oauth2's
			// TokenSource, for one); ch.ResourceMetadata says where to look.
			return "fresh-token", nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL + "/greeting")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello
}

// NewTransport gives access to the Transport itself: its token, scopes and
// counters. Transport.Client wires it into an http.Client with
// CheckRedirect.
func ExampleNewTransport() {
	srv := apiServer()
	defer srv.Close()

	tr, err := authretry.NewTransport(authretry.Config{
		Origin:  srv.URL,
		Token:   "expired-token",
		Refresh: func(context.Context, string, authretry.Bearer) (string, error) { return "fresh-token", nil },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	client := tr.Client()
	defer client.CloseIdleConnections()
	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
	}
	st := tr.Stats()
	fmt.Println("token:", tr.Token())
	fmt.Println("refreshes:", st.Refreshes, "retries:", st.AuthRetries)
	// Output:
	// token: fresh-token
	// refreshes: 1 retries: 1
}

// A 403 with error="insufficient_scope" calls StepUp with the union of the
// scopes held and the scopes asked for, then retries once.
func ExampleConfig_stepUp() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer admin-token" {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="admin"`)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, "welcome")
	}))
	defer srv.Close()

	client, _ := authretry.NewClient(authretry.Config{
		Origin: srv.URL,
		Token:  "read-token",
		Scopes: []string{"read"},
		StepUp: func(ctx context.Context, ch authretry.Bearer, scopes []string) (string, error) {
			fmt.Println("step up to", scopes)
			return "admin-token", nil
		},
	})
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL + "/admin")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output:
	// step up to [admin read]
	// welcome
}

// DoWithAuthRetry is the stateless form: buildReq is called per attempt and
// the hooks own the token.
func ExampleDoWithAuthRetry() {
	srv := apiServer()
	defer srv.Close()

	token := "expired-token"
	cfg := authretry.AuthRetryConfig{
		SetAuth: func(req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		},
		OnUnauthorized: func(ctx context.Context, e *authretry.Error) error {
			b, _ := e.Bearer()
			fmt.Println("401:", b.Error)
			token = "fresh-token"
			return nil
		},
	}
	client := &http.Client{CheckRedirect: authretry.CheckRedirect}
	defer client.CloseIdleConnections()
	resp, err := authretry.DoWithAuthRetry(context.Background(), cfg,
		func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(`{"n":1}`))
		}, client.Do)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 401: invalid_token
	// 200 hello
}

func ExampleParseWWWAuthenticate() {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="legacy", Bearer realm="api", scope="files:read files:write"`)
	h.Add("WWW-Authenticate", `Negotiate YIIBhg==`)
	cs, err := authretry.ParseWWWAuthenticate(h.Values("WWW-Authenticate")...)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cs {
		fmt.Println(c.Scheme, c.Token68, c.Params)
	}
	b, _ := authretry.FindBearer(cs)
	fmt.Printf("bearer scopes: %q\n", b.Scope)
	// Output:
	// Basic  [{realm legacy}]
	// Bearer  [{realm api} {scope files:read files:write}]
	// Negotiate YIIBhg== []
	// bearer scopes: ["files:read" "files:write"]
}

func ExampleFindBearer() {
	cs, _ := authretry.ParseWWWAuthenticate(`Bearer error="insufficient_scope", scope="admin", error_description="needs scope=admin"`)
	b, ok := authretry.FindBearer(cs)
	fmt.Println(ok, b.Error, b.Scope, b.ErrorDescription)
	// Output: true insufficient_scope [admin] needs scope=admin
}

func ExampleFormatWWWAuthenticate() {
	cs := []authretry.Challenge{
		{Scheme: "Bearer", Params: []authretry.Param{{Name: "realm", Value: `say "hi"`}, {Name: "error", Value: "invalid_token"}}},
		{Scheme: "Negotiate", Token68: "YIIBhg=="},
	}
	fmt.Println(authretry.FormatWWWAuthenticate(cs))
	// Output: Bearer realm="say \"hi\"", error=invalid_token, Negotiate YIIBhg==
}

// ReadError turns a response the Transport returned as is (a 401 it could
// not retry because the body was not replayable, say) into an *Error.
func ExampleReadError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "token "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+" is revoked")
	}))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer revoked-token-123")
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	resp, err := base.RoundTrip(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	e := authretry.ReadError(resp)
	fmt.Println(e.StatusCode, string(e.Body))
	fmt.Println(errors.Is(e, authretry.ErrUnauthorized)) // only the Transport's own give-ups wrap a sentinel
	// Output:
	// 401 token [REDACTED] is revoked
	// false
}

// Set CheckRedirect on a client you build yourself; NewClient does it for you.
func ExampleCheckRedirect() {
	client := &http.Client{CheckRedirect: authretry.CheckRedirect}
	from, _ := http.NewRequest(http.MethodGet, "https://api.example.com/a", nil)
	to, _ := http.NewRequest(http.MethodGet, "http://api.example.com/b", nil)
	err := client.CheckRedirect(to, []*http.Request{from})
	fmt.Println(errors.Is(err, authretry.ErrInsecureRedirect))
	// Output: true
}

func ExampleResourceMetadataURL() {
	u, _ := authretry.ResourceMetadataURL("https://api.example.com/mcp")
	fmt.Println(u)
	// Output: https://api.example.com/.well-known/oauth-protected-resource/mcp
}

// FetchResourceMetadata reads RFC 9728 metadata from the URL a Bearer
// challenge's resource_metadata named, and checks that it describes the
// resource the client asked for.
func ExampleFetchResourceMetadata() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"resource":%q,"authorization_servers":["https://auth.example.com"],"scopes_supported":["read","admin"]}`, "http://"+r.Host+"/mcp")
	}))
	defer srv.Close()

	resource := srv.URL + "/mcp"
	mdURL, _ := authretry.ResourceMetadataURL(resource)
	client := &http.Client{}
	defer client.CloseIdleConnections()
	md, err := authretry.FetchResourceMetadata(context.Background(), client, mdURL, resource)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(md.AuthorizationServers, md.ScopesSupported)
	// Output: [https://auth.example.com] [read admin]
}

// Challenges reads every WWW-Authenticate line of a header.
func ExampleChallenges() {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="legacy"`)
	h.Add("WWW-Authenticate", `Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`)
	cs, err := authretry.Challenges(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cs {
		if b, ok := c.Bearer(); ok {
			fmt.Println(b.ResourceMetadata)
		}
	}
	// Output: https://api.example.com/.well-known/oauth-protected-resource
}
