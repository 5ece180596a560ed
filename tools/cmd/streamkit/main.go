// Command streamkit is a client for real-time HTTP, in the spirit of curl
// and websocat, that works against any server speaking the protocols
// (streamkit's or another's):
//
//	streamkit sse URL [--json] [--last-event-id ID] [--count N] [--finite] [-H 'Name: value']
//	streamkit ws URL [--subprotocol P] [-H 'Name: value'] [--count N]
//	streamkit poll URL --category C [--timeout 45s] [--since MS] [--json] [--count N]
//	streamkit publish URL --category C DATA
//	streamkit mcp URL list [--json]
//	streamkit mcp URL call TOOL [ARGS-JSON] [--json]
//	streamkit stream URL [--protocol P] [--stream-header 'Name: value']
//
// Data goes to stdout; connection state, progress and errors to stderr.
//
// Exit status: 0 success; 1 failure (connection, HTTP status, protocol,
// I/O); 2 usage error; 3 the peer reported an error (a WebSocket close code
// other than 1000/1001, an MCP error or a tool result with isError);
// 130 interrupted.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/streamkit-dev/streamkit/tools/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
