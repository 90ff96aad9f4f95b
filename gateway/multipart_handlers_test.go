package gateway

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/crypto"
)

// createUpload starts a multipart upload through the gateway.
func (g *testGateway) createUpload(bucket, key string, header ...string) string {
	g.t.Helper()
	res := g.do(http.MethodPost, objectTarget(bucket, key, "uploads"), nil, header...)
	var doc struct{ UploadId string }
	if err := xml.Unmarshal(res.body, &doc); res.status != http.StatusOK || err != nil || doc.UploadId == "" {
		g.t.Fatalf("CreateMultipartUpload: %v", res)
	}
	return doc.UploadId
}

func partQuery(uploadID string, n int) string {
	return url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {uploadID}}.Encode()
}

// uploadParts uploads parts (numbered from 1) and returns their ETags.
func (g *testGateway) uploadParts(bucket, key, uploadID string, parts [][]byte, header ...string) []string {
	g.t.Helper()
	var etags []string
	for i, p := range parts {
		res := g.do(http.MethodPut, objectTarget(bucket, key, partQuery(uploadID, i+1)), p, header...)
		if res.status != http.StatusOK || res.header.Get("ETag") == "" {
			g.t.Fatalf("UploadPart %d: %v", i+1, res)
		}
		etags = append(etags, res.header.Get("ETag"))
	}
	return etags
}

func completeXML(numbers []int, etags []string) []byte {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for i, n := range numbers {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", n, etags[i])
	}
	b.WriteString("</CompleteMultipartUpload>")
	return []byte(b.String())
}

func (g *testGateway) complete(bucket, key, uploadID string, etags []string, header ...string) *s3Response {
	g.t.Helper()
	numbers := make([]int, len(etags))
	for i := range numbers {
		numbers[i] = i + 1
	}
	return g.do(http.MethodPost, objectTarget(bucket, key, "uploadId="+url.QueryEscape(uploadID)), completeXML(numbers, etags), header...)
}

// multipartPut uploads parts as one multipart object and fails the test
// unless every step succeeds.
func (g *testGateway) multipartPut(bucket, key string, parts [][]byte, header ...string) *s3Response {
	g.t.Helper()
	id := g.createUpload(bucket, key, header...)
	var partHeader []string
	if len(header) > 0 && strings.HasPrefix(header[0], "X-Amz-Server-Side-Encryption-Customer") {
		partHeader = header
	}
	res := g.complete(bucket, key, id, g.uploadParts(bucket, key, id, parts, partHeader...), partHeader...)
	if res.status != http.StatusOK {
		g.t.Fatalf("CompleteMultipartUpload: %v", res)
	}
	return res
}

