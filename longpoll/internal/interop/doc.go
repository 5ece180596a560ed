// Package interop tests the longpoll module against real peers: golongpoll
// v1.3.1's own Go client (subscribe and publish, and the timeout-boundary
// race that loses events against golongpoll's server), and a page polling
// with fetch in headless Chromium (driven by playwright-core). It is a
// module of its own so that golongpoll never reaches longpoll's go.mod. The
// Node package is pinned in package.json and package-lock.json; scripts/need
// installs it (and node and chromium) from .needs.
package interop
