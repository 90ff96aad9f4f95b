package gateway

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

func TestSSEHeaderMistakesAreRefusedBeforeTheBackend(t *testing.T) {
	ctx := base64.StdEncoding.EncodeToString([]byte(`{"app":"x"}`))
	short := ssecHeaders("", ssecKey)
	short[3] = base64.StdEncoding.EncodeToString(ssecKey[:16])
	wrongMD5 := ssecHeaders("", ssecKey)
	wrongMD5[5] = ssecHeaders("", bytes.Repeat([]byte{1}, 32))[5]
	badAlg := ssecHeaders("", ssecKey)
	badAlg[1] = "AES128"
	tests := []struct {
		name       string
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"AES256 with a KMS key id", []string{hdrSSE, "AES256", hdrSSEKeyID, otherKey}, http.StatusBadRequest, "InvalidArgument"},
		{"AES256 with a KMS context", []string{hdrSSE, "AES256", hdrSSEContext, ctx}, http.StatusBadRequest, "InvalidArgument"},
		{"a KMS key id without aws:kms", []string{hdrSSEKeyID, otherKey}, http.StatusBadRequest, "InvalidArgument"},
		{"a KMS context without aws:kms", []string{hdrSSEContext, ctx}, http.StatusBadRequest, "InvalidArgument"},
		{"an unknown algorithm", []string{hdrSSE, "aws:kms:dsse"}, http.StatusBadRequest, "InvalidArgument"},
		{"a KMS context that is not base64", []string{hdrSSE, "aws:kms", hdrSSEContext, "{not base64"}, http.StatusBadRequest, "InvalidArgument"},
		{"a KMS context that is not a JSON object", []string{hdrSSE, "aws:kms", hdrSSEContext, base64.StdEncoding.EncodeToString([]byte(`["a"]`))}, http.StatusBadRequest, "InvalidArgument"},
		{"an unknown KMS key", []string{hdrSSE, "aws:kms", hdrSSEKeyID, "no-such-key"}, http.StatusNotFound, "kms:KeyNotFound"},
		{"an invalid KMS key name", []string{hdrSSE, "aws:kms", hdrSSEKeyID, "-bad-"}, http.StatusBadRequest, "InvalidArgument"},
		{"SSE-C with SSE-S3", append(ssecHeaders("", ssecKey), hdrSSE, "AES256"), http.StatusBadRequest, "InvalidArgument"},
		{"SSE-C with a KMS key id", append(ssecHeaders("", ssecKey), hdrSSEKeyID, otherKey), http.StatusBadRequest, "InvalidArgument"},
		{"SSE-C with another algorithm (as MinIO answers)", badAlg, http.StatusBadRequest, "InvalidArgument"},
		{"SSE-C with a 16-byte key", short, http.StatusBadRequest, "InvalidArgument"},
		{"SSE-C with a wrong key MD5", wrongMD5, http.StatusBadRequest, "InvalidArgument"},
		{"SSE-C without the key MD5", ssecHeaders("", ssecKey)[:4], http.StatusBadRequest, "InvalidArgument"},
		{"SSE-C without the key", append(ssecHeaders("", ssecKey)[:2:2], ssecHeaders("", ssecKey)[4:]...), http.StatusBadRequest, "InvalidArgument"},
		{"metadata in s3seal's namespace", []string{"X-Amz-Meta-S3seal-Domain", "plain"}, http.StatusBadRequest, "InvalidArgument"},
	}
	g := newTestGateway(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops := []struct {
				method, query string
				body          []byte
			}{{http.MethodPut, "", []byte("secret")}, {http.MethodPost, "uploads", nil}}
			for _, op := range ops {
				g.be.forget()
				res := g.do(op.method, objectTarget(testBucket, "k", op.query), op.body, tc.header...)
				if res.status != tc.wantStatus || res.code() != tc.wantCode {
					t.Errorf("%s ?%s: %v (code %q), want %d %s", op.method, op.query, res, res.code(), tc.wantStatus, tc.wantCode)
				}
				if calls := g.backendCalls(op.method, testBucket); len(calls) != 0 {
					t.Errorf("%s ?%s reached the backend", op.method, op.query)
				}
			}
		})
	}
}

func TestSSECNeedsTLSUnlessAllowed(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.AllowInsecureSSEC = false })
	res := g.do(http.MethodPut, objectTarget(testBucket, "k", ""), []byte("x"), ssecHeaders("", ssecKey)...)
	if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "secure connection") {
		t.Errorf("SSE-C PUT over http: %v, want 400 InvalidRequest about a secure connection", res)
	}
	if puts := g.backendCalls(http.MethodPut, ""); len(puts) != 0 {
		t.Errorf("the backend got %d PUTs", len(puts))
	}
}

