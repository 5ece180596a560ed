// Package release is the logic behind the repository's release commands.
//
// Every released module (a library folder with a go.mod, outside tools/ and
// internal/ and example folders) is versioned on its own and tagged
// "<dir>/vX.Y.Z". [Plan] tells, per module, the last tag, whether anything
// changed since, the API change against that tag (golang.org/x/exp/apidiff)
// and the proposed next version, with the modules that require it and must
// follow. [Release] cuts releases bottom-up along the import direction.
// [Check] proves that each module can be consumed alone, from tags, with
// only the dependencies it builds with.
//
// All three shell out to git and go; none of them pushes anything.
package release
