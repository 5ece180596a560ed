package release

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReleased(t *testing.T) {
	for dir, want := range map[string]bool{
		"codec": true, "codec/protocodec": true, "eventstore/redisstore": true,
		"tools": false, "tools/bench": false, "httpstream/internal/interop": false, "streamable/examples/mcp": false,
	} {
		assert.Equal(t, want, Released(dir), dir)
	}
}

func TestOrderAndDependents(t *testing.T) {
	p := func(d string) string { return RepoPath + "/" + d }
	mods := []Module{
		{Dir: "sse", Path: p("sse"), Siblings: []string{p("eventstore"), p("codec")}},
		{Dir: "codec", Path: p("codec")},
		{Dir: "streamable", Path: p("streamable"), Siblings: []string{p("sse")}},
		{Dir: "eventstore", Path: p("eventstore")},
	}
	got, err := Order(mods)
	require.NoError(t, err)
	var dirs []string
	for _, m := range got {
		dirs = append(dirs, m.Dir)
	}
	assert.Equal(t, []string{"codec", "eventstore", "sse", "streamable"}, dirs)

	var deps []string
	for _, m := range Dependents(got, p("eventstore")) {
		deps = append(deps, m.Dir)
	}
	assert.Equal(t, []string{"sse", "streamable"}, deps, "direct and indirect dependents")

	_, err = Order([]Module{{Dir: "a", Path: p("a"), Siblings: []string{p("b")}}, {Dir: "b", Path: p("b"), Siblings: []string{p("a")}}})
	assert.ErrorContains(t, err, "cycle")
}

func TestNextAndAllowed(t *testing.T) {
	assert.Equal(t, "v0.1.0", Next("", APIIncompatible))
	assert.Equal(t, "v0.3.1", Next("v0.3.0", APINone))
	assert.Equal(t, "v0.4.0", Next("v0.3.0", APICompatible))
	assert.Equal(t, "v0.4.0", Next("v0.3.2", APIIncompatible))
	assert.Equal(t, "v1.3.0", Next("v1.2.5", APICompatible))
	assert.Equal(t, "v2.0.0", Next("v1.2.5", APIIncompatible))

	cases := []struct {
		last, v string
		kind    Kind
		ok      bool
	}{
		{"", "v0.1.0", APINone, true},
		{"", "0.1.0", APINone, false},
		{"", "v0.1", APINone, false},
		{"v0.1.0", "v0.1.0", APINone, false},
		{"v0.2.0", "v0.1.9", APINone, false},
		{"v0.1.0", "v0.1.1", APINone, true},
		{"v0.1.0", "v0.1.1", APICompatible, false},
		{"v0.1.0", "v0.2.0", APICompatible, true},
		{"v0.1.0", "v0.1.1", APIIncompatible, false},
		{"v0.1.0", "v0.2.0", APIIncompatible, true},
		{"v1.1.0", "v1.2.0", APIIncompatible, false},
		{"v1.1.0", "v2.0.0", APIIncompatible, false}, // needs a /v2 path
		{"v0.9.0", "v1.0.0", APIIncompatible, true},
	}
	for _, c := range cases {
		err := Allowed(c.last, c.v, c.kind)
		if c.ok {
			assert.NoError(t, err, "%s -> %s (%s)", c.last, c.v, c.kind)
		} else {
			assert.Error(t, err, "%s -> %s (%s)", c.last, c.v, c.kind)
		}
	}
}

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets([]string{"sse", "codec@v0.2.0"}, "v0.3.0")
	require.NoError(t, err)
	assert.Equal(t, []Target{{"sse", "v0.3.0"}, {"codec", "v0.2.0"}}, ts)
	_, err = ParseTargets([]string{"sse"}, "")
	assert.Error(t, err)
	_, err = ParseTargets(nil, "v1.0.0")
	assert.Error(t, err)
}

func TestChangelog(t *testing.T) {
	p := filepath.Join(t.TempDir(), "CHANGELOG.md")
	require.NoError(t, os.WriteFile(p, []byte("# Changelog\n\n## Unreleased\n\n## v0.2.0 - 2026-11-01\n- x\n\n## [0.1.0]\n"), 0o644))
	assert.NoError(t, checkChangelog(p, "v0.2.0"))
	assert.NoError(t, checkChangelog(p, "v0.1.0"))
	assert.Error(t, checkChangelog(p, "v0.2.1"))
	assert.Error(t, checkChangelog(p, "v0.2"))
}

func TestViolations(t *testing.T) {
	heavy := map[string]bool{"github.com/gorilla/websocket": true, "google.golang.org/protobuf": true}
	assert.Empty(t, Violations([]string{"github.com/stretchr/testify"}, heavy, nil))
	assert.Equal(t, []string{"google.golang.org/protobuf"},
		Violations([]string{"github.com/gorilla/websocket", "google.golang.org/protobuf"}, heavy, []string{"github.com/gorilla/websocket"}))
}

