package gateway

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/gateway/sigv4"
)

// putObject encrypts the client's verified payload on its way to the backend.
func (s *Server) putObject(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if _, ok := r.Header["X-Amz-Copy-Source"]; ok {
		// Not a copy source MinIO would route as CopyObject (no bucket and
		// object): refused as MinIO's PutObject refuses it.
		return s3err.New(s3err.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if err := rejectReservedMetadata(r.Header); err != nil {
		return err
	}
	enc, err := s.requestedEncryption(r.Context(), r, req.bucket)
	if err != nil {
		return err
	}
	if enc == nil {
		return s.passthrough(w, r, req)
	}
	var body io.Reader = http.NoBody
	var size int64
	if p := req.payload; p != nil {
		if p.Size < 0 {
			return s3err.New(s3err.MissingContentLength, "")
		}
		body, size = p.Body, p.Size
	}
	var checksum *sigv4.Checksum
	if p := req.payload; p != nil && p.Checksum.Value != "" {
		// Known before the body (a header, not a trailer): kept, sealed,
		// so GET and HEAD can answer with it as S3 does.
		checksum = &p.Checksum
	}
	h := forwardEncryptedHeader(r.Header)
	trailing := checksum == nil && req.payload != nil && req.payload.Checksum.Algorithm != ""
	if trailing {
		h.Set(hdrTrailingChecksum, "record")
	}
	var pm *plaintextMD5
	if s.wantsMD5ETag(enc, req.bucket, req.object) {
		pm = &plaintextMD5{}
		if p := req.payload; p != nil {
			pm.known = md5FromBase64(p.ContentMD5)
			switch {
			case pm.known != "" || p.Checksum.Algorithm != "MD5":
			case checksum != nil:
				pm.known = md5FromBase64(checksum.Value)
			default: // a trailer: verified by the end of the body
				pm.trailer = &p.Checksum
			}
		}
	}
	if h.Get("If-Match") != "" {
		// The client's If-Match names an ETag it was shown: translate it
		// to the backend's ETag of that version.
		backendETag, err := s.resolveIfMatch(r.Context(), req.bucket, req.object, h.Get("If-Match"))
		if err != nil {
			return err
		}
		h.Set("If-Match", backendETag)
	}
	resp, meta, err := s.storeEncrypted(r.Context(), enc, req.bucket, req.object, r.URL.RawQuery, h, body, size, checksum, pm)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return relay(w, r, resp)
	}
	if trailing {
		if err := s.recordTrailingChecksum(r.Context(), req, resp.Header.Get("ETag")); err != nil {
			return err
		}
	}
	req.keyID, req.encrypted = meta.KeyID, true
	if pm != nil {
		etag, err := s.finishMD5(r.Context(), req.bucket, req.object, resp.Header.Get("ETag"), size, pm)
		if err != nil {
			return err
		}
		resp.Header.Set("ETag", etag)
	}
	return s.writeWriteResponse(w, resp, meta, req)
}

// storeEncrypted PUTs plaintext body of size bytes encrypted under a fresh
// object key as bucket/object, with h as the forwarded headers. With pm it
// also takes the MD5 of the plaintext (etag.go), which pm.sum returns once
// the backend has answered 200. The caller closes the response body.
func (s *Server) storeEncrypted(ctx context.Context, enc *encryption, bucket, object, rawQuery string, h http.Header, body io.Reader, size int64, checksum *sigv4.Checksum, pm *plaintextMD5) (*http.Response, *crypto.Metadata, error) {
	key, meta, err := s.sealNewObject(ctx, enc, bucket, object)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range meta.Encode() {
		h.Set(k, v)
	}
	if checksum != nil {
		sealed, err := key.SealValue(checksumLabel, []byte(checksum.Algorithm+":"+checksum.Value), nil)
		if err != nil {
			return nil, nil, err
		}
		h.Set(hdrSealedChecksum, base64.StdEncoding.EncodeToString(sealed))
	}
	if pm != nil {
		if body, err = prepareMD5(pm, key, h, body, size); err != nil {
			return nil, nil, err
		}
	}
	var ciphertext io.Reader
	if pm != nil && pm.plain != nil {
		ciphertext, err = s.encryptSmall(ctx, pm, key, bucket, object)
	} else {
		ciphertext, err = crypto.EncryptReader(body, key)
	}
	if err != nil {
		return nil, nil, err
	}
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodPut, Bucket: bucket, Object: object, RawQuery: rawQuery,
		Header: h, Body: ciphertext, Size: crypto.EncryptedSize(size),
	})
	if err != nil {
		return nil, nil, backendError(err)
	}
	return resp, meta, nil
}

