package test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// systemBucket is the backend bucket the gateway keeps its own records in.
const systemBucket = "s3seal-system"

// stack is one MinIO backend with one gateway in front of it, shared by the
// subtests of a test. It remembers what each subtest wrote through the
// gateway so that the backend can be inspected at the end.
type stack struct {
	backend *harness.MinIO
	gw      *harness.Gateway
	direct  *minio.Client // talks to the backend, bypassing the gateway

	mu      sync.Mutex
	written map[string][]byte // "bucket/key" → the plaintext last written
}

func newStack(t *testing.T, opts ...harness.GatewayOption) *stack {
	t.Helper()
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend, opts...)
	return &stack{backend: backend, gw: gw, direct: backend.Client(t), written: map[string][]byte{}}
}

// wrote records that plaintext was stored at bucket/key through the gateway.
func (s *stack) wrote(bucket, key string, plaintext []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written[bucket+"/"+key] = plaintext
}

// removed records that bucket/key was deleted through the gateway.
func (s *stack) removed(bucket, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.written, bucket+"/"+key)
}

func (s *stack) recorded(bucket, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.written[bucket+"/"+key]
	return p, ok
}

// backendObject reads bucket/key straight from the backend.
func (s *stack) backendObject(t testing.TB, bucket, key string) []byte {
	t.Helper()
	return harness.ReadObject(t, s.direct, bucket, key, minio.GetObjectOptions{})
}

// assertNotOnBackend fails unless bucket/key is absent from the backend.
func (s *stack) assertNotOnBackend(t *testing.T, bucket, key string) {
	t.Helper()
	info, err := s.direct.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
	if err == nil {
		t.Errorf("backend has %s/%s (%d bytes), want no object", bucket, key, info.Size)
		return
	}
	if code := minio.ToErrorResponse(err).Code; code != "NoSuchKey" && code != "NoSuchBucket" {
		t.Errorf("backend StatObject %s/%s: %v, want NoSuchKey", bucket, key, err)
	}
}

// assertCiphertext fails unless stored (the backend's bytes of an object)
// is larger than plaintext and holds no run of it.
func assertCiphertext(t *testing.T, name string, stored, plaintext []byte) {
	t.Helper()
	if len(stored) <= len(plaintext) {
		t.Errorf("%s: backend holds %d bytes for %d bytes of plaintext, want more (ciphertext carries overhead)", name, len(stored), len(plaintext))
	}
	if so, po, found := harness.FindPlaintextRun(stored, plaintext); found {
		t.Errorf("%s: backend bytes at offset %d equal plaintext bytes at offset %d (%d-byte run): data stored in the clear", name, so, po, harness.PlaintextRunLen)
	}
}

// s3Error is the XML error body of an S3 response.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// doRaw sends req and returns the status, the body and the parsed S3 error
// (zero if the body is not one).
func doRaw(t *testing.T, req *http.Request) (int, []byte, s3Error) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	var e s3Error
	_ = xml.Unmarshal(body, &e)
	return resp.StatusCode, body, e
}

// apiErrorCode returns the S3 error code of an aws-sdk-go-v2 error.
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// readAllOrFatal reads r to the end.
func readAllOrFatal(t testing.TB, what string, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", what, err)
	}
	return b
}

// assertSameBytes compares large byte slices by length and SHA-256.
func assertSameBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %d bytes (sha256 %s), want %d bytes (sha256 %s)", what, len(got), harness.SHA256Hex(got), len(want), harness.SHA256Hex(want))
	}
}

// backendBuckets lists the backend's buckets.
func (s *stack) backendBuckets(ctx context.Context) ([]string, error) {
	infos, err := s.direct.ListBuckets(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, b := range infos {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	return names, nil
}

// assertCleanLogs fails if the gateway's stderr is not JSON lines or holds a
// secret: the backend or root secret key, any of extraSecrets, a SigV4
// signature or an Authorization header.
func assertCleanLogs(t *testing.T, s *stack, extraSecrets ...string) {
	t.Helper()
	lines := s.gw.LogLines()
	if len(lines) == 0 {
		t.Errorf("gateway wrote no log lines to stderr, want JSON log lines")
	}
	for i, line := range lines {
		if !strings.HasPrefix(line, "{") || !json.Valid([]byte(line)) {
			t.Errorf("log line %d is not a JSON object: %.300s", i+1, line)
		}
	}
	logs := s.gw.Logs()
	forbidden := []struct{ what, text string }{
		{"backend secret key", s.backend.SecretKey},
		{"root secret key", s.gw.SecretKey},
		{"a SigV4 signature", "Signature="},
		{"an Authorization header", "Authorization"},
	}
	for _, secret := range extraSecrets {
		forbidden = append(forbidden, struct{ what, text string }{"a secret sent by a client", secret})
	}
	for _, f := range forbidden {
		if i := strings.Index(logs, f.text); i >= 0 {
			start := max(0, i-120)
			end := min(len(logs), i+len(f.text)+40)
			context := strings.ReplaceAll(logs[start:end], f.text, "<"+f.what+">")
			t.Errorf("gateway logs contain %s: ...%s...", f.what, context)
		}
	}
}
