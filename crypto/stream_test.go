package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

var boundarySizes = []int{0, 1, 65535, 65536, 65537, 2 * 65536, 2*65536 + 1, 3*65536 + 7}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	readers := []struct {
		name string
		read func(io.Reader) ([]byte, error)
	}{
		{"io.Copy", func(r io.Reader) ([]byte, error) {
			var b bytes.Buffer
			_, err := io.Copy(&b, r)
			return b.Bytes(), err
		}},
		{"io.ReadAll", io.ReadAll},
		{"half-sized reads", func(r io.Reader) ([]byte, error) { return io.ReadAll(iotest.HalfReader(r)) }},
		{"half-package reads", func(r io.Reader) ([]byte, error) {
			var b bytes.Buffer
			_, err := io.CopyBuffer(&b, struct{ io.Reader }{r}, make([]byte, PackageSize/2+3))
			return b.Bytes(), err
		}},
		{"one-byte reads", func(r io.Reader) ([]byte, error) { return io.ReadAll(iotest.OneByteReader(r)) }},
	}
	for _, size := range boundarySizes {
		plain := plaintext(size, uint64(size))
		for _, rd := range readers {
			if rd.name == "one-byte reads" && size > 70000 {
				continue
			}
			t.Run(fmt.Sprintf("%s of %d bytes", rd.name, size), func(t *testing.T) {
				enc, err := EncryptReader(bytes.NewReader(plain), key)
				if err != nil {
					t.Fatal(err)
				}
				cipher, err := rd.read(enc)
				if err != nil {
					t.Fatalf("encrypt: %v", err)
				}
				if got, want := int64(len(cipher)), EncryptedSize(int64(size)); got != want {
					t.Errorf("ciphertext has %d bytes, want EncryptedSize = %d", got, want)
				}
				dec, err := DecryptReader(bytes.NewReader(cipher), key, 0)
				if err != nil {
					t.Fatal(err)
				}
				got, err := rd.read(dec)
				if err != nil || !bytes.Equal(got, plain) {
					t.Errorf("decrypt = %d bytes, %v; want the %d plaintext bytes, nil", len(got), err, size)
				}
			})
		}
	}
}

func TestDecryptDetectsTampering(t *testing.T) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	plain := plaintext(3*PackageSize+1000, 7) // packages 0..2 full, 3 short and final
	cipher := encrypt(t, plain, key)
	pkg := func(i int) []byte {
		end := min((i+1)*EncryptedPackageSize, len(cipher))
		return cipher[i*EncryptedPackageSize : end]
	}
	flip := func(at int) []byte {
		c := bytes.Clone(cipher)
		c[at] ^= 0x01
		return c
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	otherKey, _ := GenerateObjectKey(testExtKey(), nil)
	otherStream := encrypt(t, plain, otherKey)

	tests := []struct {
		name   string
		cipher []byte
		key    ObjectKey
		seq    uint32
	}{
		{"flipped version byte", flip(0), key, 0},
		{"flipped length byte", flip(2), key, 0},
		{"flipped nonce byte", flip(5), key, 0},
		{"flipped final flag of a middle package", flip(EncryptedPackageSize + 4), key, 0},
		{"flipped payload byte", flip(2*EncryptedPackageSize + 100), key, 0},
		{"flipped tag byte of the last package", flip(len(cipher) - 1), key, 0},
		{"last package dropped", cipher[:3*EncryptedPackageSize], key, 0},
		{"stream cut inside the last package", cipher[:len(cipher)-10], key, 0},
		{"stream cut inside a full package", cipher[:EncryptedPackageSize+500], key, 0},
		{"stream cut inside a header", cipher[:EncryptedPackageSize+7], key, 0},
		{"one byte appended", join(cipher, []byte{0}), key, 0},
		{"final package repeated", join(cipher, pkg(3)), key, 0},
		{"full package appended", join(cipher, pkg(0)), key, 0},
		{"packages 0 and 1 swapped", join(pkg(1), pkg(0), pkg(2), pkg(3)), key, 0},
		{"package 1 dropped", join(pkg(0), pkg(2), pkg(3)), key, 0},
		{"package 1 repeated", join(pkg(0), pkg(1), pkg(1), pkg(2), pkg(3)), key, 0},
		{"package from another stream", join(pkg(0), otherStream[EncryptedPackageSize:]), key, 0},
		{"wrong key", cipher, otherKey, 0},
		{"wrong sequence number", cipher, key, 1},
		{"empty stream read from package 1", nil, key, 1},
		{"only the header of a package", cipher[:16], key, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := DecryptReader(bytes.NewReader(tt.cipher), tt.key, tt.seq)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(dec)
			if !errors.Is(err, ErrTampered) {
				t.Errorf("error = %v, want ErrTampered", err)
			}
			if tt.seq == 0 && !isPrefix(got, plain) {
				t.Errorf("returned %d bytes that are not a prefix of the plaintext", len(got))
			}
			if _, again := dec.Read(make([]byte, 10)); !errors.Is(again, ErrTampered) {
				t.Errorf("next Read error = %v, want ErrTampered to stick", again)
			}
		})
	}
}

