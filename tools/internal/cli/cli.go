// Package cli is the streamkit command: curl- and websocat-style clients
// for every streamkit transport, usable against any server that speaks the
// protocol (ours or not). See Usage for the subcommands and exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Exit codes of the streamkit command.
const (
	ExitOK          = 0   // done: the stream ended normally, --count reached, stdin ended
	ExitFailure     = 1   // could not connect, bad HTTP status, protocol or I/O error
	ExitUsage       = 2   // bad subcommand, flag or argument
	ExitPeerError   = 3   // the peer reported an error: a WebSocket close code other than 1000/1001, an MCP error result
	ExitInterrupted = 130 // stopped by SIGINT/SIGTERM (the context ended)
)

// Usage is the command's help text.
const Usage = `usage: streamkit <subcommand> URL [flags]

Data goes to stdout; connection state, progress and errors go to stderr.
Flags may come before or after the URL; give -h to a subcommand for its flags.

  sse URL [--json] [--last-event-id ID] [--count N] [--finite] [-H 'Name: value']
        print server-sent events (their data, or one JSON object per event with
        --json); reconnects and resumes with Last-Event-ID
  ws URL [--subprotocol P] [-H 'Name: value'] [--count N]
        send stdin lines as text messages, print received messages; stdin's end
        closes with 1000; the close code is printed on stderr
  poll URL --category C [--category C2] [--timeout 45s] [--since MS] [--json] [--count N]
        follow a long-poll (golongpoll-compatible) subscription endpoint
  publish URL --category C DATA
        publish DATA (JSON, or else sent as a JSON string) to a long-poll publish endpoint
  mcp URL list [--json]
  mcp URL call TOOL [ARGS-JSON] [--json]
        MCP over Streamable HTTP: list the tools, or call one; progress
        notifications are shown on stderr, the result's text on stdout
  stream URL [--protocol P] [--stream-header 'Name: value'] [-H 'Name: value']
        open an httpstream (SPDY/3.1) connection and pipe stdin/stdout through one stream

Exit status:
  0    success (stream ended, --count reached, stdin ended and the peer closed normally)
  1    failure: connection refused, HTTP error status, protocol or I/O error
  2    usage error
  3    the peer reported an error (WebSocket close code other than 1000/1001,
       MCP JSON-RPC error or a tool result with isError)
  130  interrupted (Ctrl-C)

Against the demo server (make demo):
  streamkit sse http://127.0.0.1:8080/sse/ticker
  streamkit ws 'ws://127.0.0.1:8080/ws/chat?room=lobby&name=cli'
  streamkit poll http://127.0.0.1:8080/poll/subscribe --category notifications
  streamkit publish http://127.0.0.1:8080/poll/publish --category notifications '{"text":"hi"}'
  streamkit mcp http://127.0.0.1:8080/mcp call job '{"steps":5}'
  echo hello | streamkit stream http://127.0.0.1:8080/stream
`

// env is what a subcommand runs with.
type env struct {
	ctx    context.Context
	tr     *http.Transport // one per run, so that its idle connections end with it
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "streamkit: "+format+"\n", args...)
}

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// peerError is an error the peer reported (exit 3).
type peerError struct{ msg string }

func (e *peerError) Error() string { return e.msg }

// Main runs the command with args (without the program name) and returns
// its exit code. ctx ending (a signal) stops it with ExitInterrupted.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, Usage)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, tr: http.DefaultTransport.(*http.Transport).Clone()}
	defer e.tr.CloseIdleConnections()
	cmds := map[string]func(*env, []string) error{
		"sse": runSSE, "ws": runWS, "poll": runPoll, "publish": runPublish, "mcp": runMCP, "stream": runStream,
	}
	run, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "streamkit: unknown subcommand %q\n\n%s", args[0], Usage)
		return ExitUsage
	}
	err := run(e, args[1:])
	var ue *usageError
	var pe *peerError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "streamkit %s: %s\n", args[0], ue.msg)
		return ExitUsage
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "streamkit %s: interrupted\n", args[0])
		return ExitInterrupted
	case errors.As(err, &pe):
		fmt.Fprintf(stderr, "streamkit %s: %s\n", args[0], pe.msg)
		return ExitPeerError
	default:
		fmt.Fprintf(stderr, "streamkit %s: %v\n", args[0], err)
		return ExitFailure
	}
}

// parse parses flags that may come before, between and after positional
// arguments, and returns the positional ones.
func parse(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(e.stdout, "flags of streamkit %s (see streamkit -h):\n", fs.Name())
				fs.SetOutput(e.stdout)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// headers is a repeatable -H 'Name: value' flag.
type headers http.Header

func (h headers) String() string { return "" }

func (h headers) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("header %q is not 'Name: value'", v)
	}
	http.Header(h).Add(name, strings.TrimSpace(value))
	return nil
}

// strs is a repeatable string flag.
type strs []string

func (s *strs) String() string     { return strings.Join(*s, ",") }
func (s *strs) Set(v string) error { *s = append(*s, v); return nil }

func needArgs(pos []string, n int, what string) error {
	if len(pos) != n {
		return &usageError{fmt.Sprintf("want %s, got %d argument(s)", what, len(pos))}
	}
	return nil
}
