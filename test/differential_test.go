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
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// diffKey is the one KMS key both sides know: MinIO's static key and a key
// created in s3seal with `mc admin kms key create`.
const diffKey = "difftest-key"

// diffKeyARN is how both sides name diffKey in responses.
const diffKeyARN = "arn:aws:kms:" + diffKey

// TestDifferential runs the same requests against MinIO with its own
// SSE-KMS (the oracle: MINIO_KMS_SECRET_KEY with one static key) and
// against s3seal in front of a plain MinIO, with aws-sdk-go-v2 and mc, and
// compares what the clients see: statuses, error codes, SSE response
// headers, Content-Length, Content-Range and bodies. Finally it reads
// s3seal's backend directly to prove everything there is ciphertext.
//
// Differences by design, asserted on each side rather than compared:
//   - A write without SSE headers into a bucket without default encryption
//     is SSE-S3 in s3seal (AES256) and unencrypted in MinIO (no header).
//     MinIO's MINIO_KMS_AUTO_ENCRYPTION=on does not close the gap: it
//     applies SSE-KMS with the default key (BucketSSEConfig.Apply), not
//     SSE-S3, so the oracle runs without it.
//   - CreateMultipartUpload and CompleteMultipartUpload: s3seal answers
//     with the SSE headers as AWS S3 does; MinIO sends them only on
//     UploadPart.
//   - A suffix range ("bytes=-100") of an empty object: s3seal answers 200
//     with the empty object as S3 does; MinIO answers 206 with the
//     impossible "Content-Range: bytes 0--1/0".
//
// Fields not compared: ETag values (s3seal's is the backend's ETag of the
// ciphertext; only the form, 32 hex or 32 hex-N, is compared), error
// messages and other error-body details, the Content-Range s3seal adds to a
// 416 (RFC 9110's "bytes */SIZE", checked on its own), and the length of
// the ?encryption XML (s3seal prepends an XML declaration; the parsed rules
// are compared).
func TestDifferential(t *testing.T) {
	t.Parallel()
	e := newDiffEnv(t)

	t.Run("cases", func(t *testing.T) {
		groups := []struct {
			name string
			run  func(*testing.T, *diffEnv)
		}{
			{"object SSE headers", diffObjectSSE},
			{"bucket default encryption", diffBucketEncryption},
			{"HEAD GET and ranges", diffRanges},
			{"errors", diffErrors},
			{"multipart upload", diffMultipart},
			{"checksums", diffChecksums},
			{"multipart checksums and part ETags", diffMultipartChecksums},
			{"mc", diffMC},
			{"MinIO auto-encryption is SSE-KMS, not SSE-S3", diffAutoEncryption},
		}
		for _, g := range groups {
			t.Run(g.name, func(t *testing.T) {
				t.Parallel()
				g.run(t, e)
			})
		}
	})

	t.Run("s3seal backend holds only DARE ciphertext", func(t *testing.T) {
		diffCheckBackend(t, e)
	})
}

// diffSide is one of the two endpoints compared.
type diffSide struct {
	name      string // "MinIO" (the oracle) or "s3seal"
	endpoint  string
	accessKey string
	secretKey string
	alias     string // mc alias
	s3        *s3.Client
	env       *diffEnv
}

// diffEnv is the oracle, s3seal, and what was written through s3seal.
type diffEnv struct {
	oracle, gw *diffSide
	gwBackend  *minio.Client // s3seal's backend, bypassing s3seal
	mc         *harness.MCClient

	mu      sync.Mutex
	written map[string][]byte // "bucket/key" → plaintext last written through s3seal
}

