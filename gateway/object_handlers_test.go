package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/crypto"
)

// setBucketEncryption gives bucket a default encryption through the
// gateway (keyID "" for AES256).
func (g *testGateway) setBucketEncryption(bucket, keyID string) {
	g.t.Helper()
	rule := `<SSEAlgorithm>AES256</SSEAlgorithm>`
	if keyID != "" {
		rule = `<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>` + keyID + `</KMSMasterKeyID>`
	}
	doc := `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>` + rule + `</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`
	if res := g.do(http.MethodPut, "/"+bucket+"?encryption", []byte(doc)); res.status != http.StatusOK {
		g.t.Fatalf("PutBucketEncryption: %v", res)
	}
}

// encryptionMode is one way a client asks for (or gets) encryption.
type encryptionMode struct {
	name string
	// put are the PUT's request headers, read the GET's and HEAD's.
	put, read []string
	// bucketKey, if set, is made the bucket's default SSE-KMS key first.
	bucketKey string
	// the response's SSE headers
	wantSSE, wantKeyID string
	wantSSEC           bool
	// the backend metadata
	wantDomain crypto.Domain
	wantKMSKey string
}

var ssecKey = []byte("0123456789abcdef0123456789abcdef")

func encryptionModes() []encryptionMode {
	return []encryptionMode{
		{name: "SSE-S3 by default", wantSSE: "AES256", wantDomain: crypto.DomainS3, wantKMSKey: "default-key"},
		{name: "SSE-S3 requested", put: []string{hdrSSE, "AES256"}, wantSSE: "AES256", wantDomain: crypto.DomainS3, wantKMSKey: "default-key"},
		{name: "SSE-KMS with a key id", put: []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey},
			wantSSE: "aws:kms", wantKeyID: "arn:aws:kms:" + otherKey, wantDomain: crypto.DomainKMS, wantKMSKey: otherKey},
		{name: "SSE-KMS with an ARN key id", put: []string{hdrSSE, "aws:kms", hdrSSEKeyID, "arn:aws:kms:" + otherKey},
			wantSSE: "aws:kms", wantKeyID: "arn:aws:kms:" + otherKey, wantDomain: crypto.DomainKMS, wantKMSKey: otherKey},
		{name: "SSE-KMS without a key id uses the default key", put: []string{hdrSSE, "aws:kms"},
			wantSSE: "aws:kms", wantKeyID: "arn:aws:kms:default-key", wantDomain: crypto.DomainKMS, wantKMSKey: "default-key"},
		{name: "SSE-KMS as the bucket default", bucketKey: otherKey,
			wantSSE: "aws:kms", wantKeyID: "arn:aws:kms:" + otherKey, wantDomain: crypto.DomainKMS, wantKMSKey: otherKey},
		{name: "SSE-KMS requested in a bucket with another default key", bucketKey: otherKey, put: []string{hdrSSE, "aws:kms", hdrSSEKeyID, "default-key"},
			wantSSE: "aws:kms", wantKeyID: "arn:aws:kms:default-key", wantDomain: crypto.DomainKMS, wantKMSKey: "default-key"},
		{name: "SSE-C", put: ssecHeaders("", ssecKey), read: ssecHeaders("", ssecKey), wantSSEC: true, wantDomain: crypto.DomainC},
	}
}

