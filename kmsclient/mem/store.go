package mem

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
)

// Store is an in-memory kmsclient.KeyStore. The zero value is an empty store
// ready to use; it is safe for concurrent use.
type Store struct {
	mu   sync.RWMutex
	keys map[string][]byte
}

var (
	_ kmsclient.KeyStore   = (*Store)(nil)
	_ kmsclient.KeyUpdater = (*Store)(nil)
)

// String names the store in status reports.
func (s *Store) String() string { return "memory" }

// Create stores a copy of value, or returns kmsclient.ErrKeyExists or
// kmsclient.ErrInvalidKeyName.
func (s *Store) Create(_ context.Context, name string, value []byte) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[name]; ok {
		return kmsclient.ErrKeyExists
	}
	if s.keys == nil {
		s.keys = make(map[string][]byte)
	}
	s.keys[name] = slices.Clone(value)
	return nil
}

// Get returns a copy of the value, or kmsclient.ErrKeyNotFound or
// kmsclient.ErrInvalidKeyName.
func (s *Store) Get(_ context.Context, name string) ([]byte, error) {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	value, ok := s.keys[name]
	if !ok {
		return nil, kmsclient.ErrKeyNotFound
	}
	return slices.Clone(value), nil
}

// Update replaces the value if it is still old, or returns
// kmsclient.ErrKeyChanged, kmsclient.ErrKeyNotFound or
// kmsclient.ErrInvalidKeyName.
func (s *Store) Update(_ context.Context, name string, old, value []byte) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current, ok := s.keys[name]
	switch {
	case !ok:
		return kmsclient.ErrKeyNotFound
	case !bytes.Equal(current, old):
		return kmsclient.ErrKeyChanged
	}
	clear(current)
	s.keys[name] = slices.Clone(value)
	return nil
}

// Delete removes and clears the value, or returns kmsclient.ErrKeyNotFound
// or kmsclient.ErrInvalidKeyName.
func (s *Store) Delete(_ context.Context, name string) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	value, ok := s.keys[name]
	if !ok {
		return kmsclient.ErrKeyNotFound
	}
	clear(value)
	delete(s.keys, name)
	return nil
}

// List implements kmsclient.KeyStore.List.
func (s *Store) List(_ context.Context, prefix, start string, n int) ([]string, string, error) {
	if err := kmsclient.ValidateKeyPrefix(prefix); err != nil {
		return nil, "", err
	}
	s.mu.RLock()
	names := slices.Collect(maps.Keys(s.keys))
	s.mu.RUnlock()
	names, next := kmsclient.ListNames(names, prefix, start, n)
	return names, next, nil
}

// Status reports the store as reachable with a nominal latency.
func (s *Store) Status(context.Context) (kmsclient.StoreState, error) {
	return kmsclient.StoreState{Latency: time.Microsecond}, nil
}

// Close clears every stored value. The store is empty afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, value := range s.keys {
		clear(value)
		delete(s.keys, name)
	}
	return nil
}
