package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Main is the streamkit-demo command: it parses args (without the program
// name), runs the server until SIGINT or SIGTERM, and returns the exit
// status: 0 after a clean shutdown, 1 on an error, 2 for bad flags.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("streamkit-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	store := fs.String("store", "memory", "event store: memory, file:PATH or redis://host:port")
	tick := fs.Duration("tick", time.Second, "ticker period; 0 turns the ticker off (run it in one process of many)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: streamkit-demo [-addr 127.0.0.1:8080] [-store memory|file:PATH|redis://host:port] [-tick 1s]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *tick < 0 {
		fs.Usage()
		return 2
	}
	err := Run(context.Background(), Config{Addr: *addr, Store: *store, Tick: *tick, NoTicker: *tick == 0, Signals: true, Out: stdout})
	if err != nil {
		fmt.Fprintln(stderr, "streamkit-demo:", err)
		return 1
	}
	fmt.Fprintln(stdout, "streamkit demo: stopped")
	return 0
}