func TestPutGetRoundTripsEverySizeAndEncryption(t *testing.T) {
	sizes := []int{0, 1, crypto.PackageSize - 1, crypto.PackageSize, crypto.PackageSize + 1, 1<<20 + 3}
	for _, mode := range encryptionModes() {
		t.Run(mode.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			if mode.bucketKey != "" {
				g.setBucketEncryption(testBucket, mode.bucketKey)
			}
			for _, size := range sizes {
				t.Run(strconv.Itoa(size)+" bytes", func(t *testing.T) {
					g.be.forget()
					key := "obj-" + strconv.Itoa(size)
					data := testData(size)
					res := g.put(testBucket, key, data, append([]string{"X-Amz-Meta-Color", "blue", "Content-Type", "text/plain"}, mode.put...)...)
					checkSSEHeaders(t, "PUT", res.header, mode)

					puts := g.backendCalls(http.MethodPut, testBucket)
					if len(puts) != 1 {
						t.Fatalf("backend got %d PUTs, want 1", len(puts))
					}
					checkCiphertextPut(t, puts[0], data)
					meta, stored := g.storedMetadata(testBucket, key)
					if meta.Domain != mode.wantDomain || meta.KeyID != mode.wantKMSKey {
						t.Errorf("stored domain %v key %q, want %v %q", meta.Domain, meta.KeyID, mode.wantDomain, mode.wantKMSKey)
					}
					wantETag := quotedMD5(stored) // the backend's
					if mode.wantDomain == crypto.DomainS3 {
						wantETag = quotedMD5(data) // SSE-S3: the plaintext's, as on AWS
					}
					if got := res.header.Get("ETag"); got != wantETag {
						t.Errorf("ETag %s, want %s", got, wantETag)
					}

					get := g.do(http.MethodGet, objectTarget(testBucket, key, ""), nil, mode.read...)
					if get.status != http.StatusOK || !bytes.Equal(get.body, data) {
						t.Fatalf("GET: status %d, %d bytes, want 200 and the %d bytes put", get.status, len(get.body), size)
					}
					checkSSEHeaders(t, "GET", get.header, mode)
					checkNoReservedHeaders(t, "GET", get.header)
					if got := get.header.Get("ETag"); got != wantETag {
						t.Errorf("GET ETag %s, want %s", got, wantETag)
					}
					if got := get.header.Get("Content-Length"); got != strconv.Itoa(size) {
						t.Errorf("GET Content-Length %s, want %d", got, size)
					}
					if got := userMeta(get.header, "color"); got != "blue" {
						t.Errorf("GET X-Amz-Meta-Color %q, want blue", got)
					}

					head := g.do(http.MethodHead, objectTarget(testBucket, key, ""), nil, mode.read...)
					if head.status != http.StatusOK || len(head.body) != 0 {
						t.Fatalf("HEAD: %v, want 200 without a body", head)
					}
					if got := head.header.Get("Content-Length"); got != strconv.Itoa(size) {
						t.Errorf("HEAD Content-Length %s, want %d", got, size)
					}
					if got := head.header.Get("Content-Type"); got != "text/plain" {
						t.Errorf("HEAD Content-Type %q, want text/plain", got)
					}
					checkSSEHeaders(t, "HEAD", head.header, mode)
					checkNoReservedHeaders(t, "HEAD", head.header)
					if got := head.header.Get("ETag"); got != wantETag {
						t.Errorf("HEAD ETag %s, want %s", got, wantETag)
					}
				})
			}
		})
	}
}

func checkSSEHeaders(t *testing.T, op string, h http.Header, mode encryptionMode) {
	t.Helper()
	if got := h.Get(hdrSSE); got != mode.wantSSE {
		t.Errorf("%s %s %q, want %q", op, hdrSSE, got, mode.wantSSE)
	}
	if got := h.Get(hdrSSEKeyID); got != mode.wantKeyID {
		t.Errorf("%s %s %q, want %q", op, hdrSSEKeyID, got, mode.wantKeyID)
	}
	wantAlg, wantMD5 := "", ""
	if mode.wantSSEC {
		sum := md5.Sum(ssecKey)
		wantAlg, wantMD5 = "AES256", base64.StdEncoding.EncodeToString(sum[:])
	}
	if got := h.Get(hdrSSECAlgorithm); got != wantAlg {
		t.Errorf("%s %s %q, want %q", op, hdrSSECAlgorithm, got, wantAlg)
	}
	if got := h.Get(hdrSSECKeyMD5); got != wantMD5 {
		t.Errorf("%s %s %q, want %q", op, hdrSSECKeyMD5, got, wantMD5)
	}
	if got := h.Get(hdrSSECKey); got != "" {
		t.Errorf("%s answered the customer key", op)
	}
}

