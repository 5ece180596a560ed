//go:build !unix

package httpx

import (
	"errors"
	"fmt"
)

// unsupportedBackend refuses every Watch: without RawConn readiness there is
// no way to wait for a socket other than a blocking Read that consumes data.
type unsupportedBackend struct{}

func newPollBackend(*Poller) (pollBackend, error) { return unsupportedBackend{}, nil }

func (unsupportedBackend) arm(*watch) error {
	return fmt.Errorf("httpx: poller: %w on this system", errors.ErrUnsupported)
}
func (unsupportedBackend) disarm(*watch) {}
func (unsupportedBackend) close()        {}
