package longpoll_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/longpoll"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestSameMillisecondEventsBothDelivered(t *testing.T) {
	// A frozen clock puts every event in one millisecond (golongpoll issue #19).
	frozen := time.UnixMilli(1_700_000_000_000)
	store := eventstore.NewMemory(eventstore.Options{Clock: func() time.Time { return frozen }})
	t.Cleanup(func() { _ = store.Close() })
	e := newEnv(t, longpoll.Options{Store: store})
	e.publish("c", 1)
	a := e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	require.Len(t, a.Events, 1)
	first := a.Events[0]
	e.publish("c", 2)
	e.publish("c", 3)
	a = e.poll(q("timeout", "1", "category", "c", "since_time", itoa(first.Timestamp), "last_id", first.ID))
	require.Len(t, a.Events, 2)
	assert.Equal(t, first.Timestamp, a.Events[0].Timestamp)
	assert.Equal(t, "2", string(a.Events[0].Data))
	assert.Equal(t, "3", string(a.Events[1].Data))
}

func TestOrderUnderConcurrentPublishers(t *testing.T) {
	e := newEnv(t, longpoll.Options{BufferSize: 10_000, MaxEventsPerAnswer: 10_000})
	const pubs, each = 8, 200
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Go(func() {
			for i := range each {
				_, err := e.b.Publish(context.Background(), "c", fmt.Sprintf("%d-%d", p, i))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	a := e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	require.Len(t, a.Events, pubs*each)
	next := make([]int, pubs)
	for i, ev := range a.Events {
		if i > 0 {
			require.Less(t, a.Events[i-1].ID, ev.ID, "ids strictly increase")
			require.LessOrEqual(t, a.Events[i-1].Timestamp, ev.Timestamp, "timestamps never go back")
		}
		var p, n int
		_, err := fmt.Sscanf(string(ev.Data), `"%d-%d"`, &p, &n)
		require.NoError(t, err)
		require.Equal(t, next[p], n, "each publisher's events in its order")
		next[p]++
	}
}

func TestHistoryLostSignal(t *testing.T) {
	e := newEnv(t, longpoll.Options{BufferSize: 3})
	e.publish("c", 0)
	a := e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	require.Len(t, a.Events, 1)
	first := a.Events[0]
	for i := 1; i <= 9; i++ {
		e.publish("c", i)
	}
	a = e.poll(q("timeout", "1", "category", "c", "since_time", itoa(first.Timestamp), "last_id", first.ID))
	assert.True(t, a.HistoryLost, "events 1..6 were evicted")
	require.Len(t, a.Events, 3)
	assert.Equal(t, "7", string(a.Events[0].Data))
	// Resuming from there is clean again.
	last := a.Events[2]
	e.publish("c", 10)
	a = e.poll(q("timeout", "1", "category", "c", "since_time", itoa(last.Timestamp), "last_id", last.ID))
	assert.False(t, a.HistoryLost)
	require.Len(t, a.Events, 1)
	assert.Equal(t, "10", string(a.Events[0].Data))
}

func TestSeveralCategoriesPerRequest(t *testing.T) {
	e := newEnv(t, longpoll.Options{MaxCategoriesPerRequest: 2})
	e.publish("a", "a1")
	e.publish("b", "b1")
	e.publish("z", "z1")
	a := e.poll(q("timeout", "1", "category", "a", "category", "b", "since_time", "1"))
	require.Len(t, a.Events, 2)
	got := map[string]string{}
	for _, ev := range a.Events {
		got[ev.Category] = string(ev.Data)
	}
	assert.Equal(t, map[string]string{"a": `"a1"`, "b": `"b1"`}, got)

	// One last_id per category: only newer events of each come back.
	ida, idb := a.Events[0].ID, a.Events[1].ID
	ts := max(a.Events[0].Timestamp, a.Events[1].Timestamp)
	e.publish("b", "b2")
	a = e.poll(q("timeout", "1", "category", "a", "category", "b", "since_time", itoa(ts), "last_id", ida, "last_id", idb))
	require.Len(t, a.Events, 1)
	assert.Equal(t, `"b2"`, string(a.Events[0].Data))

	// A waiting multi-category poll wakes for any of them.
	done := make(chan answer)
	go func() {
		done <- e.poll(q("timeout", "20", "category", "a", "category", "b"))
	}()
	require.Eventually(t, func() bool { return e.b.Stats().Waiting == 1 }, 10*time.Second, 5*time.Millisecond)
	e.publish("a", "a2")
	got2 := <-done
	require.Len(t, got2.Events, 1)
	assert.Equal(t, "a", got2.Events[0].Category)

	a = e.poll(q("timeout", "1", "category", "a", "category", "b", "category", "z"))
	assert.Equal(t, "Too many categories.", a.Error)
}

func TestCaps(t *testing.T) {
	e := newEnv(t, longpoll.Options{MaxEventsPerAnswer: 2, MaxWaiting: 1, MaxEventSize: 64})
	for i := range 5 {
		e.publish("c", i)
	}
	a := e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	require.Len(t, a.Events, 2, "events per answer")
	last := a.Events[1]
	a = e.poll(q("timeout", "1", "category", "c", "since_time", itoa(last.Timestamp), "last_id", last.ID))
	require.Len(t, a.Events, 2, "the rest follows")
	assert.Equal(t, "2", string(a.Events[0].Data))

	// Waiting clients.
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.poll(q("timeout", "20", "category", "w"))
	}()
	require.Eventually(t, func() bool { return e.b.Stats().Waiting == 1 }, 10*time.Second, 5*time.Millisecond)
	code, _, body := e.get("timeout=1&category=w")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "too many waiting clients")
	e.publish("w", "go")
	<-done

	// Bytes per event.
	code, body = e.post(http.MethodPost, `{"category":"c","data":"`+string(make([]byte, 100))+`"}`)
	assert.Equal(t, http.StatusBadRequest, code, body) // NUL bytes are not JSON
	code, body = e.post(http.MethodPost, fmt.Sprintf(`{"category":"c","data":"%0100d"}`, 0))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body)

	// Bytes held over all categories.
	e3 := newEnv(t, longpoll.Options{MaxBytes: 100})
	for i := range 5 {
		e3.publish(fmt.Sprintf("b%d", i), fmt.Sprintf("%030d", i)) // 32 bytes of data + 2 of name
	}
	assert.LessOrEqual(t, e3.b.Stats().Store.Bytes, int64(100))
	assert.Positive(t, e3.b.Stats().Store.Evicted)

	// Categories.
	e2 := newEnv(t, longpoll.Options{MaxCategories: 1})
	go func() { e2.poll(q("timeout", "20", "category", "one")) }()
	require.Eventually(t, func() bool { return e2.b.Stats().Waiting == 1 }, 10*time.Second, 5*time.Millisecond)
	_, err := e2.b.Publish(context.Background(), "two", 1)
	assert.ErrorIs(t, err, longpoll.ErrTooManyCategories)
	e2.publish("one", 1)
}

