package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func corsServer(t *testing.T, opts CORSOptions) (http.Handler, *int) {
	t.Helper()
	mw, err := CORS(opts)
	require.NoError(t, err)
	calls := new(int)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*calls++
		w.Header().Add("Vary", "Accept-Encoding") // set by the app; must survive
		if r.Method == http.MethodOptions {
			http.Error(w, "no OPTIONS here", http.StatusMethodNotAllowed)
			return
		}
		io.WriteString(w, "data")
	})
	return mw(next), calls
}

func serveReq(h http.Handler, method, origin string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/api", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestCORSActualRequests(t *testing.T) {
	h, calls := corsServer(t, CORSOptions{
		AllowedOrigins:   []string{"https://App.example.com", "http://localhost:5173/"},
		ExposedHeaders:   []string{"Mcp-Session-Id"},
		AllowCredentials: true,
	})

	w := serveReq(h, http.MethodGet, "https://app.example.com", nil)
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, "https://app.example.com", w.Header().Get("Access-Control-Allow-Origin"), "the origin, never *")
	assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))
	assert.Equal(t, "Mcp-Session-Id", w.Header().Get("Access-Control-Expose-Headers"))
	assert.Equal(t, []string{"Origin", "Accept-Encoding"}, w.Header().Values("Vary"), "Vary appended, not overwritten")

	w = serveReq(h, http.MethodPost, "http://localhost:5173", nil)
	assert.Equal(t, "http://localhost:5173", w.Header().Get("Access-Control-Allow-Origin"))

	// Not allowed: passed through with no CORS headers, still Vary: Origin.
	for _, origin := range []string{"https://evil.example.com", "null", "https://app.example.com.evil.net", "http://app.example.com"} {
		w = serveReq(h, http.MethodGet, origin, nil)
		assert.Equal(t, 200, w.Code, origin)
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"), origin)
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Credentials"), origin)
		assert.Contains(t, w.Header().Values("Vary"), "Origin", origin)
	}

	// Same-origin and non-browser requests have no Origin.
	w = serveReq(h, http.MethodGet, "", nil)
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "data", w.Body.String())
	assert.Equal(t, 7, *calls)
}

func TestCORSPreflight(t *testing.T) {
	h, calls := corsServer(t, CORSOptions{
		AllowedOrigins: []string{"https://app.example.com"},
		AllowedMethods: []string{"GET", "POST", "DELETE"},
		AllowedHeaders: []string{"Content-Type", "Mcp-Session-Id"},
		MaxAge:         10 * time.Minute,
	})
	pre := func(origin, method, headers string) *httptest.ResponseRecorder {
		hdr := map[string]string{"Access-Control-Request-Method": method}
		if headers != "" {
			hdr["Access-Control-Request-Headers"] = headers
		}
		return serveReq(h, http.MethodOptions, origin, hdr)
	}

	w := pre("https://app.example.com", "DELETE", "content-type, mcp-session-id")
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "https://app.example.com", w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "GET, POST, DELETE", w.Header().Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "content-type, mcp-session-id", w.Header().Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "600", w.Header().Get("Access-Control-Max-Age"))
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Credentials"))
	assert.Equal(t, []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}, w.Header().Values("Vary"))
	assert.Equal(t, 0, *calls, "an allowed preflight is answered by the middleware")

	w = pre("https://app.example.com", "PUT", "")
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))

	w = pre("https://app.example.com", "POST", "Content-Type, X-Secret")
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Body.String(), `"x-secret"`)
	assert.Equal(t, 0, *calls)

	// A preflight from an origin not allowed is not handled: next decides.
	w = pre("https://evil.example.com", "POST", "")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Methods"))
	assert.Equal(t, 1, *calls)

	// A plain OPTIONS (no Access-Control-Request-Method) is not a preflight.
	w = serveReq(h, http.MethodOptions, "https://app.example.com", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, 2, *calls)
}

func TestCORSNoAllowAllDefault(t *testing.T) {
	h, _ := corsServer(t, CORSOptions{})
	w := serveReq(h, http.MethodGet, "https://anything.example.com", nil)
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"), "no origins configured: none allowed")
	w = serveReq(h, http.MethodOptions, "https://anything.example.com", map[string]string{"Access-Control-Request-Method": "GET"})
	assert.NotEqual(t, http.StatusNoContent, w.Code)
}

func TestCORSOriginFuncAndDefaults(t *testing.T) {
	h, _ := corsServer(t, CORSOptions{AllowOriginFunc: func(o string) bool {
		return strings.HasSuffix(o, ".trusted.example")
	}})
	w := serveReq(h, http.MethodGet, "https://a.trusted.example", nil)
	assert.Equal(t, "https://a.trusted.example", w.Header().Get("Access-Control-Allow-Origin"))
	// Default methods and headers.
	w = serveReq(h, http.MethodOptions, "https://a.trusted.example", map[string]string{
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "Last-Event-ID,authorization",
	})
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "GET, HEAD, POST", w.Header().Get("Access-Control-Allow-Methods"))
	assert.Empty(t, w.Header().Get("Access-Control-Max-Age"))
	w = serveReq(h, http.MethodOptions, "https://a.trusted.example", map[string]string{"Access-Control-Request-Method": "PATCH"})
	assert.Equal(t, http.StatusForbidden, w.Code)
}

func TestCORSRejectsBadOrigins(t *testing.T) {
	for _, o := range []string{"*", "app.example.com", "https://app.example.com/path", "https://user@app.example.com", "https://app.example.com?x", "http://a b"} {
		_, err := CORS(CORSOptions{AllowedOrigins: []string{o}})
		assert.Error(t, err, o)
	}
}
