package test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

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
