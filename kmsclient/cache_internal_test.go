package kmsclient

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// mapStore is a minimal KeyStore for tests inside the package, which cannot
// import kmsclient/mem.
type mapStore struct {
	mu       sync.Mutex
	keys     map[string][]byte
	offline  atomic.Bool
	statuses atomic.Int32
}

func newMapStore() *mapStore { return &mapStore{keys: make(map[string][]byte)} }

func (s *mapStore) down() error {
	if s.offline.Load() {
		return fmt.Errorf("%w: offline", ErrUnavailable)
	}
	return nil
}

func (s *mapStore) Create(_ context.Context, name string, value []byte) error {
	if err := s.down(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[name]; ok {
		return ErrKeyExists
	}
	s.keys[name] = slices.Clone(value)
	return nil
}

func (s *mapStore) Get(_ context.Context, name string) ([]byte, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.keys[name]
	if !ok {
		return nil, ErrKeyNotFound
	}
	return slices.Clone(v), nil
}

func (s *mapStore) Delete(_ context.Context, name string) error {
	if err := s.down(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[name]; !ok {
		return ErrKeyNotFound
	}
	delete(s.keys, name)
	return nil
}

func (s *mapStore) List(_ context.Context, prefix, start string, n int) ([]string, string, error) {
	if err := s.down(); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	names := slices.Collect(maps.Keys(s.keys))
	s.mu.Unlock()
	names, next := ListNames(names, prefix, start, n)
	return names, next, nil
}

func (s *mapStore) Status(context.Context) (StoreState, error) {
	s.statuses.Add(1)
	if err := s.down(); err != nil {
		return StoreState{}, err
	}
	return StoreState{Latency: time.Millisecond}, nil
}

func (s *mapStore) Close() error { return nil }

// cached returns the cache entry of name, or nil.
func cached(k *KMS, name string) *cacheEntry {
	k.cache.mu.RLock()
	defer k.cache.mu.RUnlock()
	return k.cache.entries[name]
}

func TestJanitorEvictsUnusedKeysAndZeroesThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := New(newMapStore(), Config{CacheExpiry: CacheExpiry{Any: 5 * time.Minute, Unused: 30 * time.Second}})
		defer k.Close()
		if err := k.CreateKey(t.Context(), "my-key"); err != nil {
			t.Fatal(err)
		}
		if _, err := k.GenerateKey(t.Context(), "my-key", nil); err != nil {
			t.Fatal(err)
		}
		e := cached(k, "my-key")
		if e == nil || *e.keys[0] == [32]byte{} {
			t.Fatal("key not cached after GenerateKey")
		}
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if cached(k, "my-key") == nil {
			t.Fatal("key evicted before Unused passed")
		}
		time.Sleep(31 * time.Second) // the janitor sweeps every 15s
		synctest.Wait()
		if cached(k, "my-key") != nil {
			t.Error("key still cached a minute after its last use")
		}
		if *e.keys[0] != [32]byte{} {
			t.Error("evicted key was not zeroed")
		}
	})
}

func TestJanitorKeepsKeysWhileTheStoreIsOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMapStore()
		k := New(store, Config{CacheExpiry: CacheExpiry{Any: time.Minute, Unused: time.Minute, Offline: 10 * time.Minute}})
		defer k.Close()
		if err := k.CreateKey(t.Context(), "my-key"); err != nil {
			t.Fatal(err)
		}
		if _, err := k.GenerateKey(t.Context(), "my-key", nil); err != nil {
			t.Fatal(err)
		}
		store.offline.Store(true)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if cached(k, "my-key") == nil {
			t.Fatal("janitor evicted a key while the store was offline")
		}
		if store.statuses.Load() == 0 {
			t.Error("janitor did not check the store before keeping expired keys")
		}
		if _, err := k.GenerateKey(t.Context(), "my-key", nil); err != nil {
			t.Errorf("GenerateKey during the outage: %v", err)
		}
		time.Sleep(6 * time.Minute) // the outage began about 5 minutes ago
		synctest.Wait()
		if cached(k, "my-key") != nil {
			t.Error("key still cached after the offline window")
		}
	})
}

func TestJanitorEvictsExpiredKeysOnceTheStoreIsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMapStore()
		k := New(store, Config{CacheExpiry: CacheExpiry{Any: time.Minute, Unused: time.Minute, Offline: time.Hour}})
		defer k.Close()
		if err := k.CreateKey(t.Context(), "my-key"); err != nil {
			t.Fatal(err)
		}
		if _, err := k.GenerateKey(t.Context(), "my-key", nil); err != nil {
			t.Fatal(err)
		}
		store.offline.Store(true)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if cached(k, "my-key") == nil {
			t.Fatal("janitor evicted a key while the store was offline")
		}
		store.offline.Store(false)
		time.Sleep(time.Minute)
		synctest.Wait()
		if cached(k, "my-key") != nil {
			t.Error("expired key still cached after the store came back")
		}
	})
}

func TestCloseZeroesCachedKeys(t *testing.T) {
	k := New(newMapStore(), Config{})
	if err := k.CreateKey(t.Context(), "my-key"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.GenerateKey(t.Context(), "my-key", nil); err != nil {
		t.Fatal(err)
	}
	e := cached(k, "my-key")
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if *e.keys[0] != [32]byte{} || len(k.cache.entries) != 0 {
		t.Error("Close left key material in the cache")
	}
}

func TestSweepInterval(t *testing.T) {
	tests := []struct {
		expiry CacheExpiry
		want   time.Duration
	}{
		{CacheExpiry{}.withDefaults(), 15 * time.Second},
		{CacheExpiry{Any: time.Hour, Unused: -1}, time.Minute},
		{CacheExpiry{Any: time.Second, Unused: time.Second}, time.Second},
		{CacheExpiry{Any: -1, Unused: -1, Offline: time.Minute}, 0},
		{CacheExpiry{Any: 4 * time.Minute, Unused: -1, Offline: 20 * time.Second}, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := tt.expiry.sweepInterval(); got != tt.want {
			t.Errorf("%+v.sweepInterval() = %v, want %v", tt.expiry, got, tt.want)
		}
	}
}
