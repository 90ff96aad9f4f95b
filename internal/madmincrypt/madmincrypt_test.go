package madmincrypt

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// madminVector is madmin-go v3.0.96's EncryptData("secret-of-the-requester",
// madminPlaintext), made with the real library (Argon2id, AES-256-GCM).
const (
	madminVector    = "45997c8d4fd95b4a5bceae8513c7738148cf490cb62b1cea9cb1f2a1bbe891f200e4b8abdab1631ba9f8ef89f63dbe785a1a56120caeea813d2d1818df67a41e7003f028cece75286b2923e786dbc406079fbf8948ad68b7ea73411dc84cad3e78cfe449ab28eaaca53134"
	madminPlaintext = `{"secretKey":"new-user-secret","status":"enabled"}`
)

func TestMadminFormat(t *testing.T) {
	vector, _ := hex.DecodeString(madminVector)
	t.Run("decrypts what madmin-go encrypted", func(t *testing.T) {
		got, err := Decrypt("secret-of-the-requester", vector)
		if err != nil || string(got) != madminPlaintext {
			t.Fatalf("got %q, %v; want %q", got, err, madminPlaintext)
		}
	})
	t.Run("a wrong secret or a flipped bit is refused", func(t *testing.T) {
		if _, err := Decrypt("another-secret", vector); err != ErrNotAuthentic {
			t.Errorf("wrong secret: %v, want ErrNotAuthentic", err)
		}
		bad := bytes.Clone(vector)
		bad[len(bad)-1] ^= 1
		if _, err := Decrypt("secret-of-the-requester", bad); err != ErrNotAuthentic {
			t.Errorf("flipped bit: %v, want ErrNotAuthentic", err)
		}
		if _, err := Decrypt("secret-of-the-requester", vector[:20]); err != ErrNotAuthentic {
			t.Errorf("short body: %v, want ErrNotAuthentic", err)
		}
	})
	t.Run("round-trips in madmin-go's layout", func(t *testing.T) {
		enc, err := Encrypt("s", []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) < HeaderSize || enc[32] != AlgArgon2AESGCM {
			t.Fatalf("header %x", enc[:HeaderSize])
		}
		if got, err := Decrypt("s", enc); err != nil || string(got) != "hello" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}
