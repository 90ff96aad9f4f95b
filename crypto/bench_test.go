package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
	"testing"
)

// discard is io.Discard without ReadFrom, so io.Copy goes through the
// reader's WriteTo as it does into an http.ResponseWriter.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkEncryptDecrypt measures the whole pipeline: encrypt a plaintext
// stream and decrypt it again. Compare its MB/s with BenchmarkRawAESGCM,
// which does the same two AEAD passes on bare 64 KiB buffers.
func BenchmarkEncryptDecrypt(b *testing.B) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	for _, size := range []int{64 << 10, 1 << 20, 16 << 20} {
		plain := plaintext(size, 1)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				enc, err := EncryptReader(bytes.NewReader(plain), key)
				if err != nil {
					b.Fatal(err)
				}
				dec, err := DecryptReader(enc, key, 0)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(discard{}, dec); err != nil || n != int64(size) {
					b.Fatalf("copied %d, %v", n, err)
				}
			}
		})
	}
}

// BenchmarkDecryptRange measures a range read: plan, skip and emit.
func BenchmarkDecryptRange(b *testing.B) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	const size = 16 << 20
	cipherText := encrypt(b, plaintext(size, 1), key)
	segs, _ := Layout{size}.Plan(1000, size-2000)
	b.SetBytes(size - 2000)
	for b.Loop() {
		r, err := DecryptSegments(bytes.NewReader(cipherText[segs[0].CipherOffset:]), segs, func(int) ObjectKey { return key })
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(discard{}, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawAESGCM(b *testing.B) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	block, _ := aes.NewCipher(key[:])
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	buf := make([]byte, PackageSize, PackageSize+gcm.Overhead())
	b.SetBytes(PackageSize)
	for b.Loop() {
		sealed := gcm.Seal(buf[:0], nonce, buf, nil)
		opened, err := gcm.Open(sealed[:0], nonce, sealed, nil)
		if err != nil {
			b.Fatal(err)
		}
		buf = opened
	}
}