func splitParts(data []byte, sizes ...int) [][]byte {
	var out [][]byte
	for _, n := range sizes {
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// listedSizes lists bucket with query through the gateway and returns each
// key's listed size.
func (g *testGateway) listedSizes(bucket, query string) map[string]int64 {
	g.t.Helper()
	res := g.do(http.MethodGet, "/"+bucket+"?"+query, nil)
	if res.status != http.StatusOK {
		g.t.Fatalf("list %s?%s: %v", bucket, query, res)
	}
	var doc struct {
		EncodingType string
		Entries      []struct {
			Key  string
			Size int64
		} `xml:",any"`
	}
	if err := xml.Unmarshal(res.body, &doc); err != nil {
		g.t.Fatalf("listing: %v", err)
	}
	out := map[string]int64{}
	for _, e := range doc.Entries {
		if e.Key == "" {
			continue
		}
		k := e.Key
		if doc.EncodingType == "url" {
			k, _ = url.QueryUnescape(k)
		}
		out[k] = e.Size
	}
	return out
}

func TestMultipartUploadsReadBackInEveryLayout(t *testing.T) {
	const pkg = crypto.PackageSize
	layouts := []struct {
		name   string
		sizes  []int
		ragged bool
	}{
		{"one part", []int{100}, false},
		{"an empty last part", []int{pkg, 0}, false},
		{"parts of whole packages", []int{2 * pkg, pkg, 10}, false},
		{"ragged parts", []int{pkg + 1, 100_000, 3}, true},
		{"a ragged first part only", []int{pkg - 1, 2 * pkg}, true},
	}
	modes := []struct {
		name     string
		header   []string
		wantSSE  string
		wantSSEC bool
	}{
		{"SSE-S3 by default", nil, "AES256", false},
		{"SSE-KMS", []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey}, "aws:kms", false},
		{"SSE-C", ssecHeaders("", ssecKey), "", true},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.be.MinPartSize = 1
			for _, l := range layouts {
				t.Run(l.name, func(t *testing.T) {
					g.be.forget()
					total := 0
					for _, n := range l.sizes {
						total += n
					}
					data := testData(total)
					parts := splitParts(data, l.sizes...)
					key := "mp/" + strings.ReplaceAll(l.name, " ", "-")
					id := g.createUpload(testBucket, key, mode.header...)
					var partHeader []string
					if mode.wantSSEC {
						partHeader = mode.header
					}
					etags := g.uploadParts(testBucket, key, id, parts, partHeader...)
					for i, put := range g.backendCalls(http.MethodPut, testBucket) {
						checkCiphertextPut(t, put, parts[i])
					}

					lp := g.do(http.MethodGet, objectTarget(testBucket, key, "uploadId="+url.QueryEscape(id)), nil)
					var listed struct {
						Parts []struct {
							PartNumber int
							Size       int64
						} `xml:"Part"`
					}
					if err := xml.Unmarshal(lp.body, &listed); lp.status != http.StatusOK || err != nil || len(listed.Parts) != len(parts) {
						t.Fatalf("ListParts: %v", lp)
					}
					for i, p := range listed.Parts {
						if p.Size != int64(len(parts[i])) {
							t.Errorf("ListParts part %d size %d, want the plaintext size %d", p.PartNumber, p.Size, len(parts[i]))
						}
					}

					res := g.complete(testBucket, key, id, etags, partHeader...)
					if res.status != http.StatusOK {
						t.Fatalf("CompleteMultipartUpload: %v", res)
					}
					if got := res.header.Get(hdrSSE); got != mode.wantSSE {
						t.Errorf("Complete %s %q, want %q", hdrSSE, got, mode.wantSSE)
					}
					for _, c := range g.backendCalls(http.MethodPost, testBucket) {
						if bytes.Contains(c.Body, []byte("Checksum")) {
							t.Errorf("backend Complete document carries client checksums: %s", c.Body)
						}
					}

					get := g.do(http.MethodGet, objectTarget(testBucket, key, ""), nil, partHeader...)
					if get.status != http.StatusOK || !bytes.Equal(get.body, data) {
						t.Fatalf("GET: status %d, %d bytes, want 200 and the %d bytes uploaded", get.status, len(get.body), total)
					}
					head := g.do(http.MethodHead, objectTarget(testBucket, key, ""), nil, partHeader...)
					if got := head.header.Get("Content-Length"); head.status != http.StatusOK || got != strconv.Itoa(total) {
						t.Errorf("HEAD: %d, Content-Length %s, want 200 and %d", head.status, got, total)
					}
					if got := g.listedSizes(testBucket, "list-type=2&prefix="+url.QueryEscape(key))[key]; got != int64(total) {
						t.Errorf("ListObjectsV2 size %d, want the plaintext size %d", got, total)
					}

					off := 0
					for i, p := range parts {
						part := g.do(http.MethodGet, objectTarget(testBucket, key, "partNumber="+strconv.Itoa(i+1)), nil, partHeader...)
						if len(p) == 0 {
							off += len(p)
							continue
						}
						if part.status != http.StatusPartialContent || !bytes.Equal(part.body, p) {
							t.Errorf("GET partNumber=%d: status %d, %d bytes, want 206 and the part's %d bytes", i+1, part.status, len(part.body), len(p))
						}
						if len(parts) > 1 && part.header.Get("X-Amz-Mp-Parts-Count") != strconv.Itoa(len(parts)) {
							t.Errorf("GET partNumber=%d X-Amz-Mp-Parts-Count %q, want %d", i+1, part.header.Get("X-Amz-Mp-Parts-Count"), len(parts))
						}
						if want := fmt.Sprintf("bytes %d-%d/%d", off, off+len(p)-1, total); part.header.Get("Content-Range") != want {
							t.Errorf("GET partNumber=%d Content-Range %q, want %q", i+1, part.header.Get("Content-Range"), want)
						}
						off += len(p)
					}
					if total > 2 {
						// A range across every part boundary.
						rng := g.do(http.MethodGet, objectTarget(testBucket, key, ""), nil, append([]string{"Range", fmt.Sprintf("bytes=1-%d", total-2)}, partHeader...)...)
						if rng.status != http.StatusPartialContent || !bytes.Equal(rng.body, data[1:total-1]) {
							t.Errorf("range GET across parts: status %d, %d bytes, want 206 and %d bytes", rng.status, len(rng.body), total-2)
						}
					}

					var index []string
					for _, k := range g.be.keys(g.s.cfg.SystemBucket) {
						if strings.HasPrefix(k, indexPrefix+testBucket+"/"+key+"/") {
							index = append(index, k)
						}
					}
					// Every multipart object has one: listings show its
					// client ETag (and a ragged layout's size) from it.
					if len(index) != 1 {
						t.Errorf("index entries %q, want one", index)
					}
					for _, k := range g.be.keys(g.s.cfg.SystemBucket) {
						if strings.HasPrefix(k, "uploads/"+testBucket+"/") {
							t.Errorf("upload record %s outlived its completed upload", k)
						}
					}
				})
			}
		})
	}
}

