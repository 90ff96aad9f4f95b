package test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// anonymousDo sends an unsigned request and returns the status and body.
func anonymousDo(t *testing.T, method, url string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMCAnonymousSetGrantsUnauthenticatedAccess(t *testing.T) {
	gw, auditPath := startIAMGateway(t)
	ctx := t.Context()
	const bucket = "share"
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "s", gw.Endpoint, gw.AccessKey, gw.SecretKey)
	mc.Must(t, "mb", "s/"+bucket)
	src := filepath.Join(t.TempDir(), "doc.txt")
	const secretWords = "anonymous readers see these words decrypted"
	if err := os.WriteFile(src, []byte(secretWords), 0o600); err != nil {
		t.Fatal(err)
	}
	mc.Must(t, "cp", src, "s/"+bucket+"/doc.txt")
	objectURL := gw.Endpoint + "/" + bucket + "/doc.txt"
	backend := gw.Backend.Client(t)
	sdk := gw.S3(t)
	permission := func() string {
		t.Helper()
		var out struct {
			Permission string `json:"permission"`
		}
		harness.DecodeJSON(t, mc.Must(t, "anonymous", "get", "--json", "s/"+bucket), &out)
		return out.Permission
	}
	isPublic := func() bool {
		t.Helper()
		out, err := sdk.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatalf("GetBucketPolicyStatus: %v", err)
		}
		return aws.ToBool(out.PolicyStatus.IsPublic)
	}
	anonymousPut := func(key string) int {
		status, _ := anonymousDo(t, http.MethodPut, gw.Endpoint+"/"+bucket+"/"+key, []byte("anonymous upload"))
		return status
	}

	t.Run("none: everything anonymous is AccessDenied", func(t *testing.T) {
		if got := permission(); got != "private" {
			t.Errorf("mc anonymous get: %q, want private", got)
		}
		if status, body := anonymousDo(t, http.MethodGet, objectURL, nil); status != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
			t.Errorf("anonymous GET: %d %s", status, body)
		}
		if isPublic() {
			t.Error("GetBucketPolicyStatus: public without a policy")
		}
	})
	t.Run("download: GET serves the decrypted object, PUT is refused", func(t *testing.T) {
		mc.Must(t, "anonymous", "set", "download", "s/"+bucket)
		if got := permission(); got != "download" {
			t.Errorf("mc anonymous get: %q, want download", got)
		}
		if status, body := anonymousDo(t, http.MethodGet, objectURL, nil); status != http.StatusOK || body != secretWords {
			t.Errorf("anonymous GET: %d %q", status, body)
		}
		if status, body := anonymousDo(t, http.MethodGet, gw.Endpoint+"/"+bucket+"?list-type=2", nil); status != http.StatusOK || !strings.Contains(body, "doc.txt") {
			t.Errorf("anonymous ListObjectsV2: %d %s", status, body)
		}
		if status := anonymousPut("refused.txt"); status != http.StatusForbidden {
			t.Errorf("anonymous PUT under download: %d, want 403", status)
		}
		if !isPublic() {
			t.Error("GetBucketPolicyStatus: not public under download")
		}
		// The backend holds ciphertext and no policy of its own.
		stored, err := backend.GetObject(ctx, bucket, "doc.txt", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(stored)
		stored.Close()
		if bytes.Contains(raw, []byte(secretWords)) {
			t.Error("the backend holds the object in clear")
		}
		if p, _ := backend.GetBucketPolicy(ctx, bucket); p != "" {
			t.Errorf("the bucket policy reached the backend: %s", p)
		}
		if status, _ := anonymousDo(t, http.MethodGet, gw.Backend.URL()+"/"+bucket+"/doc.txt", nil); status != http.StatusForbidden {
			t.Errorf("anonymous GET from the backend directly: %d, want 403", status)
		}
	})
	t.Run("upload: PUT is encrypted, GET is refused", func(t *testing.T) {
		mc.Must(t, "anonymous", "set", "upload", "s/"+bucket)
		if got := permission(); got != "upload" {
			t.Errorf("mc anonymous get: %q, want upload", got)
		}
		if status := anonymousPut("dropped.txt"); status != http.StatusOK {
			t.Fatalf("anonymous PUT under upload: %d", status)
		}
		info, err := gw.Client(t).StatObject(ctx, bucket, "dropped.txt", minio.StatObjectOptions{})
		if err != nil || info.Metadata.Get("X-Amz-Server-Side-Encryption") == "" {
			t.Errorf("the anonymous upload: %v, SSE %q; want it encrypted", err, info.Metadata.Get("X-Amz-Server-Side-Encryption"))
		}
		if status, _ := anonymousDo(t, http.MethodGet, objectURL, nil); status != http.StatusForbidden {
			t.Errorf("anonymous GET under upload: %d, want 403", status)
		}
	})
	t.Run("public: both", func(t *testing.T) {
		mc.Must(t, "anonymous", "set", "public", "s/"+bucket)
		if got := permission(); got != "public" {
			t.Errorf("mc anonymous get: %q, want public", got)
		}
		if status, body := anonymousDo(t, http.MethodGet, objectURL, nil); status != http.StatusOK || body != secretWords {
			t.Errorf("anonymous GET: %d %q", status, body)
		}
		if status := anonymousPut("public.txt"); status != http.StatusOK {
			t.Errorf("anonymous PUT under public: %d", status)
		}
	})
	t.Run("never the admin or KMS API, the bucket list or the policy", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{
			{http.MethodGet, "/"},
			{http.MethodGet, "/" + bucket + "?policy"},
			{http.MethodPut, "/" + bucket + "?policy"},
			{http.MethodDelete, "/" + bucket},
			{http.MethodGet, "/minio/kms/v1/key/list?pattern=*"},
			{http.MethodPost, "/minio/kms/v1/key/create?key-id=anon"},
			{http.MethodGet, "/minio/admin/v3/kms/status"},
			{http.MethodGet, "/minio/admin/v3/info"},
		} {
			if status, body := anonymousDo(t, tc.method, gw.Endpoint+tc.path, []byte("{}")); status != http.StatusForbidden {
				t.Errorf("anonymous %s %s: %d %s, want 403", tc.method, tc.path, status, body)
			}
		}
	})
	t.Run("none again", func(t *testing.T) {
		mc.Must(t, "anonymous", "set", "none", "s/"+bucket)
		if status, _ := anonymousDo(t, http.MethodGet, objectURL, nil); status != http.StatusForbidden {
			t.Errorf("anonymous GET after none: %d, want 403", status)
		}
		if isPublic() {
			t.Error("GetBucketPolicyStatus: public after none")
		}
	})
	t.Run("the audit log marks anonymous requests", func(t *testing.T) {
		raw, err := os.ReadFile(auditPath)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range readAuditRecords(t, raw) {
			if r.Anonymous && r.AccessKey == "" && r.Operation == "GetObject" && r.Status == http.StatusOK {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d audit lines for anonymous GETs that succeeded, want 2", n)
		}
	})
}

