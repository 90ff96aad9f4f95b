// Package crypto owns s3seal's key hierarchy and on-backend format: object
// keys and how they are sealed, part keys, DARE encryption and decryption of
// object data, plaintext↔ciphertext size and range math, the KMS context,
// and the user metadata stored next to each object's ciphertext.
//
// It does no network I/O and no logging; data flows through io.Reader and
// io.Writer. The scheme is MinIO's (see "Compatibility" below).
//
// # Key hierarchy
//
//	KMS data key (DEK) or SSE-C client key    "external key", 32 bytes
//	  └─ object key = HMAC-SHA256(extKey, "object-encryption-key generation" ‖ random[32])
//	       ├─ sealed key = DARE(sealing key, object key)         stored in metadata
//	       ├─ part key n = HMAC-SHA256(object key, uint32le(n))  multipart objects
//	       ├─ MAC key    = HMAC-SHA256(object key, "s3seal gateway-record authentication")
//	       └─ value key  = HMAC-SHA256(object key, "s3seal sealed value v1" 0x00 label)
//
// For SSE-KMS and SSE-S3 the external key is a data key the KMS generates
// for each object; only its KMS ciphertext is stored. For SSE-C it is the
// client's key, of which only the MD5 is stored.
//
// The data key is bound to the KMS context, the AEAD associated data of the
// KMS: the client's context (SSE-KMS) plus {"<bucket>": "<bucket>/<object>"}
// unless the client set the key <bucket>, serialised as canonical JSON
// (KMSContext).
//
// The sealing key binds the object key to its storage place:
//
//	sealing key = HMAC-SHA256(extKey, IV[32] ‖ domain ‖ "DAREv2-HMAC-SHA256" ‖ bucket "/" object)
//
// domain is "SSE-KMS", "SSE-S3" or "SSE-C". The sealed key is the DARE 2.0
// encryption of the 32-byte object key, a single 64-byte package. Because
// bucket and object are part of the derivation, a copy or rename must
// unseal and reseal the object key (the data stays as it is).
//
// A single-part object's data is encrypted under the object key. In a
// multipart object every part is its own DARE stream under the part key of
// the S3 part number it was uploaded with. The MAC key authenticates records
// the gateway keeps about the object (ObjectKey.MAC), so that access to the
// backend alone can neither forge nor alter them. A value key per label
// seals small values stored with the object, such as the client's checksum
// of the plaintext, with AES-256-GCM (ObjectKey.SealValue).
//
// # DARE parameters
//
// Object data and sealed keys use DARE 2.0 (github.com/minio/sio) with
// AES-256-GCM only. A stream is a sequence of packages: a 16-byte header
// (version 0x20, cipher, payload length − 1, final flag and a 95-bit random
// nonce shared by the stream), a payload of up to 64 KiB, and a 16-byte tag.
// Every package but the last carries exactly 64 KiB; the last is flagged
// final. Each package's GCM nonce mixes in its sequence number, 0 for the
// first package of a stream, so packages cannot be reordered, dropped or
// moved between streams.
//
// # Sizes and ranges
//
// With PackageSize = 65536 and EncryptedPackageSize = 65568:
//
//	EncryptedSize(n) = ⌊n/65536⌋·65568 + (n mod 65536 > 0 ? n mod 65536 + 32 : 0)
//
// DecryptedSize is its exact inverse; a ciphertext whose last package would
// hold at most 32 bytes is impossible (ErrInvalidSize). An empty plaintext
// is an empty stream. A stream holds at most MaxPlaintextSize (2⁴⁸) bytes.
//
// A range read fetches only the packages that hold the requested bytes: in
// a part, package i starts at ciphertext offset i·65568 and decrypts with
// sequence number i; the reader discards offset mod 65536 bytes of it.
// Layout.Plan does this math across parts, ParseRange parses the Range
// header, DecryptSegment and DecryptSegments turn fetched ciphertext into
// plaintext and check the final flag whenever a part's last package is
// fetched, so a truncated object does not pass as a shorter one.
//
// # Backend metadata
//
// s3seal stores, as user metadata of the backend object (Metadata.Encode,
// DecodeMetadata), these headers; binary values are standard base64:
//
//	X-Amz-Meta-S3seal-Version       format version, "1"
//	X-Amz-Meta-S3seal-Domain        "SSE-KMS", "SSE-S3" or "SSE-C"
//	X-Amz-Meta-S3seal-Kms-Key-Id    KMS key name (SSE-KMS, SSE-S3)
//	X-Amz-Meta-S3seal-Kms-Dek       KMS ciphertext of the data key (SSE-KMS, SSE-S3)
//	X-Amz-Meta-S3seal-Kms-Context   canonical JSON of the client's KMS context (SSE-KMS, only if given)
//	X-Amz-Meta-S3seal-Sealed-Key    IV[32] ‖ sealed object key[64]
//	X-Amz-Meta-S3seal-Multipart     "true" for multipart objects, absent otherwise
//	X-Amz-Meta-S3seal-Ssec-Key-Md5  base64 MD5 of the client's key (SSE-C)
//
// Version 1 implies the sealing algorithm DAREv2-HMAC-SHA256. A reader must
// reject versions it does not know (ErrUnsupportedVersion); a later format
// bumps the version and keeps reading version 1. SSE-KMS metadata without a
// context takes about 400 bytes of S3's 2 KB user-metadata budget. Clients
// can never set or read headers with the MetadataPrefix (IsReservedHeader).
//
// # Compatibility
//
// Object key generation, the part keys and the sealing-key derivation are
// bit-compatible with MinIO's internal/crypto for object names that are
// already clean paths: MinIO joins bucket and object with path.Join, which
// cleans "a//b", "./a" or a trailing "/", where s3seal uses bucket+"/"+object
// verbatim so that distinct names never share a sealing key. KMSContext
// escapes like encoding/json without HTML escaping; MinIO also escapes <, >
// and &. Sealed keys and data are DARE 2.0 like MinIO's, but AES-256-GCM only.
// The metadata format is s3seal's own.
package crypto