// writeWriteResponse answers a successful encrypted write: the backend's
// headers (ETag, version id) plus the SSE headers and the client's verified
// checksum, and the backend's body (copy and complete results).
func (s *Server) writeWriteResponse(w http.ResponseWriter, resp *http.Response, meta *crypto.Metadata, req *s3Request) error {
	h := w.Header()
	copyResponseHeader(h, resp.Header)
	stripChecksums(h)
	setSSEHeaders(h, meta)
	if p := req.payload; p != nil && p.Checksum.Value != "" {
		h.Set("X-Amz-Checksum-"+p.Checksum.Algorithm, p.Checksum.Value)
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	_, err := copyBody(w, resp.Body)
	return err
}

// stripChecksums removes backend checksums: they describe ciphertext.
func stripChecksums(h http.Header) {
	for k := range h {
		if strings.HasPrefix(sigv4.LowerHeaderName(k), "x-amz-checksum-") {
			delete(h, k)
		}
	}
}

// storedObject is what a HEAD of the backend object told us.
type storedObject struct {
	resp       *http.Response
	meta       *crypto.Metadata // nil: not encrypted by s3seal
	etag       string           // the backend's
	clientETag string           // what the client is shown; set once the key is unsealed
	// trailingChecksum is a trailing checksum of a single-part object
	// ("CRC32C:value", see trailing.go), if loaded.
	trailingChecksum string
}

// partLayout is an encrypted object's layout: the plaintext size of each
// DARE stream, and for multipart objects the S3 part numbers whose part
// keys encrypted them.
type partLayout struct {
	sizes   crypto.Layout
	numbers []int // nil: one stream under the object key

	// Of multipart objects completed with part records: the client's
	// ETag (unquoted; empty: the backend's is the client's) and checksums.
	etag          string
	checksum      checksumMode
	checksumValue string   // the object's
	partChecksums []string // by position, as sizes
}

// keyFor returns the stream key of each planned segment's part.
func (l partLayout) keyFor(k crypto.ObjectKey) func(part int) crypto.ObjectKey {
	if l.numbers == nil {
		return func(int) crypto.ObjectKey { return k }
	}
	return func(part int) crypto.ObjectKey {
		if part == 0 { // a one-part multipart object
			part = 1
		}
		return k.PartKey(l.numbers[part-1])
	}
}

// decrypt returns the plaintext of segs read from body.
func (l partLayout) decrypt(body io.Reader, segs []crypto.Segment, k crypto.ObjectKey) (io.Reader, error) {
	if len(segs) == 0 {
		return http.NoBody, nil
	}
	return crypto.DecryptSegments(body, segs, l.keyFor(k))
}

// readHeaders are the request headers a read forwards to the backend when
// it evaluates the conditions (no ETag condition: see statEncrypted).
var readHeaders = []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

func readHeader(r *http.Request) http.Header {
	h := http.Header{}
	for _, k := range readHeaders {
		if v := r.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	return h
}

// objectQuery keeps the query parameters a backend read understands:
// versionId and the response-* overrides.
func objectQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k == "versionId" || strings.HasPrefix(k, "response-") {
			out[k] = v
		}
	}
	return out
}

