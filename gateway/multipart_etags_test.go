package gateway

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// awsMultipartETag is S3's ETag of a multipart object with these part ETags.
func awsMultipartETag(etags ...string) string {
	h := md5.New()
	for _, e := range etags {
		raw, _ := hex.DecodeString(strings.Trim(e, `"`))
		h.Write(raw)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(etags)) + `"`
}

func TestReuploadedIdenticalPartKeepsItsETag(t *testing.T) {
	part := testData(1000)
	for _, tc := range []struct {
		name    string
		header  []string
		md5ETag bool // SSE-S3: the part ETag is the MD5, as in S3
	}{
		{"SSE-S3", []string{hdrSSE, "AES256"}, true},
		{"SSE-KMS", []string{hdrSSE, "aws:kms"}, false},
		{"SSE-C", ssecHeaders("", testSSECKey()), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			id := g.createUpload(testBucket, "k", tc.header...)
			var partHeader []string
			if tc.name == "SSE-C" {
				partHeader = tc.header
			}
			first := g.uploadParts(testBucket, "k", id, [][]byte{part}, partHeader...)[0]
			again := g.uploadParts(testBucket, "k", id, [][]byte{part}, partHeader...)[0]
			if first != again {
				t.Fatalf("re-uploaded identical part: ETag %s, first %s; want equal", again, first)
			}
			other := g.uploadParts(testBucket, "k", id, [][]byte{testData(999)}, partHeader...)[0]
			if other == first {
				t.Fatalf("a part with other bytes got the same ETag %s", other)
			}
			g.uploadParts(testBucket, "k", id, [][]byte{part}, partHeader...)
			if got := strings.Trim(first, `"`) == md5Hex(part); got != tc.md5ETag {
				t.Errorf("part ETag %s is the plaintext MD5: %v, want %v", first, got, tc.md5ETag)
			}
			if len(strings.Trim(first, `"`)) != 32 {
				t.Errorf("part ETag %s: want 32 hex digits", first)
			}
			res := g.complete(testBucket, "k", id, []string{first}, partHeader...)
			if res.status != http.StatusOK {
				t.Fatalf("Complete with the first attempt's ETag: %v", res)
			}
			var doc struct{ ETag string }
			_ = xml.Unmarshal(res.body, &doc)
			if n := strings.Count(string(res.body), "xmlns="); n != 1 {
				t.Errorf("Complete result with %d xmlns attributes: %s", n, res.body)
			}
			if want := awsMultipartETag(first); doc.ETag != want {
				t.Errorf("Complete ETag %s, want %s", doc.ETag, want)
			}
			head := g.do(http.MethodHead, objectTarget(testBucket, "k", ""), nil, partHeader...)
			if head.header.Get("ETag") != doc.ETag {
				t.Errorf("HEAD ETag %s, want Complete's %s", head.header.Get("ETag"), doc.ETag)
			}
			list := g.do(http.MethodGet, "/"+testBucket+"?list-type=2", nil)
			if !strings.Contains(string(list.body), xmlEscapeString(doc.ETag)) {
				t.Errorf("listing %s does not show Complete's ETag %s", list.body, doc.ETag)
			}
			get := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil, partHeader...)
			if string(get.body) != string(part) || get.header.Get("ETag") != doc.ETag {
				t.Errorf("GET: %d bytes, ETag %s; want the part, ETag %s", len(get.body), get.header.Get("ETag"), doc.ETag)
			}
			for _, k := range g.be.keys(g.s.cfg.SystemBucket) {
				if strings.HasPrefix(k, "parts/") || strings.HasPrefix(k, "uploads/") {
					t.Errorf("record %s left after Complete", k)
				}
			}
		})
	}
}

func testSSECKey() []byte { return []byte("0123456789abcdef0123456789abcdef") }

func TestCompleteMapsClientETags(t *testing.T) {
	g := newTestGateway(t, nil)
	id := g.createUpload(testBucket, "k", hdrSSE, "aws:kms")
	etags := g.uploadParts(testBucket, "k", id, splitParts(testData(5<<20+5), 5<<20, 5))
	backend := g.backendPartETags("k", id)
	if backend[1] == etags[0] {
		t.Fatalf("the client sees the backend's part ETag %s", backend[1])
	}
	for _, tc := range []struct {
		name    string
		numbers []int
		etags   []string
		code    string
	}{
		{"an unknown ETag", []int{1, 2}, []string{etags[0], `"00000000000000000000000000000000"`}, "InvalidPart"},
		{"the backend's ETag", []int{1, 2}, []string{backend[1], etags[1]}, "InvalidPart"},
		{"another part's ETag", []int{1, 2}, []string{etags[1], etags[0]}, "InvalidPart"},
		{"a part never uploaded", []int{1, 3}, []string{etags[0], etags[1]}, "InvalidPart"},
		{"parts out of order", []int{2, 1}, []string{etags[1], etags[0]}, "InvalidPartOrder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(http.MethodPost, objectTarget(testBucket, "k", "uploadId="+url.QueryEscape(id)), completeXML(tc.numbers, tc.etags))
			if res.status != http.StatusBadRequest || res.code() != tc.code {
				t.Errorf("got %v, want 400 %s", res, tc.code)
			}
		})
	}
	if res := g.complete(testBucket, "k", id, etags); res.status != http.StatusOK {
		t.Fatalf("Complete: %v", res)
	}
}

