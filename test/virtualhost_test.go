package test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/s3seal/s3seal/test/harness"
)

// TestVirtualHostedStyle drives the gateway with bucket.DOMAIN requests,
// the default of SDKs for a custom endpoint with a host name (as in
// docker-compose), while path-style requests keep working.
func TestVirtualHostedStyle(t *testing.T) {
	t.Parallel()
	const domain = "s3seal.test"
	s := newStack(t, harness.WithGatewayEnv("S3SEAL_DOMAIN", domain))
	gwURL, err := url.Parse(s.gw.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// Every *.s3seal.test name resolves to the gateway.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, gwURL.Host)
	}
	httpClient := &http.Client{Transport: &http.Transport{DialContext: dial}}
	endpoint := "http://" + domain + ":" + gwURL.Port()

	ctx := t.Context()
	sdk := harness.S3Client(endpoint, s.gw.AccessKey, s.gw.SecretKey, func(o *s3.Options) {
		o.UsePathStyle = false
		o.HTTPClient = httpClient
	})
	const bucket = "vhost"
	if _, err := sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket (virtual host): %v", err)
	}
	data := harness.RandomBytes(t, 300_000)
	put, err := sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a b+c.bin"), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("PutObject (virtual host): %v", err)
	}
	if put.ServerSideEncryption != "AES256" {
		t.Errorf("PutObject SSE = %q, want AES256", put.ServerSideEncryption)
	}
	got, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a b+c.bin"), Range: aws.String("bytes=1000-1999")})
	if err != nil {
		t.Fatalf("GetObject (virtual host): %v", err)
	}
	part, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(part, data[1000:2000]) {
		t.Errorf("ranged GET returned %d bytes that differ from the stored range", len(part))
	}
	list, err := sdk.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("ListObjectsV2 (virtual host): %v", err)
	}
	if len(list.Contents) != 1 || aws.ToInt64(list.Contents[0].Size) != int64(len(data)) {
		t.Errorf("listing = %+v, want one object of %d bytes", list.Contents, len(data))
	}

	// minio-go with DNS bucket lookup signs the virtual-host form too.
	mc, err := minio.New(domain+":"+gwURL.Port(), &minio.Options{
		Creds: credentials.NewStaticV4(s.gw.AccessKey, s.gw.SecretKey, ""), Region: "us-east-1",
		BucketLookup: minio.BucketLookupDNS, Transport: &http.Transport{DialContext: dial},
	})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := mc.GetObject(ctx, bucket, "dir/a b+c.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(whole, data) {
		t.Errorf("minio-go virtual-host GET: %d bytes, err %v; want the %d bytes written", len(whole), err, len(data))
	}

	// Path style still works on the same gateway.
	direct := s.gw.Client(t)
	if _, err := direct.StatObject(ctx, bucket, "dir/a b+c.bin", minio.StatObjectOptions{}); err != nil {
		t.Errorf("path-style StatObject: %v", err)
	}
}
