package test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/test/harness"
)

// TestKMIPKeyStore runs a gateway whose External Keys live on a KMIP
// server (pykmip-server over mutual TLS): mc creates a key, sets SSE-KMS
// and SSE-S3 bucket encryption, copies objects in and reads them back;
// after a gateway restart (empty key cache) they still read. With the
// KMIP server down, a write under a key the gateway has not cached is a
// prompt 503 and readiness is 503; once the server is back, both recover.
func TestKMIPKeyStore(t *testing.T) {
	t.Parallel()
	kmip := harness.StartKMIP(t)
	backend := harness.StartMinIO(t)
	config := "version: v1\nkms:\n" + kmip.KeystoreYAML()
	gw := rootkmsStartGateway(t, backend, config)

	const key = "kmip-key"
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "gw", gw.Endpoint, gw.AccessKey, gw.SecretKey)
	dir := t.TempDir()
	files := map[string][]byte{
		"gw/kmip-kms/object": harness.RandomBytes(t, 256<<10+5),
		"gw/kmip-s3/object":  harness.RandomBytes(t, 100_007),
	}
	t.Run("mc admin kms key create and status", func(t *testing.T) {
		mc.Must(t, "admin", "kms", "key", "create", "gw", key)
		assertKMSKeyStatusOK(t, mc, "gw", key)
	})
	t.Run("a key on KMIP cannot be rotated: the command says so", func(t *testing.T) {
		env := append(os.Environ(), "S3SEAL_ROOT_USER="+gw.AccessKey, "S3SEAL_ROOT_PASSWORD="+gw.SecretKey)
		r := harness.Run(t, harness.GatewayBinary(t), []string{"kms", "key", "rotate", key, "--endpoint", gw.Endpoint}, env, "")
		if out := string(r.Stdout) + r.Stderr; r.ExitCode != 1 || !strings.Contains(out, "XMinioKMSRotationNotSupported") {
			t.Errorf("rotate on a KMIP key store: %d\n%s\nwant exit 1 and XMinioKMSRotationNotSupported", r.ExitCode, out)
		}
	})
	t.Run("mc encrypt set, cp, stat, cat", func(t *testing.T) {
		mc.Must(t, "mb", "gw/kmip-kms", "gw/kmip-s3")
		mc.Must(t, "encrypt", "set", "SSE-KMS", key, "gw/kmip-kms")
		mc.Must(t, "encrypt", "set", "SSE-S3", "gw/kmip-s3")
		for target, data := range files {
			file := filepath.Join(dir, strings.ReplaceAll(target, "/", "_"))
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			mc.Must(t, "cp", file, target)
			assertSameBytes(t, "mc cat "+target, mc.Must(t, "cat", target).Stdout, data)
		}
		if got, want := mcflowEncryptionLine(t, mc, "gw/kmip-kms/object"), "SSE-KMS (arn:aws:kms:"+key+")"; got != want {
			t.Errorf("mc stat Encryption line = %q, want %q", got, want)
		}
		if got, want := mcflowEncryptionLine(t, mc, "gw/kmip-s3/object"), "SSE-S3"; got != want {
			t.Errorf("mc stat Encryption line = %q, want %q", got, want)
		}
		direct := backend.Client(t)
		mcflowAssertDARE(t, direct, "kmip-kms", "object", files["gw/kmip-kms/object"])
		mcflowAssertDARE(t, direct, "kmip-s3", "object", files["gw/kmip-s3/object"])
	})

	gw.Stop(t)
	gw = rootkmsStartGateway(t, backend, config)
	mc.AliasSet(t, "gw", gw.Endpoint, gw.AccessKey, gw.SecretKey)
	t.Run("a restarted gateway reads everything from the KMIP keys", func(t *testing.T) {
		for target, data := range files {
			assertSameBytes(t, "mc cat "+target+" after restart", mc.Must(t, "cat", target).Stdout, data)
		}
	})

	kmip.Stop()
	s3c := gw.S3(t, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	t.Run("KMIP server down: a write under an uncached key is a prompt 503", func(t *testing.T) {
		began := time.Now()
		rootkmsAssertRefusedDuringOutage(t, s3c, backend.Client(t), "kmip-kms", "during-outage", "never-used-key")
		if d := time.Since(began); d > 15*time.Second {
			t.Errorf("the refused write took %v, want the KMIP timeout to bound it", d)
		}
		rootkmsWaitReadiness(t, gw.Endpoint, http.StatusServiceUnavailable, 30*time.Second)
	})
	kmip.Restart(t)
	rootkmsAssertRecovery(t, gw, s3c, backend.Client(t), "kmip-kms", "after-recovery-key")
}

