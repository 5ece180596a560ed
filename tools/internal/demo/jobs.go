package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/streamable"
)

// The MCP side of the demo: a server with two tools. "job" runs for a while
// and streams a progress notification per step before its result; "echo"
// answers at once.
var mcpVersions = []string{streamable.Rev20251125, streamable.Rev20250618, streamable.Rev20250326}

var mcpTools = map[string]any{"tools": []any{
	map[string]any{
		"name":        "job",
		"description": "Runs a job of a few steps, reporting progress after each, and returns a summary.",
		"inputSchema": map[string]any{
			"type": "object",
			"properties": map[string]any{
				"steps":    map[string]any{"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
				"delay_ms": map[string]any{"type": "integer", "minimum": 0, "maximum": 2000, "default": 150},
			},
		},
	},
	map[string]any{
		"name":        "echo",
		"description": "Returns its text.",
		"inputSchema": map[string]any{
			"type":       "object",
			"properties": map[string]any{"text": map[string]any{"type": "string"}},
			"required":   []string{"text"},
		},
	},
}}

type jobs struct {
	srv      *streamable.Server
	calls    atomic.Uint64
	notify   func(ctx context.Context, text string) // tells the notifications panel
	progress atomic.Uint64
}

func newJobs(st eventstore.Store, hub *fanout.Hub, notify func(context.Context, string)) (*jobs, error) {
	j := &jobs{notify: notify}
	srv, err := streamable.NewServer(streamable.ServerOptions{
		Handle:      j.handle,
		Versions:    streamable.VersionPolicy{Supported: mcpVersions},
		Store:       st,
		Fanout:      hub, // scale-out mode: one Redis read for every resumable stream
		SessionTTL:  10 * time.Minute,
		MaxSessions: 1000,
	})
	if err != nil {
		return nil, err
	}
	j.srv = srv
	return j, nil
}

func (j *jobs) handle(ctx context.Context, req *streamable.Request) (any, error) {
	switch req.Method {
	case "initialize":
		var p struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		_ = json.Unmarshal(req.Params, &p)
		v := mcpVersions[0]
		if slices.Contains(mcpVersions, p.ProtocolVersion) {
			v = p.ProtocolVersion
		}
		return map[string]any{
			"protocolVersion": v,
			"capabilities":    map[string]any{"tools": map[string]any{}},
			"serverInfo":      map[string]string{"name": "streamkit-demo", "version": "0.1.0"},
		}, nil
	case "ping":
		return struct{}{}, nil
	case "tools/list":
		return mcpTools, nil
	case "tools/call":
		j.calls.Add(1)
		return j.call(ctx, req)
	}
	return nil, &streamable.Error{Code: streamable.CodeMethodNotFound, Message: "method not found: " + req.Method}
}

func textResult(text string, isError bool) map[string]any {
	return map[string]any{
		"content": []any{map[string]string{"type": "text", "text": text}},
		"isError": isError,
	}
}

func (j *jobs) call(ctx context.Context, req *streamable.Request) (any, error) {
	var p struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		Meta      struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(req.Params, &p); err != nil {
		return nil, &streamable.Error{Code: streamable.CodeInvalidParams, Message: "bad tools/call params"}
	}
	switch p.Name {
	case "echo":
		var a struct {
			Text string `json:"text"`
		}
		if len(p.Arguments) > 0 {
			if err := json.Unmarshal(p.Arguments, &a); err != nil {
				return nil, &streamable.Error{Code: streamable.CodeInvalidParams, Message: "echo: bad arguments"}
			}
		}
		return textResult(a.Text, false), nil
	case "job":
		a := struct {
			Steps   int `json:"steps"`
			DelayMS int `json:"delay_ms"`
		}{Steps: 10, DelayMS: 150}
		if len(p.Arguments) > 0 {
			if err := json.Unmarshal(p.Arguments, &a); err != nil {
				return nil, &streamable.Error{Code: streamable.CodeInvalidParams, Message: "job: bad arguments"}
			}
		}
		if a.Steps < 1 || a.Steps > 100 || a.DelayMS < 0 || a.DelayMS > 2000 {
			return textResult("job: steps must be 1-100 and delay_ms 0-2000", true), nil
		}
		start := time.Now()
		for i := 1; i <= a.Steps; i++ {
			select {
			case <-time.After(time.Duration(a.DelayMS) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if len(p.Meta.ProgressToken) > 0 {
				err := req.Notify(ctx, "notifications/progress", map[string]any{
					"progressToken": p.Meta.ProgressToken,
					"progress":      i,
					"total":         a.Steps,
					"message":       fmt.Sprintf("step %d of %d", i, a.Steps),
				})
				if err != nil && err != streamable.ErrNoStream {
					return nil, err
				}
				j.progress.Add(1)
			}
		}
		summary := fmt.Sprintf("job done: %d steps in %s", a.Steps, time.Since(start).Round(time.Millisecond))
		j.notify(ctx, summary)
		return textResult(summary, false), nil
	}
	return textResult("unknown tool: "+p.Name, true), nil
}
