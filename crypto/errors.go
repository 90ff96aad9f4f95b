package crypto

import "errors"

// Sentinel errors. Functions wrap them with detail; match with errors.Is.
var (
	// ErrInvalidSize reports a size that no DARE stream or layout can have.
	ErrInvalidSize = errors.New("crypto: invalid size")

	// ErrInvalidKey reports an external key that is not 32 bytes long.
	ErrInvalidKey = errors.New("crypto: external key must be 32 bytes")

	// ErrSealedKeyInvalid reports a sealed key that does not open under the
	// given external key, domain and bucket/object, or that was altered.
	ErrSealedKeyInvalid = errors.New("crypto: sealed key is not authentic")

	// ErrTampered reports object ciphertext that is not authentic: altered,
	// reordered, truncated or followed by extra data, or not matching the
	// recorded sizes.
	ErrTampered = errors.New("crypto: ciphertext is not authentic")

	// ErrInvalidRange reports a range that lies outside the object. S3
	// answers 416 InvalidRange.
	ErrInvalidRange = errors.New("crypto: range not satisfiable")

	// ErrRangeSyntax reports a Range header that is not a valid single byte
	// range. S3 ignores such a header and answers 200 with the whole object.
	ErrRangeSyntax = errors.New("crypto: malformed range")

	// ErrMultipleRanges reports a Range header asking for more than one
	// range, which S3 does not support.
	ErrMultipleRanges = errors.New("crypto: multiple ranges are not supported")

	// ErrNotEncrypted reports backend metadata without s3seal headers.
	ErrNotEncrypted = errors.New("crypto: object is not encrypted by s3seal")

	// ErrUnsupportedVersion reports backend metadata of a newer format.
	ErrUnsupportedVersion = errors.New("crypto: unsupported metadata version")

	// ErrMalformedMetadata reports s3seal backend metadata that is
	// incomplete, inconsistent or not decodable.
	ErrMalformedMetadata = errors.New("crypto: malformed metadata")
)