// checkCiphertextPut checks that a backend PUT carried the ciphertext of
// plaintext, s3seal's metadata (objects; parts have none) and nothing of
// the client's encryption or integrity headers.
func checkCiphertextPut(t *testing.T, put backendCall, plaintext []byte) {
	t.Helper()
	if got, want := int64(len(put.Body)), crypto.EncryptedSize(int64(len(plaintext))); got != want {
		t.Errorf("backend PUT of %d bytes, want EncryptedSize(%d) = %d", got, len(plaintext), want)
	}
	if len(plaintext) >= 16 && bytes.Contains(put.Body, plaintext[:16]) {
		t.Errorf("the backend PUT holds plaintext")
	}
	if _, err := crypto.DecodeMetadata(put.Header.Get); err != nil && !put.Query.Has("partNumber") {
		t.Errorf("backend PUT metadata: %v", err)
	}
	for name := range put.Header {
		ln := strings.ToLower(name)
		if strings.HasPrefix(ln, "x-amz-server-side-encryption") || strings.HasPrefix(ln, "x-amz-checksum") ||
			strings.HasPrefix(ln, "x-amz-sdk-checksum") || ln == "content-md5" || ln == "x-amz-decoded-content-length" {
			t.Errorf("backend PUT carries the client's %s", name)
		}
	}
	if strings.Contains(put.Header.Get("Content-Encoding"), "aws-chunked") {
		t.Errorf("backend PUT announces aws-chunked framing the ciphertext does not have")
	}
	if got := put.Header.Get("X-Amz-Content-Sha256"); got != "UNSIGNED-PAYLOAD" {
		t.Errorf("backend PUT X-Amz-Content-Sha256 %q, want UNSIGNED-PAYLOAD", got)
	}
	if got := put.Header.Get("Authorization"); !strings.Contains(got, "Credential=backend-user/") {
		t.Errorf("backend PUT Authorization %q, want one by the backend's credentials", got)
	}
}

func checkNoReservedHeaders(t *testing.T, op string, h http.Header) {
	t.Helper()
	for name := range h {
		if crypto.IsReservedHeader(name) {
			t.Errorf("%s answered s3seal's %s", op, name)
		}
	}
}

func crc32Header(data []byte) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE(data))
	return base64.StdEncoding.EncodeToString(b[:])
}

func TestPutKeepsTheClientsChecksumsFromTheBackend(t *testing.T) {
	data := testData(200_000)
	sum := md5.Sum(data)
	contentMD5 := base64.StdEncoding.EncodeToString(sum[:])
	tests := []struct {
		name      string
		streaming bool
	}{
		{"signed payload", false},
		{"aws-chunked streaming signature", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			header := []string{"Content-Md5", contentMD5, "X-Amz-Checksum-Crc32", crc32Header(data), "X-Amz-Sdk-Checksum-Algorithm", "CRC32"}
			var res *s3Response
			if tc.streaming {
				res = g.doStreaming(http.MethodPut, objectTarget(testBucket, "k", ""), data, header...)
			} else {
				res = g.do(http.MethodPut, objectTarget(testBucket, "k", ""), data, header...)
			}
			if res.status != http.StatusOK {
				t.Fatalf("PUT: %v", res)
			}
			if got := res.header.Get("X-Amz-Checksum-Crc32"); got != crc32Header(data) {
				t.Errorf("PUT answered X-Amz-Checksum-Crc32 %q, want the client's %q", got, crc32Header(data))
			}
			puts := g.backendCalls(http.MethodPut, testBucket)
			if len(puts) != 1 {
				t.Fatalf("backend got %d PUTs, want 1", len(puts))
			}
			checkCiphertextPut(t, puts[0], data)

			get := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil, "X-Amz-Checksum-Mode", "ENABLED")
			if get.status != http.StatusOK || !bytes.Equal(get.body, data) {
				t.Fatalf("GET: status %d, %d bytes", get.status, len(get.body))
			}
			if got := get.header.Get("X-Amz-Checksum-Crc32"); got != crc32Header(data) {
				t.Errorf("GET with checksum mode answered X-Amz-Checksum-Crc32 %q, want the client's %q", got, crc32Header(data))
			}
			head := g.do(http.MethodHead, objectTarget(testBucket, "k", ""), nil, "X-Amz-Checksum-Mode", "ENABLED")
			if got := head.header.Get("X-Amz-Checksum-Crc32"); got != crc32Header(data) {
				t.Errorf("HEAD with checksum mode answered X-Amz-Checksum-Crc32 %q, want the client's %q", got, crc32Header(data))
			}
			plain := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil)
			if got := plain.header.Get("X-Amz-Checksum-Crc32"); got != "" {
				t.Errorf("GET without checksum mode answered X-Amz-Checksum-Crc32 %q, want none", got)
			}
		})
	}
}

