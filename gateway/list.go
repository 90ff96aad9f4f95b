package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// Listings are rewritten at the byte level: only <Size> values change (and
// the system bucket disappears from ListBuckets), everything else reaches
// the client exactly as the backend wrote it.

const maxListingSize = 64 << 20

var (
	entryPattern = regexp.MustCompile(`(?s)<(Contents|Version|Part)>.*?</(Contents|Version|Part)>`)
	sizePattern  = regexp.MustCompile(`<Size>(\d+)</Size>`)
)

// fetchListing forwards a listing request and returns the backend's
// response with its body read (bounded), or relays a non-200 answer.
func (s *Server) fetchListing(w http.ResponseWriter, r *http.Request, req *s3Request) (*http.Response, []byte, error) {
	resp, err := s.backend.do(r.Context(), backendRequest{
		Method: r.Method, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery,
		Header: forwardHeader(r.Header),
	})
	if err != nil {
		return nil, nil, backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, relay(w, r, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListingSize+1))
	if err != nil {
		return nil, nil, backendError(err)
	}
	if len(body) > maxListingSize {
		return nil, nil, s3err.Wrap(s3err.InternalError, fmt.Errorf("listing larger than %d bytes", maxListingSize))
	}
	return resp, body, nil
}

func writeListing(w http.ResponseWriter, resp *http.Response, body []byte) error {
	copyResponseHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(body)
	return err
}

// listObjects serves ListObjects V1/V2 and ListObjectVersions with
// plaintext sizes.
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if s.plaintext[req.bucket] {
		return s.passthrough(w, r, req)
	}
	resp, body, err := s.fetchListing(w, r, req)
	if resp == nil {
		return err
	}
	return writeListing(w, resp, plaintextSizes(body))
}

// listParts serves ListParts with plaintext part sizes.
func (s *Server) listParts(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if s.plaintext[req.bucket] {
		return s.passthrough(w, r, req)
	}
	resp, body, err := s.fetchListing(w, r, req)
	if resp == nil {
		return err
	}
	return writeListing(w, resp, plaintextSizes(body))
}

// plaintextSizes rewrites every entry's ciphertext size to its plaintext
// size. A single DARE stream's plaintext size follows exactly from its
// ciphertext size, and so does a multipart object's when every part but the
// last is a multiple of the package size. Sizes that no DARE stream can
// have (objects stored before s3seal) are left as they are.
func plaintextSizes(body []byte) []byte {
	return entryPattern.ReplaceAllFunc(body, func(entry []byte) []byte {
		return sizePattern.ReplaceAllFunc(entry, func(tag []byte) []byte {
			m := sizePattern.FindSubmatch(tag)
			n, err := strconv.ParseInt(string(m[1]), 10, 64)
			if err != nil {
				return tag
			}
			p, err := crypto.DecryptedSize(n)
			if err != nil {
				return tag
			}
			return []byte("<Size>" + strconv.FormatInt(p, 10) + "</Size>")
		})
	})
}

var bucketEntryPattern = regexp.MustCompile(`(?s)<Bucket>.*?</Bucket>`)

// listBuckets hides the system bucket.
func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	resp, body, err := s.fetchListing(w, r, req)
	if resp == nil {
		return err
	}
	name := []byte("<Name>" + s.cfg.SystemBucket + "</Name>")
	body = bucketEntryPattern.ReplaceAllFunc(body, func(b []byte) []byte {
		if bytes.Contains(b, name) {
			return nil
		}
		return b
	})
	return writeListing(w, resp, body)
}
