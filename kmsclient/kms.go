package kmsclient

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// DefaultStoreTimeout bounds a key-store call made on behalf of the cache.
const DefaultStoreTimeout = 10 * time.Second

// DEK is a data encryption key: a fresh random key in plaintext, for one
// use, and sealed under an External Key, for storage.
type DEK struct {
	// KeyID names the External Key that sealed Ciphertext.
	KeyID string
	// Plaintext is the 32-byte key. The caller owns it and should clear
	// it after use.
	Plaintext []byte
	// Ciphertext is Plaintext sealed under KeyID with the generation
	// context as associated data. It is not secret.
	Ciphertext []byte
}

// KeyInfo describes an External Key.
type KeyInfo struct {
	Name      string
	CreatedAt time.Time // zero when unknown
	CreatedBy string    // identity that created the key; empty when unknown

	// Versions lists the key's versions, oldest first; new data keys are
	// sealed under the last. Nil when unknown (a key listed by name only,
	// or a KMS without versions).
	Versions []KeyVersion
}

// KeyVersion describes one version of an External Key.
type KeyVersion struct {
	Version   int       // 1 for the key as created, +1 per rotation
	CreatedAt time.Time // zero when unknown
	CreatedBy string
}

// LatestVersion returns the newest version number, or 0 when unknown.
func (i KeyInfo) LatestVersion() int {
	if len(i.Versions) == 0 {
		return 0
	}
	return i.Versions[len(i.Versions)-1].Version
}

// Config configures a KMS. The zero value is ready to use.
type Config struct {
	// CacheExpiry controls how long External Keys stay in memory.
	CacheExpiry CacheExpiry

	// CreatedBy is the identity recorded as creator of new keys.
	CreatedBy string

	// Rand is the source of keys, IVs and nonces. Nil means crypto/rand.
	// It must be safe for concurrent use. Tests inject a fixed stream to
	// get reproducible ciphertexts.
	Rand io.Reader

	// Now returns the current time for cache expiry and creation dates.
	// Nil means time.Now.
	Now func() time.Time

	// StoreTimeout bounds each key-store call the cache makes, since a
	// fetch is shared by all requests that wait for it and so cannot use
	// any one request's deadline. Zero means DefaultStoreTimeout.
	StoreTimeout time.Duration
}