// wantCipherRange is the backend Range that covers plaintext
// [off, off+n) of a single-stream object of size bytes.
func wantCipherRange(off, n, size int64) string {
	first, last := off/crypto.PackageSize, (off+n-1)/crypto.PackageSize
	end := min((last+1)*crypto.EncryptedPackageSize, crypto.EncryptedSize(size))
	return fmt.Sprintf("bytes=%d-%d", first*crypto.EncryptedPackageSize, end-1)
}

func TestRangeReadsDecryptOnlyWhatIsAsked(t *testing.T) {
	const size = 3*crypto.PackageSize + 100
	data := testData(size)
	tests := []struct {
		name      string
		rng       string
		wantOff   int64
		wantN     int64 // -1: the whole object, 200
		wantError int   // 0: success
	}{
		{"the first byte", "bytes=0-0", 0, 1, 0},
		{"the last byte", fmt.Sprintf("bytes=%d-%d", size-1, size-1), size - 1, 1, 0},
		{"a suffix", "bytes=-100", size - 100, 100, 0},
		{"a suffix longer than the object", "bytes=-9999999", 0, size, 0},
		{"an open range", "bytes=65530-", 65530, size - 65530, 0},
		{"a range spanning a package boundary", "bytes=65530-65545", 65530, 16, 0},
		{"a range spanning three packages", "bytes=65535-196608", 65535, 196608 - 65535 + 1, 0},
		{"exactly the second package", "bytes=65536-131071", 65536, 65536, 0},
		{"an end past the object is clipped", "bytes=10-99999999", 10, size - 10, 0},
		{"a start at the size", fmt.Sprintf("bytes=%d-", size), 0, 0, http.StatusRequestedRangeNotSatisfiable},
		{"a start past the size", "bytes=99999999-100000000", 0, 0, http.StatusRequestedRangeNotSatisfiable},
		{"a malformed range reads the whole object", "bytes=abc", 0, -1, 0},
	}
	g := newTestGateway(t, nil)
	g.put(testBucket, "ranged", data)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.be.forget()
			get := g.do(http.MethodGet, objectTarget(testBucket, "ranged", ""), nil, "Range", tc.rng)
			head := g.do(http.MethodHead, objectTarget(testBucket, "ranged", ""), nil, "Range", tc.rng)
			if tc.wantError != 0 {
				if get.status != tc.wantError || get.code() != "InvalidRange" {
					t.Errorf("GET: %v, want %d InvalidRange", get, tc.wantError)
				}
				if head.status != tc.wantError {
					t.Errorf("HEAD: status %d, want %d", head.status, tc.wantError)
				}
				for _, r := range []*s3Response{get, head} {
					if got, want := r.header.Get("Content-Range"), "bytes */"+strconv.Itoa(size); got != want {
						t.Errorf("Content-Range %q, want %q", got, want)
					}
				}
				return
			}
			if tc.wantN < 0 {
				if get.status != http.StatusOK || !bytes.Equal(get.body, data) {
					t.Errorf("GET: status %d, %d bytes, want 200 and the whole object", get.status, len(get.body))
				}
				return
			}
			want := data[tc.wantOff : tc.wantOff+tc.wantN]
			if get.status != http.StatusPartialContent || !bytes.Equal(get.body, want) {
				t.Fatalf("GET: status %d, %d bytes, want 206 and plaintext [%d, %d)", get.status, len(get.body), tc.wantOff, tc.wantOff+tc.wantN)
			}
			wantCR := fmt.Sprintf("bytes %d-%d/%d", tc.wantOff, tc.wantOff+tc.wantN-1, size)
			for _, r := range []*s3Response{get, head} {
				if got := r.header.Get("Content-Range"); got != wantCR {
					t.Errorf("Content-Range %q, want %q", got, wantCR)
				}
				if got := r.header.Get("Content-Length"); got != strconv.FormatInt(tc.wantN, 10) {
					t.Errorf("Content-Length %s, want %d", got, tc.wantN)
				}
			}
			if head.status != http.StatusPartialContent {
				t.Errorf("HEAD: status %d, want 206", head.status)
			}
			gets := g.backendCalls(http.MethodGet, testBucket)
			if len(gets) != 1 {
				t.Fatalf("backend got %d GETs, want 1", len(gets))
			}
			if got, want := gets[0].Header.Get("Range"), wantCipherRange(tc.wantOff, tc.wantN, size); got != want {
				t.Errorf("backend Range %q, want only the packages needed, %q", got, want)
			}
			if got := gets[0].Header.Get("If-Match"); got == "" {
				t.Errorf("backend range GET is not pinned to the HEADed version (no If-Match)")
			}
		})
	}
}

