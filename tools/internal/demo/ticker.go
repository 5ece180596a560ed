package demo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/sse"
)

// tickerTopic is the SSE topic (and eventstore stream) of the ticker.
const tickerTopic = "sse:ticker"

// Tick is the payload of one ticker event.
type Tick struct {
	N    int64  `json:"n"`
	Time string `json:"time"`
}

// lastTick reads the number of the newest tick the store holds, so that a
// restart with a durable store (file or redis) goes on counting where the
// previous process stopped. It pages through the stream (bounded by the
// store's own limits).
func lastTick(ctx context.Context, st eventstore.Store) (int64, error) {
	var after eventstore.ID
	var last []byte
	for {
		evs, err := st.ReadAfter(ctx, tickerTopic, after, 1024)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			break
		}
		last = evs[len(evs)-1].Data
		after = evs[len(evs)-1].ID
	}
	if last == nil {
		return 0, nil
	}
	var t Tick
	if err := json.Unmarshal(last, &t); err != nil {
		return 0, nil // not ours: start over rather than fail
	}
	return t.N, nil
}

// runTicker publishes a tick every period until ctx ends, numbering from
// after the newest tick in the store.
func runTicker(ctx context.Context, s *sse.Server, period time.Duration, start int64, onErr func(error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	n := start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			data, _ := json.Marshal(Tick{N: n + 1, Time: now.UTC().Format(time.RFC3339Nano)})
			if _, err := s.Publish(ctx, tickerTopic, sse.Event{Type: "tick", Data: data}); err != nil {
				if ctx.Err() != nil {
					return
				}
				onErr(err)
				continue // the number is retried on the next tick: no gap
			}
			n++
		}
	}
}
