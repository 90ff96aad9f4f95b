package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memS3 is an in-memory S3 store for the gateway's backend calls: objects
// with ranges and conditions, CopyObject, multipart uploads, listings and
// S3's XML errors. It records every request it receives, so tests can
// assert what the backend was asked to do. It does not verify signatures.
type memS3 struct {
	// MinPartSize is the smallest size of a part that is not the last
	// one. Zero: S3's 5 MiB.
	MinPartSize int64
	// MaxParts caps a ListParts page as S3 does at 1000. Zero: 1000.
	MaxParts int
	// Hook, if set, runs before each request is served, with the store
	// locked: tests use it to change the store between two requests.
	Hook func(m *memS3, c backendCall)
	// PutETag, if set, gives a PUT object's ETag instead of the MD5 of
	// its body (S3's), as stores with other ETag schemes do.
	PutETag func(body []byte) string
	// VersionsETag, if set, gives the ETag ListObjectVersions shows for an
	// object of ETag etag, as stores do that show a multipart object's
	// ETag differently there (SeaweedFS).
	VersionsETag func(etag string) string
	// NoListingMetadata makes listings ignore MinIO's metadata=true, as
	// stores without that extension do.
	NoListingMetadata bool

	mu       sync.Mutex
	buckets  map[string]map[string]*memObject
	uploads  map[string]*memUpload
	nextID   int
	received []backendCall
}

// memObject is a stored object. etag is fixed when it is written, so a
// test that alters body in place models tampering at rest.
type memObject struct {
	body      []byte
	header    http.Header // stored headers: content headers and x-amz-meta-*
	etag      string      // quoted
	modified  time.Time
	partSizes []int64 // sizes of a completed multipart object's parts
	tags      string  // x-amz-tagging of its PUT, URL-encoded
}

type memUpload struct {
	bucket, object string
	header         http.Header
	parts          map[int]memPart
}

type memPart struct {
	body []byte
	etag string
}

// backendCall is one request the store received.
type backendCall struct {
	Method string
	Bucket string
	Object string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// storedHeaders are the request headers a PUT stores with the object
// besides x-amz-meta-*.
var storedHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires", "X-Amz-Website-Redirect-Location"}

func newMemS3(buckets ...string) *memS3 {
	m := &memS3{buckets: map[string]map[string]*memObject{}, uploads: map[string]*memUpload{}}
	for _, b := range buckets {
		m.buckets[b] = map[string]*memObject{}
	}
	return m
}

// calls returns the requests received so far.
func (m *memS3) calls() []backendCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]backendCall(nil), m.received...)
}

// forget drops the requests recorded so far.
func (m *memS3) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.received = nil
}

// object returns a copy of the stored object bucket/key.
func (m *memS3) object(bucket, key string) (body []byte, header http.Header, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.buckets[bucket][key]
	if !ok {
		return nil, nil, false
	}
	return append([]byte(nil), o.body...), o.header.Clone(), true
}

// alter lets edit change a stored object in place (its ETag stays).
func (m *memS3) alter(bucket, key string, edit func(o *memObject)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.buckets[bucket][key]
	if ok {
		edit(o)
	}
	return ok
}

