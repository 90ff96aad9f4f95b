package gateway

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
	adminAlgArgon2AESGCM  = 0x00
	adminAlgArgon2ChaCha  = 0x01
	adminAlgPBKDF2AESGCM  = 0x02
	adminEncHeaderSize    = 32 + 1 + 8
	adminArgon2Memory     = 64 * 1024 // KiB
	adminArgon2Threads    = 4
	adminPBKDF2Iterations = 8192
)

// adminKDF serialises Argon2id derivations: each takes 64 MiB, so
// concurrent admin requests would otherwise multiply that.
var adminKDF sync.Mutex

func adminArgon2Key(secret string, salt []byte) []byte {
	adminKDF.Lock()
	defer adminKDF.Unlock()
	return argon2.IDKey([]byte(secret), salt, 1, adminArgon2Memory, adminArgon2Threads, 32)
}

var errAdminBodyNotAuthentic = errors.New("admin body: not encrypted with the requester's secret key, or altered")

// encryptAdminData encrypts data for the holder of secret, as madmin-go's
// EncryptData.
func encryptAdminData(secret string, data []byte) ([]byte, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	stream, err := sio.AES_256_GCM.Stream(adminArgon2Key(secret, salt))
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, stream.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(adminEncHeaderSize + len(data) + int(stream.Overhead(int64(len(data)))))
	out.Write(salt)
	out.WriteByte(adminAlgArgon2AESGCM)
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

// decryptAdminData decrypts what madmin-go's EncryptData made for the
// holder of secret. A wrong secret or an altered body is
// errAdminBodyNotAuthentic.
func decryptAdminData(secret string, data []byte) ([]byte, error) {
	if len(data) < adminEncHeaderSize {
		return nil, errAdminBodyNotAuthentic
	}
	salt, id, nonce := data[:32], data[32], data[33:adminEncHeaderSize]
	var (
		stream *sio.Stream
		err    error
	)
	switch id {
	case adminAlgArgon2AESGCM:
		stream, err = sio.AES_256_GCM.Stream(adminArgon2Key(secret, salt))
	case adminAlgArgon2ChaCha:
		stream, err = sio.ChaCha20Poly1305.Stream(adminArgon2Key(secret, salt))
	case adminAlgPBKDF2AESGCM:
		var key []byte
		if key, err = pbkdf2.Key(sha256.New, secret, salt, adminPBKDF2Iterations, 32); err == nil {
			stream, err = sio.AES_256_GCM.Stream(key)
		}
	default:
		return nil, errAdminBodyNotAuthentic
	}
	if err != nil {
		return nil, err
	}
	plain, err := io.ReadAll(stream.DecryptReader(bytes.NewReader(data[adminEncHeaderSize:]), nonce, nil))
	if err != nil {
		return nil, errAdminBodyNotAuthentic
	}
	return plain, nil
}