// statEncrypted HEADs the object and, if s3seal encrypted it, unseals its
// key (proving an SSE-C caller's key and the metadata's authenticity before
// anything is revealed) and loads its layout. A nil object with a nil error
// means the answer was already written: the backend's (errors, 304/412) or,
// for an object s3seal did not encrypt in a bucket that allows it (see
// checkUnsealed), the object as stored.
func (s *Server) statEncrypted(w http.ResponseWriter, r *http.Request, req *s3Request, ssec *customerKey) (*storedObject, crypto.ObjectKey, partLayout, error) {
	ctx := r.Context()
	// ETag conditions are evaluated here: a multipart object's client
	// ETag is never the backend's, whatever Config.DisableMD5ETags.
	local := hasETagCondition(r.Header, "")
	st, ok, err := s.headStored(ctx, r, req, local)
	if err == nil && ok && st.meta == nil {
		err = s.checkUnsealed(req, req.bucket, req.object)
	}
	switch {
	case err != nil:
		return nil, crypto.ObjectKey{}, partLayout{}, err
	case !ok && r.Method != http.MethodHead && st.resp.StatusCode != http.StatusNotModified:
		return nil, crypto.ObjectKey{}, partLayout{}, s.relayReadError(w, r, req)
	case !ok:
		return nil, crypto.ObjectKey{}, partLayout{}, relay(w, r, st.resp)
	case st.meta == nil && ssec != nil:
		return nil, crypto.ObjectKey{}, partLayout{}, errNotSSEC
	// A HEAD with a range or part number of an object stored as it is
	// goes to the backend whole, which judges them as for a GET.
	case st.meta == nil && r.Method == http.MethodHead && r.Header.Get("Range") == "" && !r.URL.Query().Has("partNumber"):
		if local {
			st.clientETag = st.etag
			if err := s.answerConditions(w, r, st); !errors.Is(err, errConditionsHold) {
				return nil, crypto.ObjectKey{}, partLayout{}, err
			}
		}
		return nil, crypto.ObjectKey{}, partLayout{}, relay(w, r, st.resp)
	case st.meta == nil:
		return nil, crypto.ObjectKey{}, partLayout{}, s.passthrough(w, r, req)
	}
	key, err := s.unsealObject(ctx, st.meta, req.bucket, req.object, ssec)
	if err != nil {
		return nil, crypto.ObjectKey{}, partLayout{}, err
	}
	if st.clientETag, err = s.clientETag(ctx, req.bucket, req.object, st.resp.Header, key); err != nil {
		return nil, crypto.ObjectKey{}, partLayout{}, err
	}
	if local {
		if err := s.answerConditions(w, r, st); !errors.Is(err, errConditionsHold) {
			return nil, crypto.ObjectKey{}, partLayout{}, err
		}
	}
	layout, err := s.objectLayout(ctx, req.bucket, req.object, st.meta, st.etag, st.resp.ContentLength)
	if err != nil {
		return nil, crypto.ObjectKey{}, partLayout{}, err
	}
	if err := s.loadTrailingChecksum(ctx, r, req, st); err != nil {
		return nil, crypto.ObjectKey{}, partLayout{}, err
	}
	return st, key, layout, nil
}

// errConditionsHold: the request's conditions hold, the read proceeds.
var errConditionsHold = errors.New("conditions hold")

