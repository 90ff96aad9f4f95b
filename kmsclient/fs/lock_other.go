//go:build !unix

package fs

import "os"

// lockExclusive does nothing where flock is not available: Updates are
// then serialised within one process only.
func lockExclusive(*os.File) error { return nil }
