package harness

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

// Xattrs returns the extended attributes of the file at path, where
// versitygw's posix backend keeps an object's metadata.
func Xattrs(t testing.TB, path string) map[string][]byte {
	t.Helper()
	names := make([]byte, 64<<10)
	n, err := syscall.Listxattr(path, names)
	if errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	if err != nil {
		t.Fatalf("list the extended attributes of %s: %v", path, err)
	}
	attrs := map[string][]byte{}
	for _, name := range bytes.Split(names[:n], []byte{0}) {
		if len(name) == 0 {
			continue
		}
		value := make([]byte, 64<<10)
		m, err := syscall.Getxattr(path, string(name), value)
		if err != nil {
			t.Fatalf("read the extended attribute %s of %s: %v", name, path, err)
		}
		attrs[string(name)] = value[:m]
	}
	return attrs
}
