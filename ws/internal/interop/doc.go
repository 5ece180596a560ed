// Package interop tests the ws module against real peers: the npm ws client
// under Node, and a page's WebSocket in headless Chromium (driven by
// playwright-core). It is a module of its own so that the protobuf codec its
// tests use never reaches ws's go.mod. The Node packages are pinned in
// package.json and package-lock.json; scripts/need installs them (and node and
// chromium) from .needs.
package interop
