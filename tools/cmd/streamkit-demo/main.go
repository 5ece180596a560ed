// Command streamkit-demo serves the streamkit demo: one page that shows,
// live, a ticker over server-sent events, a chat with rooms over
// WebSocket, notifications over long polling and a job that reports its
// progress over MCP Streamable HTTP, all over one event store.
//
// Usage:
//
//	streamkit-demo [-addr 127.0.0.1:8080] [-store memory|file:PATH|redis://host:port] [-tick 1s]
//
// It prints the URL to open and stops gracefully on Ctrl-C (SIGINT) or
// SIGTERM: every stream gets its goodbye (SSE a retry hint, WebSocket a
// 1001 close, long polls an answer) before the process exits. With
// -store file:PATH (or redis), a restarted server continues the ticker
// where it stopped, and open pages resume with Last-Event-ID, missing
// nothing.
//
// Endpoints: / (the page), /sse/ticker, /ws/chat?room=&name=,
// /poll/subscribe and /poll/publish, /mcp, /stream (httpstream echo,
// protocol streamkit.v1), /healthz, /stats.
//
// Exit status: 0 after a clean shutdown, 1 on an error, 2 for bad flags.
package main

import (
	"os"

	"github.com/streamkit-dev/streamkit/tools/internal/demo"
)

func main() {
	os.Exit(demo.Main(os.Args[1:], os.Stdout, os.Stderr))
}
