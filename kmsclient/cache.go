package kmsclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache expiry defaults, the same as KES's.
const (
	DefaultCacheExpiryAny    = 5 * time.Minute
	DefaultCacheExpiryUnused = 30 * time.Second
)

// CacheExpiry says how long the KMS keeps External Keys in memory. The
// fields follow KES's cache.expiry settings.
type CacheExpiry struct {
	// Any evicts an entry this long after it was fetched, used or not.
	// Zero means DefaultCacheExpiryAny; negative means entries never age
	// out.
	Any time.Duration

	// Unused evicts an entry that has not been used for this long. Zero
	// means DefaultCacheExpiryUnused; negative means idle entries stay
	// (until Any).
	Unused time.Duration

	// Offline keeps entries that would have expired usable while the key
	// store is unreachable, for at most this long after it was first found
	// unreachable, so known keys keep working through a short outage. It
	// only ever extends an entry's life. Zero or negative: off.
	Offline time.Duration
}

func (e CacheExpiry) withDefaults() CacheExpiry {
	if e.Any == 0 {
		e.Any = DefaultCacheExpiryAny
	}
	if e.Unused == 0 {
		e.Unused = DefaultCacheExpiryUnused
	}
	return e
}

// sweepInterval is how often the janitor evicts expired entries, or 0 when
// entries never expire.
func (e CacheExpiry) sweepInterval() time.Duration {
	var shortest time.Duration
	for _, d := range []time.Duration{e.Any, e.Unused, e.Offline} {
		if d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	if e.Any <= 0 && e.Unused <= 0 {
		return 0
	}
	return min(max(shortest/2, time.Second), time.Minute)
}

// keyCache keeps parsed External Keys in memory so that the hot path makes
// no key-store call. Readers copy a key out under the read lock; eviction
// zeroes it under the write lock, so no reader ever sees a half-zeroed key.
// Expiry is checked on every access; the janitor (sweep) only reclaims
// memory and clears key material of entries nobody asks for.
type keyCache struct {
	store   KeyStore
	expiry  CacheExpiry
	now     func() time.Time
	timeout time.Duration

	mu      sync.RWMutex
	entries map[string]*cacheEntry
	// epoch counts deletions; a fetch that began before one must not put
	// back a key that was deleted meanwhile.
	epoch uint64
	// offlineSince is when the store was first found unreachable in the
	// current outage; zero while it is believed reachable.
	offlineSince time.Time
	closed       bool

	fetches singleflight.Group
}

type cacheEntry struct {
	externalKey // read-only until evicted
	fetched     time.Time
	lastUsed    atomic.Int64 // Unix nanoseconds
}

func newKeyCache(store KeyStore, expiry CacheExpiry, now func() time.Time, timeout time.Duration) *keyCache {
	return &keyCache{
		store:   store,
		expiry:  expiry.withDefaults(),
		now:     now,
		timeout: timeout,
		entries: make(map[string]*cacheEntry),
	}
}

// get returns a copy of key version v of the named key (0: the newest)
// and its version number, from memory when possible. The caller clears
// the copy when done. A version newer than the cached ones (the key was
// rotated through another gateway) reloads the key once; a version the
// key does not have is errNoSuchVersion.
func (c *keyCache) get(ctx context.Context, name string, v int) ([externalKeySize]byte, int, error) {
	now := c.now()
	c.mu.RLock()
	if e, ok := c.entries[name]; ok && (c.fresh(e, now) || c.offlineGrace(now)) {
		if k, version := e.pick(v); k != nil {
			key := *k
			e.lastUsed.Store(now.UnixNano())
			c.mu.RUnlock()
			return key, version, nil
		}
		if v < 1 || v > MaxKeyVersions {
			c.mu.RUnlock()
			return [externalKeySize]byte{}, 0, errNoSuchVersion
		}
	}
	c.mu.RUnlock()

	// One store call per name however many requests miss at once. Each
	// waiter still honours its own ctx.
	ch := c.fetches.DoChan(name, func() (any, error) { return c.load(ctx, name) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return [externalKeySize]byte{}, 0, r.Err
		}
		// Every waiter gets the same loaded key: copy out, never clear it.
		ek := r.Val.(*externalKey)
		k, version := ek.pick(v)
		if k == nil {
			return [externalKeySize]byte{}, 0, errNoSuchVersion
		}
		return *k, version, nil
	case <-ctx.Done():
		return [externalKeySize]byte{}, 0, ctx.Err()
	}
}

// errNoSuchVersion is returned for a key version the key does not have.
var errNoSuchVersion = errors.New("no such key version")

// pick returns key version v (0: the newest) and its number, or nil.
func (ek *externalKey) pick(v int) (*[externalKeySize]byte, int) {
	if v == 0 {
		return ek.latest()
	}
	return ek.version(v), v
}

// load fetches the named key from the store and caches it. It outlives the
// request that started it (other requests may wait for it), bounded by the
// store timeout. The result is shared by every waiter and is not the
// cached entry: eviction never zeroes it under a reader, and the garbage
// collector reclaims it.
func (c *keyCache) load(ctx context.Context, name string) (*externalKey, error) {
	c.mu.RLock()
	epoch := c.epoch
	c.mu.RUnlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	value, err := c.store.Get(ctx, name)
	now := c.now()
	switch {
	case errors.Is(err, ErrKeyNotFound):
		c.evict(name)
		return nil, ErrKeyNotFound
	case errors.Is(err, ErrUnavailable):
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.offlineSince.IsZero() {
			c.offlineSince = now
		}
		if e, ok := c.entries[name]; ok && c.offlineGrace(now) {
			e.lastUsed.Store(now.UnixNano())
			return e.externalKey.clone(), nil
		}
		return nil, fmt.Errorf("get key %q: %w", name, err)
	case err != nil:
		return nil, fmt.Errorf("get key %q: %w", name, err)
	}

	ek, err := parseKeyRecord(name, value)
	clear(value)
	if err != nil {
		return nil, fmt.Errorf("get key %q: %w", name, err)
	}
	e := &cacheEntry{externalKey: ek, fetched: now}
	e.lastUsed.Store(now.UnixNano())
	shared := ek.clone()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.offlineSince = time.Time{}
	if c.closed || c.epoch != epoch {
		e.clear()
		return shared, nil
	}
	if old, ok := c.entries[name]; ok {
		old.clear()
	}
	c.entries[name] = e
	return shared, nil
}

// clone returns a deep copy of ek.
func (ek *externalKey) clone() *externalKey {
	out := &externalKey{info: ek.info, keys: make([]*[externalKeySize]byte, len(ek.keys))}
	for i, k := range ek.keys {
		kk := *k
		out.keys[i] = &kk
	}
	return out
}

// info returns the metadata of a cached key without touching the store.
func (c *keyCache) info(name string) (KeyInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[name]
	if !ok {
		return KeyInfo{}, false
	}
	return e.info, true
}

// evict drops the named key, e.g. after it was deleted.
func (c *keyCache) evict(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if e, ok := c.entries[name]; ok {
		e.clear()
		delete(c.entries, name)
	}
}

// fresh reports whether e is within its Any and Unused lifetimes.
func (c *keyCache) fresh(e *cacheEntry, now time.Time) bool {
	if c.expiry.Any > 0 && now.Sub(e.fetched) >= c.expiry.Any {
		return false
	}
	if c.expiry.Unused > 0 && now.Sub(time.Unix(0, e.lastUsed.Load())) >= c.expiry.Unused {
		return false
	}
	return true
}

// offlineGrace reports whether expired entries may still be used because the
// store is unreachable. The caller holds mu.
func (c *keyCache) offlineGrace(now time.Time) bool {
	return c.expiry.Offline > 0 && !c.offlineSince.IsZero() && now.Sub(c.offlineSince) < c.expiry.Offline
}

// sweep evicts expired entries and clears their keys. With offline caching
// on, it first asks the store whether it is reachable, since that decides
// whether expired entries stay.
func (c *keyCache) sweep(ctx context.Context) {
	now := c.now()
	c.mu.RLock()
	expired := false
	for _, e := range c.entries {
		if !c.fresh(e, now) {
			expired = true
			break
		}
	}
	c.mu.RUnlock()
	if !expired {
		return
	}

	if c.expiry.Offline > 0 {
		sctx, cancel := context.WithTimeout(ctx, c.timeout)
		_, err := c.store.Status(sctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		now = c.now()
		c.mu.Lock()
		switch {
		case err == nil:
			c.offlineSince = time.Time{}
		case errors.Is(err, ErrUnavailable) && c.offlineSince.IsZero():
			c.offlineSince = now
		}
		c.mu.Unlock()
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offlineGrace(now) {
		return
	}
	for name, e := range c.entries {
		if !c.fresh(e, now) {
			e.clear()
			delete(c.entries, name)
		}
	}
}

// janitor sweeps every interval until ctx is done.
func (c *keyCache) janitor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sweep(ctx)
		}
	}
}

// close clears every cached key; later fetches are not cached.
func (c *keyCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for name, e := range c.entries {
		e.clear()
		delete(c.entries, name)
	}
}