func TestRangeOfAnEmptyObjectIsNotSatisfiable(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "empty", nil)
	for _, rng := range []string{"bytes=0-0", "bytes=0-", "bytes=1-"} {
		t.Run(rng, func(t *testing.T) {
			get := g.do(http.MethodGet, objectTarget(testBucket, "empty", ""), nil, "Range", rng)
			if get.status != http.StatusRequestedRangeNotSatisfiable || get.code() != "InvalidRange" {
				t.Errorf("GET: %v, want 416 InvalidRange", get)
			}
		})
	}
}

func TestTamperedCiphertextIsNeverServed(t *testing.T) {
	const size = 600_000 // more than the 256 KiB checked before headers
	data := testData(size)
	inPlace := func(edit func(o *memObject)) func(m *memS3) {
		return func(m *memS3) { edit(m.buckets[testBucket]["victim"]) } // m.mu is held
	}
	tests := []struct {
		name   string
		rng    string
		target string // "": victim
		edit   func(m *memS3)
		before bool // the damage is found before the response starts
	}{
		{name: "a flipped byte in the first package", edit: inPlace(func(o *memObject) { o.body[100] ^= 1 }), before: true},
		{name: "a flipped byte in the last package", edit: inPlace(func(o *memObject) { o.body[len(o.body)-5] ^= 1 })},
		{name: "a flipped byte under a range", rng: "bytes=70000-70010", edit: inPlace(func(o *memObject) { o.body[crypto.EncryptedPackageSize+10] ^= 0x80 }), before: true},
		{name: "swapped packages", edit: inPlace(func(o *memObject) {
			p := crypto.EncryptedPackageSize
			first := append([]byte(nil), o.body[:p]...)
			copy(o.body[:p], o.body[p:2*p])
			copy(o.body[p:2*p], first)
		}), before: true},
		{name: "a truncated object", edit: inPlace(func(o *memObject) { o.body = o.body[:len(o.body)-1] })},
		{name: "a truncated object under a range", rng: "bytes=-10", edit: inPlace(func(o *memObject) { o.body = o.body[:len(o.body)-1] }), before: true},
		{name: "a damaged sealed key", edit: inPlace(func(o *memObject) {
			v := []byte(o.header.Get(crypto.MetadataPrefix + "Sealed-Key"))
			v[len(v)/2] ^= 1
			o.header.Set(crypto.MetadataPrefix+"Sealed-Key", string(v))
		}), before: true},
		{name: "an object copied to another name on the backend", target: "moved", edit: func(m *memS3) {
			o := *m.buckets[testBucket]["victim"]
			m.buckets[testBucket]["moved"] = &o
		}, before: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.put(testBucket, "victim", data)
			g.be.mu.Lock()
			tc.edit(g.be)
			g.be.mu.Unlock()
			target := tc.target
			if target == "" {
				target = "victim"
			}
			var header []string
			if tc.rng != "" {
				header = []string{"Range", tc.rng}
			}
			get := g.do(http.MethodGet, objectTarget(testBucket, target, ""), nil, header...)
			if tc.before {
				if get.status != http.StatusInternalServerError || get.code() != "ObjectTampered" {
					t.Errorf("GET: %v, want 500 ObjectTampered", get)
				}
				return
			}
			if !get.aborted {
				t.Errorf("GET: status %d with %d bytes and a complete response, want the connection aborted", get.status, len(get.body))
			}
			if bytes.Equal(get.body, data) {
				t.Errorf("GET served the whole object although its ciphertext was altered")
			}
		})
	}
}