// backendPartETags returns the backend's ETag of every part of an upload.
func (g *testGateway) backendPartETags(key, uploadID string) map[int]string {
	g.t.Helper()
	parts, err := g.s.listBackendParts(g.t.Context(), testBucket, key, uploadID)
	if err != nil {
		g.t.Fatal(err)
	}
	out := map[int]string{}
	for n, p := range parts {
		out[n] = p.etag
	}
	return out
}

func TestTamperedPartRecordIsAnError(t *testing.T) {
	g := newTestGateway(t, nil)
	id := g.createUpload(testBucket, "k")
	etags := g.uploadParts(testBucket, "k", id, [][]byte{testData(10)})
	name := partRecordName(testBucket, id, 1)
	if !g.be.alter(g.s.cfg.SystemBucket, name, func(o *memObject) { o.body[len(o.body)-1] ^= 1 }) {
		t.Fatalf("no part record %s", name)
	}
	// Read from the backend, as by a replica that did not upload the
	// part (the one that did uses the record it wrote).
	g.s.records.partCache.drop(name)
	if res := g.complete(testBucket, "k", id, etags); res.status != http.StatusInternalServerError || res.code() != "ObjectTampered" {
		t.Errorf("Complete over a tampered part record: %v, want 500 ObjectTampered", res)
	}
	if res := g.do(http.MethodGet, objectTarget(testBucket, "k", "uploadId="+url.QueryEscape(id)), nil); res.status != http.StatusInternalServerError {
		t.Errorf("ListParts over a tampered part record: %v, want 500", res)
	}

	// A record moved to another part's name does not authenticate either.
	id2 := g.createUpload(testBucket, "k2")
	g.uploadParts(testBucket, "k2", id2, [][]byte{testData(10), testData(11)})
	one, _, _ := g.be.object(g.s.cfg.SystemBucket, partRecordName(testBucket, id2, 1))
	g.be.alter(g.s.cfg.SystemBucket, partRecordName(testBucket, id2, 2), func(o *memObject) { o.body = one })
	if _, err := g.s.records.part(t.Context(), testBucket, id2, 2); err == nil {
		t.Error("part 1's record read as part 2's")
	}
}

func TestUploadsWithoutPartRecordsCompleteWithBackendETags(t *testing.T) {
	g := newTestGateway(t, nil)
	id := g.createUpload(testBucket, "k")
	// An upload as written before part records: version 0, and its parts
	// have no records.
	st, err := g.s.records.upload(t.Context(), testBucket, "k", id)
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := json.Marshal(uploadState{Object: "k", Metadata: st.Metadata})
	if err := g.s.records.put(t.Context(), uploadRecord(testBucket, id), legacy); err != nil {
		t.Fatal(err)
	}
	g.s.records.uploads.drop(uploadRecord(testBucket, id))
	data := testData(5<<20 + 10)
	g.uploadParts(testBucket, "k", id, splitParts(data, 5<<20, 10))
	if err := g.s.records.deleteMany(t.Context(), g.s.records.partRecordNames(testBucket, id, []int{1})); err != nil {
		t.Fatal(err)
	}
	backend := g.backendPartETags("k", id)
	// Part 2 was uploaded after the change: the client knows its ETag.
	rec2, err := g.s.records.part(t.Context(), testBucket, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	res := g.complete(testBucket, "k", id, []string{backend[1], `"` + rec2.ETag + `"`})
	if res.status != http.StatusOK {
		t.Fatalf("Complete of a legacy upload: %v", res)
	}
	if get := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil); string(get.body) != string(data) {
		t.Errorf("GET: %v", get)
	}

	// A version 2 upload whose part has no record: InvalidPart.
	id2 := g.createUpload(testBucket, "k2")
	g.uploadParts(testBucket, "k2", id2, [][]byte{data[:10]})
	if err := g.s.records.deleteMany(t.Context(), g.s.records.partRecordNames(testBucket, id2, []int{1})); err != nil {
		t.Fatal(err)
	}
	if res := g.complete(testBucket, "k2", id2, []string{g.backendPartETags("k2", id2)[1]}); res.code() != "InvalidPart" {
		t.Errorf("Complete with an unrecorded part: %v, want InvalidPart", res)
	}
}

