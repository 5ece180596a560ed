package authretry

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"Wed, 21 Oct 2015 07:28:30 GMT", 30 * time.Second, true}, // IMF-fixdate
		{"Wednesday, 21-Oct-15 07:29:00 GMT", time.Minute, true},  // RFC 850
		{"Wed Oct 21 07:28:10 2015", 10 * time.Second, true},      // asctime
		{"Wed, 21 Oct 2015 07:00:00 GMT", 0, true},                // past: now
		{"99999999999999999999", time.Duration(1<<63 - 1), true},  // huge: refused by any cap
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"12abc", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

// rateLimited answers 429 (or 503) with retryAfter for the first n requests,
// then 200 with the request body.
func rateLimited(status, n int, retryAfter func() string) (http.Handler, *atomic.Int64) {
	var hits atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= int64(n) {
			if v := retryAfter(); v != "" {
				w.Header().Set("Retry-After", v)
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "slow down")
			return
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}), &hits
}

func TestRetryAfterSecondsWaitsExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, hits := rateLimited(http.StatusTooManyRequests, 1, func() string { return "7" })
		tr, err := NewTransport(Config{Origin: "https://api.example.com", Base: handlerTransport{h}})
		require.NoError(t, err)
		start := time.Now()
		resp, err := tr.RoundTrip(mustReq(t, "https://api.example.com/x"))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, 7*time.Second, time.Since(start))
		assert.EqualValues(t, 2, hits.Load())
		assert.EqualValues(t, 1, tr.Stats().RateLimitWaits)
	})
}

func TestRetryAfterHTTPDate503(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, hits := rateLimited(http.StatusServiceUnavailable, 1, func() string {
			return time.Now().Add(12 * time.Second).UTC().Format(http.TimeFormat)
		})
		tr, err := NewTransport(Config{Origin: "https://api.example.com", Base: handlerTransport{h}})
		require.NoError(t, err)
		start := time.Now()
		resp, err := tr.RoundTrip(mustReq(t, "https://api.example.com/x"))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, 12*time.Second, time.Since(start))
		assert.EqualValues(t, 2, hits.Load())
	})
}

func TestRetryAfterCapAndLimits(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		status     int
		n          int
		retryAfter string
		method     string
		header     http.Header
		ctxTimeout time.Duration
		wantStatus int
		wantHits   int64
		wantWait   time.Duration
	}{
		{name: "longer than cap is not waited for", status: 429, n: 1, retryAfter: "31", wantStatus: 429, wantHits: 1},
		{name: "custom cap", cfg: Config{MaxRetryAfter: time.Hour}, status: 429, n: 1, retryAfter: "3000", wantStatus: 200, wantHits: 2, wantWait: 3000 * time.Second},
		{name: "no Retry-After: no retry", status: 503, n: 1, wantStatus: 503, wantHits: 1},
		{name: "garbage Retry-After: no retry", status: 503, n: 1, retryAfter: "later", wantStatus: 503, wantHits: 1},
		{name: "POST is not idempotent", status: 429, n: 1, retryAfter: "1", method: http.MethodPost, wantStatus: 429, wantHits: 1},
		{name: "POST with Idempotency-Key is", status: 429, n: 1, retryAfter: "1", method: http.MethodPost, header: http.Header{"Idempotency-Key": {"k1"}}, wantStatus: 200, wantHits: 2, wantWait: time.Second},
		{name: "Replayable hook", cfg: Config{Replayable: func(r *http.Request) bool { return r.Method == http.MethodPut }}, status: 429, n: 1, retryAfter: "1", method: http.MethodPut, wantStatus: 200, wantHits: 2, wantWait: time.Second},
		{name: "at most two waits by default", status: 429, n: 3, retryAfter: "1", wantStatus: 429, wantHits: 3, wantWait: 2 * time.Second},
		{name: "waits disabled", cfg: Config{MaxRateLimitRetries: -1}, status: 429, n: 1, retryAfter: "1", wantStatus: 429, wantHits: 1},
		{name: "deadline sooner than the wait", status: 429, n: 1, retryAfter: "10", ctxTimeout: 5 * time.Second, wantStatus: 429, wantHits: 1},
		{name: "other status untouched", status: 500, n: 1, retryAfter: "1", wantStatus: 500, wantHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h, hits := rateLimited(tt.status, tt.n, func() string { return tt.retryAfter })
				cfg := tt.cfg
				cfg.Origin = "https://api.example.com"
				cfg.Base = handlerTransport{h}
				tr, err := NewTransport(cfg)
				require.NoError(t, err)
				ctx := context.Background()
				if tt.ctxTimeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
					defer cancel()
				}
				method := tt.method
				if method == "" {
					method = http.MethodGet
				}
				req, err := http.NewRequestWithContext(ctx, method, "https://api.example.com/x", strings.NewReader("b"))
				require.NoError(t, err)
				for k, v := range tt.header {
					req.Header[k] = v
				}
				start := time.Now()
				resp, err := tr.RoundTrip(req)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, tt.wantStatus, resp.StatusCode)
				assert.Equal(t, tt.wantHits, hits.Load())
				assert.Equal(t, tt.wantWait, time.Since(start))
			})
		})
	}
}

func TestRetryAfterWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, hits := rateLimited(http.StatusTooManyRequests, 1, func() string { return "20" })
		tr, err := NewTransport(Config{Origin: "https://api.example.com", Base: handlerTransport{h}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(3*time.Second, cancel)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/x", nil)
		require.NoError(t, err)
		start := time.Now()
		resp, err := tr.RoundTrip(req)
		assert.Nil(t, resp)
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 3*time.Second, time.Since(start))
		assert.EqualValues(t, 1, hits.Load())
	})
}