// TestFakeRepo runs plan, release and check on a two-module repository made
// for the test: b requires a.
func TestFakeRepo(t *testing.T) {
	// Release commits and tags as the person running it; CI has no git identity.
	for k, v := range map[string]string{"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"} {
		t.Setenv(k, v)
	}
	root := t.TempDir()
	write := func(rel, s string) {
		t.Helper()
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := runGit(root, args...)
		require.NoError(t, err, out)
		return out
	}
	write("a/go.mod", "module "+RepoPath+"/a\n\ngo 1.25.0\n")
	write("a/a.go", "package a\n\n// Hello greets.\nfunc Hello() string { return \"hello\" }\n\n// Bye says bye.\nfunc Bye() string { return \"bye\" }\n")
	write("a/CHANGELOG.md", "# Changelog\n\n## v0.1.0\n- first\n")
	write("b/go.mod", "module "+RepoPath+"/b\n\ngo 1.25.0\n\nrequire "+RepoPath+"/a v0.0.0\n\nreplace "+RepoPath+"/a => ../a\n")
	write("b/b.go", "package b\n\nimport \"github.com/streamkit-dev/streamkit/a\"\n\n// Greet greets twice.\nfunc Greet() string { return a.Hello() + a.Hello() }\n")
	write("b/CHANGELOG.md", "# Changelog\n\n## v0.1.0\n- first\n")
	write("tools/go.mod", "module "+RepoPath+"/tools\n\ngo 1.25.0\n")
	run("init", "-q")
	run("add", "-A")
	run("commit", "-q", "-m", "init")

	rows, err := Plan(root)
	require.NoError(t, err)
	require.Len(t, rows, 2, "tools is not released")
	assert.Equal(t, "a", rows[0].Module.Dir)
	assert.Equal(t, "v0.1.0", rows[0].Next)
	assert.Equal(t, []string{"b"}, rows[0].Follow)

	require.NoError(t, Release(root, []Target{{"b", "v0.1.0"}, {"a", "v0.1.0"}}, io.Discard))
	assert.Contains(t, run("tag", "--list"), "a/v0.1.0")
	assert.Contains(t, run("tag", "--list"), "b/v0.1.0")
	bmod, err := os.ReadFile(filepath.Join(root, "b/go.mod"))
	require.NoError(t, err)
	assert.Contains(t, string(bmod), RepoPath+"/a v0.1.0", "sibling require set to the released version")

	// An incompatible change to a: the plan says so and a patch release is refused.
	write("a/a.go", "package a\n\n// Hello greets.\nfunc Hello() string { return \"hello\" }\n")
	err = Release(root, []Target{{"a", "v0.1.1"}}, io.Discard)
	assert.ErrorIs(t, err, errDirty)
	run("commit", "-q", "-am", "drop Bye")
	rows, err = Plan(root)
	require.NoError(t, err)
	assert.True(t, rows[0].Changed)
	assert.Equal(t, APIIncompatible, rows[0].API)
	assert.Equal(t, "v0.2.0", rows[0].Next)
	assert.False(t, rows[1].Changed, "b itself did not change")
	err = Release(root, []Target{{"a", "v0.1.1"}}, io.Discard)
	assert.ErrorContains(t, err, "no entry")
	write("a/CHANGELOG.md", "# Changelog\n\n## v0.1.1\n- oops\n\n## v0.1.0\n- first\n")
	run("commit", "-q", "-am", "changelog")
	err = Release(root, []Target{{"a", "v0.1.1"}}, io.Discard)
	assert.ErrorContains(t, err, "incompatible")

	var buf bytes.Buffer
	require.NoError(t, WritePlan(&buf, rows))
	assert.Contains(t, buf.String(), "incompatible")
	assert.Contains(t, buf.String(), "Bye")

	// The check: each module consumed alone through a file proxy.
	cons := fstest.MapFS{
		"a.go.txt": {Data: []byte("package main\n\nimport (\n\t\"fmt\"\n\n\t\"" + RepoPath + "/a\"\n)\n\nfunc main() { fmt.Println(a.Hello()) }\n")},
		"b.go.txt": {Data: []byte("package main\n\nimport (\n\t\"fmt\"\n\n\t\"" + RepoPath + "/b\"\n)\n\nfunc main() { fmt.Println(b.Greet()) }\n")},
	}
	crows, err := Check(root, CheckOptions{Consumers: cons})
	require.NoError(t, err)
	require.Len(t, crows, 2)
	assert.Equal(t, "hello", crows[0].Output)
	assert.Equal(t, "v0.2.0", crows[0].Version, "a gets the planned version")
	assert.Equal(t, "hellohello", crows[1].Output)
	assert.Equal(t, []string{RepoPath + "/a", RepoPath + "/b"}, crows[1].Built)
	assert.Positive(t, crows[1].Size)

	// A consumer program that does not build fails the check.
	cons["b.go.txt"] = &fstest.MapFile{Data: []byte("package main\n\nfunc main() { undefined() }\n")}
	_, err = Check(root, CheckOptions{Consumers: cons})
	assert.Error(t, err)
}

func runGit(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@localhost"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
