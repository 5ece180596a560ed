// Command mcpserver serves the example MCP server on a loopback address.
//
//	go run ./cmd/mcpserver -addr 127.0.0.1:8080 [-json]
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/streamable/examples/mcpserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	jsonMode := flag.Bool("json", false, "answer with JSON bodies instead of event streams")
	flag.Parse()
	store := eventstore.NewMemory(eventstore.Options{})
	defer store.Close()
	srv, err := mcpserver.New(mcpserver.Options{JSON: *jsonMode, Store: store})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv)
	hs := &http.Server{Addr: *addr, Handler: mux}
	err = httpx.ListenAndServeGraceful(hs,
		httpx.WithShutdownHooks(srv.Close),
		httpx.WithReady(func(s *httpx.Serving) { fmt.Println("serving MCP on", s.URL()+"/mcp") }))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