func TestMultipartWithS3PartMinimumOf5MiB(t *testing.T) {
	g := newTestGateway(t, nil) // memS3 enforces S3's 5 MiB minimum
	data := testData(2*(5<<20) + 11)
	parts := splitParts(data, 5<<20+1, 5<<20+7, 3)
	g.multipartPut(testBucket, "big", parts)
	get := g.do(http.MethodGet, objectTarget(testBucket, "big", ""), nil, "Range", fmt.Sprintf("bytes=%d-%d", 5<<20-5, 5<<20+5))
	if get.status != http.StatusPartialContent || !bytes.Equal(get.body, data[5<<20-5:5<<20+6]) {
		t.Errorf("range GET across the first part boundary: status %d, %d bytes", get.status, len(get.body))
	}
	if got := g.listedSizes(testBucket, "")["big"]; got != int64(len(data)) {
		t.Errorf("ListObjects size %d, want %d", got, len(data))
	}
}

func TestMultipartRefusals(t *testing.T) {
	g := newTestGateway(t, nil)
	g.be.MinPartSize = 1
	parts := splitParts(testData(300), 100, 100, 100)
	tests := []struct {
		name       string
		run        func(id string, etags []string) *s3Response
		wantStatus int
		wantCode   string
	}{
		{"a wrong part ETag", func(id string, etags []string) *s3Response {
			return g.complete(testBucket, "k", id, []string{etags[0], `"00000000000000000000000000000000"`})
		}, http.StatusBadRequest, "InvalidPart"},
		{"a part never uploaded", func(id string, etags []string) *s3Response {
			return g.do(http.MethodPost, objectTarget(testBucket, "k", "uploadId="+id), completeXML([]int{1, 9}, etags[:2]))
		}, http.StatusBadRequest, "InvalidPart"},
		{"parts out of order", func(id string, etags []string) *s3Response {
			return g.do(http.MethodPost, objectTarget(testBucket, "k", "uploadId="+id), completeXML([]int{2, 1}, []string{etags[1], etags[0]}))
		}, http.StatusBadRequest, "InvalidPartOrder"},
		{"no parts", func(id string, _ []string) *s3Response {
			return g.do(http.MethodPost, objectTarget(testBucket, "k", "uploadId="+id), []byte("<CompleteMultipartUpload></CompleteMultipartUpload>"))
		}, http.StatusBadRequest, "MalformedXML"},
		{"an unknown upload id on complete", func(_ string, etags []string) *s3Response {
			return g.complete(testBucket, "k", "no-such-upload", etags)
		}, http.StatusNotFound, "NoSuchUpload"},
		{"an unknown upload id on a part", func(string, []string) *s3Response {
			return g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery("no-such-upload", 1)), []byte("x"))
		}, http.StatusNotFound, "NoSuchUpload"},
		{"part number 0", func(id string, _ []string) *s3Response {
			return g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, 0)), []byte("x"))
		}, http.StatusBadRequest, "InvalidArgument"},
		{"part number 10001", func(id string, _ []string) *s3Response {
			return g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, 10001)), []byte("x"))
		}, http.StatusBadRequest, "InvalidArgument"},
		{"an SSE-C key on a part of an SSE-S3 upload", func(id string, _ []string) *s3Response {
			return g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, 1)), []byte("x"), ssecHeaders("", ssecKey)...)
		}, http.StatusBadRequest, "InvalidRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := g.createUpload(testBucket, "k")
			etags := g.uploadParts(testBucket, "k", id, parts)
			g.be.forget()
			res := tc.run(id, etags)
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Errorf("got %v (code %q), want %d %s", res, res.code(), tc.wantStatus, tc.wantCode)
			}
			if c := g.backendCalls(http.MethodPost, testBucket); len(c) != 0 && tc.wantCode != "NoSuchUpload" {
				t.Errorf("backend got %d POSTs, want the gateway to refuse before completing", len(c))
			}
		})
	}
}