// KMS is the embedded KMS: it keeps External Keys in a KeyStore and uses
// them, cached in memory, to generate and decrypt data encryption keys, as
// a KES server does. It is safe for concurrent use.
type KMS struct {
	store     KeyStore
	cache     *keyCache
	rand      io.Reader
	now       func() time.Time
	createdBy string
	started   time.Time

	stopJanitor context.CancelFunc
	janitorDone chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// New returns a KMS over store. The KMS owns store from now on: Close closes
// it. New starts a goroutine that evicts expired keys; Close stops it.
func New(store KeyStore, cfg Config) *KMS {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	k := &KMS{
		store:       store,
		cache:       newKeyCache(store, cfg.CacheExpiry, cfg.Now, cfg.StoreTimeout),
		rand:        cfg.Rand,
		now:         cfg.Now,
		createdBy:   cfg.CreatedBy,
		started:     cfg.Now(),
		janitorDone: make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	k.stopJanitor = cancel
	if interval := k.cache.expiry.sweepInterval(); interval > 0 {
		go func() {
			defer close(k.janitorDone)
			k.cache.janitor(ctx, interval)
		}()
	} else {
		close(k.janitorDone)
	}
	return k
}

// Close stops the cache janitor, clears cached keys and closes the key
// store. Calls after the first return the first result.
func (k *KMS) Close() error {
	k.closeOnce.Do(func() {
		k.stopJanitor()
		<-k.janitorDone
		k.cache.close()
		if err := k.store.Close(); err != nil {
			k.closeErr = fmt.Errorf("close key store: %w", err)
		}
	})
	return k.closeErr
}

// CreateKey creates a new random 256-bit External Key called name. It
// returns ErrKeyExists if the name is taken, ErrInvalidKeyName, or an
// error wrapping ErrUnavailable.
func (k *KMS) CreateKey(ctx context.Context, name string) error {
	if err := ValidateKeyName(name); err != nil {
		return err
	}
	var key [externalKeySize]byte
	defer clear(key[:])
	if _, err := io.ReadFull(k.rand, key[:]); err != nil {
		return fmt.Errorf("create key %q: read random key: %w", name, err)
	}
	value, err := marshalKeyRecord(&key, k.now(), k.createdBy)
	if err != nil {
		return fmt.Errorf("create key %q: %w", name, err)
	}
	defer clear(value)
	if err := k.store.Create(ctx, name, value); err != nil {
		if errors.Is(err, ErrKeyExists) {
			return ErrKeyExists
		}
		return fmt.Errorf("create key %q: %w", name, err)
	}
	return nil
}

// GenerateKey returns a fresh DEK sealed under the External Key called
// name. keyContext is bound to the ciphertext as associated data: Decrypt
// needs the same bytes. It returns ErrKeyNotFound, ErrInvalidKeyName, or an
// error wrapping ErrUnavailable.
func (k *KMS) GenerateKey(ctx context.Context, name string, keyContext []byte) (DEK, error) {
	if err := ValidateKeyName(name); err != nil {
		return DEK{}, err
	}
	ek, version, err := k.cache.get(ctx, name, 0)
	if err != nil {
		return DEK{}, err
	}
	defer clear(ek[:])

	plaintext := make([]byte, dekSize)
	if _, err := io.ReadFull(k.rand, plaintext); err != nil {
		return DEK{}, fmt.Errorf("generate key with %q: read random key: %w", name, err)
	}
	ciphertext, err := sealDEK(&ek, version, plaintext, keyContext, k.rand)
	if err != nil {
		clear(plaintext)
		return DEK{}, fmt.Errorf("generate key with %q: %w", name, err)
	}
	return DEK{KeyID: name, Plaintext: plaintext, Ciphertext: ciphertext}, nil
}

// Decrypt returns the plaintext DEK of a ciphertext GenerateKey made with
// the External Key called name and the same keyContext, using the key
// version the ciphertext names (so DEKs sealed before a rotation keep
// opening). It returns
// ErrDecrypt when the ciphertext was altered, was sealed under another
// key, or keyContext differs; ErrKeyNotFound; ErrInvalidKeyName; or an
// error wrapping ErrUnavailable.
//
// Besides its own format Decrypt accepts the ciphertexts a KES server
// makes, so keys shared with KES keep working after switching to the
// embedded KMS.
func (k *KMS) Decrypt(ctx context.Context, name string, ciphertext, keyContext []byte) ([]byte, error) {
	if err := ValidateKeyName(name); err != nil {
		return nil, err
	}
	version := CiphertextKeyVersion(ciphertext)
	ek, _, err := k.cache.get(ctx, name, version) // 0: the newest, to tell a missing key
	if err == nil && version == 0 {
		clear(ek[:])
		return nil, ErrDecrypt
	}
	if errors.Is(err, errNoSuchVersion) {
		return nil, ErrDecrypt
	}
	if err != nil {
		return nil, err
	}
	defer clear(ek[:])
	return openDEK(&ek, ciphertext, keyContext)
}

// RotateKey adds a new random version to the External Key called name and
// returns its number. Data keys generated from then on are sealed under
// it; the older versions keep decrypting what was sealed under them. The
// key's name, and so every key id clients see, stays the same. Other KMS
// instances over the same store pick the new version up when their cached
// copy expires (CacheExpiry) or when they first decrypt a data key sealed
// under it.
//
// It returns ErrRotationUnsupported when the store is no KeyUpdater,
// ErrKeyChanged when the key changed while it was being rotated (retry),
// ErrKeyNotFound, ErrInvalidKeyName, an error wrapping ErrTooManyVersions,
// or one wrapping ErrUnavailable.
func (k *KMS) RotateKey(ctx context.Context, name string) (int, error) {
	if err := ValidateKeyName(name); err != nil {
		return 0, err
	}
	updater, ok := k.store.(KeyUpdater)
	if !ok {
		return 0, ErrRotationUnsupported
	}
	old, err := k.store.Get(ctx, name)
	if errors.Is(err, ErrKeyNotFound) {
		return 0, ErrKeyNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("rotate key %q: %w", name, err)
	}
	defer clear(old)
	var key [externalKeySize]byte
	defer clear(key[:])
	if _, err := io.ReadFull(k.rand, key[:]); err != nil {
		return 0, fmt.Errorf("rotate key %q: read random key: %w", name, err)
	}
	value, version, err := appendKeyVersion(old, &key, k.now(), k.createdBy)
	if err != nil {
		return 0, fmt.Errorf("rotate key %q: %w", name, err)
	}
	defer clear(value)
	err = updater.Update(ctx, name, old, value)
	k.cache.evict(name)
	switch {
	case errors.Is(err, ErrKeyNotFound):
		return 0, ErrKeyNotFound
	case errors.Is(err, ErrKeyChanged):
		return 0, ErrKeyChanged
	case err != nil:
		return 0, fmt.Errorf("rotate key %q: %w", name, err)
	}
	return version, nil
}

// listConcurrency bounds the key-store calls ListKeys makes at once.
const listConcurrency = 8

// ListKeys describes the keys that match pattern, sorted by name. Like
// KES, pattern is "*" (or "") for every key, a prefix followed by "*", or
// an exact name. A malformed pattern is ErrInvalidKeyName; an unreachable
// store, ErrUnavailable. An entry whose value cannot be read as a key
// record is listed by name only.
func (k *KMS) ListKeys(ctx context.Context, pattern string) ([]KeyInfo, error) {
	var names []string
	switch prefix, isPrefix := strings.CutSuffix(pattern, "*"); {
	case pattern == "" || isPrefix:
		if err := ValidateKeyPrefix(prefix); err != nil {
			return nil, err
		}
		for start := ""; ; {
			page, next, err := k.store.List(ctx, prefix, start, 1000)
			if err != nil {
				return nil, fmt.Errorf("list keys: %w", err)
			}
			names = append(names, page...)
			if next == "" {
				break
			}
			start = next
		}
	default:
		if err := ValidateKeyName(pattern); err != nil {
			return nil, err
		}
		names = []string{pattern}
	}

	infos := make([]*KeyInfo, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listConcurrency)
	for i, name := range names {
		g.Go(func() error {
			info, err := k.describe(gctx, name)
			switch {
			case err == nil:
			case errors.Is(err, ErrKeyNotFound):
				return nil // deleted since it was listed
			case errors.Is(err, ErrUnavailable) || gctx.Err() != nil:
				return err
			default:
				// Not a readable key record (a foreign secret, a key
				// the store cannot decrypt): list its name only.
				info = KeyInfo{Name: name}
			}
			infos[i] = &info
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	list := make([]KeyInfo, 0, len(infos))
	for _, info := range infos {
		if info != nil {
			list = append(list, *info)
		}
	}
	slices.SortFunc(list, func(a, b KeyInfo) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}

// DescribeKey returns the metadata of the External Key called name, or
// ErrKeyNotFound, ErrInvalidKeyName, or an error wrapping ErrUnavailable.
func (k *KMS) DescribeKey(ctx context.Context, name string) (KeyInfo, error) {
	if err := ValidateKeyName(name); err != nil {
		return KeyInfo{}, err
	}
	info, err := k.describe(ctx, name)
	if err != nil && !errors.Is(err, ErrKeyNotFound) {
		return KeyInfo{}, fmt.Errorf("describe key %q: %w", name, err)
	}
	return info, err
}

// describe reads a key's metadata from the cache or, without caching the
// key, from the store.
func (k *KMS) describe(ctx context.Context, name string) (KeyInfo, error) {
	if info, ok := k.cache.info(name); ok {
		return info, nil
	}
	value, err := k.store.Get(ctx, name)
	if errors.Is(err, ErrKeyNotFound) {
		return KeyInfo{}, ErrKeyNotFound
	}
	if err != nil {
		return KeyInfo{}, err
	}
	defer clear(value)
	ek, err := parseKeyRecord(name, value)
	ek.clear()
	if err != nil {
		return KeyInfo{}, err
	}
	return ek.info, nil
}

// DeleteKey deletes the External Key called name and drops it from the
// cache. Every DEK sealed under it becomes undecryptable. It returns
// ErrKeyNotFound, ErrInvalidKeyName, or an error wrapping ErrUnavailable.
func (k *KMS) DeleteKey(ctx context.Context, name string) error {
	if err := ValidateKeyName(name); err != nil {
		return err
	}
	err := k.store.Delete(ctx, name)
	k.cache.evict(name)
	switch {
	case errors.Is(err, ErrKeyNotFound):
		return ErrKeyNotFound
	case err != nil:
		return fmt.Errorf("delete key %q: %w", name, err)
	}
	return nil
}

// Status describes the KMS and its key store. It always returns a filled
// Status; when the store cannot be reached the store's endpoint is
// offline and the error wraps ErrUnavailable.
func (k *KMS) Status(ctx context.Context) (Status, error) {
	endpoint := "embedded"
	if s, ok := k.store.(fmt.Stringer); ok {
		endpoint = s.String()
	}
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	status := Status{
		Name:      "embedded",
		Endpoints: map[string]EndpointState{endpoint: EndpointOffline},
		State: State{
			OS:         runtime.GOOS,
			Arch:       runtime.GOARCH,
			UpTime:     k.now().Sub(k.started),
			CPUs:       runtime.NumCPU(),
			UsableCPUs: runtime.GOMAXPROCS(0),
			HeapAlloc:  mem.HeapAlloc,
			StackAlloc: mem.StackSys,
		},
	}

	start := time.Now()
	state, err := k.store.Status(ctx)
	if err != nil {
		return status, fmt.Errorf("key store status: %w", err)
	}
	latency := state.Latency
	if latency <= 0 {
		latency = time.Since(start)
	}
	status.Endpoints[endpoint] = EndpointOnline
	status.State.KeyStoreLatency = latency
	status.State.KeyStoreReachable = true
	status.State.KeystoreAvailable = true
	return status, nil
}
