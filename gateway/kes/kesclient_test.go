package kes

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
	kesclient "github.com/s3seal/s3seal/kmsclient/kes"

	kmskes "github.com/s3seal/s3seal/kmsclient/kes"
)

// s3seal's own KES client, which is tested against the real KES server,
// works against this server too, with an API key for identity.
func TestKESClientWithAPIKey(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	apiKey := "kes:v1:" + base64.StdEncoding.EncodeToString(append([]byte{0}, priv.Seed()...))
	admin, err := kmskes.IdentityOfAPIKey(apiKey)
	if err != nil {
		t.Fatal(err)
	}
	_, appPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	appKey := "kes:v1:" + base64.StdEncoding.EncodeToString(append([]byte{0}, appPriv.Seed()...))
	appIdentity, err := kmskes.IdentityOfAPIKey(appKey)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{
		AdminIdentity: admin,
		Policies: map[string]Policy{"app": {
			Allow:      []string{"/v1/key/generate/*", "/v1/key/decrypt/*"},
			Identities: []string{appIdentity},
		}},
	})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.http.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	newClient := func(key string) *kesclient.Client {
		c, err := kesclient.New(kesclient.Config{Endpoints: []string{ts.url}, APIKey: key, CAFile: caFile})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := newClient(apiKey)
	ctx := t.Context()

	if err := c.CreateKey(ctx, "k1"); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	if err := c.CreateKey(ctx, "k1"); !errors.Is(err, kmsclient.ErrKeyExists) {
		t.Errorf("CreateKey again: %v, want ErrKeyExists", err)
	}
	if err := c.CreateKey(ctx, "k2"); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	dek, err := c.GenerateKey(ctx, "k1", []byte("ctx"))
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	plain, err := c.Decrypt(ctx, "k1", dek.Ciphertext, []byte("ctx"))
	if err != nil || !bytes.Equal(plain, dek.Plaintext) {
		t.Errorf("Decrypt = %v, want the generated key", err)
	}
	if _, err := c.Decrypt(ctx, "k1", dek.Ciphertext, []byte("other")); !errors.Is(err, kmsclient.ErrDecrypt) {
		t.Errorf("Decrypt with another context: %v, want ErrDecrypt", err)
	}
	if _, err := c.GenerateKey(ctx, "missing", nil); !errors.Is(err, kmsclient.ErrKeyNotFound) {
		t.Errorf("GenerateKey with a missing key: %v, want ErrKeyNotFound", err)
	}
	keys, err := c.ListKeys(ctx, "k*")
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
		if k.CreatedAt.IsZero() {
			t.Errorf("key %s: no creation time", k.Name)
		}
	}
	if want := []string{"k1", "k2"}; !slices.Equal(names, want) {
		t.Errorf("ListKeys = %q, want %q", names, want)
	}
	status, err := c.Status(ctx)
	if err != nil || !status.State.KeyStoreReachable {
		t.Errorf("Status = %+v, %v; want a reachable store", status, err)
	}
	if err := c.DeleteKey(ctx, "k2"); err != nil {
		t.Errorf("DeleteKey: %v", err)
	}

	app := newClient(appKey)
	if _, err := app.GenerateKey(ctx, "k1", nil); err != nil {
		t.Errorf("app GenerateKey: %v", err)
	}
	if err := app.CreateKey(ctx, "k3"); !errors.Is(err, kmsclient.ErrNotAllowed) {
		t.Errorf("app CreateKey: %v, want ErrNotAllowed", err)
	}
}
