package gateway

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"testing"

	"github.com/s3seal/s3seal/crypto"
)

const plaintextBucket = "public"

func TestCopyObjectBetweenEncryptions(t *testing.T) {
	data := testData(2*crypto.PackageSize + 77)
	dstKey := bytes.Repeat([]byte{5}, 32)
	type side struct {
		name   string
		bucket string
		header []string // the source's PUT headers, or the destination's copy headers
		read   []string // the headers a GET needs
		domain crypto.Domain
		kmsKey string
		plain  bool
	}
	sources := []side{
		{name: "plaintext stored before s3seal", bucket: testBucket, plain: true},
		{name: "plaintext bucket", bucket: plaintextBucket, plain: true},
		{name: "SSE-S3", bucket: testBucket, domain: crypto.DomainS3, kmsKey: "default-key"},
		{name: "SSE-KMS", bucket: testBucket, header: []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey}, domain: crypto.DomainKMS, kmsKey: otherKey},
		{name: "SSE-C", bucket: testBucket, header: ssecHeaders("", ssecKey), read: ssecHeaders("", ssecKey), domain: crypto.DomainC},
	}
	destinations := []side{
		{name: "default encryption", bucket: testBucket, domain: crypto.DomainS3, kmsKey: "default-key"},
		{name: "SSE-KMS", bucket: testBucket, header: []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey}, domain: crypto.DomainKMS, kmsKey: otherKey},
		{name: "SSE-C", bucket: testBucket, header: ssecHeaders("", dstKey), read: ssecHeaders("", dstKey), domain: crypto.DomainC},
		{name: "plaintext bucket", bucket: plaintextBucket, plain: true},
	}
	for _, src := range sources {
		for _, dst := range destinations {
			t.Run(src.name+" to "+dst.name, func(t *testing.T) {
				g := newTestGateway(t, func(c *Config) {
					c.PlaintextBuckets = []string{plaintextBucket}
					// Objects stored before s3seal are read only from buckets
					// opted into legacy plaintext reads.
					c.LegacyPlaintextReadBuckets = []string{testBucket}
				})
				g.be.buckets[plaintextBucket] = map[string]*memObject{}
				if src.name == "plaintext stored before s3seal" {
					g.be.buckets[testBucket]["src"] = &memObject{body: data, header: http.Header{"X-Amz-Meta-Color": {"blue"}}, etag: quotedMD5(data)}
				} else {
					g.put(src.bucket, "src", data, append([]string{"X-Amz-Meta-Color", "blue"}, src.header...)...)
				}
				g.be.forget()
				header := append([]string{"X-Amz-Copy-Source", src.bucket + "/src"}, dst.header...)
				if src.domain == crypto.DomainC {
					header = append(header, ssecHeaders("X-Amz-Copy-Source-", ssecKey)...)
				}
				res := g.do(http.MethodPut, objectTarget(dst.bucket, "dst", ""), nil, header...)
				var doc struct {
					XMLName xml.Name
					ETag    string
				}
				if err := xml.Unmarshal(res.body, &doc); res.status != http.StatusOK || err != nil || doc.XMLName.Local != "CopyObjectResult" || doc.ETag == "" {
					t.Fatalf("CopyObject: %v", res)
				}
				body, stored, _ := g.be.object(dst.bucket, "dst")
				want := quotedMD5(body) // the backend's
				if dst.domain == crypto.DomainS3 && (src.plain || src.domain == crypto.DomainS3) {
					// An SSE-S3 copy of a source whose MD5 is known: the
					// plaintext's MD5, as on AWS.
					want = quotedMD5(data)
				}
				if got := doc.ETag; got != want {
					t.Errorf("CopyObjectResult ETag %s, want %s", got, want)
				}
				if head := g.do(http.MethodHead, objectTarget(dst.bucket, "dst", ""), nil, dst.read...); head.header.Get("ETag") != want {
					t.Errorf("HEAD of the copy: ETag %s, want %s", head.header.Get("ETag"), want)
				}
				if got := stored.Get("X-Amz-Meta-Color"); got != "blue" {
					t.Errorf("copied object's X-Amz-Meta-Color %q, want the source's", got)
				}
				if dst.plain {
					if !bytes.Equal(body, data) {
						t.Errorf("the plaintext bucket holds %d bytes that are not the plaintext", len(body))
					}
					if res.header.Get(hdrSSE) != "" || res.header.Get(hdrSSECAlgorithm) != "" {
						t.Errorf("a copy into a plaintext bucket answered SSE headers")
					}
				} else {
					meta, err := crypto.DecodeMetadata(stored.Get)
					if err != nil {
						t.Fatalf("destination metadata: %v", err)
					}
					if meta.Domain != dst.domain || meta.KeyID != dst.kmsKey {
						t.Errorf("destination domain %v key %q, want %v %q", meta.Domain, meta.KeyID, dst.domain, dst.kmsKey)
					}
					if bytes.Contains(body, data[:64]) {
						t.Errorf("the destination holds plaintext")
					}
					serverSide := !src.plain
					copies := 0
					for _, c := range g.backendCalls(http.MethodPut, testBucket) {
						if c.Header.Get("X-Amz-Copy-Source") != "" {
							copies++
							if c.Header.Get("X-Amz-Copy-Source-If-Match") == "" {
								t.Errorf("backend copy not pinned to the source version (no X-Amz-Copy-Source-If-Match)")
							}
						} else {
							checkCiphertextPut(t, c, data)
						}
					}
					if serverSide != (copies == 1) {
						t.Errorf("backend copies %d for a source encrypted=%v, want the backend to copy ciphertext exactly when both sides are encrypted", copies, serverSide)
					}
				}
				checkNoReservedHeaders(t, "CopyObject", res.header)
				get := g.do(http.MethodGet, objectTarget(dst.bucket, "dst", ""), nil, dst.read...)
				if get.status != http.StatusOK || !bytes.Equal(get.body, data) {
					t.Errorf("GET of the copy: status %d, %d bytes, want 200 and the source's %d bytes", get.status, len(get.body), len(data))
				}
			})
		}
	}
}

