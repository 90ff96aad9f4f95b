package test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsv4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/s3seal/s3seal/gateway"
	"github.com/s3seal/s3seal/test/harness"
)

// An errorFamily is a kind of mistake a request can make. Which families
// apply to an operation follows from its entry in the route table
// (errorFamilies), so a new route is tested for every mistake its
// properties allow without anyone listing it here.
type errorFamily string

const (
	famAuth            errorFamily = "auth"             // malformed, anonymous, skewed, expired or overlong presigned
	famInsecureSSEC    errorFamily = "insecure-sse-c"   // SSE-C headers (object or copy source) over plain http, on any route
	famMissingBucket   errorFamily = "missing-bucket"   // bucket and object routes
	famMissingObject   errorFamily = "missing-object"   // object routes that read or change an existing object
	famMissingVersion  errorFamily = "missing-version"  // object routes taking versionId
	famMissingUpload   errorFamily = "missing-upload"   // routes naming an uploadId
	famMalformedXML    errorFamily = "malformed-xml"    // routes taking an XML document
	famOversizedBody   errorFamily = "oversized-body"   // routes with a bounded body: maxBody + 1
	famContentMD5      errorFamily = "content-md5"      // routes taking a body: a mismatched and an invalid Content-MD5
	famRange           errorFamily = "range"            // routes reading Range
	famCopyRange       errorFamily = "copy-range"       // routes reading x-amz-copy-source-range on a part
	famConditional     errorFamily = "conditional"      // routes reading If-Match / If-None-Match (and dates, for reads)
	famCopyConditional errorFamily = "copy-conditional" // routes reading x-amz-copy-source-if-*
	famSSE             errorFamily = "sse"              // object routes that encrypt or decrypt: SSE header mistakes
	famPostForm        errorFamily = "post-form"        // browser form uploads
)

// genericOnly are the operations whose route properties give them no
// family beyond authentication, with the reason that is enough.
var genericOnly = map[string]string{
	"ListBuckets":        "no bucket, object, body or condition: its errors are authentication failures",
	"ListenNotification": "not served (501) once authenticated",
}

// errorDifferences are answers where s3seal deliberately differs from
// MinIO, keyed "Operation/case", "Operation/*" or "*/case", with the
// reason. A listed difference that no longer occurs fails the test, so the
// list stays true.
var errorDifferences = map[string]string{
	"*/auth malformed": "a malformed Credential in the Authorization header is AuthorizationHeaderMalformed, AWS's code; " +
		"MinIO answers with its query-string code, AuthorizationQueryParametersError",
	"*/Content-MD5 mismatch": "s3seal checks the Content-MD5 of every body before anything acts on it (400 BadDigest); " +
		"MinIO checks it only where it stores the body, and otherwise ignores it (200) or answers from the document",
	"DeleteObjects/Content-MD5 invalid":      "an unreadable Content-MD5 is 400 InvalidDigest (AWS) on every body; MinIO says MissingContentMD5 where it requires one",
	"PutBucketLifecycle/Content-MD5 invalid": "an unreadable Content-MD5 is 400 InvalidDigest (AWS) on every body; MinIO says MissingContentMD5 where it requires one",
	"*/body of maxBody+1 bytes": "s3seal refuses a body over the operation's limit before reading it (400 MaxMessageLengthExceeded, AWS's code); " +
		"MinIO reads it and answers from its parse (MalformedXML, PolicyTooLarge, InvalidRequest, 500 InternalError, …)",
	"GetObject/range start after end":  rangeEndsBeforeStart,
	"HeadObject/range start after end": rangeEndsBeforeStart,
	"HeadObject/range beyond the object": "HEAD errors have no body and s3seal sends them without Content-Type, as MinIO does for most; " +
		"MinIO's 416 carries the object's Content-Type",
	"HeadObject/part number beyond the parts": headContentType,
	"HeadObject/auth skewed":                  headContentType,
	"HeadBucket/auth skewed":                  headContentType,
	"GetBucketPolicyStatus/auth anonymous":    "MinIO refuses it 403 without an error document; s3seal sends its AccessDenied document",
	"GetBucketPolicyStatus/auth expired":      "MinIO refuses it 403 without an error document; s3seal sends its AccessDenied document",
	"PostObject/auth skewed": "a form upload is authenticated by its form's policy signature: s3seal reads no Authorization header on it " +
		"(MinIO's middleware refuses a skewed one before the form is read)",
	"PostObject/form without a file": "AWS's answer, 400 InvalidArgument \"POST requires exactly one file upload per request\"; MinIO says MalformedPOSTRequest",
}