func newDiffEnv(t *testing.T) *diffEnv {
	t.Helper()
	secret := base64.StdEncoding.EncodeToString(harness.RandomBytes(t, 32))
	oracle := harness.StartMinIO(t, harness.WithMinIOEnv("MINIO_KMS_SECRET_KEY", diffKey+":"+secret))
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)

	e := &diffEnv{gwBackend: backend.Client(t), mc: harness.MC(t, t.TempDir()), written: map[string][]byte{}}
	e.oracle = &diffSide{name: "MinIO", endpoint: oracle.Endpoint, accessKey: oracle.AccessKey, secretKey: oracle.SecretKey, alias: "oracle", env: e}
	e.gw = &diffSide{name: "s3seal", endpoint: gw.Endpoint, accessKey: gw.AccessKey, secretKey: gw.SecretKey, alias: "gw", env: e}
	for _, s := range e.sides() {
		s.s3 = harness.S3Client(s.endpoint, s.accessKey, s.secretKey)
		e.mc.AliasSet(t, s.alias, s.endpoint, s.accessKey, s.secretKey)
	}
	e.mc.Must(t, "admin", "kms", "key", "create", e.gw.alias, diffKey)
	return e
}

func (e *diffEnv) sides() []*diffSide { return []*diffSide{e.oracle, e.gw} }

// wrote records plaintext written to bucket/key through s3seal.
func (s *diffSide) wrote(bucket, key string, plaintext []byte) {
	if s.env == nil || s != s.env.gw {
		return
	}
	s.env.mu.Lock()
	defer s.env.mu.Unlock()
	s.env.written[bucket+"/"+key] = plaintext
}

// createBucket creates bucket on both sides.
func (e *diffEnv) createBucket(t *testing.T, bucket string) {
	t.Helper()
	for _, s := range e.sides() {
		if _, err := s.s3.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("%s: CreateBucket %s: %v", s.name, bucket, err)
		}
	}
}

// diffResponse is what a side answered to one request.
type diffResponse struct {
	Status  int
	Code    string // S3 error code; "" when the request succeeded
	Header  http.Header
	Length  int64  // Content-Length, -1 when unknown
	Body    []byte // the object data of a successful GetObject
	ReadErr string // reading (and checksum-validating) the body failed
}

// diffRecorder is an SDK HTTP client that keeps the last response, so that
// every header can be compared, not only those the SDK parses.
type diffRecorder struct {
	resp *http.Response
}

var diffHTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

func (r *diffRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := diffHTTPClient.Do(req)
	if err == nil {
		r.resp = resp
	}
	return resp, err
}

// diffSDK returns the per-operation options that route one call through a new
// recorder without retries, plus extra headers to send.
func diffSDK(extraHeaders ...string) (*diffRecorder, []func(*s3.Options)) {
	rec := &diffRecorder{}
	opts := []func(*s3.Options){func(o *s3.Options) {
		o.HTTPClient = rec
		o.RetryMaxAttempts = 1
	}}
	for i := 0; i+1 < len(extraHeaders); i += 2 {
		opts = append(opts, s3.WithAPIOptions(smithyhttp.AddHeaderValue(extraHeaders[i], extraHeaders[i+1])))
	}
	return rec, opts
}

// response turns a recorded SDK call into a diffResponse; body, if not nil,
// is read to the end.
func (r *diffRecorder) response(t *testing.T, err error, body io.ReadCloser) diffResponse {
	t.Helper()
	if r.resp == nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	d := diffResponse{Status: r.resp.StatusCode, Header: r.resp.Header, Length: r.resp.ContentLength, Code: apiErrorCode(err)}
	if err != nil && d.Code == "" {
		t.Fatalf("request failed without an S3 error: %v", err)
	}
	if body != nil {
		defer body.Close()
		b, err := io.ReadAll(body)
		if err != nil {
			d.ReadErr = err.Error()
		}
		d.Body = b
	}
	return d
}

// raw sends a SigV4-signed request the SDK cannot produce (e.g. a malformed
// XML body) and returns the answer.
func (s *diffSide) raw(t *testing.T, method, path string, body []byte, header http.Header) diffResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	sum := md5.Sum(body)
	req.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	payloadHash := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(payloadHash[:]))
	creds := aws.Credentials{AccessKeyID: s.accessKey, SecretAccessKey: s.secretKey}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(payloadHash[:]), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatalf("sign: %v", err)
	}
	resp, err := diffHTTPClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", s.name, method, path, err)
	}
	defer resp.Body.Close()
	b := readAllOrFatal(t, path, resp.Body)
	var e s3Error
	if resp.StatusCode >= 300 {
		_ = xml.Unmarshal(b, &e)
	}
	return diffResponse{Status: resp.StatusCode, Code: e.Code, Header: resp.Header, Length: resp.ContentLength, Body: b}
}

