package kmsclient_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
)

func TestHotPathMakesNoStoreCall(t *testing.T) {
	store := newProbeStore()
	k := newKMS(t, store, kmsclient.Config{})
	mustCreateKey(t, k, "my-key")
	dek := mustGenerate(t, k, "my-key", nil)
	before := store.count("")
	for range 100 {
		mustGenerate(t, k, "my-key", nil)
		if _, err := k.Decrypt(t.Context(), "my-key", dek.Ciphertext, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.count("") - before; n != 0 {
		t.Errorf("store saw %d calls on the hot path, want 0", n)
	}
	if n := store.count("Get"); n != 1 {
		t.Errorf("store Get called %d times, want 1", n)
	}
}

// useEvery advances the clock by step and generates a key, times times,
// and returns how many Gets the store saw meanwhile.
func useEvery(t *testing.T, k *kmsclient.KMS, store *probeStore, clk *clock, step time.Duration, times int) int {
	t.Helper()
	before := store.count("Get")
	for range times {
		clk.Advance(step)
		mustGenerate(t, k, "my-key", nil)
	}
	return store.count("Get") - before
}

func TestCacheRefetchesAfterAnyEvenIfUsed(t *testing.T) {
	store, clk := newProbeStore(), newClock()
	k := newKMS(t, store, kmsclient.Config{Now: clk.Now, CacheExpiry: kmsclient.CacheExpiry{Any: 5 * time.Minute, Unused: 30 * time.Second}})
	mustCreateKey(t, k, "my-key")
	mustGenerate(t, k, "my-key", nil)
	if n := useEvery(t, k, store, clk, 10*time.Second, 29); n != 0 {
		t.Errorf("store Get called %d times within Any, want 0", n)
	}
	if n := useEvery(t, k, store, clk, 10*time.Second, 1); n != 1 {
		t.Errorf("store Get called %d times once Any passed, want 1", n)
	}
}

func TestCacheRefetchesAfterUnused(t *testing.T) {
	store, clk := newProbeStore(), newClock()
	k := newKMS(t, store, kmsclient.Config{Now: clk.Now, CacheExpiry: kmsclient.CacheExpiry{Any: time.Hour, Unused: 30 * time.Second}})
	mustCreateKey(t, k, "my-key")
	mustGenerate(t, k, "my-key", nil)
	if n := useEvery(t, k, store, clk, 29*time.Second, 1); n != 0 {
		t.Errorf("store Get called %d times after 29s idle, want 0", n)
	}
	if n := useEvery(t, k, store, clk, 30*time.Second, 1); n != 1 {
		t.Errorf("store Get called %d times after 30s idle, want 1", n)
	}
}

func TestCacheDefaultsAreKESDefaults(t *testing.T) {
	store, clk := newProbeStore(), newClock()
	k := newKMS(t, store, kmsclient.Config{Now: clk.Now})
	mustCreateKey(t, k, "my-key")
	mustGenerate(t, k, "my-key", nil)
	if n := useEvery(t, k, store, clk, 29*time.Second, 1); n != 0 {
		t.Errorf("store Get called %d times after 29s idle, want 0", n)
	}
	if n := useEvery(t, k, store, clk, 30*time.Second, 1); n != 1 {
		t.Errorf("store Get called %d times after 30s idle, want 1 (unused default 30s)", n)
	}
	if n := useEvery(t, k, store, clk, 20*time.Second, 15); n != 1 {
		t.Errorf("store Get called %d times in 5 busy minutes, want 1 (any default 5m)", n)
	}
}

func TestNegativeExpiryKeepsKeys(t *testing.T) {
	store, clk := newProbeStore(), newClock()
	k := newKMS(t, store, kmsclient.Config{Now: clk.Now, CacheExpiry: kmsclient.CacheExpiry{Any: -1, Unused: -1}})
	mustCreateKey(t, k, "my-key")
	mustGenerate(t, k, "my-key", nil)
	if n := useEvery(t, k, store, clk, 24*time.Hour, 1); n != 0 {
		t.Errorf("store Get called %d times after a day, want 0", n)
	}
}

func TestOfflineCacheServesKnownKeysThroughAnOutage(t *testing.T) {
	store, clk := newProbeStore(), newClock()
	k := newKMS(t, store, kmsclient.Config{Now: clk.Now, CacheExpiry: kmsclient.CacheExpiry{Any: 5 * time.Minute, Unused: time.Minute, Offline: 10 * time.Minute}})
	mustCreateKey(t, k, "my-key")
	dek := mustGenerate(t, k, "my-key", []byte("ctx"))

	store.offline.Store(true)
	clk.Advance(6 * time.Minute) // past Any: the store is asked, found down
	mustGenerate(t, k, "my-key", nil)
	gets := store.count("Get")
	clk.Advance(9 * time.Minute) // 9 of 10 offline minutes
	if _, err := k.Decrypt(t.Context(), "my-key", dek.Ciphertext, []byte("ctx")); err != nil {
		t.Fatalf("Decrypt 9 minutes into the outage: %v", err)
	}
	if n := store.count("Get") - gets; n != 0 {
		t.Errorf("store Get called %d times while known to be offline, want 0", n)
	}

	clk.Advance(time.Minute) // the offline window is over
	if _, err := k.GenerateKey(t.Context(), "my-key", nil); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("GenerateKey 10 minutes into the outage = %v, want %v", err, kmsclient.ErrUnavailable)
	}
	if _, err := k.GenerateKey(t.Context(), "unknown", nil); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("GenerateKey of an uncached key = %v, want %v", err, kmsclient.ErrUnavailable)
	}

	store.offline.Store(false)
	mustGenerate(t, k, "my-key", nil)
}