func TestSSECMultipartNeedsTheKeyOnEveryPart(t *testing.T) {
	g := newTestGateway(t, nil)
	g.be.MinPartSize = 1
	id := g.createUpload(testBucket, "k", ssecHeaders("", ssecKey)...)
	otherKey := bytes.Repeat([]byte{7}, 32)
	tests := []struct {
		name       string
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"no key", nil, http.StatusBadRequest, "InvalidRequest"},
		{"another key", ssecHeaders("", otherKey), http.StatusForbidden, "AccessDenied"},
		{"the upload's key", ssecHeaders("", ssecKey), http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, 1)), []byte("part"), tc.header...)
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Errorf("UploadPart: %v (code %q), want %d %q", res, res.code(), tc.wantStatus, tc.wantCode)
			}
		})
	}
	etag := g.backendCalls(http.MethodPut, testBucket)
	if len(etag) != 1 {
		t.Fatalf("backend got %d part PUTs, want 1", len(etag))
	}
	if res := g.complete(testBucket, "k", id, []string{quotedMD5(etag[0].Body)}, ssecHeaders("", otherKey)...); res.status != http.StatusForbidden {
		t.Errorf("Complete with another SSE-C key: %v, want 403", res)
	}
}

func TestAbortForgetsTheUpload(t *testing.T) {
	g := newTestGateway(t, nil)
	id := g.createUpload(testBucket, "k")
	if n := len(g.recordKeys("uploads/")); n != 1 {
		t.Fatalf("%d upload records after CreateMultipartUpload, want 1", n)
	}
	res := g.do(http.MethodDelete, objectTarget(testBucket, "k", "uploadId="+id), nil)
	if res.status != http.StatusNoContent {
		t.Fatalf("AbortMultipartUpload: %v", res)
	}
	if keys := g.recordKeys("uploads/"); len(keys) != 0 {
		t.Errorf("upload records %q after abort, want none", keys)
	}
	if res := g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, 1)), []byte("x")); res.status != http.StatusNotFound || res.code() != "NoSuchUpload" {
		t.Errorf("UploadPart after abort: %v, want 404 NoSuchUpload", res)
	}
}

