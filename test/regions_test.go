package test

import (
	"bytes"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// TestAnyRegionWithoutAConfiguredOne: a client signing for eu-central-1
// works against a gateway with no region configured (as with MinIO), and
// is refused by one configured for another region.
func TestAnyRegionWithoutAConfiguredOne(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	c := harness.MinioGoClient(t, gw.Endpoint, gw.AccessKey, gw.SecretKey, "eu-central-1")
	ctx := t.Context()
	if err := c.MakeBucket(ctx, "regional", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket signed for eu-central-1: %v", err)
	}
	data := []byte("signed for eu-central-1")
	if _, err := c.PutObject(ctx, "regional", "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	o, err := c.GetObject(ctx, "regional", "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(o); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %q, %v", got, err)
	}

	// Its own backend: a gateway with another key store cannot open the
	// first one's system records.
	pinned := harness.StartGateway(t, harness.StartMinIO(t), harness.WithGatewayEnv("S3SEAL_REGION", "us-west-2"))
	other := harness.MinioGoClient(t, pinned.Endpoint, pinned.AccessKey, pinned.SecretKey, "eu-central-1")
	_, err = other.ListBuckets(ctx)
	if code := minio.ToErrorResponse(err).Code; code != "AuthorizationHeaderMalformed" {
		t.Fatalf("a gateway pinned to us-west-2 answered %v (%q), want AuthorizationHeaderMalformed", err, code)
	}
}
