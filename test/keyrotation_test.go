package test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/test/harness"
)

// TestKeyRotation rotates a KMS key of a running gateway with `s3seal kms
// key rotate`, over the fs key store and over AWS Secrets Manager (moto),
// and checks what an operator relies on:
// objects written before and after read back byte for byte under the same
// key id (mc stat), mc admin kms key status still works and s3seal kms key
// status lists the versions, `s3seal rekey --to-key` with the same key
// moves the old objects onto the newest version (and a rerun finds nothing
// to do), and a restarted gateway reads everything.
func TestKeyRotation(t *testing.T) {
	t.Run("fs key store", func(t *testing.T) {
		backend := harness.StartMinIO(t)
		testKeyRotation(t, backend, harness.StartGateway(t, backend))
	})
	t.Run("AWS Secrets Manager key store", func(t *testing.T) {
		moto := harness.StartMoto(t)
		backend := harness.StartMinIO(t)
		config := "version: v1\nkms:\n" + rootkmsAWSKeystore(moto.Endpoint, moto.CreateKMSKey(t))
		gw := rootkmsStartGateway(t, backend, config, "AWS_ACCESS_KEY_ID", "moto-ak", "AWS_SECRET_ACCESS_KEY", "moto-sk-"+harness.RandomHex(t, 8))
		testKeyRotation(t, backend, gw)
	})
	t.Run("an external KES server cannot rotate: the command says so", func(t *testing.T) {
		kes := harness.StartKES(t, harness.KESConfig{})
		backend := harness.StartMinIO(t)
		gw := rootkmsStartGateway(t, backend, rootkmsKESConfig("kes-key", kes.Endpoint, kes.CAFile), "KES_API_KEY", kes.APIKey)
		env := append(os.Environ(), "S3SEAL_ROOT_USER="+gw.AccessKey, "S3SEAL_ROOT_PASSWORD="+gw.SecretKey)
		r := harness.Run(t, harness.GatewayBinary(t), []string{"kms", "key", "rotate", "kes-key", "--endpoint", gw.Endpoint}, env, "")
		if out := string(r.Stdout) + r.Stderr; r.ExitCode != 1 || !strings.Contains(out, "XMinioKMSRotationNotSupported") {
			t.Errorf("rotate on a KES key store: %d\n%s\nwant exit 1 and XMinioKMSRotationNotSupported", r.ExitCode, out)
		}
		r = harness.Run(t, harness.GatewayBinary(t), []string{"kms", "key", "status", "kes-key", "--endpoint", gw.Endpoint}, env, "")
		if out := string(r.Stdout); r.ExitCode != 0 || !strings.Contains(out, "versions: none") {
			t.Errorf("status on a KES key store: %d\n%s", r.ExitCode, out+r.Stderr)
		}
	})
}

