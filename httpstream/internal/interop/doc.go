// Package interop proves that httpstream speaks the same SPDY/3.1 as
// k8s.io/streaming (moby/spdystream underneath), in both directions, and
// benchmarks it against k8s.io/streaming, hashicorp/yamux and raw TCP. It is
// a test-only module: nothing here is imported by the library, so users never
// download k8s.
//
// It requires Go 1.26 because k8s.io/streaming v0.37.2 does.
package interop
