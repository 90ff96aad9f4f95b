package kes

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/fs"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// kmsAPI is the method set the gateway uses; both KMS implementations
// must have it.
type kmsAPI interface {
	CreateKey(ctx context.Context, name string) error
	GenerateKey(ctx context.Context, name string, keyContext []byte) (kmsclient.DEK, error)
	Decrypt(ctx context.Context, name string, ciphertext, keyContext []byte) ([]byte, error)
	ListKeys(ctx context.Context, pattern string) ([]kmsclient.KeyInfo, error)
	DescribeKey(ctx context.Context, name string) (kmsclient.KeyInfo, error)
	DeleteKey(ctx context.Context, name string) error
	Status(ctx context.Context) (kmsclient.Status, error)
	Close() error
}

var (
	_ kmsAPI = (*Client)(nil)
	_ kmsAPI = (*kmsclient.KMS)(nil)
)

// newClient returns a client closed when the test ends.
func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func devClient(t *testing.T) (*Client, *kesServer) {
	t.Helper()
	s := startDevKES(t)
	return newClient(t, Config{Endpoints: []string{s.endpoint}, APIKey: s.apiKey, CAFile: s.caFile}), s
}

func TestAPIKeyIdentityMatchesKES(t *testing.T) {
	c, s := devClient(t)
	if c.Identity() != s.admin {
		t.Errorf("Identity = %s, want the admin identity KES printed, %s", c.Identity(), s.admin)
	}
}

func TestKeyLifecycleOnKES(t *testing.T) {
	c, _ := devClient(t)
	ctx := t.Context()
	if err := c.CreateKey(ctx, "my-key"); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	if err := c.CreateKey(ctx, "my-key"); err != kmsclient.ErrKeyExists {
		t.Errorf("second CreateKey = %v, want %v", err, kmsclient.ErrKeyExists)
	}

	keyContext := []byte(`{"bucket":"bucket/object"}`)
	dek, err := c.GenerateKey(ctx, "my-key", keyContext)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	if dek.KeyID != "my-key" || len(dek.Plaintext) != 32 || len(dek.Ciphertext) == 0 {
		t.Errorf("GenerateKey = %q, %d-byte key, %d-byte ciphertext", dek.KeyID, len(dek.Plaintext), len(dek.Ciphertext))
	}
	got, err := c.Decrypt(ctx, "my-key", dek.Ciphertext, keyContext)
	if err != nil || !bytes.Equal(got, dek.Plaintext) {
		t.Errorf("Decrypt = %x, %v; want %x", got, err, dek.Plaintext)
	}
	if _, err := c.Decrypt(ctx, "my-key", dek.Ciphertext, []byte(`{"bucket":"bucket/other"}`)); err != kmsclient.ErrDecrypt {
		t.Errorf("Decrypt with another context = %v, want %v", err, kmsclient.ErrDecrypt)
	}
	tampered := slices.Clone(dek.Ciphertext)
	tampered[0] ^= 1
	if _, err := c.Decrypt(ctx, "my-key", tampered, keyContext); err != kmsclient.ErrDecrypt {
		t.Errorf("Decrypt of a tampered ciphertext = %v, want %v", err, kmsclient.ErrDecrypt)
	}

	info, err := c.DescribeKey(ctx, "my-key")
	if err != nil {
		t.Fatalf("DescribeKey: %v", err)
	}
	if info.Name != "my-key" || info.CreatedBy != c.Identity() || time.Since(info.CreatedAt) > time.Minute {
		t.Errorf("DescribeKey = %+v, want my-key created just now by %s", info, c.Identity())
	}

	if err := c.DeleteKey(ctx, "my-key"); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if _, err := c.Decrypt(ctx, "my-key", dek.Ciphertext, keyContext); err != kmsclient.ErrKeyNotFound {
		t.Errorf("Decrypt after DeleteKey = %v, want %v", err, kmsclient.ErrKeyNotFound)
	}
}

