package release

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"

	"golang.org/x/mod/semver"
)

// git runs a git command in dir and returns its trimmed standard output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("release: git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// LastTag returns the highest semver tag "<dir>/vX.Y.Z" reachable in the
// repository at root, as ("vX.Y.Z", true), or ("", false) when there is none.
// Pre-release tags count; build metadata is not allowed in module versions.
func LastTag(root, dir string) (string, bool, error) {
	out, err := git(root, "tag", "--list", dir+"/v*")
	if err != nil {
		return "", false, err
	}
	best := ""
	for _, t := range strings.Fields(out) {
		v := strings.TrimPrefix(t, dir+"/")
		if strings.Contains(v, "/") || !semver.IsValid(v) || semver.Build(v) != "" {
			continue // a tag of a nested module, or not a version
		}
		if best == "" || semver.Compare(v, best) > 0 {
			best = v
		}
	}
	return best, best != "", nil
}

// ChangedSince reports whether anything in dir differs between the tag and the
// work tree (committed or not), ignoring nested modules' folders.
func ChangedSince(root, dir, tag string, nested []string) (bool, error) {
	args := []string{"diff", "--quiet", tag, "--", dir}
	for _, n := range nested {
		args = append(args, ":(exclude)"+n)
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	err := cmd.Run()
	if err == nil {
		return false, nil
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return true, nil
	}
	return false, fmt.Errorf("release: git diff %s -- %s: %v", tag, dir, err)
}

// Dirty reports whether the work tree at root has uncommitted changes.
func Dirty(root string) (bool, error) {
	out, err := git(root, "status", "--porcelain")
	return out != "", err
}
