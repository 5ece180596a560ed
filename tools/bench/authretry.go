package main

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/streamkit-dev/streamkit/authretry"
)

// The authretry scenario compares authretry.Transport with
// golang.org/x/oauth2's Transport on the common path: a GET to the token's
// origin that succeeds first time. Both clone the request and set one
// header; ours also checks the origin and the redirect hop. The base
// transport answers in memory, so only the wrappers' cost is measured. The
// target is a ratio near 1: the retry machinery must cost nothing until a
// 401, 403 or 429 arrives.

func authretryScenarios() []Scenario {
	return []Scenario{
		{Name: "authretry/roundtrip-200", Peers: "oauth2.Transport", Run: benchAuthRoundTrip},
	}
}

// okTransport answers 200 with no body, after checking the token is there.
type okTransport struct{}

func (okTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	if r.Header.Get("Authorization") != "Bearer bench-token" {
		return &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

func benchAuthRoundTrip(_ context.Context, cfg Config) ([]Row, error) {
	ours, err := authretry.NewTransport(authretry.Config{
		Origin: "https://api.example.com",
		Base:   okTransport{},
		Token:  "bench-token",
		Refresh: func(context.Context, string, authretry.Bearer) (string, error) {
			return "bench-token", nil
		},
	})
	if err != nil {
		return nil, err
	}
	peer := &oauth2.Transport{Base: okTransport{}, Source: oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "bench-token"}))}
	req, err := http.NewRequest(http.MethodGet, "https://api.example.com/v1/things?page=2", nil)
	if err != nil {
		return nil, err
	}
	loop := func(rt http.RoundTripper) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
				_ = resp.Body.Close()
			}
		}
	}
	rounds := 3
	if cfg.Short {
		rounds = 1
	}
	best := CompareMicro("authretry/roundtrip-200", loop(ours), map[string]func(*testing.B){"oauth2.Transport": loop(peer)})
	for range rounds - 1 {
		for i, r := range CompareMicro("authretry/roundtrip-200", loop(ours), map[string]func(*testing.B){"oauth2.Transport": loop(peer)}) {
			best[i].Ours = min(best[i].Ours, r.Ours)
			best[i].PeerVal = min(best[i].PeerVal, r.PeerVal)
		}
	}
	return best, nil
}