func TestCopyObjectToItselfRotatesKeysWithoutReencrypting(t *testing.T) {
	data := testData(crypto.PackageSize + 5)
	newKey := bytes.Repeat([]byte{3}, 32)
	tests := []struct {
		name      string
		put       []string
		copy      []string
		read      []string
		oldRead   []string // a read with the old headers must fail, if set
		wantKMS   string
		wantMD5Of []byte // SSE-C: the new key
	}{
		{name: "SSE-S3 to SSE-KMS", copy: []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey}, wantKMS: otherKey},
		{name: "SSE-KMS to another KMS key", put: []string{hdrSSE, "aws:kms"}, copy: []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey}, wantKMS: otherKey},
		{name: "SSE-KMS back to SSE-S3", put: []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey}, copy: []string{hdrSSE, "AES256"}, wantKMS: "default-key"},
		{name: "SSE-C to a new customer key", put: ssecHeaders("", ssecKey),
			copy: append(ssecHeaders("X-Amz-Copy-Source-", ssecKey), ssecHeaders("", newKey)...),
			read: ssecHeaders("", newKey), oldRead: ssecHeaders("", ssecKey), wantMD5Of: newKey},
		{name: "SSE-C to SSE-KMS", put: ssecHeaders("", ssecKey),
			copy:    append(ssecHeaders("X-Amz-Copy-Source-", ssecKey), hdrSSE, "aws:kms", hdrSSEKeyID, otherKey),
			oldRead: ssecHeaders("", ssecKey), wantKMS: otherKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.put(testBucket, "k", data, tc.put...)
			before, _, _ := g.be.object(testBucket, "k")
			res := g.do(http.MethodPut, objectTarget(testBucket, "k", ""), nil, append([]string{"X-Amz-Copy-Source", testBucket + "/k"}, tc.copy...)...)
			if res.status != http.StatusOK {
				t.Fatalf("CopyObject to itself: %v", res)
			}
			meta, after := g.storedMetadata(testBucket, "k")
			if !bytes.Equal(before, after) {
				t.Errorf("the ciphertext changed: a key rotation must only re-seal the object key")
			}
			if meta.KeyID != tc.wantKMS {
				t.Errorf("KMS key after rotation %q, want %q", meta.KeyID, tc.wantKMS)
			}
			if tc.wantMD5Of != nil && meta.SSECKeyMD5 != ssecHeaders("", tc.wantMD5Of)[5] {
				t.Errorf("SSE-C key MD5 after rotation %q, want the new key's", meta.SSECKeyMD5)
			}
			get := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil, tc.read...)
			if get.status != http.StatusOK || !bytes.Equal(get.body, data) {
				t.Errorf("GET after rotation: status %d, %d bytes", get.status, len(get.body))
			}
			if tc.oldRead != nil {
				if old := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil, tc.oldRead...); old.status < 400 {
					t.Errorf("GET with the old SSE-C key after rotation: %v, want a refusal", old)
				}
			}
		})
	}
}