func TestBufferSizeAndTTL(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	opts := longpoll.Options{BufferSize: 2, TTL: time.Minute}
	so := opts.StoreOptions()
	so.Clock = clock
	store := eventstore.NewMemory(so)
	t.Cleanup(func() { _ = store.Close() })
	opts.Store = store
	e := newEnv(t, opts)
	for i := range 3 {
		e.publish("c", i)
	}
	a := e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	require.Len(t, a.Events, 2, "buffer size")
	assert.True(t, a.HistoryLost)
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	e.publish("c", 9)
	a = e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	require.Len(t, a.Events, 1, "TTL evicted the old ones")
	assert.Equal(t, "9", string(a.Events[0].Data))
}

func TestDeleteAfterRead(t *testing.T) {
	e := newEnv(t, longpoll.Options{DeleteAfterRead: true})
	e.publish("c", 1)
	e.publish("c", 2)
	a := e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	require.Len(t, a.Events, 2)
	a = e.poll(q("timeout", "1", "category", "c", "since_time", "1"))
	assert.Empty(t, a.Events, "the first retrieval removed them")
	assert.False(t, a.HistoryLost)
	assert.Equal(t, int64(0), e.b.Stats().Store.Events)
}

func TestEncodeOncePerEventForAllWaiters(t *testing.T) {
	e := newEnv(t, longpoll.Options{})
	const n = 50
	var wg sync.WaitGroup
	got := make([]answer, n)
	for i := range n {
		wg.Go(func() { got[i] = e.poll(q("timeout", "30", "category", "fan")) })
	}
	require.Eventually(t, func() bool { return e.b.Stats().Waiting == n }, 10*time.Second, 5*time.Millisecond)
	before := e.b.Stats().Encodes
	e.publish("fan", map[string]int{"x": 1})
	wg.Wait()
	for _, a := range got {
		require.Len(t, a.Events, 1)
	}
	assert.Equal(t, uint64(1), e.b.Stats().Encodes-before, "one encode shared by %d answers", n)
}

