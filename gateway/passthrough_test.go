package gateway

import (
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOperationsS3sealDoesNotChangePassThroughResigned(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "k", []byte("data"))
	tagging := []byte(`<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>`)
	sum := md5.Sum(tagging)
	tests := []struct {
		name, method, target string
		body                 []byte
		header               []string
		wantStatus           int
		wantCode             string
	}{
		{"HeadBucket", http.MethodHead, "/" + testBucket, nil, nil, http.StatusOK, ""},
		{"HeadBucket of a missing bucket", http.MethodHead, "/nobucket", nil, nil, http.StatusNotFound, ""},
		{"CreateBucket", http.MethodPut, "/newbucket", nil, nil, http.StatusOK, ""},
		{"CreateBucket of an existing bucket", http.MethodPut, "/" + testBucket, nil, nil, http.StatusConflict, "BucketAlreadyOwnedByYou"},
		{"GetBucketLocation", http.MethodGet, "/" + testBucket + "?location", nil, nil, http.StatusOK, ""},
		{"PutObjectTagging with its Content-MD5", http.MethodPut, objectTarget(testBucket, "k", "tagging"), tagging,
			[]string{"Content-Md5", base64.StdEncoding.EncodeToString(sum[:])}, http.StatusNotImplemented, "NotImplemented"},
		{"RestoreObject", http.MethodPost, objectTarget(testBucket, "k", "restore"), nil, nil, http.StatusNotImplemented, "NotImplemented"},
		{"DeleteObject", http.MethodDelete, objectTarget(testBucket, "k", ""), nil, nil, http.StatusNoContent, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.be.forget()
			res := g.do(tc.method, tc.target, tc.body, tc.header...)
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Fatalf("got %v (code %q), want %d %q", res, res.code(), tc.wantStatus, tc.wantCode)
			}
			// s3seal's own records (a bucket policy lookup) aside.
			var calls []backendCall
			for _, c := range g.be.calls() {
				if c.Bucket != "s3seal-system" {
					calls = append(calls, c)
				}
			}
			if len(calls) != 1 {
				t.Fatalf("backend got %d requests, want 1", len(calls))
			}
			c := calls[0]
			if c.Method != tc.method || string(c.Body) != string(tc.body) {
				t.Errorf("backend got %s with %q, want %s with the client's body", c.Method, c.Body, tc.method)
			}
			if got := c.Header.Get("Authorization"); !strings.Contains(got, "Credential=backend-user/") {
				t.Errorf("backend Authorization %q, want a signature by the backend's credentials", got)
			}
			for i := 0; i+1 < len(tc.header); i += 2 {
				if got := c.Header.Get(tc.header[i]); got != tc.header[i+1] {
					t.Errorf("backend %s %q, want the client's %q", tc.header[i], got, tc.header[i+1])
				}
			}
			checkNoReservedHeaders(t, tc.name, res.header)
		})
	}
	if _, _, ok := g.be.object(testBucket, "k"); ok {
		t.Errorf("the object outlived DeleteObject")
	}
}

func TestDeleteBucketForgetsItsEncryption(t *testing.T) {
	g := newTestGateway(t, nil)
	g.setBucketEncryption(testBucket, otherKey)
	g.put(testBucket, "k", []byte("x"))
	if res := g.do(http.MethodDelete, "/"+testBucket, nil); res.status != http.StatusConflict || res.code() != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket of a bucket with an object: %v, want 409 BucketNotEmpty", res)
	}
	if keys := g.recordKeys("buckets/" + testBucket + "/"); len(keys) != 1 {
		t.Errorf("encryption records %q after a failed DeleteBucket, want the configuration kept", keys)
	}
	if res := g.do(http.MethodDelete, objectTarget(testBucket, "k", ""), nil); res.status != http.StatusNoContent {
		t.Fatalf("DeleteObject: %v", res)
	}
	if res := g.do(http.MethodDelete, "/"+testBucket, nil); res.status != http.StatusNoContent {
		t.Fatalf("DeleteBucket: %v", res)
	}
	if keys := g.recordKeys("buckets/" + testBucket + "/"); len(keys) != 0 {
		t.Errorf("encryption records %q outlived their bucket", keys)
	}
	if res := g.do(http.MethodPut, "/"+testBucket, nil); res.status != http.StatusOK {
		t.Fatalf("CreateBucket: %v", res)
	}
	g.put(testBucket, "k", []byte("x"))
	if meta, _ := g.storedMetadata(testBucket, "k"); meta.KeyID != "default-key" {
		t.Errorf("a new bucket of the old name encrypts under %q, want default-key", meta.KeyID)
	}
}

func TestOperationsThatWouldExposeCiphertextAreRefused(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "k", []byte("data"))
	g.be.forget()
	for _, target := range []string{objectTarget(testBucket, "k", "select&select-type=2")} {
		method := http.MethodGet
		if strings.Contains(target, "select") {
			method = http.MethodPost
		}
		if res := g.do(method, target, nil, "X-Amz-Object-Attributes", "Checksum"); res.status != http.StatusNotImplemented || res.code() != "NotImplemented" {
			t.Errorf("%s %s: %v, want 501 NotImplemented", method, target, res)
		}
	}
	if calls := g.be.calls(); len(calls) != 0 {
		t.Errorf("backend got %d requests, want none", len(calls))
	}
}

func TestRequestsAreAuthenticatedBeforeTheBackend(t *testing.T) {
	g := newTestGateway(t, nil)
	tests := []struct {
		name     string
		request  func() *http.Request
		wantCode string
	}{
		{"an unsigned request", func() *http.Request {
			return httptest.NewRequestWithContext(t.Context(), http.MethodGet, "http://s3.test/"+testBucket+"/k", nil)
		}, "AccessDenied"},
		{"a wrong secret", func() *http.Request {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "http://s3.test/"+testBucket+"/k", nil)
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			return signV4(r, testRoot, "not the password")
		}, "SignatureDoesNotMatch"},
		{"an unknown access key", func() *http.Request {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "http://s3.test/"+testBucket+"/k", nil)
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			return signV4(r, "nobody", testPassword)
		}, "InvalidAccessKeyId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.be.forget()
			res := g.serve(tc.request())
			if res.status != http.StatusForbidden || res.code() != tc.wantCode {
				t.Errorf("got %v (code %q), want 403 %s", res, res.code(), tc.wantCode)
			}
			// An unsigned request is anonymous: s3seal reads the
			// bucket's policy from its records, nothing else.
			for _, c := range g.be.calls() {
				if c.Bucket != g.s.cfg.SystemBucket {
					t.Errorf("backend got %s /%s/%s, want nothing outside the system bucket", c.Method, c.Bucket, c.Object)
				}
			}
		})
	}
}

func TestAGatewayNotInitialisedRefusesS3Requests(t *testing.T) {
	g := newTestGateway(t, nil)
	g.s.ready.Store(false)
	if res := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil); res.status != http.StatusServiceUnavailable || res.code() != "ServiceUnavailable" {
		t.Errorf("GET before Init: %v, want 503 ServiceUnavailable", res)
	}
}