const (
	rangeEndsBeforeStart = "on an encrypted object s3seal ignores a range that ends before it starts (RFC 9110 §14.1.1, as AWS does: 200 " +
		"with the object); MinIO answers 416, which s3seal relays for objects stored as they are"
	headContentType = "HEAD errors have no body and s3seal sends them without Content-Type, as MinIO does for most; " +
		"MinIO's time-skew middleware and part-number check send application/xml"
)

func init() {
	for op, reason := range routeDifferences {
		errorDifferences[op+"/*"] = reason
	}
	// MinIO's object ACL handlers name no Key in errors they answer
	// before authenticating.
	for _, op := range []string{"GetObjectAcl", "PutObjectAcl"} {
		for _, c := range []string{"auth anonymous", "auth expired", "auth overlong"} {
			errorDifferences[op+"/"+c] = "MinIO's object ACL handlers name no Key when they refuse a request's credentials; s3seal names it as for every object"
		}
	}
	errorDifferences["PutObjectAcl/Content-MD5 invalid"] = "MinIO's PutObjectAcl names no Key in its errors; s3seal names it as for every object"
}

// errorFamilies derives the families that apply to op from its route.
func errorFamilies(op gateway.Operation) []errorFamily {
	fams := []errorFamily{famAuth, famInsecureSSEC}
	if op.Header.Get("Content-Type") == "multipart/form-data; boundary=x" {
		return append(fams, famPostForm)
	}
	if op.Path == "root" {
		return fams
	}
	fams = append(fams, famMissingBucket)
	has := func(h string) bool { return slices.Contains(op.Headers, h) }
	query := func(k string) bool { return slices.Contains(op.Query, k) }
	copies := op.Header.Get("X-Amz-Copy-Source") != ""
	if op.Path == "object" {
		// A plain PUT or an upload's creation makes the object; everything
		// else reads or changes one that must exist (a copy: its source).
		creates := op.Method == http.MethodPut && len(op.Query) == 0 && !copies && op.MaxBody == -1 ||
			query("uploads")
		if !creates && !query("uploadId") {
			fams = append(fams, famMissingObject)
		}
		if slices.Contains(op.Params, "versionId") {
			fams = append(fams, famMissingVersion)
		}
		if creates || copies || has("range") || query("partNumber") {
			fams = append(fams, famSSE)
		}
	}
	if query("uploadId") {
		fams = append(fams, famMissingUpload)
	}
	if op.MaxBody > 0 {
		fams = append(fams, famMalformedXML, famOversizedBody)
	}
	if op.MaxBody != 0 {
		fams = append(fams, famContentMD5)
	}
	if has("range") {
		fams = append(fams, famRange)
	}
	if has("x-amz-copy-source-range") && query("partNumber") {
		fams = append(fams, famCopyRange)
	}
	if has("if-match") || has("if-none-match") {
		fams = append(fams, famConditional)
	}
	if has("x-amz-copy-source-if-*") {
		fams = append(fams, famCopyConditional)
	}
	return fams
}

// errSide is one place a request goes: MinIO directly, or s3seal, on a
// bucket prepared alike.
type errSide struct {
	name       string
	endpoint   string
	ak, sk     string
	bucket     string // holds "obj" and "cond" (errObjectSize bytes) and an upload of "mpu"
	etag       string // of obj, as this side reports it
	condETag   string // of cond, which only conditional writes use
	uploadID   string // of "mpu"
	missing    string // prefix of bucket names that do not exist
	encryption string // what the bucket does: "" or "SSE-KMS"
}

const errObjectSize = 1000

// errRequest is one request of a case, as built for a side.
type errRequest struct {
	method string
	bucket string // empty: the side's bucket; "-": none (the service)
	key    string
	query  string
	header http.Header
	body   []byte
	auth   string // "" signed; "anonymous", "malformed", "skewed", "expired", "overlong"
}

type errCase struct {
	op     gateway.Operation
	family errorFamily
	name   string
	build  func(s *errSide) errRequest
	// authOnly compares s3seal with MinIO only where MinIO refuses the
	// request as unauthenticated (MinIO answers some requests before it
	// authenticates them; s3seal never does).
	authOnly bool
}

