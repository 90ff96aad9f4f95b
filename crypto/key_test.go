package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

// Golden vectors: fixed external key 00..1f, object "bucket/dir/object",
// and countingRand for every random input. A change here is a format change
// that makes stored objects unreadable.
const (
	goldenObjectKey = "6a1d68abb8caa58db0a30aaececc9b7f57aeab8d107ed9fa64076a089630bca5"
	goldenSealedKey = "20001f00c0c1c2c3c4c5c6c7c8c9cacb10334bf39d39310e2c4b8f73d73f01c7" +
		"04f084fd1f0f1daa969cd1580d6dd672c51b0a10273e88da2ca3c37efdd2d85f"
	goldenPartKey1 = "2cee322a0e0dc7df47418ec6406ebfccfb78e26a678f988f9f2456101544c7ab"
	goldenMAC      = "966312b7c5107c7bdb46bb2bb25afa111f374e12b6216ddf5c0461fb3619f2c0"
	// The DARE stream of "hello, s3seal": one final package.
	goldenPackage = "20000c00e0e1e2e3e4e5e6e7e8e9eaebae85595c2088adbc0f0cef45d6aa55fc02f711a980a8415a064185a0f1"
)

func TestGoldenVectors(t *testing.T) {
	key, err := GenerateObjectKey(testExtKey(), &countingRand{next: 0x40})
	if err != nil {
		t.Fatalf("GenerateObjectKey: %v", err)
	}
	iv, err := NewIV(&countingRand{next: 0x80})
	if err != nil {
		t.Fatalf("NewIV: %v", err)
	}
	sealed := key.seal(testExtKey(), iv, DomainKMS, "bucket", "dir/object", &countingRand{next: 0xc0})
	partKey := key.PartKey(1)
	mac := key.MAC([]byte("record"))
	stream, err := encryptReader(bytes.NewReader([]byte("hello, s3seal")), key, &countingRand{next: 0xe0}, MaxPlaintextSize)
	if err != nil {
		t.Fatalf("encryptReader: %v", err)
	}
	pkg, err := io.ReadAll(stream)
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}

	tests := []struct {
		name      string
		got, want string
	}{
		{"object key derives from external key and random", hex.EncodeToString(key[:]), goldenObjectKey},
		{"sealed key binds IV, domain and object path", hex.EncodeToString(sealed.Key[:]), goldenSealedKey},
		{"part key derives from object key and part number", hex.EncodeToString(partKey[:]), goldenPartKey1},
		{"MAC derives its own key from the object key", hex.EncodeToString(mac[:]), goldenMAC},
		{"first package of a short plaintext", hex.EncodeToString(pkg), goldenPackage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got  %s\nwant %s", tt.got, tt.want)
			}
		})
	}

	t.Run("golden sealed key unseals to golden object key", func(t *testing.T) {
		s := SealedKey{IV: iv, Algorithm: SealAlgorithm}
		copy(s.Key[:], mustHex(t, goldenSealedKey))
		got, err := s.Unseal(testExtKey(), DomainKMS, "bucket", "dir/object")
		if err != nil || hex.EncodeToString(got[:]) != goldenObjectKey {
			t.Errorf("Unseal = %x, %v; want %s, nil", got, err, goldenObjectKey)
		}
	})
	t.Run("golden package decrypts to its plaintext", func(t *testing.T) {
		var k ObjectKey
		copy(k[:], mustHex(t, goldenObjectKey))
		r, err := DecryptReader(bytes.NewReader(mustHex(t, goldenPackage)), k, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != "hello, s3seal" {
			t.Errorf("decrypt = %q, %v; want %q, nil", got, err, "hello, s3seal")
		}
	})
}

// MinIO's published DerivePartKey vectors (internal/crypto/key_test.go):
// the all-zero object key and part numbers 0, 1 and 10000.
func TestPartKeyMatchesMinIO(t *testing.T) {
	tests := []struct {
		part int
		want string
	}{
		{0, "aa7855e13839dd767cd5da7c1ff5036540c9264b7a803029315e55375287b4af"},
		{1, "a3e7181c6eed030fd52f79537c56c4d07da92e56d374ff1dd2043350785b37d8"},
		{10000, "f86e65c396ed52d204ee44bd1a0bbd86eb8b01b7354e67a3b3ae0e34dd5bd115"},
	}
	for _, tt := range tests {
		var key ObjectKey
		if got := key.PartKey(tt.part); hex.EncodeToString(got[:]) != tt.want {
			t.Errorf("PartKey(%d) = %x, want %s", tt.part, got, tt.want)
		}
	}
}