// put runs PutObject; mod adjusts the input.
func (s *diffSide) put(t *testing.T, bucket, key string, data []byte, mod func(*s3.PutObjectInput), extraHeaders ...string) diffResponse {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}
	if mod != nil {
		mod(in)
	}
	rec, opts := diffSDK(extraHeaders...)
	_, err := s.s3.PutObject(t.Context(), in, opts...)
	if err == nil {
		s.wrote(bucket, key, data)
	}
	return rec.response(t, err, nil)
}

// get runs GetObject with checksum validation on; rng may be empty.
func (s *diffSide) get(t *testing.T, bucket, key, rng string, extraHeaders ...string) diffResponse {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	rec, opts := diffSDK(extraHeaders...)
	out, err := s.s3.GetObject(t.Context(), in, opts...)
	var body io.ReadCloser
	if err == nil {
		body = out.Body
	}
	return rec.response(t, err, body)
}

// getPart runs GetObject ?partNumber=part.
func (s *diffSide) getPart(t *testing.T, bucket, key string, part int32) diffResponse {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), PartNumber: aws.Int32(part), ChecksumMode: types.ChecksumModeEnabled}
	rec, opts := diffSDK()
	out, err := s.s3.GetObject(t.Context(), in, opts...)
	var body io.ReadCloser
	if err == nil {
		body = out.Body
	}
	return rec.response(t, err, body)
}

// head runs HeadObject; part 0 means the whole object.
func (s *diffSide) head(t *testing.T, bucket, key string, part int32, extraHeaders ...string) diffResponse {
	t.Helper()
	in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if part > 0 {
		in.PartNumber = aws.Int32(part)
	}
	rec, opts := diffSDK(extraHeaders...)
	_, err := s.s3.HeadObject(t.Context(), in, opts...)
	return rec.response(t, err, nil)
}

// Response fields compared by diffCompare; a case may leave some out.
const (
	dfStatus        = "status"
	dfCode          = "error code"
	dfSSE           = "x-amz-server-side-encryption"
	dfKeyID         = "x-amz-server-side-encryption-aws-kms-key-id"
	dfContext       = "x-amz-server-side-encryption-context (decoded JSON)"
	dfBucketKey     = "x-amz-server-side-encryption-bucket-key-enabled"
	dfLength        = "Content-Length"
	dfRange         = "Content-Range"
	dfPartsCount    = "x-amz-mp-parts-count"
	dfBody          = "body"
	dfETagForm      = "ETag form"
	dfBodyReadError = "body read error"
	dfChecksums     = "x-amz-checksum-* headers"
)

// diffFields extracts the compared fields of a response.
func diffFields(t *testing.T, r diffResponse) map[string]string {
	t.Helper()
	f := map[string]string{
		dfStatus:        strconv.Itoa(r.Status),
		dfCode:          r.Code,
		dfSSE:           diffHeader(r.Header, "X-Amz-Server-Side-Encryption"),
		dfKeyID:         diffHeader(r.Header, "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"),
		dfContext:       diffDecodedContext(r.Header),
		dfBucketKey:     diffHeader(r.Header, "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"),
		dfPartsCount:    diffHeader(r.Header, "X-Amz-Mp-Parts-Count"),
		dfChecksums:     diffChecksumHeaders(r.Header),
		dfBodyReadError: r.ReadErr,
	}
	if r.Status != http.StatusRequestedRangeNotSatisfiable {
		f[dfRange] = diffHeader(r.Header, "Content-Range")
	}
	// Error bodies carry messages, request ids and resources that differ.
	if r.Status < 300 {
		f[dfLength] = strconv.FormatInt(r.Length, 10)
		f[dfETagForm] = mcflowETagForm(r.Header.Get("Etag"))
		if r.Body != nil {
			f[dfBody] = fmt.Sprintf("%d bytes, sha256 %s", len(r.Body), harness.SHA256Hex(r.Body))
		}
	}
	return f
}

