package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
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
	"github.com/s3seal/s3seal/gateway/sigv4"
)

// An encrypted multipart upload keeps its sealed object key in an upload
// record (the S3 API cannot return an upload's metadata); every part is a
// DARE stream of its own under the part key. CompleteMultipartUpload
// records the parts' plaintext sizes in a layout record named after the
// final ETag, which reads need to find part boundaries.

// uploadState is an upload's decoded record. Version 2 uploads keep a
// part record for every part (see parts.go); version 0 ones, started
// before part records existed, complete with the backend's part ETags.
type uploadState struct {
	Version  int               `json:"v,omitempty"`
	Object   string            `json:"object"`
	Metadata map[string]string `json:"metadata"` // crypto.Metadata.Encode()
	Checksum checksumMode      `json:"checksum,omitzero"`
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
	mode, err := parseChecksumMode(r.Header)
	if err != nil {
		return err
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
	state, _ := json.Marshal(uploadState{Version: 2, Object: req.object, Metadata: encoded, Checksum: mode})
	if err := s.records.put(ctx, uploadRecord(req.bucket, result.UploadID), state); err != nil {
		s.abortBackendUpload(ctx, req.bucket, req.object, result.UploadID)
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	extra := http.Header{}
	if mode.Algorithm != "" {
		extra.Set("X-Amz-Checksum-Algorithm", mode.Algorithm)
		extra.Set("X-Amz-Checksum-Type", mode.Type)
	}
	return s.writeWriteResponse(withHeaders(w, extra), resp, meta, req)
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

// forgetUploadRecord drops the cached record of a completed or aborted
// upload and returns its name, for the caller to delete.
func (rc *records) forgetUploadRecord(bucket, uploadID string) string {
	name := uploadRecord(bucket, uploadID)
	rc.uploads.drop(name)
	return name
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
	var sent sigv4.Checksum
	if p := req.payload; p != nil {
		if p.Size < 0 {
			return s3err.New(s3err.MissingContentLength, "")
		}
		body, size, sent = p.Body, p.Size, p.Checksum
	}
	if alg := st.Checksum.alg(); alg != nil && !strings.EqualFold(sent.Algorithm, alg.name) {
		// As MinIO: an upload created with an algorithm takes only parts
		// that carry its checksum.
		return s3err.New(s3err.InvalidArgument, "The upload was created using the %s checksum algorithm; every part must carry a %s checksum.", alg.name, alg.name)
	}
	digests := newPartDigests(nil)
	ciphertext, err := crypto.EncryptReader(digests.reader(body), key.PartKey(partNumber))
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
	if p := req.payload; p != nil && sent.Algorithm != "" && p.Checksum.Value == "" {
		// A trailing checksum is known once the body has ended: the
		// backend took every byte, so only the trailer is left to read.
		if _, err := io.Copy(io.Discard, p.Body); err != nil {
			return err
		}
	}
	checksums := checksumSet{}
	if p := req.payload; p != nil && p.Checksum.Value != "" {
		checksums[strings.ToUpper(p.Checksum.Algorithm)] = p.Checksum.Value
	}
	rec := partRecord{
		Part: partNumber, BackendETag: strings.Trim(resp.Header.Get("ETag"), `"`), Size: size,
		ETag: clientPartETag(st.meta, key, digests.md5.Sum(nil)), Checksums: checksums,
	}
	if err := s.records.putPart(ctx, req.bucket, q.Get("uploadId"), rec); err != nil {
		return err
	}
	resp.Header.Set("ETag", `"`+rec.ETag+`"`)
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
	digests := newPartDigests(st.Checksum.alg())
	ciphertext, err := crypto.EncryptReader(digests.reader(body), key.PartKey(partNumber))
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
	checksums := checksumSet{}
	if digests.checksum != nil {
		checksums[digests.alg.name] = base64.StdEncoding.EncodeToString(digests.checksum.Sum(nil))
	}
	rec := partRecord{
		Part: partNumber, BackendETag: strings.Trim(resp.Header.Get("ETag"), `"`), Size: size,
		ETag: clientPartETag(st.meta, key, digests.md5.Sum(nil)), Checksums: checksums,
	}
	if err := s.records.putPart(ctx, req.bucket, q.Get("uploadId"), rec); err != nil {
		return err
	}
	doc := copyPartResult{
		Xmlns:        "http://s3.amazonaws.com/doc/2006-03-01/",
		LastModified: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		ETag:         `"` + rec.ETag + `"`,
		xmlChecksums: checksums.xml(),
	}
	out, err := xml.Marshal(doc)
	if err != nil {
		return s3err.Wrap(s3err.InternalError, err)
	}
	result := xml.Header + string(out)
	setSSEHeaders(w.Header(), st.meta)
	if v := so.head.Header.Get("X-Amz-Version-Id"); v != "" && src.versionID != "" {
		w.Header().Set("X-Amz-Copy-Source-Version-Id", v)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(result)))
	_, err = io.WriteString(w, result)
	return err
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	Xmlns        string   `xml:"xmlns,attr"`
	LastModified string
	ETag         string
	xmlChecksums
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
	Parts []completePart `xml:"Part"`
}

type completePart struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	xmlChecksums
}

// completedPart is one part of the object being completed.
type completedPart struct {
	number      int
	size        int64 // plaintext
	etag        string
	backendETag string
	checksums   checksumSet // nil: a part without a record
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
	parts, err := s.completedParts(ctx, req.bucket, req.object, uploadID, st, doc.Parts)
	if err != nil {
		return err
	}
	layout, err := completedLayout(st.Checksum, r.Header, doc.Parts, parts)
	if err != nil {
		return err
	}
	// The layout is recorded before the object exists, under the ETag
	// S3 will give it, so no reader ever finds the object without it.
	backendETag := multipartETag(parts, func(p completedPart) string { return p.backendETag })
	if err := s.records.recordMultipart(ctx, req.bucket, req.object, backendETag, layout); err != nil {
		return err
	}
	// Part checksums in the document describe plaintext the backend never
	// saw: send only part numbers and the backend's ETags.
	var out bytes.Buffer
	out.WriteString("<CompleteMultipartUpload>")
	for _, p := range parts {
		fmt.Fprintf(&out, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", p.number, xmlEscape(p.backendETag))
	}
	out.WriteString("</CompleteMultipartUpload>")
	resp, body, err := s.fetchXML(w, r, backendRequest{
		Method: http.MethodPost, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery,
		Header: forwardEncryptedHeader(r.Header), Body: bytes.NewReader(out.Bytes()), Size: int64(out.Len()),
	})
	if resp == nil {
		return err
	}
	var result completeMultipartResult
	// moto names the root CompleteMultipartUploadResponse; S3's answer
	// (CompleteMultipartUploadResult) goes to the client either way. Any
	// other 200 body (S3 can answer an <Error> with 200) is relayed as is
	// and the upload's records stay.
	if err := xml.Unmarshal(body, &result); err == nil &&
		(result.XMLName.Local == "CompleteMultipartUploadResult" || result.XMLName.Local == "CompleteMultipartUploadResponse") {
		if got := strings.Trim(result.ETag, `"`); got != backendETag && got != "" {
			// A backend with another multipart ETag scheme: record under
			// the ETag it actually gave.
			if err := s.records.recordMultipart(ctx, req.bucket, req.object, got, layout); err != nil {
				return err
			}
		}
		numbers := make([]int, len(parts))
		for i, p := range parts {
			numbers[i] = p.number
		}
		s.forgetUpload(ctx, req.bucket, uploadID, numbers)
		result.XMLName = xml.Name{Local: "CompleteMultipartUploadResult"} // the namespace once, as Xmlns
		result.Xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"
		result.ETag = `"` + layout.etag + `"`
		result.xmlChecksums, result.ChecksumType = xmlChecksums{}, ""
		if layout.checksumValue != "" {
			result.xmlChecksums = checksumSet{layout.checksum.Algorithm: layout.checksumValue}.xml()
			result.ChecksumType = layout.checksum.Type
		}
		if body, err = xml.Marshal(result); err != nil {
			return s3err.Wrap(s3err.InternalError, err)
		}
		body = append([]byte(xml.Header), body...)
		if resp.Header.Get("ETag") != "" {
			resp.Header.Set("ETag", result.ETag)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return s.writeWriteResponse(w, resp, st.meta, req)
}

type completeMultipartResult struct {
	XMLName  xml.Name
	Xmlns    string `xml:"xmlns,attr,omitempty"`
	Location string `xml:",omitempty"`
	Bucket   string `xml:",omitempty"`
	Key      string `xml:",omitempty"`
	ETag     string
	xmlChecksums
	ChecksumType string `xml:",omitempty"`
}

// forgetUpload deletes the records of a finished upload and of the
// numbered parts, in one multi-object delete (per 1000), best effort: a
// leftover record is sealed and names an upload that no longer exists, so
// nothing ever reads it again.
func (s *Server) forgetUpload(ctx context.Context, bucket, uploadID string, numbers []int) {
	ctx = context.WithoutCancel(ctx)
	names := append(s.records.partRecordNames(bucket, uploadID, numbers), s.records.forgetUploadRecord(bucket, uploadID))
	if err := s.records.deleteMany(ctx, names); err != nil {
		s.log.Warn("delete upload and part records", zapErr(err))
	}
}

// completedParts matches the client's parts against the backend's and the
// part records: the client names a part by the ETag it was given, the
// backend knows it by its own.
func (s *Server) completedParts(ctx context.Context, bucket, object, uploadID string, st *uploadState, doc []completePart) ([]completedPart, error) {
	prev := 0
	numbers := make([]int, 0, len(doc))
	for _, p := range doc {
		if p.PartNumber <= prev {
			return nil, s3err.New(s3err.InvalidPartOrder, "")
		}
		prev = p.PartNumber
		numbers = append(numbers, p.PartNumber)
	}
	stored, err := s.listBackendParts(ctx, bucket, object, uploadID)
	if err != nil {
		return nil, err
	}
	recs, err := s.records.parts(ctx, bucket, uploadID, numbers, func(n int, rec *partRecord) bool {
		sp, ok := stored[n]
		return ok && rec.BackendETag == strings.Trim(sp.etag, `"`) && crypto.EncryptedSize(rec.Size) == sp.size
	})
	if err != nil {
		return nil, err
	}
	parts := make([]completedPart, 0, len(doc))
	for _, p := range doc {
		sp, ok := stored[p.PartNumber]
		if !ok {
			return nil, s3err.New(s3err.InvalidPart, "")
		}
		backendETag := strings.Trim(sp.etag, `"`)
		want := strings.Trim(p.ETag, `"`)
		cp := completedPart{number: p.PartNumber, backendETag: backendETag}
		if rec := recs[p.PartNumber]; rec != nil && rec.BackendETag == backendETag && crypto.EncryptedSize(rec.Size) == sp.size {
			cp.size, cp.etag, cp.checksums = rec.Size, rec.ETag, rec.Checksums
			if cp.checksums == nil {
				cp.checksums = checksumSet{}
			}
		} else if st.Version < 2 {
			// A part of an upload started before part records: the
			// client was given the backend's ETag.
			n, err := crypto.DecryptedSize(sp.size)
			if err != nil {
				return nil, s3err.Wrap(s3err.ObjectTampered, err)
			}
			cp.size, cp.etag = n, backendETag
		} else {
			// No record of the part the backend holds: its upload did
			// not finish (or lost a race with a retry of itself).
			return nil, s3err.New(s3err.InvalidPart, "")
		}
		if want != cp.etag {
			return nil, s3err.New(s3err.InvalidPart, "")
		}
		parts = append(parts, cp)
	}
	return parts, nil
}

// multipartETag is S3's ETag of a multipart object: the MD5 of the
// concatenated binary part ETags, "-" and the part count.
func multipartETag(parts []completedPart, etag func(completedPart) string) string {
	sum := md5.New()
	for _, p := range parts {
		raw, err := hex.DecodeString(etag(p))
		if err != nil {
			raw = []byte(etag(p))
		}
		sum.Write(raw)
	}
	return hex.EncodeToString(sum.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

// completedLayout returns the layout of the object being completed, with
// the client's ETag and the object's checksum. The checksum's algorithm
// and type are the upload's, or for an upload created without one those
// of a checksum header of the request (minio-go sends one), if every part
// has a checksum of that algorithm. Part checksums in the document must
// be those the parts were uploaded with (InvalidPart), a checksum header
// the object's (XAmzContentChecksumMismatch), as MinIO answers.
func completedLayout(upload checksumMode, h http.Header, doc []completePart, parts []completedPart) (partLayout, error) {
	layout := partLayout{
		sizes: make(crypto.Layout, len(parts)), numbers: make([]int, len(parts)),
		etag: multipartETag(parts, func(p completedPart) string { return p.etag }),
	}
	for i, p := range parts {
		layout.sizes[i], layout.numbers[i] = p.size, p.number
	}
	sentAlg, sentValue, err := completeChecksumHeader(h)
	if err != nil {
		return partLayout{}, err
	}
	mode := upload
	if mode.Algorithm == "" && sentAlg != nil {
		if mode, err = parseChecksumMode(http.Header{"X-Amz-Checksum-Algorithm": {sentAlg.name}, "X-Amz-Checksum-Type": h.Values("X-Amz-Checksum-Type")}); err != nil {
			return partLayout{}, err
		}
		for _, p := range parts {
			if p.checksums[mode.Algorithm] == "" {
				return partLayout{}, s3err.New(s3err.InvalidPart, "")
			}
		}
	}
	alg := mode.alg()
	if alg == nil {
		return layout, nil
	}
	if sentAlg != nil && sentAlg != alg {
		return partLayout{}, s3err.New(s3err.InvalidArgument, "The checksum algorithm of the request is not the upload's (%s).", alg.name)
	}
	if t := strings.ToUpper(h.Get("X-Amz-Checksum-Type")); t != "" && t != mode.Type {
		return partLayout{}, s3err.New(s3err.InvalidArgument, "The checksum type of the request is not the upload's (%s).", mode.Type)
	}
	sums := make([]partChecksum, len(parts))
	layout.partChecksums = make([]string, len(parts))
	for i, p := range parts {
		v := p.checksums[alg.name]
		raw, ok := decodeChecksumValue(alg, v)
		if !ok {
			return partLayout{}, s3err.New(s3err.InvalidPart, "")
		}
		if got := doc[i].get(alg.name); got != v && (got != "" || upload.Algorithm != "" && alg.name != "MD5") {
			return partLayout{}, s3err.New(s3err.InvalidPart, "")
		}
		sums[i], layout.partChecksums[i] = partChecksum{raw: raw, size: p.size}, v
	}
	layout.checksum = mode
	layout.checksumValue = objectChecksum(alg, mode.Type, sums)
	if sentAlg != nil && !checksumMatches(sentValue, layout.checksumValue) {
		return partLayout{}, s3err.New(s3err.XAmzContentChecksumMismatch, "")
	}
	return layout, nil
}

// checksumMatches compares a client's object checksum with ours; a
// composite one may come without its "-N".
func checksumMatches(sent, ours string) bool {
	if sent == ours {
		return true
	}
	base, _, composite := strings.Cut(ours, "-")
	return composite && sent == base
}

// completeChecksumHeader finds the object checksum header of a
// CompleteMultipartUpload: at most one x-amz-checksum-<algorithm>.
func completeChecksumHeader(h http.Header) (*checksumAlgorithm, string, error) {
	var (
		alg   *checksumAlgorithm
		value string
	)
	for k, vals := range h {
		name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-checksum-")
		if !ok || name == "mode" || name == "algorithm" || name == "type" {
			continue
		}
		a := checksumAlgorithmNamed(name)
		if a == nil {
			return nil, "", s3err.New(s3err.InvalidRequest, "The algorithm type you specified in x-amz-checksum- header is invalid.")
		}
		if alg != nil || len(vals) != 1 {
			return nil, "", s3err.New(s3err.InvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		alg, value = a, strings.TrimSpace(vals[0])
	}
	return alg, value, nil
}

// completePreconditions evaluates a completion's If-Match and
// If-None-Match before its parts are checked, as MinIO does; the backend
// evaluates them again when it completes. An If-Match names the ETag the
// client was shown: it is translated to the backend's for both.
func (s *Server) completePreconditions(ctx context.Context, r *http.Request, req *s3Request) error {
	if v := r.Header.Get("If-Match"); v != "" {
		backendETag, err := s.resolveIfMatch(ctx, req.bucket, req.object, v)
		if err != nil {
			return err
		}
		r.Header.Set("If-Match", backendETag)
	}
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
// entry, for ragged layouts and client ETags) need to know about a
// multipart object.
func (rc *records) recordMultipart(ctx context.Context, bucket, object, etag string, layout partLayout) error {
	if err := rc.putLayout(ctx, bucket, object, etag, layout); err != nil {
		return err
	}
	// Listings show the client's ETag (and, for a ragged layout, the
	// size) from the index entry.
	if ragged(layout.sizes) || layout.etag != "" {
		return rc.writeIndexEntry(ctx, bucket, object, etag, layout.sizes.Size(), layout.etag)
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
	// The parts whose records to delete, while the upload still exists.
	uploadID := r.URL.Query().Get("uploadId")
	var numbers []int
	if stored, err := s.listBackendParts(r.Context(), req.bucket, req.object, uploadID); err == nil {
		for n := range stored {
			numbers = append(numbers, n)
		}
	}
	rec := &statusRecorder{ResponseWriter: w}
	if err := s.passthrough(rec, r, req); err != nil {
		return err
	}
	if rec.status == http.StatusNoContent {
		s.forgetUpload(r.Context(), req.bucket, uploadID, numbers)
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

// withHeaders returns w adding extra to the response headers when they
// are written, after anything the handler set or removed.
func withHeaders(w http.ResponseWriter, extra http.Header) http.ResponseWriter {
	if len(extra) == 0 {
		return w
	}
	return &headerAdder{ResponseWriter: w, extra: extra}
}

type headerAdder struct {
	http.ResponseWriter
	extra http.Header
}

func (h *headerAdder) WriteHeader(code int) {
	for k, v := range h.extra {
		h.ResponseWriter.Header()[k] = v
	}
	h.ResponseWriter.WriteHeader(code)
}

// setMultipartHeaders answers a read of a multipart object with the ETag
// the client was given at CompleteMultipartUpload and, for
// x-amz-checksum-mode: ENABLED on a read of the whole object (or of part
// number part; 0: the object), the object's (or the part's) checksum.
func setMultipartHeaders(h http.Header, r *http.Request, layout partLayout, part int, whole bool) {
	if layout.etag != "" {
		h.Set("ETag", `"`+layout.etag+`"`)
	}
	if !whole || layout.checksumValue == "" || !strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		return
	}
	v := layout.checksumValue
	if part != 0 {
		if part > len(layout.partChecksums) {
			return
		}
		v = layout.partChecksums[part-1]
	}
	checksumSet{layout.checksum.Algorithm: v}.setHeaders(h, layout.checksum.Type)
}
