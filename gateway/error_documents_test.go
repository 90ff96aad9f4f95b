package gateway

import (
	"encoding/xml"
	"net/http"
	"sync"
	"testing"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// The rules error documents follow, one layer down from the error
// differential (test/differential_errors_test.go), which proves them
// against MinIO.
func TestErrorDocumentsNameWhatMinIOsName(t *testing.T) {
	var mu sync.Mutex
	observed := map[string]RequestInfo{}
	g := newTestGateway(t, func(c *Config) {
		c.Observe = func(info RequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			observed[info.RequestID] = info
		}
	})
	g.put(testBucket, "src", testData(100))
	id := g.createUpload(testBucket, "mpu")
	tests := []struct {
		name                  string
		method, target        string
		header                []string
		wantStatus            int
		wantCode              string
		wantBucket, wantKey   string
		wantResource          string
		wantObservedOperation string
	}{
		{name: "an operation s3seal does not serve names no bucket or key", method: http.MethodGet, target: objectTarget(testBucket, "src", "torrent"),
			wantStatus: 501, wantCode: "NotImplemented", wantResource: "/bkt/src", wantObservedOperation: "GetObjectTorrent"},
		{name: "a copy names its missing source key and its own path", method: http.MethodPut, target: objectTarget(testBucket, "dst", ""),
			header:     []string{"X-Amz-Copy-Source", "/bkt/no-such-source"},
			wantStatus: 404, wantCode: "NoSuchKey", wantBucket: testBucket, wantKey: "no-such-source", wantResource: "/bkt/dst", wantObservedOperation: "CopyObject"},
		{name: "a part copy with SSE-KMS headers is refused before its source is read", method: http.MethodPut,
			target: objectTarget(testBucket, "mpu", partQuery(id, 1)), header: []string{"X-Amz-Copy-Source", "/bkt/src", "X-Amz-Server-Side-Encryption", "aws:kms"},
			wantStatus: 501, wantCode: "NotImplemented", wantBucket: testBucket, wantKey: "mpu", wantResource: "/bkt/mpu", wantObservedOperation: "UploadPartCopy"},
		{name: "a copy range beyond the source is InvalidArgument", method: http.MethodPut,
			target: objectTarget(testBucket, "mpu", partQuery(id, 1)), header: []string{"X-Amz-Copy-Source", "/bkt/src", "X-Amz-Copy-Source-Range", "bytes=0-100"},
			wantStatus: 400, wantCode: "InvalidArgument", wantBucket: testBucket, wantKey: "src", wantResource: "/bkt/mpu", wantObservedOperation: "UploadPartCopy"},
		{name: "a missing bucket of an object operation is the request's path", method: http.MethodPut, target: objectTarget("no-such-bucket", "k", ""),
			header:     []string{"X-Amz-Copy-Source", "/no-such-bucket/src"},
			wantStatus: 404, wantCode: "NoSuchBucket", wantBucket: "no-such-bucket", wantKey: "src", wantResource: "/no-such-bucket/k", wantObservedOperation: "CopyObject"},
		{name: "a query refused before routing names no bucket or key and is observed under its id", method: http.MethodGet, target: objectTarget(testBucket, "src", "versionId=a&versionId=b"),
			wantStatus: 400, wantCode: "InvalidArgument", wantResource: "/bkt/src", wantObservedOperation: "MalformedQuery"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(tc.method, tc.target, nil, tc.header...)
			var doc s3err.Response
			if err := xml.Unmarshal(res.body, &doc); err != nil {
				t.Fatalf("%v: %v", res, err)
			}
			if res.status != tc.wantStatus || doc.Code != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", res.status, doc.Code, tc.wantStatus, tc.wantCode)
			}
			if doc.BucketName != tc.wantBucket || doc.Key != tc.wantKey || doc.Resource != tc.wantResource {
				t.Errorf("BucketName %q, Key %q, Resource %q; want %q, %q, %q", doc.BucketName, doc.Key, doc.Resource, tc.wantBucket, tc.wantKey, tc.wantResource)
			}
			reqID := res.header.Get("X-Amz-Request-Id")
			if reqID == "" || doc.RequestID != reqID {
				t.Errorf("RequestId %q, x-amz-request-id %q", doc.RequestID, reqID)
			}
			mu.Lock()
			info, ok := observed[reqID]
			mu.Unlock()
			if !ok || info.Operation != tc.wantObservedOperation || info.Status != tc.wantStatus {
				t.Errorf("observed %+v (%v), want operation %s, status %d", info, ok, tc.wantObservedOperation, tc.wantStatus)
			}
		})
	}
}

// In a plaintext bucket, requests the backend would execute as they are
// are still judged as MinIO judges them.
func TestPlaintextBucketsKeepMinIOsRefusals(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.PlaintextBuckets = []string{testBucket} })
	g.put(testBucket, "obj", testData(100))
	id := g.createUpload(testBucket, "mpu")
	t.Run("a part with an SSE-C algorithm other than AES256", func(t *testing.T) {
		header := append(ssecHeaders("", testData(32)), "X-Amz-Server-Side-Encryption-Customer-Algorithm", "AES128")
		res := g.do(http.MethodPut, objectTarget(testBucket, "mpu", partQuery(id, 1)), []byte("part"), header...)
		if res.status != http.StatusBadRequest || res.code() != "InvalidArgument" {
			t.Errorf("got %v, want 400 InvalidArgument", res)
		}
	})
	t.Run("HEAD with a range beyond the object", func(t *testing.T) {
		res := g.do(http.MethodHead, objectTarget(testBucket, "obj", ""), nil, "Range", "bytes=100-")
		if res.status != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("got %v, want 416", res)
		}
	})
}

// SSE-C headers over plain http are refused on every operation, as MinIO
// refuses them, not only where a key is used.
func TestSSECOverPlainHTTPRefusedEverywhere(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.AllowInsecureSSEC = false })
	g.put(testBucket, "obj", testData(10))
	for _, tc := range []struct{ name, method, target, prefix string }{
		{"GetObjectTagging", http.MethodGet, objectTarget(testBucket, "obj", "tagging"), "X-Amz-Server-Side-Encryption-Customer-"},
		{"ListObjects", http.MethodGet, "/" + testBucket, "X-Amz-Server-Side-Encryption-Customer-"},
		{"DeleteObject with a copy source key", http.MethodDelete, objectTarget(testBucket, "obj", ""), hdrCopySSECPrefix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(tc.method, tc.target, nil, tc.prefix+"Algorithm", "AES256")
			if res.status != http.StatusBadRequest || res.code() != "InvalidRequest" {
				t.Errorf("got %v, want 400 InvalidRequest", res)
			}
		})
	}
	if res := g.do(http.MethodGet, objectTarget(testBucket, "obj", ""), nil); res.status != http.StatusOK {
		t.Errorf("the object was deleted: %v", res)
	}
}
