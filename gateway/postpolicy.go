package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/gateway/sigv4"
)

// Browser-form POST uploads (AWS "Browser-Based Uploads Using POST (AWS
// Signature Version 4)"; what mc share upload and minio-go's
// PresignedPostPolicy produce): POST /bucket with a multipart/form-data
// body whose fields carry the object key, a base64 JSON policy, its SigV4
// signature (x-amz-algorithm, -credential, -date, -signature), optional
// headers and metadata, and last the file.
//
// The form is authenticated by the policy's signature (sigv4.VerifyPostForm),
// not by an Authorization header, so the route bypasses s.verify. Then the
// policy must hold: not expired, every condition met by the form, and every
// form field covered by a condition. Field names are case-insensitive.
//
// Where AWS and MinIO differ, s3seal follows MinIO, which is what mc and
// minio-go are tested against:
//
//   - the bucket named in the path counts as a form field, so a policy must
//     name it ({"bucket": ...}): a signed form is good for one bucket only;
//   - x-amz-server-side-encryption* and Content-Encoding fields need no
//     condition (minio-go's PostPolicy.SetEncryption adds none), nor do
//     x-ignore-* and x-amz-ignore-* fields (which are otherwise ignored; unlike
//     MinIO, X-Amz-Ignore-NAME does not exempt the field NAME);
//   - a condition on a field the form lacks holds if its value is empty.
//
// Every condition is checked, whatever field it names (MinIO checks only
// those on x-amz-* and a fixed list of fields). Checksum fields
// (x-amz-checksum-*) are refused: the gateway does not verify them.

// Limits of a form upload.
const (
	// maxPostFormFields bounds the bytes of the fields before the file,
	// names and values: they are held in memory.
	maxPostFormFields = 64 << 10
	// maxPostPreData bounds all bytes of the body before the file's
	// content (delimiters, part headers, skipped parts, fields): none of it
	// is authenticated until the policy signature in it is verified.
	maxPostPreData = 1 << 20
	// maxPostFormParts bounds the number of parts before the file.
	maxPostFormParts = 1000
	// maxPostObjectSize is the largest file a form may upload, as S3's
	// single PUT: a policy's content-length-range may only lower it.
	maxPostObjectSize = 5 << 30
)

// postForm is a form upload's fields before the file, by lower-case name,
// and the file part, positioned at the start of its content.
type postForm struct {
	fields   map[string]string
	file     *multipart.Part
	filename string // the file part's filename parameter, "" if none
}

// readPostForm reads r's multipart/form-data body up to the file part.
// Fields after the file are never read (S3 ignores them).
func readPostForm(r *http.Request) (*postForm, error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, s3err.New(s3err.MalformedPOSTRequest, "POST requires a multipart/form-data body with a boundary.")
	}
	pre := &preDataReader{r: r.Body, left: maxPostPreData}
	mr := multipart.NewReader(pre, params["boundary"])
	f := &postForm{fields: map[string]string{}}
	budget := int64(maxPostFormFields)
	for parts := 0; ; parts++ {
		if parts == maxPostFormParts {
			return nil, s3err.New(s3err.MaxPostPreDataLengthExceeded, "")
		}
		// NextRawPart: field values are taken as sent, with no
		// Content-Transfer-Encoding decoding.
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) && parts == 0 {
			// Not one part: no form at all, as MinIO answers.
			return nil, s3err.New(s3err.MalformedPOSTRequest, "")
		}
		if errors.Is(err, io.EOF) {
			return nil, s3err.New(s3err.InvalidArgument, "POST requires exactly one file upload per request.")
		}
		if errors.Is(err, errPreDataTooLong) {
			return nil, errPreDataTooLong
		}
		if err != nil {
			return nil, &s3err.Error{Code: s3err.MalformedPOSTRequest, Err: err}
		}
		name := strings.ToLower(part.FormName())
		if name == "" {
			continue
		}
		if name == "file" {
			pre.left = -1 // the file is bounded by the policy, once verified
			f.file, f.filename = part, part.FileName()
			return f, nil
		}
		budget -= int64(len(name))
		value, err := io.ReadAll(io.LimitReader(part, max(budget+1, 0)))
		if errors.Is(err, errPreDataTooLong) {
			return nil, errPreDataTooLong
		}
		if err != nil {
			return nil, &s3err.Error{Code: s3err.MalformedPOSTRequest, Err: err}
		}
		if budget -= int64(len(value)); budget < 0 {
			return nil, s3err.New(s3err.MaxPostPreDataLengthExceeded, "")
		}
		if _, dup := f.fields[name]; dup {
			return nil, s3err.New(s3err.MalformedPOSTRequest, "The form field %s appears more than once.", name)
		}
		f.fields[name] = string(value)
	}
}

