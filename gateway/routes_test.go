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
		{"GET", "/b?versioning", nil, "GetBucketVersioning"},
		{"PUT", "/b?policy", nil, "PutBucketPolicy"},
		{"GET", "/b?object-lock", nil, "GetBucketObjectLockConfig"},
		{"POST", "/b?delete", nil, "DeleteObjects"},
		{"POST", "/b", nil, "NotImplemented"},
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
		{"PATCH", "/b/k", nil, "NotImplemented"},
		// Keys are matched decoded, as SigV4 and the backend read them.
		{"POST", "/b/k?%75ploads", nil, "CreateMultipartUpload"},
		{"PUT", "/b/k?%70artNumber=1&%75ploadId=u&tagging", nil, "UploadPart"},
		{"POST", "/b/k?%75ploadId=u", nil, "CompleteMultipartUpload"},
		{"DELETE", "/b?%70olicy", nil, "DeleteBucketPolicy"},
		{"GET", "/b?list%2Dtype=2", nil, "ListObjectsV2"},
		// MinIO's precedence.
		{"PUT", "/b/k?retention", map[string]string{"X-Amz-Copy-Source": "/p/src"}, "CopyObject"},
		{"PUT", "/b/k?legal-hold", map[string]string{"X-Amz-Copy-Source": "p%2Fsrc"}, "CopyObject"},
		{"PUT", "/b/k?legal-hold", nil, "PutObjectLegalHold"},
		{"PUT", "/b/k", map[string]string{"X-Amz-Copy-Source": "noslash"}, "PutObject"},
		{"GET", "/b/k?uploadId=u&attributes", nil, "GetObjectAttributes"},
		{"PUT", "/b/k?tagging&acl", nil, "PutObjectAcl"},
		{"GET", "/b/k?torrent", nil, "GetObjectTorrent"},
		{"DELETE", "/b/k?acl", nil, "DeleteObjectAcl"},
		{"GET", "/b/k?lambdaArn=x", nil, "GetObjectLambda"},
		{"PUT", "/b/k", map[string]string{"X-Amz-Meta-Snowball-Auto-Extract": "true"}, "PutObjectExtract"},
		{"PUT", "/b/k", map[string]string{"X-Amz-Write-Offset-Bytes": "0"}, "AppendObject"},
		{"POST", "/b/k?select&select-type=2", nil, "SelectObjectContent"},
		{"POST", "/b/k?select", nil, "NotImplemented"},
		{"POST", "/b/k", nil, "NotImplemented"},
		{"GET", "/b?list-type=2&metadata=true", nil, "ListObjectsV2M"},
		{"GET", "/b?list-type=1", nil, "ListObjects"},
		{"GET", "/b?versions&metadata=true", nil, "ListObjectVersionsM"},
		{"GET", "/b?events=x", nil, "ListenBucketNotification"},
		{"PUT", "/b?replication-reset", nil, "ResetBucketReplication"},
		{"GET", "/b?publicAccessBlock", nil, "UnsupportedBucketSubresource"},
		{"PUT", "/b?inventory", nil, "UnsupportedBucketSubresource"},
		{"DELETE", "/b?ownershipControls", nil, "UnsupportedBucketSubresource"},
		{"DELETE", "/b?versioning", nil, "UnsupportedBucketSubresource"},
		{"PUT", "/b?website", nil, "UnsupportedBucketSubresource"},
		{"GET", "/b?delete", nil, "UnsupportedBucketSubresource"},
		{"GET", "/?events=x", nil, "ListenNotification"},
		{"PUT", "/", nil, "NotImplemented"},
		{"GET", "//b/k", nil, "NotImplemented"},
		// The backend's admin and vendor APIs are never reachable.
		{"GET", "/minio/admin/v3/info", nil, "NotImplemented"},
		{"POST", "/minio/admin/v3/service?action=stop", nil, "NotImplemented"},
		{"PUT", "/minio/admin/v3/set-config-kv", nil, "NotImplemented"},
		{"PUT", "/minio/admin/v3/add-user?accessKey=x", nil, "AddUser"}, // s3seal's own IAM API
		{"GET", "/minio/v2/metrics/cluster", nil, "NotImplemented"},
		{"PUT", "/minio", nil, "NotImplemented"},
		{"GET", "/minio/k", map[string]string{"Host": "minio.s3.test"}, "NotImplemented"},
		{"POST", "/minio/kms/v1/key/create?key-id=x", nil, "KMSCreateKey"},
		{"GET", "/minio/admin/v3/kms/key/status?key-id=x", nil, "KMSKeyStatus"},
		{"POST", "/minio/kms/v1/key/rotate?key-id=x", nil, "KMSRotateKey"},
		{"GET", "/minio/kms/v1/key/rotate?key-id=x", nil, "NotImplemented"},
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

// TestEveryOperationRoutesToItself: the sample request Operations gives
// for each route is routed to that route (or, for a name with several
// routes, one of that name), so tests built on Operations really reach
// every operation.
func TestEveryOperationRoutesToItself(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	kms := kmsclient.New(&mem.Store{}, kmsclient.Config{})
	t.Cleanup(func() { _ = kms.Close() })
	u, _ := url.Parse("http://127.0.0.1:1")
	s, err := New(Config{Backend: BackendConfig{URL: u, AccessKey: "a", SecretKey: "b"}, RootUser: "root", RootPassword: "password",
		KMS: kms, DefaultKey: "k", Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	ops := Operations()
	if len(ops) < 80 {
		t.Fatalf("%d operations, want the whole table", len(ops))
	}
	for _, op := range ops {
		if op.Name == "PostObject" {
			continue // authenticates by its form, logged apart
		}
		target := map[string]string{rootPath: "/", bucketPath: "/bkt", objectPath: "/bkt/key"}[op.Path]
		r := httptest.NewRequestWithContext(context.Background(), op.Method, "http://gw"+target+"?"+strings.Join(op.Query, "&"), nil)
		for k, v := range op.Header {
			r.Header[k] = v
		}
		logs.TakeAll()
		s.ServeHTTP(httptest.NewRecorder(), r)
		entries := logs.FilterMessage("request").All()
		if len(entries) != 1 || entries[0].ContextMap()["operation"] != op.Name {
			t.Errorf("%s %s?%s routed as %v, want %s", op.Method, target, strings.Join(op.Query, "&"), entries, op.Name)
		}
	}
}