func testKeyRotation(t *testing.T, backend *harness.MinIO, gw *harness.Gateway) {
	gw.CreateKMSKey(t, "rotating")
	ctx := t.Context()
	c := gw.Client(t)
	const bucket = "rotation"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	sse, err := encrypt.NewSSEKMS("rotating", nil)
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{}
	put := func(name string, size int) {
		t.Helper()
		objects[name] = harness.RandomBytes(t, size)
		opts := minio.PutObjectOptions{ServerSideEncryption: sse, PartSize: 5 << 20}
		if _, err := c.PutObject(ctx, bucket, name, bytes.NewReader(objects[name]), int64(size), opts); err != nil {
			t.Fatal(err)
		}
	}
	checkAll := func(t *testing.T, c *minio.Client) {
		t.Helper()
		for name, want := range objects {
			if got := harness.ReadObject(t, c, bucket, name, minio.GetObjectOptions{}); !bytes.Equal(got, want) {
				t.Errorf("%s reads back %d bytes that differ, want %d", name, len(got), len(want))
			}
		}
	}
	env := append(os.Environ(), "S3SEAL_ROOT_USER="+gw.AccessKey, "S3SEAL_ROOT_PASSWORD="+gw.SecretKey)
	s3seal := func(args ...string) (int, string) {
		r := harness.Run(t, harness.GatewayBinary(t), args, env, "")
		return r.ExitCode, string(r.Stdout) + r.Stderr
	}
	keyVersion := func(name string) string {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, gw.Endpoint+"/"+bucket+"/"+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		resp, err := http.DefaultClient.Do(signer.SignV4(*req, gw.AccessKey, gw.SecretKey, "", "us-east-1"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-S3seal-Key-Version")
	}

	for i, size := range []int{0, 1000, 6<<20 + 7} {
		put(fmt.Sprintf("v1-%d", i), size)
	}
	if code, out := s3seal("kms", "key", "rotate", "rotating", "--endpoint", gw.Endpoint); code != 0 || !strings.Contains(out, "version 2") {
		t.Fatalf("s3seal kms key rotate: %d %q", code, out)
	}
	for i, size := range []int{1, 300_001, 6<<20 + 9} {
		put(fmt.Sprintf("v2-%d", i), size)
	}

	t.Run("objects of both versions read back under one key id", func(t *testing.T) {
		checkAll(t, c)
		mc := harness.MC(t, t.TempDir())
		mc.AliasSet(t, "gw", gw.Endpoint, gw.AccessKey, gw.SecretKey)
		for _, name := range []string{"v1-1", "v2-1"} {
			out := mc.Must(t, "stat", "gw/"+bucket+"/"+name)
			if !strings.Contains(string(out.Stdout), "SSE-KMS (arn:aws:kms:rotating)") {
				t.Errorf("mc stat %s:\n%s\nwant SSE-KMS (arn:aws:kms:rotating)", name, out.Stdout)
			}
		}
		if got, want := keyVersion("v1-1")+keyVersion("v2-1"), "12"; got != want {
			t.Errorf("key versions of v1-1 and v2-1 = %q, want %q", got, want)
		}
	})
	t.Run("mc admin kms key status works, s3seal kms key status shows the versions", func(t *testing.T) {
		mc := harness.MC(t, t.TempDir())
		mc.AliasSet(t, "gw", gw.Endpoint, gw.AccessKey, gw.SecretKey)
		human := mc.Must(t, "admin", "kms", "key", "status", "gw", "rotating")
		for _, want := range []string{"Key: rotating", "Encryption ✔", "Decryption ✔"} {
			if !strings.Contains(string(human.Stdout), want) {
				t.Errorf("mc admin kms key status:\n%s\nwant %q", human.Stdout, want)
			}
		}
		code, out := s3seal("kms", "key", "status", "rotating", "--endpoint", gw.Endpoint)
		for _, want := range []string{"latest version: 2", "version 1: created", "version 2: created"} {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("s3seal kms key status: %d\n%s\nwant %q", code, out, want)
			}
		}
	})
	t.Run("rekey to the same key moves old objects to the newest version", func(t *testing.T) {
		direct := backend.Client(t)
		before := harness.ReadObject(t, direct, bucket, "v1-1", minio.GetObjectOptions{})
		code, out := s3seal("rekey", "--endpoint", gw.Endpoint, "--bucket", bucket, "--to-key", "rotating", "--dry-run")
		if code != 0 || !strings.Contains(out, "would re-key 3, already under rotating 3") {
			t.Fatalf("dry run: %d %q", code, out)
		}
		if keyVersion("v1-1") != "1" {
			t.Fatal("the dry run re-keyed v1-1")
		}
		code, out = s3seal("rekey", "--endpoint", gw.Endpoint, "--bucket", bucket, "--to-key", "rotating")
		if code != 0 || !strings.Contains(out, "re-keyed 3, already under rotating 3") || !strings.Contains(out, "rotating version 1 → rotating version 2") {
			t.Fatalf("rekey: %d %q", code, out)
		}
		for name := range objects {
			if v := keyVersion(name); v != "2" {
				t.Errorf("%s is under key version %q after the re-key, want 2", name, v)
			}
		}
		if after := harness.ReadObject(t, direct, bucket, "v1-1", minio.GetObjectOptions{}); !bytes.Equal(after, before) {
			t.Error("the re-key rewrote the ciphertext of v1-1; only its sealed key should move")
		}
		checkAll(t, c)
		code, out = s3seal("rekey", "--endpoint", gw.Endpoint, "--bucket", bucket, "--to-key", "rotating")
		if code != 0 || !strings.Contains(out, "re-keyed 0, already under rotating 6") {
			t.Fatalf("second rekey: %d %q", code, out)
		}
	})
	t.Run("a restarted gateway reads everything", func(t *testing.T) {
		checkAll(t, gw.Restart(t).Client(t))
	})
}
