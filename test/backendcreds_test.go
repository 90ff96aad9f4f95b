package test

import (
	"bytes"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// TestBackendCredentialsFromTheAWSChain starts the gateway without static
// backend keys: it signs backend requests with what AWS's default
// credential chain finds (here the environment), and works end to end.
func TestBackendCredentialsFromTheAWSChain(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend,
		harness.WithGatewayEnv("S3SEAL_BACKEND_ACCESS_KEY", ""),
		harness.WithGatewayEnv("S3SEAL_BACKEND_SECRET_KEY", ""),
		harness.WithGatewayEnv("AWS_ACCESS_KEY_ID", backend.AccessKey),
		harness.WithGatewayEnv("AWS_SECRET_ACCESS_KEY", backend.SecretKey),
		harness.WithGatewayEnv("AWS_CONFIG_FILE", "/dev/null"),
		harness.WithGatewayEnv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
		harness.WithGatewayEnv("AWS_CA_BUNDLE", ""),
		harness.WithGatewayEnv("AWS_EC2_METADATA_DISABLED", "true"),
	)
	c := gw.Client(t)
	ctx := t.Context()
	if err := c.MakeBucket(ctx, "chain", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := harness.RandomBytes(t, 70_001)
	if _, err := c.PutObject(ctx, "chain", "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := harness.ReadObject(t, c, "chain", "k", minio.GetObjectOptions{}); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes, want %d", len(got), len(data))
	}
}