func TestCopyObjectMetadataDirectives(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "src", []byte("data"), "X-Amz-Meta-Color", "blue", "Content-Type", "text/plain")
	tests := []struct {
		name       string
		header     []string
		wantColor  string
		wantShape  string
		wantType   string
		wantStatus int
		wantCode   string
	}{
		{name: "COPY keeps the source's metadata", header: []string{"X-Amz-Metadata-Directive", "COPY", "X-Amz-Meta-Shape", "round"},
			wantColor: "blue", wantType: "text/plain", wantStatus: http.StatusOK},
		{name: "no directive means COPY", header: []string{"Content-Type", "image/png"}, wantColor: "blue", wantType: "text/plain", wantStatus: http.StatusOK},
		{name: "REPLACE takes the request's metadata", header: []string{"X-Amz-Metadata-Directive", "REPLACE", "X-Amz-Meta-Shape", "round", "Content-Type", "image/png"},
			wantShape: "round", wantType: "image/png", wantStatus: http.StatusOK},
		{name: "an unknown directive", header: []string{"X-Amz-Metadata-Directive", "MERGE"}, wantStatus: http.StatusBadRequest, wantCode: "InvalidArgument"},
		{name: "reserved metadata", header: []string{"X-Amz-Metadata-Directive", "REPLACE", "X-Amz-Meta-S3seal-Kms-Key-Id", "x"}, wantStatus: http.StatusBadRequest, wantCode: "InvalidArgument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(http.MethodPut, objectTarget(testBucket, "dst", ""), nil, append([]string{"X-Amz-Copy-Source", "/" + testBucket + "/src"}, tc.header...)...)
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Fatalf("CopyObject: %v (code %q), want %d %q", res, res.code(), tc.wantStatus, tc.wantCode)
			}
			if tc.wantStatus != http.StatusOK {
				return
			}
			head := g.do(http.MethodHead, objectTarget(testBucket, "dst", ""), nil)
			if got := userMeta(head.header, "color"); got != tc.wantColor {
				t.Errorf("X-Amz-Meta-Color %q, want %q", got, tc.wantColor)
			}
			if got := userMeta(head.header, "shape"); got != tc.wantShape {
				t.Errorf("X-Amz-Meta-Shape %q, want %q", got, tc.wantShape)
			}
			if got := head.header.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type %q, want %q", got, tc.wantType)
			}
			if _, stored, _ := g.be.object(testBucket, "dst"); stored.Get(crypto.MetadataPrefix+"Kms-Key-Id") != "default-key" {
				t.Errorf("the copy's sealed key metadata is not s3seal's own")
			}
		})
	}
}

func TestCopyObjectRefusals(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "plain-src", []byte("data"))
	g.put(testBucket, "ssec-src", []byte("data"), ssecHeaders("", ssecKey)...)
	tests := []struct {
		name       string
		target     string
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"a copy to itself changing nothing", "plain-src", []string{"X-Amz-Copy-Source", testBucket + "/plain-src"}, http.StatusBadRequest, "InvalidRequest"},
		{"a missing source", "dst", []string{"X-Amz-Copy-Source", testBucket + "/missing"}, http.StatusNotFound, "NoSuchKey"},
		{"a source without a key", "dst", []string{"X-Amz-Copy-Source", testBucket}, http.StatusBadRequest, "InvalidArgument"},
		{"the system bucket as source", "dst", []string{"X-Amz-Copy-Source", "s3seal-system/keys/index-mac"}, http.StatusForbidden, "AccessDenied"},
		{"an SSE-C source without its key", "dst", []string{"X-Amz-Copy-Source", testBucket + "/ssec-src"}, http.StatusBadRequest, "InvalidRequest"},
		{"an SSE-C source with another key", "dst", append([]string{"X-Amz-Copy-Source", testBucket + "/ssec-src"}, ssecHeaders("X-Amz-Copy-Source-", bytes.Repeat([]byte{1}, 32))...), http.StatusForbidden, "AccessDenied"},
		{"an SSE-C key for a source that has none", "dst", append([]string{"X-Amz-Copy-Source", testBucket + "/plain-src"}, ssecHeaders("X-Amz-Copy-Source-", ssecKey)...), http.StatusBadRequest, "InvalidRequest"},
		{"a failed source condition", "dst", []string{"X-Amz-Copy-Source", testBucket + "/plain-src", "X-Amz-Copy-Source-If-Match", `"nope"`}, http.StatusPreconditionFailed, "PreconditionFailed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.be.forget()
			res := g.do(http.MethodPut, objectTarget(testBucket, tc.target, ""), nil, tc.header...)
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Errorf("CopyObject: %v (code %q), want %d %s", res, res.code(), tc.wantStatus, tc.wantCode)
			}
			if puts := g.backendCalls(http.MethodPut, ""); len(puts) != 0 {
				t.Errorf("backend got %d PUTs for a refused copy, want none", len(puts))
			}
		})
	}
}

