package kmsclient_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/keystoretest"
	"github.com/s3seal/s3seal/kmsclient/mem"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGenerateKeyThenDecryptReturnsThePlaintext(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	mustCreateKey(t, k, "my-key")
	for _, keyContext := range [][]byte{nil, {}, []byte(`{"bucket":"bucket/object"}`)} {
		dek := mustGenerate(t, k, "my-key", keyContext)
		if dek.KeyID != "my-key" {
			t.Errorf("KeyID = %q, want my-key", dek.KeyID)
		}
		if len(dek.Plaintext) != 32 {
			t.Errorf("len(Plaintext) = %d, want 32", len(dek.Plaintext))
		}
		if len(dek.Ciphertext) != 76 {
			t.Errorf("len(Ciphertext) = %d, want 76 (the KES layout)", len(dek.Ciphertext))
		}
		got, err := k.Decrypt(t.Context(), "my-key", dek.Ciphertext, keyContext)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, dek.Plaintext) {
			t.Errorf("Decrypt = %x, want %x", got, dek.Plaintext)
		}
	}
}

func TestGenerateKeyReturnsFreshKeys(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	mustCreateKey(t, k, "my-key")
	a, b := mustGenerate(t, k, "my-key", nil), mustGenerate(t, k, "my-key", nil)
	if bytes.Equal(a.Plaintext, b.Plaintext) || bytes.Equal(a.Ciphertext, b.Ciphertext) {
		t.Error("two GenerateKey calls returned the same key")
	}
}

func TestDecryptRejectsAnotherContext(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	mustCreateKey(t, k, "my-key")
	dek := mustGenerate(t, k, "my-key", []byte(`{"bucket":"bucket/object"}`))
	for _, keyContext := range [][]byte{nil, []byte(`{"bucket":"bucket/other"}`), []byte(`{"bucket":"bucket/object"} `)} {
		if _, err := k.Decrypt(t.Context(), "my-key", dek.Ciphertext, keyContext); err != kmsclient.ErrDecrypt {
			t.Errorf("Decrypt with context %q = %v, want %v", keyContext, err, kmsclient.ErrDecrypt)
		}
	}
}

func TestDecryptRejectsTamperedCiphertext(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	mustCreateKey(t, k, "my-key")
	dek := mustGenerate(t, k, "my-key", nil)

	for i := range dek.Ciphertext {
		for _, mask := range []byte{0x01, 0x80} {
			tampered := slices.Clone(dek.Ciphertext)
			tampered[i] ^= mask
			if _, err := k.Decrypt(t.Context(), "my-key", tampered, nil); err != kmsclient.ErrDecrypt {
				t.Errorf("byte %d ^ %#x: Decrypt = %v, want %v", i, mask, err, kmsclient.ErrDecrypt)
			}
		}
	}
	for name, ciphertext := range map[string][]byte{
		"empty":       nil,
		"truncated":   dek.Ciphertext[:len(dek.Ciphertext)-1],
		"extended":    append(slices.Clone(dek.Ciphertext), 0),
		"header only": dek.Ciphertext[:29],
	} {
		if _, err := k.Decrypt(t.Context(), "my-key", ciphertext, nil); err != kmsclient.ErrDecrypt {
			t.Errorf("%s: Decrypt = %v, want %v", name, err, kmsclient.ErrDecrypt)
		}
	}
}

func TestDecryptRejectsCiphertextOfAnotherKey(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	mustCreateKey(t, k, "key-1")
	mustCreateKey(t, k, "key-2")
	dek := mustGenerate(t, k, "key-1", nil)
	if _, err := k.Decrypt(t.Context(), "key-2", dek.Ciphertext, nil); err != kmsclient.ErrDecrypt {
		t.Errorf("Decrypt under key-2 = %v, want %v", err, kmsclient.ErrDecrypt)
	}
}

func TestUnknownKeyIsNotFound(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	ctx := t.Context()
	_, genErr := k.GenerateKey(ctx, "missing", nil)
	_, decErr := k.Decrypt(ctx, "missing", make([]byte, 77), nil)
	_, descErr := k.DescribeKey(ctx, "missing")
	for op, err := range map[string]error{
		"GenerateKey": genErr,
		"Decrypt":     decErr,
		"DescribeKey": descErr,
		"DeleteKey":   k.DeleteKey(ctx, "missing"),
	} {
		if err != kmsclient.ErrKeyNotFound {
			t.Errorf("%s = %v, want %v unwrapped", op, err, kmsclient.ErrKeyNotFound)
		}
	}
}