// diffChecksumHeaders lists the x-amz-checksum-* response headers: neither side
// may return a checksum other than the plaintext's, and the SDK validates
// any it gets.
func diffChecksumHeaders(h http.Header) string {
	var out []string
	for k, v := range h {
		if strings.HasPrefix(k, "X-Amz-Checksum") {
			out = append(out, k+"="+strings.Join(v, ","))
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func diffHeader(h http.Header, name string) string {
	if vs, ok := h[http.CanonicalHeaderKey(name)]; ok {
		return strings.Join(vs, ",")
	}
	return "(absent)"
}

// diffDecodedContext returns the encryption context header as canonical JSON,
// so that two encodings of the same context compare equal.
func diffDecodedContext(h http.Header) string {
	v := diffHeader(h, "X-Amz-Server-Side-Encryption-Context")
	if v == "(absent)" {
		return v
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "not base64: " + v
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return "not a JSON object: " + string(raw)
	}
	canonical, _ := json.Marshal(m) // sorts the keys
	return string(canonical)
}

// diffCompare fails for every compared field in which s3seal's answer
// differs from MinIO's. Checksum headers are compared only by the checksum
// cases (diffChecksums), so that a gap there is reported once, by name.
func diffCompare(t *testing.T, what string, oracle, gw diffResponse, skip ...string) {
	t.Helper()
	diffCompareFields(t, what, oracle, gw, func(name string) bool { return name != dfChecksums && !slices.Contains(skip, name) })
}

// diffCompareFields compares the fields for which compare returns true.
func diffCompareFields(t *testing.T, what string, oracle, gw diffResponse, compare func(field string) bool) {
	t.Helper()
	want, got := diffFields(t, oracle), diffFields(t, gw)
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if !compare(name) {
			continue
		}
		if got[name] != want[name] {
			t.Errorf("%s: %s: s3seal %q, want %q (MinIO)", what, name, got[name], want[name])
		}
	}
}

// diffBoth runs op on MinIO and then on s3seal and compares the answers.
func diffBoth(t *testing.T, e *diffEnv, what string, op func(t *testing.T, s *diffSide) diffResponse, skip ...string) (oracle, gw diffResponse) {
	t.Helper()
	oracle = op(t, e.oracle)
	gw = op(t, e.gw)
	diffCompare(t, what, oracle, gw, skip...)
	return oracle, gw
}

// diffWantField fails unless every response (MinIO's, then s3seal's) has want
// in field; it pins the compared behaviour, so that a case cannot pass by
// both sides doing something else.
func diffWantField(t *testing.T, what, field, want string, responses ...diffResponse) {
	t.Helper()
	for i, r := range responses {
		side := []string{"MinIO", "s3seal"}[min(i, 1)]
		if got := diffFields(t, r)[field]; got != want {
			t.Errorf("%s: %s: %s %q, want %q", what, field, side, got, want)
		}
	}
}

// diffWantDifference asserts a documented difference: MinIO answers wantOracle
// in field and s3seal wantGateway.
func diffWantDifference(t *testing.T, what, field, wantOracle, wantGateway string, oracle, gw diffResponse) {
	t.Helper()
	if got := diffFields(t, oracle)[field]; got != wantOracle {
		t.Errorf("%s: %s: MinIO %q, want %q", what, field, got, wantOracle)
	}
	if got := diffFields(t, gw)[field]; got != wantGateway {
		t.Errorf("%s: %s: s3seal %q, want %q", what, field, got, wantGateway)
	}
}

// diffDomains are the two SSE modes a differential check covers: how a
// PutObjectInput asks for each.
var diffDomains = []struct {
	name string
	mod  func(*s3.PutObjectInput)
}{
	{"sse-kms", func(in *s3.PutObjectInput) {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(diffKey)
	}},
	{"sse-s3", func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 }},
}