// answerConditions evaluates a read's conditional headers against the
// client ETag of st. It returns errConditionsHold when the read proceeds;
// otherwise it answers 304 (nil error) or returns PreconditionFailed.
func (s *Server) answerConditions(w http.ResponseWriter, r *http.Request, st *storedObject) error {
	switch evalConditions(r.Header, "", st.clientETag, st.resp.Header.Get("Last-Modified")) {
	case http.StatusPreconditionFailed:
		return s3err.New(s3err.PreconditionFailed, "")
	case http.StatusNotModified:
		h := w.Header()
		h.Set("ETag", st.clientETag)
		if v := st.resp.Header.Get("Last-Modified"); v != "" {
			h.Set("Last-Modified", v)
		}
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return errConditionsHold
}

// relayReadError answers a GET whose HEAD the backend refused with the
// error document a GET gets (a HEAD answer has no body to tell NoSuchKey
// from NoSuchBucket): one more request, on the error path only.
func (s *Server) relayReadError(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	h := readHeader(r)
	h.Set("Range", "bytes=0-0")
	resp, err := s.backend.do(r.Context(), backendRequest{
		Method: http.MethodGet, Bucket: req.bucket, Object: req.object,
		RawQuery: objectQuery(r.URL.Query()).Encode(), Header: h,
	})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 {
		return s3err.New(s3err.ServiceUnavailable, "The object changed during the request; retry it.")
	}
	return relay(w, r, resp)
}

// headStored HEADs the backend object. On anything but 200 it returns the
// response for relaying with meta nil and ok false.
// Without conditions, the caller evaluates them.
func (s *Server) headStored(ctx context.Context, r *http.Request, req *s3Request, withoutConds bool) (*storedObject, bool, error) {
	h := readHeader(r)
	if withoutConds {
		h = withoutConditions(h)
	}
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodHead, Bucket: req.bucket, Object: req.object,
		RawQuery: objectQuery(r.URL.Query()).Encode(), Header: h,
	})
	if err != nil {
		return nil, false, backendError(err)
	}
	resp.Body.Close()
	st := &storedObject{resp: resp, etag: resp.Header.Get("ETag")}
	if resp.StatusCode != http.StatusOK {
		return st, false, nil
	}
	st.meta, err = decodeMetadata(resp.Header)
	return st, true, err
}

func decodeMetadata(h http.Header) (*crypto.Metadata, error) {
	meta, err := crypto.DecodeMetadata(h.Get)
	switch {
	case errors.Is(err, crypto.ErrNotEncrypted):
		return nil, nil
	case err != nil:
		return nil, s3err.Wrap(s3err.ObjectTampered, err)
	}
	return meta, nil
}

// objectLayout returns the plaintext part layout of an encrypted object.
func (s *Server) objectLayout(ctx context.Context, bucket, object string, meta *crypto.Metadata, etag string, cipherSize int64) (partLayout, error) {
	if !meta.Multipart {
		n, err := crypto.DecryptedSize(cipherSize)
		if err != nil {
			return partLayout{}, s3err.Wrap(s3err.ObjectTampered, err)
		}
		return partLayout{sizes: crypto.Layout{n}}, nil
	}
	l, err := s.records.layout(ctx, bucket, object, etag)
	if err != nil {
		return partLayout{}, err
	}
	if total := l.sizes.CipherSize(); total != cipherSize {
		return partLayout{}, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("layout of %d bytes for a %d-byte object", total, cipherSize))
	}
	return l, nil
}

// headObject answers with the plaintext size and the SSE headers.
func (s *Server) headObject(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := rejectSSEOnRead(r); err != nil {
		return err
	}
	ssec, err := s.parseCustomerKey(r, false)
	if err != nil {
		return err
	}
	part := 0
	if pn := r.URL.Query().Get("partNumber"); pn != "" {
		if part, err = parsePartNumber(pn); err != nil {
			return err
		}
	}
	st, key, layout, err := s.statEncrypted(w, r, req, ssec)
	if st == nil {
		return err
	}
	req.keyID = st.meta.KeyID
	h := w.Header()
	copyResponseHeader(h, st.resp.Header)
	stripChecksums(h)
	setSSEHeaders(h, st.meta)
	h.Set("ETag", st.clientETag)
	setKeyVersionHeader(h, st.meta)
	size := layout.sizes.Size()
	status := http.StatusOK
	if st.meta.Multipart {
		setMultipartHeaders(h, r, layout, part, r.Header.Get("Range") == "")
	} else if r.Header.Get("Range") == "" {
		setStoredChecksum(h, r, st, key)
	}
	if part != 0 {
		off, partSize, err := partRange(layout.sizes, part)
		if err != nil {
			return err
		}
		if len(layout.sizes) > 1 {
			h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(layout.sizes)))
		}
		if partSize > 0 { // else the whole (empty) object: see writeRange
			h.Set("Content-Range", contentRange(off, partSize, size))
			status = http.StatusPartialContent
		}
		h.Set("Content-Length", strconv.FormatInt(partSize, 10))
		w.WriteHeader(status)
		return nil
	}
	if rh := r.Header.Get("Range"); rh != "" {
		off, n, err := crypto.ParseRange(rh, size)
		switch {
		case errors.Is(err, crypto.ErrInvalidRange):
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			return s3err.New(s3err.InvalidRange, "")
		case err == nil && n > 0: // n == 0: the whole (empty) object, see writeRange
			h.Set("Content-Range", contentRange(off, n, size))
			size, status = n, http.StatusPartialContent
		}
	}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(status)
	return nil
}

