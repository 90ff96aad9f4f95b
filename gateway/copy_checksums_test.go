package gateway

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCopyObjectChecksums(t *testing.T) {
	g := newTestGateway(t, nil)
	data := testData(5<<20 + 77)
	parts := splitParts(data, 5<<20, 77)
	g.put(testBucket, "crc32", data, "X-Amz-Checksum-Crc32", algSum("CRC32", data))
	g.doTrailing(http.MethodPut, objectTarget(testBucket, "trailing", ""), data, "CRC64NVME", algSum("CRC64NVME", data))
	mpPut := func(key, alg, typ string) string {
		id := g.createUpload(testBucket, key, "X-Amz-Checksum-Algorithm", alg, "X-Amz-Checksum-Type", typ)
		var b strings.Builder
		for i, p := range parts {
			res := g.do(http.MethodPut, objectTarget(testBucket, key, partQuery(id, i+1)), p, "X-Amz-Checksum-"+alg, algSum(alg, p))
			b.WriteString("<Part><PartNumber>" + itoa(int64(i+1)) + "</PartNumber><ETag>" + res.header.Get("ETag") + "</ETag><Checksum" + alg + ">" + algSum(alg, p) + "</Checksum" + alg + "></Part>")
		}
		res := g.do(http.MethodPost, objectTarget(testBucket, key, "uploadId="+url.QueryEscape(id)), []byte("<CompleteMultipartUpload>"+b.String()+"</CompleteMultipartUpload>"))
		if res.status != http.StatusOK {
			t.Fatalf("Complete %s: %v", key, res)
		}
		return xmlFields(t, res.body)["ETag"]
	}
	fullETag := mpPut("mp-full", "CRC32C", "FULL_OBJECT")
	mpPut("mp-composite", "SHA256", "COMPOSITE")

	for _, tc := range []struct {
		name, src string
		algorithm string // x-amz-checksum-algorithm; "" none
		wantAlg   string
		wantValue string
		wantETag  string // "" not checked
	}{
		{"keeps a PUT's checksum", "crc32", "", "CRC32", algSum("CRC32", data), ""},
		{"keeps a trailing checksum", "trailing", "", "CRC64NVME", algSum("CRC64NVME", data), ""},
		{"the same algorithm is carried", "crc32", "CRC32", "CRC32", algSum("CRC32", data), ""},
		{"another algorithm is computed", "crc32", "SHA256", "SHA256", algSum("SHA256", data), ""},
		{"a full-object multipart checksum is carried", "mp-full", "CRC32C", "CRC32C", algSum("CRC32C", data), fullETag},
		{"a multipart copy keeps its layout's", "mp-full", "", "CRC32C", algSum("CRC32C", data), fullETag},
		{"a composite checksum is recomputed for the whole", "mp-composite", "SHA256", "SHA256", algSum("SHA256", data), ""},
		{"a ragged multipart source gets a full checksum", "mp-composite", "CRC32", "CRC32", algSum("CRC32", data), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"X-Amz-Copy-Source", "/" + testBucket + "/" + tc.src}
			if tc.algorithm != "" {
				hdr = append(hdr, "X-Amz-Checksum-Algorithm", tc.algorithm)
			}
			res := g.do(http.MethodPut, objectTarget(testBucket, "copy", ""), nil, hdr...)
			if res.status != http.StatusOK {
				t.Fatalf("CopyObject: %v", res)
			}
			doc := xmlFields(t, res.body)
			if doc["Checksum"+tc.wantAlg] != tc.wantValue {
				t.Errorf("CopyObjectResult %s, want Checksum%s %s", res.body, tc.wantAlg, tc.wantValue)
			}
			if tc.wantETag != "" && doc["ETag"] != tc.wantETag {
				t.Errorf("CopyObjectResult ETag %s, want the source's %s", doc["ETag"], tc.wantETag)
			}
			head := g.do(http.MethodHead, objectTarget(testBucket, "copy", ""), nil, "X-Amz-Checksum-Mode", "ENABLED")
			if got := head.header.Get("X-Amz-Checksum-" + tc.wantAlg); got != tc.wantValue {
				t.Errorf("HEAD of the copy: checksum %q, want %q", got, tc.wantValue)
			}
			if tc.wantETag != "" && head.header.Get("ETag") != tc.wantETag {
				t.Errorf("HEAD of the copy: ETag %s, want %s", head.header.Get("ETag"), tc.wantETag)
			}
			if get := g.do(http.MethodGet, objectTarget(testBucket, "copy", ""), nil); !bytes.Equal(get.body, data) {
				t.Errorf("GET of the copy: %v", get)
			}
		})
	}
	if res := g.do(http.MethodPut, objectTarget(testBucket, "copy", ""), nil, "X-Amz-Copy-Source", "/"+testBucket+"/crc32", "X-Amz-Checksum-Algorithm", "CRC99"); res.code() != "InvalidArgument" {
		t.Errorf("CopyObject with an unknown algorithm: %v, want InvalidArgument", res)
	}
}

func TestCopySourceConditionsUseTheClientETag(t *testing.T) {
	g := newTestGateway(t, nil)
	res := g.multipartPut(testBucket, "mp", splitParts(testData(5<<20+3), 5<<20, 3))
	etag := xmlFields(t, res.body)["ETag"]
	backendETag := g.be.objectETag(t, testBucket, "mp")
	for _, tc := range []struct {
		header []string
		status int
	}{
		{[]string{"X-Amz-Copy-Source-If-Match", etag}, http.StatusOK},
		{[]string{"X-Amz-Copy-Source-If-Match", backendETag}, http.StatusPreconditionFailed},
		{[]string{"X-Amz-Copy-Source-If-None-Match", etag}, http.StatusPreconditionFailed},
		{[]string{"X-Amz-Copy-Source-If-None-Match", backendETag}, http.StatusOK},
	} {
		for _, target := range []string{objectTarget(testBucket, "dst", ""), objectTarget(testBucket, "dst", partQuery(g.createUpload(testBucket, "dst"), 1))} {
			res := g.do(http.MethodPut, target, nil, append([]string{"X-Amz-Copy-Source", "/" + testBucket + "/mp"}, tc.header...)...)
			if res.status != tc.status {
				t.Errorf("copy to %s with %q: %v, want %d", target, tc.header, res, tc.status)
			}
		}
	}
}
