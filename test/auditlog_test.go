package test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/test/harness"
)

func TestObservabilityAuditLog(t *testing.T) {
	backend := harness.StartMinIO(t)
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	gw := harness.StartGateway(t, backend,
		harness.WithGatewayEnv("S3SEAL_AUDIT_LOG", auditPath),
		// The SSE-C request below goes over plain http; TestTLSClientFacing
		// covers SSE-C over https.
		harness.WithGatewayEnv("S3SEAL_ALLOW_INSECURE_SSEC", "true"),
	)
	c := gw.Client(t)
	ctx := t.Context()
	const bucket, kmsKey = "audited", "audit-tenant"
	kmsData := harness.RandomBytes(t, 70_000)
	ssecData := harness.RandomBytes(t, 5_000)
	ssecKey := harness.RandomBytes(t, 32)

	gw.CreateKMSKey(t, kmsKey)
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	sseKMS, err := encrypt.NewSSEKMS(kmsKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, bucket, "kms.bin", bytes.NewReader(kmsData), int64(len(kmsData)), minio.PutObjectOptions{ServerSideEncryption: sseKMS}); err != nil {
		t.Fatalf("PutObject SSE-KMS: %v", err)
	}
	assertObjectReads(t, c, bucket, "kms.bin", minio.GetObjectOptions{}, kmsData)
	if _, err := c.StatObject(ctx, bucket, "kms.bin", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	sseC, err := encrypt.NewSSEC(ssecKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, bucket, "ssec.bin", bytes.NewReader(ssecData), int64(len(ssecData)), minio.PutObjectOptions{ServerSideEncryption: sseC}); err != nil {
		t.Fatalf("PutObject SSE-C: %v", err)
	}
	assertObjectReads(t, c, bucket, "ssec.bin", minio.GetObjectOptions{ServerSideEncryption: sseC}, ssecData)
	if _, err := c.PutObject(ctx, bucket, "default.txt", strings.NewReader("default"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if err := c.RemoveObject(ctx, bucket, "default.txt", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("RemoveObject: %v", err)
	}
	// Shutting down finishes in-flight requests and then closes the log,
	// so every request above has its line.
	gw.Stop(t)

	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	if info, err := os.Stat(auditPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode = %v (%v), want 0600", info.Mode().Perm(), err)
	}

	t.Run("every line is a JSON object with the audit fields", func(t *testing.T) {
		if len(raw) == 0 || raw[len(raw)-1] != '\n' {
			t.Fatalf("audit log is empty or ends in a partial line:\n%s", raw)
		}
		want := []string{"access_key", "bucket", "bytes_in", "bytes_out", "duration_ms", "key_id", "object", "operation", "request_id", "status", "time"}
		ids := map[string]bool{}
		for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
			}
			for _, f := range want {
				if _, ok := rec[f]; !ok {
					t.Errorf("line %d lacks %q: %s", i+1, f, line)
				}
			}
			if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["time"])); err != nil {
				t.Errorf("line %d: time %v is not RFC 3339: %v", i+1, rec["time"], err)
			}
			id := fmt.Sprint(rec["request_id"])
			if id == "" || ids[id] {
				t.Errorf("line %d: request_id %q is empty or repeated", i+1, id)
			}
			ids[id] = true
		}
	})

	t.Run("the lines name the operation, bucket, object and KMS key", func(t *testing.T) {
		recs := readAuditRecords(t, raw)
		for _, w := range []auditRecord{
			{Operation: "PutObject", Bucket: bucket, Object: "kms.bin", KeyID: kmsKey, Status: 200, BytesIn: int64(len(kmsData))},
			{Operation: "GetObject", Bucket: bucket, Object: "kms.bin", KeyID: kmsKey, Status: 200, BytesOut: int64(len(kmsData))},
			{Operation: "HeadObject", Bucket: bucket, Object: "kms.bin", KeyID: kmsKey, Status: 200},
			{Operation: "PutObject", Bucket: bucket, Object: "ssec.bin", KeyID: "", Status: 200, BytesIn: int64(len(ssecData))},
			{Operation: "GetObject", Bucket: bucket, Object: "ssec.bin", KeyID: "", Status: 200, BytesOut: int64(len(ssecData))},
			{Operation: "PutObject", Bucket: bucket, Object: "default.txt", KeyID: harness.DefaultKeyName, Status: 200, BytesIn: 7},
			{Operation: "DeleteObject", Bucket: bucket, Object: "default.txt", Status: 204},
			{Operation: "CreateBucket", Bucket: bucket, Status: 200},
		} {
			found := slices.ContainsFunc(recs, func(r auditRecord) bool {
				return r.Operation == w.Operation && r.Bucket == w.Bucket && r.Object == w.Object &&
					r.KeyID == w.KeyID && r.Status == w.Status &&
					r.BytesIn >= w.BytesIn && r.BytesOut >= w.BytesOut && r.AccessKey == gw.AccessKey
			})
			if !found {
				t.Errorf("no audit line matches %+v (access_key %s); lines:\n%s", w, gw.AccessKey, raw)
			}
		}
	})

	t.Run("no secret reaches the log", func(t *testing.T) {
		keyMD5 := md5.Sum(ssecKey)
		forbidden := map[string]string{
			"root secret key":       gw.SecretKey,
			"backend secret key":    backend.SecretKey,
			"SSE-C key, raw":        string(ssecKey),
			"SSE-C key, base64":     base64.StdEncoding.EncodeToString(ssecKey),
			"SSE-C key, hex":        hex.EncodeToString(ssecKey),
			"SSE-C key MD5, base64": base64.StdEncoding.EncodeToString(keyMD5[:]),
			"a signature":           "Signature=",
			"a SigV4 credential":    "AWS4-HMAC-SHA256",
		}
		for what, s := range forbidden {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("audit log contains %s", what)
			}
		}
		if bytes.Contains(bytes.ToLower(raw), []byte("authorization")) {
			t.Error("audit log mentions an Authorization header")
		}
	})
}

// auditRecord is an audit log line as the tests read it.
type auditRecord struct {
	Time      string `json:"time"`
	RequestID string `json:"request_id"`
	AccessKey string `json:"access_key"`
	// ParentUser and Anonymous name who made requests with temporary
	// credentials or none.
	ParentUser string  `json:"parent_user"`
	Anonymous  bool    `json:"anonymous"`
	Operation  string  `json:"operation"`
	Bucket     string  `json:"bucket"`
	Object     string  `json:"object"`
	KeyID      string  `json:"key_id"`
	Status     int     `json:"status"`
	BytesIn    int64   `json:"bytes_in"`
	BytesOut   int64   `json:"bytes_out"`
	Duration   float64 `json:"duration_ms"`
}

func readAuditRecords(t *testing.T, raw []byte) []auditRecord {
	t.Helper()
	var recs []auditRecord
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		var r auditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %d is not JSON: %v\n%s", i+1, err, line)
		}
		recs = append(recs, r)
	}
	return recs
}