func TestCreateKeyTwiceIsExists(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	mustCreateKey(t, k, "my-key")
	if err := k.CreateKey(t.Context(), "my-key"); err != kmsclient.ErrKeyExists {
		t.Errorf("second CreateKey = %v, want %v unwrapped", err, kmsclient.ErrKeyExists)
	}
}

func TestInvalidKeyNamesNeverReachTheStore(t *testing.T) {
	store := newProbeStore()
	k := newKMS(t, store, kmsclient.Config{})
	ctx := t.Context()
	for _, name := range keystoretest.InvalidNames {
		_, genErr := k.GenerateKey(ctx, name, nil)
		_, decErr := k.Decrypt(ctx, name, nil, nil)
		_, descErr := k.DescribeKey(ctx, name)
		for op, err := range map[string]error{
			"CreateKey":   k.CreateKey(ctx, name),
			"GenerateKey": genErr,
			"Decrypt":     decErr,
			"DescribeKey": descErr,
			"DeleteKey":   k.DeleteKey(ctx, name),
		} {
			if !errors.Is(err, kmsclient.ErrInvalidKeyName) {
				t.Errorf("%s(%q) = %v, want %v", op, name, err, kmsclient.ErrInvalidKeyName)
			}
		}
	}
	if n := store.count(""); n != 0 {
		t.Errorf("store saw %d calls, want 0", n)
	}
}

func TestErrorTextsMatchKES(t *testing.T) {
	for err, want := range map[error]string{
		kmsclient.ErrKeyExists:   "key already exists",
		kmsclient.ErrKeyNotFound: "key does not exist",
		kmsclient.ErrDecrypt:     "decryption failed: ciphertext is not authentic",
		kmsclient.ErrNotAllowed:  "not authorized: insufficient permissions",
	} {
		if got := err.Error(); got != want {
			t.Errorf("error text = %q, want %q", got, want)
		}
	}
}

