// Package release plans, cuts and checks per-module releases of the streamkit
// monorepo: every module is versioned on its own and tagged "<dir>/vX.Y.Z".
package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// RepoPath is the module path prefix of every streamkit module.
const RepoPath = "github.com/streamkit-dev/streamkit"

// Module is one released module of the repository.
type Module struct {
	Dir      string   // folder relative to the repository root, "codec/protocodec"
	Path     string   // module path
	Siblings []string // module paths of the repository's modules it requires
}

// Released reports whether a module folder is a library that gets tags.
// Commands, benchmarks, dev tools, examples and test-only modules are not:
// anything under tools/, and anything with an internal or example path element.
func Released(dir string) bool {
	if dir == "tools" || strings.HasPrefix(dir, "tools/") {
		return false
	}
	for _, e := range strings.Split(dir, "/") {
		if e == "internal" || e == "examples" || e == "example" || e == "testdata" {
			return false
		}
	}
	return true
}

// Discover finds the released modules under root, bottom-up along the import
// direction (a module comes after every sibling it requires).
func Discover(root string) ([]Module, error) {
	var mods []Module
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "go.mod" {
			return nil
		}
		dir, _ := filepath.Rel(root, filepath.Dir(p))
		dir = filepath.ToSlash(dir)
		if dir == "." || !Released(dir) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := modfile.ParseLax(p, data, nil)
		if err != nil {
			return err
		}
		if f.Module == nil {
			return fmt.Errorf("release: %s has no module line", p)
		}
		if want := RepoPath + "/" + dir; f.Module.Mod.Path != want {
			return fmt.Errorf("release: %s declares %s, want %s", p, f.Module.Mod.Path, want)
		}
		m := Module{Dir: dir, Path: f.Module.Mod.Path}
		for _, r := range f.Require {
			if strings.HasPrefix(r.Mod.Path, RepoPath+"/") {
				m.Siblings = append(m.Siblings, r.Mod.Path)
			}
		}
		mods = append(mods, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return Order(mods)
}

// Order sorts modules bottom-up: every module after the siblings it requires,
// ties by folder name. A cycle is an error.
func Order(mods []Module) ([]Module, error) {
	byPath := map[string]Module{}
	for _, m := range mods {
		byPath[m.Path] = m
	}
	slices.SortFunc(mods, func(a, b Module) int { return strings.Compare(a.Dir, b.Dir) })
	var out []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(m Module) error
	visit = func(m Module) error {
		switch state[m.Path] {
		case 1:
			return fmt.Errorf("release: import cycle through %s", m.Path)
		case 2:
			return nil
		}
		state[m.Path] = 1
		deps := slices.Clone(m.Siblings)
		slices.Sort(deps)
		for _, d := range deps {
			if dm, ok := byPath[d]; ok {
				if err := visit(dm); err != nil {
					return err
				}
			}
		}
		state[m.Path] = 2
		out = append(out, m)
		return nil
	}
	for _, m := range mods {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Find returns the module in folder dir.
func Find(mods []Module, dir string) (Module, error) {
	for _, m := range mods {
		if m.Dir == dir {
			return m, nil
		}
	}
	return Module{}, fmt.Errorf("release: %q is not a released module", dir)
}

// Dependents returns the modules that require path, directly or not.
func Dependents(mods []Module, path string) []Module {
	var out []Module
	reach := map[string]bool{path: true}
	for _, m := range mods { // mods are bottom-up, so one pass suffices
		for _, s := range m.Siblings {
			if reach[s] {
				reach[m.Path] = true
				out = append(out, m)
				break
			}
		}
	}
	return out
}

var errDirty = errors.New("release: the work tree has uncommitted changes")
