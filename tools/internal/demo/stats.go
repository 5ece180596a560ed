package demo

import (
	"bytes"
	"io"
	"net/url"
	"strings"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// displayStore names a store for /stats without the credentials a Redis
// URL may carry.
func displayStore(spec string) string {
	if strings.HasPrefix(spec, "redis") {
		if u, err := url.Parse(spec); err == nil {
			return u.Redacted()
		}
		return "redis"
	}
	return spec
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Stats is what GET /stats answers.
type Stats struct {
	Store       string           `json:"store"`
	Connections map[string]int   `json:"connections"`
	Events      map[string]int64 `json:"events"`
	Evictions   map[string]int64 `json:"evictions"`
	Ticker      int64            `json:"ticker_start"`
}

// Stats reports connections per transport, events and evictions.
func (s *Server) Stats() Stats {
	ss := s.sse.Stats()
	ls := s.broker.Stats()
	st := s.store.Stats()
	s.mu.Lock()
	streams := len(s.streams)
	s.mu.Unlock()
	return Stats{
		Store: displayStore(s.storeName),
		Connections: map[string]int{
			"sse":        ss.Conns,
			"ws":         s.chat.srv.Count(),
			"longpoll":   ls.Waiting,
			"mcp":        s.jobs.srv.Sessions(),
			"httpstream": streams,
		},
		Events: map[string]int64{
			"sse_published":      int64(ss.Published),
			"ws_messages":        int64(s.chat.messages.Load()),
			"longpoll_published": int64(ls.Published),
			"mcp_tool_calls":     int64(s.jobs.calls.Load()),
			"mcp_progress":       int64(s.jobs.progress.Load()),
			"store_appended":     int64(st.Appended),
			"store_held":         st.Events,
			"store_deleted":      int64(st.EvictedBy[eventstore.EvictDelete] + st.EvictedBy[eventstore.EvictTrim]),
		},
		Evictions: map[string]int64{
			"sse_slow_clients": int64(ss.Evictions),
			// Deletes and trims are not losses: MCP sessions delete their
			// streams when they end.
			"store_evicted": int64(st.Evicted - st.EvictedBy[eventstore.EvictDelete] - st.EvictedBy[eventstore.EvictTrim]),
		},
		Ticker: s.tickStart,
	}
}
