//go:build !linux

package harness

import "testing"

// Xattrs returns nothing where the harness does not read extended
// attributes.
func Xattrs(t testing.TB, path string) map[string][]byte { return nil }