// TestAnonymousRequestsAnswerAsMinIO sends the same unsigned requests to a
// bucket with mc's download policy on MinIO and on s3seal.
func TestAnonymousRequestsAnswerAsMinIO(t *testing.T) {
	gw := harness.StartGateway(t, harness.StartMinIO(t))
	ctx := t.Context()
	download := func(bucket string) string {
		return `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::` + bucket + `"]},
			{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `/*"]}]}`
	}
	servers := []struct {
		name, endpoint, bucket string
		client                 *minio.Client
	}{
		{"MinIO", gw.Backend.URL(), "direct", gw.Backend.Client(t)},
		{"s3seal", gw.Endpoint, "sealed", gw.Client(t)},
	}
	for _, s := range servers {
		if err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.client.PutObject(ctx, s.bucket, "doc.txt", strings.NewReader("words"), 5, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.client.SetBucketPolicy(ctx, s.bucket, download(s.bucket)); err != nil {
			t.Fatal(err)
		}
	}
	code := func(body string) string {
		_, rest, _ := strings.Cut(body, "<Code>")
		c, _, _ := strings.Cut(rest, "</Code>")
		return c
	}
	for _, tc := range []struct{ name, method, path string }{
		{"GET object", http.MethodGet, "/B/doc.txt"},
		{"HEAD object", http.MethodHead, "/B/doc.txt"},
		{"GET missing object", http.MethodGet, "/B/missing.txt"},
		{"PUT object", http.MethodPut, "/B/new.txt"},
		{"DELETE object", http.MethodDelete, "/B/doc.txt"},
		{"ListObjectsV2", http.MethodGet, "/B?list-type=2"},
		{"ListObjects", http.MethodGet, "/B"},
		{"ListObjectVersions", http.MethodGet, "/B?versions"},
		{"GetBucketLocation", http.MethodGet, "/B?location"},
		{"GetObjectTagging", http.MethodGet, "/B/doc.txt?tagging"},
		{"GetBucketPolicy", http.MethodGet, "/B?policy"},
		{"DeleteBucketPolicy", http.MethodDelete, "/B?policy"},
		{"ListMultipartUploads", http.MethodGet, "/B?uploads"},
		{"CreateMultipartUpload", http.MethodPost, "/B/new.txt?uploads"},
		{"ListBuckets", http.MethodGet, "/"},
		{"DeleteBucket", http.MethodDelete, "/B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status [2]int
			var codes [2]string
			for i, s := range servers {
				st, body := anonymousDo(t, tc.method, s.endpoint+strings.Replace(tc.path, "/B", "/"+s.bucket, 1), nil)
				status[i], codes[i] = st, code(body)
			}
			t.Logf("MinIO %d %s, s3seal %d %s", status[0], codes[0], status[1], codes[1])
			if status[0] != status[1] || codes[0] != codes[1] {
				t.Errorf("MinIO %d %s, s3seal %d %s", status[0], codes[0], status[1], codes[1])
			}
		})
	}
}
