package crypto

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealedValuesOpenOnlyUnderTheirKeyAndLabel(t *testing.T) {
	var k, other ObjectKey
	k[0], other[0] = 1, 2
	sealed, err := k.SealValue("checksum", []byte("CRC32:AAAAAA=="), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.OpenValue("checksum", sealed)
	if err != nil || !bytes.Equal(got, []byte("CRC32:AAAAAA==")) {
		t.Fatalf("OpenValue = %q, %v; want the sealed value", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other key":   func() ([]byte, error) { return other.OpenValue("checksum", sealed) },
		"other label": func() ([]byte, error) { return k.OpenValue("etag", sealed) },
		"flipped bit": func() ([]byte, error) { return k.OpenValue("checksum", flipped) },
		"truncated":   func() ([]byte, error) { return k.OpenValue("checksum", sealed[:10]) },
	} {
		if _, err := open(); !errors.Is(err, ErrTampered) {
			t.Errorf("%s: err = %v, want ErrTampered", name, err)
		}
	}
}
