package kmsclient

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func FuzzOpenDEK(f *testing.F) {
	var ek [externalKeySize]byte
	sealed, err := sealDEK(&ek, 1, make([]byte, dekSize), []byte("ctx"), bytes.NewReader(make([]byte, 28)))
	if err != nil {
		f.Fatal(err)
	}
	sealedV2, err := sealDEK(&ek, 7, make([]byte, dekSize), []byte("ctx"), bytes.NewReader(make([]byte, 28)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, []byte("ctx"))
	f.Add(sealedV2, []byte("ctx"))
	f.Add(sealed[:76], []byte{})
	f.Add([]byte{1}, []byte(nil))
	f.Fuzz(func(t *testing.T, ciphertext, associatedData []byte) {
		plaintext, err := openDEK(&ek, ciphertext, associatedData)
		switch {
		case err == nil && len(plaintext) != dekSize:
			t.Errorf("opened a %d-byte plaintext, want %d", len(plaintext), dekSize)
		case err != nil && err != ErrDecrypt:
			t.Errorf("openDEK = %v, want nil or ErrDecrypt", err)
		}
	})
}

func FuzzParseKeyRecord(f *testing.F) {
	f.Add([]byte(`{"version":1,"algorithm":"AES256","bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","created_at":"2026-01-02T03:04:05Z","created_by":"x"}`))
	f.Add([]byte(`{"bytes":"AAEC"}`))
	f.Add([]byte(`{"version":2,"algorithm":"AES256","bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","rotations":[{"bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}]}`))
	f.Add([]byte(`CiQKIA`))
	f.Fuzz(func(t *testing.T, value []byte) {
		ek, err := parseKeyRecord("name", bytes.Clone(value))
		if err != nil {
			if !errors.Is(err, errMalformedKey) {
				t.Errorf("parseKeyRecord = %v, want errMalformedKey", err)
			}
			if len(value) >= 8 && strings.Contains(err.Error(), string(value)) {
				t.Errorf("error %q repeats the stored value", err)
			}
			return
		}
		if ek.info.Name != "name" {
			t.Errorf("Name = %q, want name", ek.info.Name)
		}
	})
}
