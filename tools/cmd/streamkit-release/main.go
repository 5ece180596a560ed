// Command streamkit-release plans, cuts and checks per-module releases of the
// streamkit repository. The Makefile drives it:
//
//	make release-plan                         # streamkit-release plan
//	make release MOD=sse VERSION=v0.3.0       # streamkit-release release -version v0.3.0 sse
//	make release-check                        # streamkit-release check
//
// Exit codes: 0 success, 1 a refused release or a failed check, 2 bad usage.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/streamkit-dev/streamkit/tools/internal/release"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: streamkit-release plan | release [-version vX.Y.Z] DIR[@vX.Y.Z]... | check [-keep] [-only DIRS]")
		return 2
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	switch args[0] {
	case "plan":
		rows, err := release.Plan(root)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if err := release.WritePlan(stdout, rows); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	case "release":
		fs := flag.NewFlagSet("release", flag.ContinueOnError)
		fs.SetOutput(stderr)
		version := fs.String("version", "", "version for the modules named without @version")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		targets, err := release.ParseTargets(strings.Fields(strings.Join(fs.Args(), " ")), *version)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		if err := release.Release(root, targets, stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	case "check":
		fs := flag.NewFlagSet("check", flag.ContinueOnError)
		fs.SetOutput(stderr)
		keep := fs.Bool("keep", false, "keep the temporary folder")
		only := fs.String("only", "", "check only these module folders (space-separated)")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		rows, err := release.Check(root, release.CheckOptions{Keep: *keep, Only: strings.Fields(*only), Log: stderr})
		if werr := release.WriteCheck(stdout, rows); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	default:
		fmt.Fprintf(stderr, "streamkit-release: unknown command %q\n", args[0])
		return 2
	}
	return 0
}

func repoRoot() (string, error) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("streamkit-release: not in a git work tree: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}
