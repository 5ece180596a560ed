// Package mcpserver is an example MCP server on top of streamable: the MCP
// methods (initialize, ping, tools/list, tools/call) live here, not in the
// library. Its one tool, "count", streams progress notifications before its
// result; with "drop" it first ends its HTTP stream after the priming event,
// so that clients must resume with Last-Event-ID.
//
// It is the real peer of the Node interop tests (the official TypeScript
// SDK client) and of the benchmarks in tools/bench.
package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/streamable"
)

// Options configure the example server.
type Options struct {
	JSON  bool             // answer with JSON bodies instead of event streams
	Store eventstore.Store // nil: streams are not resumable
	// DropDelay is how long a "drop" call waits after ending its stream
	// before it sends anything (so the client really has to resume).
	DropDelay time.Duration
	// Server is passed through (Handle and Response are set here).
	Server streamable.ServerOptions
}

var versions = []string{streamable.Rev20251125, streamable.Rev20250618, streamable.Rev20250326}

// New returns the example server's handler.
func New(opts Options) (*streamable.Server, error) {
	so := opts.Server
	so.Store = opts.Store
	if opts.JSON {
		so.Response = streamable.ResponseJSON
	}
	if so.Versions.Supported == nil {
		so.Versions = streamable.VersionPolicy{Supported: versions}
	}
	dropDelay := opts.DropDelay
	if dropDelay <= 0 {
		dropDelay = 50 * time.Millisecond
	}
	so.Handle = func(ctx context.Context, req *streamable.Request) (any, error) {
		switch req.Method {
		case "initialize":
			return initialize(req)
		case "ping":
			return struct{}{}, nil
		case "tools/list":
			return toolsList, nil
		case "tools/call":
			return callTool(ctx, req, dropDelay)
		}
		return nil, &streamable.Error{Code: streamable.CodeMethodNotFound, Message: "method not found: " + req.Method}
	}
	return streamable.NewServer(so)
}

func initialize(req *streamable.Request) (any, error) {
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(req.Params, &p); err != nil {
		return nil, &streamable.Error{Code: streamable.CodeInvalidParams, Message: "bad initialize params"}
	}
	v := versions[0]
	if slices.Contains(versions, p.ProtocolVersion) {
		v = p.ProtocolVersion
	}
	return map[string]any{
		"protocolVersion": v,
		"capabilities":    map[string]any{"tools": map[string]any{}},
		"serverInfo":      map[string]string{"name": "streamkit-example", "version": "0.1.0"},
	}, nil
}

var toolsList = map[string]any{"tools": []any{map[string]any{
	"name":        "count",
	"description": "Counts to n, sending a progress notification per step, then returns the count.",
	"inputSchema": map[string]any{
		"type": "object",
		"properties": map[string]any{
			"n":    map[string]any{"type": "integer", "minimum": 0, "maximum": 10000},
			"drop": map[string]any{"type": "boolean", "description": "end the HTTP stream after the priming event first"},
		},
		"required": []string{"n"},
	},
}}}

// CountArgs are the "count" tool's arguments.
type CountArgs struct {
	N    int  `json:"n"`
	Drop bool `json:"drop"`
}

func callTool(ctx context.Context, req *streamable.Request, dropDelay time.Duration) (any, error) {
	var p struct {
		Name      string          `json:"name"`
		Arguments CountArgs       `json:"arguments"`
		Meta      json.RawMessage `json:"_meta"`
	}
	if err := json.Unmarshal(req.Params, &p); err != nil || p.Name != "count" {
		return nil, &streamable.Error{Code: streamable.CodeInvalidParams, Message: "unknown tool"}
	}
	if p.Arguments.N < 0 || p.Arguments.N > 10000 {
		return nil, &streamable.Error{Code: streamable.CodeInvalidParams, Message: "n out of range"}
	}
	var meta struct {
		ProgressToken json.RawMessage `json:"progressToken"`
	}
	_ = json.Unmarshal(p.Meta, &meta)
	if p.Arguments.Drop && req.CloseStream() {
		select {
		case <-time.After(dropDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if len(meta.ProgressToken) > 0 {
		for i := 1; i <= p.Arguments.N; i++ {
			err := req.Notify(ctx, "notifications/progress", progress{Token: meta.ProgressToken, Progress: i, Total: p.Arguments.N})
			if err != nil {
				if err == streamable.ErrNoStream {
					break // JSON mode: the answer carries only the result
				}
				return nil, err
			}
		}
	}
	return map[string]any{
		"content": []any{map[string]string{"type": "text", "text": fmt.Sprintf("counted to %d", p.Arguments.N)}},
	}, nil
}

type progress struct {
	Token    json.RawMessage `json:"progressToken"`
	Progress int             `json:"progress"`
	Total    int             `json:"total"`
}
