package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// minio-go and aws-sdk-go-v2 against the gateway: the subtests of
// TestFoundation that drive it through the two Go SDKs.

func presignGet(t *testing.T, c *minio.Client, bucket, key string) string {
	t.Helper()
	u, err := c.PresignedGetObject(t.Context(), bucket, key, 10*time.Minute, nil)
	if err != nil {
		t.Fatalf("PresignedGetObject: %v", err)
	}
	return u.String()
}

// testMinioGo drives the gateway with minio-go/v7 (no region configured, so
// it asks GET ?location first, as mc does).
func testMinioGo(t *testing.T, s *stack) {
	const bucket = "minio-go-foundation"
	ctx := t.Context()
	c := s.gw.Client(t)
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	small := harness.RandomBytes(t, 300*1024+1)
	multi := harness.RandomBytes(t, 12*mib)
	objects := map[string][]byte{"small.bin": small, "multipart.bin": multi}

	t.Run("PutObject small", func(t *testing.T) {
		info, err := c.PutObject(ctx, bucket, "small.bin", bytes.NewReader(small), int64(len(small)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		s.wrote(bucket, "small.bin", small)
		if info.Size != int64(len(small)) {
			t.Errorf("PutObject size = %d, want %d", info.Size, len(small))
		}
	})

	t.Run("PutObject multipart 12 MiB in 5 MiB parts", func(t *testing.T) {
		info, err := c.PutObject(ctx, bucket, "multipart.bin", bytes.NewReader(multi), int64(len(multi)), minio.PutObjectOptions{PartSize: 5 * mib})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		s.wrote(bucket, "multipart.bin", multi)
		if info.Size != int64(len(multi)) {
			t.Errorf("PutObject size = %d, want %d", info.Size, len(multi))
		}
	})

	t.Run("GetObject whole", func(t *testing.T) {
		for key, want := range objects {
			obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatalf("GetObject %s: %v", key, err)
			}
			got := readAllOrFatal(t, key, obj)
			obj.Close()
			assertSameBytes(t, "GetObject "+key, got, want)
		}
	})

	t.Run("GetObject range", func(t *testing.T) {
		ranges := []struct {
			key        string
			start, end int64 // inclusive
		}{
			{"small.bin", 0, 0},
			{"small.bin", 1000, 70000},                 // crosses the first 64 KiB package boundary
			{"small.bin", 65535, 65536},                // the two bytes around it
			{"small.bin", 300 * 1024, 300*1024 + 0},    // the last byte
			{"multipart.bin", 5*mib - 100, 5*mib + 99}, // crosses a part boundary
			{"multipart.bin", 10*mib - 1, 12*mib - 1},  // into and through the last part
		}
		for _, r := range ranges {
			opts := minio.GetObjectOptions{}
			if err := opts.SetRange(r.start, r.end); err != nil {
				t.Fatal(err)
			}
			obj, err := c.GetObject(ctx, bucket, r.key, opts)
			if err != nil {
				t.Fatalf("GetObject %s: %v", r.key, err)
			}
			got := readAllOrFatal(t, r.key, obj)
			obj.Close()
			assertSameBytes(t, fmt.Sprintf("%s bytes=%d-%d", r.key, r.start, r.end), got, objects[r.key][r.start:r.end+1])
		}
	})

	t.Run("StatObject", func(t *testing.T) {
		for key, want := range objects {
			info, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatalf("StatObject %s: %v", key, err)
			}
			if info.Size != int64(len(want)) {
				t.Errorf("StatObject %s size = %d, want %d", key, info.Size, len(want))
			}
			if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != sseS3 {
				t.Errorf("StatObject %s x-amz-server-side-encryption = %q, want %q", key, got, sseS3)
			}
		}
	})

	t.Run("ListObjects shows plaintext sizes", func(t *testing.T) {
		got := map[string]int64{}
		for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatalf("ListObjects: %v", obj.Err)
			}
			got[obj.Key] = obj.Size
		}
		for key, want := range objects {
			if got[key] != int64(len(want)) {
				t.Errorf("ListObjects size of %s = %d, want %d (all listed: %v)", key, got[key], len(want), got)
			}
		}
	})

	t.Run("presigned GET", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, presignGet(t, c, bucket, "small.bin"), nil)
		if err != nil {
			t.Fatal(err)
		}
		status, body, e := doRaw(t, req)
		if status != http.StatusOK {
			t.Fatalf("presigned GET status %d (%s: %s), want 200", status, e.Code, e.Message)
		}
		assertSameBytes(t, "presigned GET body", body, small)
	})

	t.Run("presigned PUT", func(t *testing.T) {
		data := harness.RandomBytes(t, 70*1024)
		u, err := c.PresignedPutObject(ctx, bucket, "presigned.bin", 10*time.Minute)
		if err != nil {
			t.Fatalf("PresignedPutObject: %v", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		status, _, e := doRaw(t, req)
		if status != http.StatusOK {
			t.Fatalf("presigned PUT status %d (%s: %s), want 200", status, e.Code, e.Message)
		}
		s.wrote(bucket, "presigned.bin", data)
		obj, err := c.GetObject(ctx, bucket, "presigned.bin", minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		defer obj.Close()
		assertSameBytes(t, "GetObject after presigned PUT", readAllOrFatal(t, "presigned.bin", obj), data)
	})

	t.Run("RemoveObject", func(t *testing.T) {
		if err := c.RemoveObject(ctx, bucket, "small.bin", minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("RemoveObject: %v", err)
		}
		s.removed(bucket, "small.bin")
		_, err := c.StatObject(ctx, bucket, "small.bin", minio.StatObjectOptions{})
		if code := minio.ToErrorResponse(err).Code; code != "NoSuchKey" {
			t.Errorf("StatObject after RemoveObject: %v (code %q), want NoSuchKey", err, code)
		}
		s.assertNotOnBackend(t, bucket, "small.bin")
	})
}

// testAWSSDK drives the gateway with aws-sdk-go-v2 and its default checksum
// behaviour: CRC32 on uploads, checksum validation on downloads.
func testAWSSDK(t *testing.T, s *stack) {
	const bucket, versioned = "aws-sdk-foundation", "aws-sdk-versioned"
	ctx := t.Context()
	c := s.gw.S3(t)
	for _, b := range []string{bucket, versioned} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("CreateBucket %s: %v", b, err)
		}
	}
	data := harness.RandomBytes(t, 256*1024+3)

	put := func(t *testing.T, bucket, key string, body []byte) *s3.PutObjectOutput {
		t.Helper()
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
		}
		s.wrote(bucket, key, body)
		return out
	}
	get := func(t *testing.T, bucket, key string, in *s3.GetObjectInput) (*s3.GetObjectOutput, []byte) {
		t.Helper()
		if in == nil {
			in = &s3.GetObjectInput{}
		}
		in.Bucket, in.Key, in.ChecksumMode = aws.String(bucket), aws.String(key), types.ChecksumModeEnabled
		out, err := c.GetObject(ctx, in)
		if err != nil {
			t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
		}
		defer out.Body.Close()
		return out, readAllOrFatal(t, key, out.Body) // the SDK validates any checksum while reading
	}

	t.Run("PutObject with CRC32", func(t *testing.T) {
		rec := &headerRecorder{}
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("put.bin"), Body: bytes.NewReader(data)}, rec.use)
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		s.wrote(bucket, "put.bin", data)
		if rec.last().Get("X-Amz-Checksum-Crc32") == "" {
			t.Errorf("the SDK sent no x-amz-checksum-crc32 (headers %v): the default checksum path is not under test", rec.last())
		}
		if out.ServerSideEncryption != sseS3 {
			t.Errorf("PutObject ServerSideEncryption = %q, want %q", out.ServerSideEncryption, sseS3)
		}
	})

	t.Run("GetObject with checksum mode", func(t *testing.T) {
		rec := &headerRecorder{}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("put.bin"), ChecksumMode: types.ChecksumModeEnabled}, rec.use)
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		got := readAllOrFatal(t, "put.bin", out.Body) // the SDK validates any checksum while reading
		out.Body.Close()
		if h := rec.last().Get("X-Amz-Checksum-Mode"); h != "ENABLED" {
			t.Errorf("GetObject sent x-amz-checksum-mode %q, want ENABLED", h)
		}
		assertSameBytes(t, "GetObject put.bin", got, data)
		if out.ServerSideEncryption != sseS3 {
			t.Errorf("GetObject ServerSideEncryption = %q, want %q", out.ServerSideEncryption, sseS3)
		}
	})

	t.Run("GetObject range", func(t *testing.T) {
		n := int64(len(data))
		tests := []struct {
			rng        string
			start, end int64 // inclusive, of the expected bytes
		}{
			{"bytes=0-0", 0, 0},
			{"bytes=65530-65545", 65530, 65545},
			{"bytes=-10", n - 10, n - 1},
			{"bytes=262000-", 262000, n - 1},
		}
		for _, tc := range tests {
			out, got := get(t, bucket, "put.bin", &s3.GetObjectInput{Range: aws.String(tc.rng)})
			assertSameBytes(t, tc.rng, got, data[tc.start:tc.end+1])
			if want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n); aws.ToString(out.ContentRange) != want {
				t.Errorf("%s: Content-Range = %q, want %q", tc.rng, aws.ToString(out.ContentRange), want)
			}
		}
	})

	t.Run("HeadObject", func(t *testing.T) {
		out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("put.bin")})
		if err != nil {
			t.Fatalf("HeadObject: %v", err)
		}
		if got := aws.ToInt64(out.ContentLength); got != int64(len(data)) {
			t.Errorf("HeadObject ContentLength = %d, want %d", got, len(data))
		}
		if out.ServerSideEncryption != sseS3 {
			t.Errorf("HeadObject ServerSideEncryption = %q, want %q", out.ServerSideEncryption, sseS3)
		}
	})

	t.Run("CopyObject", func(t *testing.T) {
		_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy.bin"), CopySource: aws.String(bucket + "/put.bin")})
		if err != nil {
			t.Fatalf("CopyObject: %v", err)
		}
		s.wrote(bucket, "copy.bin", data)
		_, got := get(t, bucket, "copy.bin", nil)
		assertSameBytes(t, "GetObject copy.bin", got, data)
	})

	t.Run("ListObjectsV2 shows plaintext sizes", func(t *testing.T) {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		sizes := map[string]int64{}
		for _, o := range out.Contents {
			sizes[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
		if sizes["put.bin"] != int64(len(data)) {
			t.Errorf("ListObjectsV2 size of put.bin = %d, want %d (listed %v)", sizes["put.bin"], len(data), sizes)
		}
	})

	t.Run("DeleteObjects", func(t *testing.T) {
		keys := []string{"delete-1.bin", "delete-2.bin"}
		var ids []types.ObjectIdentifier
		for _, k := range keys {
			put(t, bucket, k, harness.RandomBytes(t, 4096))
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
		}
		out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids}})
		if err != nil {
			t.Fatalf("DeleteObjects: %v", err)
		}
		if len(out.Deleted) != len(keys) || len(out.Errors) != 0 {
			t.Errorf("DeleteObjects: %d deleted, %d errors, want %d deleted, 0 errors (errors: %+v)", len(out.Deleted), len(out.Errors), len(keys), out.Errors)
		}
		for _, k := range keys {
			s.removed(bucket, k)
			_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
			if code := apiErrorCode(err); code != "NotFound" && code != "NoSuchKey" {
				t.Errorf("HeadObject %s after DeleteObjects: %v, want NotFound", k, err)
			}
			s.assertNotOnBackend(t, bucket, k)
		}
	})

	t.Run("multipart upload", func(t *testing.T) {
		const key = "multipart.bin"
		parts := [][]byte{harness.RandomBytes(t, 5*mib), harness.RandomBytes(t, 5*mib), harness.RandomBytes(t, 2*mib+5)}
		whole := bytes.Join(parts, nil)
		create, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("CreateMultipartUpload: %v", err)
		}
		var completed []types.CompletedPart
		for i, p := range parts {
			n := int32(i + 1)
			out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: create.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(p)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", n, err)
			}
			// As the SDK's upload manager does: hand back what UploadPart returned.
			completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
		}
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: create.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
		if err != nil {
			t.Fatalf("CompleteMultipartUpload: %v", err)
		}
		s.wrote(bucket, key, whole)
		_, got := get(t, bucket, key, nil)
		assertSameBytes(t, "GetObject "+key, got, whole)
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("HeadObject: %v", err)
		}
		if got := aws.ToInt64(head.ContentLength); got != int64(len(whole)) {
			t.Errorf("HeadObject ContentLength = %d, want %d", got, len(whole))
		}
	})

	t.Run("object tagging", func(t *testing.T) {
		put(t, bucket, "tagged.bin", harness.RandomBytes(t, 2048))
		want := []types.Tag{{Key: aws.String("project"), Value: aws.String("s3seal")}, {Key: aws.String("tier"), Value: aws.String("gold")}}
		if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("tagged.bin"), Tagging: &types.Tagging{TagSet: want}}); err != nil {
			t.Fatalf("PutObjectTagging: %v", err)
		}
		out, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("tagged.bin")})
		if err != nil {
			t.Fatalf("GetObjectTagging: %v", err)
		}
		if got, w := tagMap(out.TagSet), tagMap(want); !mapsEqual(got, w) {
			t.Errorf("GetObjectTagging = %v, want %v", got, w)
		}
	})

	t.Run("bucket policy", func(t *testing.T) {
		policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/public/*"]}]}`, bucket)
		if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
			t.Fatalf("PutBucketPolicy: %v", err)
		}
		out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatalf("GetBucketPolicy: %v", err)
		}
		if !jsonEqual(t, aws.ToString(out.Policy), policy) {
			t.Errorf("GetBucketPolicy = %s, want %s", aws.ToString(out.Policy), policy)
		}
		if _, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("DeleteBucketPolicy: %v", err)
		}
		_, err = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
		if code := apiErrorCode(err); code != "NoSuchBucketPolicy" {
			t.Errorf("GetBucketPolicy after DeleteBucketPolicy: %v (code %q), want NoSuchBucketPolicy", err, code)
		}
	})

	t.Run("bucket versioning and ListObjectVersions", func(t *testing.T) {
		v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(versioned)})
		if err != nil {
			t.Fatalf("GetBucketVersioning: %v", err)
		}
		if v.Status != "" {
			t.Errorf("GetBucketVersioning of a new bucket = %q, want unset", v.Status)
		}
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(versioned), VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
			t.Fatalf("PutBucketVersioning: %v", err)
		}
		v, err = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(versioned)})
		if err != nil {
			t.Fatalf("GetBucketVersioning: %v", err)
		}
		if v.Status != types.BucketVersioningStatusEnabled {
			t.Errorf("GetBucketVersioning after enabling = %q, want Enabled", v.Status)
		}

		v1, v2 := harness.RandomBytes(t, 1000), harness.RandomBytes(t, 70000)
		first := put(t, versioned, "doc.bin", v1)
		put(t, versioned, "doc.bin", v2)
		out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(versioned), Prefix: aws.String("doc.bin")})
		if err != nil {
			t.Fatalf("ListObjectVersions: %v", err)
		}
		var got []string
		for _, ov := range out.Versions {
			got = append(got, fmt.Sprintf("latest=%v size=%d", aws.ToBool(ov.IsLatest), aws.ToInt64(ov.Size)))
		}
		want := []string{fmt.Sprintf("latest=true size=%d", len(v2)), fmt.Sprintf("latest=false size=%d", len(v1))}
		if !slices.Equal(got, want) {
			t.Errorf("ListObjectVersions doc.bin = %v, want %v", got, want)
		}
		if first.VersionId == nil {
			t.Fatalf("PutObject into a versioned bucket returned no VersionId")
		}
		_, old := get(t, versioned, "doc.bin", &s3.GetObjectInput{VersionId: first.VersionId})
		assertSameBytes(t, "GetObject of the first version", old, v1)
	})

	t.Run("presigned GET", func(t *testing.T) {
		p, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("put.bin")}, s3.WithPresignExpires(10*time.Minute))
		if err != nil {
			t.Fatalf("PresignGetObject: %v", err)
		}
		req, err := http.NewRequestWithContext(ctx, p.Method, p.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range p.SignedHeader {
			if !strings.EqualFold(k, "Host") {
				req.Header[k] = vs
			}
		}
		status, body, e := doRaw(t, req)
		if status != http.StatusOK {
			t.Fatalf("presigned GET status %d (%s: %s), want 200", status, e.Code, e.Message)
		}
		assertSameBytes(t, "presigned GET body", body, data)
	})

	t.Run("expired presigned GET is refused", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.gw.Endpoint+"/"+bucket+"/put.bin?X-Amz-Expires=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		creds := aws.Credentials{AccessKeyID: s.gw.AccessKey, SecretAccessKey: s.gw.SecretKey}
		signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatalf("PresignHTTP: %v", err)
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, signed, nil)
		if err != nil {
			t.Fatal(err)
		}
		status, body, e := doRaw(t, req)
		if status != http.StatusForbidden || e.Code != "AccessDenied" {
			t.Errorf("GET with a presigned URL that expired an hour ago: status %d code %q (%s), want 403 AccessDenied", status, e.Code, e.Message)
		}
		if bytes.Contains(body, data[:64]) {
			t.Errorf("expired presigned GET returned object data")
		}
	})
}

// headerRecorder is an aws-sdk-go-v2 HTTP client that remembers the headers
// of the requests it sends. Pass its use method as a per-operation option.
type headerRecorder struct {
	mu      sync.Mutex
	headers []http.Header
}

func (r *headerRecorder) use(o *s3.Options) { o.HTTPClient = r }

func (r *headerRecorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// last returns the headers of the last request sent.
func (r *headerRecorder) last() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.headers) == 0 {
		return http.Header{}
	}
	return r.headers[len(r.headers)-1]
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, tag := range tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return m
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// jsonEqual reports whether two JSON documents hold the same value.
func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Errorf("not JSON: %v: %s", err, a)
		return false
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

func sha256Of(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// sha256Hasher adapts crypto/sha256 to the md5simd.Hasher minio-go's
// streaming signer wants.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}