// TestObjectsNotStoredByS3sealPassThroughInLegacyBuckets: in a bucket
// opted into legacy plaintext reads (elsewhere they fail closed, see
// failclosed_test.go), objects stored before s3seal are served as stored.
func TestObjectsNotStoredByS3sealPassThroughInLegacyBuckets(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.LegacyPlaintextReadBuckets = []string{testBucket} })
	// An object written to the backend directly, before s3seal.
	g.be.buckets[testBucket]["legacy"] = &memObject{body: []byte("legacy plaintext"), header: http.Header{}, etag: quotedMD5([]byte("legacy plaintext"))}
	get := g.do(http.MethodGet, objectTarget(testBucket, "legacy", ""), nil)
	if get.status != http.StatusOK || string(get.body) != "legacy plaintext" {
		t.Errorf("GET: %v, want the stored bytes", get)
	}
	if got := get.header.Get(hdrSSE); got != "" {
		t.Errorf("GET of an unencrypted object answered %s %q", hdrSSE, got)
	}
	rng := g.do(http.MethodGet, objectTarget(testBucket, "legacy", ""), nil, "Range", "bytes=7-15")
	if rng.status != http.StatusPartialContent || string(rng.body) != "plaintext" {
		t.Errorf("range GET: %v, want 206 plaintext", rng)
	}
	head := g.do(http.MethodHead, objectTarget(testBucket, "legacy", ""), nil)
	if head.status != http.StatusOK || head.header.Get("Content-Length") != "16" {
		t.Errorf("HEAD: %d Content-Length %s, want 200 16", head.status, head.header.Get("Content-Length"))
	}
	ssec := g.do(http.MethodGet, objectTarget(testBucket, "legacy", ""), nil, ssecHeaders("", ssecKey)...)
	if ssec.status != http.StatusBadRequest || ssec.code() != "InvalidRequest" {
		t.Errorf("GET with an SSE-C key: %v, want 400 InvalidRequest", ssec)
	}
}

func TestPlaintextBucketsStorePlaintext(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.PlaintextBuckets = []string{"public"} })
	g.be.buckets["public"] = map[string]*memObject{}
	res := g.put("public", "k", []byte("in the clear"))
	if got := res.header.Get(hdrSSE); got != "" {
		t.Errorf("PUT answered %s %q, want none", hdrSSE, got)
	}
	if body, _, _ := g.be.object("public", "k"); string(body) != "in the clear" {
		t.Errorf("backend holds %q, want the plaintext", body)
	}
	// Asking for encryption in a plaintext bucket encrypts.
	g.put("public", "asked", []byte("encrypt me please"), hdrSSE, "AES256")
	if body, _, _ := g.be.object("public", "asked"); bytes.Contains(body, []byte("encrypt me")) {
		t.Errorf("an object that asked for SSE-S3 was stored in plaintext")
	}
	if get := g.do(http.MethodGet, objectTarget("public", "asked", ""), nil); string(get.body) != "encrypt me please" {
		t.Errorf("GET: %v", get)
	}
}