// counting returns the bytes 0, 1, 2, ... as randomness.
func counting(n int) *bytes.Reader {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return bytes.NewReader(b)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The vectors below were computed independently with Python's hmac and
// cryptography.AESGCM from EK = 00..1f, DEK = 20..3f, IV = 40..4f,
// nonce = 50..5b.
const (
	goldenContext = `{"bucket":"bucket/object"}`
	goldenDEK     = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	goldenV1      = "01404142434445464748494a4b4c4d4e4f505152535455565758595a5bff40ddac27c45a8419eb892241a5efd9806e716f847b5e3c7bca54060a3cb9681202f3199b9d73a2a2a2764873fa0b74"
	goldenKES     = "a9c0ec6d1a6af05dbb7a9e580f1fb9a6608a75d79c4f8ba45cddfcbc5a405228b6e210f83a7eeb8472f12902c9e87419404142434445464748494a4b4c4d4e4f505152535455565758595a5b"
)

func TestCiphertextGoldenVector(t *testing.T) {
	// CreateKey draws the EK (32 bytes), GenerateKey the DEK (32), then
	// IV and nonce (28).
	k := newKMS(t, new(mem.Store), kmsclient.Config{Rand: counting(92)})
	mustCreateKey(t, k, "my-key")
	dek := mustGenerate(t, k, "my-key", []byte(goldenContext))
	// Key version 1 seals in KES's layout, so the vector is the one a KES
	// server made.
	if want := mustHex(t, goldenKES); !bytes.Equal(dek.Ciphertext, want) {
		t.Errorf("Ciphertext = %x\nwant         %x", dek.Ciphertext, want)
	}
	if want := mustHex(t, goldenDEK); !bytes.Equal(dek.Plaintext, want) {
		t.Errorf("Plaintext = %x, want %x", dek.Plaintext, want)
	}
	// What earlier versions sealed in the v1 layout still opens.
	got, err := k.Decrypt(t.Context(), "my-key", mustHex(t, goldenV1), []byte(goldenContext))
	if err != nil || !bytes.Equal(got, mustHex(t, goldenDEK)) {
		t.Errorf("Decrypt of the v1 vector = %x, %v", got, err)
	}
	tampered := mustHex(t, goldenV1)
	tampered[0] = 2 // relabelled: must not open
	if _, err := k.Decrypt(t.Context(), "my-key", tampered, []byte(goldenContext)); err == nil {
		t.Error("Decrypt of a relabelled v1 vector succeeded")
	}
}

// goldenV2 is a data key sealed under key version 2 (EK 20..3f; version 1
// was 00..1f), DEK 40..5f, IV 60..6f, nonce 70..7b, computed with Python's
// hmac and cryptography.AESGCM as doc.go specifies the layout.
const goldenV2 = "0200000002606162636465666768696a6b6c6d6e6f707172737475767778797a7b77fff544c434ad362ce25bfcd19d121dcb0b035d31dc316e152ac76a686ccd51088795cf1b3b792484acc27cfae48c8e"

func TestCiphertextV2GoldenVector(t *testing.T) {
	// CreateKey draws version 1 (32 bytes), RotateKey version 2 (32),
	// GenerateKey the DEK (32), then IV and nonce (28).
	k := newKMS(t, new(mem.Store), kmsclient.Config{Rand: counting(124)})
	mustCreateKey(t, k, "my-key")
	if v, err := k.RotateKey(t.Context(), "my-key"); err != nil || v != 2 {
		t.Fatalf("RotateKey = %d, %v", v, err)
	}
	dek := mustGenerate(t, k, "my-key", []byte(goldenContext))
	if want := mustHex(t, goldenV2); !bytes.Equal(dek.Ciphertext, want) {
		t.Errorf("Ciphertext = %x\nwant         %x", dek.Ciphertext, want)
	}
	if got := kmsclient.CiphertextKeyVersion(dek.Ciphertext); got != 2 {
		t.Errorf("CiphertextKeyVersion = %d, want 2", got)
	}
	// Version 1 data keys still open after the rotation.
	got, err := k.Decrypt(t.Context(), "my-key", mustHex(t, goldenV1), []byte(goldenContext))
	if err != nil || !bytes.Equal(got, mustHex(t, goldenDEK)) {
		t.Errorf("Decrypt of the version 1 vector after rotating = %x, %v", got, err)
	}
}

func TestDecryptAcceptsKESCiphertext(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{Rand: counting(32)})
	mustCreateKey(t, k, "my-key")
	got, err := k.Decrypt(t.Context(), "my-key", mustHex(t, goldenKES), []byte(goldenContext))
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if want := mustHex(t, goldenDEK); !bytes.Equal(got, want) {
		t.Errorf("Decrypt = %x, want %x", got, want)
	}
	if _, err := k.Decrypt(t.Context(), "my-key", mustHex(t, goldenKES), nil); err != kmsclient.ErrDecrypt {
		t.Errorf("Decrypt with another context = %v, want %v", err, kmsclient.ErrDecrypt)
	}
}

