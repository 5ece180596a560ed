package longpoll_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/longpoll"
)

// TestFanoutWakesPollsOnAnotherBroker runs two brokers, each with its own
// hub, over one store (as two processes over Redis would be): a publish on
// one answers a poll waiting on the other at once, not at its timeout.
func TestFanoutWakesPollsOnAnotherBroker(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	ha, hb := fanout.New(st, fanout.Options{}), fanout.New(st, fanout.Options{})
	defer ha.Close()
	defer hb.Close()
	a, err := longpoll.NewBroker(longpoll.Options{Fanout: ha})
	if err != nil {
		t.Fatal(err)
	}
	b, err := longpoll.NewBroker(longpoll.Options{Fanout: hb})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(b.SubscriptionHandler())
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
		_ = b.Shutdown(ctx)
	}()
	since, last := time.Now().UnixMilli()-1, ""
	for i := 1; i <= 3; i++ {
		type answer struct {
			Events []struct {
				Timestamp int64           `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
				ID        string          `json:"id"`
			} `json:"events"`
		}
		got := make(chan answer, 1)
		go func() {
			resp, err := http.Get(ts.URL + "?category=c&timeout=60&since_time=" + strconv.FormatInt(since, 10) + "&last_id=" + last)
			if err != nil {
				got <- answer{}
				return
			}
			defer resp.Body.Close()
			var ans answer
			_ = json.NewDecoder(resp.Body).Decode(&ans)
			got <- ans
		}()
		// Let the poll wait on b before a publishes.
		deadline := time.Now().Add(10 * time.Second)
		for b.Stats().Waiting == 0 {
			if time.Now().After(deadline) {
				t.Fatal("poll never waited")
			}
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		if _, err := a.Publish(context.Background(), "c", i); err != nil {
			t.Fatal(err)
		}
		select {
		case ans := <-got:
			if len(ans.Events) != 1 || string(ans.Events[0].Data) != strconv.Itoa(i) {
				t.Fatalf("poll %d answered %+v", i, ans)
			}
			since, last = ans.Events[0].Timestamp, ans.Events[0].ID
		case <-time.After(20 * time.Second):
			t.Fatalf("poll %d not woken by a publish on the other broker (waited %v)", i, time.Since(start))
		}
	}
}