// recordKeys lists the system bucket's keys under prefix.
func (g *testGateway) recordKeys(prefix string) []string {
	var out []string
	for _, k := range g.be.keys(g.s.cfg.SystemBucket) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

func TestUploadPartCopyReencryptsTheRange(t *testing.T) {
	const pkg = crypto.PackageSize
	src := testData(3*pkg + 50)
	key2 := bytes.Repeat([]byte{9}, 32)
	tests := []struct {
		name       string
		setup      func(g *testGateway) // stores "src"
		srcHeader  []string             // the copy-source SSE-C headers
		uploadHdr  []string             // the upload's encryption
		rng        string
		want       []byte
		wantStatus int // 0: 200
		wantCode   string
	}{
		{name: "a range of an SSE-S3 object", setup: func(g *testGateway) { g.put(testBucket, "src", src) },
			rng: fmt.Sprintf("bytes=100-%d", pkg+200), want: src[100 : pkg+201]},
		{name: "a whole SSE-KMS object into an SSE-C upload", setup: func(g *testGateway) { g.put(testBucket, "src", src, hdrSSE, "aws:kms", hdrSSEKeyID, otherKey) },
			uploadHdr: ssecHeaders("", key2), want: src},
		{name: "a range of an SSE-C object", setup: func(g *testGateway) { g.put(testBucket, "src", src, ssecHeaders("", ssecKey)...) },
			srcHeader: ssecHeaders("X-Amz-Copy-Source-", ssecKey), rng: "bytes=0-0", want: src[:1]},
		{name: "an SSE-C object without its key", setup: func(g *testGateway) { g.put(testBucket, "src", src, ssecHeaders("", ssecKey)...) },
			wantStatus: http.StatusBadRequest, wantCode: "InvalidRequest"},
		{name: "a range of a plaintext object stored before s3seal", setup: func(g *testGateway) {
			g.be.buckets[testBucket]["src"] = &memObject{body: src, header: http.Header{}, etag: quotedMD5(src)}
		}, rng: "bytes=5-9", want: src[5:10]},
		// MinIO's and AWS's answer (the error differential pins it).
		{name: "a range past the source", setup: func(g *testGateway) { g.put(testBucket, "src", src) },
			rng: fmt.Sprintf("bytes=10-%d", len(src)), wantStatus: http.StatusBadRequest, wantCode: "InvalidArgument"},
		{name: "a malformed range", setup: func(g *testGateway) { g.put(testBucket, "src", src) },
			rng: "bytes=10-", wantStatus: http.StatusBadRequest, wantCode: "InvalidArgument"},
		{name: "a missing source", setup: func(*testGateway) {}, wantStatus: http.StatusNotFound, wantCode: "NoSuchKey"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Objects stored before s3seal are readable only from buckets
			// opted into legacy plaintext reads.
			g := newTestGateway(t, func(c *Config) { c.LegacyPlaintextReadBuckets = []string{testBucket} })
			g.be.MinPartSize = 1
			tc.setup(g)
			id := g.createUpload(testBucket, "dst", tc.uploadHdr...)
			g.be.forget()
			header := append([]string{"X-Amz-Copy-Source", testBucket + "/src"}, tc.srcHeader...)
			header = append(header, tc.uploadHdr...)
			if tc.rng != "" {
				header = append(header, "X-Amz-Copy-Source-Range", tc.rng)
			}
			res := g.do(http.MethodPut, objectTarget(testBucket, "dst", partQuery(id, 1)), nil, header...)
			if tc.wantStatus != 0 {
				if res.status != tc.wantStatus || res.code() != tc.wantCode {
					t.Errorf("UploadPartCopy: %v (code %q), want %d %s", res, res.code(), tc.wantStatus, tc.wantCode)
				}
				return
			}
			var doc struct{ ETag string }
			if err := xml.Unmarshal(res.body, &doc); res.status != http.StatusOK || err != nil || doc.ETag == "" {
				t.Fatalf("UploadPartCopy: %v", res)
			}
			puts := g.backendCalls(http.MethodPut, testBucket)
			if len(puts) != 1 {
				t.Fatalf("backend got %d PUTs, want 1", len(puts))
			}
			if puts[0].Header.Get("X-Amz-Copy-Source") != "" {
				t.Errorf("the backend was asked to copy ciphertext into the part")
			}
			checkCiphertextPut(t, puts[0], tc.want)
			tail := []byte("tail part")
			second := g.do(http.MethodPut, objectTarget(testBucket, "dst", partQuery(id, 2)), tail, tc.uploadHdr...)
			etags := []string{doc.ETag, second.header.Get("ETag")}
			if res := g.complete(testBucket, "dst", id, etags, tc.uploadHdr...); res.status != http.StatusOK {
				t.Fatalf("Complete: %v", res)
			}
			get := g.do(http.MethodGet, objectTarget(testBucket, "dst", ""), nil, tc.uploadHdr...)
			if want := append(append([]byte(nil), tc.want...), tail...); get.status != http.StatusOK || !bytes.Equal(get.body, want) {
				t.Errorf("GET of the completed object: status %d, %d bytes, want 200 and %d bytes", get.status, len(get.body), len(want))
			}
		})
	}
}

