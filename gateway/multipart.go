package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// An encrypted multipart upload keeps its sealed object key in an upload
// record (the S3 API cannot return an upload's metadata); every part is a
// DARE stream of its own under the part key. CompleteMultipartUpload
// records the parts' plaintext sizes in a layout record named after the
// final ETag, which reads need to find part boundaries.

// uploadState is an upload's decoded record.
type uploadState struct {
	Object   string            `json:"object"`
	Metadata map[string]string `json:"metadata"` // crypto.Metadata.Encode()
	meta     *crypto.Metadata
}

func (s *Server) createMultipartUpload(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := rejectReservedMetadata(r.Header); err != nil {
		return err
	}
	ctx := r.Context()
	enc, err := s.requestedEncryption(ctx, r, req.bucket)
	if err != nil {
		return err
	}
	if enc == nil {
		return s.passthrough(w, r, req)
	}
	_, meta, err := s.sealNewObject(ctx, enc, req.bucket, req.object)
	if err != nil {
		return err
	}
	meta.Multipart = true
	req.keyID = meta.KeyID
	h := forwardEncryptedHeader(r.Header)
	encoded := meta.Encode()
	for k, v := range encoded {
		h.Set(k, v)
	}
	resp, body, err := s.fetchXML(w, r, backendRequest{
		Method: http.MethodPost, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery, Header: h,
	})
	if resp == nil {
		return err
	}
	var result struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(body, &result); err != nil || result.UploadID == "" {
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("backend upload id: %v", err))
	}
	state, _ := json.Marshal(uploadState{Object: req.object, Metadata: encoded})
	if err := s.records.put(ctx, uploadRecord(req.bucket, result.UploadID), state); err != nil {
		s.abortBackendUpload(ctx, req.bucket, req.object, result.UploadID)
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return s.writeWriteResponse(w, resp, meta, req)
}

func (s *Server) abortBackendUpload(ctx context.Context, bucket, object, uploadID string) {
	resp, err := s.backend.do(context.WithoutCancel(ctx), backendRequest{
		Method: http.MethodDelete, Bucket: bucket, Object: object, RawQuery: url.Values{"uploadId": {uploadID}}.Encode(),
	})
	if err == nil {
		resp.Body.Close()
	}
}

// upload returns the state of an encrypted upload, nil for an upload of a
// plaintext bucket that s3seal did not encrypt.
func (s *Server) upload(ctx context.Context, bucket, object, uploadID string) (*uploadState, error) {
	st, err := s.records.upload(ctx, bucket, object, uploadID)
	if errors.Is(err, errRecordNotFound) {
		if s.plaintext[bucket] {
			return nil, nil
		}
		// As MinIO answers: a missing bucket before a missing upload (one
		// more request, on this error path only).
		if err := s.bucketExists(ctx, bucket); err != nil {
			return nil, err
		}
		return nil, s3err.New(s3err.NoSuchUpload, "")
	}
	return st, err
}

// upload reads the record of an encrypted multipart upload of object;
// errRecordNotFound if there is none.
func (rc *records) upload(ctx context.Context, bucket, object, uploadID string) (*uploadState, error) {
	name := uploadRecord(bucket, uploadID)
	if st, ok := rc.uploads.get(name); ok {
		if st.Object != object {
			return nil, s3err.New(s3err.NoSuchUpload, "")
		}
		return st, nil
	}
	data, err := rc.get(ctx, name)
	if err != nil {
		return nil, err
	}
	var st uploadState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, s3err.Wrap(s3err.ObjectTampered, err)
	}
	if st.Object != object {
		return nil, s3err.New(s3err.NoSuchUpload, "")
	}
	st.meta, err = crypto.DecodeMetadata(func(k string) string { return st.Metadata[http.CanonicalHeaderKey(k)] })
	if err != nil {
		return nil, s3err.Wrap(s3err.ObjectTampered, err)
	}
	rc.uploads.put(name, &st)
	return &st, nil
}

// deleteUpload forgets the record of a completed or aborted upload.
func (rc *records) deleteUpload(ctx context.Context, bucket, uploadID string) error {
	name := uploadRecord(bucket, uploadID)
	rc.uploads.drop(name)
	return rc.delete(ctx, name)
}

// uploadKey returns the object key of an encrypted upload; SSE-C uploads
// need the client's key on every part.
func (s *Server) uploadKey(r *http.Request, req *s3Request, st *uploadState) (crypto.ObjectKey, error) {
	ssec, err := s.parseCustomerKey(r, false)
	if err != nil {
		return crypto.ObjectKey{}, err
	}
	return s.unsealObject(r.Context(), st.meta, req.bucket, req.object, ssec)
}

