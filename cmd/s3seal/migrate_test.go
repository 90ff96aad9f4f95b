package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/fs"
)

// writeFSConfig writes a gateway config file whose key store is dir.
func writeFSConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("version: v1\nkms:\n  keystore:\n    fs:\n      path: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runMigrateCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"kms", "migrate"}, args...), func(string) string { return "" }, &out, &errOut)
	return code, out.String() + errOut.String()
}

// TestKMSMigrateCopiesKeysSoDataKeysStillDecrypt: a data key generated
// under the source store decrypts with a KMS over the destination after
// the migration; reruns are idempotent; a different key of the same name
// is refused, never overwritten; a dry run writes nothing.
func TestKMSMigrateCopiesKeysSoDataKeysStillDecrypt(t *testing.T) {
	ctx := context.Background()
	srcDir, dstDir := t.TempDir(), t.TempDir()
	srcStore, err := fs.New(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	src := kmsclient.New(srcStore, kmsclient.Config{})
	defer src.Close()
	for _, name := range []string{"alpha", "beta", "gamma"} {
		if err := src.CreateKey(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	dek, err := src.GenerateKey(ctx, "beta", []byte(`{"b":"b/o"}`))
	if err != nil {
		t.Fatal(err)
	}
	from, to := writeFSConfig(t, srcDir), writeFSConfig(t, dstDir)

	code, out := runMigrateCmd(t, "--from", from, "--to", to, "--dry-run")
	if code != 0 || !strings.Contains(out, "beta: would copy") || !strings.Contains(out, "would copy 3") {
		t.Fatalf("dry run: %d %q", code, out)
	}
	if entries, _ := os.ReadDir(dstDir); len(entries) != 0 {
		t.Fatalf("the dry run wrote %d entries", len(entries))
	}

	code, out = runMigrateCmd(t, "--from", from, "--to", to)
	if code != 0 || !strings.Contains(out, "alpha: copied") || !strings.Contains(out, "copied 3, already present 0") {
		t.Fatalf("migrate: %d %q", code, out)
	}
	dstStore, err := fs.New(dstDir)
	if err != nil {
		t.Fatal(err)
	}
	dst := kmsclient.New(dstStore, kmsclient.Config{})
	defer dst.Close()
	plain, err := dst.Decrypt(ctx, "beta", dek.Ciphertext, []byte(`{"b":"b/o"}`))
	if err != nil || !bytes.Equal(plain, dek.Plaintext) {
		t.Fatalf("the destination does not decrypt the source's data key: %v", err)
	}

	code, out = runMigrateCmd(t, "--from", from, "--to", to)
	if code != 0 || !strings.Contains(out, "copied 0, already present 3") {
		t.Fatalf("rerun: %d %q", code, out)
	}

	if err := src.CreateKey(ctx, "delta"); err != nil {
		t.Fatal(err)
	}
	if err := dst.CreateKey(ctx, "delta"); err != nil { // same name, other material
		t.Fatal(err)
	}
	before, _ := dstStore.Get(ctx, "delta")
	code, out = runMigrateCmd(t, "--from", from, "--to", to)
	if code != 1 || !strings.Contains(out, "delta: CONFLICT") {
		t.Fatalf("conflicting key: %d %q, want exit 1 and a CONFLICT line", code, out)
	}
	if after, _ := dstStore.Get(ctx, "delta"); !bytes.Equal(after, before) {
		t.Fatal("a conflicting key was overwritten")
	}
}

func TestKMSMigrateRefusesStoresItCannotCopy(t *testing.T) {
	kesConfig := filepath.Join(t.TempDir(), "kes.yaml")
	if err := os.WriteFile(kesConfig, []byte("version: v1\nkms:\n  keystore:\n    kes:\n      endpoint: [https://127.0.0.1:7373]\n      apikey: kes:v1:ACQpoGqx3rHHjT938Hfu5hVVQJHZWSOVI2Xp5SJbyw3h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fsDir := t.TempDir()
	store, err := fs.New(fsDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := kmsclient.New(store, kmsclient.Config{}).CreateKey(t.Context(), "alpha"); err != nil {
		t.Fatal(err)
	}
	fsConfig := writeFSConfig(t, fsDir)
	for _, tc := range []struct{ from, to, want string }{
		{kesConfig, fsConfig, "never hands out its keys"},
		// A KES server can be a destination; this one is not there.
		{fsConfig, kesConfig, "check alpha on the KES server"},
		{fsConfig, filepath.Join(t.TempDir(), "missing.yaml"), "--to"},
	} {
		if code, out := runMigrateCmd(t, "--from", tc.from, "--to", tc.to); code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("migrate %s → %s: %d %q, want exit 1 saying %q", filepath.Base(tc.from), filepath.Base(tc.to), code, out, tc.want)
		}
	}
	if code, _ := runMigrateCmd(t, "--from", fsConfig); code != 2 {
		t.Errorf("without --to: exit %d, want 2", code)
	}
}

// TestKMSMigrateCarriesKeyVersions: a rotated key migrates with all its
// versions, so data keys of every version decrypt at the destination; a
// destination copy made before a rotation gets the newer versions added
// (not a conflict), and a rerun then finds it present.
func TestKMSMigrateCarriesKeyVersions(t *testing.T) {
	ctx := context.Background()
	srcDir, dstDir := t.TempDir(), t.TempDir()
	srcStore, err := fs.New(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	src := kmsclient.New(srcStore, kmsclient.Config{})
	defer src.Close()
	if err := src.CreateKey(ctx, "rotating"); err != nil {
		t.Fatal(err)
	}
	from, to := writeFSConfig(t, srcDir), writeFSConfig(t, dstDir)
	if code, out := runMigrateCmd(t, "--from", from, "--to", to); code != 0 || !strings.Contains(out, "rotating: copied") {
		t.Fatalf("first migration: %d %q", code, out)
	}
	v1, err := src.GenerateKey(ctx, "rotating", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := src.RotateKey(ctx, "rotating"); err != nil {
			t.Fatal(err)
		}
	}
	v3, err := src.GenerateKey(ctx, "rotating", nil)
	if err != nil {
		t.Fatal(err)
	}

	if code, out := runMigrateCmd(t, "--from", from, "--to", to, "--dry-run"); code != 0 || !strings.Contains(out, "rotating: would add the newer key versions") {
		t.Fatalf("dry run after the rotation: %d %q", code, out)
	}
	if code, out := runMigrateCmd(t, "--from", from, "--to", to); code != 0 || !strings.Contains(out, "rotating: added the newer key versions") {
		t.Fatalf("migration after the rotation: %d %q", code, out)
	}
	if code, out := runMigrateCmd(t, "--from", from, "--to", to); code != 0 || !strings.Contains(out, "rotating: already present") {
		t.Fatalf("rerun: %d %q", code, out)
	}
	dstStore, err := fs.New(dstDir)
	if err != nil {
		t.Fatal(err)
	}
	dst := kmsclient.New(dstStore, kmsclient.Config{})
	defer dst.Close()
	for _, dek := range []kmsclient.DEK{v1, v3} {
		if plain, err := dst.Decrypt(ctx, "rotating", dek.Ciphertext, nil); err != nil || !bytes.Equal(plain, dek.Plaintext) {
			t.Errorf("the destination does not decrypt a data key of version %d: %v", kmsclient.CiphertextKeyVersion(dek.Ciphertext), err)
		}
	}
	if info, err := dst.DescribeKey(ctx, "rotating"); err != nil || info.LatestVersion() != 3 {
		t.Errorf("destination key = %+v, %v; want 3 versions", info, err)
	}
}
