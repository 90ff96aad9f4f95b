package fs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/keystoretest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestStoreConformance(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) kmsclient.KeyStore { return newStore(t) })
}

func TestStoreConformanceWithoutHardLinks(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) kmsclient.KeyStore {
		s := newStore(t)
		s.link = func(string, string) error { return &os.LinkError{Op: "link", Err: syscall.EPERM} }
		return s
	})
}

func TestNewCreatesPrivateDirectory(t *testing.T) {
	s := newStore(t)
	info, err := os.Stat(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode = %o, want 700", got)
	}
}

func TestNewRejectsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(file); err == nil {
		t.Error("New over a regular file succeeded, want an error")
	}
}

func TestKeyFilesArePrivateAndNoTemporariesRemain(t *testing.T) {
	s := newStore(t)
	if err := s.Create(t.Context(), "key", []byte("value")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"key"}) {
		t.Errorf("directory holds %q, want only [key]", names)
	}
	info, err := os.Stat(filepath.Join(s.dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %o, want 600", got)
	}
}

func TestNewStoreReadsKeysOfAnEarlierOne(t *testing.T) {
	dir := t.TempDir()
	first, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Create(t.Context(), "key", []byte("value")); err != nil {
		t.Fatal(err)
	}
	second, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := second.Get(t.Context(), "key"); err != nil || !bytes.Equal(got, []byte("value")) {
		t.Errorf("Get = %q, %v; want value", got, err)
	}
}

func TestListSkipsForeignFiles(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{".create-123", "with.dot", "key"} {
		if err := os.WriteFile(filepath.Join(s.dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.dir, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	names, next, err := s.List(t.Context(), "", "", 0)
	if err != nil || !slices.Equal(names, []string{"key"}) || next != "" {
		t.Errorf("List = %q, %q, %v; want [key]", names, next, err)
	}
}

func TestGetRejectsOversizedFile(t *testing.T) {
	s := newStore(t)
	if err := os.WriteFile(filepath.Join(s.dir, "big"), make([]byte, maxValueSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "big"); err == nil {
		t.Error("Get of an oversized file succeeded, want an error")
	}
}

func TestMissingDirectoryIsUnavailable(t *testing.T) {
	s := newStore(t)
	if err := os.Remove(s.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Status(t.Context()); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("Status = %v, want %v", err, kmsclient.ErrUnavailable)
	}
	if _, err := s.Get(t.Context(), "key"); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("Get = %v, want %v", err, kmsclient.ErrUnavailable)
	}
	if err := s.Create(t.Context(), "key", []byte("v")); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("Create = %v, want %v", err, kmsclient.ErrUnavailable)
	}
	if _, _, err := s.List(t.Context(), "", "", 0); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("List = %v, want %v", err, kmsclient.ErrUnavailable)
	}
}

func TestStoreRotation(t *testing.T) {
	keystoretest.RunRotation(t, func(t *testing.T) kmsclient.KeyStore { return newStore(t) })
}
