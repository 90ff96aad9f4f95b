package kmsclient

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxKeyNameLength is the longest key name KES accepts.
const MaxKeyNameLength = 80

// KeyStore stores External Keys as opaque byte values by name. It is the
// durable half of the embedded KMS: the KMS seals and caches, the store only
// keeps bytes. Implementations must be safe for concurrent use and must
// validate names themselves (ValidateKeyName), since a name may become a
// file name or a remote identifier.
//
// Errors: ErrKeyExists, ErrKeyNotFound and ErrInvalidKeyName as stated per
// method, matched with errors.Is; ErrUnavailable (wrapping the cause) when
// the backing service cannot be reached; anything else is a permanent
// failure worth logging.
type KeyStore interface {
	// Create stores value under name if and only if no entry with that
	// name exists; otherwise it returns ErrKeyExists. Of concurrent
	// Creates of one name exactly one succeeds. The store does not retain
	// value after Create returns.
	Create(ctx context.Context, name string, value []byte) error

	// Get returns a copy of the value stored under name, or ErrKeyNotFound.
	Get(ctx context.Context, name string) ([]byte, error)

	// Delete removes the entry, or returns ErrKeyNotFound.
	Delete(ctx context.Context, name string) error

	// List returns, sorted, the names that start with prefix and are not
	// less than start ("" starts at the beginning), at most n of them
	// (n <= 0: all). next is the name to pass as start to continue the
	// listing; it is "" once no more names follow. An empty prefix matches
	// every name. A prefix with characters no key name may contain is
	// ErrInvalidKeyName.
	List(ctx context.Context, prefix, start string, n int) (names []string, next string, err error)

	// Status reports whether the store is reachable and how long a round
	// trip took. It returns ErrUnavailable (wrapping the cause) when the
	// store cannot be reached.
	Status(ctx context.Context) (StoreState, error)

	// Close releases the store's resources.
	Close() error
}

// KeyUpdater is implemented by key stores that can replace a stored value,
// which rotating a key needs (KMS.RotateKey). Stores without it still hold
// rotated keys (a rotated key is one value), they only cannot rotate.
type KeyUpdater interface {
	// Update replaces the value stored under name with value if and only
	// if the stored value is still old, byte for byte; otherwise it
	// returns ErrKeyChanged and leaves the entry as it is. Of concurrent
	// Updates from one old value at most one succeeds. It returns
	// ErrKeyNotFound for a missing entry and ErrInvalidKeyName. The store
	// does not retain value after Update returns.
	Update(ctx context.Context, name string, old, value []byte) error
}

// StoreState is a snapshot of a reachable KeyStore.
type StoreState struct {
	// Latency is the duration of one round trip to the store.
	Latency time.Duration
}

// ValidateKeyName reports, as an error wrapping ErrInvalidKeyName, whether
// name breaks the KES naming rule: 1 to 80 characters from [0-9A-Za-z_-],
// a hyphen neither first nor last, and not the single name "_".
func ValidateKeyName(name string) error {
	if name == "" || name == "_" || len(name) > MaxKeyNameLength {
		return fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
	}
	last := len(name) - 1
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' && (i == 0 || i == last) || !isKeyNameChar(c) {
			return fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
		}
	}
	return nil
}

// ValidateKeyPrefix reports, as an error wrapping ErrInvalidKeyName, whether
// prefix cannot start any valid key name: it must be at most 80 characters
// from [0-9A-Za-z_-]. The empty prefix is valid.
func ValidateKeyPrefix(prefix string) error {
	if len(prefix) > MaxKeyNameLength || strings.IndexFunc(prefix, func(r rune) bool {
		return r > 0x7f || !isKeyNameChar(byte(r))
	}) >= 0 {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKeyName, prefix)
	}
	return nil
}

func isKeyNameChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '-'
}

// ListNames applies the KeyStore.List contract to names: it drops invalid
// names, sorts, filters by prefix and start, and cuts a page of at most n.
// Key stores that fetch all names at once use it to answer List. It sorts
// names in place.
func ListNames(names []string, prefix, start string, n int) ([]string, string) {
	slices.Sort(names)
	names = slices.Compact(names)
	page := []string{}
	for _, name := range names {
		if name < start || !strings.HasPrefix(name, prefix) || ValidateKeyName(name) != nil {
			continue
		}
		if n > 0 && len(page) == n {
			return page, name
		}
		page = append(page, name)
	}
	return page, ""
}