func TestUnknownKeyIsNotFoundOnKES(t *testing.T) {
	c, _ := devClient(t)
	ctx := t.Context()
	_, genErr := c.GenerateKey(ctx, "missing", nil)
	_, decErr := c.Decrypt(ctx, "missing", make([]byte, 76), nil)
	_, descErr := c.DescribeKey(ctx, "missing")
	for op, err := range map[string]error{
		"GenerateKey": genErr,
		"Decrypt":     decErr,
		"DescribeKey": descErr,
		"DeleteKey":   c.DeleteKey(ctx, "missing"),
	} {
		if err != kmsclient.ErrKeyNotFound {
			t.Errorf("%s = %v, want %v", op, err, kmsclient.ErrKeyNotFound)
		}
	}
}

func TestInvalidNamesAreRejectedBeforeSending(t *testing.T) {
	// No server: a request would fail with ErrUnavailable.
	c := newClient(t, Config{Endpoints: []string{fmt.Sprintf("https://127.0.0.1:%d", freePort(t))}, APIKey: mustAPIKey(t)})
	for _, name := range []string{"", "../x", "a/b", "-a", "a b"} {
		if err := c.CreateKey(t.Context(), name); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("CreateKey(%q) = %v, want %v", name, err, kmsclient.ErrInvalidKeyName)
		}
		if _, err := c.GenerateKey(t.Context(), name, nil); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("GenerateKey(%q) = %v, want %v", name, err, kmsclient.ErrInvalidKeyName)
		}
	}
	for _, pattern := range []string{"a*b", "**", "../*"} {
		if _, err := c.ListKeys(t.Context(), pattern); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("ListKeys(%q) = %v, want %v", pattern, err, kmsclient.ErrInvalidKeyName)
		}
	}
}

func mustAPIKey(t *testing.T) string {
	t.Helper()
	key, _ := newAPIKey(t)
	return key
}

func TestListKeysPatternsOnKES(t *testing.T) {
	c, _ := devClient(t)
	for _, name := range []string{"b-1", "abc", "a", "ab", "b", "b_2"} {
		if err := c.CreateKey(t.Context(), name); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"*", []string{"a", "ab", "abc", "b", "b-1", "b_2"}},
		{"", []string{"a", "ab", "abc", "b", "b-1", "b_2"}},
		{"a*", []string{"a", "ab", "abc"}},
		{"ab*", []string{"ab", "abc"}},
		{"b-*", []string{"b-1"}},
		{"ab", []string{"ab"}},
		{"zz", []string{}},
		{"z*", []string{}},
	}
	for _, tt := range tests {
		infos, err := c.ListKeys(t.Context(), tt.pattern)
		if err != nil {
			t.Errorf("ListKeys(%q): %v", tt.pattern, err)
			continue
		}
		names := []string{}
		for _, info := range infos {
			names = append(names, info.Name)
			if info.CreatedAt.IsZero() || info.CreatedBy != c.Identity() {
				t.Errorf("ListKeys(%q): %+v lacks its creation", tt.pattern, info)
			}
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("ListKeys(%q) = %q, want %q", tt.pattern, names, tt.want)
		}
	}
}

func TestStatusOfKES(t *testing.T) {
	c, s := devClient(t)
	status, err := c.Status(t.Context())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if status.Name != "KES" || status.Endpoints[s.endpoint] != kmsclient.EndpointOnline {
		t.Errorf("Status = %+v, want KES with %s online", status, s.endpoint)
	}
	if !status.State.KeyStoreReachable || status.State.KeyStoreLatency <= 0 || status.State.OS == "" || status.State.CPUs == 0 {
		t.Errorf("State = %+v, want a reachable key store and system facts", status.State)
	}
	b, err := json.Marshal(status)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"name", "default-key-id", "endpoints", "state"} {
		if _, ok := decoded[field]; !ok {
			t.Errorf("Status JSON %s lacks %q", b, field)
		}
	}
}

