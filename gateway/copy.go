package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// maxCopySize is the largest object S3 copies in one CopyObject.
const maxCopySize = 5 << 30

// errCopyRange is MinIO's (and AWS's) answer to an
// x-amz-copy-source-range beyond the source.
var errCopyRange = s3err.New(s3err.InvalidArgument, "Range specified is not valid for source object.")

type copySource struct {
	bucket, object, versionID string
}

// parseCopySource reads x-amz-copy-source: "[/]bucket/key[?versionId=v]",
// URL-encoded.
func parseCopySource(r *http.Request) (copySource, string, error) {
	raw := r.Header.Get("X-Amz-Copy-Source")
	p, query, _ := strings.Cut(raw, "?")
	p, err := url.PathUnescape(strings.TrimPrefix(p, "/"))
	if err != nil {
		return copySource{}, "", s3err.New(s3err.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	bucket, object, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || object == "" {
		return copySource{}, "", s3err.New(s3err.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if reservedBucket(bucket) || checkNames(bucket, object, false) != nil {
		return copySource{}, "", s3err.New(s3err.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	src := copySource{bucket: bucket, object: object}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return copySource{}, "", s3err.New(s3err.InvalidArgument, "Invalid copy source version id")
		}
		src.versionID = q.Get("versionId")
	}
	return src, raw, nil
}

// header returns the x-amz-copy-source value for src.
func (c copySource) header() string {
	v := url.PathEscape(c.bucket) + "/" + escapeKey(c.object)
	if c.versionID != "" {
		v += "?versionId=" + url.QueryEscape(c.versionID)
	}
	return v
}

func escapeKey(k string) string {
	parts := strings.Split(k, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// copySourceConditions maps x-amz-copy-source-if-* onto the plain
// conditional headers of a read of the source.
func copySourceConditions(r *http.Request) http.Header {
	h := http.Header{}
	for _, c := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := r.Header.Get("X-Amz-Copy-Source-" + c); v != "" {
			h.Set(c, v)
		}
	}
	return h
}

// contentHeaders are the stored headers a COPY directive carries over.
var contentHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires", "X-Amz-Website-Redirect-Location"}

// destinationHeader builds the headers of the new object: the source's
// (directive COPY) or the request's (REPLACE) metadata, plus the request's
// other headers (tagging, storage class, object lock).
func destinationHeader(r *http.Request, src http.Header, replace bool) http.Header {
	h := forwardEncryptedHeader(r.Header)
	for k := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-copy-source") || lk == "x-amz-metadata-directive" {
			delete(h, k)
		}
	}
	if replace {
		return h
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
			delete(h, k)
		}
	}
	for _, k := range contentHeaders {
		h.Del(k)
		if v := src.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	for k, vv := range src {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") && !crypto.IsReservedHeader(k) {
			h[k] = vv
		}
	}
	return h
}

// copyObject copies between any combination of plaintext, SSE-S3, SSE-KMS
// and SSE-C. Encrypted to encrypted re-seals the object key for the new
// place and key and lets the backend copy the ciphertext; otherwise the data
// streams through the gateway.
func (s *Server) copyObject(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := rejectReservedMetadata(r.Header); err != nil {
		return err
	}
	ctx := r.Context()
	src, _, err := parseCopySource(r)
	if err != nil {
		return err
	}
	req.copySource = src.object
	replace := false
	switch d := r.Header.Get("X-Amz-Metadata-Directive"); d {
	case "", "COPY":
	case "REPLACE":
		replace = true
	default:
		return s3err.New(s3err.InvalidArgument, "Unknown metadata directive.")
	}
	srcSSEC, err := s.parseCustomerKey(r, true)
	if err != nil {
		return err
	}
	enc, err := s.requestedEncryption(ctx, r, req.bucket)
	if err != nil {
		return err
	}
	asksEncryption := r.Header.Get(hdrSSE) != "" || r.Header.Get(hdrSSECAlgorithm) != ""
	if src.bucket == req.bucket && src.object == req.object && src.versionID == "" && !replace && !asksEncryption {
		return s3err.New(s3err.InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}

	so, err := s.statCopySource(ctx, r, req, src)
	if err != nil {
		return err
	}
	head, srcMeta, srcETag := so.head, so.meta, so.etag
	h := destinationHeader(r, head.Header, replace)
	want, err := requestedChecksumAlgorithm(r.Header)
	if err != nil {
		return err
	}

	switch {
	case srcMeta == nil && enc == nil:
		if srcSSEC != nil {
			return errNotSSEC
		}
		return s.passthrough(w, r, req)
	case srcMeta != nil && enc != nil:
		if head.ContentLength > maxCopySize {
			return s3err.New(s3err.InvalidRequest, "The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(maxCopySize))
		}
		key, err := s.unsealObject(ctx, srcMeta, src.bucket, src.object, srcSSEC)
		if err != nil {
			return err
		}
		layout, err := s.objectLayout(ctx, src.bucket, src.object, srcMeta, srcETag, head.ContentLength)
		if err != nil {
			return err
		}
		sum, err := s.copyChecksum(ctx, r, so, key, layout, want)
		if err != nil {
			return err
		}
		if srcMeta.Multipart && ragged(layout.sizes) || sum.compute != nil {
			// A ragged layout would list with a wrong size under the
			// copy's new, single-part-looking ETag; another checksum
			// needs the plaintext: re-encrypt as one stream.
			return s.copyThrough(ctx, w, r, req, so, srcSSEC, enc, h, sum)
		}
		if !srcMeta.Multipart && sum.carry != "" {
			h.Set(hdrTrailingChecksum, "record")
		}
		meta, err := s.reseal(ctx, key, enc, req.bucket, req.object)
		if err != nil {
			return err
		}
		// The copy has the source's plaintext, so the source's MD5 ETag.
		clientETag := ""
		if s.wantsMD5ETag(enc, req.bucket, req.object) && !srcMeta.Multipart {
			e, recorded, err := s.recordedETag(ctx, src.bucket, src.object, head.Header, func() (crypto.ObjectKey, error) { return key, nil })
			if err != nil {
				return err
			}
			if recorded && md5ETag(e) {
				clientETag = strings.Trim(e, `"`)
				sealed, err := key.SealValue(clientETagLabel, []byte(clientETag), nil)
				if err != nil {
					return err
				}
				h.Set(hdrClientETag, base64.StdEncoding.EncodeToString(sealed))
			}
		}
		meta.Multipart = srcMeta.Multipart
		req.keyID = meta.KeyID
		for k, v := range meta.Encode() {
			h.Set(k, v)
		}
		h.Set("X-Amz-Copy-Source", src.header())
		h.Set("X-Amz-Metadata-Directive", "REPLACE")
		// Copy exactly the version whose key was unsealed.
		h.Set("X-Amz-Copy-Source-If-Match", srcETag)
		resp, body, err := s.fetchXML(w, r, backendRequest{Method: http.MethodPut, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery, Header: h})
		if resp == nil {
			return err
		}
		var res struct {
			XMLName      xml.Name
			ETag         string `xml:"ETag"`
			LastModified string `xml:"LastModified"`
		}
		if err := xml.Unmarshal(body, &res); err == nil && res.XMLName.Local == "CopyObjectResult" {
			backendETag := strings.Trim(res.ETag, `"`)
			if meta.Multipart {
				// The layout, with the client's ETag and checksums of the
				// source, describes the copy as well.
				if err := s.records.putLayout(ctx, req.bucket, req.object, backendETag, layout); err != nil {
					return err
				}
				if layout.etag != "" {
					res.ETag = `"` + layout.etag + `"`
				}
				if layout.checksumValue != "" {
					sum.carry, sum.typ = layout.checksum.Algorithm+":"+layout.checksumValue, layout.checksum.Type
				}
			} else if sum.carry != "" {
				if err := s.records.put(ctx, trailingChecksumRecord(req.bucket, req.object, backendETag), []byte(sum.carry)); err != nil {
					return err
				}
			}
			if clientETag != "" {
				size, err := crypto.DecryptedSize(head.ContentLength)
				if err != nil {
					return s3err.Wrap(s3err.ObjectTampered, err)
				}
				if res.ETag, err = s.recordClientETag(ctx, req.bucket, req.object, backendETag, size, clientETag, true); err != nil {
					return err
				}
			}
			body = copyObjectResult(res.LastModified, res.ETag, sum)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		return s.writeWriteResponse(w, resp, meta, req)
	default:
		if want != nil {
			return s.copyThrough(ctx, w, r, req, so, srcSSEC, enc, h, copySum{compute: want, typ: checksumFullObject})
		}
		return s.copyThrough(ctx, w, r, req, so, srcSSEC, enc, h, copySum{})
	}
}

// copyThrough copies by streaming: plaintext to encrypted or encrypted to
// an operator-configured plaintext bucket.
//
// A copy onto itself is not conditional on the destination: the write
// cannot carry If-Match, because MinIO holds an object's lock for the whole
// of a conditional PUT while the source GET of the same object holds its
// read lock until it is read to the end, so a streamed self-copy larger
// than the socket buffers would deadlock. Tools that must not overwrite a
// concurrent write (s3seal encrypt-existing) copy through a multipart
// upload instead and make CompleteMultipartUpload conditional.
func (s *Server) copyThrough(ctx context.Context, w http.ResponseWriter, r *http.Request, req *s3Request, so *sourceObject, srcSSEC *customerKey, enc *encryption, h http.Header, sum copySum) error {
	src, size, err := s.openSource(ctx, so, srcSSEC, 0, -1)
	if err != nil {
		return err
	}
	defer src.Close()
	var body io.Reader = src
	var hash hash.Hash
	if enc == nil {
		sum = copySum{} // a plaintext destination: the backend's business
	} else if sum.compute != nil {
		hash = sum.compute.new()
		body = io.TeeReader(src, hash)
	}
	if sum.carry != "" || hash != nil {
		h.Set(hdrTrailingChecksum, "record")
	}
	var resp *http.Response
	var backendETag string // the checksum record's name, before a client ETag replaces it
	meta := &crypto.Metadata{}
	if enc != nil {
		var pm *plaintextMD5
		if s.wantsMD5ETag(enc, req.bucket, req.object) {
			pm = &plaintextMD5{}
		}
		resp, meta, err = s.storeEncrypted(ctx, enc, req.bucket, req.object, "", h, body, size, nil, pm)
		if err != nil {
			return err
		}
		backendETag = resp.Header.Get("ETag")
		req.keyID, req.encrypted = meta.KeyID, true
		if pm != nil && resp.StatusCode == http.StatusOK {
			etag, err := s.finishMD5(ctx, req.bucket, req.object, resp.Header.Get("ETag"), size, pm)
			if err != nil {
				resp.Body.Close()
				return err
			}
			resp.Header.Set("ETag", etag)
		}
	} else {
		resp, err = s.backend.do(ctx, backendRequest{Method: http.MethodPut, Bucket: req.bucket, Object: req.object, Header: h, Body: body, Size: size})
		if err != nil {
			return backendError(err)
		}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return relay(w, r, resp)
	}
	if hash != nil {
		sum.carry = sum.compute.name + ":" + base64.StdEncoding.EncodeToString(hash.Sum(nil))
	}
	if sum.carry != "" {
		if err := s.records.put(ctx, trailingChecksumRecord(req.bucket, req.object, backendETag), []byte(sum.carry)); err != nil {
			return err
		}
	}
	result := copyObjectResult(time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), resp.Header.Get("ETag"), sum)
	if v := resp.Header.Get("X-Amz-Version-Id"); v != "" {
		w.Header().Set("X-Amz-Version-Id", v)
	}
	if v := so.head.Header.Get("X-Amz-Version-Id"); v != "" && so.src.versionID != "" {
		w.Header().Set("X-Amz-Copy-Source-Version-Id", v)
	}
	setSSEHeaders(w.Header(), meta)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(result)))
	_, err = w.Write(result)
	return err
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// sourceObject is a copy source as a HEAD of the backend found it.
type sourceObject struct {
	src  copySource
	head *http.Response
	meta *crypto.Metadata // nil: not encrypted
	etag string
}

// statCopySource HEADs the copy source and evaluates the client's
// x-amz-copy-source-if-* conditions (both failures are 412, as in S3). A
// source without s3seal metadata is refused unless its bucket allows that
// (checkUnsealed).
func (s *Server) statCopySource(ctx context.Context, r *http.Request, req *s3Request, src copySource) (*sourceObject, error) {
	if src.bucket == s.cfg.SystemBucket {
		return nil, s3err.New(s3err.AccessDenied, "")
	}
	q := url.Values{}
	if src.versionID != "" {
		q.Set("versionId", src.versionID)
	}
	// With s3seal's own ETags, the conditions are evaluated here, against
	// the ETag the client was shown; the copy itself is then pinned to the
	// backend ETag of the version they held for.
	local := hasETagCondition(r.Header, "X-Amz-Copy-Source-")
	conds := copySourceConditions(r)
	if local {
		conds = http.Header{}
	}
	head, err := s.backend.do(ctx, backendRequest{Method: http.MethodHead, Bucket: src.bucket, Object: src.object, RawQuery: q.Encode(), Header: conds})
	if err != nil {
		return nil, backendError(err)
	}
	head.Body.Close()
	switch head.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		// A HEAD answer cannot tell a missing bucket from a missing key:
		// ask, on this error path only.
		if err := s.bucketExists(ctx, src.bucket); err != nil {
			return nil, err
		}
		return nil, s3err.New(s3err.NoSuchKey, "")
	case http.StatusPreconditionFailed, http.StatusNotModified:
		return nil, s3err.New(s3err.PreconditionFailed, "")
	case http.StatusForbidden:
		return nil, s3err.New(s3err.AccessDenied, "")
	default:
		return nil, s3err.Wrap(s3err.InternalError, fmt.Errorf("HEAD copy source answered %s", head.Status))
	}
	meta, err := decodeMetadata(head.Header)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		if err := s.checkUnsealed(req, src.bucket, src.object); err != nil {
			return nil, err
		}
	}
	if local {
		etag, _, err := s.recordedETag(ctx, src.bucket, src.object, head.Header, func() (crypto.ObjectKey, error) {
			if meta == nil {
				return crypto.ObjectKey{}, s3err.Wrap(s3err.ObjectTampered, errors.New("sealed ETag without s3seal metadata"))
			}
			return s.unsealObject(ctx, meta, src.bucket, src.object, nil)
		})
		if err != nil {
			return nil, err
		}
		if evalConditions(r.Header, "X-Amz-Copy-Source-", etag, head.Header.Get("Last-Modified")) != 0 {
			return nil, s3err.New(s3err.PreconditionFailed, "")
		}
	}
	return &sourceObject{src: src, head: head, meta: meta, etag: head.Header.Get("ETag")}, nil
}

// openSource streams the plaintext of so, or of [off, off+n) of it when
// n >= 0, pinned to the version the HEAD saw. It returns the reader and the
// number of bytes it yields.
func (s *Server) openSource(ctx context.Context, so *sourceObject, ssec *customerKey, off, n int64) (io.ReadCloser, int64, error) {
	q := url.Values{}
	if so.src.versionID != "" {
		q.Set("versionId", so.src.versionID)
	}
	h := http.Header{"If-Match": {so.etag}}
	size := so.head.ContentLength
	var key crypto.ObjectKey
	var segs []crypto.Segment
	var layout partLayout
	if so.meta == nil {
		if ssec != nil {
			return nil, 0, errNotSSEC
		}
	} else {
		var err error
		if key, err = s.unsealObject(ctx, so.meta, so.src.bucket, so.src.object, ssec); err != nil {
			return nil, 0, err
		}
		if layout, err = s.objectLayout(ctx, so.src.bucket, so.src.object, so.meta, so.etag, so.head.ContentLength); err != nil {
			return nil, 0, err
		}
		size = layout.sizes.Size()
		if n < 0 {
			off, n = 0, size
		}
		if off+n > size {
			return nil, 0, errCopyRange
		}
		if n == 0 {
			return io.NopCloser(http.NoBody), 0, nil
		}
		if segs, err = layout.sizes.Plan(off, n); err != nil {
			return nil, 0, s3err.Wrap(s3err.InvalidRange, err)
		}
		first, last := segs[0], segs[len(segs)-1]
		h.Set("Range", fmt.Sprintf("bytes=%d-%d", first.CipherOffset, last.CipherOffset+last.CipherLength-1))
	}
	if so.meta == nil {
		if n < 0 {
			off, n = 0, size
		}
		if off+n > size {
			return nil, 0, errCopyRange
		}
		if n == 0 {
			return io.NopCloser(http.NoBody), 0, nil
		}
		h.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	}
	get, err := s.backend.do(ctx, backendRequest{Method: http.MethodGet, Bucket: so.src.bucket, Object: so.src.object, RawQuery: q.Encode(), Header: h})
	if err != nil {
		return nil, 0, backendError(err)
	}
	if get.StatusCode != http.StatusOK && get.StatusCode != http.StatusPartialContent {
		get.Body.Close()
		return nil, 0, s3err.New(s3err.ServiceUnavailable, "The copy source changed while it was being read; retry.")
	}
	if so.meta == nil {
		return get.Body, n, nil
	}
	plain, err := layout.decrypt(get.Body, segs, key)
	if err != nil {
		get.Body.Close()
		return nil, 0, s3err.Wrap(s3err.ObjectTampered, err)
	}
	return readCloser{plain, get.Body}, n, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
