package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/test/harness"
)

const (
	mib             = 1 << 20
	plaintextBucket = "plain-foundation"
	sseS3           = "AES256"
)

// TestFoundation drives the gateway with every client over one shared
// backend and gateway, then inspects what reached the backend and what the
// gateway logged.
func TestFoundation(t *testing.T) {
	t.Parallel()
	s := newStack(t, harness.WithPlaintextBuckets(plaintextBucket))

	t.Run("clients", func(t *testing.T) {
		tests := []struct {
			name string
			run  func(*testing.T, *stack)
		}{
			{"mc", testMC},
			{"minio-go", testMinioGo},
			{"aws-sdk-go-v2", testAWSSDK},
			{"aws-cli", testAWSCLI},
			{"auth failures store nothing", testAuthFailures},
			{"plaintext bucket is stored as is", testPlaintextBucket},
			{"system bucket is hidden", testSystemBucketHidden},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, s)
			})
		}
	})

	t.Run("backend holds only ciphertext", func(t *testing.T) {
		checkBackendAtRest(t, s)
	})

	t.Run("logs hold no secrets", func(t *testing.T) {
		s.gw.Stop(t) // flush everything the gateway will ever log
		assertCleanLogs(t, s)
	})
}

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	if v := harness.Version(t); v == "" {
		t.Errorf("s3seal --version printed nothing, want a version")
	}
}

// TestHealth checks liveness and readiness, and that readiness follows the
// backend.
func TestHealth(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	get := func(path string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.gw.Endpoint+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/minio/health/live", "/minio/health/ready"} {
		if got := get(path); got != http.StatusOK {
			t.Errorf("GET %s with the backend up = %d, want 200", path, got)
		}
	}

	s.backend.Stop(t)
	stopped := time.Now()
	// The gateway may cache the backend's state briefly; poll.
	deadline := stopped.Add(20 * time.Second)
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	var got int
	for got = get("/minio/health/ready"); got != http.StatusServiceUnavailable && time.Now().Before(deadline); got = get("/minio/health/ready") {
		<-ticker.C
	}
	if got != http.StatusServiceUnavailable {
		t.Errorf("GET /minio/health/ready 20s after the backend stopped = %d, want 503", got)
	} else {
		t.Logf("readiness answered 503 %v after the backend stopped", time.Since(stopped).Round(time.Millisecond))
	}
	if got := get("/minio/health/live"); got != http.StatusOK {
		t.Errorf("GET /minio/health/live with the backend down = %d, want 200 (the gateway itself is alive)", got)
	}
}

// TestGracefulShutdown sends SIGTERM while a large GET is being read: the
// response must complete intact and the process then exit 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	const bucket, key = "shutdown", "large.bin"
	data := harness.RandomBytes(t, 48*mib)
	c := s.gw.Client(t)
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	// One PUT keeps this test independent of multipart support.
	if _, err := c.PutObject(t.Context(), bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatalf("PutObject %d bytes: %v", len(data), err)
	}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, presignGet(t, c, bucket, key), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET status %d, want 200", resp.StatusCode)
	}
	head := make([]byte, mib)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatalf("read the first MiB: %v", err)
	}
	if s.gw.Exited() {
		t.Fatalf("gateway exited before SIGTERM")
	}

	s.gw.Terminate(t)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("reading the in-flight GET after SIGTERM: %v (got %d of %d bytes)", err, mib+len(rest), len(data))
	}
	assertSameBytes(t, "GET body in flight during SIGTERM", append(head, rest...), data)

	code, exited := s.gw.WaitExit(15 * time.Second)
	switch {
	case !exited:
		t.Errorf("gateway still running 15s after SIGTERM and after its last request completed")
	case code != 0:
		t.Errorf("gateway exit code after SIGTERM = %d, want 0", code)
	}
}

func presignGet(t *testing.T, c *minio.Client, bucket, key string) string {
	t.Helper()
	u, err := c.PresignedGetObject(t.Context(), bucket, key, 10*time.Minute, nil)
	if err != nil {
		t.Fatalf("PresignedGetObject: %v", err)
	}
	return u.String()
}