func TestUploadIDsBelongToTheirObject(t *testing.T) {
	g := newTestGateway(t, nil)
	id := g.createUpload(testBucket, "k")
	res := g.do(http.MethodPut, objectTarget(testBucket, "other", partQuery(id, 1)), []byte("x"))
	if res.status != http.StatusNotFound || res.code() != "NoSuchUpload" {
		t.Errorf("UploadPart naming another object's upload: %v (code %q), want 404 NoSuchUpload", res, res.code())
	}
}

func TestMultipartInPlaintextBucketsStoresPlaintext(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.PlaintextBuckets = []string{plaintextBucket} })
	g.be.buckets[plaintextBucket] = map[string]*memObject{}
	g.be.MinPartSize = 1
	data := testData(1000)
	g.put(plaintextBucket, "plain-src", data)
	g.put(testBucket, "encrypted-src", data)
	id := g.createUpload(plaintextBucket, "k")
	etags := g.uploadParts(plaintextBucket, "k", id, [][]byte{data[:600]})
	copied := g.do(http.MethodPut, objectTarget(plaintextBucket, "k", partQuery(id, 2)), nil,
		"X-Amz-Copy-Source", plaintextBucket+"/plain-src", "X-Amz-Copy-Source-Range", "bytes=600-999")
	var doc struct{ ETag string }
	if err := xml.Unmarshal(copied.body, &doc); copied.status != http.StatusOK || err != nil {
		t.Fatalf("UploadPartCopy within a plaintext bucket: %v", copied)
	}
	refused := g.do(http.MethodPut, objectTarget(plaintextBucket, "k", partQuery(id, 3)), nil, "X-Amz-Copy-Source", testBucket+"/encrypted-src")
	if refused.status != http.StatusNotImplemented || refused.code() != "NotImplemented" {
		t.Errorf("UploadPartCopy of an encrypted source into a plaintext upload: %v, want 501 NotImplemented", refused)
	}
	lp := g.do(http.MethodGet, objectTarget(plaintextBucket, "k", "uploadId="+id), nil)
	if lp.status != http.StatusOK || !bytes.Contains(lp.body, []byte("<Size>600</Size>")) {
		t.Errorf("ListParts: %v, want the stored size 600", lp)
	}
	if res := g.complete(plaintextBucket, "k", id, append(etags, doc.ETag)); res.status != http.StatusOK {
		t.Fatalf("Complete: %v", res)
	}
	if body, _, _ := g.be.object(plaintextBucket, "k"); !bytes.Equal(body, data) {
		t.Errorf("the plaintext bucket holds %d bytes that are not the uploaded plaintext", len(body))
	}
	if get := g.do(http.MethodGet, objectTarget(plaintextBucket, "k", "partNumber=2"), nil); get.status != http.StatusPartialContent || !bytes.Equal(get.body, data[600:]) {
		t.Errorf("GET partNumber=2: status %d, %d bytes", get.status, len(get.body))
	}
}

