package gateway

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// GetObjectAttributes on an encrypted object is answered from what s3seal
// knows, never from the backend's view of the ciphertext: the plaintext
// size and part sizes from the object's layout, the checksum the client
// sent (stored sealed), the client-visible ETag and the storage class.

// objectAttributes is S3's GetObjectAttributes document.
type objectAttributes struct {
	XMLName      xml.Name            `xml:"GetObjectAttributesResponse"`
	Xmlns        string              `xml:"xmlns,attr"`
	ETag         string              `xml:",omitempty"`
	Checksum     *attributesChecksum `xml:",omitempty"`
	ObjectParts  *attributesParts    `xml:",omitempty"`
	StorageClass string              `xml:",omitempty"`
	ObjectSize   int64               `xml:",omitempty"`
}

type attributesChecksum struct {
	xmlChecksums
	ChecksumType string `xml:",omitempty"`
}

type attributesParts struct {
	IsTruncated          bool
	MaxParts             int
	NextPartNumberMarker int
	PartNumberMarker     int
	PartsCount           int              // TotalPartsCount in the SDKs; PartsCount on the wire
	Parts                []attributesPart `xml:"Part"`
}

type attributesPart struct {
	PartNumber int
	Size       int64
	xmlChecksums
}

// objectAttributeNames are the attributes a client may ask for.
var objectAttributeNames = []string{"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"}

// parseObjectAttributes reads x-amz-object-attributes (comma-separated,
// in one or more headers).
func parseObjectAttributes(h http.Header) (map[string]bool, error) {
	want := map[string]bool{}
	for _, v := range h.Values("X-Amz-Object-Attributes") {
		for a := range strings.SplitSeq(v, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			known := false
			for _, n := range objectAttributeNames {
				known = known || n == a
			}
			if !known {
				return nil, s3err.New(s3err.InvalidArgument, "Invalid attribute name specified.")
			}
			want[a] = true
		}
	}
	if len(want) == 0 {
		return nil, s3err.New(s3err.InvalidArgument, "Invalid attribute name specified.")
	}
	return want, nil
}

// intHeader reads a non-negative integer header; def if absent.
func intHeader(h http.Header, name string, def int) (int, error) {
	v := h.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.New(s3err.InvalidArgument, "%s must be a non-negative integer.", name)
	}
	return n, nil
}

func (s *Server) getObjectAttributes(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if s.plaintext[req.bucket] {
		return s.passthrough(w, r, req)
	}
	want, err := parseObjectAttributes(r.Header)
	if err != nil {
		return err
	}
	maxParts, err := intHeader(r.Header, "X-Amz-Max-Parts", 1000)
	if err != nil {
		return err
	}
	marker, err := intHeader(r.Header, "X-Amz-Part-Number-Marker", 0)
	if err != nil {
		return err
	}
	ssec, err := s.parseCustomerKey(r, false)
	if err != nil {
		return err
	}
	st, key, layout, err := s.statEncrypted(w, r, req, ssec)
	if st == nil {
		return err
	}
	req.keyID = st.meta.KeyID
	doc := objectAttributes{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/"}
	if want["ETag"] {
		doc.ETag = strings.Trim(st.clientETag, `"`)
	}
	if want["ObjectSize"] {
		doc.ObjectSize = layout.sizes.Size()
	}
	if want["StorageClass"] {
		doc.StorageClass = st.resp.Header.Get("X-Amz-Storage-Class")
		if doc.StorageClass == "" {
			doc.StorageClass = "STANDARD"
		}
	}
	if want["Checksum"] {
		switch alg, value, ok := openStoredChecksum(st, key); {
		case st.meta.Multipart && layout.checksumValue != "":
			c := &attributesChecksum{ChecksumType: layout.checksum.Type}
			// The document's value carries no "-N": the part count is in
			// ObjectParts.
			v, _, _ := strings.Cut(layout.checksumValue, "-")
			c.xmlChecksums = checksumSet{layout.checksum.Algorithm: v}.xml()
			if c.ChecksumMD5 == "" && !c.xmlChecksums.empty() {
				doc.Checksum = c
			}
		case !st.meta.Multipart && ok:
			// S3's document has no MD5 element.
			if c := (checksumSet{alg: value}).xml(); c.ChecksumMD5 == "" && !c.empty() {
				doc.Checksum = &attributesChecksum{xmlChecksums: c, ChecksumType: "FULL_OBJECT"}
			}
		}
	}
	if want["ObjectParts"] && st.meta.Multipart {
		doc.ObjectParts = objectParts(layout, marker, maxParts)
	}
	h := w.Header()
	for _, k := range []string{"Last-Modified", "X-Amz-Version-Id", "X-Amz-Delete-Marker"} {
		if v := st.resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	setSSEHeaders(h, st.meta)
	body, err := xml.Marshal(doc)
	if err != nil {
		return s3err.Wrap(s3err.InternalError, err)
	}
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
	return nil
}

// objectParts lists the plaintext part sizes after marker, at most max.
func objectParts(layout partLayout, marker, max int) *attributesParts {
	p := &attributesParts{MaxParts: max, PartNumberMarker: marker, PartsCount: len(layout.sizes)}
	for i, size := range layout.sizes {
		n := i + 1
		if layout.numbers != nil {
			n = layout.numbers[i]
		}
		if n <= marker {
			continue
		}
		if len(p.Parts) == max {
			p.IsTruncated = true
			break
		}
		part := attributesPart{PartNumber: n, Size: size}
		if layout.partChecksums != nil && layout.checksum.Algorithm != "MD5" {
			part.xmlChecksums = checksumSet{layout.checksum.Algorithm: layout.partChecksums[i]}.xml()
		}
		p.Parts = append(p.Parts, part)
		p.NextPartNumberMarker = n
	}
	return p
}