func contentRange(off, n, size int64) string {
	return fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size)
}

// getObject streams the plaintext of an object, or of a byte range of it,
// fetching only the ciphertext packages needed.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := rejectSSEOnRead(r); err != nil {
		return err
	}
	ssec, err := s.parseCustomerKey(r, false)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("partNumber") != "" {
		return s.getObjectPart(w, r, req, ssec)
	}
	if r.Header.Get("Range") == "" && !hasETagCondition(r.Header, "") {
		return s.getWhole(w, r, req, ssec)
	}
	st, key, layout, err := s.statEncrypted(w, r, req, ssec)
	if st == nil {
		return err
	}
	req.keyID, req.encrypted = st.meta.KeyID, true
	size := layout.sizes.Size()
	if r.Header.Get("Range") == "" {
		return s.writeWhole(w, r, req, st, key, layout)
	}
	off, n, err := crypto.ParseRange(r.Header.Get("Range"), size)
	switch {
	case errors.Is(err, crypto.ErrInvalidRange):
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		return s3err.New(s3err.InvalidRange, "")
	case err != nil:
		// A malformed Range is ignored, as S3 does: the whole object.
		return s.writeWhole(w, r, req, st, key, layout)
	}
	return s.writeRange(w, r, req, st, key, layout, off, n)
}

// writeWhole answers 200 with the whole plaintext of the version st
// describes (a read whose conditions s3seal evaluated).
func (s *Server) writeWhole(w http.ResponseWriter, r *http.Request, req *s3Request, st *storedObject, key crypto.ObjectKey, layout partLayout) error {
	size := layout.sizes.Size()
	if size == 0 {
		return s.writePlaintext(w, r, st, key, layout, nil, nil, 0, 0, http.StatusOK)
	}
	segs, err := layout.sizes.Plan(0, size)
	if err != nil {
		return s3err.Wrap(s3err.ObjectTampered, err)
	}
	resp, err := s.fetchCiphertext(r.Context(), r, req, st, segs)
	if resp == nil {
		return err
	}
	defer resp.Body.Close()
	if err != nil {
		return relay(w, r, resp)
	}
	return s.writePlaintext(w, r, st, key, layout, resp.Body, segs, 0, size, http.StatusOK)
}

// writeRange answers 206 with plaintext [off, off+n), fetching only the
// ciphertext packages it needs. An empty range (a suffix range or the only
// part of an empty object) is the whole object, which no 206 can express
// ("bytes 0--1/0"): it is answered 200, as S3 does.
func (s *Server) writeRange(w http.ResponseWriter, r *http.Request, req *s3Request, st *storedObject, key crypto.ObjectKey, layout partLayout, off, n int64) error {
	if n == 0 {
		return s.writePlaintext(w, r, st, key, layout, nil, nil, 0, 0, http.StatusOK)
	}
	segs, err := layout.sizes.Plan(off, n)
	if err != nil {
		return s3err.Wrap(s3err.InvalidRange, err)
	}
	resp, err := s.fetchCiphertext(r.Context(), r, req, st, segs)
	if resp == nil {
		return err
	}
	defer resp.Body.Close()
	if err != nil {
		return relay(w, r, resp)
	}
	return s.writePlaintext(w, r, st, key, layout, resp.Body, segs, off, n, http.StatusPartialContent)
}

