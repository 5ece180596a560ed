package authretry

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourceMetadataURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example.com":           "https://api.example.com/.well-known/oauth-protected-resource",
		"https://api.example.com/":          "https://api.example.com/.well-known/oauth-protected-resource",
		"https://api.example.com/mcp":       "https://api.example.com/.well-known/oauth-protected-resource/mcp",
		"https://api.example.com:8443/a/b/": "https://api.example.com:8443/.well-known/oauth-protected-resource/a/b",
		"https://api.example.com/r?x=1":     "https://api.example.com/.well-known/oauth-protected-resource/r?x=1",
		"https://api.example.com/a%2Fb":     "https://api.example.com/.well-known/oauth-protected-resource/a%2Fb",
	} {
		got, err := ResourceMetadataURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"/relative", "https://x/#frag", "::"} {
		_, err := ResourceMetadataURL(bad)
		assert.ErrorIs(t, err, ErrMetadata, bad)
	}
}

func TestFetchResourceMetadata(t *testing.T) {
	var resource string
	docs := map[string]string{}
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect-plain":
			http.Redirect(w, r, "http://metadata.example/doc", http.StatusFound)
			return
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`{}`))
			return
		case "/missing":
			http.NotFound(w, r)
			return
		}
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		assert.Empty(t, r.Header.Get("Authorization"), "no credentials on the metadata fetch")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(doc))
	}))
	resource = srv.URL + "/mcp"
	docs["/.well-known/oauth-protected-resource/mcp"] = fmt.Sprintf(`{"resource":%q,"authorization_servers":["https://as.example"],"scopes_supported":["read","write"],"bearer_methods_supported":["header"]}`, resource)
	docs["/wrong"] = `{"resource":"https://evil.example/mcp"}`
	docs["/insecure-as"] = fmt.Sprintf(`{"resource":%q,"authorization_servers":["http://as.example"]}`, resource)
	docs["/big"] = `{"resource":"` + strings.Repeat("a", MaxMetadataSize) + `"}`
	docs["/bad-json"] = `{"resource":`
	client := srv.Client()
	t.Cleanup(client.CloseIdleConnections)
	ctx := context.Background()

	mdURL, err := ResourceMetadataURL(resource)
	require.NoError(t, err)
	md, err := FetchResourceMetadata(ctx, client, mdURL, resource)
	require.NoError(t, err)
	assert.Equal(t, resource, md.Resource)
	assert.Equal(t, []string{"https://as.example"}, md.AuthorizationServers)
	assert.Equal(t, []string{"read", "write"}, md.ScopesSupported)

	for path, want := range map[string]string{
		"/wrong":          "does not match",
		"/insecure-as":    "authorization server",
		"/big":            "larger than",
		"/bad-json":       "unexpected end",
		"/html":           "content type",
		"/missing":        "404",
		"/redirect-plain": "not https",
	} {
		_, err := FetchResourceMetadata(ctx, client, srv.URL+path, resource)
		require.ErrorIs(t, err, ErrMetadata, path)
		assert.Contains(t, err.Error(), want, path)
	}
	for _, bad := range []string{"http://metadata.example/x", "ftp://127.0.0.1/x", "not a url\x00"} {
		_, err := FetchResourceMetadata(ctx, client, bad, resource)
		require.ErrorIs(t, err, ErrMetadata, bad)
	}
}

func TestFetchResourceMetadataLoopbackHTTP(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"resource":"http://%s"}`, r.Host)
	}))
	client := &http.Client{Transport: newBase(t)}
	md, err := FetchResourceMetadata(context.Background(), client, srv.URL+"/.well-known/oauth-protected-resource", srv.URL)
	require.NoError(t, err)
	assert.Equal(t, srv.URL, md.Resource)
}
