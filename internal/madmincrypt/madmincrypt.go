// Package madmincrypt encrypts and decrypts the admin API bodies that carry
// secrets, in madmin-go's format. The gateway serves them (gateway's admin
// IAM handlers) and the console sends and reads them as the logged-in user.
package madmincrypt

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"sync"

	"github.com/secure-io/sio-go"
	"golang.org/x/crypto/argon2"
)

// MinIO's admin API encrypts the bodies that carry secrets (new users,
// access keys, user and access-key listings) under a key derived from the
// requesting user's secret key, in madmin-go's format (EncryptData and
// DecryptData in its encrypt.go, which mc uses):
//
//	salt (32) | algorithm id (1) | nonce (8) | sio-go stream
//
// with the key Argon2id(secret, salt, t=1, m=64 MiB, p=4) for ids 0
// (AES-256-GCM) and 1 (ChaCha20-Poly1305), or PBKDF2-SHA256(secret, salt,
// 8192) for id 2 (AES-256-GCM, FIPS builds). s3seal reads all three and
// writes id 0.

const (
	AlgArgon2AESGCM  = 0x00
	algArgon2ChaCha  = 0x01
	algPBKDF2AESGCM  = 0x02
	HeaderSize       = 32 + 1 + 8
	argon2Memory     = 64 * 1024 // KiB
	argon2Threads    = 4
	pbkdf2Iterations = 8192
)

// kdf serialises Argon2id derivations: each takes 64 MiB, so
// concurrent admin requests would otherwise multiply that.
var kdf sync.Mutex

func argon2Key(secret string, salt []byte) []byte {
	kdf.Lock()
	defer kdf.Unlock()
	return argon2.IDKey([]byte(secret), salt, 1, argon2Memory, argon2Threads, 32)
}

var ErrNotAuthentic = errors.New("admin body: not encrypted with the requester's secret key, or altered")

// Encrypt encrypts data for the holder of secret, as madmin-go's
// EncryptData.
func Encrypt(secret string, data []byte) ([]byte, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	stream, err := sio.AES_256_GCM.Stream(argon2Key(secret, salt))
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, stream.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(HeaderSize + len(data) + int(stream.Overhead(int64(len(data)))))
	out.Write(salt)
	out.WriteByte(AlgArgon2AESGCM)
	out.Write(nonce)
	w := stream.EncryptWriter(&out, nonce, nil)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Decrypt decrypts what madmin-go's EncryptData made for the
// holder of secret. A wrong secret or an altered body is
// ErrNotAuthentic.
func Decrypt(secret string, data []byte) ([]byte, error) {
	if len(data) < HeaderSize {
		return nil, ErrNotAuthentic
	}
	salt, id, nonce := data[:32], data[32], data[33:HeaderSize]
	var (
		stream *sio.Stream
		err    error
	)
	switch id {
	case AlgArgon2AESGCM:
		stream, err = sio.AES_256_GCM.Stream(argon2Key(secret, salt))
	case algArgon2ChaCha:
		stream, err = sio.ChaCha20Poly1305.Stream(argon2Key(secret, salt))
	case algPBKDF2AESGCM:
		var key []byte
		if key, err = pbkdf2.Key(sha256.New, secret, salt, pbkdf2Iterations, 32); err == nil {
			stream, err = sio.AES_256_GCM.Stream(key)
		}
	default:
		return nil, ErrNotAuthentic
	}
	if err != nil {
		return nil, err
	}
	plain, err := io.ReadAll(stream.DecryptReader(bytes.NewReader(data[HeaderSize:]), nonce, nil))
	if err != nil {
		return nil, ErrNotAuthentic
	}
	return plain, nil
}