// testMC drives the gateway with mc. Uploads go over plain HTTP, so mc sends
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies; the 20 MiB file goes multipart.
func testMC(t *testing.T, s *stack) {
	const bucket = "mc-foundation"
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "gw", s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	mc.Must(t, "mb", "gw/"+bucket)

	dir := t.TempDir()
	small := harness.RandomBytes(t, 100*1024+7)
	big := harness.RandomBytes(t, 20*mib)
	for name, data := range map[string][]byte{"small.bin": small, "big.bin": big} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// mc --debug prints each request's headers (signatures redacted) on
	// stderr: proof of which upload path mc took.
	assertTrace := func(t *testing.T, r harness.Result, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("mc --debug trace lacks %q, so the upload did not take the path under test", want)
			}
		}
	}

	t.Run("cp small then cat", func(t *testing.T) {
		r := mc.Must(t, "--debug", "cp", filepath.Join(dir, "small.bin"), "gw/"+bucket+"/small.bin")
		s.wrote(bucket, "small.bin", small)
		assertTrace(t, r, "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		got := mc.Must(t, "cat", "gw/"+bucket+"/small.bin").Stdout
		assertSameBytes(t, "mc cat small.bin", got, small)
	})

	t.Run("cp 20 MiB multipart then cat", func(t *testing.T) {
		r := mc.Must(t, "--debug", "cp", filepath.Join(dir, "big.bin"), "gw/"+bucket+"/big.bin")
		s.wrote(bucket, "big.bin", big)
		assertTrace(t, r, "?uploads", "partNumber=2", "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		got := mc.Must(t, "cat", "gw/"+bucket+"/big.bin").Stdout
		if g, w := harness.SHA256Hex(got), harness.SHA256Hex(big); g != w {
			t.Errorf("mc cat big.bin: sha256 %s (%d bytes), want %s (%d bytes)", g, len(got), w, len(big))
		}
	})

	t.Run("ls shows plaintext sizes", func(t *testing.T) {
		sizes := mcListSizes(t, mc, "gw/"+bucket+"/")
		for key, want := range map[string]int{"small.bin": len(small), "big.bin": len(big)} {
			if got, ok := sizes[key]; !ok || got != int64(want) {
				t.Errorf("mc ls size of %s = %d (listed %v), want %d", key, got, ok, want)
			}
		}
	})

	t.Run("rm", func(t *testing.T) {
		mc.Must(t, "rm", "gw/"+bucket+"/small.bin")
		s.removed(bucket, "small.bin")
		if _, ok := mcListSizes(t, mc, "gw/"+bucket+"/")["small.bin"]; ok {
			t.Errorf("mc ls still lists small.bin after mc rm")
		}
		if r := mc.Run(t, "stat", "gw/"+bucket+"/small.bin"); r.ExitCode == 0 {
			t.Errorf("mc stat small.bin after mc rm succeeded, want failure: %v", r)
		}
		s.assertNotOnBackend(t, bucket, "small.bin")
	})
}

// mcListSizes runs mc ls --json and returns the size of each listed key.
func mcListSizes(t *testing.T, mc *harness.MCClient, target string) map[string]int64 {
	t.Helper()
	r := mc.JSON(t, "ls", target)
	if r.ExitCode != 0 {
		t.Fatalf("mc ls: %v", r)
	}
	sizes := map[string]int64{}
	for _, line := range bytes.Split(bytes.TrimSpace(r.Stdout), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var entry struct {
			Status string `json:"status"`
			Type   string `json:"type"`
			Key    string `json:"key"`
			Size   int64  `json:"size"`
		}
		if err := json.Unmarshal(line, &entry); err != nil {
			t.Fatalf("mc ls --json line %q: %v", line, err)
		}
		if entry.Status != "success" {
			t.Fatalf("mc ls --json: %s", line)
		}
		sizes[entry.Key] = entry.Size
	}
	return sizes
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

// testAWSCLI drives the gateway with the machine image's AWS CLI v1. Each
// invocation costs a Python start-up, so independent transfers run in
// parallel.
func testAWSCLI(t *testing.T, s *stack) {
	const bucket = "aws-cli-foundation"
	cli := harness.AWS(t, s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	cli.Must(t, "s3", "mb", "s3://"+bucket)
	dir := t.TempDir()
	write := func(t *testing.T, name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	read := func(t *testing.T, path string) []byte {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var mu sync.Mutex
	sizes := map[string]int{} // what s3 ls must show
	uploaded := func(key string, data []byte) {
		s.wrote(bucket, key, data)
		mu.Lock()
		sizes[key] = len(data)
		mu.Unlock()
	}

	t.Run("transfers", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			size int
		}{
			{"small.bin", 150 * 1024},
			{"big.bin", 20 * mib}, // multipart: the CLI splits at 8 MiB
		} {
			t.Run("s3 cp up and down "+tc.name, func(t *testing.T) {
				t.Parallel()
				data := harness.RandomBytes(t, tc.size)
				cli.Must(t, "s3", "cp", write(t, tc.name, data), "s3://"+bucket+"/"+tc.name)
				uploaded(tc.name, data)
				down := filepath.Join(dir, "down-"+tc.name)
				cli.Must(t, "s3", "cp", "s3://"+bucket+"/"+tc.name, down)
				if got, want := harness.SHA256Hex(read(t, down)), harness.SHA256Hex(data); got != want {
					t.Errorf("aws s3 cp down %s: sha256 %s, want %s", tc.name, got, want)
				}
			})
		}

		t.Run("s3api", func(t *testing.T) {
			t.Parallel()
			api := harness.RandomBytes(t, 90*1024+11)
			t.Run("put-object", func(t *testing.T) {
				r := cli.Must(t, "s3api", "put-object", "--bucket", bucket, "--key", "api.bin", "--body", write(t, "api.bin", api))
				uploaded("api.bin", api)
				var out struct{ ETag, ServerSideEncryption string }
				if err := json.Unmarshal(r.Stdout, &out); err != nil {
					t.Fatalf("put-object output: %v: %s", err, r.Stdout)
				}
				if out.ETag == "" || out.ServerSideEncryption != sseS3 {
					t.Errorf("put-object returned ETag %q ServerSideEncryption %q, want an ETag and %q", out.ETag, out.ServerSideEncryption, sseS3)
				}
			})

			t.Run("get-object", func(t *testing.T) {
				down := filepath.Join(dir, "down-api.bin")
				r := cli.Must(t, "s3api", "get-object", "--bucket", bucket, "--key", "api.bin", down)
				var out struct{ ContentLength int64 }
				if err := json.Unmarshal(r.Stdout, &out); err != nil {
					t.Fatalf("get-object output: %v: %s", err, r.Stdout)
				}
				if out.ContentLength != int64(len(api)) {
					t.Errorf("get-object ContentLength = %d, want %d", out.ContentLength, len(api))
				}
				assertSameBytes(t, "get-object body", read(t, down), api)
			})

			t.Run("head-object", func(t *testing.T) {
				r := cli.Must(t, "s3api", "head-object", "--bucket", bucket, "--key", "api.bin")
				var out struct {
					ContentLength        int64
					ServerSideEncryption string
				}
				if err := json.Unmarshal(r.Stdout, &out); err != nil {
					t.Fatalf("head-object output: %v: %s", err, r.Stdout)
				}
				if out.ContentLength != int64(len(api)) || out.ServerSideEncryption != sseS3 {
					t.Errorf("head-object ContentLength %d ServerSideEncryption %q, want %d and %q", out.ContentLength, out.ServerSideEncryption, len(api), sseS3)
				}
			})
		})
	})

	t.Run("s3 ls shows plaintext sizes", func(t *testing.T) {
		r := cli.Must(t, "s3", "ls", "s3://"+bucket+"/")
		listed := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(string(r.Stdout)), "\n") {
			f := strings.Fields(line) // DATE TIME SIZE KEY
			if len(f) == 4 {
				n, err := strconv.Atoi(f[2])
				if err != nil {
					t.Fatalf("aws s3 ls line %q: %v", line, err)
				}
				listed[f[3]] = n
			}
		}
		if len(sizes) == 0 {
			t.Fatalf("nothing was uploaded to list")
		}
		for key, want := range sizes {
			if listed[key] != want {
				t.Errorf("aws s3 ls size of %s = %d, want %d (output:\n%s)", key, listed[key], want, r.Stdout)
			}
		}
	})
}

// testAuthFailures sends requests that must be refused and checks that
// nothing reached the backend.
func testAuthFailures(t *testing.T, s *stack) {
	const bucket = "auth-foundation"
	wrongSecret := "wrong-" + harness.SHA256Hex(harness.RandomBytes(t, 16))[:34]
	ctx := t.Context()
	if err := s.gw.Client(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	data := harness.RandomBytes(t, 200*1024)

	t.Run("bad credentials", func(t *testing.T) {
		unknownKey := "unknown-" + harness.SHA256Hex(data)[:12]
		tests := []struct {
			name      string
			accessKey string
			secretKey string
			wantCode  string
		}{
			{"wrong secret", s.gw.AccessKey, wrongSecret, "SignatureDoesNotMatch"},
			{"unknown access key", unknownKey, s.gw.SecretKey, "InvalidAccessKeyId"},
		}
		for _, tc := range tests {
			t.Run(tc.name+" with minio-go", func(t *testing.T) {
				key := "minio-go-" + strings.ReplaceAll(tc.name, " ", "-")
				c := harness.MinioGoClient(t, s.gw.Endpoint, tc.accessKey, tc.secretKey, "us-east-1")
				_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
				if e := minio.ToErrorResponse(err); e.StatusCode != http.StatusForbidden || e.Code != tc.wantCode {
					t.Errorf("PutObject: %v (status %d code %q), want 403 %s", err, e.StatusCode, e.Code, tc.wantCode)
				}
				s.assertNotOnBackend(t, bucket, key)
			})
			t.Run(tc.name+" with aws-sdk-go-v2", func(t *testing.T) {
				key := "aws-sdk-" + strings.ReplaceAll(tc.name, " ", "-")
				c := harness.S3Client(s.gw.Endpoint, tc.accessKey, tc.secretKey)
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
				if code := apiErrorCode(err); code != tc.wantCode {
					t.Errorf("PutObject: %v (code %q), want %s", err, code, tc.wantCode)
				}
				s.assertNotOnBackend(t, bucket, key)
			})
		}
	})

	t.Run("tampered streaming upload", func(t *testing.T) {
		// signedStream returns a PUT signed with STREAMING-AWS4-HMAC-SHA256-PAYLOAD
		// and its encoded body: 64 KiB chunks, each "hex-size;chunk-signature=SIG\r\nDATA\r\n".
		signedStream := func(t *testing.T, key string) (*http.Request, []byte) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.gw.Endpoint+"/"+bucket+"/"+key, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			req = signer.StreamingSignV4(req, s.gw.AccessKey, s.gw.SecretKey, "", "us-east-1", int64(len(data)), time.Now().UTC(), sha256Hasher{sha256.New()})
			body := readAllOrFatal(t, "signed stream", req.Body)
			return req, body
		}
		// nthChunk returns where the n-th chunk's signature and data start.
		nthChunk := func(t *testing.T, body []byte, n int) (sig, payload int) {
			off := 0
			for i := 0; ; i++ {
				hdrEnd := bytes.Index(body[off:], []byte("\r\n"))
				if hdrEnd < 0 {
					t.Fatalf("chunk %d not found in the signed stream", n)
				}
				header := string(body[off : off+hdrEnd])
				sizeHex, _, _ := strings.Cut(header, ";")
				size, err := strconv.ParseInt(sizeHex, 16, 64)
				if err != nil {
					t.Fatalf("chunk header %q: %v", header, err)
				}
				if i == n {
					return off + strings.Index(header, "chunk-signature=") + len("chunk-signature="), off + hdrEnd + 2
				}
				off += hdrEnd + 2 + int(size) + 2
			}
		}
		// flipHex changes one hex digit of a signature and keeps it hex.
		flipHex := func(b []byte, i int) {
			if b[i] == '0' {
				b[i] = '1'
			} else {
				b[i] = '0'
			}
		}
		flipBit := func(b []byte, i int) { b[i] ^= 0x01 }
		lastDataChunk := (len(data) + 65535) / 65536 // index of the final, empty chunk
		tests := []struct {
			name       string
			tamper     func(t *testing.T, body []byte)
			wantStatus int
			wantCode   string
		}{
			{"untampered (control)", func(*testing.T, []byte) {}, http.StatusOK, ""},
			{"first chunk signature flipped", func(t *testing.T, b []byte) { sig, _ := nthChunk(t, b, 0); flipHex(b, sig+10) }, http.StatusForbidden, "SignatureDoesNotMatch"},
			{"first chunk data flipped", func(t *testing.T, b []byte) { _, p := nthChunk(t, b, 0); flipBit(b, p+100) }, http.StatusForbidden, "SignatureDoesNotMatch"},
			{"last data chunk data flipped", func(t *testing.T, b []byte) { _, p := nthChunk(t, b, lastDataChunk-1); flipBit(b, p+5) }, http.StatusForbidden, "SignatureDoesNotMatch"},
			{"final empty chunk signature flipped", func(t *testing.T, b []byte) { sig, _ := nthChunk(t, b, lastDataChunk); flipHex(b, sig) }, http.StatusForbidden, "SignatureDoesNotMatch"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := "stream-" + strings.ReplaceAll(tc.name, " ", "-")
				req, body := signedStream(t, key)
				tc.tamper(t, body)
				req.Body = io.NopCloser(bytes.NewReader(body))
				req.ContentLength = int64(len(body))
				status, _, e := doRaw(t, req)
				if status != tc.wantStatus || e.Code != tc.wantCode {
					t.Errorf("PUT: status %d code %q (%s), want %d %q", status, e.Code, e.Message, tc.wantStatus, tc.wantCode)
				}
				if tc.wantStatus == http.StatusOK {
					s.wrote(bucket, key, data)
					obj, err := s.gw.Client(t).GetObject(ctx, bucket, key, minio.GetObjectOptions{})
					if err != nil {
						t.Fatalf("GetObject: %v", err)
					}
					defer obj.Close()
					assertSameBytes(t, "GetObject after the streaming PUT", readAllOrFatal(t, key, obj), data)
					return
				}
				s.assertNotOnBackend(t, bucket, key)
			})
		}
	})

	t.Run("x-amz-content-sha256 mismatch", func(t *testing.T) {
		small := data[:10*1024]
		tests := []struct {
			name       string
			hash       []byte
			wantStatus int
			wantCode   string
		}{
			{"correct hash (control)", sha256Of(small), http.StatusOK, ""},
			{"hash of other bytes", sha256Of(data[1 : 10*1024+1]), http.StatusBadRequest, "XAmzContentSHA256Mismatch"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := "sha256-" + strings.ReplaceAll(tc.name, " ", "-")
				req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.gw.Endpoint+"/"+bucket+"/"+key, bytes.NewReader(small))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(tc.hash))
				req = signer.SignV4(*req, s.gw.AccessKey, s.gw.SecretKey, "", "us-east-1")
				status, _, e := doRaw(t, req)
				if status != tc.wantStatus || e.Code != tc.wantCode {
					t.Errorf("PUT: status %d code %q (%s), want %d %q", status, e.Code, e.Message, tc.wantStatus, tc.wantCode)
				}
				if tc.wantStatus == http.StatusOK {
					s.wrote(bucket, key, small)
					return
				}
				s.assertNotOnBackend(t, bucket, key)
			})
		}
	})
}