func TestListPartsShowsWhatTheClientWasTold(t *testing.T) {
	g := newTestGateway(t, nil)
	id := g.createUpload(testBucket, "k", "X-Amz-Checksum-Algorithm", "SHA256")
	parts := splitParts(testData(30), 10, 20)
	var etags, sums []string
	for i, p := range parts {
		sum := sha256B64(p)
		res := g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, i+1)), p, "X-Amz-Checksum-Sha256", sum)
		if res.status != http.StatusOK || res.header.Get("X-Amz-Checksum-Sha256") != sum {
			t.Fatalf("UploadPart: %v %v", res, res.header)
		}
		etags, sums = append(etags, res.header.Get("ETag")), append(sums, sum)
	}
	res := g.do(http.MethodGet, objectTarget(testBucket, "k", "uploadId="+url.QueryEscape(id)), nil)
	var doc struct {
		ChecksumAlgorithm, ChecksumType string
		Parts                           []struct {
			PartNumber     int
			ETag           string
			Size           int64
			ChecksumSHA256 string
		} `xml:"Part"`
	}
	if err := xml.Unmarshal(res.body, &doc); err != nil || res.status != http.StatusOK {
		t.Fatalf("ListParts: %v", res)
	}
	if doc.ChecksumAlgorithm != "SHA256" || doc.ChecksumType != "COMPOSITE" {
		t.Errorf("ListParts algorithm %q type %q, want SHA256 COMPOSITE", doc.ChecksumAlgorithm, doc.ChecksumType)
	}
	if len(doc.Parts) != 2 {
		t.Fatalf("ListParts: %d parts, want 2: %s", len(doc.Parts), res.body)
	}
	for i, p := range doc.Parts {
		if p.ETag != etags[i] || p.Size != int64(len(parts[i])) || p.ChecksumSHA256 != sums[i] {
			t.Errorf("part %d: ETag %s size %d checksum %s, want %s %d %s", p.PartNumber, p.ETag, p.Size, p.ChecksumSHA256, etags[i], len(parts[i]), sums[i])
		}
	}
}

func sha256B64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestReadPreconditionsUseTheClientETag(t *testing.T) {
	g := newTestGateway(t, nil)
	data := testData(5<<20 + 3)
	res := g.multipartPut(testBucket, "mp", splitParts(data, 5<<20, 3))
	var doc struct{ ETag string }
	_ = xml.Unmarshal(res.body, &doc)
	backendETag := g.be.objectETag(t, testBucket, "mp")
	if backendETag == "" || backendETag == doc.ETag {
		t.Fatalf("backend and client ETag are both %s", doc.ETag)
	}
	single := g.put(testBucket, "single", []byte("hello")).header.Get("ETag")
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		key          string
		header       []string
		getStatus    int
		headStatusIs int // 0: as GET
	}{
		{"mp", []string{"If-Match", doc.ETag}, http.StatusOK, 0},
		{"mp", []string{"If-Match", "*"}, http.StatusOK, 0},
		{"mp", []string{"If-Match", backendETag}, http.StatusPreconditionFailed, 0},
		{"mp", []string{"If-None-Match", doc.ETag}, http.StatusNotModified, 0},
		{"mp", []string{"If-None-Match", backendETag}, http.StatusOK, 0},
		// With an ETag condition the dates are judged too, in MinIO's order.
		{"mp", []string{"If-Match", doc.ETag, "If-Unmodified-Since", past}, http.StatusOK, 0},
		{"mp", []string{"If-None-Match", `"other"`, "If-Modified-Since", future}, http.StatusNotModified, 0},
		{"mp", []string{"If-None-Match", `"other"`, "If-Modified-Since", past}, http.StatusOK, 0},
		{"mp", []string{"If-Match", doc.ETag, "Range", "bytes=0-9"}, http.StatusPartialContent, 0},
		{"single", []string{"If-Match", single}, http.StatusOK, 0},
		{"single", []string{"If-None-Match", single}, http.StatusNotModified, 0},
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			res := g.do(method, objectTarget(testBucket, tc.key, ""), nil, tc.header...)
			if res.status != tc.getStatus {
				t.Errorf("%s %s %q: %d, want %d", method, tc.key, tc.header, res.status, tc.getStatus)
			}
			if res.status == http.StatusNotModified && res.header.Get("ETag") == "" {
				t.Errorf("%s %s %q: 304 without an ETag", method, tc.key, tc.header)
			}
		}
	}
}

// objectETag returns the backend's ETag of an object.
func (m *memS3) objectETag(t *testing.T, bucket, key string) string {
	t.Helper()
	var etag string
	if !m.alter(bucket, key, func(o *memObject) { etag = o.etag }) {
		t.Fatalf("no object %s/%s", bucket, key)
	}
	return etag
}

func xmlEscapeString(v string) string { return strings.ReplaceAll(v, `"`, "&#34;") }
