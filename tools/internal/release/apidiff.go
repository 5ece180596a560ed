package release

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/exp/apidiff"
	"golang.org/x/tools/go/packages"
)

// APIChange compares the public API of the module in dir at tag with the work
// tree, and returns the kind of change and apidiff's messages.
func APIChange(root, dir, tag string) (Kind, []string, error) {
	old, err := os.MkdirTemp("", "streamkit-apidiff-")
	if err != nil {
		return 0, nil, err
	}
	defer os.RemoveAll(old)
	// The whole tree at the tag: the module's replace directives point at siblings.
	archive := exec.Command("sh", "-c", fmt.Sprintf("git archive --format=tar %q | tar -x -C %q", tag, old))
	archive.Dir = root
	if out, err := archive.CombinedOutput(); err != nil {
		return 0, nil, fmt.Errorf("release: extracting %s: %v: %s", tag, err, out)
	}
	oldMod, err := loadModule(filepath.Join(old, dir))
	if err != nil {
		return 0, nil, fmt.Errorf("release: loading %s at %s: %w", dir, tag, err)
	}
	newMod, err := loadModule(filepath.Join(root, dir))
	if err != nil {
		return 0, nil, fmt.Errorf("release: loading %s: %w", dir, err)
	}
	report := apidiff.ModuleChanges(oldMod, newMod)
	kind := APINone
	var msgs []string
	for _, c := range report.Changes {
		if c.Compatible {
			kind = max(kind, APICompatible)
			msgs = append(msgs, "+ "+c.Message)
		} else {
			kind = APIIncompatible
			msgs = append(msgs, "! "+c.Message)
		}
	}
	return kind, msgs, nil
}

// loadModule type-checks the public (non-internal, non-main) packages of the
// module in dir, on its own (GOWORK=off).
func loadModule(dir string) (*apidiff.Module, error) {
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedTypes | packages.NeedModule,
		Dir:  dir,
		Env:  append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod"),
	}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		return nil, err
	}
	m := &apidiff.Module{}
	var errs []string
	for _, p := range pkgs {
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
		if p.Module != nil {
			m.Path = p.Module.Path
		}
		if p.Name == "main" || isInternal(p.PkgPath) || p.Types == nil {
			continue
		}
		m.Packages = append(m.Packages, p.Types)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return m, nil
}

func isInternal(path string) bool {
	for _, e := range strings.Split(path, "/") {
		if e == "internal" {
			return true
		}
	}
	return false
}