func TestCopyOfMultipartObjects(t *testing.T) {
	const pkg = crypto.PackageSize
	tests := []struct {
		name           string
		sizes          []int
		wantServerSide bool
	}{
		{"aligned parts: the backend copies ciphertext", []int{pkg, pkg, 9}, true},
		{"ragged parts: re-encrypted as one stream", []int{pkg + 3, 9}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.be.MinPartSize = 1
			total := 0
			for _, n := range tc.sizes {
				total += n
			}
			data := testData(total)
			g.multipartPut(testBucket, "mp", splitParts(data, tc.sizes...))
			g.be.forget()
			res := g.do(http.MethodPut, objectTarget(testBucket, "copy", ""), nil, "X-Amz-Copy-Source", testBucket+"/mp", hdrSSE, "aws:kms", hdrSSEKeyID, otherKey)
			if res.status != http.StatusOK {
				t.Fatalf("CopyObject: %v", res)
			}
			serverSide := false
			for _, c := range g.backendCalls(http.MethodPut, testBucket) {
				serverSide = serverSide || c.Header.Get("X-Amz-Copy-Source") != ""
			}
			if serverSide != tc.wantServerSide {
				t.Errorf("backend copied ciphertext: %v, want %v", serverSide, tc.wantServerSide)
			}
			get := g.do(http.MethodGet, objectTarget(testBucket, "copy", ""), nil)
			if get.status != http.StatusOK || !bytes.Equal(get.body, data) {
				t.Errorf("GET of the copy: status %d, %d bytes, want 200 and %d", get.status, len(get.body), total)
			}
			rng := g.do(http.MethodGet, objectTarget(testBucket, "copy", ""), nil, "Range", "bytes=65530-65540")
			if rng.status != http.StatusPartialContent || !bytes.Equal(rng.body, data[65530:65541]) {
				t.Errorf("range GET of the copy: status %d, %d bytes", rng.status, len(rng.body))
			}
			if got := g.listedSizes(testBucket, "list-type=2")["copy"]; got != int64(total) {
				t.Errorf("listed size of the copy %d, want %d", got, total)
			}
		})
	}
}

func TestACopySourceChangedDuringTheCopyIsNotCopied(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.LegacyPlaintextReadBuckets = []string{testBucket} })
	data := testData(1000)
	g.be.buckets[testBucket]["src"] = &memObject{body: data, header: http.Header{}, etag: quotedMD5(data)}
	g.be.Hook = func(m *memS3, c backendCall) {
		if c.Method == http.MethodGet && c.Object == "src" {
			m.buckets[testBucket]["src"] = &memObject{body: []byte("replaced"), header: http.Header{}, etag: quotedMD5([]byte("replaced"))}
		}
	}
	res := g.do(http.MethodPut, objectTarget(testBucket, "dst", ""), nil, "X-Amz-Copy-Source", testBucket+"/src")
	if res.status != http.StatusServiceUnavailable {
		t.Errorf("CopyObject: %v, want 503 (retry)", res)
	}
	if _, _, ok := g.be.object(testBucket, "dst"); ok {
		t.Errorf("the destination was written from a changed source")
	}
}

// userMeta returns the user metadata value name as a client receives it:
// under the lower-case header name S3 sends.
func userMeta(h http.Header, name string) string {
	if v := h["x-amz-meta-"+name]; len(v) > 0 {
		return v[0]
	}
	return ""
}
