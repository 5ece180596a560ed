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
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/streamkit-dev/streamkit/tools/internal/demo"
)

func main() {
	fs := flag.NewFlagSet("streamkit-demo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	store := fs.String("store", "memory", "event store: memory, file:PATH or redis://host:port")
	tick := fs.Duration("tick", 0, "ticker period (default 1s)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: streamkit-demo [-addr 127.0.0.1:8080] [-store memory|file:PATH|redis://host:port] [-tick 1s]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	err := demo.Run(context.Background(), demo.Config{Addr: *addr, Store: *store, Tick: *tick, Signals: true, Out: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "streamkit-demo:", err)
		os.Exit(1)
	}
}