func TestUnknownIdentityIsNotAllowed(t *testing.T) {
	s := startDevKES(t)
	c := newClient(t, Config{Endpoints: []string{s.endpoint}, APIKey: mustAPIKey(t), CAFile: s.caFile})
	if err := c.CreateKey(t.Context(), "my-key"); err != kmsclient.ErrNotAllowed {
		t.Errorf("CreateKey by an unknown identity = %v, want %v", err, kmsclient.ErrNotAllowed)
	}
}

func TestUnverifiableServerIsAnErrorNotAnOutage(t *testing.T) {
	s := startDevKES(t)
	c := newClient(t, Config{Endpoints: []string{s.endpoint}, APIKey: s.apiKey}) // system roots
	err := c.CreateKey(t.Context(), "my-key")
	if err == nil || errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("CreateKey against an untrusted certificate = %v, want a non-outage error", err)
	}
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	dead := fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	c := newClient(t, Config{Endpoints: []string{dead}, APIKey: mustAPIKey(t)})
	if _, err := c.GenerateKey(t.Context(), "my-key", nil); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("GenerateKey = %v, want %v", err, kmsclient.ErrUnavailable)
	}
	if err := c.CreateKey(t.Context(), "my-key"); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("CreateKey = %v, want %v", err, kmsclient.ErrUnavailable)
	}
	status, err := c.Status(t.Context())
	if !errors.Is(err, kmsclient.ErrUnavailable) || status.Endpoints[dead] != kmsclient.EndpointOffline {
		t.Errorf("Status = %+v, %v; want %s offline and %v", status, err, dead, kmsclient.ErrUnavailable)
	}
}

func TestFailsOverToAReachableServer(t *testing.T) {
	s := startDevKES(t)
	dead := fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	c := newClient(t, Config{Endpoints: []string{dead, s.endpoint}, APIKey: s.apiKey, CAFile: s.caFile})
	if err := c.CreateKey(t.Context(), "my-key"); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	if _, err := c.GenerateKey(t.Context(), "my-key", nil); err != nil {
		t.Errorf("GenerateKey: %v", err)
	}
	status, err := c.Status(t.Context())
	if err != nil || status.Endpoints[dead] != kmsclient.EndpointOffline || status.Endpoints[s.endpoint] != kmsclient.EndpointOnline {
		t.Errorf("Status = %+v, %v; want one endpoint offline, one online", status.Endpoints, err)
	}
}

func TestCallerCancellationIsNotAnOutage(t *testing.T) {
	c, _ := devClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.GenerateKey(ctx, "my-key", nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("GenerateKey with a cancelled context = %v, want %v only", err, context.Canceled)
	}
}