func TestWithoutOfflineCacheExpiredKeysFailWhileStoreIsDown(t *testing.T) {
	store, clk := newProbeStore(), newClock()
	k := newKMS(t, store, kmsclient.Config{Now: clk.Now, CacheExpiry: kmsclient.CacheExpiry{Any: 5 * time.Minute, Unused: time.Minute}})
	mustCreateKey(t, k, "my-key")
	mustGenerate(t, k, "my-key", nil)

	store.offline.Store(true)
	clk.Advance(30 * time.Second)
	mustGenerate(t, k, "my-key", nil) // still fresh: no store call needed
	clk.Advance(time.Minute)
	if _, err := k.GenerateKey(t.Context(), "my-key", nil); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("GenerateKey after expiry = %v, want %v", err, kmsclient.ErrUnavailable)
	}
}

func TestConcurrentMissesMakeOneStoreCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newProbeStore()
		k := kmsclient.New(store, kmsclient.Config{})
		defer k.Close()
		mustCreateKey(t, k, "my-key")

		store.gate = make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			wg.Go(func() { _, errs[i] = k.GenerateKey(t.Context(), "my-key", nil) })
		}
		synctest.Wait() // every request waits for the one fetch
		close(store.gate)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		}
		if n := store.count("Get"); n != 1 {
			t.Errorf("store Get called %d times, want 1", n)
		}
	})
}

func TestCancelledWaiterLeavesTheFetchToOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newProbeStore()
		k := kmsclient.New(store, kmsclient.Config{})
		defer k.Close()
		mustCreateKey(t, k, "my-key")

		store.gate = make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		var first, second error
		var wg sync.WaitGroup
		wg.Go(func() { _, first = k.GenerateKey(ctx, "my-key", nil) })
		synctest.Wait()
		wg.Go(func() { _, second = k.GenerateKey(t.Context(), "my-key", nil) })
		synctest.Wait()
		cancel()
		synctest.Wait()
		close(store.gate)
		wg.Wait()
		if !errors.Is(first, context.Canceled) {
			t.Errorf("cancelled request = %v, want %v", first, context.Canceled)
		}
		if second != nil {
			t.Errorf("other request = %v, want success", second)
		}
		if n := store.count("Get"); n != 1 {
			t.Errorf("store Get called %d times, want 1", n)
		}
	})
}

func TestKeyDeletedDuringAFetchIsNotCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newProbeStore()
		k := kmsclient.New(store, kmsclient.Config{})
		defer k.Close()
		mustCreateKey(t, k, "my-key")

		store.gate = make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { k.GenerateKey(t.Context(), "my-key", nil) })
		synctest.Wait() // the fetch has read the key and waits at the gate
		if err := k.DeleteKey(t.Context(), "my-key"); err != nil {
			t.Fatal(err)
		}
		close(store.gate)
		wg.Wait()
		// Had the fetch cached the key it read, this would succeed
		// without asking the store.
		store.gate = nil
		if _, err := k.GenerateKey(t.Context(), "my-key", nil); err != kmsclient.ErrKeyNotFound {
			t.Errorf("GenerateKey after DeleteKey = %v, want %v", err, kmsclient.ErrKeyNotFound)
		}
	})
}

func TestConcurrentUseWhileKeysExpire(t *testing.T) {
	store, clk := newProbeStore(), newClock()
	k := newKMS(t, store, kmsclient.Config{Now: clk.Now, CacheExpiry: kmsclient.CacheExpiry{Any: time.Second, Unused: time.Second}})
	mustCreateKey(t, k, "my-key")

	stop := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				clk.Advance(100 * time.Millisecond)
			}
		}
	})
	var workers sync.WaitGroup
	for range 8 {
		workers.Go(func() {
			for range 200 {
				dek, err := k.GenerateKey(t.Context(), "my-key", []byte("ctx"))
				if err != nil {
					t.Error(err)
					return
				}
				got, err := k.Decrypt(t.Context(), "my-key", dek.Ciphertext, []byte("ctx"))
				if err != nil || !bytes.Equal(got, dek.Plaintext) {
					t.Errorf("Decrypt = %x, %v; want %x", got, err, dek.Plaintext)
					return
				}
			}
		})
	}
	workers.Wait()
	close(stop)
	ticker.Wait()
	if store.count("Get") < 2 {
		t.Errorf("store Get called %d times, want refetches as keys expired", store.count("Get"))
	}
}
