package release_test

import (
	"fmt"

	"github.com/streamkit-dev/streamkit/tools/internal/release"
)

func ExampleNext() {
	fmt.Println(release.Next("", release.APINone))
	fmt.Println(release.Next("v0.3.0", release.APIIncompatible))
	fmt.Println(release.Next("v1.2.0", release.APICompatible))
	fmt.Println(release.Next("v1.2.0", release.APIIncompatible))
	// Output:
	// v0.1.0
	// v0.4.0
	// v1.3.0
	// v2.0.0
}

func ExampleAllowed() {
	fmt.Println(release.Allowed("v1.4.0", "v1.5.0", release.APIIncompatible))
	fmt.Println(release.Allowed("v0.4.0", "v0.5.0", release.APIIncompatible))
	// Output:
	// release: incompatible API change since v1.4.0 needs a new major version, not v1.5.0
	// <nil>
}