func TestGenerateObjectKey(t *testing.T) {
	t.Run("fresh randomness gives distinct keys", func(t *testing.T) {
		a, errA := GenerateObjectKey(testExtKey(), nil)
		b, errB := GenerateObjectKey(testExtKey(), nil)
		if errA != nil || errB != nil || a == b {
			t.Errorf("got %x, %v and %x, %v; want two distinct keys", a, errA, b, errB)
		}
	})
	t.Run("external key of the wrong size is rejected", func(t *testing.T) {
		if _, err := GenerateObjectKey(make([]byte, 16), nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("got %v, want ErrInvalidKey", err)
		}
	})
	t.Run("short randomness is an error", func(t *testing.T) {
		if _, err := GenerateObjectKey(testExtKey(), io.LimitReader(&countingRand{}, 31)); err == nil {
			t.Error("got nil error, want one")
		}
		if _, err := NewIV(io.LimitReader(&countingRand{}, 31)); err == nil {
			t.Error("NewIV: got nil error, want one")
		}
	})
}

func TestSealUnseal(t *testing.T) {
	ext := testExtKey()
	key, err := GenerateObjectKey(ext, nil)
	if err != nil {
		t.Fatal(err)
	}
	iv, err := NewIV(nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed := key.Seal(ext, iv, DomainKMS, "bucket", "dir/object")

	t.Run("round trip", func(t *testing.T) {
		got, err := sealed.Unseal(ext, DomainKMS, "bucket", "dir/object")
		if err != nil || got != key {
			t.Errorf("Unseal = %x, %v; want %x, nil", got, err, key)
		}
	})

	otherExt := bytes.Clone(ext)
	otherExt[31] ^= 1
	flipped := func(i int) SealedKey {
		s := sealed
		s.Key[i] ^= 0x10
		return s
	}
	otherIV := sealed
	otherIV.IV[0] ^= 1
	otherAlgorithm := sealed
	otherAlgorithm.Algorithm = "DARE-SHA256"

	tests := []struct {
		name           string
		sealed         SealedKey
		ext            []byte
		domain         Domain
		bucket, object string
	}{
		{"wrong external key", sealed, otherExt, DomainKMS, "bucket", "dir/object"},
		{"short external key", sealed, ext[:16], DomainKMS, "bucket", "dir/object"},
		{"wrong bucket", sealed, ext, DomainKMS, "Bucket", "dir/object"},
		{"wrong object", sealed, ext, DomainKMS, "bucket", "dir/Object"},
		{"wrong domain SSE-S3", sealed, ext, DomainS3, "bucket", "dir/object"},
		{"wrong domain SSE-C", sealed, ext, DomainC, "bucket", "dir/object"},
		{"flipped bit in header", flipped(0), ext, DomainKMS, "bucket", "dir/object"},
		{"flipped bit in nonce", flipped(8), ext, DomainKMS, "bucket", "dir/object"},
		{"flipped bit in ciphertext", flipped(20), ext, DomainKMS, "bucket", "dir/object"},
		{"flipped bit in tag", flipped(63), ext, DomainKMS, "bucket", "dir/object"},
		{"flipped bit in IV", otherIV, ext, DomainKMS, "bucket", "dir/object"},
		{"unknown algorithm", otherAlgorithm, ext, DomainKMS, "bucket", "dir/object"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" fails", func(t *testing.T) {
			got, err := tt.sealed.Unseal(tt.ext, tt.domain, tt.bucket, tt.object)
			if !errors.Is(err, ErrSealedKeyInvalid) || got != (ObjectKey{}) {
				t.Errorf("Unseal = %x, %v; want zero key, ErrSealedKeyInvalid", got, err)
			}
		})
	}
}

func TestMAC(t *testing.T) {
	key, _ := GenerateObjectKey(testExtKey(), &countingRand{})
	other := key.PartKey(1)
	a := key.MAC([]byte("record"))
	tests := []struct {
		name string
		got  [32]byte
		same bool
	}{
		{"same key and data give the same MAC", key.MAC([]byte("record")), true},
		{"other data gives another MAC", key.MAC([]byte("record2")), false},
		{"other key gives another MAC", other.MAC([]byte("record")), false},
		{"MAC key is not the object key", hmacSHA256(key[:], []byte("record")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.got == a) != tt.same {
				t.Errorf("MAC %x vs %x: equal = %v, want %v", tt.got, a, tt.got == a, tt.same)
			}
		})
	}
}
