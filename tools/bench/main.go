// Command bench runs streamkit's peer benchmarks: every scenario measures our
// module and the named peers in the same run, on the same machine, and prints
// one table row per (metric, peer) with the ratio ours/peer.
//
//	go run . [-run REGEXP] [-short] [-o FILE]
//
// -short runs each scenario once at a tiny size (what CI does to keep the
// scenarios from rotting); numbers from -short are not results.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"testing"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pattern := fs.String("run", "", "run only scenarios whose name matches `regexp`")
	short := fs.Bool("short", false, "one short iteration per scenario (a smoke test, not a result)")
	out := fs.String("o", "", "also append the table to `file`")
	list := fs.Bool("list", false, "list scenarios and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	re, err := regexp.Compile(*pattern)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if *list {
		for _, s := range scenarios() {
			fmt.Fprintf(stdout, "%s\t%s\n", s.Name, s.Peers)
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	cfg := Config{Short: *short}
	if cfg.Short {
		// testing.Benchmark reads -test.benchtime: one iteration is enough to
		// prove a scenario runs.
		testing.Init()
		_ = flag.Set("test.benchtime", "1x")
	}
	var rows []Row
	for _, s := range scenarios() {
		if !re.MatchString(s.Name) {
			continue
		}
		fmt.Fprintf(stderr, "bench: %s (vs %s)\n", s.Name, s.Peers)
		r, err := s.Run(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %s: %v\n", s.Name, err)
			return 1
		}
		rows = append(rows, r...)
	}
	table := FormatTable(rows)
	fmt.Fprint(stdout, table)
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer f.Close()
		if _, err := io.WriteString(f, table); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	return 0
}