func (c errCase) id() string { return c.op.Name + "/" + c.name }

// baseRequest is a well-formed request of op on the side's obj.
func baseRequest(op gateway.Operation, s *errSide, key string) errRequest {
	r := errRequest{method: op.Method, key: key, header: http.Header{}}
	if op.Path == "bucket" {
		r.key = ""
	}
	if op.Path == "root" {
		r.bucket, r.key = "-", ""
	}
	values := map[string]string{"partNumber": "1", "uploadId": s.uploadID, "list-type": "2", "select-type": "2", "lambdaArn": "arn:x"}
	var q []string
	for _, k := range op.Query {
		if v, ok := values[k]; ok {
			k += "=" + url.QueryEscape(v)
		}
		q = append(q, k)
	}
	r.query = strings.Join(q, "&")
	for k, v := range op.Header {
		r.header[k] = slices.Clone(v)
	}
	if r.header.Get("X-Amz-Copy-Source") != "" {
		r.header.Set("X-Amz-Copy-Source", "/"+s.bucket+"/obj")
		r.key = "w-" + op.Name // not onto itself
	}
	if slices.Contains(op.Query, "uploadId") {
		r.key = "mpu"
	}
	r.body = validBody(op)
	if len(r.body) > 0 {
		// As SDKs send it, and as MinIO requires it for some documents.
		r.header.Set("Content-Md5", md5Base64(r.body))
	}
	return r
}