// TestKMSMigrateBetweenFSAndKMIP moves a gateway from the fs key store to
// KMIP with `s3seal kms migrate` and back again: each gateway reads every
// object written under the previous store, its own records included.
func TestKMSMigrateBetweenFSAndKMIP(t *testing.T) {
	t.Parallel()
	backend := harness.StartMinIO(t)
	kmip := harness.StartKMIP(t)
	first := harness.StartGateway(t, backend)
	first.CreateKMSKey(t, "fs-key")
	ctx := t.Context()
	const bucket = "moving"
	objects := map[string][]byte{}
	put := func(gw *harness.Gateway, name, kmsKey string) {
		t.Helper()
		data := harness.RandomBytes(t, 200_003)
		opts := minio.PutObjectOptions{}
		if kmsKey != "" {
			sse, err := encrypt.NewSSEKMS(kmsKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			opts.ServerSideEncryption = sse
		}
		if _, err := gw.Client(t).PutObject(ctx, bucket, name, bytes.NewReader(data), int64(len(data)), opts); err != nil {
			t.Fatalf("PutObject %s: %v", name, err)
		}
		objects[name] = data
	}
	readAll := func(gw *harness.Gateway, when string) {
		t.Helper()
		c := gw.Client(t)
		for name, want := range objects {
			if got := harness.ReadObject(t, c, bucket, name, minio.GetObjectOptions{}); !bytes.Equal(got, want) {
				t.Errorf("%s: %s read back %d bytes, want %d", when, name, len(got), len(want))
			}
		}
	}
	if err := first.Client(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put(first, "fs-sse-s3", "")
	put(first, "fs-sse-kms", "fs-key")
	first.Stop(t)

	dir := t.TempDir()
	fsConfig, kmipConfig := filepath.Join(dir, "fs.yaml"), filepath.Join(dir, "kmip.yaml")
	kmipYAML := "version: v1\nkms:\n" + kmip.KeystoreYAML()
	for path, content := range map[string]string{
		fsConfig:   "version: v1\nkms:\n  keystore:\n    fs:\n      path: " + first.KMSDir + "\n",
		kmipConfig: kmipYAML,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	migrate := func(from, to string) string {
		t.Helper()
		r := harness.MustRun(t, harness.GatewayBinary(t), []string{"kms", "migrate", "--from", from, "--to", to}, os.Environ(), dir)
		return string(r.Stdout)
	}

	out := migrate(fsConfig, kmipConfig)
	for _, want := range []string{harness.DefaultKeyName + ": copied", "fs-key: copied", "copied 2, already present 0, conflicting 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate fs -> kmip: output %q lacks %q", out, want)
		}
	}
	if out := migrate(fsConfig, kmipConfig); !strings.Contains(out, "copied 0, already present 2, conflicting 0") {
		t.Errorf("a second migrate fs -> kmip: %q, want nothing copied", out)
	}

	onKMIP := rootkmsStartGateway(t, backend, kmipYAML)
	readAll(onKMIP, "gateway on KMIP")
	onKMIP.CreateKMSKey(t, "kmip-key")
	put(onKMIP, "kmip-sse-s3", "")
	put(onKMIP, "kmip-sse-kms", "kmip-key")
	onKMIP.Stop(t)

	out = migrate(kmipConfig, fsConfig)
	for _, want := range []string{"kmip-key: copied", "copied 1, already present 2, conflicting 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate kmip -> fs: output %q lacks %q", out, want)
		}
	}
	backOnFS := rootkmsStartGateway(t, backend, "version: v1\nkms:\n  keystore:\n    fs:\n      path: "+first.KMSDir+"\n")
	readAll(backOnFS, "gateway back on fs")
}
