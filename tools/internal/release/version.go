package release

import (
	"fmt"

	"golang.org/x/mod/semver"
)

// Kind is the kind of API change between two versions of a module.
type Kind int

// API change kinds, from none to incompatible.
const (
	APINone Kind = iota
	APICompatible
	APIIncompatible
)

func (k Kind) String() string {
	switch k {
	case APINone:
		return "none"
	case APICompatible:
		return "compatible"
	case APIIncompatible:
		return "incompatible"
	}
	return "unknown"
}

// FirstVersion is the version proposed for a module that was never tagged.
const FirstVersion = "v0.1.0"

// Next proposes the version after last for a change of the given kind.
// Before v1 an incompatible change bumps the minor version (semver's
// "anything may change" range, as gorelease treats it); from v1 on it needs a
// new major version. A compatible change bumps the minor version; a change
// with no API effect bumps the patch.
func Next(last string, kind Kind) string {
	if last == "" {
		return FirstVersion
	}
	major, minor, patch := parts(last)
	switch {
	case kind == APIIncompatible && major >= 1:
		return fmt.Sprintf("v%d.0.0", major+1)
	case kind == APIIncompatible || kind == APICompatible:
		return fmt.Sprintf("v%d.%d.0", major, minor+1)
	}
	return fmt.Sprintf("v%d.%d.%d", major, minor, patch+1)
}

// Allowed checks that version may follow last for a change of the given kind:
// it must be a plain semver above last, and large enough for the change.
func Allowed(last, version string, kind Kind) error {
	if !semver.IsValid(version) || semver.Canonical(version) != version || semver.Build(version) != "" {
		return fmt.Errorf("release: %q is not a canonical version vX.Y.Z", version)
	}
	if last == "" {
		return nil
	}
	if semver.Compare(version, last) <= 0 {
		return fmt.Errorf("release: %s is not above the last release %s", version, last)
	}
	lmaj, lmin, _ := parts(last)
	vmaj, vmin, _ := parts(version)
	if vmaj > 1 {
		return fmt.Errorf("release: %s needs a /v%d module path", version, vmaj)
	}
	switch kind {
	case APIIncompatible:
		if lmaj >= 1 && vmaj == lmaj {
			return fmt.Errorf("release: incompatible API change since %s needs a new major version, not %s", last, version)
		}
		if lmaj == 0 && vmaj == 0 && vmin == lmin {
			return fmt.Errorf("release: incompatible API change since %s needs at least a minor bump, not %s", last, version)
		}
	case APICompatible:
		if vmaj == lmaj && vmin == lmin {
			return fmt.Errorf("release: API additions since %s need at least a minor bump, not %s", last, version)
		}
	}
	return nil
}

func parts(v string) (major, minor, patch int) {
	fmt.Sscanf(semver.Canonical(v), "v%d.%d.%d", &major, &minor, &patch)
	return
}
