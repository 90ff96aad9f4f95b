package gateway

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// A copy's checksum: the source's is carried when it describes the copy
// (the same algorithm, of the whole object), else the requested algorithm
// (x-amz-checksum-algorithm) is computed over the plaintext on its way
// through the gateway. A single-part copy keeps it in a checksum record
// (trailing.go), a multipart one in its layout.

// copySum is what a copy does about its destination's checksum.
type copySum struct {
	carry   string             // "ALG:value" to keep; "" none
	typ     string             // its x-amz-checksum-type
	compute *checksumAlgorithm // compute this over the plaintext instead
}

// requestedChecksumAlgorithm reads x-amz-checksum-algorithm of a copy.
func requestedChecksumAlgorithm(h http.Header) (*checksumAlgorithm, error) {
	v := strings.TrimSpace(h.Get("X-Amz-Checksum-Algorithm"))
	if v == "" {
		return nil, nil
	}
	alg := checksumAlgorithmNamed(v)
	if alg == nil {
		return nil, s3err.New(s3err.InvalidArgument, "Invalid checksum provided.")
	}
	return alg, nil
}

// copyChecksum decides a copy's checksum from its encrypted source and the
// requested algorithm (nil: keep the source's).
func (s *Server) copyChecksum(ctx context.Context, r *http.Request, so *sourceObject, key crypto.ObjectKey, layout partLayout, want *checksumAlgorithm) (copySum, error) {
	var alg, value, typ string
	if so.meta.Multipart {
		alg, value, typ = layout.checksum.Algorithm, layout.checksumValue, layout.checksum.Type
	} else {
		st := &storedObject{resp: so.head, meta: so.meta, etag: so.etag}
		if err := s.loadTrailingChecksum(ctx, withChecksumMode(r), &s3Request{bucket: so.src.bucket, object: so.src.object}, st); err != nil {
			return copySum{}, err
		}
		var ok bool
		if alg, value, ok = openStoredChecksum(st, key); !ok {
			alg, value = "", ""
		}
		typ = checksumFullObject
	}
	full := value != "" && typ == checksumFullObject
	switch {
	case want == nil && full:
		return copySum{carry: alg + ":" + value, typ: typ}, nil
	case want == nil && value != "" && so.meta.Multipart && ragged(layout.sizes):
		// A composite checksum does not describe the one-stream copy:
		// compute the algorithm's checksum of the whole.
		return copySum{compute: checksumAlgorithmNamed(alg), typ: checksumFullObject}, nil
	case want == nil:
		return copySum{}, nil // a multipart copy keeps its layout's
	case want.name == alg && full:
		return copySum{carry: alg + ":" + value, typ: typ}, nil
	}
	return copySum{compute: want, typ: checksumFullObject}, nil
}

// withChecksumMode returns r as a read with checksum mode, for loading a
// source's stored checksum.
func withChecksumMode(r *http.Request) *http.Request {
	c := r.Clone(r.Context())
	c.Header.Set("X-Amz-Checksum-Mode", "ENABLED")
	return c
}

// copyObjectResult is S3's CopyObjectResult document.
func copyObjectResult(lastModified, etag string, sum copySum) []byte {
	doc := struct {
		XMLName      xml.Name `xml:"CopyObjectResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		LastModified string
		ETag         string
		xmlChecksums
		ChecksumType string `xml:",omitempty"`
	}{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", LastModified: lastModified, ETag: etag}
	if alg, value, ok := strings.Cut(sum.carry, ":"); ok {
		doc.xmlChecksums = checksumSet{alg: value}.xml()
		doc.ChecksumType = sum.typ
	}
	out, _ := xml.Marshal(doc)
	return append([]byte(xml.Header), out...)
}