// validBody is a well-formed body for op, so a case fails for its own
// mistake and not for a missing document.
func validBody(op gateway.Operation) []byte {
	switch {
	case op.MaxBody == -1:
		return bytes.Repeat([]byte("p"), 100)
	case op.MaxBody == 0:
		return nil
	}
	docs := map[string]string{
		"tagging":    `<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`,
		"legal-hold": `<LegalHold><Status>OFF</Status></LegalHold>`,
		"retention":  `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2100-01-01T00:00:00Z</RetainUntilDate></Retention>`,
		"restore":    `<RestoreRequest><Days>1</Days></RestoreRequest>`,
		"uploadId":   `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"0123456789abcdef0123456789abcdef"</ETag></Part></CompleteMultipartUpload>`,
		"delete":     `<Delete><Object><Key>nothing</Key></Object></Delete>`,
		"encryption": `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
		"versioning": `<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`,
	}
	for _, q := range op.Query {
		if d, ok := docs[q]; ok {
			return []byte(d)
		}
	}
	return []byte(`<Document/>`)
}

const (
	pastDate   = "Mon, 01 Jan 2001 00:00:00 GMT"
	futureDate = "Fri, 01 Jan 2100 00:00:00 GMT"
	otherETag  = `"0123456789abcdef0123456789abcdef"`
)

// errorCases generates the cases of every family of every operation.
func errorCases(t *testing.T) []errCase {
	var cases []errCase
	for _, op := range gateway.Operations() {
		fams := errorFamilies(op)
		if len(fams) == 2 { // authentication and SSE-C over plain http apply to every route
			if _, ok := genericOnly[op.Name]; !ok {
				t.Errorf("%s: its route gives it no error family beyond those of every route; give it one or list it in genericOnly with the reason", op.Name)
			}
		}
		add := func(f errorFamily, name string, build func(s *errSide) errRequest) {
			cases = append(cases, errCase{op: op, family: f, name: name, build: build, authOnly: f == famAuth})
		}
		with := func(mod func(r *errRequest, s *errSide)) func(s *errSide) errRequest {
			return func(s *errSide) errRequest {
				r := baseRequest(op, s, "obj")
				mod(&r, s)
				return r
			}
		}
		header := func(kv ...string) func(r *errRequest, s *errSide) {
			return func(r *errRequest, _ *errSide) {
				for i := 0; i < len(kv); i += 2 {
					r.header.Set(kv[i], kv[i+1])
				}
			}
		}
		// Writes go to a key of their own, so a write one side wrongly
		// accepts changes nothing another case reads.
		scratch := func(r *errRequest, name string) {
			if op.Path == "object" && (op.Method == http.MethodPut || op.Method == http.MethodPost) && !slices.Contains(op.Query, "uploadId") {
				r.key = "w-" + strings.ReplaceAll(op.Name+"-"+name, " ", "-")
			}
		}
		for _, f := range fams {
			switch f {
			case famAuth:
				for _, a := range []string{"anonymous", "malformed", "skewed", "expired", "overlong"} {
					add(f, "auth "+a, with(func(r *errRequest, _ *errSide) { r.auth = a; scratch(r, a) }))
				}
			case famInsecureSSEC:
				key := base64.StdEncoding.EncodeToString(make([]byte, 32))
				for _, prefix := range []string{"X-Amz-Server-Side-Encryption-Customer-", "X-Amz-Copy-Source-Server-Side-Encryption-Customer-"} {
					add(f, prefix+"* over plain http", with(func(r *errRequest, s *errSide) {
						header(prefix+"Algorithm", "AES256", prefix+"Key", key, prefix+"Key-Md5", md5Base64(make([]byte, 32)))(r, s)
						scratch(r, "ssec-"+prefix)
					}))
				}
			case famPostForm:
				add(f, "form without a file", with(func(r *errRequest, _ *errSide) {
					r.auth = "anonymous"
					r.body = []byte("--x\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nform-obj\r\n--x--\r\n")
				}))
				add(f, "form that is not multipart", with(func(r *errRequest, _ *errSide) {
					r.auth = "anonymous"
					r.body = []byte("not a form")
				}))
			case famMissingBucket:
				add(f, "missing bucket", with(func(r *errRequest, s *errSide) {
					r.bucket = s.missing + strings.ToLower(op.Name)
					if r.header.Get("X-Amz-Copy-Source") != "" {
						r.header.Set("X-Amz-Copy-Source", "/"+r.bucket+"/obj")
					}
				}))
			case famMissingObject:
				add(f, "missing object", with(func(r *errRequest, s *errSide) {
					if r.header.Get("X-Amz-Copy-Source") == "" {
						r.key = "no-such-key"
					} else {
						r.header.Set("X-Amz-Copy-Source", "/"+s.bucket+"/no-such-key")
					}
				}))
			case famMissingVersion:
				add(f, "missing version", with(func(r *errRequest, _ *errSide) {
					r.query = joinQuery(r.query, "versionId=0b2f1e3c-1d59-4f2e-9b8e-6c2d0f1a2b3c")
				}))
			case famMissingUpload:
				add(f, "missing upload", with(func(r *errRequest, s *errSide) {
					r.query = strings.Replace(r.query, "uploadId="+url.QueryEscape(s.uploadID), "uploadId=bm8tc3VjaC11cGxvYWQ", 1)
				}))
			case famMalformedXML:
				add(f, "malformed XML", with(func(r *errRequest, _ *errSide) {
					r.body = []byte("<Unclosed><Document>")
					r.header.Set("Content-Md5", md5Base64(r.body))
					scratch(r, "xml")
				}))
			case famOversizedBody:
				add(f, "body of maxBody+1 bytes", with(func(r *errRequest, _ *errSide) {
					r.body = bytes.Repeat([]byte(" "), int(op.MaxBody)+1)
					r.header.Set("Content-Md5", md5Base64(r.body))
					scratch(r, "oversized")
				}))
			case famContentMD5:
				add(f, "Content-MD5 mismatch", with(func(r *errRequest, _ *errSide) {
					sum := md5.Sum([]byte("something else"))
					r.header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
					scratch(r, "md5")
				}))
				add(f, "Content-MD5 invalid", with(func(r *errRequest, _ *errSide) {
					r.header.Set("Content-Md5", "not-an-md5")
					scratch(r, "md5-invalid")
				}))
			case famRange:
				add(f, "range beyond the object", with(header("Range", fmt.Sprintf("bytes=%d-", errObjectSize))))
				add(f, "range start after end", with(header("Range", "bytes=500-100")))
				add(f, "range not bytes", with(header("Range", "items=0-1")))
				add(f, "part number beyond the parts", with(func(r *errRequest, _ *errSide) { r.query = joinQuery(r.query, "partNumber=2") }))
			case famCopyRange:
				add(f, "copy range beyond the source", with(header("X-Amz-Copy-Source-Range", fmt.Sprintf("bytes=0-%d", errObjectSize))))
				add(f, "copy range malformed", with(header("X-Amz-Copy-Source-Range", "bytes=abc")))
				add(f, "copy range start after end", with(header("X-Amz-Copy-Source-Range", "bytes=10-5")))
			case famConditional:
				// Reads test obj; writes test cond, which only they use
				// (a copy, which MinIO lets write whatever its destination
				// conditions, keeps a key of its own).
				reads := op.Method == http.MethodGet || op.Method == http.MethodHead
				target := func(r *errRequest, s *errSide) string {
					switch {
					case reads || slices.Contains(op.Query, "uploadId"):
						return s.etag
					case r.header.Get("X-Amz-Copy-Source") == "":
						r.key = "cond"
					}
					return s.condETag
				}
				add(f, "If-Match another ETag", with(func(r *errRequest, s *errSide) { target(r, s); r.header.Set("If-Match", otherETag) }))
				add(f, "If-None-Match the ETag", with(func(r *errRequest, s *errSide) { r.header.Set("If-None-Match", target(r, s)) }))
				add(f, "If-None-Match *", with(func(r *errRequest, s *errSide) { target(r, s); r.header.Set("If-None-Match", "*") }))
				if reads {
					add(f, "If-Modified-Since the future", with(header("If-Modified-Since", futureDate)))
					add(f, "If-Unmodified-Since the past", with(header("If-Unmodified-Since", pastDate)))
					add(f, "If-Match and If-Unmodified-Since", with(func(r *errRequest, s *errSide) {
						r.header.Set("If-Match", s.etag)
						r.header.Set("If-Unmodified-Since", pastDate)
					}))
				}
			case famCopyConditional:
				add(f, "copy If-Match another ETag", with(header("X-Amz-Copy-Source-If-Match", otherETag)))
				add(f, "copy If-None-Match the ETag", with(func(r *errRequest, s *errSide) { r.header.Set("X-Amz-Copy-Source-If-None-Match", s.etag) }))
				add(f, "copy If-Modified-Since the future", with(header("X-Amz-Copy-Source-If-Modified-Since", futureDate)))
				add(f, "copy If-Unmodified-Since the past", with(header("X-Amz-Copy-Source-If-Unmodified-Since", pastDate)))
			case famSSE:
				sse := func(name string, kv ...string) {
					add(f, name, with(func(r *errRequest, s *errSide) {
						header(kv...)(r, s)
						scratch(r, name)
					}))
				}
				sse("SSE-KMS with an unknown key", "X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "no-such-kms-key")
				sse("SSE algorithm unknown", "X-Amz-Server-Side-Encryption", "AES257")
				sse("SSE-S3 header", "X-Amz-Server-Side-Encryption", "AES256")
				sse("SSE-KMS key without SSE-KMS", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "some-key")
			}
		}
	}
	return cases
}

func md5Base64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func joinQuery(q, kv string) string {
	if q == "" {
		return kv
	}
	return q + "&" + kv
}

// errAnswer is what a client can read from an answer.
type errAnswer struct {
	status      int
	code        string
	resource    string
	bucketName  string
	key         string
	bodyID      string // RequestId in the body
	headerID    string // x-amz-request-id
	contentType string
	lengthOK    bool // Content-Length, if sent, is the body's length
	sseHeaders  []string
	headerETag  string
	body        string
}

func (s *errSide) send(t *testing.T, client *http.Client, r errRequest) errAnswer {
	bucket := r.bucket
	if bucket == "" {
		bucket = s.bucket
	}
	target := "/"
	if bucket != "-" {
		target += bucket
		if r.key != "" {
			target += "/" + r.key
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), r.method, s.endpoint+target, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.RawQuery = r.query
	req.Header = r.header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	sum := sha256.Sum256(r.body)
	payload := hex.EncodeToString(sum[:])
	creds := aws.Credentials{AccessKeyID: s.ak, SecretAccessKey: s.sk}
	v4 := awsv4.NewSigner()
	now := time.Now()
	switch r.auth {
	case "", "skewed":
		if r.auth == "skewed" {
			now = now.Add(-time.Hour)
		}
		req.Header.Set("X-Amz-Content-Sha256", payload)
		if err := v4.SignHTTP(t.Context(), creds, req, payload, "s3", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
	case "anonymous":
	case "malformed":
		req.Header.Set("X-Amz-Content-Sha256", payload)
		req.Header.Set("X-Amz-Date", now.UTC().Format("20060102T150405Z"))
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+s.ak+"/garbage, SignedHeaders=host, Signature=00")
	case "expired", "overlong":
		expires := "604801"
		if r.auth == "expired" {
			expires, now = "60", now.Add(-time.Hour)
		}
		req.URL.RawQuery = joinQuery(req.URL.RawQuery, "X-Amz-Expires="+expires)
		signed, h, err := v4.PresignHTTP(t.Context(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", now)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(signed)
		if err != nil {
			t.Fatal(err)
		}
		req.URL = u
		for k, v := range h {
			req.Header[k] = v
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", s.name, target, err)
		return errAnswer{status: -1}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var doc struct {
		Code, Resource, BucketName, Key, RequestId string
	}
	_ = xml.Unmarshal(body, &doc)
	a := errAnswer{
		status: resp.StatusCode, code: doc.Code, resource: doc.Resource, bucketName: doc.BucketName, key: doc.Key,
		bodyID: doc.RequestId, headerID: resp.Header.Get("X-Amz-Request-Id"), contentType: resp.Header.Get("Content-Type"),
		lengthOK: resp.ContentLength < 0 || r.method == http.MethodHead || resp.ContentLength == int64(len(body)),
		body:     string(body), headerETag: resp.Header.Get("ETag"),
	}
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-server-side-encryption") {
			a.sseHeaders = append(a.sseHeaders, k)
		}
	}
	sort.Strings(a.sseHeaders)
	return a
}

// TestEveryRouteErrorAnswersAsMinIO sends every case of every error family
// of every operation (errorCases, generated from gateway.Operations) to
// MinIO directly and through s3seal in front of the same MinIO: on a
// plaintext bucket, and on a bucket whose default is SSE-KMS, compared
// with MinIO's answer on the plaintext one (what s3seal's client would
// get from a MinIO storing plaintext). It compares status, Code, the
// body's Resource, BucketName and Key, the Content-Type, that the body's
// RequestId is the x-amz-request-id header and Content-Length is the
// body's, and that no SSE header comes with an error MinIO sends without
// one. Each request id s3seal answers with must be in its audit log with
// the same status.
func TestEveryRouteErrorAnswersAsMinIO(t *testing.T) {
	start := time.Now()
	backend := harness.StartMinIO(t, harness.WithMinIOEnv("MINIO_KMS_SECRET_KEY", "errors-key:"+base64.StdEncoding.EncodeToString(make([]byte, 32))))
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	// Each side has a bucket of its own, so what a request changes on one
	// side changes nothing the other sees.
	const direct, plain, sealed, kmsKey = "errs-direct", "errs-plain", "errs-sealed", "errors-tenant"
	gw := harness.StartGateway(t, backend, harness.WithPlaintextBuckets(plain), harness.WithGatewayEnv("S3SEAL_AUDIT_LOG", auditPath))
	gw.CreateKMSKey(t, kmsKey)

	oracle := &errSide{name: "MinIO", endpoint: backend.Endpoint, ak: backend.AccessKey, sk: backend.SecretKey, bucket: direct, missing: "nob-o-"}
	gwPlain := &errSide{name: "s3seal", endpoint: gw.Endpoint, ak: gw.AccessKey, sk: gw.SecretKey, bucket: plain, missing: "nob-g-"}
	gwSealed := &errSide{name: "s3seal SSE-KMS", endpoint: gw.Endpoint, ak: gw.AccessKey, sk: gw.SecretKey, bucket: sealed, missing: "nob-e-", encryption: "SSE-KMS"}
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	setup := func(s *errSide, r errRequest, want int) errAnswer {
		a := s.send(t, client, r)
		if a.status != want {
			t.Fatalf("%s: setup %s %s?%s: %d %s, want %d", s.name, r.method, r.key, r.query, a.status, a.body, want)
		}
		return a
	}
	setup(oracle, errRequest{method: http.MethodPut, key: ""}, 200)
	setup(gwPlain, errRequest{method: http.MethodPut, key: ""}, 200)
	setup(gwSealed, errRequest{method: http.MethodPut, key: ""}, 200)
	setup(gwSealed, errRequest{method: http.MethodPut, query: "encryption", body: []byte(`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>` +
		`<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>` + kmsKey + `</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`)}, 200)
	data := bytes.Repeat([]byte("0123456789"), errObjectSize/10)
	setup(oracle, errRequest{method: http.MethodPut, key: "obj", body: data}, 200)
	setup(gwPlain, errRequest{method: http.MethodPut, key: "obj", body: data}, 200)
	setup(gwSealed, errRequest{method: http.MethodPut, key: "obj", body: data}, 200)
	for _, s := range []*errSide{oracle, gwPlain, gwSealed} {
		s.condETag = setup(s, errRequest{method: http.MethodPut, key: "cond", body: data}, 200).headerETag
		s.etag = setup(s, errRequest{method: http.MethodHead, key: "obj"}, 200).headerETag
		var doc struct{ UploadId string }
		up := setup(s, errRequest{method: http.MethodPost, key: "mpu", query: "uploads"}, 200)
		if err := xml.Unmarshal([]byte(up.body), &doc); err != nil || doc.UploadId == "" {
			t.Fatalf("%s: CreateMultipartUpload: %q (%v)", s.name, up.body, err)
		}
		s.uploadID = doc.UploadId
	}

	cases := errorCases(t)
	type result struct {
		c       errCase
		answers [3]errAnswer // oracle, gwPlain, gwSealed
	}
	results := make([]result, len(cases))
	run := func(i int) {
		c := cases[i]
		results[i].c = c
		for j, s := range []*errSide{oracle, gwPlain, gwSealed} {
			if j == 2 && c.family == famAuth {
				continue // authentication comes before any bucket
			}
			results[i].answers[j] = s.send(t, client, c.build(s))
		}
	}
	// Cases that could end the object or the upload others use run last,
	// one at a time; the rest in parallel.
	var wg sync.WaitGroup
	work := make(chan int)
	for range 6 {
		wg.Go(func() {
			for i := range work {
				run(i)
			}
		})
	}
	var last []int
	for i, c := range cases {
		if ends(c.op) {
			last = append(last, i)
			continue
		}
		work <- i
	}
	close(work)
	wg.Wait()
	for _, i := range last {
		run(i)
	}

	used := map[string]bool{}
	deliberate := func(c errCase) (string, bool) {
		for _, k := range []string{c.id(), c.op.Name + "/*", "*/" + c.name} {
			if reason, ok := errorDifferences[k]; ok {
				used[k] = true
				return reason, true
			}
		}
		return "", false
	}
	var gwAnswers []errAnswer
	byFamily := map[errorFamily]int{}
	for _, r := range results {
		want := r.answers[0]
		byFamily[r.c.family]++
		for j, s := range []*errSide{gwPlain, gwSealed} {
			got := r.answers[j+1]
			if got.status == 0 {
				continue
			}
			gwAnswers = append(gwAnswers, got)
			what := fmt.Sprintf("%s (%s)", r.c.id(), s.name)
			checkOwnAnswer(t, what, got)
			diffs := compareErrAnswers(oracle, s, want, got)
			if len(diffs) == 0 {
				continue
			}
			if r.c.authOnly && !isAuthRefusal(want) {
				if got.status < 400 {
					t.Errorf("%s: s3seal %d, want a refusal (MinIO answers %d %s before authenticating)", what, got.status, want.status, want.code)
				}
				continue
			}
			if reason, ok := deliberate(r.c); ok {
				t.Logf("%s: %s — by design: %s", what, strings.Join(diffs, "; "), reason)
				continue
			}
			t.Errorf("%s: %s", what, strings.Join(diffs, "; "))
		}
	}
	// Requests refused before any route: a parameter twice, a method S3
	// does not have.
	for _, extra := range []errRequest{
		{method: http.MethodPut, key: "mpu", query: "partNumber=1&uploadId=a&uploadId=b", body: []byte("x")},
		{method: http.MethodPatch, key: "obj"},
	} {
		want, got := oracle.send(t, client, extra), gwPlain.send(t, client, extra)
		what := fmt.Sprintf("%s /{bucket}/%s?%s", extra.method, extra.key, extra.query)
		checkOwnAnswer(t, what, got)
		gwAnswers = append(gwAnswers, got)
		if want.status != got.status || want.code != got.code {
			t.Logf("%s: MinIO %d %s, s3seal %d %s", what, want.status, want.code, got.status, got.code)
		}
		if got.status < 400 {
			t.Errorf("%s: s3seal %d, want a refusal", what, got.status)
		}
	}
	// s3seal's KMS admin API answers MinIO's JSON error documents: a
	// missing key (from the KMS) and a missing parameter.
	for _, admin := range []errRequest{
		{method: http.MethodGet, bucket: "minio", key: "kms/v1/key/status", query: "key-id=no-such-kms-key"},
		{method: http.MethodPost, bucket: "minio", key: "kms/v1/key/create"},
	} {
		got := gwPlain.send(t, client, admin)
		var doc struct{ Code, RequestId string }
		if err := json.Unmarshal([]byte(got.body), &doc); err != nil || doc.Code == "" {
			t.Errorf("%s /minio/%s: %d %q, want a JSON error document", admin.method, admin.key, got.status, got.body)
		}
		if doc.RequestId != got.headerID || got.headerID == "" {
			t.Errorf("%s /minio/%s: RequestId %q in the body, %q in x-amz-request-id", admin.method, admin.key, doc.RequestId, got.headerID)
		}
		gwAnswers = append(gwAnswers, got)
	}
	for k := range errorDifferences {
		if !used[k] {
			t.Errorf("errorDifferences lists %q, which no longer differs: remove it", k)
		}
	}
	t.Logf("%d cases over %d operations (%v), %d requests, %v", len(cases), len(gateway.Operations()), byFamily, 2*len(cases)+len(gwAnswers)/2, time.Since(start).Round(time.Millisecond))

	// Every answer s3seal gave has its line in the audit log, under the
	// request id the client saw, with the status it saw.
	gw.Stop(t)
	audited := map[string]int{}
	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
		var rec struct {
			RequestID string `json:"request_id"`
			Status    int    `json:"status"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		audited[rec.RequestID] = rec.Status
	}
	for _, a := range gwAnswers {
		if status, ok := audited[a.headerID]; !ok || status != a.status {
			t.Errorf("request %s answered %d %s: audit log has status %d (logged: %v)", a.headerID, a.status, a.code, status, ok)
		}
	}
}

