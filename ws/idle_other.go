//go:build !unix

package ws

// waitIdle is a no-op where the readiness check of idle_unix.go is not
// available: the read goroutine then parks in gorilla's read.
func (b *batchConn) waitIdle() {}
