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
	h := forwardHeader(r.Header)
	encoded := meta.Encode()
	for k, v := range encoded {
		h.Set(k, v)
	}
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodPost, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery, Header: h,
	})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return relay(w, r, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxXMLBody))
	if err != nil {
		return backendError(err)
	}
	var result struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(body, &result); err != nil || result.UploadID == "" {
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("backend upload id: %v", err))
	}
	state, _ := json.Marshal(uploadState{Object: req.object, Metadata: encoded})
	if err := s.putRecord(ctx, uploadRecord(req.bucket, result.UploadID), state); err != nil {
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
	name := uploadRecord(bucket, uploadID)
	if st, ok := s.uploads.get(name); ok {
		return st, nil
	}
	data, err := s.getRecord(ctx, name)
	if errors.Is(err, errRecordNotFound) {
		if s.plaintext[bucket] {
			return nil, nil
		}
		return nil, s3err.New(s3err.NoSuchUpload, "")
	}
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
	s.uploads.put(name, &st)
	return &st, nil
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
		return s.passthrough(w, r, req)
	}
	key, err := s.uploadKey(r, req, st)
	if err != nil {
		return err
	}
	req.keyID = st.meta.KeyID
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
		Header: forwardHeader(r.Header), Body: ciphertext, Size: crypto.EncryptedSize(size),
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

// uploadPartCopy is not yet supported for encrypted uploads or sources: a
// backend-side copy would splice ciphertext under the wrong key.
func (s *Server) uploadPartCopy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	st, err := s.upload(r.Context(), req.bucket, req.object, r.URL.Query().Get("uploadId"))
	if err != nil {
		return err
	}
	if st == nil {
		src, _, err := parseCopySource(r)
		if err != nil {
			return err
		}
		if s.plaintext[src.bucket] {
			return s.passthrough(w, r, req)
		}
	}
	return s3err.New(s3err.NotImplemented, "UploadPartCopy is not supported for encrypted objects yet.")
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
	if _, err := s.uploadKey(r, req, st); err != nil {
		return err
	}
	req.keyID = st.meta.KeyID
	data, err := readXMLBody(req)
	if err != nil {
		return err
	}
	var doc completeMultipartXML
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Parts) == 0 {
		return s3err.New(s3err.MalformedXML, "")
	}
	stored, err := s.listBackendParts(ctx, req.bucket, req.object, uploadID)
	if err != nil {
		return err
	}
	layout := make(crypto.Layout, 0, len(doc.Parts))
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
		layout = append(layout, n)
		raw, err := hex.DecodeString(strings.Trim(sp.etag, `"`))
		if err != nil {
			raw = []byte(sp.etag)
		}
		sum.Write(raw)
	}
	// The layout is recorded before the object exists, under the ETag
	// S3 will give it, so no reader ever finds the object without it.
	etag := hex.EncodeToString(sum.Sum(nil)) + "-" + strconv.Itoa(len(doc.Parts))
	if err := s.storeLayout(ctx, req.bucket, req.object, etag, layout); err != nil {
		return err
	}
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodPost, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery,
		Header: forwardHeader(r.Header), Body: bytes.NewReader(data), Size: int64(len(data)),
	})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return relay(w, r, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxXMLBody))
	if err != nil {
		return backendError(err)
	}
	var result struct {
		XMLName xml.Name
		ETag    string `xml:"ETag"`
	}
	if err := xml.Unmarshal(body, &result); err == nil && result.XMLName.Local == "CompleteMultipartUploadResult" {
		if got := strings.Trim(result.ETag, `"`); got != etag && got != "" {
			// A backend with another multipart ETag scheme: record under
			// the ETag it actually gave.
			if err := s.storeLayout(ctx, req.bucket, req.object, got, layout); err != nil {
				return err
			}
		}
		if err := s.deleteRecord(ctx, uploadRecord(req.bucket, uploadID)); err != nil {
			s.log.Warn("delete upload record", zapErr(err))
		}
		s.uploads.drop(uploadRecord(req.bucket, uploadID))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return s.writeWriteResponse(w, resp, st.meta, req)
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
		name := uploadRecord(req.bucket, r.URL.Query().Get("uploadId"))
		if err := s.deleteRecord(r.Context(), name); err != nil {
			s.log.Warn("delete upload record", zapErr(err))
		}
		s.uploads.drop(name)
	}
	return nil
}

// getObjectPart serves GET ?partNumber=N: that part's plaintext.
func (s *Server) getObjectPart(w http.ResponseWriter, r *http.Request, req *s3Request, ssec *customerKey) error {
	ctx := r.Context()
	n, err := strconv.Atoi(r.URL.Query().Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		return s3err.New(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	st, ok, err := s.headStored(ctx, r, req)
	if err != nil {
		return err
	}
	if !ok {
		return relay(w, r, st.resp)
	}
	if st.meta == nil {
		return s.passthrough(w, r, req)
	}
	key, err := s.unsealObject(ctx, st.meta, req.bucket, req.object, ssec)
	if err != nil {
		return err
	}
	layout, err := s.objectLayout(ctx, req.bucket, req.object, st.meta, st.etag, st.resp.ContentLength)
	if err != nil {
		return err
	}
	if n > len(layout) {
		return s3err.New(s3err.InvalidPartNumber, "")
	}
	var off int64
	for _, p := range layout[:n-1] {
		off += p
	}
	size := layout[n-1]
	if len(layout) > 1 {
		w.Header().Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(layout)))
	}
	if size == 0 {
		return s.writePlaintext(w, r, st, key, layout, nil, nil, off, 0, http.StatusPartialContent)
	}
	segs, err := layout.Plan(off, size)
	if err != nil {
		return s3err.Wrap(s3err.InvalidRange, err)
	}
	resp, err := s.fetchCiphertext(ctx, r, req, st, segs)
	if resp == nil {
		return err
	}
	defer resp.Body.Close()
	if err != nil {
		return relay(w, r, resp)
	}
	req.keyID = st.meta.KeyID
	return s.writePlaintext(w, r, st, key, layout, resp.Body, segs, off, size, http.StatusPartialContent)
}
