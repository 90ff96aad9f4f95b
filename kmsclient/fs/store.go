package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
)

// maxValueSize bounds what Get reads; a key record is a few hundred bytes.
const maxValueSize = 1 << 20

// Store is a directory of key files. It is safe for concurrent use.
type Store struct {
	dir string
	// updates serialises Updates within the process; an advisory lock
	// on the directory's lock file serialises them across processes.
	updates sync.Mutex
	// link makes newname a second name of oldname, failing if newname
	// exists. Tests replace it to exercise the fallback.
	link func(oldname, newname string) error
}

var (
	_ kmsclient.KeyStore   = (*Store)(nil)
	_ kmsclient.KeyUpdater = (*Store)(nil)
)

// lockFile is the file Update locks. Its name is no valid key name, so
// List never shows it.
const lockFile = ".update.lock"

// New returns a Store over dir, creating it with mode 0700 if it does not
// exist. An existing directory keeps its mode.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fs key store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("fs key store: %w", err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("fs key store: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("fs key store: %s is not a directory", abs)
	}
	return &Store{dir: abs, link: os.Link}, nil
}

// String names the store in status reports.
func (s *Store) String() string { return "file://" + filepath.ToSlash(s.dir) }

// Create writes value to the file called name, or returns
// kmsclient.ErrKeyExists or kmsclient.ErrInvalidKeyName.
func (s *Store) Create(_ context.Context, name string, value []byte) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".create-*") // mode 0600
	if err != nil {
		return s.fail("create key", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(value); err != nil {
		tmp.Close()
		return s.fail("create key", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return s.fail("create key", name, err)
	}
	if err := tmp.Close(); err != nil {
		return s.fail("create key", name, err)
	}

	path := filepath.Join(s.dir, name)
	err = s.link(tmp.Name(), path)
	if isLinkUnsupported(err) {
		err = createExclusive(path, value)
	}
	if errors.Is(err, iofs.ErrExist) {
		return kmsclient.ErrKeyExists
	}
	if err != nil {
		return s.fail("create key", name, err)
	}
	if err := s.syncDir(); err != nil {
		return s.fail("create key", name, err)
	}
	return nil
}

// Get reads the file called name, or returns kmsclient.ErrKeyNotFound or
// kmsclient.ErrInvalidKeyName.
func (s *Store) Get(_ context.Context, name string) ([]byte, error) {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return nil, s.fail("get key", name, err)
	}
	defer f.Close()
	value, err := io.ReadAll(io.LimitReader(f, maxValueSize+1))
	if err != nil {
		return nil, s.fail("get key", name, err)
	}
	if len(value) > maxValueSize {
		clear(value)
		return nil, fmt.Errorf("get key %q: file larger than %d bytes", name, maxValueSize)
	}
	return value, nil
}

// Update replaces the file called name with value if it still holds old,
// atomically (a new file renamed over it), or returns
// kmsclient.ErrKeyChanged, kmsclient.ErrKeyNotFound or
// kmsclient.ErrInvalidKeyName. Updates by processes sharing the directory
// are serialised with an advisory lock (flock), so of concurrent Updates
// from one old value one wins.
func (s *Store) Update(ctx context.Context, name string, old, value []byte) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	s.updates.Lock()
	defer s.updates.Unlock()
	unlock, err := s.lock()
	if err != nil {
		return s.fail("update key", name, err)
	}
	defer unlock()

	current, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	defer clear(current)
	if !bytes.Equal(current, old) {
		return kmsclient.ErrKeyChanged
	}
	tmp, err := os.CreateTemp(s.dir, ".update-*") // mode 0600
	if err != nil {
		return s.fail("update key", name, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(value)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.dir, name))
	}
	if err == nil {
		err = s.syncDir()
	}
	if err != nil {
		return s.fail("update key", name, err)
	}
	return nil
}

// lock takes the directory's update lock and returns its release.
func (s *Store) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockExclusive(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// Delete removes the file called name, or returns kmsclient.ErrKeyNotFound
// or kmsclient.ErrInvalidKeyName.
func (s *Store) Delete(_ context.Context, name string) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
		return s.fail("delete key", name, err)
	}
	if err := s.syncDir(); err != nil {
		return s.fail("delete key", name, err)
	}
	return nil
}

// List implements kmsclient.KeyStore.List over the directory's regular
// files with valid key names.
func (s *Store) List(ctx context.Context, prefix, start string, n int) ([]string, string, error) {
	if err := kmsclient.ValidateKeyPrefix(prefix); err != nil {
		return nil, "", err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, "", fmt.Errorf("list keys: %w: %w", kmsclient.ErrUnavailable, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	names, next := kmsclient.ListNames(names, prefix, start, n)
	return names, next, nil
}

// Status reports the directory as reachable if it can be stat'ed, and
// kmsclient.ErrUnavailable otherwise (say, an unmounted volume).
func (s *Store) Status(context.Context) (kmsclient.StoreState, error) {
	start := time.Now()
	info, err := os.Stat(s.dir)
	if err != nil {
		return kmsclient.StoreState{}, fmt.Errorf("fs key store: %w: %w", kmsclient.ErrUnavailable, err)
	}
	if !info.IsDir() {
		return kmsclient.StoreState{}, fmt.Errorf("fs key store: %w: %s is not a directory", kmsclient.ErrUnavailable, s.dir)
	}
	return kmsclient.StoreState{Latency: time.Since(start)}, nil
}

// Close does nothing; a Store holds no open files between calls.
func (s *Store) Close() error { return nil }

// fail translates a file-system error about the key called name. A missing
// file is kmsclient.ErrKeyNotFound, unless the directory itself is gone,
// which makes the store unavailable.
func (s *Store) fail(op, name string, err error) error {
	if _, statErr := os.Stat(s.dir); statErr != nil {
		return fmt.Errorf("%s %q: %w: %w", op, name, kmsclient.ErrUnavailable, err)
	}
	if errors.Is(err, iofs.ErrNotExist) {
		return kmsclient.ErrKeyNotFound
	}
	return fmt.Errorf("%s %q: %w", op, name, err)
}

// syncDir makes a link or removal in the directory durable.
func (s *Store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err // EINVAL: the file system cannot sync directories
	}
	return nil
}

// isLinkUnsupported reports whether err says the file system has no hard
// links.
func isLinkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}

// createExclusive is Create's fallback where hard links are not
// available: exclusive creation keeps names from being overwritten, but a
// crash during the write can leave a short file.
func createExclusive(path string, value []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err := f.Write(value); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