func TestReadsRefuseWrongSSEHeaders(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "s3", []byte("sse-s3 object"))
	g.put(testBucket, "c", []byte("sse-c object"), ssecHeaders("", ssecKey)...)
	tests := []struct {
		name       string
		key        string
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"SSE-S3 header on a read", "s3", []string{hdrSSE, "AES256"}, http.StatusBadRequest, "BadRequest"},
		{"SSE-KMS header on a read", "s3", []string{hdrSSE, "aws:kms"}, http.StatusBadRequest, "BadRequest"},
		{"a KMS key id on a read", "s3", []string{hdrSSEKeyID, otherKey}, http.StatusBadRequest, "BadRequest"},
		{"an SSE-C key for an SSE-S3 object", "s3", ssecHeaders("", ssecKey), http.StatusBadRequest, "InvalidRequest"},
		{"an SSE-C object without its key", "c", nil, http.StatusBadRequest, "InvalidRequest"},
		{"an SSE-C object with another key", "c", ssecHeaders("", bytes.Repeat([]byte{2}, 32)), http.StatusForbidden, "AccessDenied"},
		{"an SSE-C object with a malformed key", "c", ssecHeaders("", ssecKey)[:4], http.StatusBadRequest, "InvalidArgument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rng := range []string{"", "bytes=1-3"} {
				header := tc.header
				if rng != "" {
					header = append([]string{"Range", rng}, header...)
				}
				get := g.do(http.MethodGet, objectTarget(testBucket, tc.key, ""), nil, header...)
				if get.status != tc.wantStatus || get.code() != tc.wantCode {
					t.Errorf("GET (Range %q): %v (code %q), want %d %s", rng, get, get.code(), tc.wantStatus, tc.wantCode)
				}
				if bytes.Contains(get.body, []byte("object")) && get.code() == "" {
					t.Errorf("GET (Range %q) served data", rng)
				}
			}
			head := g.do(http.MethodHead, objectTarget(testBucket, tc.key, ""), nil, tc.header...)
			if head.status != tc.wantStatus {
				t.Errorf("HEAD: status %d, want %d", head.status, tc.wantStatus)
			}
		})
	}
}

func TestSSEKMSContextIsBoundAndAnswered(t *testing.T) {
	g := newTestGateway(t, nil)
	ctx := base64.StdEncoding.EncodeToString([]byte(`{"tenant":"a","app":"b"}`))
	res := g.put(testBucket, "k", []byte("bound"), hdrSSE, "aws:kms", hdrSSEKeyID, otherKey, hdrSSEContext, ctx)
	// Stored and answered as JSON with sorted keys.
	want := base64.StdEncoding.EncodeToString([]byte(`{"app":"b","tenant":"a"}`))
	if got := res.header.Get(hdrSSEContext); got != want {
		t.Errorf("PUT %s %q, want %q", hdrSSEContext, got, want)
	}
	head := g.do(http.MethodHead, objectTarget(testBucket, "k", ""), nil)
	if got := head.header.Get(hdrSSEContext); got != want {
		t.Errorf("HEAD %s %q, want %q", hdrSSEContext, got, want)
	}
	// The context is bound to the sealed data key: altering it on the
	// backend makes the object unreadable, never readable under another.
	g.be.alter(testBucket, "k", func(o *memObject) {
		o.header.Set("X-Amz-Meta-S3seal-Kms-Context", base64.StdEncoding.EncodeToString([]byte(`{"app":"b","tenant":"z"}`)))
	})
	if get := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil); get.status != http.StatusInternalServerError || get.code() != "ObjectTampered" {
		t.Errorf("GET with an altered context: %v, want 500 ObjectTampered", get)
	}
}

func TestBucketEncryptionConfiguration(t *testing.T) {
	g := newTestGateway(t, nil)
	get := func() *s3Response { return g.do(http.MethodGet, "/"+testBucket+"?encryption", nil) }
	if res := get(); res.status != http.StatusNotFound || res.code() != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Fatalf("GetBucketEncryption without one: %v (code %q), want 404", res, res.code())
	}
	g.setBucketEncryption(testBucket, "arn:aws:kms:"+otherKey)
	if res := get(); res.status != http.StatusOK || !strings.Contains(string(res.body), "<KMSMasterKeyID>arn:aws:kms:"+otherKey+"</KMSMasterKeyID>") {
		t.Errorf("GetBucketEncryption: %v, want the key id as sent", res)
	}
	// The configuration is an encrypted record, not plaintext JSON.
	for _, k := range g.recordKeys("buckets/") {
		if body, _, _ := g.be.object(g.s.cfg.SystemBucket, k); bytes.Contains(body, []byte(otherKey)) {
			t.Errorf("record %s holds the configuration in plaintext", k)
		}
	}
	g.put(testBucket, "by-default", []byte("x"))
	if meta, _ := g.storedMetadata(testBucket, "by-default"); meta.KeyID != otherKey {
		t.Errorf("an object written under the bucket default uses key %q, want %q", meta.KeyID, otherKey)
	}
	if res := g.do(http.MethodDelete, "/"+testBucket+"?encryption", nil); res.status != http.StatusNoContent {
		t.Fatalf("DeleteBucketEncryption: %v", res)
	}
	if res := get(); res.status != http.StatusNotFound {
		t.Errorf("GetBucketEncryption after delete: %v, want 404", res)
	}
	g.put(testBucket, "after", []byte("x"))
	if meta, _ := g.storedMetadata(testBucket, "after"); meta.KeyID != "default-key" {
		t.Errorf("an object written after the delete uses key %q, want default-key", meta.KeyID)
	}

	refusals := []struct {
		name, doc  string
		bucket     string
		wantStatus int
		wantCode   string
	}{
		{"an unknown key", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>nope</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
			testBucket, http.StatusNotFound, "kms:KeyNotFound"},
		{"AES256 with a key", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
			testBucket, http.StatusBadRequest, "MalformedXML"},
		{"not XML", `nope`, testBucket, http.StatusBadRequest, "MalformedXML"},
		{"a missing bucket", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
			"nobucket", http.StatusNotFound, "NoSuchBucket"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(http.MethodPut, "/"+tc.bucket+"?encryption", []byte(tc.doc))
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Errorf("PutBucketEncryption: %v (code %q), want %d %s", res, res.code(), tc.wantStatus, tc.wantCode)
			}
		})
	}
}
