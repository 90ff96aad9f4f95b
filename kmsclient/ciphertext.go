package kmsclient

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
)

// DEK ciphertext layouts; doc.go specifies them.
const (
	dekSize = 32 // plaintext size of a data encryption key

	ciphertextV1     byte = 1
	ivSize                = 16
	nonceSize             = 12
	tagSize               = 16
	headerSizeV1          = 1 + ivSize + nonceSize
	ciphertextSizeV1      = headerSizeV1 + dekSize + tagSize // 77

	// ciphertextSizeKES is the size of a ciphertext of a DEK as KES v0.24 makes it:
	// sealed DEK and tag, then IV, then nonce, no header.
	ciphertextSizeKES = dekSize + tagSize + ivSize + nonceSize // 76
)

// sealDEK encrypts the 32-byte dek under ek in the v1 layout, binding
// associatedData. random supplies the IV and nonce.
func sealDEK(ek *[externalKeySize]byte, dek, associatedData []byte, random io.Reader) ([]byte, error) {
	out := make([]byte, headerSizeV1, ciphertextSizeV1)
	out[0] = ciphertextV1
	if _, err := io.ReadFull(random, out[1:headerSizeV1]); err != nil {
		return nil, fmt.Errorf("read random IV: %w", err)
	}
	// The version byte joins the IV in the derivation, so a ciphertext
	// relabelled as another version opens under an unrelated key.
	aead, err := derivedAEAD(ek, out[:1+ivSize])
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, out[1+ivSize:headerSizeV1], dek, associatedData), nil
}

// openDEK decrypts a DEK ciphertext in the v1 or the KES layout. Every
// failure is ErrDecrypt.
func openDEK(ek *[externalKeySize]byte, ciphertext, associatedData []byte) ([]byte, error) {
	var derivation, nonce, sealed []byte
	switch {
	case len(ciphertext) == ciphertextSizeV1 && ciphertext[0] == ciphertextV1:
		derivation = ciphertext[:1+ivSize]
		nonce = ciphertext[1+ivSize : headerSizeV1]
		sealed = ciphertext[headerSizeV1:]
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
