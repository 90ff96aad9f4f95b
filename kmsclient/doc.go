// Package kmsclient is the KMS as the gateway sees it: it generates data
// encryption keys (DEKs) sealed under named External Keys (EKs) and
// decrypts them again. It knows nothing of S3; a DEK's context is opaque
// bytes to it.
//
// Two implementations share one method set (CreateKey, GenerateKey,
// Decrypt, ListKeys, DescribeKey, DeleteKey, Status):
//
//   - KMS, the embedded KMS, follows the KES model: EKs live in a KeyStore
//     (package fs for a local directory, aws for AWS Secrets Manager, kmip
//     for a KMIP server, mem for tests) and are cached in memory, so the hot path makes no
//     key-store round trip.
//   - kes.Client talks to an external KES server.
//
// # Errors
//
// Methods report ErrKeyExists, ErrKeyNotFound and ErrDecrypt unwrapped,
// with KES's texts; ErrInvalidKeyName wrapped with the name;
// ErrNotAllowed when a KES server refuses the client; and ErrUnavailable
// wrapping the cause when a key store or server cannot be reached. Match
// them with errors.Is.
//
// # Key names
//
// Names follow KES: 1 to 80 characters from [0-9A-Za-z_-], a hyphen
// neither first nor last, and not "_" alone (ValidateKeyName).
//
// # Stored External Key
//
// A KeyStore holds each EK as a JSON record:
//
//	{"version":1,"algorithm":"AES256","bytes":"<base64, 32 bytes>",
//	 "created_at":"<RFC 3339>","created_by":"<identity>"}
//
// A KES server reads this record as well, and KES's own JSON records
// (without "version") parse here.
//
// # Key versions
//
// KMS.RotateKey adds a version to an External Key; its name stays the
// same. A rotated key is record version 2: "bytes" stays key version 1,
// "rotations" lists versions 2, 3, ... (each {"bytes","created_at",
// "created_by"}), oldest first. A key never rotated keeps its version 1
// record, so existing keys need no migration. Rotation needs a store that
// can replace a value (KeyUpdater: fs, mem, aws; not kmip, as KMIP has
// no compare-and-swap of an object's value); a KES server sees only
// key version 1 of a rotated record and has no versions of its own.
//
// # DEK ciphertext under key version 1
//
// GenerateKey draws a 32-byte DEK and seals it as a KES server (v0.24)
// does, in 76 bytes:
//
//	AES-256-GCM(DEK) (32) ‖ tag (16) ‖ IV (16) ‖ nonce (12)
//
// The GCM key is HMAC-SHA256(EK, IV), so every ciphertext has its own key
// and one EK never comes near GCM's limit on random nonces. The
// associated data is exactly the context the caller passed; Decrypt needs
// the same bytes, or it fails with ErrDecrypt. Because the layout is
// KES's, a KES server that holds the same External Key (imported with
// `s3seal kms migrate`, or reading the same key store) opens these data
// keys, and Decrypt opens the ones a KES server made.
//
// Earlier versions sealed key version 1 in a 77-byte v1 layout, which
// Decrypt still opens but a KES server cannot:
//
//	version (1 byte, 0x01) ‖ IV (16) ‖ nonce (12) ‖ AES-256-GCM(DEK) (32) ‖ tag (16)
//
// keyed with HMAC-SHA256(EK, 0x01 ‖ IV).
//
// # DEK ciphertext under later key versions
//
// A DEK sealed under key version 2 or later names it (81 bytes):
//
//	version (1 byte, 0x02) ‖ key version (4, big endian) ‖ IV (16) ‖ nonce (12) ‖ AES-256-GCM(DEK) (32) ‖ tag (16)
//
// keyed with HMAC-SHA256(EK version, 0x02 ‖ key version ‖ IV); the
// format byte and key version take part in the derivation, so changing
// them breaks authentication. Decrypt picks the key version the
// ciphertext names (CiphertextKeyVersion); lengths tell the layouts
// apart. A KES server has no key versions and cannot open these.
//
// # Cache
//
// The embedded KMS caches parsed EKs with KES's cache.expiry semantics
// (CacheExpiry): an entry expires Any after it was fetched and Unused
// after it was last used; Offline keeps expired entries usable while the
// store is unreachable. Concurrent misses of one key make one store call.
// Evicted keys are zeroed.
package kmsclient