// fetchCiphertext GETs the ciphertext span segs cover, pinned to the
// version st describes. A non-nil response with a non-nil error is a
// backend answer to relay.
func (s *Server) fetchCiphertext(ctx context.Context, r *http.Request, req *s3Request, st *storedObject, segs []crypto.Segment) (*http.Response, error) {
	first, last := segs[0], segs[len(segs)-1]
	bh := http.Header{}
	// Pin the version we HEADed: an overwrite in between must not mix.
	bh.Set("If-Match", st.etag)
	bh.Set("Range", fmt.Sprintf("bytes=%d-%d", first.CipherOffset, last.CipherOffset+last.CipherLength-1))
	q := url.Values{}
	if v := r.URL.Query().Get("versionId"); v != "" {
		q.Set("versionId", v)
	}
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodGet, Bucket: req.bucket, Object: req.object, RawQuery: q.Encode(), Header: bh,
	})
	if err != nil {
		return nil, backendError(err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
		return resp, nil
	case http.StatusPreconditionFailed:
		resp.Body.Close()
		return nil, s3err.New(s3err.ServiceUnavailable, "The object changed while it was being read; retry.")
	default:
		return resp, errRelay
	}
}

// errRelay marks a backend answer that is passed on to the client as is.
var errRelay = errors.New("relay backend response")

var errNotSSEC = s3err.New(s3err.InvalidRequest, "The object was not stored with Server Side Encryption with Customer provided keys.")

// getWhole streams a whole object in one backend request.
func (s *Server) getWhole(w http.ResponseWriter, r *http.Request, req *s3Request, ssec *customerKey) error {
	ctx := r.Context()
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodGet, Bucket: req.bucket, Object: req.object,
		RawQuery: objectQuery(r.URL.Query()).Encode(), Header: readHeader(r),
	})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return relay(w, r, resp)
	}
	meta, err := decodeMetadata(resp.Header)
	if err != nil {
		return err
	}
	if meta == nil {
		if err := s.checkUnsealed(req, req.bucket, req.object); err != nil {
			return err
		}
		if ssec != nil {
			return errNotSSEC
		}
		return relay(w, r, resp)
	}
	st := &storedObject{resp: resp, meta: meta, etag: resp.Header.Get("ETag")}
	key, err := s.unsealObject(ctx, meta, req.bucket, req.object, ssec)
	if err != nil {
		return err
	}
	if st.clientETag, err = s.clientETag(ctx, req.bucket, req.object, resp.Header, key); err != nil {
		return err
	}
	layout, err := s.objectLayout(ctx, req.bucket, req.object, meta, st.etag, resp.ContentLength)
	if err != nil {
		return err
	}
	if err := s.loadTrailingChecksum(ctx, r, req, st); err != nil {
		return err
	}
	req.keyID, req.encrypted = meta.KeyID, true
	size := layout.sizes.Size()
	var segs []crypto.Segment
	if size > 0 {
		if segs, err = layout.sizes.Plan(0, size); err != nil {
			return s3err.Wrap(s3err.ObjectTampered, err)
		}
	}
	return s.writePlaintext(w, r, st, key, layout, resp.Body, segs, 0, size, http.StatusOK)
}