func TestBackendErrorsReachTheClient(t *testing.T) {
	g := newTestGateway(t, nil)
	tests := []struct {
		name, method, target string
		body                 []byte
		header               []string
		wantStatus           int
		wantCode             string
	}{
		{"GET of a missing key", http.MethodGet, objectTarget(testBucket, "missing", ""), nil, nil, http.StatusNotFound, "NoSuchKey"},
		{"GET in a missing bucket", http.MethodGet, objectTarget("nobucket", "k", ""), nil, nil, http.StatusNotFound, "NoSuchBucket"},
		{"PUT in a missing bucket", http.MethodPut, objectTarget("nobucket", "k", ""), []byte("x"), nil, http.StatusNotFound, "NoSuchBucket"},
		{"HEAD of a missing key", http.MethodHead, objectTarget(testBucket, "missing", ""), nil, nil, http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(tc.method, tc.target, tc.body, tc.header...)
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Errorf("got %v (code %q), want %d %q", res, res.code(), tc.wantStatus, tc.wantCode)
			}
			checkNoReservedHeaders(t, tc.method, res.header)
		})
	}
}

func TestReadsPinTheVersionTheyStarted(t *testing.T) {
	g := newTestGateway(t, nil)
	data := testData(3 * crypto.PackageSize)
	g.put(testBucket, "k", data)
	etag := quotedMD5(data)
	// Conditions are evaluated against the client-visible ETag, the MD5 of
	// the plaintext; tests in etag_test.go cover the rest.
	if res := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil, "If-None-Match", etag); res.status != http.StatusNotModified {
		t.Errorf("GET If-None-Match the current ETag: %v, want 304", res)
	}
	if res := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil, "If-Match", `"other"`); res.status != http.StatusPreconditionFailed {
		t.Errorf("GET If-Match another ETag: %v, want 412", res)
	}
	if res := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil, "If-Match", etag, "Range", "bytes=1-2"); res.status != http.StatusPartialContent || !bytes.Equal(res.body, data[1:3]) {
		t.Errorf("range GET If-Match the current ETag: %v, want 206", res)
	}
}

func TestAnOverwriteDuringARangeReadIsNeverMixedIn(t *testing.T) {
	g := newTestGateway(t, nil)
	old := testData(3 * crypto.PackageSize)
	g.put(testBucket, "k", old)
	g.put(testBucket, "newer", bytes.Repeat([]byte("new"), crypto.PackageSize))
	g.be.Hook = func(m *memS3, c backendCall) {
		// Between the gateway's HEAD and its ranged GET, another writer
		// replaces the object.
		if c.Method == http.MethodGet && c.Object == "k" && c.Header.Get("Range") != "" {
			m.buckets[testBucket]["k"] = m.buckets[testBucket]["newer"]
		}
	}
	res := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil, "Range", "bytes=100-70000")
	if res.status != http.StatusServiceUnavailable || res.code() != "ServiceUnavailable" {
		t.Errorf("GET: %v, want 503 ServiceUnavailable (retry)", res)
	}
}

func TestKeysWithCharactersThatNeedEscaping(t *testing.T) {
	g := newTestGateway(t, nil)
	for _, key := range []string{"a b/c+d", "dir/ü€/x%41y", "q?x=1&y", "trailing/"} {
		t.Run(key, func(t *testing.T) {
			data := []byte("data of " + key)
			g.put(testBucket, key, data)
			if _, _, ok := g.be.object(testBucket, key); !ok {
				t.Fatalf("the backend has no object named %q: %q", key, g.be.keys(testBucket))
			}
			if get := g.do(http.MethodGet, objectTarget(testBucket, key, ""), nil); !bytes.Equal(get.body, data) {
				t.Errorf("GET: %v", get)
			}
			copyRes := g.do(http.MethodPut, objectTarget(testBucket, "copies/"+key, ""), nil, "X-Amz-Copy-Source", escapeKey(testBucket+"/"+key))
			if copyRes.status != http.StatusOK {
				t.Fatalf("CopyObject: %v", copyRes)
			}
			if get := g.do(http.MethodGet, objectTarget(testBucket, "copies/"+key, ""), nil); !bytes.Equal(get.body, data) {
				t.Errorf("GET of the copy: %v", get)
			}
		})
	}
}
