package sse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/sse/parser"
)

// handlerTransport serves requests with an http.Handler in memory (io.Pipe
// bodies), so clients and servers run inside a synctest bubble.
type handlerTransport struct {
	h    http.Handler
	mu   sync.Mutex
	reqs []*http.Request
	at   []time.Time
}

func (tr *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr.mu.Lock()
	tr.reqs = append(tr.reqs, req)
	tr.at = append(tr.at, time.Now())
	tr.mu.Unlock()
	pr, pw := io.Pipe()
	w := &pipeRW{h: make(http.Header), pw: pw, ready: make(chan struct{})}
	go func() {
		defer pw.Close()
		tr.h.ServeHTTP(w, req)
		w.WriteHeader(http.StatusOK)
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		pr.Close()
		return nil, req.Context().Err()
	}
	go func() {
		<-req.Context().Done()
		pr.CloseWithError(req.Context().Err())
	}()
	return &http.Response{StatusCode: w.code, Status: fmt.Sprintf("%d %s", w.code, http.StatusText(w.code)), Header: w.h.Clone(), Body: pr, Request: req}, nil
}

func (tr *handlerTransport) requests() ([]*http.Request, []time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]*http.Request(nil), tr.reqs...), append([]time.Time(nil), tr.at...)
}

type pipeRW struct {
	h     http.Header
	pw    *io.PipeWriter
	code  int
	once  sync.Once
	ready chan struct{}
}

func (w *pipeRW) Header() http.Header { return w.h }
func (w *pipeRW) WriteHeader(code int) {
	w.once.Do(func() { w.code = code; close(w.ready) })
}
func (w *pipeRW) Write(b []byte) (int, error) { w.WriteHeader(http.StatusOK); return w.pw.Write(b) }
func (w *pipeRW) Flush()                      {}

func clientFor(h http.HandlerFunc) (*Client, *handlerTransport) {
	tr := &handlerTransport{h: h}
	return &Client{URL: "http://sse.test/events", HTTPClient: &http.Client{Transport: tr}}, tr
}

func sseHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
}

func TestClientReconnectsWithLastEventIDAndRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c, tr := clientFor(func(w http.ResponseWriter, r *http.Request) {
			k := n.Add(1)
			sseHeaders(w)
			switch k {
			case 1:
				io.WriteString(w, "retry: 500\nid: 1\ndata: a\n\nid: 2\ndata: cut off")
			case 2:
				io.WriteString(w, "data: b\n\nid: 3\ndata: c\n\n")
			}
		})
		c.Finite = false
		var got []ReceivedEvent
		var delays []time.Duration
		c.OnRetry = func(attempt int, d time.Duration, err error) {
			delays = append(delays, d)
			assert.ErrorIs(t, err, ErrStreamEnded)
		}
		for ev, err := range c.Events(t.Context()) {
			require.NoError(t, err)
			got = append(got, ev)
			if len(got) == 3 {
				break
			}
		}
		assert.Equal(t, []ReceivedEvent{{Type: "message", Data: "a", ID: "1"}, {Type: "message", Data: "b", ID: "1"}, {Type: "message", Data: "c", ID: "3"}}, got)
		reqs, at := tr.requests()
		require.Len(t, reqs, 2)
		assert.Empty(t, reqs[0].Header.Get("Last-Event-ID"))
		assert.Equal(t, "1", reqs[1].Header.Get("Last-Event-ID"), "the cut-off event's id is not committed")
		assert.Equal(t, "text/event-stream", reqs[0].Header.Get("Accept"))
		assert.Equal(t, "no-cache", reqs[0].Header.Get("Cache-Control"))
		require.Len(t, delays, 1)
		assert.Less(t, delays[0], 500*time.Millisecond, "full jitter under the retry: value")
		assert.Equal(t, delays[0], at[1].Sub(at[0]))
	})
}