func TestPartNumberReads(t *testing.T) {
	g := newTestGateway(t, nil)
	g.be.MinPartSize = 1
	data := testData(3*crypto.PackageSize + 7)
	g.multipartPut(testBucket, "mp", splitParts(data, crypto.PackageSize+1, 2*crypto.PackageSize-1, 7))
	g.put(testBucket, "single", data[:10])
	tests := []struct {
		name, key, part string
		wantStatus      int
		wantCode        string
		want            []byte
		wantRange       string
	}{
		{"the middle part", "mp", "2", http.StatusPartialContent, "", data[crypto.PackageSize+1 : 3*crypto.PackageSize], fmt.Sprintf("bytes %d-%d/%d", crypto.PackageSize+1, 3*crypto.PackageSize-1, len(data))},
		{"the last part", "mp", "3", http.StatusPartialContent, "", data[3*crypto.PackageSize:], fmt.Sprintf("bytes %d-%d/%d", 3*crypto.PackageSize, len(data)-1, len(data))},
		{"part 1 of a single-part object", "single", "1", http.StatusPartialContent, "", data[:10], "bytes 0-9/10"},
		{"a part beyond the last", "mp", "4", http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", nil, ""},
		{"part 2 of a single-part object", "single", "2", http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", nil, ""},
		{"a part number that is not a number", "mp", "x", http.StatusBadRequest, "InvalidArgument", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			get := g.do(http.MethodGet, objectTarget(testBucket, tc.key, "partNumber="+tc.part), nil)
			if get.status != tc.wantStatus || get.code() != tc.wantCode {
				t.Fatalf("GET: %v (code %q), want %d %q", get, get.code(), tc.wantStatus, tc.wantCode)
			}
			head := g.do(http.MethodHead, objectTarget(testBucket, tc.key, "partNumber="+tc.part), nil)
			if head.status != tc.wantStatus {
				t.Errorf("HEAD: status %d, want %d", head.status, tc.wantStatus)
			}
			if tc.want == nil {
				return
			}
			if !bytes.Equal(get.body, tc.want) {
				t.Errorf("GET: %d bytes, want the part's %d", len(get.body), len(tc.want))
			}
			for _, r := range []*s3Response{get, head} {
				if got := r.header.Get("Content-Range"); got != tc.wantRange {
					t.Errorf("Content-Range %q, want %q", got, tc.wantRange)
				}
				if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(tc.want)) {
					t.Errorf("Content-Length %s, want %d", got, len(tc.want))
				}
			}
		})
	}
}

func TestCompleteReadsEveryPageOfParts(t *testing.T) {
	g := newTestGateway(t, nil)
	g.be.MinPartSize = 1
	g.be.MaxParts = 2 // five parts take three ListParts pages
	data := testData(5 * 70)
	g.multipartPut(testBucket, "k", splitParts(data, 70, 70, 70, 70, 70))
	pages := 0
	for _, c := range g.be.calls() {
		if c.Method == http.MethodGet && c.Query.Has("uploadId") {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("Complete read %d ListParts pages, want 3", pages)
	}
	if get := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil); !bytes.Equal(get.body, data) {
		t.Errorf("GET: status %d, %d bytes", get.status, len(get.body))
	}
}
