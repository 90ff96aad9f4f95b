package kmsclient

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// DEK ciphertext layouts; doc.go specifies them. v1 is only read: key
// version 1 now seals in the KES layout.
const (
	dekSize = 32 // plaintext size of a data encryption key

	ciphertextV1     byte = 1
	ivSize                = 16
	nonceSize             = 12
	tagSize               = 16
	headerSizeV1          = 1 + ivSize + nonceSize
	ciphertextSizeV1      = headerSizeV1 + dekSize + tagSize // 77

	// Version 2 names the key version after the format byte; version 1
	// ciphertexts are of key version 1.
	ciphertextV2     byte = 2
	keyVersionSize        = 4
	headerSizeV2          = 1 + keyVersionSize + ivSize + nonceSize
	ciphertextSizeV2      = headerSizeV2 + dekSize + tagSize // 81

	// ciphertextSizeKES is the size of a ciphertext of a DEK as KES v0.24 makes it:
	// sealed DEK and tag, then IV, then nonce, no header.
	ciphertextSizeKES = dekSize + tagSize + ivSize + nonceSize // 76
)

// sealDEK encrypts the 32-byte dek under ek, which is key version
// keyVersion, binding associatedData: in the KES layout for key version 1,
// so that a KES server holding the same External Key opens it (the way to
// move from a key store to KES), and in the v2 layout, which names the key
// version, otherwise. random supplies the IV and nonce.
func sealDEK(ek *[externalKeySize]byte, keyVersion int, dek, associatedData []byte, random io.Reader) ([]byte, error) {
	if keyVersion == 1 {
		var ivNonce [ivSize + nonceSize]byte
		if _, err := io.ReadFull(random, ivNonce[:]); err != nil {
			return nil, fmt.Errorf("read random IV: %w", err)
		}
		aead, err := derivedAEAD(ek, ivNonce[:ivSize])
		if err != nil {
			return nil, err
		}
		out := aead.Seal(make([]byte, 0, ciphertextSizeKES), ivNonce[ivSize:], dek, associatedData)
		return append(out, ivNonce[:]...), nil
	}
	out := make([]byte, headerSizeV2, ciphertextSizeV2)
	out[0] = ciphertextV2
	binary.BigEndian.PutUint32(out[1:1+keyVersionSize], uint32(keyVersion))
	if _, err := io.ReadFull(random, out[headerSizeV2-ivSize-nonceSize:headerSizeV2]); err != nil {
		return nil, fmt.Errorf("read random IV: %w", err)
	}
	// The format byte and key version join the IV in the derivation, so a
	// ciphertext relabelled as another version opens under an unrelated
	// key.
	aead, err := derivedAEAD(ek, out[:headerSizeV2-nonceSize])
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, out[headerSizeV2-nonceSize:headerSizeV2], dek, associatedData), nil
}

// CiphertextKeyVersion returns the External Key version a DEK ciphertext
// was sealed under, as GenerateKey of the embedded KMS recorded it: 1 for
// the v1 and KES layouts, the recorded version for the v2 layout. It
// returns 0 for anything else. It does not authenticate the ciphertext.
func CiphertextKeyVersion(ciphertext []byte) int {
	switch {
	case len(ciphertext) == ciphertextSizeV1 && ciphertext[0] == ciphertextV1, len(ciphertext) == ciphertextSizeKES:
		return 1
	case len(ciphertext) == ciphertextSizeV2 && ciphertext[0] == ciphertextV2:
		v := binary.BigEndian.Uint32(ciphertext[1 : 1+keyVersionSize])
		if v < 2 || v > MaxKeyVersions {
			return 0
		}
		return int(v)
	}
	return 0
}

// openDEK decrypts a DEK ciphertext in the v1, v2 or the KES layout with
// ek, the key version CiphertextKeyVersion names. Every failure is
// ErrDecrypt.
func openDEK(ek *[externalKeySize]byte, ciphertext, associatedData []byte) ([]byte, error) {
	var derivation, nonce, sealed []byte
	switch {
	case len(ciphertext) == ciphertextSizeV1 && ciphertext[0] == ciphertextV1:
		derivation = ciphertext[:1+ivSize]
		nonce = ciphertext[1+ivSize : headerSizeV1]
		sealed = ciphertext[headerSizeV1:]
	case len(ciphertext) == ciphertextSizeV2 && ciphertext[0] == ciphertextV2:
		derivation = ciphertext[:1+keyVersionSize+ivSize]
		nonce = ciphertext[1+keyVersionSize+ivSize : headerSizeV2]
		sealed = ciphertext[headerSizeV2:]
	case len(ciphertext) == ciphertextSizeKES:
		sealed = ciphertext[:dekSize+tagSize]
		derivation = ciphertext[dekSize+tagSize : dekSize+tagSize+ivSize]
		nonce = ciphertext[dekSize+tagSize+ivSize:]
	default:
		return nil, ErrDecrypt
	}
	aead, err := derivedAEAD(ek, derivation)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(make([]byte, 0, dekSize), nonce, sealed, associatedData)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// derivedAEAD returns AES-256-GCM keyed with HMAC-SHA256(ek, derivation).
// A fresh key per message keeps one External Key far from GCM's limit on
// random nonces per key.
func derivedAEAD(ek *[externalKeySize]byte, derivation []byte) (cipher.AEAD, error) {
	mac := hmac.New(sha256.New, ek[:])
	mac.Write(derivation)
	var key [sha256.Size]byte
	mac.Sum(key[:0])
	defer clear(key[:])
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("derive data key cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("derive data key cipher: %w", err)
	}
	return aead, nil
}