func TestClientStatusPolicy(t *testing.T) {
	for _, tc := range []struct {
		code    int
		ct      string
		wantErr error
	}{
		{http.StatusNoContent, "", nil},
		{http.StatusNotFound, "", &ResponseError{}},
		{http.StatusUnauthorized, "", &ResponseError{}},
		{http.StatusAccepted, "text/event-stream", &ResponseError{}},
		{http.StatusOK, "text/html", ErrContentType},
		{http.StatusOK, "x bogus", ErrContentType},
	} {
		synctest.Test(t, func(t *testing.T) {
			c, tr := clientFor(func(w http.ResponseWriter, r *http.Request) {
				if tc.ct != "" {
					w.Header().Set("Content-Type", tc.ct)
				}
				w.WriteHeader(tc.code)
			})
			var errs []error
			for _, err := range c.Events(t.Context()) {
				errs = append(errs, err)
			}
			reqs, _ := tr.requests()
			assert.Len(t, reqs, 1, "%d %s: no retry", tc.code, tc.ct)
			if tc.wantErr == nil {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			var re *ResponseError
			if errors.As(tc.wantErr, &re) {
				require.ErrorAs(t, errs[0], &re)
				assert.Equal(t, tc.code, re.StatusCode)
			} else {
				assert.ErrorIs(t, errs[0], tc.wantErr)
			}
		})
	}
}

func TestClientContentTypeWithParams(t *testing.T) {
	assert.True(t, isEventStream("text/event-stream;"))
	assert.True(t, isEventStream("Text/Event-Stream; charset=windows-1252"))
	assert.False(t, isEventStream("text/x-bogus"))
}

func TestClientRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c, tr := clientFor(func(w http.ResponseWriter, r *http.Request) {
			k := n.Add(1)
			switch k {
			case 1:
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusServiceUnavailable)
			case 2:
				w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
			default:
				w.WriteHeader(http.StatusNoContent)
			}
		})
		for _, err := range c.Events(t.Context()) {
			require.NoError(t, err)
		}
		_, at := tr.requests()
		require.Len(t, at, 3)
		assert.Equal(t, 7*time.Second, at[1].Sub(at[0]))
		assert.InDelta(t, float64(90*time.Second), float64(at[2].Sub(at[1])), float64(time.Second))
	})
}

func TestClientBackoffCappedAndResetOnlyWhenHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c, _ := clientFor(func(w http.ResponseWriter, r *http.Request) {
			k := n.Add(1)
			switch {
			case k <= 12:
				w.WriteHeader(http.StatusBadGateway)
			case k <= 15:
				sseHeaders(w) // accepts, then drops at once: not healthy
			case k == 16:
				sseHeaders(w) // healthy: up for 40 s
				time.Sleep(40 * time.Second)
			default:
				w.WriteHeader(http.StatusNoContent)
			}
		})
		type retry struct {
			attempt int
			delay   time.Duration
		}
		var retries []retry
		c.OnRetry = func(a int, d time.Duration, err error) { retries = append(retries, retry{a, d}) }
		for _, err := range c.Events(t.Context()) {
			require.NoError(t, err)
		}
		require.Len(t, retries, 16)
		for i, r := range retries[:15] {
			assert.Equal(t, i+1, r.attempt, "failures keep counting across accepted-but-dropped connections")
			ceil := min(time.Second<<i, 30*time.Second)
			assert.Less(t, r.delay, ceil, "attempt %d", r.attempt)
		}
		assert.Equal(t, 1, retries[15].attempt, "reset after a healthy connection")
		assert.Less(t, retries[15].delay, time.Second)
	})
}

func TestClientReadIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c, tr := clientFor(func(w http.ResponseWriter, r *http.Request) {
			k := n.Add(1)
			if k > 1 {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			sseHeaders(w)
			io.WriteString(w, ": hello\n\n")
			<-r.Context().Done() // a dead server: sends nothing more
		})
		c.ReadIdleTimeout = 45 * time.Second
		var cause error
		c.OnRetry = func(_ int, _ time.Duration, err error) { cause = err }
		for _, err := range c.Events(t.Context()) {
			require.NoError(t, err)
		}
		assert.ErrorIs(t, cause, ErrIdleTimeout)
		_, at := tr.requests()
		require.Len(t, at, 2)
		assert.GreaterOrEqual(t, at[1].Sub(at[0]), 45*time.Second)
	})
}

func TestClientFiniteAndTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, tr := clientFor(func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			io.WriteString(w, "data: token 1\n\ndata: token 2\n\n")
		})
		c.Finite = true
		var data []string
		for ev, err := range c.Events(t.Context()) {
			require.NoError(t, err)
			data = append(data, ev.Data)
		}
		assert.Equal(t, []string{"token 1", "token 2"}, data)
		reqs, _ := tr.requests()
		assert.Len(t, reqs, 1, "EOF means done")

		c, tr = clientFor(func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			io.WriteString(w, "data: "+strings.Repeat("x", 5000)+"\n\n")
		})
		c.MaxEventSize = 1000
		var errs []error
		for _, err := range c.Events(t.Context()) {
			errs = append(errs, err)
		}
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], parser.ErrEventTooLarge)
		reqs, _ = tr.requests()
		assert.Len(t, reqs, 1, "no reconnect loop")
	})
}

func TestClientMaxRetriesAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, tr := clientFor(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
		c.MaxRetries = 3
		var errs []error
		for _, err := range c.Events(t.Context()) {
			errs = append(errs, err)
		}
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], ErrTooManyRetries)
		reqs, _ := tr.requests()
		assert.Len(t, reqs, 4)

		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		c.MaxRetries = 0
		count := 0
		for _, err := range c.Events(ctx) {
			count++
			_ = err
		}
		assert.Zero(t, count, "cancellation ends the sequence without an error")
	})
}

func TestClientDoesNotSendUnsendableID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c, tr := clientFor(func(w http.ResponseWriter, r *http.Request) {
			k := n.Add(1)
			if k > 1 {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			sseHeaders(w)
			io.WriteString(w, "id: a\x01b\ndata: x\n\n")
		})
		for _, err := range c.Events(t.Context()) {
			require.NoError(t, err)
		}
		reqs, _ := tr.requests()
		require.Len(t, reqs, 2)
		assert.Empty(t, reqs[1].Header.Values("Last-Event-ID"))
	})
}

// TestClientAgainstServer: our client and server, over loopback. The
// server drops every stream (CloseAll) while events keep coming; the
// client resumes with Last-Event-ID and sees each event exactly once.
func TestClientAgainstServer(t *testing.T) {
	s := NewServer(Options{Retry: 10 * time.Millisecond, ShutdownRetry: 10 * time.Millisecond})
	ts := startServer(t, s)
	c := &Client{URL: ts.URL, InitialDelay: 10 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const total = 300
	go func() {
		for i := range total {
			for s.Count() == 0 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			if _, err := s.Publish(ctx, DefaultTopic, Event{Data: []byte(strconv.Itoa(i))}); err != nil {
				return
			}
			if i%50 == 25 {
				s.CloseAll()
			}
		}
	}()
	want := 0
	for ev, err := range c.Events(ctx) {
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(want), ev.Data)
		want++
		if want == total {
			break
		}
	}
	assert.Equal(t, total, want)
}

func TestClientIdleTimeoutCoversHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c, tr := clientFor(func(w http.ResponseWriter, r *http.Request) {
			k := n.Add(1)
			if k == 1 {
				<-r.Context().Done() // accepts, never answers
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		c.ReadIdleTimeout = 20 * time.Second
		var cause error
		c.OnRetry = func(_ int, _ time.Duration, err error) { cause = err }
		for _, err := range c.Events(t.Context()) {
			require.NoError(t, err)
		}
		assert.ErrorIs(t, cause, ErrIdleTimeout)
		_, at := tr.requests()
		require.Len(t, at, 2)
		assert.GreaterOrEqual(t, at[1].Sub(at[0]), 20*time.Second)
	})
}
