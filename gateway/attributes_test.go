package gateway

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/crypto"
)

type attributesDoc struct {
	ETag     string
	Checksum struct {
		ChecksumCRC32 string
		ChecksumType  string
	}
	ObjectParts struct {
		IsTruncated          bool
		NextPartNumberMarker int
		PartsCount           int
		Parts                []struct {
			PartNumber int
			Size       int64
		} `xml:"Part"`
	}
	StorageClass string
	ObjectSize   int64
}

func TestGetObjectAttributesAnswersWithPlaintextValues(t *testing.T) {
	g := newTestGateway(t, nil)
	data := testData(2*crypto.PackageSize + 77)
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(data))
	crc32b64 := base64.StdEncoding.EncodeToString(crc[:])
	if res := g.put(testBucket, "single", data, "X-Amz-Checksum-Crc32", crc32b64); res.status != http.StatusOK {
		t.Fatalf("PUT: %v", res)
	}
	parts := [][]byte{testData(5<<20 + 123), testData(5<<20 + 1), testData(1000)}
	if res := g.multipartPut(testBucket, "multi", parts); res.status != http.StatusOK {
		t.Fatalf("multipart: %v", res)
	}
	all := "ETag,Checksum,ObjectParts,StorageClass,ObjectSize"
	get := func(key string, header ...string) (*s3Response, attributesDoc) {
		t.Helper()
		res := g.do(http.MethodGet, objectTarget(testBucket, key, "attributes"), nil, header...)
		var doc attributesDoc
		if res.status == http.StatusOK {
			if err := xml.Unmarshal(res.body, &doc); err != nil {
				t.Fatalf("%s: %v", res.body, err)
			}
		}
		return res, doc
	}

	res, doc := get("single", "X-Amz-Object-Attributes", all)
	head := g.do(http.MethodHead, objectTarget(testBucket, "single", ""), nil)
	if res.status != http.StatusOK || doc.ObjectSize != int64(len(data)) || doc.ETag != strings.Trim(head.header.Get("ETag"), `"`) ||
		doc.StorageClass != "STANDARD" || doc.Checksum.ChecksumCRC32 != crc32b64 || doc.Checksum.ChecksumType != "FULL_OBJECT" || doc.ObjectParts.PartsCount != 0 {
		t.Errorf("single-part attributes: %v\n%+v", res, doc)
	}
	if strings.Contains(string(res.body), "S3seal") {
		t.Errorf("attributes carry reserved metadata: %s", res.body)
	}

	res, doc = get("multi", "X-Amz-Object-Attributes", "ObjectParts,ObjectSize", "X-Amz-Max-Parts", "2")
	total := int64(0)
	for _, p := range parts {
		total += int64(len(p))
	}
	if res.status != http.StatusOK || doc.ObjectSize != total || doc.ObjectParts.PartsCount != 3 || !doc.ObjectParts.IsTruncated ||
		len(doc.ObjectParts.Parts) != 2 || doc.ObjectParts.Parts[1].Size != int64(len(parts[1])) || doc.ObjectParts.NextPartNumberMarker != 2 {
		t.Errorf("multipart attributes: %v\n%+v", res, doc)
	}
	_, doc = get("multi", "X-Amz-Object-Attributes", "ObjectParts", "X-Amz-Part-Number-Marker", "2")
	if len(doc.ObjectParts.Parts) != 1 || doc.ObjectParts.Parts[0].PartNumber != 3 || doc.ObjectParts.Parts[0].Size != 1000 || doc.ObjectParts.IsTruncated {
		t.Errorf("after marker 2: %+v", doc.ObjectParts)
	}

	for _, tc := range []struct {
		key    string
		header []string
		status int
		code   string
	}{
		{"single", nil, http.StatusBadRequest, "InvalidArgument"},
		{"single", []string{"X-Amz-Object-Attributes", "Colour"}, http.StatusBadRequest, "InvalidArgument"},
		{"missing", []string{"X-Amz-Object-Attributes", "ETag"}, http.StatusNotFound, "NoSuchKey"},
		{"single", []string{"X-Amz-Object-Attributes", "ETag", "If-Match", `"nope"`}, http.StatusPreconditionFailed, "PreconditionFailed"},
	} {
		if res, _ := get(tc.key, tc.header...); res.status != tc.status || res.code() != tc.code {
			t.Errorf("%s %v: %v (code %q), want %d %s", tc.key, tc.header, res, res.code(), tc.status, tc.code)
		}
	}
}
