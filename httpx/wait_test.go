package httpx

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitForURLRetriesUntilHealthy(t *testing.T) {
	var tries atomic.Int32
	s, err := ListenAndServeAsync(&http.Server{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) < 3 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})})
	require.NoError(t, err)
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, WaitForURL(ctx, s.URL()+"/healthz", WithBackoff(time.Millisecond, 5*time.Millisecond)))
	assert.Equal(t, int32(3), tries.Load())
}

func TestWaitForURLValidationHook(t *testing.T) {
	var tries atomic.Int32
	s, err := ListenAndServeAsync(&http.Server{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) < 4 {
			io.WriteString(w, "starting")
			return
		}
		io.WriteString(w, "ready")
	})})
	require.NoError(t, err)
	defer s.Close()

	ready := func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if string(b) != "ready" {
			return errors.New("not ready: " + string(b))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, WaitForURL(ctx, s.URL(), WithValidate(ready), WithBackoff(time.Millisecond, time.Millisecond)))
	assert.Equal(t, int32(4), tries.Load(), "200s that fail validation are retried")
}

func TestWaitForURLVerifiesTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(helloHandler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	ts.StartTLS()
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := WaitForURL(ctx, ts.URL, WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	require.Error(t, err, "an untrusted certificate never passes")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	var uae x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &uae, "the last probe's error is kept: %v", err)

	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	assert.NoError(t, WaitForURL(ctx2, ts.URL, WithRootCAs(pool)))

	c := ts.Client()
	defer c.CloseIdleConnections()
	assert.NoError(t, WaitForURL(ctx2, ts.URL, WithWaitClient(c)))
}

func TestWaitForURLBadURL(t *testing.T) {
	err := WaitForURL(context.Background(), "http://bad host/")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "httpx: wait for URL")
}

// fakeRT answers from a function, inside a synctest bubble.
type fakeRT func(*http.Request) (*http.Response, error)

func (f fakeRT) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func status(code int) *http.Response {
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}
}

func TestWaitForURLBackoffFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		rt := fakeRT(func(r *http.Request) (*http.Response, error) {
			at = append(at, time.Since(start))
			if len(at) < 8 {
				return status(http.StatusServiceUnavailable), nil
			}
			return status(http.StatusOK), nil
		})
		err := WaitForURL(context.Background(), "http://svc/healthz",
			WithWaitClient(&http.Client{Transport: rt}), WithBackoff(50*time.Millisecond, time.Second))
		require.NoError(t, err)
		ms := time.Millisecond
		assert.Equal(t, []time.Duration{0, 50 * ms, 150 * ms, 350 * ms, 750 * ms, 1550 * ms, 2550 * ms, 3550 * ms}, at,
			"delays double from 50ms and are capped at 1s")
	})
}

func TestWaitForURLContextEndKeepsLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tries int
		rt := fakeRT(func(r *http.Request) (*http.Response, error) {
			tries++
			return status(http.StatusServiceUnavailable), nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := WaitForURL(ctx, "http://svc/", WithWaitClient(&http.Client{Transport: rt}))
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var se *HTTPStatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
		// 0, .05, .15, .35, .75, 1.55, 3.55, 5.55, 7.55, 9.55 s
		assert.Equal(t, 10, tries)
	})
}

func TestWaitForURLTryTimeoutFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		rt := fakeRT(func(r *http.Request) (*http.Response, error) {
			at = append(at, time.Since(start))
			if len(at) == 1 {
				<-r.Context().Done() // a hung first probe
				return nil, r.Context().Err()
			}
			return status(http.StatusNoContent), nil
		})
		err := WaitForURL(context.Background(), "http://svc/", WithWaitClient(&http.Client{Transport: rt}),
			WithTryTimeout(2*time.Second), WithBackoff(100*time.Millisecond, 0))
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{0, 2100 * time.Millisecond}, at)
	})
}

func TestWaitForURLProbeCutByContextKeepsEarlierError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tries := 0
		rt := fakeRT(func(r *http.Request) (*http.Response, error) {
			tries++
			if tries == 1 {
				return status(http.StatusBadGateway), nil
			}
			<-r.Context().Done() // hangs until the overall wait ends
			return nil, r.Context().Err()
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := WaitForURL(ctx, "http://svc/", WithWaitClient(&http.Client{Transport: rt}))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var se *HTTPStatusError
		require.ErrorAs(t, err, &se, "the informative error from the completed probe: %v", err)
		assert.Equal(t, http.StatusBadGateway, se.StatusCode)
		assert.Equal(t, 2, tries)
	})
}