// TestSharedKeyStoreWithEmbeddedKMS runs a KES server over the directory
// the embedded KMS uses: KES reads the embedded KMS's key records, and the
// embedded KMS decrypts what KES sealed.
func TestSharedKeyStoreWithEmbeddedKMS(t *testing.T) {
	keyDir := t.TempDir()
	certFile, keyFile, adminIdentity := writeClientCert(t)
	appKey, appIdentity := newAPIKey(t)
	s := startConfiguredKES(t, keyDir, adminIdentity, appIdentity)

	store, err := fs.New(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	embedded := kmsclient.New(store, kmsclient.Config{CreatedBy: "s3seal-gateway"})
	defer embedded.Close()
	if err := embedded.CreateKey(t.Context(), "shared"); err != nil {
		t.Fatal(err)
	}

	admin := newClient(t, Config{Endpoints: []string{s.endpoint}, CertFile: certFile, KeyFile: keyFile, CAFile: s.caFile})
	if admin.Identity() != adminIdentity {
		t.Errorf("certificate identity = %s, want %s", admin.Identity(), adminIdentity)
	}
	app := newClient(t, Config{Endpoints: []string{s.endpoint}, APIKey: appKey, CAFile: s.caFile})

	keyContext := []byte(`{"bucket":"bucket/object"}`)
	dek, err := app.GenerateKey(t.Context(), "shared", keyContext)
	if err != nil {
		t.Fatalf("KES GenerateKey over the embedded KMS's key: %v", err)
	}
	got, err := embedded.Decrypt(t.Context(), "shared", dek.Ciphertext, keyContext)
	if err != nil || !bytes.Equal(got, dek.Plaintext) {
		t.Errorf("embedded Decrypt of KES's ciphertext = %x, %v; want %x", got, err, dek.Plaintext)
	}

	info, err := admin.DescribeKey(t.Context(), "shared")
	if err != nil || info.CreatedBy != "s3seal-gateway" {
		t.Errorf("KES DescribeKey = %+v, %v; want the creator the embedded KMS recorded", info, err)
	}

	if err := app.CreateKey(t.Context(), "other"); err != kmsclient.ErrNotAllowed {
		t.Errorf("CreateKey outside the app's policy = %v, want %v", err, kmsclient.ErrNotAllowed)
	}
	if err := admin.CreateKey(t.Context(), "by-admin"); err != nil {
		t.Errorf("CreateKey by the certificate-file admin: %v", err)
	}
}

// TestImportedKeyOpensTheEmbeddedKMSsDataKeys: key material imported into
// a real KES server opens the data keys the embedded KMS sealed under the
// same External Key (key version 1 seals in KES's layout), and KES's own
// data keys open in the embedded KMS: the two are interchangeable, which is
// what `s3seal kms migrate --to` a KES server relies on.
func TestImportedKeyOpensTheEmbeddedKMSsDataKeys(t *testing.T) {
	c, _ := devClient(t)
	ctx := t.Context()
	material := bytes.Repeat([]byte{7}, 32)
	local := new(mem.Store)
	record := `{"version":1,"algorithm":"AES256","bytes":"` + base64.StdEncoding.EncodeToString(material) + `","created_at":"2026-01-01T00:00:00Z"}`
	if err := local.Create(ctx, "imported", []byte(record)); err != nil {
		t.Fatal(err)
	}
	embedded := kmsclient.New(local, kmsclient.Config{})
	defer embedded.Close()

	if err := c.ImportKey(ctx, "imported", material[:16]); err == nil {
		t.Fatal("ImportKey of 16 bytes succeeded")
	}
	if err := c.ImportKey(ctx, "imported", material); err != nil {
		t.Fatalf("ImportKey: %v", err)
	}
	if err := c.ImportKey(ctx, "imported", material); !errors.Is(err, kmsclient.ErrKeyExists) {
		t.Fatalf("ImportKey again = %v, want ErrKeyExists", err)
	}
	keyContext := []byte(`{"bucket/object":""}`)
	dek, err := embedded.GenerateKey(ctx, "imported", keyContext)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decrypt(ctx, "imported", dek.Ciphertext, keyContext)
	if err != nil || !bytes.Equal(got, dek.Plaintext) {
		t.Fatalf("KES Decrypt of the embedded KMS's data key = %x, %v; want %x", got, err, dek.Plaintext)
	}
	if _, err := c.Decrypt(ctx, "imported", dek.Ciphertext, []byte("other")); !errors.Is(err, kmsclient.ErrDecrypt) {
		t.Errorf("KES Decrypt with another context = %v, want ErrDecrypt", err)
	}
	fromKES, err := c.GenerateKey(ctx, "imported", keyContext)
	if err != nil {
		t.Fatal(err)
	}
	got, err = embedded.Decrypt(ctx, "imported", fromKES.Ciphertext, keyContext)
	if err != nil || !bytes.Equal(got, fromKES.Plaintext) {
		t.Fatalf("embedded Decrypt of KES's data key = %x, %v; want %x", got, err, fromKES.Plaintext)
	}
}
