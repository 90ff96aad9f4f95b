package kmsclient

import "errors"

// Sentinel errors. The texts of ErrKeyExists, ErrKeyNotFound and ErrDecrypt
// are the ones a KES server answers with, because S3 clients and MinIO's
// tooling match on them; methods return these values unwrapped so that
// err.Error() is exactly that text.
var (
	// ErrKeyExists is returned when creating a key whose name is taken.
	ErrKeyExists = errors.New("key already exists")

	// ErrKeyNotFound is returned when a named key does not exist.
	ErrKeyNotFound = errors.New("key does not exist")

	// ErrDecrypt is returned when a ciphertext cannot be decrypted: it was
	// modified, sealed under a different key, or the context differs from
	// the one it was sealed with.
	ErrDecrypt = errors.New("decryption failed: ciphertext is not authentic")

	// ErrInvalidKeyName is returned, wrapped with the offending name, for a
	// key name or listing pattern that breaks the KES naming rule (see
	// ValidateKeyName).
	ErrInvalidKeyName = errors.New("invalid key name")

	// ErrUnavailable is returned, wrapping the cause, when the key store or
	// KMS cannot be reached. It is a temporary condition: callers should
	// answer "service unavailable" and may retry.
	ErrUnavailable = errors.New("key store unavailable")

	// ErrNotAllowed is returned when the KMS refuses an operation for lack
	// of permission (an external KES server's 403).
	ErrNotAllowed = errors.New("not authorized: insufficient permissions")

	// ErrKeyChanged is returned by KeyUpdater.Update when the stored value
	// is no longer the one the caller read: someone else changed the key
	// (rotated it concurrently, or deleted and re-created it).
	ErrKeyChanged = errors.New("key changed concurrently")

	// ErrRotationUnsupported is returned by RotateKey when the key store
	// cannot replace a stored key (it does not implement KeyUpdater).
	ErrRotationUnsupported = errors.New("the key store does not support key rotation")

	// ErrTooManyVersions is returned, wrapped, by RotateKey for a key that
	// already has MaxKeyVersions versions.
	ErrTooManyVersions = errors.New("too many key versions")
)
