//go:build !unix

package eventstore

import (
	"os"
	"path/filepath"
)

// lockDir only creates the LOCK file where flock is not available: a second
// File on the same directory is not detected there.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
}
