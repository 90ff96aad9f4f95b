package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/kes"
)

// Each kms.keystore section opens its own KMS; openKMS opens the one that
// is set. Opening makes no network call.
func TestEachKeyStoreSectionOpensItsKMS(t *testing.T) {
	dir := t.TempDir()
	withKeystore := func(ks keystoreConfig) *fileConfig {
		cfg := &fileConfig{}
		cfg.Root.User = "s3seal-admin"
		cfg.KMS.Keystore = ks
		return cfg
	}

	t.Run("fs: the embedded KMS over the directory", func(t *testing.T) {
		keyDir := filepath.Join(dir, "keys")
		kms, closeKMS, err := openKMS(t.Context(), withKeystore(keystoreConfig{FS: &fsKeystoreConfig{Path: keyDir}}), nil)
		if err != nil {
			t.Fatalf("openKMS: %v", err)
		}
		defer closeKMS()
		embedded, ok := kms.(*kmsclient.KMS)
		if !ok {
			t.Fatalf("openKMS = %T, want *kmsclient.KMS", kms)
		}
		if err := embedded.CreateKey(t.Context(), "my-key"); err != nil {
			t.Fatal(err)
		}
		info, err := embedded.DescribeKey(t.Context(), "my-key")
		if err != nil || info.CreatedBy != "s3seal-admin" {
			t.Errorf("DescribeKey = %+v, %v; want created by root.user", info, err)
		}
		if entries, err := os.ReadDir(keyDir); err != nil || len(entries) == 0 {
			t.Errorf("key directory after CreateKey: %d entries, %v; want the key", len(entries), err)
		}
	})

	t.Run("aws: the embedded KMS over Secrets Manager", func(t *testing.T) {
		sm := &awsSecretsManagerConfig{Endpoint: "http://127.0.0.1:1", Region: "us-east-1"}
		sm.Credentials.AccessKey, sm.Credentials.SecretKey = "AKIAEXAMPLE", secretAWSSecretKey
		kms, closeKMS, err := openKMS(t.Context(), withKeystore(keystoreConfig{AWS: &awsKeystoreConfig{SecretsManager: sm}}), nil)
		if err != nil {
			t.Fatalf("openKMS: %v", err)
		}
		defer closeKMS()
		if _, ok := kms.(*kmsclient.KMS); !ok {
			t.Errorf("openKMS = %T, want *kmsclient.KMS", kms)
		}
	})

	t.Run("kes: a client of the KES server", func(t *testing.T) {
		kms, closeKMS, err := openKMS(t.Context(), withKeystore(keystoreConfig{KES: &kesKeystoreConfig{
			Endpoint: []string{exampleKESEndpoint}, APIKey: secretKESAPIKey,
		}}), nil)
		if err != nil {
			t.Fatalf("openKMS: %v", err)
		}
		defer closeKMS()
		client, ok := kms.(*kes.Client)
		if !ok {
			t.Fatalf("openKMS = %T, want *kes.Client", kms)
		}
		want, err := kes.IdentityOfAPIKey(secretKESAPIKey)
		if err != nil {
			t.Fatal(err)
		}
		if got := client.Identity(); got != want {
			t.Errorf("client identity = %s, want the API key's, %s", got, want)
		}
	})

	for _, tc := range []struct {
		name    string
		ks      keystoreConfig
		wantErr string
	}{
		{"none", keystoreConfig{}, "kms.keystore: no key store configured"},
		{"fs over a file", keystoreConfig{FS: &fsKeystoreConfig{Path: writeConfig(t, "not a directory")}}, "kms.keystore.fs: "},
		{"aws without secretsmanager", keystoreConfig{AWS: &awsKeystoreConfig{}}, "kms.keystore.aws: secretsmanager is required"},
		{"kes with a malformed API key", keystoreConfig{KES: &kesKeystoreConfig{Endpoint: []string{exampleKESEndpoint}, APIKey: "kes:v1:AAAA"}}, "kms.keystore.kes: "},
	} {
		t.Run("error names the section: "+tc.name, func(t *testing.T) {
			_, _, err := openKMS(t.Context(), withKeystore(tc.ks), nil)
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("openKMS error = %v, want one starting %q", err, tc.wantErr)
			}
		})
	}
}