var errPreDataTooLong = s3err.New(s3err.MaxPostPreDataLengthExceeded, "")

// preDataReader fails with errPreDataTooLong once more than left bytes
// were read; a negative left lifts the limit.
type preDataReader struct {
	r    io.Reader
	left int64
}

func (p *preDataReader) Read(b []byte) (int, error) {
	if p.left < 0 {
		return p.r.Read(b)
	}
	if p.left == 0 {
		return 0, errPreDataTooLong
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.left -= int64(n)
	return n, err
}

// postPolicy is a decoded POST policy document.
type postPolicy struct {
	expiration time.Time
	conditions []policyCondition
	// minSize and maxSize are the content-length-range, intersected if
	// there are several; maxSize is -1 without one.
	minSize, maxSize int64
}

// policyCondition is one eq or starts-with condition on a form field.
type policyCondition struct {
	op    string // "eq" or "starts-with"
	field string // lower-case form field name, without the '$'
	value string
}

func (c policyCondition) String() string {
	return fmt.Sprintf("[%q, %q, %q]", c.op, "$"+c.field, c.value)
}

// fieldsWithoutStartsWith are compared exactly: a prefix of a bucket name
// or of the signature's own parameters grants nothing a policy means.
var fieldsWithoutStartsWith = map[string]bool{"bucket": true, "x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true}

func invalidPolicy(format string, args ...any) error {
	return s3err.New(s3err.InvalidPolicyDocument, "Invalid Policy: "+format, args...)
}

// parsePostPolicy decodes a policy document:
//
//	{"expiration": "2030-01-01T00:00:00.000Z",
//	 "conditions": [{"bucket": "b"}, ["starts-with", "$key", "user/"],
//	                ["eq", "$x-amz-meta-a", "v"], ["content-length-range", 1, 1048576]]}
//
// Both members are required, other members and duplicates are refused.
// Errors are InvalidPolicyDocument.
func parsePostPolicy(doc []byte) (*postPolicy, error) {
	var top map[string]json.RawMessage
	if err := decodeNoDuplicates(doc, &top); err != nil {
		return nil, invalidPolicy("%v", err)
	}
	for k := range top {
		if k != "expiration" && k != "conditions" {
			return nil, invalidPolicy("Unexpected member %q.", k)
		}
	}
	p := &postPolicy{maxSize: -1}
	var exp string
	if err := json.Unmarshal(top["expiration"], &exp); err != nil || exp == "" {
		return nil, invalidPolicy("Policy missing expiration.")
	}
	t, err := time.Parse(time.RFC3339Nano, exp)
	if err != nil {
		return nil, invalidPolicy("Invalid 'expiration' value: %q.", exp)
	}
	p.expiration = t
	var conds []json.RawMessage
	if err := json.Unmarshal(top["conditions"], &conds); err != nil || conds == nil {
		return nil, invalidPolicy("Policy missing conditions.")
	}
	for _, raw := range conds {
		if err := p.addCondition(raw); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addCondition decodes one element of the conditions array.
func (p *postPolicy) addCondition(raw json.RawMessage) error {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return invalidPolicy("Invalid condition.")
	}
	switch trimmed[0] {
	case '{': // {"field": "value"}: exact match
		var m map[string]json.RawMessage
		if err := decodeNoDuplicates(raw, &m); err != nil || len(m) == 0 {
			return invalidPolicy("Invalid condition %s.", raw)
		}
		for k, v := range m {
			var value string
			if err := json.Unmarshal(v, &value); err != nil {
				return invalidPolicy("Invalid condition %s: values must be strings.", raw)
			}
			p.conditions = append(p.conditions, policyCondition{op: "eq", field: strings.ToLower(strings.TrimPrefix(k, "$")), value: value})
		}
		return nil
	case '[':
	default:
		return invalidPolicy("Invalid condition %s.", raw)
	}
	var elems []json.RawMessage
	var op string
	if err := json.Unmarshal(raw, &elems); err != nil || len(elems) != 3 || json.Unmarshal(elems[0], &op) != nil {
		return invalidPolicy("Invalid condition %s.", raw)
	}
	switch op = strings.ToLower(op); op {
	case "eq", "starts-with":
		var field, value string
		if json.Unmarshal(elems[1], &field) != nil || json.Unmarshal(elems[2], &value) != nil || !strings.HasPrefix(field, "$") {
			return invalidPolicy("Invalid condition %s.", raw)
		}
		p.conditions = append(p.conditions, policyCondition{op: op, field: strings.ToLower(field[1:]), value: value})
	case "content-length-range":
		lo, okLo := policyInteger(elems[1])
		hi, okHi := policyInteger(elems[2])
		if !okLo || !okHi || lo > hi {
			return invalidPolicy("Invalid content-length-range %s.", raw)
		}
		p.minSize = max(p.minSize, lo)
		if p.maxSize < 0 || hi < p.maxSize {
			p.maxSize = hi
		}
	default:
		return invalidPolicy("Unknown condition operator %q.", op)
	}
	return nil
}

// policyInteger reads a non-negative integer written as a JSON number or,
// as MinIO accepts, a string.
func policyInteger(raw json.RawMessage) (int64, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// decodeNoDuplicates decodes a JSON object into v, refusing duplicate
// member names (encoding/json keeps the last one silently, so a policy
// could say one thing to a reader and another to the gateway) and
// trailing data.
func decodeNoDuplicates(doc []byte, v *map[string]json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("invalid JSON")
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return errors.New("invalid JSON")
		}
		key, ok := t.(string)
		if !ok {
			return errors.New("invalid JSON")
		}
		if _, dup := m[key]; dup {
			return fmt.Errorf("duplicate member %q", key)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return errors.New("invalid JSON")
		}
		m[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return errors.New("invalid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the document")
	}
	*v = m
	return nil
}

// policyDenied is S3's answer to a form the policy does not allow.
func policyDenied(format string, args ...any) error {
	return s3err.New(s3err.AccessDenied, "Invalid according to Policy: "+format, args...)
}

// check enforces the policy on a form's fields (lower-case names; the
// bucket of the request path as "bucket", the key after ${filename}
// substitution) at time now. The file's size is checked as it streams.
func (p *postPolicy) check(fields map[string]string, now time.Time) error {
	if !now.Before(p.expiration) {
		return policyDenied("Policy expired.")
	}
	covered := map[string]bool{}
	for _, c := range p.conditions {
		got := fields[c.field]
		switch {
		case c.op == "starts-with" && fieldsWithoutStartsWith[c.field]:
			return policyDenied("Policy Condition failed: %s: %s must match exactly.", c, c.field)
		case c.op == "eq" && got != c.value, c.op == "starts-with" && !strings.HasPrefix(got, c.value):
			return policyDenied("Policy Condition failed: %s", c)
		}
		covered[c.field] = true
	}
	var extra []string
	for name := range fields {
		if !covered[name] && !exemptFromConditions(name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return policyDenied("Extra input fields: %s", strings.Join(extra, ", "))
	}
	return nil
}

// exemptFromConditions reports whether a form field may be sent without a
// policy condition naming it.
func exemptFromConditions(name string) bool {
	switch {
	case name == "policy", name == "x-amz-signature", name == "file", name == "content-encoding",
		name == "awsaccesskeyid", name == "signature", // Signature Version 2 forms
		strings.HasPrefix(name, "x-ignore-"), strings.HasPrefix(name, "x-amz-ignore-"),
		strings.HasPrefix(name, "x-amz-server-side-encryption"):
		return true
	}
	return false
}

// sizeLimits returns the file sizes the policy allows.
func (p *postPolicy) sizeLimits() (lo, hi int64) {
	hi = maxPostObjectSize
	if p.maxSize >= 0 {
		hi = min(hi, p.maxSize)
	}
	return p.minSize, hi
}

// handlePostPolicy serves browser-form uploads. They carry no
// Authorization header (the form's policy signature authenticates them),
// so unlike s.serve it does not call s.verify: postObject authenticates.
// It keeps what s.serve does for every operation: the request id, the
// readiness and system-bucket refusals, S3 XML errors and one log line.
func (s *Server) handlePostPolicy() http.Handler {
	return http.HandlerFunc(func(hw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req, w := begin(hw, "PostObject")
		req.bucket, _ = bucketObject(r)
		counted := &countingReader{r: r.Body}
		r.Body = counted
		err := func() error {
			if !s.ready.Load() {
				return s3err.New(s3err.ServiceUnavailable, "s3seal is starting: the backend or the KMS is not ready yet.")
			}
			if req.bucket == s.cfg.SystemBucket {
				return s3err.New(s3err.AccessDenied, "The bucket %s is reserved for s3seal.", req.bucket)
			}
			if err := s.refuseInsecureSSEC(r); err != nil {
				return err
			}
			return s.postObject(w, r, req)
		}()
		abort := false
		if err != nil {
			abort = s.writeError(w, r, req, err, s3err.WriteXML)
		}
		s.finish(w, r, req, start, counted)
		if abort {
			panic(http.ErrAbortHandler)
		}
	})
}

// postObject stores the file of a browser-form upload, encrypted as a
// PutObject with the form's SSE fields as headers would be.
//
// The encrypted backend PUT needs its size up front, and a form's file
// part has none until it ends. So the file is spooled to a temporary file
// (os.TempDir(), mode 0600, removed on every path) as DARE ciphertext,
// encrypted under a fresh object key while it is read: plaintext never
// touches the disk, and memory stays bounded. Only for an
// operator-configured plaintext bucket is the spooled data plaintext, as
// it will be on the backend. The temporary file is then PUT with its exact
// length; the backend never sees a partial object.
func (s *Server) postObject(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	form, err := readPostForm(r)
	if err != nil {
		return err
	}
	for name := range form.fields {
		if strings.HasPrefix(name, "x-amz-checksum-") {
			return s3err.New(s3err.NotImplemented, "Checksums are not supported in POST uploads.")
		}
	}
	fields := form.fields
	req.accessKey, err = s.verifier.VerifyPostForm(sigv4.PostForm{
		Algorithm:     fields["x-amz-algorithm"],
		Credential:    fields["x-amz-credential"],
		Date:          fields["x-amz-date"],
		Signature:     fields["x-amz-signature"],
		Policy:        fields["policy"],
		AccessKeyV2:   fields["awsaccesskeyid"],
		SignatureV2:   fields["signature"],
		SecurityToken: fields["x-amz-security-token"],
	})
	if err != nil {
		return err
	}
	req.sessionToken = fields["x-amz-security-token"]
	key, ok := fields["key"]
	if !ok {
		return s3err.New(s3err.InvalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	if form.filename != "" {
		key = strings.ReplaceAll(key, "${filename}", form.filename)
	}
	if key == "" {
		return s3err.New(s3err.InvalidArgument, "User key must have a length greater than 0.")
	}
	fields["key"] = key
	fields["bucket"] = req.bucket // the path's bucket, whatever the form says
	req.object = key
	// The form's SSE fields are the request's headers for the policy
	// conditions, as they are for the upload.
	for _, f := range []string{"x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"} {
		if v, ok := fields[f]; ok {
			r.Header.Set(f, v)
		}
	}
	if err := s.authorize(r, req, "PostObject"); err != nil {
		return err
	}
	doc, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		return invalidPolicy("Policy is not valid base64.")
	}
	policy, err := parsePostPolicy(doc)
	if err != nil {
		return err
	}
	if err := policy.check(fields, time.Now()); err != nil {
		return err
	}
	if err := checkNames(req.bucket, key, false); err != nil {
		return err
	}
	header, err := postObjectHeader(fields)
	if err != nil {
		return err
	}
	// requestedEncryption reads SSE request headers (and the connection's
	// TLS for SSE-C): give it the form's SSE fields as headers.
	sseHeader := http.Header{}
	for name, v := range fields {
		if strings.HasPrefix(name, "x-amz-server-side-encryption") {
			sseHeader.Set(name, v)
		}
	}
	enc, err := s.requestedEncryption(ctx, &http.Request{Header: sseHeader, TLS: r.TLS}, req.bucket)
	if err != nil {
		return err
	}
	var (
		objectKey *crypto.ObjectKey
		meta      *crypto.Metadata
	)
	if enc != nil {
		k, m, err := s.sealNewObject(ctx, enc, req.bucket, key)
		if err != nil {
			return err
		}
		objectKey, meta = &k, m
		for name, v := range meta.Encode() {
			header.Set(name, v)
		}
	}
	lo, hi := policy.sizeLimits()
	// The file is spooled before the backend request, so its MD5 (the
	// client ETag of an SSE-S3 object) is known in time to be sealed into
	// its metadata.
	var plainMD5 hash.Hash
	if s.wantsMD5ETag(enc, req.bucket, key) {
		plainMD5 = md5.New()
	}
	spool, size, err := spoolFormFile(form.file, objectKey, plainMD5, hi)
	if spool != nil {
		defer removeSpool(spool)
	}
	if err != nil {
		return err
	}
	if size < lo {
		return s3err.New(s3err.EntityTooSmall, "Your proposed upload is smaller than the minimum allowed size: %d bytes, the policy requires at least %d.", size, lo)
	}
	stored, err := spool.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("spool size: %w", err)
	}
	if want := crypto.EncryptedSize(size); objectKey != nil && stored != want {
		return fmt.Errorf("spooled %d bytes of ciphertext for %d bytes of plaintext, want %d", stored, size, want)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind spool: %w", err)
	}
	clientETag := ""
	if plainMD5 != nil {
		clientETag = hex.EncodeToString(plainMD5.Sum(nil))
		sealed, err := objectKey.SealValue(clientETagLabel, []byte(clientETag), nil)
		if err != nil {
			return err
		}
		header.Set(hdrClientETag, base64.StdEncoding.EncodeToString(sealed))
	}
	resp, err := s.backend.do(ctx, backendRequest{
		Method: http.MethodPut, Bucket: req.bucket, Object: key,
		Header: header, Body: onlyReader{spool}, Size: stored,
	})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return relay(w, r, resp)
	}
	if meta != nil {
		req.keyID, req.encrypted = meta.KeyID, true
	}
	if clientETag != "" {
		etag, err := s.recordClientETag(ctx, req.bucket, key, resp.Header.Get("ETag"), size, clientETag, true)
		if err != nil {
			return err
		}
		resp.Header.Set("ETag", etag)
	}
	return writePostResponse(w, r, resp, meta, req.bucket, key, fields)
}

// spoolFormFile copies the file part into a new temporary file, encrypted
// under key unless key is nil (and hashed into plainMD5 unless nil), refusing more than maxSize bytes of
// plaintext. It returns the file (nil if none was created; the caller
// removes it with removeSpool) and the plaintext size.
func spoolFormFile(file io.Reader, key *crypto.ObjectKey, plainMD5 hash.Hash, maxSize int64) (*os.File, int64, error) {
	spool, err := os.CreateTemp("", "s3seal-post-*")
	if err != nil {
		return nil, 0, fmt.Errorf("create spool file: %w", err)
	}
	src := &formFileReader{r: file, left: maxSize}
	var body io.Reader = src
	if plainMD5 != nil {
		body = io.TeeReader(src, plainMD5)
	}
	if key != nil {
		if body, err = crypto.EncryptReader(body, *key); err != nil {
			return spool, 0, err
		}
	}
	_, err = io.Copy(spool, body)
	switch {
	case src.err != nil:
		return spool, 0, src.err // the client's error, whatever DARE made of it
	case err != nil:
		return spool, 0, fmt.Errorf("spool form file: %w", err)
	}
	return spool, src.n, nil
}

func removeSpool(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// formFileReader reads a form's file part, counting its bytes and failing
// with EntityTooLarge beyond left. Its first error other than io.EOF is
// kept: it is the client's (a short or malformed body), not the spool's.
type formFileReader struct {
	r    io.Reader
	n    int64
	left int64
	err  error
}

func (f *formFileReader) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if int64(len(p)) > f.left+1 {
		p = p[:f.left+1] // one byte more tells "at the limit" from "beyond"
	}
	n, err := f.r.Read(p)
	if int64(n) > f.left {
		f.err = s3err.New(s3err.EntityTooLarge, "Your proposed upload exceeds the maximum allowed size: more than %d bytes.", f.n+f.left)
		return 0, f.err
	}
	f.n += int64(n)
	f.left -= int64(n)
	if err != nil && err != io.EOF {
		f.err = s3err.Wrap(s3err.IncompleteBody, err)
		return n, f.err
	}
	return n, err
}

// postHeaderFields are the form fields stored as the object's headers, as
// the same request headers of a PutObject would be.
var postHeaderFields = append([]string{
	"X-Amz-Storage-Class", "X-Amz-Object-Lock-Mode", "X-Amz-Object-Lock-Retain-Until-Date", "X-Amz-Object-Lock-Legal-Hold",
}, contentHeaders...)

// postObjectHeader returns the backend PUT headers a form asks for: the
// content headers, acl, user metadata and tags. SSE fields are the
// gateway's to act on and are not forwarded.
func postObjectHeader(fields map[string]string) (http.Header, error) {
	h := http.Header{}
	for _, name := range postHeaderFields {
		if v, ok := fields[strings.ToLower(name)]; ok {
			h.Set(name, v)
		}
	}
	if v, ok := fields["acl"]; ok {
		h.Set("X-Amz-Acl", v)
	}
	for name, v := range fields {
		if strings.HasPrefix(name, "x-amz-meta-") {
			h.Set(name, v)
		}
	}
	if err := rejectReservedMetadata(h); err != nil {
		return nil, err
	}
	if v := fields["tagging"]; v != "" {
		tags, err := parseFormTagging(v)
		if err != nil {
			return nil, err
		}
		h.Set("X-Amz-Tagging", tags)
	}
	return h, nil
}

// parseFormTagging turns a form's tagging field, an S3 Tagging document,
// into the X-Amz-Tagging header value.
func parseFormTagging(doc string) (string, error) {
	var t struct {
		XMLName xml.Name `xml:"Tagging"`
		Tags    []struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		} `xml:"TagSet>Tag"`
	}
	if err := xml.Unmarshal([]byte(doc), &t); err != nil {
		return "", s3err.New(s3err.MalformedXML, "")
	}
	q := url.Values{}
	for _, tag := range t.Tags {
		q.Add(tag.Key, tag.Value)
	}
	return q.Encode(), nil
}

// postResponse is the document success_action_status 201 answers with.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// writePostResponse answers a stored form upload as S3 does: a 303
// redirect to success_action_redirect (or the older redirect) with bucket,
// key and etag in its query, else success_action_status: 201 with a
// PostResponse document, 200 empty, or (the default, also for any other
// value) 204.
func writePostResponse(w http.ResponseWriter, r *http.Request, resp *http.Response, meta *crypto.Metadata, bucket, key string, fields map[string]string) error {
	etag := resp.Header.Get("ETag")
	h := w.Header()
	h.Set("ETag", etag)
	if v := resp.Header.Get("X-Amz-Version-Id"); v != "" {
		h.Set("X-Amz-Version-Id", v)
	}
	if meta != nil {
		setSSEHeaders(h, meta)
	}
	location := objectLocation(r, bucket, key)
	h.Set("Location", location)

	redirect := fields["success_action_redirect"]
	if redirect == "" {
		redirect = fields["redirect"]
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		q := u.Query()
		q.Set("bucket", bucket)
		q.Set("key", key)
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		h.Set("Location", u.String())
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	switch fields["success_action_status"] {
	case "201":
		body, err := xml.Marshal(postResponse{Location: location, Bucket: bucket, Key: key, ETag: etag})
		if err != nil {
			return err
		}
		h.Set("Content-Type", "application/xml")
		h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, xml.Header)
		_, _ = w.Write(body)
	case "200":
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// objectLocation is the URL of bucket/key at the endpoint the client used,
// in the addressing style it used.
func objectLocation(r *http.Request, bucket, key string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p := "/" + bucket + "/" + key
	if _, virtual := r.Context().Value(originalURLKey{}).(*url.URL); virtual {
		p = "/" + key
	}
	return scheme + "://" + r.Host + s3utils.EncodePath(p)
}