func TestDecryptEmptyStream(t *testing.T) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	dec, err := DecryptReader(bytes.NewReader(nil), key, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(dec)
	if err != nil || len(got) != 0 {
		t.Errorf("decrypt empty stream = %q, %v; want empty, nil", got, err)
	}
}

func TestDecryptPassesSourceErrorsThrough(t *testing.T) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	cipher := encrypt(t, plaintext(3*PackageSize, 1), key)
	backendErr := errors.New("connection reset")
	tests := []struct {
		name string
		src  io.Reader
	}{
		{"error mid-package", io.MultiReader(bytes.NewReader(cipher[:EncryptedPackageSize+100]), iotest.ErrReader(backendErr))},
		{"error at a package boundary", io.MultiReader(bytes.NewReader(cipher[:EncryptedPackageSize]), iotest.ErrReader(backendErr))},
		{"error before the first byte", iotest.ErrReader(backendErr)},
		{"unexpected EOF before the first byte", iotest.ErrReader(io.ErrUnexpectedEOF)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, _ := DecryptReader(tt.src, key, 0)
			_, err := io.ReadAll(dec)
			if err == nil || errors.Is(err, ErrTampered) {
				t.Errorf("error = %v, want the source's error", err)
			}
		})
	}
}

func TestEncryptRefusesOversizedPlaintext(t *testing.T) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	const limit = 3*PackageSize + 5
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"plaintext at the limit", limit, false},
		{"plaintext one byte over the limit", limit + 1, true},
		{"plaintext a package over the limit", limit + PackageSize, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := plaintext(tt.size, 3)
			enc, err := encryptReader(bytes.NewReader(plain), key, nil, limit)
			if err != nil {
				t.Fatal(err)
			}
			cipher, err := io.ReadAll(enc)
			if gotErr := errors.Is(err, ErrInvalidSize); gotErr != tt.wantErr {
				t.Fatalf("error = %v, want ErrInvalidSize: %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if len(cipher) > int(EncryptedSize(limit)) {
					t.Errorf("emitted %d ciphertext bytes, more than a stream at the limit", len(cipher))
				}
				return
			}
			dec, _ := DecryptReader(bytes.NewReader(cipher), key, 0)
			if got, err := io.ReadAll(dec); err != nil || !bytes.Equal(got, plain) {
				t.Errorf("round trip = %d bytes, %v", len(got), err)
			}
		})
	}
}

func TestEncryptPassesSourceErrorsThrough(t *testing.T) {
	key, _ := GenerateObjectKey(testExtKey(), nil)
	clientErr := errors.New("client went away")
	tests := []struct {
		name string
		err  error
	}{
		{"source error", clientErr},
		{"unexpected EOF is not the end of the plaintext", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, at := range []int{0, 1000, PackageSize, PackageSize + 1000, 3*PackageSize + 1} {
			t.Run(fmt.Sprintf("%s after %d bytes", tt.name, at), func(t *testing.T) {
				src := io.MultiReader(bytes.NewReader(plaintext(at, 1)), iotest.ErrReader(tt.err))
				enc, _ := EncryptReader(src, key)
				cipher, err := io.ReadAll(enc)
				if !errors.Is(err, tt.err) {
					t.Errorf("error = %v, want %v", err, tt.err)
				}
				if len(cipher) == 0 {
					return // the empty stream; the caller saw the error
				}
				dec, _ := DecryptReader(bytes.NewReader(cipher), key, 0)
				if _, err := io.ReadAll(dec); !errors.Is(err, ErrTampered) {
					t.Errorf("the %d ciphertext bytes emitted decrypt with %v, want ErrTampered", len(cipher), err)
				}
			})
		}
	}
}
