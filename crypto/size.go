package crypto

import "fmt"

const (
	// PackageSize is the plaintext payload of a full DARE 2.0 package.
	PackageSize = 64 << 10
	// PackageOverhead is what a package adds to its payload: a 16-byte
	// header and a 16-byte authentication tag.
	PackageOverhead = 32
	// EncryptedPackageSize is the ciphertext size of a full package.
	EncryptedPackageSize = PackageSize + PackageOverhead

	// MaxPlaintextSize is the largest plaintext one DARE stream may carry:
	// 2³² packages, the range of the 32-bit sequence number.
	MaxPlaintextSize = PackageSize << 32
)

// maxCiphertextSize is EncryptedSize(MaxPlaintextSize).
const maxCiphertextSize = EncryptedPackageSize << 32

// EncryptedSize returns the size of the DARE stream that encrypts plain
// bytes: (plain/64Ki)·(64Ki+32) plus, for a short last package, its payload
// and 32 bytes. A negative (unknown) size stays unknown: it returns -1.
// Sizes above MaxPlaintextSize cannot be encrypted; the result for them is
// meaningless.
func EncryptedSize(plain int64) int64 {
	if plain < 0 {
		return -1
	}
	size := plain / PackageSize * EncryptedPackageSize
	if rest := plain % PackageSize; rest > 0 {
		size += rest + PackageOverhead
	}
	return size
}

// DecryptedSize returns the plaintext size of a DARE stream of cipher bytes.
// It is the exact inverse of EncryptedSize. Sizes no stream can have (a last
// package of at most 32 bytes, negative or beyond the format's limit) return
// an error wrapping ErrInvalidSize.
func DecryptedSize(cipher int64) (int64, error) {
	if cipher < 0 || cipher > maxCiphertextSize {
		return 0, fmt.Errorf("%w: ciphertext size %d", ErrInvalidSize, cipher)
	}
	size := cipher / EncryptedPackageSize * PackageSize
	if rest := cipher % EncryptedPackageSize; rest > 0 {
		if rest <= PackageOverhead {
			return 0, fmt.Errorf("%w: ciphertext size %d leaves a %d-byte package", ErrInvalidSize, cipher, rest)
		}
		size += rest - PackageOverhead
	}
	return size, nil
}
