package gateway

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// doTrailing sends body as aws-chunked with an unsigned payload and a
// trailing checksum of alg (as minio-go and the AWS SDKs do over TLS).
func (g *testGateway) doTrailing(method, target string, body []byte, alg, value string, header ...string) *s3Response {
	g.t.Helper()
	var b bytes.Buffer
	if len(body) > 0 {
		fmt.Fprintf(&b, "%x\r\n", len(body))
		b.Write(body)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "0\r\nx-amz-checksum-%s:%s\r\n\r\n", strings.ToLower(alg), value)
	r := httptest.NewRequestWithContext(g.t.Context(), method, "http://s3.test"+target, bytes.NewReader(b.Bytes()))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	r.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Trailer", "x-amz-checksum-"+strings.ToLower(alg))
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(body)))
	r.ContentLength = int64(b.Len())
	return g.serve(signV4(r, testRoot, testPassword))
}

func TestTrailingChecksumsAreStored(t *testing.T) {
	g := newTestGateway(t, nil)
	data := testData(70000)
	for _, alg := range []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"} {
		t.Run(alg, func(t *testing.T) {
			key := "single-" + alg
			want := algSum(alg, data)
			res := g.doTrailing(http.MethodPut, objectTarget(testBucket, key, ""), data, alg, want)
			if res.status != http.StatusOK {
				t.Fatalf("PUT with a trailing checksum: %v", res)
			}
			head := g.do(http.MethodHead, objectTarget(testBucket, key, ""), nil, "X-Amz-Checksum-Mode", "ENABLED")
			if got := head.header.Get("X-Amz-Checksum-" + alg); got != want {
				t.Errorf("HEAD checksum %q, want %q", got, want)
			}
			get := g.do(http.MethodGet, objectTarget(testBucket, key, ""), nil, "X-Amz-Checksum-Mode", "ENABLED")
			if got := get.header.Get("X-Amz-Checksum-" + alg); got != want || !bytes.Equal(get.body, data) {
				t.Errorf("GET checksum %q, want %q", got, want)
			}
		})
	}
	t.Run("a tampered record is an error", func(t *testing.T) {
		g.doTrailing(http.MethodPut, objectTarget(testBucket, "t", ""), data, "CRC32", algSum("CRC32", data))
		name := trailingChecksumRecord(testBucket, "t", g.be.objectETag(t, testBucket, "t"))
		if !g.be.alter(g.s.cfg.SystemBucket, name, func(o *memObject) { o.body[len(o.body)-1] ^= 1 }) {
			t.Fatalf("no record %s", name)
		}
		if res := g.do(http.MethodHead, objectTarget(testBucket, "t", ""), nil, "X-Amz-Checksum-Mode", "ENABLED"); res.status != http.StatusInternalServerError {
			t.Errorf("HEAD over a tampered checksum record: %d, want 500", res.status)
		}
		if res := g.do(http.MethodGet, objectTarget(testBucket, "t", ""), nil); res.status != http.StatusOK || !bytes.Equal(res.body, data) {
			t.Errorf("GET without checksum mode: %v, want the object", res)
		}
	})
	t.Run("a wrong trailing checksum stores nothing", func(t *testing.T) {
		res := g.doTrailing(http.MethodPut, objectTarget(testBucket, "bad", ""), data, "CRC32", algSum("CRC32", []byte("x")))
		if res.status != http.StatusBadRequest {
			t.Errorf("PUT with a wrong trailing checksum: %v, want 400", res)
		}
	})
}

func TestTrailingPartChecksumsAreRecorded(t *testing.T) {
	g := newTestGateway(t, nil)
	parts := splitParts(testData(5<<20+10), 5<<20, 10)
	id := g.createUpload(testBucket, "k", "X-Amz-Checksum-Algorithm", "CRC32C")
	var etags []string
	for i, p := range parts {
		res := g.doTrailing(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, i+1)), p, "CRC32C", algSum("CRC32C", p))
		if res.status != http.StatusOK || res.header.Get("X-Amz-Checksum-Crc32c") != algSum("CRC32C", p) {
			t.Fatalf("UploadPart with a trailing checksum: %v %v", res, res.header)
		}
		etags = append(etags, res.header.Get("ETag"))
	}
	// Complete without part checksums in the document: InvalidPart, as
	// MinIO answers for an upload created with an algorithm.
	if res := g.complete(testBucket, "k", id, etags); res.code() != "InvalidPart" {
		t.Errorf("Complete without part checksums: %v, want InvalidPart", res)
	}
	rec, err := g.s.records.part(t.Context(), testBucket, id, 2)
	if err != nil || rec.Checksums["CRC32C"] != algSum("CRC32C", parts[1]) {
		t.Errorf("part record %+v, %v; want the trailing CRC32C", rec, err)
	}
}