func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	partNumber, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || partNumber < 1 || partNumber > 10000 {
		return s3err.New(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	st, err := s.upload(ctx, req.bucket, req.object, q.Get("uploadId"))
	if err != nil {
		return err
	}
	if st == nil {
		// The SSE-C headers are still checked, as MinIO checks them (over
		// plain http, an unknown algorithm).
		if _, err := s.parseCustomerKey(r, false); err != nil {
			return err
		}
		return s.passthrough(w, r, req)
	}
	key, err := s.uploadKey(r, req, st)
	if err != nil {
		return err
	}
	req.keyID, req.encrypted = st.meta.KeyID, true
	var body io.Reader = http.NoBody
	var size int64
	if p := req.payload; p != nil {
		if p.Size < 0 {
			return s3err.New(s3err.MissingContentLength, "")
		}
		body, size = p.Body, p.Size
	}
	ciphertext, err := crypto.EncryptReader(body, key.PartKey(partNumber))
	if err != nil {
		return err
	}
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodPut, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery,
		Header: forwardEncryptedHeader(r.Header), Body: ciphertext, Size: crypto.EncryptedSize(size),
	})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return relay(w, r, resp)
	}
	return s.writeWriteResponse(w, resp, st.meta, req)
}

// uploadPartCopy copies a byte range of any source (plaintext or
// encrypted) into a part: the range is decrypted and re-encrypted under
// the part key, never spliced as ciphertext.
func (s *Server) uploadPartCopy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	if kmsRequested(r.Header) {
		// A part is encrypted as its upload is; MinIO refuses SSE-KMS
		// here too.
		return s3err.New(s3err.NotImplemented, "")
	}
	q := r.URL.Query()
	partNumber, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || partNumber < 1 || partNumber > 10000 {
		return s3err.New(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	src, _, err := parseCopySource(r)
	if err != nil {
		return err
	}
	req.copySource = src.object
	// The source first: one s3seal cannot vouch for is refused whatever
	// the upload.
	so, err := s.statCopySource(ctx, r, req, src)
	if err != nil {
		return err
	}
	st, err := s.upload(ctx, req.bucket, req.object, q.Get("uploadId"))
	if err != nil {
		return err
	}
	if st == nil && so.meta == nil {
		if _, err := s.parseCustomerKey(r, false); err != nil {
			return err
		}
		return s.passthrough(w, r, req)
	}
	if st == nil {
		// Decrypting into a plaintext upload would need the part sizes of
		// a plaintext object; refuse rather than store plaintext silently.
		return s3err.New(s3err.NotImplemented, "UploadPartCopy from an encrypted source into an unencrypted upload is not supported.")
	}
	key, err := s.uploadKey(r, req, st)
	if err != nil {
		return err
	}
	srcSSEC, err := s.parseCustomerKey(r, true)
	if err != nil {
		return err
	}
	off, n := int64(0), int64(-1)
	if rng := r.Header.Get("X-Amz-Copy-Source-Range"); rng != "" {
		if off, n, err = parseCopyRange(rng); err != nil {
			return err
		}
	}
	body, size, err := s.openSource(ctx, so, srcSSEC, off, n)
	if err != nil {
		return err
	}
	defer body.Close()
	ciphertext, err := crypto.EncryptReader(body, key.PartKey(partNumber))
	if err != nil {
		return err
	}
	h := http.Header{}
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodPut, Bucket: req.bucket, Object: req.object,
		RawQuery: url.Values{"partNumber": {q.Get("partNumber")}, "uploadId": {q.Get("uploadId")}}.Encode(),
		Header:   h, Body: ciphertext, Size: crypto.EncryptedSize(size),
	})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return relay(w, r, resp)
	}
	req.keyID, req.encrypted = st.meta.KeyID, true
	result := fmt.Sprintf(`%s<CopyPartResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>%s</LastModified><ETag>%s</ETag></CopyPartResult>`,
		xml.Header, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), xmlEscape(resp.Header.Get("ETag")))
	setSSEHeaders(w.Header(), st.meta)
	if v := so.head.Header.Get("X-Amz-Version-Id"); v != "" && src.versionID != "" {
		w.Header().Set("X-Amz-Copy-Source-Version-Id", v)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(result)))
	_, err = io.WriteString(w, result)
	return err
}

// parseCopyRange parses x-amz-copy-source-range: "bytes=first-last".
func parseCopyRange(v string) (off, n int64, err error) {
	bad := s3err.New(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return 0, 0, bad
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, bad
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, bad
	}
	return first, last - first + 1, nil
}

