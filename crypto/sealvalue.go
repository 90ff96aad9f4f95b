package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
)

// SealValue encrypts and authenticates a small value that belongs to an
// object — such as the client's checksum of the plaintext — under a key
// derived from the object key and label, so that the backend can neither
// read nor change it. The result is nonce ‖ AES-256-GCM(value) ‖ tag.
// random nil means crypto/rand.
func (k ObjectKey) SealValue(label string, value []byte, random io.Reader) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	aead, err := k.valueAEAD(label)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(value)+aead.Overhead())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, fmt.Errorf("seal value: read nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, value, []byte(label)), nil
}

// OpenValue reverses SealValue. A value sealed under another object key or
// label, or altered, fails with an error wrapping ErrTampered.
func (k ObjectKey) OpenValue(label string, sealed []byte) ([]byte, error) {
	aead, err := k.valueAEAD(label)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("open value: %w", ErrTampered)
	}
	n := aead.NonceSize()
	v, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(label))
	if err != nil {
		return nil, fmt.Errorf("open value: %w", ErrTampered)
	}
	return v, nil
}

func (k ObjectKey) valueAEAD(label string) (cipher.AEAD, error) {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte("s3seal sealed value v1\x00" + label))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
