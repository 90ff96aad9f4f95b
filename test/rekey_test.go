package test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/test/harness"
)

// TestRekeyResealsWithoutReencrypting writes objects under one KMS key and
// SSE-S3, re-keys the bucket to another key with `s3seal rekey`, and checks
// that every object reads back exactly under the new key, that single-part
// ciphertext on the backend is unchanged (only the sealed key moved), that
// a dry run changes nothing, and that an interrupted run (--max) resumes.
func TestRekeyResealsWithoutReencrypting(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	gw.CreateKMSKey(t, "old-key")
	gw.CreateKMSKey(t, "new-key")
	ctx := t.Context()
	c := gw.Client(t)
	const bucket = "rekey"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	old, err := encrypt.NewSSEKMS("old-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{}
	for i, size := range []int{0, 1, 65_536, 300_001, 6<<20 + 3} {
		name := "obj-" + string(rune('a'+i))
		objects[name] = harness.RandomBytes(t, size)
		opts := minio.PutObjectOptions{ServerSideEncryption: old, PartSize: 5 << 20}
		if i == 1 {
			opts.ServerSideEncryption = nil // SSE-S3 by default
		}
		if _, err := c.PutObject(ctx, bucket, name, bytes.NewReader(objects[name]), int64(len(objects[name])), opts); err != nil {
			t.Fatal(err)
		}
	}
	direct := backend.Client(t)
	stored := func(name string) []byte {
		return harness.ReadObject(t, direct, bucket, name, minio.GetObjectOptions{})
	}
	before := stored("obj-d")
	env := append(os.Environ(), "S3SEAL_ROOT_USER="+gw.AccessKey, "S3SEAL_ROOT_PASSWORD="+gw.SecretKey)
	rekey := func(args ...string) (int, string) {
		r := harness.Run(t, harness.GatewayBinary(t), append([]string{"rekey", "--endpoint", gw.Endpoint, "--bucket", bucket, "--to-key", "new-key"}, args...), env, "")
		return r.ExitCode, string(r.Stdout) + r.Stderr
	}
	keyOf := func(name string) string {
		st, err := c.StatObject(ctx, bucket, name, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return st.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
	}

	if code, out := rekey("--dry-run"); code != 0 || !strings.Contains(out, "would re-key 5") || keyOf("obj-a") != "arn:aws:kms:old-key" {
		t.Fatalf("dry run: %d %q; obj-a now under %q", code, out, keyOf("obj-a"))
	}
	if code, out := rekey("--from-key", "old-key", "--max", "2"); code != 0 || !strings.Contains(out, "re-keyed 2") {
		t.Fatalf("interrupted run: %d %q", code, out)
	}
	code, out := rekey()
	if code != 0 || !strings.Contains(out, "re-keyed 3, already under new-key 2") {
		t.Fatalf("resumed run: %d %q", code, out)
	}
	for name, want := range objects {
		if k := keyOf(name); k != "arn:aws:kms:new-key" {
			t.Errorf("%s is under %q after the re-key", name, k)
		}
		if got := harness.ReadObject(t, c, bucket, name, minio.GetObjectOptions{}); !bytes.Equal(got, want) {
			t.Errorf("%s reads back %d bytes, want %d", name, len(got), len(want))
		}
	}
	if !bytes.Equal(stored("obj-d"), before) {
		t.Error("a single-part object's ciphertext changed: the re-key re-encrypted instead of re-sealing")
	}
	if code, out := rekey(); code != 0 || !strings.Contains(out, "re-keyed 0, already under new-key 5") {
		t.Errorf("a rerun: %d %q, want nothing to do", code, out)
	}
}