func TestStoredKeyRecordFormat(t *testing.T) {
	store := new(mem.Store)
	clk := newClock()
	k := newKMS(t, store, kmsclient.Config{Rand: counting(32), Now: clk.Now, CreatedBy: "admin-identity"})
	mustCreateKey(t, k, "my-key")
	got, err := store.Get(t.Context(), "my-key")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"algorithm":"AES256","bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","created_at":"2026-01-02T03:04:05Z","created_by":"admin-identity"}`
	if string(got) != want {
		t.Errorf("stored record = %s\nwant            %s", got, want)
	}

	// A rotation turns it into record version 2: the first key version
	// stays where it was, later ones follow in "rotations".
	k2 := newKMS(t, store, kmsclient.Config{Rand: counting(32), Now: clk.Now, CreatedBy: "rotator"})
	if _, err := k2.RotateKey(t.Context(), "my-key"); err != nil {
		t.Fatal(err)
	}
	got, err = store.Get(t.Context(), "my-key")
	if err != nil {
		t.Fatal(err)
	}
	want = `{"version":2,"algorithm":"AES256","bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","created_at":"2026-01-02T03:04:05Z","created_by":"admin-identity",` +
		`"rotations":[{"bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","created_at":"2026-01-02T03:04:05Z","created_by":"rotator"}]}`
	if string(got) != want {
		t.Errorf("stored record after a rotation = %s\nwant                            %s", got, want)
	}
}

func TestKESKeyRecordIsRead(t *testing.T) {
	store := new(mem.Store)
	// A record as KES writes it in JSON: no version field.
	record := `{"bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","algorithm":"AES256","created_at":"2024-05-06T07:08:09Z","created_by":"kes-admin"}`
	if err := store.Create(t.Context(), "kes-key", []byte(record)); err != nil {
		t.Fatal(err)
	}
	k := newKMS(t, store, kmsclient.Config{})
	if _, err := k.Decrypt(t.Context(), "kes-key", mustHex(t, goldenKES), []byte(goldenContext)); err != nil {
		t.Errorf("Decrypt: %v", err)
	}
	info, err := k.DescribeKey(t.Context(), "kes-key")
	if err != nil {
		t.Fatal(err)
	}
	if want := (kmsclient.KeyInfo{Name: "kes-key", CreatedAt: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), CreatedBy: "kes-admin"}); !info.CreatedAt.Equal(want.CreatedAt) || info.Name != want.Name || info.CreatedBy != want.CreatedBy {
		t.Errorf("DescribeKey = %+v, want %+v", info, want)
	}
}

func TestMalformedKeyRecordIsAnErrorWithoutKeyBytes(t *testing.T) {
	store := new(mem.Store)
	for name, record := range map[string]string{
		"not-json":      `secret-material`,
		"short-key":     `{"version":1,"algorithm":"AES256","bytes":"AAEC"}`,
		"other-cipher":  `{"version":1,"algorithm":"ChaCha20","bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}`,
		"other-version": `{"version":2,"algorithm":"AES256","bytes":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}`,
	} {
		if err := store.Create(t.Context(), name, []byte(record)); err != nil {
			t.Fatal(err)
		}
	}
	k := newKMS(t, store, kmsclient.Config{})
	for _, name := range []string{"not-json", "short-key", "other-cipher", "other-version"} {
		_, err := k.GenerateKey(t.Context(), name, nil)
		if err == nil {
			t.Errorf("GenerateKey(%s) succeeded, want an error", name)
			continue
		}
		if msg := err.Error(); bytes.Contains([]byte(msg), []byte("secret-material")) || bytes.Contains([]byte(msg), []byte("AAEC")) {
			t.Errorf("GenerateKey(%s) error %q reveals the stored value", name, msg)
		}
	}
}

func TestDescribeKeyReportsCreation(t *testing.T) {
	clk := newClock()
	k := newKMS(t, new(mem.Store), kmsclient.Config{Now: clk.Now, CreatedBy: "admin-identity"})
	mustCreateKey(t, k, "my-key")
	info, err := k.DescribeKey(t.Context(), "my-key")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "my-key" || !info.CreatedAt.Equal(clk.Now()) || info.CreatedBy != "admin-identity" {
		t.Errorf("DescribeKey = %+v, want my-key created at %v by admin-identity", info, clk.Now())
	}
}

func TestListKeysPatterns(t *testing.T) {
	store := new(mem.Store)
	k := newKMS(t, store, kmsclient.Config{})
	for _, name := range []string{"b-1", "abc", "a", "ab", "b"} {
		mustCreateKey(t, k, name)
	}
	if err := store.Create(t.Context(), "foreign", []byte("not a key record")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"*", []string{"a", "ab", "abc", "b", "b-1", "foreign"}},
		{"", []string{"a", "ab", "abc", "b", "b-1", "foreign"}},
		{"a*", []string{"a", "ab", "abc"}},
		{"ab*", []string{"ab", "abc"}},
		{"b-*", []string{"b-1"}},
		{"ab", []string{"ab"}},
		{"zz", []string{}},
		{"z*", []string{}},
	}
	for _, tt := range tests {
		infos, err := k.ListKeys(t.Context(), tt.pattern)
		if err != nil {
			t.Errorf("ListKeys(%q): %v", tt.pattern, err)
			continue
		}
		names := []string{}
		for _, info := range infos {
			names = append(names, info.Name)
			if info.Name != "foreign" && info.CreatedAt.IsZero() {
				t.Errorf("ListKeys(%q): %s has no creation time", tt.pattern, info.Name)
			}
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("ListKeys(%q) = %q, want %q", tt.pattern, names, tt.want)
		}
	}
	for _, pattern := range []string{"a*b", "**", "../*", "a/b", "-a"} {
		if _, err := k.ListKeys(t.Context(), pattern); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("ListKeys(%q) = %v, want %v", pattern, err, kmsclient.ErrInvalidKeyName)
		}
	}
}

