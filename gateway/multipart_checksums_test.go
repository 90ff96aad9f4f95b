package gateway

import (
	"encoding/base64"
	"encoding/xml"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCRCCombineEqualsTheCRCOfTheWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 70000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, name := range []string{"CRC32", "CRC32C", "CRC64NVME"} {
		alg := checksumAlgorithmNamed(name)
		sum := func(b []byte) []byte { h := alg.new(); h.Write(b); return h.Sum(nil) }
		for _, cuts := range [][]int{{0, 1, 70000}, {0, 7, 70000}, {0, 35000, 35001, 70000}, {0, 1 << 16, 70000}, {0, 70000, 70000}} {
			var parts []partChecksum
			for i := 1; i < len(cuts); i++ {
				p := data[cuts[i-1]:cuts[i]]
				parts = append(parts, partChecksum{raw: sum(p), size: int64(len(p))})
			}
			got := objectChecksum(alg, checksumFullObject, parts)
			if want := base64.StdEncoding.EncodeToString(sum(data)); got != want {
				t.Errorf("%s over parts cut at %v: %s, want %s", name, cuts, got, want)
			}
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// algSum returns the base64 checksum of b.
func algSum(name string, b []byte) string {
	h := checksumAlgorithmNamed(name).new()
	h.Write(b)
	return b64(h.Sum(nil))
}

func TestMultipartChecksums(t *testing.T) {
	data := testData(5<<20 + 1000)
	parts := splitParts(data, 5<<20, 1000)
	composite := func(name string) string {
		h := checksumAlgorithmNamed(name).new()
		for _, p := range parts {
			raw, _ := base64.StdEncoding.DecodeString(algSum(name, p))
			h.Write(raw)
		}
		return b64(h.Sum(nil)) + "-2"
	}
	for _, tc := range []struct {
		alg, typ string
		want     string // the object's checksum
		wantType string
	}{
		{"CRC32", "", composite("CRC32"), "COMPOSITE"},
		{"CRC32", "FULL_OBJECT", algSum("CRC32", data), "FULL_OBJECT"},
		{"CRC32C", "FULL_OBJECT", algSum("CRC32C", data), "FULL_OBJECT"},
		{"CRC32C", "COMPOSITE", composite("CRC32C"), "COMPOSITE"},
		{"CRC64NVME", "", algSum("CRC64NVME", data), "FULL_OBJECT"},
		{"SHA1", "", composite("SHA1"), "COMPOSITE"},
		{"SHA256", "COMPOSITE", composite("SHA256"), "COMPOSITE"},
	} {
		t.Run(tc.alg+" "+tc.typ, func(t *testing.T) {
			g := newTestGateway(t, nil)
			hdr := []string{"X-Amz-Checksum-Algorithm", tc.alg}
			if tc.typ != "" {
				hdr = append(hdr, "X-Amz-Checksum-Type", tc.typ)
			}
			id := g.createUpload(testBucket, "k", hdr...)
			var xmlParts strings.Builder
			for i, p := range parts {
				res := g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, i+1)), p, "X-Amz-Checksum-"+tc.alg, algSum(tc.alg, p))
				if res.status != http.StatusOK {
					t.Fatalf("UploadPart: %v", res)
				}
				xmlParts.WriteString("<Part><PartNumber>" + itoa(int64(i+1)) + "</PartNumber><ETag>" + res.header.Get("ETag") +
					"</ETag><Checksum" + tc.alg + ">" + algSum(tc.alg, p) + "</Checksum" + tc.alg + "></Part>")
			}
			target := objectTarget(testBucket, "k", "uploadId="+url.QueryEscape(id))
			body := []byte("<CompleteMultipartUpload>" + xmlParts.String() + "</CompleteMultipartUpload>")
			if res := g.do(http.MethodPost, target, body, "X-Amz-Checksum-"+tc.alg, algSum(tc.alg, []byte("wrong"))); res.code() != "XAmzContentChecksumMismatch" {
				t.Errorf("Complete with a wrong object checksum: %v, want XAmzContentChecksumMismatch", res)
			}
			res := g.do(http.MethodPost, target, body, "X-Amz-Checksum-"+tc.alg, tc.want)
			if res.status != http.StatusOK {
				t.Fatalf("Complete: %v", res)
			}
			doc := xmlFields(t, res.body)
			if doc["Checksum"+tc.alg] != tc.want || doc["ChecksumType"] != tc.wantType {
				t.Errorf("Complete result %s, want Checksum%s %s type %s", res.body, tc.alg, tc.want, tc.wantType)
			}
			head := g.do(http.MethodHead, objectTarget(testBucket, "k", ""), nil, "X-Amz-Checksum-Mode", "ENABLED")
			if got := head.header.Get("X-Amz-Checksum-" + tc.alg); got != tc.want || head.header.Get("X-Amz-Checksum-Type") != tc.wantType {
				t.Errorf("HEAD checksum %q type %q, want %q %q", got, head.header.Get("X-Amz-Checksum-Type"), tc.want, tc.wantType)
			}
			if plain := g.do(http.MethodHead, objectTarget(testBucket, "k", ""), nil); plain.header.Get("X-Amz-Checksum-"+tc.alg) != "" {
				t.Errorf("HEAD without checksum mode answers a checksum")
			}
			part := g.do(http.MethodGet, objectTarget(testBucket, "k", "partNumber=2"), nil, "X-Amz-Checksum-Mode", "ENABLED")
			if got := part.header.Get("X-Amz-Checksum-" + tc.alg); got != algSum(tc.alg, parts[1]) || string(part.body) != string(parts[1]) {
				t.Errorf("GET part 2: checksum %q, want %q", got, algSum(tc.alg, parts[1]))
			}
			attrs := g.do(http.MethodGet, objectTarget(testBucket, "k", "attributes="), nil, "X-Amz-Object-Attributes", "Checksum,ObjectParts")
			var a struct {
				ObjectParts struct {
					Parts []struct {
						PartNumber int
						Inner      []byte `xml:",innerxml"`
					} `xml:"Part"`
				}
			}
			if err := xml.Unmarshal(attrs.body, &a); err != nil || len(a.ObjectParts.Parts) != 2 {
				t.Fatalf("GetObjectAttributes: %v", attrs)
			}
			wantObj, _, _ := strings.Cut(tc.want, "-")
			if !strings.Contains(string(attrs.body), "<Checksum"+tc.alg+">"+wantObj+"</Checksum"+tc.alg+">") ||
				!strings.Contains(string(a.ObjectParts.Parts[1].Inner), algSum(tc.alg, parts[1])) {
				t.Errorf("GetObjectAttributes: %s", attrs.body)
			}
		})
	}
}

