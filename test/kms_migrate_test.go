package test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/test/harness"
)

// TestKMSMigrateMovesAGatewayToAnotherKeyStore writes objects (SSE-S3 by
// default, SSE-KMS under a key of its own, a multipart object with ragged
// parts that needs layout and index records) through a gateway on the fs
// key store, copies the keys to AWS Secrets Manager (moto) with `s3seal kms
// migrate`, and starts a gateway on Secrets Manager over the same backend:
// it becomes ready and reads every object back exactly.
func TestKMSMigrateMovesAGatewayToAnotherKeyStore(t *testing.T) {
	backend := harness.StartMinIO(t)
	first := harness.StartGateway(t, backend)
	first.CreateKMSKey(t, "app-key")
	ctx := t.Context()
	c := first.Client(t)
	const bucket = "migrated"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{
		"default":   harness.RandomBytes(t, 100_001),
		"kms":       harness.RandomBytes(t, 70_000),
		"multipart": harness.RandomBytes(t, 11<<20+7),
	}
	put := func(name string, opts minio.PutObjectOptions) {
		data := objects[name]
		if _, err := c.PutObject(ctx, bucket, name, bytes.NewReader(data), int64(len(data)), opts); err != nil {
			t.Fatalf("PutObject %s: %v", name, err)
		}
	}
	put("default", minio.PutObjectOptions{})
	sseKMS, err := encrypt.NewSSEKMS("app-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	put("kms", minio.PutObjectOptions{ServerSideEncryption: sseKMS})
	put("multipart", minio.PutObjectOptions{PartSize: 5<<20 + 123})
	first.Stop(t)

	moto := harness.StartMoto(t)
	kmsKeyID := moto.CreateKMSKey(t)
	awsAK, awsSK := "moto-ak-"+harness.RandomHex(t, 4), "moto-sk-"+harness.RandomHex(t, 16)
	dir := t.TempDir()
	fsConfig := filepath.Join(dir, "fs.yaml")
	awsConfig := filepath.Join(dir, "aws.yaml")
	awsYAML := "version: v1\nkms:\n" + rootkmsAWSKeystore(moto.Endpoint, kmsKeyID)
	for path, content := range map[string]string{
		fsConfig:  "version: v1\nkms:\n  keystore:\n    fs:\n      path: " + first.KMSDir + "\n",
		awsConfig: awsYAML,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+awsAK, "AWS_SECRET_ACCESS_KEY="+awsSK, "AWS_CA_BUNDLE=")
	migrate := func() string {
		r := harness.MustRun(t, harness.GatewayBinary(t), []string{"kms", "migrate", "--from", fsConfig, "--to", awsConfig}, env, dir)
		return string(r.Stdout)
	}
	out := migrate()
	for _, want := range []string{harness.DefaultKeyName + ": copied", "app-key: copied", "copied 2, already present 0, conflicting 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate output %q lacks %q", out, want)
		}
	}
	if out := migrate(); !strings.Contains(out, "copied 0, already present 2") {
		t.Errorf("a second migrate: %q, want nothing copied", out)
	}

	second := rootkmsStartGateway(t, backend, awsYAML, "AWS_ACCESS_KEY_ID", awsAK, "AWS_SECRET_ACCESS_KEY", awsSK)
	c2 := second.Client(t)
	for name, want := range objects {
		if got := harness.ReadObject(t, c2, bucket, name, minio.GetObjectOptions{}); !bytes.Equal(got, want) {
			t.Errorf("%s read back through the migrated gateway: %d bytes, want %d", name, len(got), len(want))
		}
	}
	for o := range c2.ListObjects(ctx, bucket, minio.ListObjectsOptions{}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.Size != int64(len(objects[o.Key])) {
			t.Errorf("%s listed with %d bytes, want %d", o.Key, o.Size, len(objects[o.Key]))
		}
	}
}
