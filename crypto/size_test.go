package crypto

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestEncryptedSize(t *testing.T) {
	tests := []struct {
		name  string
		plain int64
		want  int64
	}{
		{"empty plaintext has no packages", 0, 0},
		{"one byte is one short package", 1, 33},
		{"one byte short of a full package", 65535, 65567},
		{"exactly one full package", 65536, 65568},
		{"one byte into a second package", 65537, 65568 + 33},
		{"exactly two full packages", 2 * 65536, 2 * 65568},
		{"5 GiB single PUT", 5 << 30, (5 << 30) / 65536 * 65568},
		{"largest stream", MaxPlaintextSize, 65568 << 32},
		{"unknown size stays unknown", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EncryptedSize(tt.plain); got != tt.want {
				t.Errorf("EncryptedSize(%d) = %d, want %d", tt.plain, got, tt.want)
			}
		})
	}
}

func TestDecryptedSizeInvertsEncryptedSize(t *testing.T) {
	sizes := []int64{0, 1, 2, 31, 32, 33, 65535, 65536, 65537, 2*65536 - 1, 2 * 65536, 2*65536 + 1,
		5<<20 + 1, 7<<20 + 13, 5 << 30, 5 << 40, MaxPlaintextSize - 1, MaxPlaintextSize}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		sizes = append(sizes, rng.Int64N(MaxPlaintextSize+1), rng.Int64N(1<<24))
	}
	for _, plain := range sizes {
		cipher := EncryptedSize(plain)
		got, err := DecryptedSize(cipher)
		if err != nil || got != plain {
			t.Errorf("DecryptedSize(EncryptedSize(%d) = %d) = %d, %v; want %d, nil", plain, cipher, got, err, plain)
		}
	}
}

func TestDecryptedSizeRejectsImpossibleSizes(t *testing.T) {
	var sizes []int64
	for _, packages := range []int64{0, 1, 1000, 1 << 20} {
		for rest := int64(1); rest <= PackageOverhead; rest++ {
			sizes = append(sizes, packages*EncryptedPackageSize+rest)
		}
	}
	sizes = append(sizes, -1, -EncryptedPackageSize, maxCiphertextSize+1, maxCiphertextSize+33)
	for _, cipher := range sizes {
		if got, err := DecryptedSize(cipher); !errors.Is(err, ErrInvalidSize) {
			t.Errorf("DecryptedSize(%d) = %d, %v; want ErrInvalidSize", cipher, got, err)
		}
	}
}
