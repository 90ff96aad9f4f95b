package crypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/minio/sio"
)

// Domain names the kind of server-side encryption. It is mixed into the
// sealing key, so a key sealed for one domain never opens in another.
type Domain string

// The encryption domains, spelled as in MinIO.
const (
	DomainKMS Domain = "SSE-KMS"
	DomainS3  Domain = "SSE-S3"
	DomainC   Domain = "SSE-C"
)

// SealAlgorithm is the only sealing algorithm: the sealing key is an
// HMAC-SHA256 derivation and the object key is sealed with DARE 2.0.
const SealAlgorithm = "DAREv2-HMAC-SHA256"

// Derivation labels. They are part of the format: changing one makes every
// stored object unreadable.
const (
	objectKeyLabel = "object-encryption-key generation"
	macKeyLabel    = "s3seal gateway-record authentication"
)

// ObjectKey is the 256-bit key that encrypts one object's data (single-part
// objects) or from which its part keys derive (multipart objects).
type ObjectKey [32]byte

// GenerateObjectKey derives a fresh object key from the external key (the
// KMS data key, or the SSE-C client key) and 32 bytes read from random:
// HMAC-SHA256(extKey, "object-encryption-key generation" ‖ random).
// A nil random means crypto/rand. extKey must be 32 bytes (ErrInvalidKey).
func GenerateObjectKey(extKey []byte, random io.Reader) (ObjectKey, error) {
	if len(extKey) != 32 {
		return ObjectKey{}, ErrInvalidKey
	}
	if random == nil {
		random = rand.Reader
	}
	var nonce [32]byte
	if _, err := io.ReadFull(random, nonce[:]); err != nil {
		return ObjectKey{}, fmt.Errorf("read random: %w", err)
	}
	mac := hmac.New(sha256.New, extKey)
	mac.Write([]byte(objectKeyLabel))
	mac.Write(nonce[:])
	var key ObjectKey
	mac.Sum(key[:0])
	return key, nil
}

// NewIV returns 32 bytes read from random (nil means crypto/rand), the IV
// that makes each sealing key unique.
func NewIV(random io.Reader) ([32]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	var iv [32]byte
	if _, err := io.ReadFull(random, iv[:]); err != nil {
		return iv, fmt.Errorf("read random: %w", err)
	}
	return iv, nil
}

// SealedKey is an object key encrypted under a sealing key, as stored next
// to the object.
type SealedKey struct {
	IV        [32]byte // random, mixed into the sealing key
	Algorithm string   // SealAlgorithm
	Key       [64]byte // DARE 2.0 ciphertext of the 32-byte object key
}

// Seal encrypts k for storage. The sealing key is
// HMAC-SHA256(extKey, iv ‖ domain ‖ "DAREv2-HMAC-SHA256" ‖ bucket+"/"+object)
// and the sealed key is the single DARE 2.0 (AES-256-GCM) package of k.
// Binding the sealing key to bucket and object means a copied or renamed
// object must be resealed. iv must be fresh for every Seal (see NewIV).
func (k ObjectKey) Seal(extKey []byte, iv [32]byte, domain Domain, bucket, object string) SealedKey {
	return k.seal(extKey, iv, domain, bucket, object, rand.Reader)
}

// seal is Seal with the DARE nonce read from random, for golden vectors.
func (k ObjectKey) seal(extKey []byte, iv [32]byte, domain Domain, bucket, object string, random io.Reader) SealedKey {
	sealingKey := sealingKey(extKey, iv, domain, bucket, object)
	enc, err := sio.EncryptReader(bytes.NewReader(k[:]), dareConfig(sealingKey[:], random))
	var sealed []byte
	if err == nil {
		sealed, err = io.ReadAll(enc) // to EOF, which returns sio's buffer to its pool
	}
	if err != nil || len(sealed) != 64 {
		// Unreachable: the key size is fixed and crypto/rand does not fail.
		panic(fmt.Sprintf("crypto: seal object key: %d bytes, %v", len(sealed), err))
	}
	s := SealedKey{IV: iv, Algorithm: SealAlgorithm}
	copy(s.Key[:], sealed)
	return s
}

// Unseal decrypts the object key sealed by Seal with the same external key,
// domain, bucket and object. Anything else — another key, domain or object,
// an unknown algorithm or altered bytes — returns ErrSealedKeyInvalid.
func (s SealedKey) Unseal(extKey []byte, domain Domain, bucket, object string) (ObjectKey, error) {
	if s.Algorithm != SealAlgorithm {
		return ObjectKey{}, fmt.Errorf("%w: unknown algorithm %q", ErrSealedKeyInvalid, s.Algorithm)
	}
	sealingKey := sealingKey(extKey, s.IV, domain, bucket, object)
	var key ObjectKey
	plain, err := sio.DecryptBuffer(key[:0], s.Key[:], dareConfig(sealingKey[:], nil))
	if err != nil || len(plain) != len(key) {
		return ObjectKey{}, ErrSealedKeyInvalid
	}
	return key, nil
}

func sealingKey(extKey []byte, iv [32]byte, domain Domain, bucket, object string) [32]byte {
	// One write of one buffer: each []byte conversion passed to the hash
	// (an interface) was an allocation of its own.
	msg := make([]byte, 0, len(iv)+len(domain)+len(SealAlgorithm)+len(bucket)+1+len(object))
	msg = append(msg, iv[:]...)
	msg = append(msg, domain...)
	msg = append(msg, SealAlgorithm...)
	msg = append(msg, bucket...)
	msg = append(msg, '/')
	msg = append(msg, object...)
	mac := hmac.New(sha256.New, extKey)
	mac.Write(msg)
	var key [32]byte
	mac.Sum(key[:0])
	return key
}

// PartKey returns the key of part partNumber (1 to 10000, the S3 part
// number used at UploadPart) of a multipart object:
// HMAC-SHA256(k, little-endian uint32(partNumber)).
func (k ObjectKey) PartKey(partNumber int) ObjectKey {
	var id [4]byte
	binary.LittleEndian.PutUint32(id[:], uint32(partNumber))
	mac := hmac.New(sha256.New, k[:])
	mac.Write(id[:])
	var key ObjectKey
	mac.Sum(key[:0])
	return key
}

// MAC authenticates data the gateway stores about this object (records,
// indexes): HMAC-SHA256 under HMAC-SHA256(k, "s3seal gateway-record
// authentication"). Compare MACs with hmac.Equal.
func (k ObjectKey) MAC(data []byte) [32]byte {
	mac := hmac.New(sha256.New, k[:])
	mac.Write([]byte(macKeyLabel))
	macKey := mac.Sum(nil)

	mac = hmac.New(sha256.New, macKey)
	mac.Write(data)
	var sum [32]byte
	mac.Sum(sum[:0])
	return sum
}
