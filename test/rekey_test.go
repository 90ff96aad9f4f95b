package test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
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

// TestRekeyKilledMidRunResumes kills `s3seal rekey` with SIGKILL while it
// works through a bucket and reruns it: the rerun finishes, every object
// reads back exactly and is under the new key, the ciphertext on the
// backend is the one written at the start (re-sealed, never re-encrypted
// or sealed twice), and no object is re-keyed twice across the two runs.
func TestRekeyKilledMidRunResumes(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	gw.CreateKMSKey(t, "old-key")
	gw.CreateKMSKey(t, "new-key")
	ctx := t.Context()
	c, direct := gw.Client(t), backend.Client(t)
	const bucket = "rekey-kill"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	old, err := encrypt.NewSSEKMS("old-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	objects := map[string][]byte{}
	ciphertext := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("obj-%03d", i)
		objects[name] = harness.RandomBytes(t, 1000+i)
		if _, err := c.PutObject(ctx, bucket, name, bytes.NewReader(objects[name]), int64(len(objects[name])), minio.PutObjectOptions{ServerSideEncryption: old}); err != nil {
			t.Fatal(err)
		}
		ciphertext[name] = harness.ReadObject(t, direct, bucket, name, minio.GetObjectOptions{})
	}
	env := append(os.Environ(), "S3SEAL_ROOT_USER="+gw.AccessKey, "S3SEAL_ROOT_PASSWORD="+gw.SecretKey)
	args := []string{"rekey", "--endpoint", gw.Endpoint, "--bucket", bucket, "--to-key", "new-key"}

	p := harness.RunProcess(t, "rekey", harness.GatewayBinary(t), args, env)
	p.WaitOutput(t, regexp.MustCompile(`obj-0[1-9]\d: re-keyed`))
	p.Kill()
	firstRun := regexp.MustCompile(`(?m)^(obj-\d+): re-keyed`).FindAllStringSubmatch(p.Output(), -1)
	if len(firstRun) == 0 || len(firstRun) >= n || strings.Contains(p.Output(), "re-keyed 3") {
		t.Fatalf("the kill did not land mid-run (%d objects re-keyed):\n%s", len(firstRun), p.LogTail(5))
	}

	r := harness.Run(t, harness.GatewayBinary(t), args, env, "")
	out := string(r.Stdout)
	secondRun := regexp.MustCompile(`(?m)^(obj-\d+): re-keyed`).FindAllStringSubmatch(out, -1)
	if r.ExitCode != 0 || !strings.Contains(out, fmt.Sprintf("re-keyed %d, already under new-key %d, skipped 0, failed 0", len(secondRun), n-len(secondRun))) {
		t.Fatalf("rerun: %d\n%s", r.ExitCode, r.Stderr+lastLines(out, 3))
	}
	// An object whose copy finished just before the kill has no line in
	// the first run; none may be re-keyed by both.
	done := map[string]bool{}
	for _, m := range firstRun {
		done[m[1]] = true
	}
	for _, m := range secondRun {
		if done[m[1]] {
			t.Errorf("%s was re-keyed by both runs", m[1])
		}
	}
	t.Logf("killed after %d objects; the rerun re-keyed %d", len(firstRun), len(secondRun))
	if len(firstRun)+len(secondRun) > n {
		t.Errorf("%d + %d objects re-keyed, want at most %d", len(firstRun), len(secondRun), n)
	}
	for name, want := range objects {
		st, err := c.StatObject(ctx, bucket, name, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if k := st.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); k != "arn:aws:kms:new-key" {
			t.Errorf("%s is under %q", name, k)
		}
		if got := harness.ReadObject(t, c, bucket, name, minio.GetObjectOptions{}); !bytes.Equal(got, want) {
			t.Errorf("%s reads back %d bytes that differ", name, len(got))
		}
		if !bytes.Equal(harness.ReadObject(t, direct, bucket, name, minio.GetObjectOptions{}), ciphertext[name]) {
			t.Errorf("%s: the ciphertext on the backend changed", name)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