func sha256Of(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// sha256Hasher adapts crypto/sha256 to the md5simd.Hasher minio-go's
// streaming signer wants.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// testPlaintextBucket checks that a bucket in S3SEAL_PLAINTEXT_BUCKETS is
// stored as the client sent it and not announced as encrypted.
func testPlaintextBucket(t *testing.T, s *stack) {
	ctx := t.Context()
	c := s.gw.Client(t)
	if err := c.MakeBucket(ctx, plaintextBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	data := harness.RandomBytes(t, 100*1024)
	if _, err := c.PutObject(ctx, plaintextBucket, "plain.bin", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	assertSameBytes(t, "backend bytes of a plaintext-bucket object", s.backendObject(t, plaintextBucket, "plain.bin"), data)
	obj, err := c.GetObject(ctx, plaintextBucket, "plain.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer obj.Close()
	assertSameBytes(t, "GetObject through the gateway", readAllOrFatal(t, "plain.bin", obj), data)
	info, err := c.StatObject(ctx, plaintextBucket, "plain.bin", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != "" {
		t.Errorf("StatObject of a plaintext-bucket object says x-amz-server-side-encryption %q, want none", got)
	}
}

// testSystemBucketHidden checks that the gateway's own bucket exists on the
// backend but is neither listed to nor writable by clients.
func testSystemBucketHidden(t *testing.T, s *stack) {
	ctx := t.Context()
	c := s.gw.Client(t)
	// Write something first so a lazily created system bucket exists.
	if err := c.MakeBucket(ctx, "system-probe", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	probe := harness.RandomBytes(t, 1024)
	if _, err := c.PutObject(ctx, "system-probe", "probe.bin", bytes.NewReader(probe), int64(len(probe)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	s.wrote("system-probe", "probe.bin", probe)

	backendBuckets, err := s.backendBuckets(ctx)
	if err != nil {
		t.Fatalf("backend ListBuckets: %v", err)
	}
	if !slices.Contains(backendBuckets, systemBucket) {
		t.Errorf("backend buckets %v, want %s among them", backendBuckets, systemBucket)
	}
	listed, err := c.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets through the gateway: %v", err)
	}
	for _, b := range listed {
		if b.Name == systemBucket {
			t.Errorf("ListBuckets through the gateway lists %s", systemBucket)
		}
	}
	evil := []byte("written by a client")
	if _, err := c.PutObject(ctx, systemBucket, "evil.bin", bytes.NewReader(evil), int64(len(evil)), minio.PutObjectOptions{}); err == nil {
		t.Errorf("PutObject into %s through the gateway succeeded, want it refused", systemBucket)
	}
	for obj := range c.ListObjects(ctx, systemBucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err == nil {
			t.Errorf("ListObjects of %s through the gateway lists %q, want the bucket refused", systemBucket, obj.Key)
		}
		break
	}
}

// checkBackendAtRest reads every object of every client bucket straight from
// the backend and checks that what the tests wrote through the gateway is
// there only as ciphertext.
func checkBackendAtRest(t *testing.T, s *stack) {
	ctx := t.Context()
	buckets, err := s.backendBuckets(ctx)
	if err != nil {
		t.Fatalf("backend ListBuckets: %v", err)
	}
	seen := map[string]bool{}
	for _, bucket := range buckets {
		if bucket == systemBucket || bucket == plaintextBucket {
			continue
		}
		for obj := range s.direct.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatalf("backend ListObjects %s: %v", bucket, obj.Err)
			}
			name := bucket + "/" + obj.Key
			plaintext, ok := s.recorded(bucket, obj.Key)
			if !ok {
				t.Logf("backend object %s (%d bytes) was not written by a test; not checked", name, obj.Size)
				continue
			}
			seen[name] = true
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				assertCiphertext(t, name, s.backendObject(t, bucket, obj.Key), plaintext)
			})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.written {
		if !seen[name] && !strings.HasPrefix(name, plaintextBucket+"/") {
			t.Errorf("%s was written through the gateway but is not on the backend under that name", name)
		}
	}
}
