package gateway

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// anonymous sends an unsigned request.
func (g *testGateway) anonymous(method, target string, body []byte, header ...string) *s3Response {
	g.t.Helper()
	r := httptest.NewRequestWithContext(g.t.Context(), method, "http://s3.test"+target, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return g.serve(r)
}

// setBucketPolicy stores doc as bucket's policy, as root.
func (g *testGateway) setBucketPolicy(bucket, doc string) {
	g.t.Helper()
	if res := g.do(http.MethodPut, "/"+bucket+"?policy", []byte(doc)); res.status != http.StatusNoContent {
		g.t.Fatalf("PutBucketPolicy: %v", res)
	}
}

// The documents mc anonymous set download|upload writes (mc's
// pkg/policy), for bucket bkt.
const (
	downloadPolicy = `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::bkt"]},
		{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::bkt/*"]}]}`
	uploadPolicy = `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucketMultipartUploads"],"Resource":["arn:aws:s3:::bkt"]},
		{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:AbortMultipartUpload","s3:DeleteObject","s3:ListMultipartUploadParts","s3:PutObject"],"Resource":["arn:aws:s3:::bkt/*"]}]}`
)

func TestAnonymousRequestsFollowTheBucketPolicy(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "doc.txt", []byte("public words"))
	objectPath := objectTarget(testBucket, "doc.txt", "")

	t.Run("without a policy everything is AccessDenied", func(t *testing.T) {
		g.be.forget()
		for _, target := range []string{objectPath, "/" + testBucket, "/" + testBucket + "?policyStatus", "/"} {
			if res := g.anonymous(http.MethodGet, target, nil); res.status != http.StatusForbidden || res.code() != "AccessDenied" {
				t.Errorf("GET %s: %v, want 403 AccessDenied", target, res)
			}
		}
		if calls := g.backendCalls(http.MethodGet, ""); len(calls) != 0 {
			t.Errorf("an anonymous request reached the backend: %+v", calls[0])
		}
	})

	g.setBucketPolicy(testBucket, downloadPolicy)
	t.Run("download: GET decrypts and serves", func(t *testing.T) {
		res := g.anonymous(http.MethodGet, objectPath, nil)
		if res.status != http.StatusOK || string(res.body) != "public words" {
			t.Fatalf("anonymous GET: %v", res)
		}
		if res := g.anonymous(http.MethodHead, objectPath, nil); res.status != http.StatusOK {
			t.Errorf("anonymous HEAD: %v", res)
		}
		if res := g.anonymous(http.MethodGet, "/"+testBucket+"?list-type=2", nil); res.status != http.StatusOK || !strings.Contains(string(res.body), "doc.txt") {
			t.Errorf("anonymous ListObjectsV2: %v", res)
		}
		if res := g.anonymous(http.MethodGet, "/"+testBucket+"?versions", nil); res.status != http.StatusOK {
			t.Errorf("anonymous ListObjectVersions (s3:ListBucket grants it, as in MinIO): %v", res)
		}
	})
	t.Run("download: everything else is AccessDenied", func(t *testing.T) {
		for _, tc := range []struct{ method, target string }{
			{http.MethodPut, objectTarget(testBucket, "new", "")},
			{http.MethodDelete, objectPath},
			{http.MethodGet, objectTarget(testBucket, "doc.txt", "tagging")},
			{http.MethodGet, "/" + testBucket + "?policy"},
			{http.MethodDelete, "/" + testBucket + "?policy"},
			{http.MethodGet, "/"},
			{http.MethodGet, "/minio/kms/v1/key/list?pattern=*"},
			{http.MethodGet, "/minio/admin/v3/kms/status"},
			{http.MethodPost, "/minio/kms/v1/key/create?key-id=anon"},
			{http.MethodGet, "/minio/admin/v3/info"},
		} {
			res := g.anonymous(tc.method, tc.target, []byte("x"))
			if res.status != http.StatusForbidden || !strings.Contains(string(res.body), "AccessDenied") {
				t.Errorf("anonymous %s %s: %v, want 403 AccessDenied", tc.method, tc.target, res)
			}
		}
		if _, _, ok := g.be.object(testBucket, "new"); ok {
			t.Error("an anonymous PUT reached the backend")
		}
	})
	t.Run("GetBucketPolicyStatus answers from s3seal's policy", func(t *testing.T) {
		g.be.forget()
		status := func() string {
			res := g.do(http.MethodGet, "/"+testBucket+"?policyStatus", nil)
			var doc struct {
				XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PolicyStatus"`
				IsPublic string
			}
			if err := xml.Unmarshal(res.body, &doc); err != nil || res.status != http.StatusOK {
				t.Fatalf("GetBucketPolicyStatus: %v (%v)", res, err)
			}
			return doc.IsPublic
		}
		if got := status(); got != "TRUE" {
			t.Errorf("IsPublic with a download policy = %s, want TRUE", got)
		}
		g.setBucketPolicy(testBucket, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["root"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::bkt/*"]}]}`)
		if got := status(); got != "FALSE" {
			t.Errorf("IsPublic with a policy for one user = %s, want FALSE", got)
		}
		if res := g.do(http.MethodDelete, "/"+testBucket+"?policy", nil); res.status != http.StatusNoContent {
			t.Fatal(res)
		}
		if got := status(); got != "FALSE" {
			t.Errorf("IsPublic without a policy = %s, want FALSE", got)
		}
		for _, c := range g.be.calls() {
			if c.Query.Has("policyStatus") {
				t.Errorf("GetBucketPolicyStatus reached the backend")
			}
		}
		if res := g.do(http.MethodGet, "/nosuchbucket?policyStatus", nil); res.code() != "NoSuchBucket" {
			t.Errorf("GetBucketPolicyStatus of a missing bucket: %v, want NoSuchBucket", res)
		}
	})
	t.Run("upload: PUT is encrypted, GET refused", func(t *testing.T) {
		g.setBucketPolicy(testBucket, uploadPolicy)
		if res := g.anonymous(http.MethodPut, objectTarget(testBucket, "dropped", ""), []byte("dropbox")); res.status != http.StatusOK {
			t.Fatalf("anonymous PUT: %v", res)
		}
		meta, stored := g.storedMetadata(testBucket, "dropped")
		if meta == nil || bytes.Contains(stored, []byte("dropbox")) {
			t.Error("the anonymous upload is stored in clear")
		}
		if res := g.anonymous(http.MethodGet, objectTarget(testBucket, "dropped", ""), nil); res.code() != "AccessDenied" {
			t.Errorf("anonymous GET under the upload policy: %v, want AccessDenied", res)
		}
		if res := g.anonymous(http.MethodPut, objectTarget(testBucket, "bad-md5", ""), []byte("dropbox"), "Content-Md5", "1B2M2Y8AsgTpgAmY7PhCfg=="); res.code() != "BadDigest" {
			t.Errorf("anonymous PUT with a wrong Content-MD5: %v, want BadDigest", res)
		}
		if _, _, ok := g.be.object(testBucket, "bad-md5"); ok {
			t.Error("an anonymous PUT with a wrong Content-MD5 was stored")
		}
	})
}

func TestExistingObjectTagConditionReadsTheObjectsTags(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "public", []byte("p"), "X-Amz-Tagging", "classification=public")
	g.put(testBucket, "secret", []byte("s"), "X-Amz-Tagging", "classification=secret")
	g.put(testBucket, "untagged", []byte("u"))
	tagsRead := func() int {
		n := 0
		for _, c := range g.backendCalls(http.MethodGet, testBucket) {
			if c.Query.Has("tagging") {
				n++
			}
		}
		return n
	}
	t.Run("without a policy naming the key, no tags are read", func(t *testing.T) {
		g.setBucketPolicy(testBucket, downloadPolicy)
		g.be.forget()
		if res := g.anonymous(http.MethodGet, objectTarget(testBucket, "secret", ""), nil); res.status != http.StatusOK {
			t.Fatalf("GET: %v", res)
		}
		if n := tagsRead(); n != 0 {
			t.Errorf("%d tag reads, want none", n)
		}
	})
	g.setBucketPolicy(testBucket, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",
		"Resource":"arn:aws:s3:::bkt/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/classification":"public"}}}]}`)
	for _, tc := range []struct {
		key        string
		wantStatus int
	}{
		{"public", http.StatusOK},
		{"secret", http.StatusForbidden},
		{"untagged", http.StatusForbidden},
		{"missing", http.StatusForbidden},
	} {
		t.Run("anonymous GET of "+tc.key, func(t *testing.T) {
			g.be.forget()
			if res := g.anonymous(http.MethodGet, objectTarget(testBucket, tc.key, ""), nil); res.status != tc.wantStatus {
				t.Errorf("got %v, want %d", res, tc.wantStatus)
			}
			if n := tagsRead(); n != 1 {
				t.Errorf("%d tag reads, want one", n)
			}
		})
	}
	t.Run("a Deny on the tag binds root", func(t *testing.T) {
		g.setBucketPolicy(testBucket, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject",
			"Resource":"arn:aws:s3:::bkt/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/classification":"secret"}}}]}`)
		if res := g.do(http.MethodGet, objectTarget(testBucket, "secret", ""), nil); res.code() != "AccessDenied" {
			t.Errorf("root GET of the secret object: %v, want AccessDenied", res)
		}
		if res := g.do(http.MethodGet, objectTarget(testBucket, "public", ""), nil); res.status != http.StatusOK {
			t.Errorf("root GET of the public object: %v", res)
		}
	})
}
