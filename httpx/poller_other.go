//go:build !unix

package httpx

import (
	"errors"
	"fmt"
)

// unsupportedBackend refuses every arming: without RawConn readiness there
// is no way to wait for a socket other than a blocking Read that consumes
// data.
type unsupportedBackend struct{}

func newPollBackend(*Poller) (pollBackend, error) { return unsupportedBackend{}, nil }

func (unsupportedBackend) add(*Registration) error { return nil }
func (unsupportedBackend) arm(*Registration, uint32) error {
	return fmt.Errorf("httpx: poller: %w on this system", errors.ErrUnsupported)
}
func (unsupportedBackend) disarm(*Registration) {}
func (unsupportedBackend) remove(*Registration) {}
func (unsupportedBackend) close()               {}
