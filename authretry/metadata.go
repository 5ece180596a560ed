package authretry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// MaxMetadataSize bounds a protected resource metadata document (1 MiB).
const MaxMetadataSize = 1 << 20

// wellKnownPRM is the RFC 9728 §3 well-known path segment.
const wellKnownPRM = "/.well-known/oauth-protected-resource"

// ErrMetadata wraps every failure of FetchResourceMetadata.
var ErrMetadata = errors.New("authretry: protected resource metadata")

// ResourceMetadata is an RFC 9728 protected resource metadata document.
type ResourceMetadata struct {
	Resource                              string   `json:"resource"`
	AuthorizationServers                  []string `json:"authorization_servers,omitempty"`
	JWKSURI                               string   `json:"jwks_uri,omitempty"`
	ScopesSupported                       []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported                []string `json:"bearer_methods_supported,omitempty"`
	ResourceSigningAlgValuesSupported     []string `json:"resource_signing_alg_values_supported,omitempty"`
	ResourceName                          string   `json:"resource_name,omitempty"`
	ResourceDocumentation                 string   `json:"resource_documentation,omitempty"`
	ResourcePolicyURI                     string   `json:"resource_policy_uri,omitempty"`
	ResourceTOSURI                        string   `json:"resource_tos_uri,omitempty"`
	TLSClientCertificateBoundAccessTokens bool     `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	AuthorizationDetailsTypesSupported    []string `json:"authorization_details_types_supported,omitempty"`
	DPoPSigningAlgValuesSupported         []string `json:"dpop_signing_alg_values_supported,omitempty"`
	DPoPBoundAccessTokensRequired         bool     `json:"dpop_bound_access_tokens_required,omitempty"`
}

// ResourceMetadataURL returns the well-known metadata URL for a resource
// identifier (RFC 9728 §3.1): the well-known segment goes between the host
// and the resource's path, so "https://api.example.com/mcp" gives
// "https://api.example.com/.well-known/oauth-protected-resource/mcp".
func ResourceMetadataURL(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil {
		return "", fmt.Errorf("%w: resource %q: %v", ErrMetadata, resource, err)
	}
	if u.Scheme == "" || u.Host == "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: resource %q must be an absolute URL without fragment", ErrMetadata, resource)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	m := &url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery}
	if err := setPath(m, wellKnownPRM+path); err != nil {
		return "", fmt.Errorf("%w: resource %q: %v", ErrMetadata, resource, err)
	}
	return m.String(), nil
}

func setPath(u *url.URL, escaped string) error {
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return err
	}
	u.Path, u.RawPath = p, escaped
	return nil
}

// FetchResourceMetadata GETs the protected resource metadata at
// metadataURL (from a Bearer challenge's resource_metadata, or from
// ResourceMetadataURL) and checks it:
//
//   - metadataURL, every redirect it follows, and every authorization
//     server listed must be https, or http to a loopback host;
//   - the answer must be 200 with a JSON body of at most MaxMetadataSize;
//   - its "resource" must equal resource exactly (RFC 9728 §3.3): the
//     identifier the client built metadataURL from, or, when metadataURL
//     came from a WWW-Authenticate challenge, the URL the client requested.
//
// client nil means a fresh http.Client; client's own CheckRedirect still
// runs after the scheme check. No credentials are added.
func FetchResourceMetadata(ctx context.Context, client *http.Client, metadataURL, resource string) (*ResourceMetadata, error) {
	u, err := url.Parse(metadataURL)
	if err != nil || !secureURL(u) {
		return nil, fmt.Errorf("%w: %q is not an https (or loopback) URL", ErrMetadata, redactURLString(metadataURL))
	}
	var c http.Client
	if client != nil {
		c = *client
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !secureURL(req.URL) {
			return fmt.Errorf("%w: redirect to %q is not https (or loopback)", ErrMetadata, redactURL(req.URL))
		}
		if next != nil {
			return next(req, via)
		}
		return CheckRedirect(req, via)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := ReadError(resp)
		return nil, fmt.Errorf("%w: %w", ErrMetadata, e)
	}
	defer resp.Body.Close()
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, fmt.Errorf("%w: content type %q, want application/json", ErrMetadata, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %w", ErrMetadata, err)
	}
	if len(body) > MaxMetadataSize {
		return nil, fmt.Errorf("%w: document larger than %d bytes", ErrMetadata, MaxMetadataSize)
	}
	var md ResourceMetadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	if md.Resource != resource {
		return nil, fmt.Errorf("%w: resource %q does not match %q", ErrMetadata, md.Resource, resource)
	}
	for _, as := range md.AuthorizationServers {
		au, err := url.Parse(as)
		if err != nil || !secureURL(au) {
			return nil, fmt.Errorf("%w: authorization server %q is not an https (or loopback) URL", ErrMetadata, as)
		}
	}
	return &md, nil
}

func redactURLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return redactURL(u)
}
