package longpoll_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/longpoll"
)

func TestSeedSubscriptionShowsTimeoutAndErrors(t *testing.T) {
	e := newEnv(t, longpoll.Options{MaxTimeoutSeconds: 5})
	r, err := longpoll.Subscription(e.subURL(), nil, longpoll.SubscriptionRequest{Category: "c", TimeoutSeconds: 99}, "", "", nil)
	require.NoError(t, err)
	assert.Equal(t, "Invalid or missing 'timeout' arg.  Must be 1-5.", r.Error)
	p, err := longpoll.Publish(e.pubURL(), time.Second, nil, longpoll.PublishRequest{Category: "c", Data: []byte(`{"a":1}`)}, "", "", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, p.StatusCode)
	r, err = longpoll.Subscription(e.subURL(), nil, longpoll.SubscriptionRequest{Category: "c", TimeoutSeconds: 1, SinceTime: 1}, "", "", nil)
	require.NoError(t, err)
	require.Len(t, r.Events, 1)
	assert.JSONEq(t, `{"a":1}`, string(r.Events[0].Data), "data is raw JSON, objects included")
	r, err = longpoll.Subscription(e.subURL(), nil, longpoll.SubscriptionRequest{Category: "c", TimeoutSeconds: 1, SinceTime: r.Events[0].Timestamp, LastID: r.Events[0].ID}, "", "", nil)
	require.NoError(t, err)
	assert.True(t, r.Timeout)
	assert.Empty(t, r.Events)
}

// flaky fails the first polls with 500 and checks basic auth on every one.
type flaky struct {
	next  http.Handler
	fails atomic.Int32
	auth  atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); ok && u == "u" && p == "p" {
		f.auth.Add(1)
	}
	if f.fails.Add(-1) >= 0 {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	f.next.ServeHTTP(w, r)
}

func TestClientEventsNeverMissesOrRepeats(t *testing.T) {
	b, err := longpoll.NewBroker(longpoll.Options{BufferSize: 5000, MaxEventsPerAnswer: 7})
	require.NoError(t, err)
	f := &flaky{next: b.SubscriptionHandler()}
	f.fails.Store(3)
	srv := httptest.NewServer(f)
	defer srv.Close()
	defer func() { require.NoError(t, b.Shutdown(context.Background())) }()

	c := &longpoll.Client{SubscribeURL: srv.URL, PollTimeout: time.Second, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Username: "u", Password: "p", Since: time.Now().Add(-time.Hour)}
	const pubs, each = 4, 100
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for p := range pubs {
		wg.Go(func() {
			for i := range each {
				cat := []string{"a", "b"}[i%2]
				_, err := b.Publish(ctx, cat, fmt.Sprintf("%d-%d", p, i))
				assert.NoError(t, err)
				if i%10 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	seen := map[string]int{}
	var failures int
	lastID := map[string]string{}
	for ev, err := range c.Events(ctx, "a", "b") {
		if err != nil {
			var st *httpx.HTTPStatusError
			require.ErrorAs(t, err, &st, "only the failed polls are errors: no history lost")
			require.Equal(t, http.StatusInternalServerError, st.StatusCode)
			failures++
			continue
		}
		require.Less(t, lastID[ev.Category], ev.ID, "in order within a category")
		lastID[ev.Category] = ev.ID
		seen[string(ev.Data)]++
		if len(seen) == pubs*each {
			break
		}
	}
	wg.Wait()
	require.Len(t, seen, pubs*each)
	for k, n := range seen {
		require.Equal(t, 1, n, "event %s repeated", k)
	}
	assert.Equal(t, 3, failures, "the three failed polls were reported")
	assert.Greater(t, f.auth.Load(), int32(3), "basic auth on every poll")
}

func TestClientPublish(t *testing.T) {
	e := newEnv(t, longpoll.Options{})
	c := &longpoll.Client{PublishURL: e.pubURL()}
	require.NoError(t, c.Publish(context.Background(), "c", map[string]string{"k": "v"}))
	err := c.Publish(context.Background(), "", 1)
	var api *longpoll.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, http.StatusBadRequest, api.StatusCode)
	assert.ErrorIs(t, c.Publish(context.Background(), "c", nil), longpoll.ErrNilData)
	a := e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	require.Len(t, a.Events, 1)
}

func TestClientEventsEndsWithContext(t *testing.T) {
	e := newEnv(t, longpoll.Options{})
	c := &longpoll.Client{SubscribeURL: e.subURL(), PollTimeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		require.Eventually(t, func() bool { return e.b.Stats().Waiting == 1 }, 10*time.Second, 5*time.Millisecond)
		cancel()
	}()
	n := 0
	for range c.Events(ctx, "c") {
		n++
	}
	assert.Zero(t, n)
}
