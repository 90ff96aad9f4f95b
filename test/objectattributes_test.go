package test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3seal/s3seal/test/harness"
)

// TestGetObjectAttributesMatchesMinIO stores the same objects in MinIO
// directly and through s3seal (encrypted) with aws-sdk-go-v2, and compares
// what GetObjectAttributes says: the plaintext size, part count and part
// sizes, the checksum the SDK sent, the storage class, and an ETag that is
// the one HEAD shows on each side.
func TestGetObjectAttributesMatchesMinIO(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	ctx := t.Context()
	sides := map[string]*s3.Client{
		"minio":  harness.S3Client(backend.Endpoint, backend.AccessKey, backend.SecretKey),
		"s3seal": gw.S3(t),
	}
	single := harness.RandomBytes(t, 200_003)
	multi := harness.RandomBytes(t, 11<<20+7)
	attrs := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts,
		types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}
	got := map[string]map[string]*s3.GetObjectAttributesOutput{}
	for name, c := range sides {
		bucket := "attrs-" + name
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("single"), Body: bytes.NewReader(single),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
			t.Fatalf("%s PutObject: %v", name, err)
		}
		up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5<<20 + 1 })
		if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("multi"), Body: bytes.NewReader(multi)}); err != nil {
			t.Fatalf("%s multipart upload: %v", name, err)
		}
		got[name] = map[string]*s3.GetObjectAttributesOutput{}
		for _, key := range []string{"single", "multi"} {
			out, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(bucket), Key: aws.String(key), ObjectAttributes: attrs})
			if err != nil {
				t.Fatalf("%s GetObjectAttributes %s: %v", name, key, err)
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.ETag) != strings.Trim(aws.ToString(head.ETag), `"`) {
				t.Errorf("%s %s: attributes ETag %q, HEAD %q", name, key, aws.ToString(out.ETag), aws.ToString(head.ETag))
			}
			got[name][key] = out
		}
		_, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(bucket), Key: aws.String("missing"), ObjectAttributes: attrs})
		if code := apiErrorCode(err); code != "NoSuchKey" {
			t.Errorf("%s: attributes of a missing key: %v, want NoSuchKey", name, err)
		}
	}
	for _, key := range []string{"single", "multi"} {
		m, s := got["minio"][key], got["s3seal"][key]
		if aws.ToInt64(m.ObjectSize) != aws.ToInt64(s.ObjectSize) || m.StorageClass != s.StorageClass {
			t.Errorf("%s: size %d / %d, storage class %q / %q (MinIO / s3seal)", key, aws.ToInt64(m.ObjectSize), aws.ToInt64(s.ObjectSize), m.StorageClass, s.StorageClass)
		}
	}
	if m, s := got["minio"]["single"].Checksum, got["s3seal"]["single"].Checksum; m == nil || s == nil || aws.ToString(m.ChecksumCRC32) != aws.ToString(s.ChecksumCRC32) {
		t.Errorf("single-part checksum: MinIO %+v, s3seal %+v", m, s)
	}
	m, s := got["minio"]["multi"].ObjectParts, got["s3seal"]["multi"].ObjectParts
	if m == nil || s == nil || aws.ToInt32(m.TotalPartsCount) != aws.ToInt32(s.TotalPartsCount) || int32(len(s.Parts)) != aws.ToInt32(s.TotalPartsCount) {
		t.Fatalf("multipart parts: MinIO %+v, s3seal %+v", m, s)
	}
	for i := range s.Parts {
		if aws.ToInt64(s.Parts[i].Size) != aws.ToInt64(m.Parts[i].Size) || aws.ToInt32(s.Parts[i].PartNumber) != aws.ToInt32(m.Parts[i].PartNumber) {
			t.Errorf("part %d: s3seal %d bytes (#%d), MinIO %d bytes (#%d)", i, aws.ToInt64(s.Parts[i].Size), aws.ToInt32(s.Parts[i].PartNumber),
				aws.ToInt64(m.Parts[i].Size), aws.ToInt32(m.Parts[i].PartNumber))
		}
	}
}