// xmlFields returns the text of a document's top-level elements.
func xmlFields(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var doc struct {
		Fields []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	out := map[string]string{}
	for _, f := range doc.Fields {
		out[f.XMLName.Local] = f.Value
	}
	return out
}

func TestMultipartChecksumRefusals(t *testing.T) {
	g := newTestGateway(t, nil)
	for _, hdr := range [][]string{
		{"X-Amz-Checksum-Algorithm", "SHA256", "X-Amz-Checksum-Type", "FULL_OBJECT"},
		{"X-Amz-Checksum-Algorithm", "CRC99"},
		{"X-Amz-Checksum-Type", "FULL_OBJECT"},
		{"X-Amz-Checksum-Algorithm", "CRC32", "X-Amz-Checksum-Type", "PARTIAL"},
	} {
		if res := g.do(http.MethodPost, objectTarget(testBucket, "k", "uploads"), nil, hdr...); res.status != http.StatusBadRequest || res.code() != "InvalidArgument" {
			t.Errorf("CreateMultipartUpload %q: %v, want 400 InvalidArgument", hdr, res)
		}
	}
	id := g.createUpload(testBucket, "k", "X-Amz-Checksum-Algorithm", "CRC32C")
	p := testData(100)
	if res := g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, 1)), p); res.code() != "InvalidArgument" {
		t.Errorf("UploadPart without the upload's checksum: %v, want InvalidArgument", res)
	}
	if res := g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, 1)), p, "X-Amz-Checksum-Crc32", algSum("CRC32", p)); res.code() != "InvalidArgument" {
		t.Errorf("UploadPart with another algorithm: %v, want InvalidArgument", res)
	}
	res := g.do(http.MethodPut, objectTarget(testBucket, "k", partQuery(id, 1)), p, "X-Amz-Checksum-Crc32c", algSum("CRC32C", p))
	etag := res.header.Get("ETag")
	target := objectTarget(testBucket, "k", "uploadId="+url.QueryEscape(id))
	for name, part := range map[string]string{
		"no part checksum":    "",
		"a wrong checksum":    "<ChecksumCRC32C>" + algSum("CRC32C", []byte("x")) + "</ChecksumCRC32C>",
		"another algorithm's": "<ChecksumCRC32>" + algSum("CRC32", p) + "</ChecksumCRC32>",
	} {
		body := "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + etag + "</ETag>" + part + "</Part></CompleteMultipartUpload>"
		if res := g.do(http.MethodPost, target, []byte(body)); res.code() != "InvalidPart" {
			t.Errorf("Complete with %s: %v, want InvalidPart", name, res)
		}
	}
	good := "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + etag + "</ETag><ChecksumCRC32C>" + algSum("CRC32C", p) + "</ChecksumCRC32C></Part></CompleteMultipartUpload>"
	if res := g.do(http.MethodPost, target, []byte(good), "X-Amz-Checksum-Sha256", algSum("SHA256", p)); res.code() != "InvalidArgument" {
		t.Errorf("Complete with another algorithm's object checksum: %v, want InvalidArgument", res)
	}
	if res := g.do(http.MethodPost, target, []byte(good)); res.status != http.StatusOK {
		t.Errorf("Complete: %v", res)
	}
}