// completeMultipartXML is the client's CompleteMultipartUpload document.
type completeMultipartXML struct {
	Parts []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

func (s *Server) completeMultipartUpload(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	uploadID := r.URL.Query().Get("uploadId")
	st, err := s.upload(ctx, req.bucket, req.object, uploadID)
	if err != nil {
		return err
	}
	if st == nil {
		return s.passthrough(w, r, req)
	}
	// Completing needs no key (the parts are already sealed), so no KMS
	// call; an SSE-C client that sends its key must send the right one.
	if ssec, err := s.parseCustomerKey(r, false); err != nil {
		return err
	} else if ssec != nil && ssec.keyMD5 != st.meta.SSECKeyMD5 {
		return s3err.New(s3err.SSECustomerKeyMismatch, "")
	}
	req.keyID = st.meta.KeyID
	data, err := readXMLBody(req, maxCompleteBody)
	if err != nil {
		return err
	}
	var doc completeMultipartXML
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Parts) == 0 {
		return s3err.New(s3err.MalformedXML, "")
	}
	if err := s.completePreconditions(ctx, r, req); err != nil {
		return err
	}
	stored, err := s.listBackendParts(ctx, req.bucket, req.object, uploadID)
	if err != nil {
		return err
	}
	layout := partLayout{sizes: make(crypto.Layout, 0, len(doc.Parts)), numbers: make([]int, 0, len(doc.Parts))}
	sum := md5.New()
	prev := 0
	for _, p := range doc.Parts {
		if p.PartNumber <= prev {
			return s3err.New(s3err.InvalidPartOrder, "")
		}
		prev = p.PartNumber
		sp, ok := stored[p.PartNumber]
		if !ok || strings.Trim(sp.etag, `"`) != strings.Trim(p.ETag, `"`) {
			return s3err.New(s3err.InvalidPart, "")
		}
		n, err := crypto.DecryptedSize(sp.size)
		if err != nil {
			return s3err.Wrap(s3err.ObjectTampered, err)
		}
		layout.sizes = append(layout.sizes, n)
		layout.numbers = append(layout.numbers, p.PartNumber)
		raw, err := hex.DecodeString(strings.Trim(sp.etag, `"`))
		if err != nil {
			raw = []byte(sp.etag)
		}
		sum.Write(raw)
	}
	// The layout is recorded before the object exists, under the ETag
	// S3 will give it, so no reader ever finds the object without it.
	etag := hex.EncodeToString(sum.Sum(nil)) + "-" + strconv.Itoa(len(doc.Parts))
	if err := s.records.recordMultipart(ctx, req.bucket, req.object, etag, layout); err != nil {
		return err
	}
	// Part checksums in the document describe plaintext the backend never
	// saw: send only part numbers and ETags.
	var out bytes.Buffer
	out.WriteString("<CompleteMultipartUpload>")
	for _, p := range doc.Parts {
		fmt.Fprintf(&out, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", p.PartNumber, xmlEscape(p.ETag))
	}
	out.WriteString("</CompleteMultipartUpload>")
	resp, body, err := s.fetchXML(w, r, backendRequest{
		Method: http.MethodPost, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery,
		Header: forwardEncryptedHeader(r.Header), Body: bytes.NewReader(out.Bytes()), Size: int64(out.Len()),
	})
	if resp == nil {
		return err
	}
	var result struct {
		XMLName xml.Name
		ETag    string `xml:"ETag"`
	}
	if err := xml.Unmarshal(body, &result); err == nil && result.XMLName.Local == "CompleteMultipartUploadResult" {
		if got := strings.Trim(result.ETag, `"`); got != etag && got != "" {
			// A backend with another multipart ETag scheme: record under
			// the ETag it actually gave.
			if err := s.records.recordMultipart(ctx, req.bucket, req.object, got, layout); err != nil {
				return err
			}
		}
		if err := s.records.deleteUpload(ctx, req.bucket, uploadID); err != nil {
			s.log.Warn("delete upload record", zapErr(err))
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return s.writeWriteResponse(w, resp, st.meta, req)
}

// completePreconditions evaluates a completion's If-Match and
// If-None-Match before its parts are checked, as MinIO does; the backend
// evaluates them again when it completes.
func (s *Server) completePreconditions(ctx context.Context, r *http.Request, req *s3Request) error {
	h := http.Header{}
	for _, k := range []string{"If-Match", "If-None-Match"} {
		if v := r.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	if len(h) == 0 {
		return nil
	}
	resp, err := s.backend.do(ctx, backendRequest{Method: http.MethodHead, Bucket: req.bucket, Object: req.object, Header: h})
	if err != nil {
		return backendError(err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound && h.Get("If-Match") != "":
		return s3err.New(s3err.NoSuchKey, "")
	case resp.StatusCode == http.StatusPreconditionFailed, resp.StatusCode == http.StatusNotModified:
		return s3err.New(s3err.PreconditionFailed, "")
	}
	return nil // anything else: the completion answers
}

// recordMultipart writes what reads (the layout) and listings (an index
// entry, for ragged layouts) need to know about a multipart object.
func (rc *records) recordMultipart(ctx context.Context, bucket, object, etag string, layout partLayout) error {
	if err := rc.putLayout(ctx, bucket, object, etag, layout); err != nil {
		return err
	}
	if ragged(layout.sizes) {
		return rc.writeIndexEntry(ctx, bucket, object, etag, layout.sizes.Size(), "")
	}
	return nil
}

type storedPart struct {
	etag string
	size int64
}

// listBackendParts returns every uploaded part by number.
func (s *Server) listBackendParts(ctx context.Context, bucket, object, uploadID string) (map[int]storedPart, error) {
	parts := map[int]storedPart{}
	marker := ""
	for {
		q := url.Values{"uploadId": {uploadID}, "max-parts": {"1000"}}
		if marker != "" {
			q.Set("part-number-marker", marker)
		}
		resp, err := s.backend.do(ctx, backendRequest{Method: http.MethodGet, Bucket: bucket, Object: object, RawQuery: q.Encode()})
		if err != nil {
			return nil, backendError(err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxListingSize))
		resp.Body.Close()
		if err != nil {
			return nil, backendError(err)
		}
		if resp.StatusCode == http.StatusNotFound {
			return nil, s3err.New(s3err.NoSuchUpload, "")
		}
		if resp.StatusCode != http.StatusOK {
			return nil, s3err.Wrap(s3err.InternalError, fmt.Errorf("ListParts answered %s", resp.Status))
		}
		var res struct {
			IsTruncated          bool   `xml:"IsTruncated"`
			NextPartNumberMarker string `xml:"NextPartNumberMarker"`
			Parts                []struct {
				PartNumber int    `xml:"PartNumber"`
				ETag       string `xml:"ETag"`
				Size       int64  `xml:"Size"`
			} `xml:"Part"`
		}
		if err := xml.Unmarshal(body, &res); err != nil {
			return nil, s3err.Wrap(s3err.InternalError, err)
		}
		for _, p := range res.Parts {
			parts[p.PartNumber] = storedPart{etag: p.ETag, size: p.Size}
		}
		if !res.IsTruncated || res.NextPartNumberMarker == "" || res.NextPartNumberMarker == marker {
			return parts, nil
		}
		marker = res.NextPartNumberMarker
	}
}

func (s *Server) abortMultipartUpload(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	rec := &statusRecorder{ResponseWriter: w}
	if err := s.passthrough(rec, r, req); err != nil {
		return err
	}
	if rec.status == http.StatusNoContent {
		if err := s.records.deleteUpload(r.Context(), req.bucket, r.URL.Query().Get("uploadId")); err != nil {
			s.log.Warn("delete upload record", zapErr(err))
		}
	}
	return nil
}

// getObjectPart serves GET ?partNumber=N: that part's plaintext.
func (s *Server) getObjectPart(w http.ResponseWriter, r *http.Request, req *s3Request, ssec *customerKey) error {
	n, err := parsePartNumber(r.URL.Query().Get("partNumber"))
	if err != nil {
		return err
	}
	st, key, layout, err := s.statEncrypted(w, r, req, ssec)
	if st == nil {
		return err
	}
	off, size, err := partRange(layout.sizes, n)
	if err != nil {
		return err
	}
	if len(layout.sizes) > 1 {
		w.Header().Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(layout.sizes)))
	}
	req.keyID, req.encrypted = st.meta.KeyID, true
	return s.writeRange(w, r, req, st, key, layout, off, size)
}

// parsePartNumber reads the partNumber of a read, 1 to 10000.
func parsePartNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, s3err.New(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

// partRange returns the plaintext offset and size of part n (1-based).
func partRange(layout crypto.Layout, n int) (off, size int64, err error) {
	if n < 1 || n > len(layout) {
		return 0, 0, s3err.New(s3err.InvalidPartNumber, "")
	}
	for _, p := range layout[:n-1] {
		off += p
	}
	return off, layout[n-1], nil
}
