//go:build bench

package bench

import (
	"os"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/sse"

	"github.com/s3seal/s3seal/test/harness"
)

// target is one way to reach the MinIO under test: directly, or through
// the gateway into a bucket with a default encryption.
type target struct {
	name      string // "direct", "s3seal"
	sse       string // the bucket's default encryption; "" direct
	endpoint  string
	accessKey string
	secretKey string
	bucket    string
}

// client returns a new minio-go client, with its own connection pool, for
// the target. The region is given so that no GET ?location precedes the
// first request on either path.
func (tg target) client(t testing.TB) *minio.Client {
	return harness.MinioGoClient(t, tg.endpoint, tg.accessKey, tg.secretKey, "us-east-1")
}

func (tg target) clients(t testing.TB, n int) []*minio.Client {
	c := make([]*minio.Client, n)
	for i := range c {
		c[i] = tg.client(t)
	}
	return c
}

func (tg target) label() string {
	if tg.sse == "" {
		return tg.name
	}
	return tg.name + " " + tg.sse
}

// servers is one MinIO and one gateway in front of it, with a bucket for
// each target.
type servers struct {
	minio *harness.MinIO
	gw    *harness.Gateway
	procs processes

	idleRSSKiB int64 // the gateway's VmRSS before its first request

	direct target // bucket on MinIO, no gateway
	kms    target // gateway bucket with default SSE-KMS (the headline)
	s3     target // gateway bucket with default SSE-S3
}

const (
	directBucket = "bench-direct"
	kmsBucket    = "bench-sse-kms"
	s3Bucket     = "bench-sse-s3"
)

func startServers(t *testing.T) *servers {
	t.Helper()
	m := harness.StartMinIO(t)
	gw := harness.StartGateway(t, m)
	s := &servers{
		minio: m,
		gw:    gw,
		procs: processes{client: os.Getpid(), gateway: gw.PID(), minio: childPID(m.DataDir)},
	}
	if s.procs.minio == 0 {
		t.Logf("MinIO's PID not found under /proc; its CPU time is reported as 0")
	}
	rss, err := readStatusKiB(gw.PID(), "VmRSS")
	if err != nil {
		t.Fatalf("gateway RSS: %v", err)
	}
	s.idleRSSKiB = rss

	s.direct = target{name: "direct", endpoint: m.Endpoint, accessKey: m.AccessKey, secretKey: m.SecretKey, bucket: directBucket}
	through := target{name: "s3seal", endpoint: gw.Endpoint, accessKey: gw.AccessKey, secretKey: gw.SecretKey}
	s.kms, s.s3 = through, through
	s.kms.sse, s.kms.bucket = "SSE-KMS", kmsBucket
	s.s3.sse, s.s3.bucket = "SSE-S3", s3Bucket

	ctx := t.Context()
	if err := s.direct.client(t).MakeBucket(ctx, directBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket %s on MinIO: %v", directBucket, err)
	}
	c := through.client(t)
	for _, b := range []struct {
		name string
		cfg  *sse.Configuration
	}{
		{kmsBucket, sse.NewConfigurationSSEKMS(harness.DefaultKeyName)},
		{s3Bucket, sse.NewConfigurationSSES3()},
	} {
		if err := c.MakeBucket(ctx, b.name, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket %s through s3seal: %v", b.name, err)
		}
		if err := c.SetBucketEncryption(ctx, b.name, b.cfg); err != nil {
			t.Fatalf("SetBucketEncryption %s through s3seal: %v", b.name, err)
		}
	}
	return s
}