// ends reports operations that can delete the object or end the upload
// the cases share.
func ends(op gateway.Operation) bool {
	return op.Path == "object" && op.Method == http.MethodDelete || slices.Contains(op.Query, "uploadId") && op.Method == http.MethodPost
}

// checkOwnAnswer checks what holds for any s3seal answer: a request id,
// the same one in an error body, a Content-Length that is the body's.
func checkOwnAnswer(t *testing.T, what string, a errAnswer) {
	t.Helper()
	if a.headerID == "" {
		t.Errorf("%s: no x-amz-request-id", what)
	}
	if a.code != "" && a.bodyID != a.headerID {
		t.Errorf("%s: RequestId %q in the body, %q in x-amz-request-id", what, a.bodyID, a.headerID)
	}
	if !a.lengthOK {
		t.Errorf("%s: Content-Length is not the body's length", what)
	}
}

// compareErrAnswers lists how got (from side s) differs from want (from
// the oracle), with each side's bucket name read as the same.
func compareErrAnswers(oracle, s *errSide, want, got errAnswer) []string {
	norm := func(v string, side *errSide) string {
		v = strings.ReplaceAll(v, side.missing, "{missing}")
		return strings.ReplaceAll(v, side.bucket, "{bucket}")
	}
	var diffs []string
	cmp := func(field, w, g string) {
		if norm(w, oracle) != norm(g, s) {
			diffs = append(diffs, fmt.Sprintf("%s: MinIO %q, s3seal %q", field, w, g))
		}
	}
	if want.status != got.status || want.code != got.code {
		return []string{fmt.Sprintf("MinIO %d %s, s3seal %d %s", want.status, want.code, got.status, got.code)}
	}
	if want.status < 300 || want.status == http.StatusNotModified {
		return nil
	}
	cmp("Resource", want.resource, got.resource)
	cmp("BucketName", want.bucketName, got.bucketName)
	cmp("Key", want.key, got.key)
	cmp("Content-Type", want.contentType, got.contentType)
	cmp("SSE headers", strings.Join(want.sseHeaders, ","), strings.Join(got.sseHeaders, ","))
	return diffs
}

// isAuthRefusal reports an answer that refuses a request's credentials.
func isAuthRefusal(a errAnswer) bool {
	switch a.code {
	case "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "AuthorizationHeaderMalformed",
		"AuthorizationQueryParametersError", "RequestTimeTooSkewed", "ExpiredToken", "MissingSecurityHeader", "ExpiredPresignRequest":
		return true
	}
	return a.status == http.StatusForbidden
}
