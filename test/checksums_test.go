package test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/s3seal/s3seal/test/harness"
)

// TestMinioGoTrailingChecksums uploads with minio-go's trailing checksums
// (every algorithm it offers, single PUT and multipart, whose completion
// carries the object's checksum in headers) through s3seal, and reads
// every object back exactly.
func TestMinioGoTrailingChecksums(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	ctx := t.Context()
	c, err := minio.New(strings.TrimPrefix(gw.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(gw.AccessKey, gw.SecretKey, ""), TrailingHeaders: true,
		Transport: harness.CheckedTransport(t, gw.SystemBucket(), nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "trailing"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	checksums := []minio.ChecksumType{minio.ChecksumNone, minio.ChecksumCRC32C, minio.ChecksumCRC32, minio.ChecksumSHA256,
		minio.ChecksumSHA1, minio.ChecksumCRC64NVME, minio.ChecksumFullObjectCRC32C, minio.ChecksumMD5}
	for _, size := range []int{100<<10 + 3, 12<<20 + 5} {
		data := harness.RandomBytes(t, size)
		for _, ck := range checksums {
			name := fmt.Sprintf("%s-%d", ck, size)
			info, err := c.PutObject(ctx, bucket, name, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20, Checksum: ck})
			if err != nil {
				t.Errorf("PutObject of %d bytes with %s: %v", size, ck, err)
				continue
			}
			if got := harness.ReadObject(t, c, bucket, name, minio.GetObjectOptions{}); !bytes.Equal(got, data) {
				t.Errorf("%s: read back %d bytes, want %d", name, len(got), len(data))
			}
			// The checksum the upload answered is stored (sealed) and
			// answered again with checksum mode.
			st, err := c.StatObject(ctx, bucket, name, minio.StatObjectOptions{Checksum: true})
			if err != nil {
				t.Fatalf("StatObject %s: %v", name, err)
			}
			uploaded := []string{info.ChecksumCRC32, info.ChecksumCRC32C, info.ChecksumCRC64NVME, info.ChecksumSHA1, info.ChecksumSHA256, info.ChecksumMD5}
			stated := []string{st.ChecksumCRC32, st.ChecksumCRC32C, st.ChecksumCRC64NVME, st.ChecksumSHA1, st.ChecksumSHA256, st.ChecksumMD5}
			if ck != minio.ChecksumNone && (strings.Join(uploaded, "") == "" || fmt.Sprint(uploaded) != fmt.Sprint(stated)) {
				t.Errorf("%s: StatObject checksums %q, want the upload's %q", name, stated, uploaded)
			}
		}
	}
}
