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
// it becomes ready and reads every object back exactly. That gateway
// writes more objects; the keys are then imported into a KES server, and a
// gateway on KES reads what all three steps wrote.
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
	kmsMigrateOnToKES(t, backend, second, awsConfig, env, dir, bucket, objects)
}

// kmsMigrateOnToKES writes more objects through the gateway on Secrets
// Manager, rotates one key there, imports the keys into a KES dev server
// with `s3seal kms migrate --to`, and reads every object of every step
// through a gateway on KES. The rotated key is refused (KES has no key
// versions), named on its own line, and makes the run fail; nothing else
// is held back by it.
func kmsMigrateOnToKES(t *testing.T, backend *harness.MinIO, onAWS *harness.Gateway, awsConfig string, env []string, dir, bucket string, objects map[string][]byte) {
	ctx := t.Context()
	c := onAWS.Client(t)
	onAWS.CreateKMSKey(t, "rotated-key")
	rootEnv := append(env, "S3SEAL_ROOT_USER="+onAWS.AccessKey, "S3SEAL_ROOT_PASSWORD="+onAWS.SecretKey)
	harness.MustRun(t, harness.GatewayBinary(t), []string{"kms", "key", "rotate", "rotated-key", "--endpoint", onAWS.Endpoint}, rootEnv, dir)
	sseKMS, err := encrypt.NewSSEKMS("app-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]minio.PutObjectOptions{
		"aws-default":   {},
		"aws-kms":       {ServerSideEncryption: sseKMS},
		"aws-multipart": {PartSize: 5<<20 + 1},
	} {
		objects[name] = harness.RandomBytes(t, 5<<20+4099)
		if _, err := c.PutObject(ctx, bucket, name, bytes.NewReader(objects[name]), int64(len(objects[name])), opts); err != nil {
			t.Fatalf("PutObject %s: %v", name, err)
		}
	}
	onAWS.Stop(t)

	kes := harness.StartKES(t, harness.KESConfig{})
	kesYAML := rootkmsKESConfig(harness.DefaultKeyName, kes.Endpoint, kes.CAFile)
	kesConfig := filepath.Join(dir, "kes.yaml")
	if err := os.WriteFile(kesConfig, []byte(kesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	kesEnv := append(env, "KES_API_KEY="+kes.APIKey)
	migrate := func(args ...string) (int, string) {
		r := harness.Run(t, harness.GatewayBinary(t), append([]string{"kms", "migrate", "--from", awsConfig, "--to", kesConfig}, args...), kesEnv, dir)
		return r.ExitCode, string(r.Stdout) + r.Stderr
	}
	code, out := migrate("--dry-run")
	if code != 1 || !strings.Contains(out, "app-key: would import") || !strings.Contains(out, "rotated-key: REFUSED") {
		t.Fatalf("dry run into KES: exit %d %q", code, out)
	}
	code, out = migrate()
	for _, want := range []string{harness.DefaultKeyName + ": imported", "app-key: imported", "rotated-key: REFUSED", "copied 2, already present 0, conflicting 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate into KES: output %q lacks %q", out, want)
		}
	}
	if code != 1 {
		t.Errorf("migrate into KES with a rotated key: exit %d, want 1", code)
	}
	if _, out := migrate(); !strings.Contains(out, "copied 0, already present 2") {
		t.Errorf("a second migrate into KES: %q, want nothing imported", out)
	}

	onKES := rootkmsStartGateway(t, backend, kesYAML, "KES_API_KEY", kes.APIKey)
	c3 := onKES.Client(t)
	objects["kes-kms"] = harness.RandomBytes(t, 9001)
	if _, err := c3.PutObject(ctx, bucket, "kes-kms", bytes.NewReader(objects["kes-kms"]), 9001, minio.PutObjectOptions{ServerSideEncryption: sseKMS}); err != nil {
		t.Fatalf("PutObject through the gateway on KES: %v", err)
	}
	for name, want := range objects {
		if got := harness.ReadObject(t, c3, bucket, name, minio.GetObjectOptions{}); !bytes.Equal(got, want) {
			t.Errorf("%s read back through the gateway on KES: %d bytes that differ, want %d", name, len(got), len(want))
		}
	}
	listed := 0
	for o := range c3.ListObjects(ctx, bucket, minio.ListObjectsOptions{}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		listed++
		if o.Size != int64(len(objects[o.Key])) {
			t.Errorf("%s listed through the gateway on KES with %d bytes, want %d", o.Key, o.Size, len(objects[o.Key]))
		}
	}
	if listed != len(objects) {
		t.Errorf("the gateway on KES lists %d objects, want %d", listed, len(objects))
	}
}
