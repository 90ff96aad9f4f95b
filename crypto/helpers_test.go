package crypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"
)

// countingRand is deterministic "randomness" for golden vectors: the bytes
// start, start+1, start+2, ... (mod 256).
type countingRand struct{ next byte }

func (r *countingRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

// testExtKey is the external key of the golden vectors: 0x00, 0x01, ... 0x1f.
func testExtKey() []byte {
	key := make([]byte, 32)
	_, _ = (&countingRand{}).Read(key)
	return key
}

// plaintext returns n reproducible pseudo-random bytes.
func plaintext(n int, seed uint64) []byte {
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	b := make([]byte, n)
	_, _ = rng.Read(b)
	return b
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("decode hex %q: %v", s, err)
	}
	return b
}

// encrypt returns the DARE ciphertext of plain under key.
func encrypt(t testing.TB, plain []byte, key ObjectKey) []byte {
	t.Helper()
	r, err := EncryptReader(bytes.NewReader(plain), key)
	if err != nil {
		t.Fatalf("EncryptReader: %v", err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	return buf.Bytes()
}

// isPrefix reports whether got is a prefix of want: the only output a
// failing decryption may produce.
func isPrefix(got, want []byte) bool {
	return len(got) <= len(want) && bytes.Equal(got, want[:len(got)])
}

func hmacSHA256(key, data []byte) [32]byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	var sum [32]byte
	mac.Sum(sum[:0])
	return sum
}
