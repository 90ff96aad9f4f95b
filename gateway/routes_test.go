package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// TestRoutesNameEveryOperation checks which S3 operation each request is
// routed to (the name logs and metrics use). Requests are unsigned, so each
// is refused after routing, before any backend is contacted.
func TestRoutesNameEveryOperation(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	kms := kmsclient.New(&mem.Store{}, kmsclient.Config{})
	t.Cleanup(func() { _ = kms.Close() })
	u, _ := url.Parse("http://127.0.0.1:1")
	s, err := New(Config{
		Backend: BackendConfig{URL: u, AccessKey: "a", SecretKey: "b"}, RootUser: "root", RootPassword: "password",
		KMS: kms, DefaultKey: "k", Logger: zap.New(core), Domain: "s3.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, target string
		header         map[string]string
		want           string
	}{
		{"GET", "/", nil, "ListBuckets"},
		{"PUT", "/b", nil, "CreateBucket"},
		{"PUT", "/b/", nil, "CreateBucket"},
		{"HEAD", "/b", nil, "HeadBucket"},
		{"DELETE", "/b", nil, "DeleteBucket"},
		{"GET", "/b", nil, "ListObjects"},
		{"GET", "/b?list-type=2&prefix=a", nil, "ListObjectsV2"},
		{"GET", "/b?versions", nil, "ListObjectVersions"},
		{"GET", "/b?uploads", nil, "ListMultipartUploads"},
		{"GET", "/b?location", nil, "GetBucketLocation"},
		{"GET", "/b?encryption", nil, "GetBucketEncryption"},
		{"PUT", "/b?encryption", nil, "PutBucketEncryption"},
		{"DELETE", "/b?encryption", nil, "DeleteBucketEncryption"},
		{"GET", "/b?versioning", nil, "GETBucketversioning"},
		{"PUT", "/b?policy", nil, "PUTBucketpolicy"},
		{"GET", "/b?object-lock", nil, "GETBucketobject-lock"},
		{"POST", "/b?delete", nil, "DeleteObjects"},
		{"POST", "/b", nil, "PostObject"},
		{"PUT", "/b/k", nil, "PutObject"},
		{"PUT", "/b/dir//k with space", nil, "PutObject"},
		{"PUT", "/b/k", map[string]string{"X-Amz-Copy-Source": "/b/o"}, "CopyObject"},
		{"GET", "/b/k", nil, "GetObject"},
		{"GET", "/b/a/../k", nil, "GetObject"},
		{"HEAD", "/b/k", nil, "HeadObject"},
		{"DELETE", "/b/k", nil, "DeleteObject"},
		{"POST", "/b/k?uploads", nil, "CreateMultipartUpload"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", nil, "UploadPart"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", map[string]string{"X-Amz-Copy-Source": "/b/o"}, "UploadPartCopy"},
		{"POST", "/b/k?uploadId=u", nil, "CompleteMultipartUpload"},
		{"DELETE", "/b/k?uploadId=u", nil, "AbortMultipartUpload"},
		{"GET", "/b/k?uploadId=u", nil, "ListParts"},
		{"GET", "/b/k?tagging", nil, "GetObjectTagging"},
		{"PUT", "/b/k?retention", nil, "PutObjectRetention"},
		{"GET", "/b/k?attributes", nil, "GetObjectAttributes"},
		{"PATCH", "/b/k", nil, "Unknown"},
		{"POST", "/minio/kms/v1/key/create?key-id=x", nil, "KMSCreateKey"},
		{"GET", "/minio/admin/v3/kms/key/status?key-id=x", nil, "KMSKeyStatus"},
		{"GET", "/", map[string]string{"Host": "b.s3.test"}, "ListObjects"},
		{"GET", "/dir/k", map[string]string{"Host": "b.s3.test:9010"}, "GetObject"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			logs.TakeAll()
			r := httptest.NewRequestWithContext(context.Background(), tc.method, "http://gw"+escapeTarget(tc.target), nil)
			for k, v := range tc.header {
				if k == "Host" {
					r.Host = v
					continue
				}
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusForbidden && w.Code != http.StatusServiceUnavailable {
				t.Errorf("status %d, want a refusal (unsigned request)", w.Code)
			}
			entries := logs.FilterMessage("request").All()
			if len(entries) != 1 {
				t.Fatalf("%d request log lines, want 1", len(entries))
			}
			if got := entries[0].ContextMap()["operation"]; got != tc.want {
				t.Errorf("operation %v, want %s", got, tc.want)
			}
		})
	}
}

func escapeTarget(t string) string {
	p, q, _ := strings.Cut(t, "?")
	u := url.URL{Path: p, RawQuery: q}
	return u.RequestURI()
}
