package kmsclient_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// probeStore is a mem.Store that counts calls, can go offline, and can hold
// Get calls at a gate.
type probeStore struct {
	mem.Store
	offline atomic.Bool
	closes  atomic.Int32
	gate    chan struct{} // when non-nil, Get waits until it is closed before returning

	mu    sync.Mutex
	calls map[string]int
}

func newProbeStore() *probeStore { return &probeStore{calls: make(map[string]int)} }

func (s *probeStore) call(op string) error {
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
	if s.offline.Load() {
		return fmt.Errorf("%w: test store is offline", kmsclient.ErrUnavailable)
	}
	return nil
}

// count returns how often op was called; op "" counts every call.
func (s *probeStore) count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op != "" {
		return s.calls[op]
	}
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

func (s *probeStore) Create(ctx context.Context, name string, value []byte) error {
	if err := s.call("Create"); err != nil {
		return err
	}
	return s.Store.Create(ctx, name, value)
}

func (s *probeStore) Get(ctx context.Context, name string) ([]byte, error) {
	if err := s.call("Get"); err != nil {
		return nil, err
	}
	value, err := s.Store.Get(ctx, name)
	if s.gate != nil {
		<-s.gate // after the read, so a test can change the store meanwhile
	}
	return value, err
}

func (s *probeStore) Delete(ctx context.Context, name string) error {
	if err := s.call("Delete"); err != nil {
		return err
	}
	return s.Store.Delete(ctx, name)
}

func (s *probeStore) List(ctx context.Context, prefix, start string, n int) ([]string, string, error) {
	if err := s.call("List"); err != nil {
		return nil, "", err
	}
	return s.Store.List(ctx, prefix, start, n)
}

func (s *probeStore) Status(ctx context.Context) (kmsclient.StoreState, error) {
	if err := s.call("Status"); err != nil {
		return kmsclient.StoreState{}, err
	}
	return s.Store.Status(ctx)
}

func (s *probeStore) Close() error {
	s.closes.Add(1)
	return nil // keep the keys: tests read them after closing a KMS
}

// clock is a manual clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newKMS returns a KMS over store that is closed when the test ends.
func newKMS(t *testing.T, store kmsclient.KeyStore, cfg kmsclient.Config) *kmsclient.KMS {
	t.Helper()
	k := kmsclient.New(store, cfg)
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return k
}

func mustCreateKey(t *testing.T, k *kmsclient.KMS, name string) {
	t.Helper()
	if err := k.CreateKey(t.Context(), name); err != nil {
		t.Fatalf("CreateKey(%q): %v", name, err)
	}
}

func mustGenerate(t *testing.T, k *kmsclient.KMS, name string, keyContext []byte) kmsclient.DEK {
	t.Helper()
	dek, err := k.GenerateKey(t.Context(), name, keyContext)
	if err != nil {
		t.Fatalf("GenerateKey(%q): %v", name, err)
	}
	return dek
}