func TestListKeysPagesThroughTheStore(t *testing.T) {
	store := new(mem.Store)
	k := newKMS(t, store, kmsclient.Config{})
	const n = 2500 // more than one page of 1000
	for i := range n {
		if err := store.Create(t.Context(), "key-"+strconv.Itoa(i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := k.ListKeys(t.Context(), "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != n {
		t.Errorf("ListKeys returned %d keys, want %d", len(infos), n)
	}
}

func TestDeleteKeyMakesItsCiphertextsUndecryptable(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	mustCreateKey(t, k, "my-key")
	dek := mustGenerate(t, k, "my-key", nil) // the key is cached now
	if err := k.DeleteKey(t.Context(), "my-key"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(t.Context(), "my-key", dek.Ciphertext, nil); err != kmsclient.ErrKeyNotFound {
		t.Errorf("Decrypt after DeleteKey = %v, want %v", err, kmsclient.ErrKeyNotFound)
	}
	if _, err := k.GenerateKey(t.Context(), "my-key", nil); err != kmsclient.ErrKeyNotFound {
		t.Errorf("GenerateKey after DeleteKey = %v, want %v", err, kmsclient.ErrKeyNotFound)
	}
}

func TestKeysSurviveANewKMSOverTheSameStore(t *testing.T) {
	store := newProbeStore()
	first := newKMS(t, store, kmsclient.Config{})
	mustCreateKey(t, first, "my-key")
	dek := mustGenerate(t, first, "my-key", []byte("ctx"))
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := newKMS(t, store, kmsclient.Config{})
	got, err := second.Decrypt(t.Context(), "my-key", dek.Ciphertext, []byte("ctx"))
	if err != nil || !bytes.Equal(got, dek.Plaintext) {
		t.Errorf("Decrypt by a second KMS = %x, %v; want %x", got, err, dek.Plaintext)
	}
}

func TestCloseClosesTheStoreOnce(t *testing.T) {
	store := newProbeStore()
	k := kmsclient.New(store, kmsclient.Config{})
	for range 2 {
		if err := k.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if n := store.closes.Load(); n != 1 {
		t.Errorf("store closed %d times, want 1", n)
	}
}

func TestStatusReportsAReachableStore(t *testing.T) {
	k := newKMS(t, new(mem.Store), kmsclient.Config{})
	status, err := k.Status(t.Context())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if status.Endpoints["memory"] != kmsclient.EndpointOnline {
		t.Errorf("Endpoints = %v, want memory online", status.Endpoints)
	}
	if !status.State.KeyStoreReachable || !status.State.KeystoreAvailable || status.State.KeyStoreLatency <= 0 {
		t.Errorf("State = %+v, want a reachable store with a latency", status.State)
	}

	// The JSON is what madmin.KMSStatus decodes.
	b, err := json.Marshal(status)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Name         string            `json:"name"`
		DefaultKeyID *string           `json:"default-key-id"`
		Endpoints    map[string]string `json:"endpoints"`
		State        struct {
			KeyStoreLatency   time.Duration
			KeyStoreReachable bool
			OS, Arch          string
		} `json:"state"`
	}
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Name != "embedded" || decoded.DefaultKeyID == nil || decoded.Endpoints["memory"] != "online" ||
		!decoded.State.KeyStoreReachable || decoded.State.KeyStoreLatency != status.State.KeyStoreLatency || decoded.State.OS == "" {
		t.Errorf("Status JSON = %s", b)
	}
}

func TestStatusReportsAnUnreachableStore(t *testing.T) {
	store := newProbeStore()
	store.offline.Store(true)
	k := newKMS(t, store, kmsclient.Config{})
	status, err := k.Status(t.Context())
	if !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("Status error = %v, want %v", err, kmsclient.ErrUnavailable)
	}
	if status.Endpoints["memory"] != kmsclient.EndpointOffline || status.State.KeyStoreReachable {
		t.Errorf("Status = %+v, want the memory endpoint offline", status)
	}
}