// writePlaintext writes the response for plaintext [off, off+n) decrypted
// from body, which holds exactly the ciphertext segs describe. The first
// chunk is decrypted before any header is sent, so tampering there is a
// clean S3 error; later it aborts the connection, so a client never takes
// wrong bytes for the object.
func (s *Server) writePlaintext(w http.ResponseWriter, r *http.Request, st *storedObject, key crypto.ObjectKey, layout partLayout, body io.Reader, segs []crypto.Segment, off, n int64, status int) error {
	h := w.Header()
	copyResponseHeader(h, st.resp.Header)
	stripChecksums(h)
	setSSEHeaders(h, st.meta)
	if st.clientETag != "" {
		h.Set("ETag", st.clientETag)
	}
	h.Del("Content-Range")
	if st.meta.Multipart {
		part, _ := strconv.Atoi(r.URL.Query().Get("partNumber"))
		setMultipartHeaders(h, r, layout, part, status != http.StatusPartialContent || part != 0)
	}
	if status == http.StatusPartialContent {
		h.Set("Content-Range", contentRange(off, n, layout.sizes.Size()))
	} else if !st.meta.Multipart {
		setStoredChecksum(h, r, st, key)
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	if n == 0 {
		w.WriteHeader(status)
		return nil
	}
	bp := copyBuffers.Get().(*[]byte)
	head := (*bp)[:min(int64(len(*bp)), n)]
	var src *bufio.Reader
	if int64(len(head)) < n {
		src = getBackendReader(body)
		body = src
	}
	release := func() {
		if src != nil {
			putBackendReader(src)
		}
	}
	plain, err := layout.decrypt(body, segs, key)
	if err != nil {
		copyBuffers.Put(bp)
		release()
		return s3err.Wrap(s3err.ObjectTampered, err)
	}
	if _, err := io.ReadFull(plain, head); err != nil {
		copyBuffers.Put(bp)
		release()
		return s3err.Wrap(s3err.ObjectTampered, err)
	}
	w.WriteHeader(status)
	if _, err := w.Write(head); err != nil || int64(len(head)) == n {
		copyBuffers.Put(bp)
		release()
		return nil // done, or the client went away
	}
	// More than one buffer: read ahead while writing (copyReadAhead
	// takes the buffer over).
	written, err := copyReadAhead(w, plain, bp)
	if err != nil {
		release()
		return s3err.Wrap(s3err.ObjectTampered, err)
	}
	if int64(len(head))+written == n {
		release() // else the client went away, and copyReadAhead's reader may still be in src
	}
	return nil
}

// backendReaders buffer the ciphertext of large reads. DARE asks its
// source for one package (64 KiB and 32 bytes) at a time, which through
// the transport's 64 KiB buffer is one read(2) of at most 64 KiB per
// package; through a copy-buffer-sized bufio.Reader it is one of up to
// 256 KiB per four packages, as the bare forwarder reads.
var backendReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 256<<10) }}

func getBackendReader(body io.Reader) *bufio.Reader {
	br := backendReaders.Get().(*bufio.Reader)
	br.Reset(body)
	return br
}

func putBackendReader(br *bufio.Reader) {
	br.Reset(nil)
	backendReaders.Put(br)
}

// The client's checksum of the plaintext, sealed under the object key.
const (
	hdrSealedChecksum = "X-Amz-Meta-S3seal-Checksum"
	checksumLabel     = "checksum"
)

// setStoredChecksum answers x-amz-checksum-mode: ENABLED with the checksum
// the client uploaded, for whole-object reads of single-part objects.
func setStoredChecksum(h http.Header, r *http.Request, st *storedObject, key crypto.ObjectKey) {
	if !strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		return
	}
	if alg, value, ok := openStoredChecksum(st, key); ok {
		h.Set("X-Amz-Checksum-"+alg, value)
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
}

// openStoredChecksum returns the client checksum stored sealed with an
// object (algorithm as in CRC32C, base64 value); ok is false when there is
// none, or none that authenticates: a checksum s3seal cannot vouch for is
// never answered.
func openStoredChecksum(st *storedObject, key crypto.ObjectKey) (alg, value string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(st.resp.Header.Get(hdrSealedChecksum))
	if err != nil || len(raw) == 0 {
		if st.trailingChecksum != "" {
			return strings.Cut(st.trailingChecksum, ":")
		}
		return "", "", false
	}
	v, err := key.OpenValue(checksumLabel, raw)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(v), ":")
}
