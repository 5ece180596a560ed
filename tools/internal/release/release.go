package release

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Target names a module folder and the version to release it at.
type Target struct {
	Dir     string
	Version string
}

// ParseTargets reads "dir" or "dir@vX.Y.Z" words; a bare dir takes version.
func ParseTargets(words []string, version string) ([]Target, error) {
	var ts []Target
	for _, w := range words {
		dir, v, ok := strings.Cut(w, "@")
		if !ok {
			v = version
		}
		if v == "" {
			return nil, fmt.Errorf("release: no version for %s (VERSION=vX.Y.Z or %s@vX.Y.Z)", dir, dir)
		}
		ts = append(ts, Target{Dir: strings.TrimSuffix(dir, "/"), Version: v})
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("release: name the modules to release (MOD=dir)")
	}
	return ts, nil
}

// Release tags the named modules, bottom-up along the import direction. For
// each it refuses a dirty tree, a CHANGELOG without an entry for the version,
// or a version the API change since the last tag does not allow; it then sets
// the module's sibling requires to their released versions, commits that, and
// creates the tag "<dir>/<version>". Nothing is pushed.
func Release(root string, targets []Target, log io.Writer) error {
	if dirty, err := Dirty(root); err != nil {
		return err
	} else if dirty {
		return errDirty
	}
	mods, err := Discover(root)
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, t := range targets {
		if _, err := Find(mods, t.Dir); err != nil {
			return err
		}
		want[t.Dir] = t.Version
	}
	// Check everything before changing anything.
	for _, m := range mods {
		v, ok := want[m.Dir]
		if !ok {
			continue
		}
		if err := checkChangelog(filepath.Join(root, m.Dir, "CHANGELOG.md"), v); err != nil {
			return err
		}
		last, has, err := LastTag(root, m.Dir)
		if err != nil {
			return err
		}
		kind := APINone
		if has {
			if kind, _, err = APIChange(root, m.Dir, m.Dir+"/"+last); err != nil {
				return err
			}
		}
		if err := Allowed(last, v, kind); err != nil {
			return fmt.Errorf("%w (module %s, API change %s)", err, m.Dir, kind)
		}
	}
	for _, m := range mods { // bottom-up
		v, ok := want[m.Dir]
		if !ok {
			continue
		}
		if err := pinSiblings(root, mods, m); err != nil {
			return err
		}
		if dirty, _ := Dirty(root); dirty {
			files := []string{m.Dir + "/go.mod"}
			if _, err := os.Stat(filepath.Join(root, m.Dir, "go.sum")); err == nil {
				files = append(files, m.Dir+"/go.sum")
			}
			if _, err := git(root, append([]string{"commit", "-q", "-m", fmt.Sprintf("release: %s %s", m.Dir, v), "--"}, files...)...); err != nil {
				return err
			}
		}
		tag := m.Dir + "/" + v
		if _, err := git(root, "tag", "-a", "-m", fmt.Sprintf("%s %s", m.Path, v), tag); err != nil {
			return err
		}
		fmt.Fprintf(log, "tagged %s\n", tag)
	}
	return nil
}

// pinSiblings sets the module's requires of sibling modules to their latest
// tags. A sibling that was never released is an error: release it first (or
// name it in the same run, which releases it first).
func pinSiblings(root string, mods []Module, m Module) error {
	for _, s := range m.Siblings {
		dir := strings.TrimPrefix(s, RepoPath+"/")
		last, ok, err := LastTag(root, dir)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("release: %s requires %s, which has no release: release it first", m.Dir, dir)
		}
		if err := gocmd(filepath.Join(root, m.Dir), "mod", "edit", "-require="+s+"@"+last); err != nil {
			return err
		}
	}
	return nil
}

func gocmd(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("release: go %s in %s: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// checkChangelog requires a "## vX.Y.Z" (or "## [X.Y.Z]", "## X.Y.Z - date")
// heading for version.
func checkChangelog(path, version string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	bare := regexp.QuoteMeta(strings.TrimPrefix(version, "v"))
	re := regexp.MustCompile(`(?m)^##\s+\[?v?` + bare + `\]?(\s|$)`)
	if !re.Match(data) {
		return fmt.Errorf("release: %s has no entry \"## %s\"", path, version)
	}
	return nil
}