// keys returns the keys of bucket in order.
func (m *memS3) keys(bucket string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.buckets[bucket] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (m *memS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || (r.ContentLength >= 0 && int64(len(body)) != r.ContentLength) {
		memError(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	bucket, object, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	m.mu.Lock()
	defer m.mu.Unlock()
	call := backendCall{Method: r.Method, Bucket: bucket, Object: object, Query: q, Header: r.Header.Clone(), Body: body}
	m.received = append(m.received, call)
	if m.Hook != nil {
		m.Hook(m, call)
	}
	w.Header().Set("X-Amz-Request-Id", "MEMS3"+strconv.Itoa(len(m.received)))
	w.Header().Set("Server", "memS3")
	switch {
	case bucket == "":
		m.listBuckets(w, r)
	case object == "":
		m.serveBucket(w, r, bucket, q, body)
	default:
		if _, ok := m.buckets[bucket]; !ok {
			memError(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		m.serveObject(w, r, bucket, object, q, body)
	}
}

func (m *memS3) serveBucket(w http.ResponseWriter, r *http.Request, bucket string, q url.Values, body []byte) {
	objects, exists := m.buckets[bucket]
	if r.Method == http.MethodPut && len(q) == 0 {
		if exists {
			memError(w, r, http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
			return
		}
		m.buckets[bucket] = map[string]*memObject{}
		w.WriteHeader(http.StatusOK)
		return
	}
	if !exists {
		memError(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	switch {
	case r.Method == http.MethodHead && len(q) == 0:
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodDelete && len(q) == 0:
		if len(objects) > 0 {
			memError(w, r, http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty")
			return
		}
		delete(m.buckets, bucket)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && q.Has("delete"):
		var doc struct {
			Quiet   bool
			Objects []struct{ Key string } `xml:"Object"`
		}
		if r.Header.Get("Content-Md5") == "" || xml.Unmarshal(body, &doc) != nil {
			memError(w, r, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
			return
		}
		res := struct {
			XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
			Deleted []struct{ Key string }
		}{}
		for _, o := range doc.Objects {
			delete(objects, o.Key)
			if !doc.Quiet {
				res.Deleted = append(res.Deleted, struct{ Key string }{o.Key})
			}
		}
		writeMemXML(w, http.StatusOK, res)
	case r.Method == http.MethodGet && q.Has("location"):
		writeMemXML(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
		}{})
	case r.Method == http.MethodGet && q.Has("versions"):
		m.listObjects(w, r, bucket, q, "versions")
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		m.listObjects(w, r, bucket, q, "v2")
	case r.Method == http.MethodGet && len(q) == 0 || r.Method == http.MethodGet && (q.Has("prefix") || q.Has("delimiter") || q.Has("marker") || q.Has("max-keys") || q.Has("encoding-type")):
		m.listObjects(w, r, bucket, q, "v1")
	default:
		memError(w, r, http.StatusNotImplemented, "NotImplemented", "memS3 does not implement this bucket operation")
	}
}

func (m *memS3) serveObject(w http.ResponseWriter, r *http.Request, bucket, object string, q url.Values, body []byte) {
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		m.createUpload(w, r, bucket, object)
	case r.Method == http.MethodPut && q.Has("uploadId") && q.Has("partNumber"):
		m.uploadPart(w, r, bucket, object, q, body)
	case r.Method == http.MethodGet && q.Has("uploadId"):
		m.listParts(w, r, bucket, object, q)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		m.completeUpload(w, r, bucket, object, q.Get("uploadId"), body)
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		if u := m.uploads[q.Get("uploadId")]; u == nil || u.bucket != bucket || u.object != object {
			memError(w, r, http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist.")
			return
		}
		delete(m.uploads, q.Get("uploadId"))
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && q.Has("tagging") && len(q) == 1:
		m.getTagging(w, r, bucket, object)
	case hasSubresource(q):
		memError(w, r, http.StatusNotImplemented, "NotImplemented", "memS3 does not implement this object operation")
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		m.copyObject(w, r, bucket, object)
	case r.Method == http.MethodPut:
		if o := m.buckets[bucket][object]; !preconditionsHold(r.Header, o) {
			memError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
			return
		}
		o := &memObject{body: body, header: storedHeader(r.Header), etag: quotedMD5(body), modified: time.Now().UTC(),
			tags: r.Header.Get("X-Amz-Tagging")}
		if m.PutETag != nil {
			o.etag = m.PutETag(body)
		}
		m.buckets[bucket][object] = o
		w.Header().Set("ETag", o.etag)
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		m.getObject(w, r, bucket, object, q)
	case r.Method == http.MethodDelete:
		delete(m.buckets[bucket], object)
		w.WriteHeader(http.StatusNoContent)
	default:
		memError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
}

// hasSubresource reports a query naming an object subresource memS3 does
// not keep (tagging, acl, retention, ...).
func hasSubresource(q url.Values) bool {
	for k := range q {
		switch {
		case k == "versionId", k == "partNumber", strings.HasPrefix(k, "response-"), strings.HasPrefix(k, "X-Amz-"):
		default:
			return true
		}
	}
	return false
}

func (m *memS3) getObject(w http.ResponseWriter, r *http.Request, bucket, object string, q url.Values) {
	o, ok := m.buckets[bucket][object]
	if !ok {
		memError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	if v := r.Header.Get("If-Match"); v != "" && !etagMatches(v, o.etag) {
		memError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return
	}
	if v := r.Header.Get("If-None-Match"); v != "" && etagMatches(v, o.etag) {
		writeObjectHeaders(w.Header(), o)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	size := int64(len(o.body))
	off, n, status := int64(0), size, http.StatusOK
	if pn := q.Get("partNumber"); pn != "" {
		parts := o.partSizes
		if parts == nil {
			parts = []int64{size}
		}
		i, err := strconv.Atoi(pn)
		if err != nil || i < 1 || i > len(parts) {
			memError(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "The requested partnumber is not satisfiable")
			return
		}
		for _, p := range parts[:i-1] {
			off += p
		}
		n, status = parts[i-1], http.StatusPartialContent
		w.Header().Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(parts)))
	} else if rng := r.Header.Get("Range"); rng != "" {
		a, b, valid, ok := parseMemRange(rng, size)
		switch {
		case !valid: // a malformed Range is ignored, as S3 does
		case !ok:
			w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			memError(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
			return
		default:
			off, n, status = a, b-a+1, http.StatusPartialContent
		}
	}
	writeObjectHeaders(w.Header(), o)
	if status == http.StatusPartialContent {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size))
	}
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		// Written without the lock (ServeHTTP holds it): the gateway
		// sends other requests before it has read a whole body.
		body := o.body[off : off+n]
		m.mu.Unlock()
		_, _ = w.Write(body)
		m.mu.Lock()
	}
}

// parseMemRange parses "bytes=a-b", "bytes=a-" and "bytes=-n" against
// size. valid is false for a malformed header; ok is false for a range
// that cannot be satisfied.
func parseMemRange(h string, size int64) (first, last int64, valid, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	a, b, dash := strings.Cut(spec, "-")
	if !found || !dash || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		return max(size-n, 0), size - 1, true, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, 0, false, false
	}
	last = size - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, 0, false, false
		}
		last = min(last, size-1)
	}
	if first >= size {
		return 0, 0, true, false
	}
	return first, last, true, true
}

func writeObjectHeaders(h http.Header, o *memObject) {
	for k, vv := range o.header {
		h[k] = append([]string(nil), vv...)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "binary/octet-stream")
	}
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
}

// preconditionsHold evaluates If-Match and If-None-Match of a write
// against the current object (nil: none).
func preconditionsHold(h http.Header, o *memObject) bool {
	if v := h.Get("If-None-Match"); v != "" && o != nil && (v == "*" || etagMatches(v, o.etag)) {
		return false
	}
	if v := h.Get("If-Match"); v != "" && (o == nil || !etagMatches(v, o.etag)) {
		return false
	}
	return true
}

func etagMatches(cond, etag string) bool {
	for _, c := range strings.Split(cond, ",") {
		c = strings.TrimSpace(c)
		if c == "*" || strings.Trim(c, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// getTagging answers GetObjectTagging with the tags the object was PUT with.
func (m *memS3) getTagging(w http.ResponseWriter, r *http.Request, bucket, object string) {
	o, ok := m.buckets[bucket][object]
	if !ok {
		memError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	type tag struct{ Key, Value string }
	doc := struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Tagging"`
		Tags    []tag    `xml:"TagSet>Tag"`
	}{}
	values, _ := url.ParseQuery(o.tags)
	for k := range values {
		doc.Tags = append(doc.Tags, tag{k, values.Get(k)})
	}
	writeMemXML(w, http.StatusOK, doc)
}

func storedHeader(in http.Header) http.Header {
	h := http.Header{}
	for _, k := range storedHeaders {
		if v := in.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	for k, vv := range in {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
			h[http.CanonicalHeaderKey(k)] = append([]string(nil), vv...)
		}
	}
	return h
}

func quotedMD5(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func (m *memS3) copyObject(w http.ResponseWriter, r *http.Request, bucket, object string) {
	src := m.copySource(w, r)
	if src == nil {
		return
	}
	var header http.Header
	switch r.Header.Get("X-Amz-Metadata-Directive") {
	case "", "COPY":
		if src == m.buckets[bucket][object] {
			memError(w, r, http.StatusBadRequest, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
			return
		}
		header = src.header.Clone()
	case "REPLACE":
		header = storedHeader(r.Header)
	default:
		memError(w, r, http.StatusBadRequest, "InvalidArgument", "Unknown metadata directive.")
		return
	}
	o := &memObject{body: append([]byte(nil), src.body...), header: header, etag: quotedMD5(src.body), modified: time.Now().UTC()}
	m.buckets[bucket][object] = o
	writeMemXML(w, http.StatusOK, struct {
		XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
		LastModified string
		ETag         string
	}{LastModified: o.modified.Format(time.RFC3339), ETag: o.etag})
}

func (m *memS3) createUpload(w http.ResponseWriter, r *http.Request, bucket, object string) {
	m.nextID++
	id := "upload-" + strconv.Itoa(m.nextID)
	m.uploads[id] = &memUpload{bucket: bucket, object: object, header: storedHeader(r.Header), parts: map[int]memPart{}}
	writeMemXML(w, http.StatusOK, struct {
		XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
		Bucket   string
		Key      string
		UploadId string
	}{Bucket: bucket, Key: object, UploadId: id})
}

func (m *memS3) upload(w http.ResponseWriter, r *http.Request, bucket, object, id string) *memUpload {
	u := m.uploads[id]
	if u == nil || u.bucket != bucket || u.object != object {
		memError(w, r, http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
		return nil
	}
	return u
}

func (m *memS3) uploadPart(w http.ResponseWriter, r *http.Request, bucket, object string, q url.Values, body []byte) {
	u := m.upload(w, r, bucket, object, q.Get("uploadId"))
	if u == nil {
		return
	}
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		memError(w, r, http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
		return
	}
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		m.uploadPartCopy(w, r, u, n)
		return
	}
	p := memPart{body: body, etag: quotedMD5(body)}
	u.parts[n] = p
	w.Header().Set("ETag", p.etag)
	w.WriteHeader(http.StatusOK)
}

func (m *memS3) uploadPartCopy(w http.ResponseWriter, r *http.Request, u *memUpload, n int) {
	src := m.copySource(w, r)
	if src == nil {
		return
	}
	data := src.body
	if rng := r.Header.Get("X-Amz-Copy-Source-Range"); rng != "" {
		a, b, valid, ok := parseMemRange(rng, int64(len(data)))
		if !valid || !ok {
			memError(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
			return
		}
		data = data[a : b+1]
	}
	p := memPart{body: append([]byte(nil), data...), etag: quotedMD5(data)}
	u.parts[n] = p
	writeMemXML(w, http.StatusOK, struct {
		XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
		LastModified string
		ETag         string
	}{LastModified: time.Now().UTC().Format(time.RFC3339), ETag: p.etag})
}

// copySource returns the object x-amz-copy-source names if it exists and
// meets x-amz-copy-source-if-match; otherwise it answers the error.
func (m *memS3) copySource(w http.ResponseWriter, r *http.Request) *memObject {
	raw, _, _ := strings.Cut(r.Header.Get("X-Amz-Copy-Source"), "?")
	p, err := url.PathUnescape(strings.TrimPrefix(raw, "/"))
	srcBucket, srcObject, ok := strings.Cut(p, "/")
	if err != nil || !ok {
		memError(w, r, http.StatusBadRequest, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
		return nil
	}
	objects, ok := m.buckets[srcBucket]
	if !ok {
		memError(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return nil
	}
	src, ok := objects[srcObject]
	if !ok {
		memError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return nil
	}
	if v := r.Header.Get("X-Amz-Copy-Source-If-Match"); v != "" && !etagMatches(v, src.etag) {
		memError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return nil
	}
	return src
}

func (m *memS3) listParts(w http.ResponseWriter, r *http.Request, bucket, object string, q url.Values) {
	u := m.upload(w, r, bucket, object, q.Get("uploadId"))
	if u == nil {
		return
	}
	maxParts := 1000
	if v := q.Get("max-parts"); v != "" {
		maxParts, _ = strconv.Atoi(v)
	}
	if m.MaxParts > 0 {
		maxParts = min(maxParts, m.MaxParts)
	}
	marker, _ := strconv.Atoi(q.Get("part-number-marker"))
	var numbers []int
	for n := range u.parts {
		if n > marker {
			numbers = append(numbers, n)
		}
	}
	sort.Ints(numbers)
	type part struct {
		PartNumber   int
		LastModified string
		ETag         string
		Size         int64
	}
	res := struct {
		XMLName              xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
		Bucket               string
		Key                  string
		UploadId             string
		PartNumberMarker     int
		NextPartNumberMarker int
		MaxParts             int
		IsTruncated          bool
		Parts                []part `xml:"Part"`
	}{Bucket: bucket, Key: object, UploadId: q.Get("uploadId"), PartNumberMarker: marker, MaxParts: maxParts}
	for i, n := range numbers {
		if i == maxParts {
			res.IsTruncated = true
			break
		}
		p := u.parts[n]
		res.Parts = append(res.Parts, part{PartNumber: n, LastModified: time.Now().UTC().Format(time.RFC3339), ETag: p.etag, Size: int64(len(p.body))})
		res.NextPartNumberMarker = n
	}
	writeMemXML(w, http.StatusOK, res)
}

func (m *memS3) completeUpload(w http.ResponseWriter, r *http.Request, bucket, object, id string, body []byte) {
	u := m.upload(w, r, bucket, object, id)
	if u == nil {
		return
	}
	if !preconditionsHold(r.Header, m.buckets[bucket][object]) {
		memError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return
	}
	var doc struct {
		Parts []struct {
			PartNumber int
			ETag       string
		} `xml:"Part"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Parts) == 0 {
		memError(w, r, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		return
	}
	minPart := m.MinPartSize
	if minPart == 0 {
		minPart = 5 << 20
	}
	var data []byte
	var sizes []int64
	sum := md5.New()
	prev := 0
	for i, p := range doc.Parts {
		if p.PartNumber <= prev {
			memError(w, r, http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order.")
			return
		}
		prev = p.PartNumber
		stored, ok := u.parts[p.PartNumber]
		if !ok || strings.Trim(stored.etag, `"`) != strings.Trim(p.ETag, `"`) {
			memError(w, r, http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found.")
			return
		}
		if i < len(doc.Parts)-1 && int64(len(stored.body)) < minPart {
			memError(w, r, http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
			return
		}
		raw, _ := hex.DecodeString(strings.Trim(stored.etag, `"`))
		sum.Write(raw)
		data = append(data, stored.body...)
		sizes = append(sizes, int64(len(stored.body)))
	}
	etag := `"` + hex.EncodeToString(sum.Sum(nil)) + "-" + strconv.Itoa(len(doc.Parts)) + `"`
	m.buckets[bucket][object] = &memObject{body: data, header: u.header, etag: etag, modified: time.Now().UTC(), partSizes: sizes}
	delete(m.uploads, id)
	writeMemXML(w, http.StatusOK, struct {
		XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
		Location string
		Bucket   string
		Key      string
		ETag     string
	}{Location: "http://memS3/" + bucket + "/" + object, Bucket: bucket, Key: object, ETag: etag})
}

func writeMemXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		panic(err)
	}
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// memError answers an S3 error document (headers only for HEAD).
func memError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	var b bytes.Buffer
	b.WriteString(xml.Header + "<Error><Code>" + code + "</Code><Message>")
	_ = xml.EscapeText(&b, []byte(message))
	b.WriteString("</Message><Resource>")
	_ = xml.EscapeText(&b, []byte(r.URL.Path))
	b.WriteString("</Resource><RequestId>" + w.Header().Get("X-Amz-Request-Id") + "</RequestId></Error>")
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

var _ http.Handler = (*memS3)(nil)