func TestNoGoroutinePerWaitingPoll(t *testing.T) {
	b, err := longpoll.NewBroker(longpoll.Options{})
	require.NoError(t, err)
	h := b.SubscriptionHandler()
	base := runtime.NumGoroutine()
	const n = 200
	var wg sync.WaitGroup
	recs := make([]*httptest.ResponseRecorder, n)
	for i := range n {
		recs[i] = httptest.NewRecorder()
		wg.Go(func() { h.ServeHTTP(recs[i], httptest.NewRequest(http.MethodGet, "/?timeout=60&category=c", nil)) })
	}
	require.Eventually(t, func() bool { return b.Stats().Waiting == n }, 10*time.Second, 5*time.Millisecond)
	// Only the callers' goroutines: no helper goroutine or timer goroutine per poll.
	assert.LessOrEqual(t, runtime.NumGoroutine()-base, n+2)
	_, err = b.Publish(context.Background(), "c", 1)
	require.NoError(t, err)
	wg.Wait()
	for _, r := range recs {
		assert.Contains(t, r.Body.String(), `"events":[`)
	}
	require.NoError(t, b.Shutdown(context.Background()))
}

func TestShutdownAnswersEveryWaitingPollAtOnce(t *testing.T) {
	b, err := longpoll.NewBroker(longpoll.Options{})
	require.NoError(t, err)
	srv := httptest.NewServer(b.SubscriptionHandler())
	defer srv.Close()
	pub := httptest.NewServer(b.PublishHandler())
	defer pub.Close()
	e := &env{t: t, b: b, srv: srv}
	const n = 30
	var wg sync.WaitGroup
	answers := make(chan string, n)
	for range n {
		wg.Go(func() {
			_, _, body := e.get("timeout=100&category=c")
			answers <- body
		})
	}
	require.Eventually(t, func() bool { return b.Stats().Waiting == n }, 10*time.Second, 5*time.Millisecond)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.Shutdown(ctx))
	wg.Wait()
	assert.Less(t, time.Since(start), 5*time.Second, "not the 100 s poll timeout")
	close(answers)
	for body := range answers {
		assert.Contains(t, body, `"timeout":"no events before timeout"`)
	}
	// Publish after stop is an error, not a panic; so is a second Shutdown.
	_, err = b.Publish(context.Background(), "c", 1)
	assert.ErrorIs(t, err, longpoll.ErrStopped)
	require.NoError(t, b.Shutdown(ctx))
	resp, err := http.Post(pub.URL, "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode) // an empty body is checked first
	code, _, body := e.get("timeout=1&category=c")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "stopped")
}

func TestTimeoutNeverSkipsAnEvent(t *testing.T) {
	// Many polls time out while events arrive at about the same moment; a
	// client that follows the timeout's timestamp (as golongpoll's does)
	// must still get every event.
	e := newEnv(t, longpoll.Options{})
	const clients, events = 20, 6
	var wg sync.WaitGroup
	got := make([][]string, clients)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range clients {
		wg.Go(func() {
			since := time.Now().UnixMilli() - 1
			var last string
			for len(got[i]) < events && ctx.Err() == nil {
				v := q("timeout", "1", "category", "c", "since_time", itoa(since))
				if last != "" {
					v.Set("last_id", last)
				}
				a := e.poll(v)
				if a.Timeout != "" {
					since = max(since, a.Timestamp)
					continue
				}
				for _, ev := range a.Events {
					got[i] = append(got[i], string(ev.Data))
					since, last = ev.Timestamp, ev.ID
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // let the first polls start
	for k := range events {
		time.Sleep(time.Second)
		e.publish("c", k)
	}
	wg.Wait()
	want := []string{"0", "1", "2", "3", "4", "5"}
	for i := range clients {
		assert.Equal(t, want, got[i], "client %d", i)
	}
}

func TestNoSinceTimeMeansOnlyNewEvents(t *testing.T) {
	e := newEnv(t, longpoll.Options{})
	e.publish("c", "old") // possibly in the same millisecond as the poll below
	done := make(chan answer)
	go func() { done <- e.poll(q("timeout", "20", "category", "c")) }()
	require.Eventually(t, func() bool { return e.b.Stats().Waiting == 1 }, 10*time.Second, 5*time.Millisecond)
	e.publish("c", "new")
	a := <-done
	require.Len(t, a.Events, 1)
	assert.Equal(t, `"new"`, string(a.Events[0].Data))
}
