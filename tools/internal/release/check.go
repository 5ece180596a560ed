package release

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// consumers holds, per released module, a small main package that uses it:
// consumers/<dir with "/" as "_">.go.txt. The release check builds and runs
// each one as a fresh consumer would.
//
//go:embed consumers/*.go.txt
var consumers embed.FS

// CheckOptions configure Check.
type CheckOptions struct {
	// Consumers overrides the embedded consumer programs (tests use it).
	Consumers fs.FS
	// Versions overrides the version given to a module (by folder); by default
	// each module gets the version Plan proposes (its last tag if unchanged).
	Versions map[string]string
	// Only, if set, limits the consumers to these module folders (every
	// module is still tagged and served).
	Only []string
	// Keep keeps the temporary folder (its path is logged).
	Keep bool
	Log  io.Writer
}

// CheckRow is the result for one module.
type CheckRow struct {
	Module  Module
	Version string
	Graph   []string // modules in the consumer's module graph (go list -m all), without the consumer
	Built   []string // modules whose packages are compiled into the program
	Size    int64    // bytes of the built program
	Output  string   // what the program printed
}

// Check proves that every released module can be consumed on its own: in a
// temporary copy of the work tree it tags every module, builds a file-based
// module proxy from those tags, and for each module creates a fresh consumer
// (GOWORK=off, no network: only the file proxy and the local module cache)
// that `go get`s that module alone, builds and runs a small program with it,
// and checks that the consumer's module graph holds none of the heavy
// dependencies of other modules (no gorilla/websocket for an sse user, no
// protobuf for a codec user, no go-redis for an eventstore user).
func Check(root string, opt CheckOptions) ([]CheckRow, error) {
	logw := opt.Log
	if logw == nil {
		logw = io.Discard
	}
	cons := opt.Consumers
	if cons == nil {
		sub, err := fs.Sub(consumers, "consumers")
		if err != nil {
			return nil, err
		}
		cons = sub
	}
	tmp, err := os.MkdirTemp("", "streamkit-release-check-")
	if err != nil {
		return nil, err
	}
	if opt.Keep {
		fmt.Fprintf(logw, "release-check: keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	versions := map[string]string{}
	plan, err := Plan(root)
	if err != nil {
		return nil, err
	}
	for _, r := range plan {
		v := r.Next
		if v == "" {
			v = r.Last
		}
		versions[r.Module.Dir] = v
	}
	for d, v := range opt.Versions {
		versions[d] = v
	}

	repo := filepath.Join(tmp, "repo")
	if err := copyWorkTree(root, repo); err != nil {
		return nil, err
	}
	mods, err := Discover(repo)
	if err != nil {
		return nil, err
	}
	modcache, err := goEnv("GOMODCACHE")
	if err != nil {
		return nil, err
	}
	// The module cache must hold every third-party module that the consumers
	// will need; this is the only step that may use the network.
	for _, m := range mods {
		if err := gocmd(filepath.Join(repo, m.Dir), "mod", "download"); err != nil {
			return nil, err
		}
	}
	// Tag bottom-up, as a release would: sibling requires at released versions.
	if _, err := git(repo, "init", "-q"); err != nil {
		return nil, err
	}
	for _, m := range mods {
		for _, s := range m.Siblings {
			sd := strings.TrimPrefix(s, RepoPath+"/")
			if err := gocmd(filepath.Join(repo, m.Dir), "mod", "edit", "-require="+s+"@"+versions[sd]); err != nil {
				return nil, err
			}
		}
	}
	if _, err := git(repo, "add", "-A"); err != nil {
		return nil, err
	}
	if _, err := git(repo, "-c", "user.name=release-check", "-c", "user.email=release-check@localhost", "commit", "-q", "-m", "release-check"); err != nil {
		return nil, err
	}
	proxy := filepath.Join(tmp, "proxy")
	heavy := map[string]bool{} // every third-party module some released module builds with
	built := map[string][]string{}
	for _, m := range mods {
		v := versions[m.Dir]
		if _, err := git(repo, "tag", m.Dir+"/"+v); err != nil {
			return nil, err
		}
		if err := addToProxy(proxy, filepath.Join(repo, m.Dir), m.Path, v); err != nil {
			return nil, err
		}
		deps, err := goList(filepath.Join(repo, m.Dir), nil, "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...")
		if err != nil {
			return nil, err
		}
		built[m.Path] = deps
		for _, d := range deps {
			if !strings.HasPrefix(d, RepoPath) && !testSupport[d] {
				heavy[d] = true
			}
		}
	}

	env := []string{
		"GOWORK=off",
		// A module cache of the check's own: the shared one keeps every
		// module version it ever extracted, so a consumer would build an
		// earlier run's copy of a module at the same version, not this tree.
		"GOMODCACHE=" + filepath.Join(tmp, "modcache"),
		"GOFLAGS=-mod=mod -modcacherw",
		"GOTOOLCHAIN=local",
		"GOPROXY=file://" + proxy + ",file://" + filepath.Join(modcache, "cache", "download"),
		"GONOSUMDB=" + RepoPath,
	}
	var rows []CheckRow
	for _, m := range mods {
		if len(opt.Only) > 0 && !slices.Contains(opt.Only, m.Dir) {
			continue
		}
		row, err := checkConsumer(tmp, repo, cons, mods, m, versions[m.Dir], env, heavy, built)
		if err != nil {
			return rows, err
		}
		fmt.Fprintf(logw, "release-check: %s %s ok\n", m.Dir, row.Version)
		rows = append(rows, row)
	}
	return rows, nil
}

func checkConsumer(tmp, repo string, cons fs.FS, mods []Module, m Module, version string, env []string, heavy map[string]bool, built map[string][]string) (CheckRow, error) {
	row := CheckRow{Module: m, Version: version}
	name := strings.ReplaceAll(m.Dir, "/", "_") + ".go.txt"
	src, err := fs.ReadFile(cons, name)
	if err != nil {
		return row, fmt.Errorf("release: no consumer program for %s: add tools/internal/release/consumers/%s", m.Dir, name)
	}
	dir := filepath.Join(tmp, "consumer-"+strings.ReplaceAll(m.Dir, "/", "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return row, err
	}
	gomod := "module example.com/consumer\n\ngo 1.25.0\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return row, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		return row, err
	}
	// Third-party checksums come from the released modules' own go.sum files
	// (hashes they were built and tested with), so no checksum database is asked.
	var sums bytes.Buffer
	for _, d := range append([]Module{m}, siblingsOf(mods, m)...) {
		b, err := os.ReadFile(filepath.Join(repo, d.Dir, "go.sum"))
		if err == nil {
			sums.Write(b)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums.Bytes(), 0o644); err != nil {
		return row, err
	}
	if _, err := goList(dir, env, "get", m.Path+"@"+version); err != nil {
		return row, err
	}
	if _, err := goList(dir, env, "mod", "tidy"); err != nil {
		return row, err
	}
	if _, err := goList(dir, env, "build", "-o", "prog", "."); err != nil {
		return row, err
	}
	st, err := os.Stat(filepath.Join(dir, "prog"))
	if err != nil {
		return row, err
	}
	row.Size = st.Size()
	out, err := runWithTimeout(filepath.Join(dir, "prog"), dir, time.Minute)
	if err != nil {
		return row, fmt.Errorf("release: consumer of %s failed: %v: %s", m.Dir, err, out)
	}
	row.Output = strings.TrimSpace(out)
	graph, err := goList(dir, env, "list", "-m", "-f", "{{if not .Main}}{{.Path}}{{end}}", "all")
	if err != nil {
		return row, err
	}
	row.Graph = graph
	row.Built, err = goList(dir, env, "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}", ".")
	if err != nil {
		return row, err
	}
	if v := Violations(row.Graph, heavy, built[m.Path]); len(v) > 0 {
		return row, fmt.Errorf("release: a consumer of %s pulls in %s, which %s does not build with", m.Dir, strings.Join(v, ", "), m.Dir)
	}
	return row, nil
}

// testSupport are the test toolkit's modules. Every module requires them for
// its tests (and eventstore/storetest builds with testify), so they sit in
// every consumer's module graph; a consumer program only compiles them in if
// it uses them, which the "built" column shows.
var testSupport = map[string]bool{
	"github.com/stretchr/testify":   true,
	"github.com/stretchr/objx":      true,
	"github.com/davecgh/go-spew":    true,
	"github.com/pmezard/go-difflib": true,
	"gopkg.in/yaml.v3":              true,
	"go.yaml.in/yaml/v3":            true,
	"go.uber.org/goleak":            true,
}

// Violations lists the modules in graph that some released module builds
// with (heavy) but this module does not (own).
func Violations(graph []string, heavy map[string]bool, own []string) []string {
	var out []string
	for _, g := range graph {
		if heavy[g] && !slices.Contains(own, g) {
			out = append(out, g)
		}
	}
	return out
}

func siblingsOf(mods []Module, m Module) []Module {
	var out []Module
	for _, s := range m.Siblings {
		for _, o := range mods {
			if o.Path == s {
				out = append(out, o)
				out = append(out, siblingsOf(mods, o)...)
			}
		}
	}
	return out
}

// addToProxy writes one module version in the GOPROXY file layout.
func addToProxy(proxy, dir, path, version string) error {
	esc, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(proxy, esc, "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".mod"), mod, 0o644); err != nil {
		return err
	}
	info, _ := json.Marshal(map[string]string{"Version": version, "Time": time.Now().UTC().Format(time.RFC3339)})
	if err := os.WriteFile(filepath.Join(vdir, version+".info"), info, 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(vdir, version+".zip"))
	if err != nil {
		return err
	}
	if err := zip.CreateFromDir(f, module.Version{Path: path, Version: version}, dir); err != nil {
		f.Close()
		return fmt.Errorf("release: zip of %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(vdir, "list"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(lf, version)
	return errors.Join(err, lf.Close())
}

// copyWorkTree copies the files git tracks, plus untracked files it does not
// ignore, from root to dst: the check sees the work tree as it is.
func copyWorkTree(root, dst string) error {
	out, err := git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return err
	}
	for _, rel := range strings.Split(out, "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, rel)
		st, err := os.Lstat(src)
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree
			}
			return err
		}
		if !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		d := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(d, data, st.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("release: go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// goList runs go with args in dir (env added to the process's, GOWORK=off)
// and returns its non-empty output lines, sorted and unique.
func goList(dir string, env []string, args ...string) ([]string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOWORK=off"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("release: go %s in %s: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(errb.String()+out.String()))
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return slices.Compact(lines), nil
}

func runWithTimeout(prog, dir string, d time.Duration) (string, error) {
	cmd := exec.Command(prog)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("timed out after %v", d)
	}
}

// WriteCheck prints the per-module table of a check.
func WriteCheck(w io.Writer, rows []CheckRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tVERSION\tMODULES IN GRAPH\tMODULES BUILT IN\tPROGRAM SIZE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f MiB\n", r.Module.Dir, r.Version, len(r.Graph), builtList(r.Built), float64(r.Size)/(1<<20))
	}
	return tw.Flush()
}

func builtList(b []string) string {
	var short []string
	for _, p := range b {
		short = append(short, strings.TrimPrefix(p, RepoPath+"/"))
	}
	if len(short) == 0 {
		return "-"
	}
	return strings.Join(short, ", ")
}
