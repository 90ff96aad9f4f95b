package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// A trailing checksum (aws-chunked with x-amz-trailer) of a single-part
// PutObject is known only after the body has been sent to the backend, too
// late for the object's sealed metadata. It is kept in a record named
// after the object version's backend ETag instead, and the object carries
// hdrTrailingChecksum so that reads know to look for it. Either can only
// be lost, never swapped: a missing record or marker means no checksum in
// answers; a record that does not authenticate is an error.

const hdrTrailingChecksum = "X-Amz-Meta-S3seal-Trailing-Checksum"

func trailingChecksumRecord(bucket, object, etag string) string {
	return "checksums/" + bucket + "/" + hashName(object) + "/" + strings.Trim(etag, `"`)
}

// recordTrailingChecksum stores the verified trailing checksum of the
// object version the backend stored with etag.
func (s *Server) recordTrailingChecksum(ctx context.Context, req *s3Request, etag string) error {
	p := req.payload
	// The backend took every byte, so only the trailer is left to read.
	if _, err := io.Copy(io.Discard, p.Body); err != nil {
		return err
	}
	if p.Checksum.Value == "" {
		return s3err.Wrap(s3err.InternalError, errors.New("trailing checksum not known after the body"))
	}
	value := strings.ToUpper(p.Checksum.Algorithm) + ":" + p.Checksum.Value
	return s.records.put(ctx, trailingChecksumRecord(req.bucket, req.object, etag), []byte(value))
}

// loadTrailingChecksum reads the trailing checksum of a single-part object
// into st when the request can answer with it: a read with checksum mode or
// GetObjectAttributes.
func (s *Server) loadTrailingChecksum(ctx context.Context, r *http.Request, req *s3Request, st *storedObject) error {
	if st.resp.Header.Get(hdrTrailingChecksum) == "" || st.meta.Multipart {
		return nil
	}
	if !strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && !r.URL.Query().Has("attributes") {
		return nil
	}
	name := trailingChecksumRecord(req.bucket, req.object, st.etag)
	data, err := s.records.get(ctx, name)
	switch {
	case errors.Is(err, errRecordNotFound):
		return nil
	case err != nil:
		return err
	}
	alg, value, ok := strings.Cut(string(data), ":")
	a := checksumAlgorithmNamed(alg)
	if !ok || a == nil {
		return s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("checksum record %s is malformed", name))
	}
	if _, ok := decodeChecksumValue(a, value); !ok {
		return s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("checksum record %s is malformed", name))
	}
	st.trailingChecksum = a.name + ":" + value
	return nil
}
