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
	"os"
	"path/filepath"
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

	"github.com/s3seal/s3seal/crypto"
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

func diffEncContext(t *testing.T, m map[string]string) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// diffObjectSSE compares PutObject with SSE headers and the HEAD and GET of
// what it stored.
func diffObjectSSE(t *testing.T, e *diffEnv) {
	const bucket = "diff-object-sse"
	e.createBucket(t, bucket)
	data := harness.RandomBytes(t, 100*1024+17)
	kms := func(keyID string) func(*s3.PutObjectInput) {
		return func(in *s3.PutObjectInput) {
			in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
			in.SSEKMSKeyId = aws.String(keyID)
		}
	}
	context := map[string]string{"project": "s3seal", "tier": "gold"}
	canonicalContext, _ := json.Marshal(context)
	tests := []struct {
		name        string
		mod         func(*s3.PutObjectInput)
		wantSSE     string // on both sides, or on s3seal's if wantMinIOSSE is set
		wantKey     string // "" when not compared
		wantContext string
		// wantMinIOSSE, when set, is MinIO's answer in a documented difference.
		wantMinIOSSE string
	}{
		{"aws:kms with a key id", kms(diffKey), "aws:kms", diffKeyARN, "(absent)", ""},
		{"aws:kms with an arn:aws:kms: key id", kms(diffKeyARN), "aws:kms", diffKeyARN, "(absent)", ""},
		{"aws:kms with an encryption context", func(in *s3.PutObjectInput) {
			kms(diffKey)(in)
			in.SSEKMSEncryptionContext = aws.String(diffEncContext(t, context))
		}, "aws:kms", diffKeyARN, string(canonicalContext), ""},
		{"AES256", func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 }, "AES256", "(absent)", "(absent)", ""},
		// Without a key id each side uses its configured default key: MinIO's
		// only static key, s3seal's S3SEAL_KMS_DEFAULT_KEY. Their names differ
		// by configuration, so the key id is not compared.
		{"aws:kms without a key id", func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAwsKms }, "aws:kms", "", "(absent)", ""},
		{"no SSE headers and no bucket default: SSE-S3 in s3seal, unencrypted in MinIO", nil, "AES256", "(absent)", "(absent)", "(absent)"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("object-%d", i)
			var skip []string
			if tc.wantKey == "" {
				skip = append(skip, dfKeyID)
			}
			if tc.wantMinIOSSE != "" {
				skip = append(skip, dfSSE)
			}
			put, gwPut := diffBoth(t, e, "PutObject", func(t *testing.T, s *diffSide) diffResponse { return s.put(t, bucket, key, data, tc.mod) }, skip...)
			head, gwHead := diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) }, skip...)
			get, gwGet := diffBoth(t, e, "GetObject", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, "") }, skip...)
			diffWantField(t, "GetObject", dfBody, diffFields(t, diffResponse{Status: 200, Body: data})[dfBody], get)
			for _, r := range []struct {
				what       string
				oracle, gw diffResponse
			}{{"PutObject", put, gwPut}, {"HeadObject", head, gwHead}, {"GetObject", get, gwGet}} {
				if tc.wantMinIOSSE != "" {
					diffWantDifference(t, r.what, dfSSE, tc.wantMinIOSSE, tc.wantSSE, r.oracle, r.gw)
				} else {
					diffWantField(t, r.what, dfSSE, tc.wantSSE, r.oracle)
				}
				if tc.wantKey != "" {
					diffWantField(t, r.what, dfKeyID, tc.wantKey, r.oracle)
				}
				diffWantField(t, r.what, dfContext, tc.wantContext, r.oracle)
				diffWantField(t, r.what, dfBucketKey, "(absent)", r.oracle, r.gw)
				diffWantField(t, r.what, dfETagForm, "32 hex", r.oracle, r.gw)
			}
		})
	}
}

// diffBucketEncryption compares PUT/GET/DELETE ?encryption and writes under
// a bucket default.
func diffBucketEncryption(t *testing.T, e *diffEnv) {
	const bucket = "diff-bucket-sse"
	e.createBucket(t, bucket)
	data := harness.RandomBytes(t, 70*1024+1)
	rule := func(alg types.ServerSideEncryption, keyID string) types.ServerSideEncryptionRule {
		r := types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: alg}}
		if keyID != "" {
			r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID = aws.String(keyID)
		}
		return r
	}
	putEnc := func(t *testing.T, s *diffSide, rules ...types.ServerSideEncryptionRule) diffResponse {
		t.Helper()
		rec, opts := diffSDK()
		_, err := s.s3.PutBucketEncryption(t.Context(), &s3.PutBucketEncryptionInput{
			Bucket:                            aws.String(bucket),
			ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: rules},
		}, opts...)
		return rec.response(t, err, nil)
	}
	// getEnc returns the response and the rule's algorithm and key id.
	getEnc := func(t *testing.T, s *diffSide) (diffResponse, string) {
		t.Helper()
		rec, opts := diffSDK()
		out, err := s.s3.GetBucketEncryption(t.Context(), &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)}, opts...)
		r := rec.response(t, err, nil)
		if err != nil {
			return r, ""
		}
		var rules []string
		for _, rl := range out.ServerSideEncryptionConfiguration.Rules {
			d := rl.ApplyServerSideEncryptionByDefault
			rules = append(rules, fmt.Sprintf("%s key=%q", d.SSEAlgorithm, aws.ToString(d.KMSMasterKeyID)))
		}
		return r, strings.Join(rules, "; ")
	}
	compareGet := func(t *testing.T, wantRules string) {
		t.Helper()
		o, oRules := getEnc(t, e.oracle)
		g, gRules := getEnc(t, e.gw)
		// s3seal's XML starts with an XML declaration, MinIO's does not.
		diffCompare(t, "GetBucketEncryption", o, g, dfLength)
		if gRules != oRules {
			t.Errorf("GetBucketEncryption rules: s3seal %s, want %s (MinIO)", gRules, oRules)
		}
		if wantRules != "" && oRules != wantRules {
			t.Errorf("GetBucketEncryption rules: MinIO %s, want %s", oRules, wantRules)
		}
	}
	putUnder := func(t *testing.T, key, wantSSE, wantKey string) {
		t.Helper()
		put, _ := diffBoth(t, e, "PutObject without SSE headers", func(t *testing.T, s *diffSide) diffResponse { return s.put(t, bucket, key, data, nil) })
		head, _ := diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) })
		get, _ := diffBoth(t, e, "GetObject", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, "") })
		diffWantField(t, "PutObject", dfSSE, wantSSE, put)
		diffWantField(t, "HeadObject", dfKeyID, wantKey, head)
		diffWantField(t, "GetObject", dfSSE, wantSSE, get)
	}
	// putWithoutDefault writes without SSE headers into the bucket without
	// default encryption: the documented difference.
	putWithoutDefault := func(t *testing.T, key string) {
		t.Helper()
		o, g := diffBoth(t, e, "PutObject without SSE headers or bucket default", func(t *testing.T, s *diffSide) diffResponse { return s.put(t, bucket, key, data, nil) }, dfSSE)
		diffWantDifference(t, "PutObject without SSE headers or bucket default", dfSSE, "(absent)", "AES256", o, g)
		o, g = diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) }, dfSSE)
		diffWantDifference(t, "HeadObject", dfSSE, "(absent)", "AES256", o, g)
	}

	t.Run("GET without configuration is 404", func(t *testing.T) {
		o, _ := getEnc(t, e.oracle)
		g, _ := getEnc(t, e.gw)
		diffCompare(t, "GetBucketEncryption", o, g)
		diffWantField(t, "GetBucketEncryption", dfCode, "ServerSideEncryptionConfigurationNotFoundError", o, g)
	})

	t.Run("SSE-KMS default", func(t *testing.T) {
		diffBoth(t, e, "PutBucketEncryption aws:kms", func(t *testing.T, s *diffSide) diffResponse {
			return putEnc(t, s, rule(types.ServerSideEncryptionAwsKms, diffKey))
		})
		compareGet(t, fmt.Sprintf("aws:kms key=%q", diffKey))
		putUnder(t, "under-kms-default", "aws:kms", diffKeyARN)
	})

	t.Run("SSE-KMS default with an arn:aws:kms: key id", func(t *testing.T) {
		diffBoth(t, e, "PutBucketEncryption aws:kms arn", func(t *testing.T, s *diffSide) diffResponse {
			return putEnc(t, s, rule(types.ServerSideEncryptionAwsKms, diffKeyARN))
		})
		compareGet(t, "")
		putUnder(t, "under-kms-arn-default", "aws:kms", diffKeyARN)
	})

	t.Run("SSE-S3 default", func(t *testing.T) {
		diffBoth(t, e, "PutBucketEncryption AES256", func(t *testing.T, s *diffSide) diffResponse {
			return putEnc(t, s, rule(types.ServerSideEncryptionAes256, ""))
		})
		compareGet(t, `AES256 key=""`)
		putUnder(t, "under-s3-default", "AES256", "(absent)")
	})

	t.Run("request headers override the default", func(t *testing.T) {
		diffBoth(t, e, "PutObject aws:kms under an SSE-S3 default", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "override", data, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
				in.SSEKMSKeyId = aws.String(diffKey)
			})
		})
	})

	t.Run("DELETE then GET is 404", func(t *testing.T) {
		o, g := diffBoth(t, e, "DeleteBucketEncryption", func(t *testing.T, s *diffSide) diffResponse {
			rec, opts := diffSDK()
			_, err := s.s3.DeleteBucketEncryption(t.Context(), &s3.DeleteBucketEncryptionInput{Bucket: aws.String(bucket)}, opts...)
			return rec.response(t, err, nil)
		}, dfLength)
		diffWantField(t, "DeleteBucketEncryption", dfStatus, "204", o, g)
		o, _ = getEnc(t, e.oracle)
		g, _ = getEnc(t, e.gw)
		diffCompare(t, "GetBucketEncryption after DELETE", o, g)
		diffWantField(t, "GetBucketEncryption after DELETE", dfCode, "ServerSideEncryptionConfigurationNotFoundError", o, g)
		putWithoutDefault(t, "after-delete")
	})

	t.Run("invalid configurations", func(t *testing.T) {
		tests := []struct {
			name       string
			rules      []types.ServerSideEncryptionRule
			wantStatus string // MinIO's answer, pinned
			wantCode   string
		}{
			{"two rules", []types.ServerSideEncryptionRule{rule(types.ServerSideEncryptionAes256, ""), rule(types.ServerSideEncryptionAwsKms, diffKey)}, "400", "MalformedXML"},
			{"aws:kms without a key id", []types.ServerSideEncryptionRule{rule(types.ServerSideEncryptionAwsKms, "")}, "400", "MalformedXML"},
			{"AES256 with a key id", []types.ServerSideEncryptionRule{rule(types.ServerSideEncryptionAes256, diffKey)}, "400", "MalformedXML"},
			{"unknown algorithm", []types.ServerSideEncryptionRule{rule("aws:foo", "")}, "400", "MalformedXML"},
			// MinIO test-generates a data key, so an unknown key fails here.
			{"unknown KMS key", []types.ServerSideEncryptionRule{rule(types.ServerSideEncryptionAwsKms, "no-such-key")}, "404", "kms:KeyNotFound"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				o, _ := diffBoth(t, e, "PutBucketEncryption", func(t *testing.T, s *diffSide) diffResponse { return putEnc(t, s, tc.rules...) })
				diffWantField(t, "PutBucketEncryption "+tc.name, dfStatus, tc.wantStatus, o)
				diffWantField(t, "PutBucketEncryption "+tc.name, dfCode, tc.wantCode, o)
			})
		}
		t.Run("malformed XML", func(t *testing.T) {
			o, g := diffBoth(t, e, "PutBucketEncryption", func(t *testing.T, s *diffSide) diffResponse {
				return s.raw(t, http.MethodPut, "/"+bucket+"?encryption=", []byte("<ServerSideEncryptionConfiguration><Rule>"), nil)
			})
			diffWantField(t, "PutBucketEncryption malformed XML", dfCode, "MalformedXML", o, g)
		})
		// None of the refused configurations may have been stored.
		o, _ := getEnc(t, e.oracle)
		g, _ := getEnc(t, e.gw)
		diffCompare(t, "GetBucketEncryption after the refused PUTs", o, g)
	})
}

// diffRangeSizes are the object sizes of the range cases: empty, one byte,
// exactly one DARE package, one byte more, and several packages with a
// short last one.
var diffRangeSizes = []int{0, 1, 65536, 65537, mib + 7}

// diffRanges compares HEAD, whole and ranged GETs and listings of SSE-KMS
// and SSE-S3 objects of the sizes that matter to DARE's package layout.
func diffRanges(t *testing.T, e *diffEnv) {
	const bucket = "diff-ranges"
	e.createBucket(t, bucket)
	domains := []struct {
		name string
		mod  func(*s3.PutObjectInput)
	}{
		{"sse-kms", func(in *s3.PutObjectInput) {
			in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
			in.SSEKMSKeyId = aws.String(diffKey)
		}},
		{"sse-s3", func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 }},
	}
	sizes := map[string]int64{}
	for _, d := range domains {
		for _, size := range diffRangeSizes {
			key := fmt.Sprintf("%s/%d", d.name, size)
			data := harness.RandomBytes(t, size)
			sizes[key] = int64(size)
			t.Run(key, func(t *testing.T) {
				diffBoth(t, e, "PutObject", func(t *testing.T, s *diffSide) diffResponse { return s.put(t, bucket, key, data, d.mod) })
				head, _ := diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) })
				diffWantField(t, "HeadObject", dfLength, strconv.Itoa(size), head)
				get, _ := diffBoth(t, e, "GetObject", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, "") })
				diffWantField(t, "GetObject", dfBody, diffFields(t, diffResponse{Status: 200, Body: data})[dfBody], get)
				ranges := []string{"bytes=0-0", "bytes=0-99", "bytes=100-", "bytes=-100", "bytes=65535-65537", "bytes=70000-200000",
					fmt.Sprintf("bytes=%d-%d", size+10, size+20)}
				for _, rng := range ranges {
					_, g := diffBoth(t, e, "GetObject "+rng, func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, rng) })
					diffCheck416Range(t, rng, g, size)
				}
			})
		}
	}

	t.Run("range beyond the end is 416 InvalidRange", func(t *testing.T) {
		o, g := diffBoth(t, e, "GetObject bytes=2000000-2000010", func(t *testing.T, s *diffSide) diffResponse {
			return s.get(t, bucket, fmt.Sprintf("sse-kms/%d", mib+7), "bytes=2000000-2000010")
		})
		diffWantField(t, "GetObject beyond the end", dfStatus, "416", o, g)
		diffWantField(t, "GetObject beyond the end", dfCode, "InvalidRange", o, g)
		diffCheck416Range(t, "bytes=2000000-2000010", g, mib+7)
	})

	t.Run("ListObjectsV2 sizes and ETags", func(t *testing.T) {
		list := func(s *diffSide) map[string]string {
			out, err := s.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			if err != nil {
				t.Fatalf("%s: ListObjectsV2: %v", s.name, err)
			}
			m := map[string]string{}
			for _, o := range out.Contents {
				m[aws.ToString(o.Key)] = fmt.Sprintf("size %d, ETag %s", aws.ToInt64(o.Size), mcflowETagForm(aws.ToString(o.ETag)))
			}
			return m
		}
		want, got := list(e.oracle), list(e.gw)
		for key, size := range sizes {
			if w := fmt.Sprintf("size %d, ETag 32 hex", size); want[key] != w {
				t.Errorf("ListObjectsV2 %s: MinIO %q, want %q", key, want[key], w)
			}
			if got[key] != want[key] {
				t.Errorf("ListObjectsV2 %s: s3seal %q, want %q (MinIO)", key, got[key], want[key])
			}
		}
		if len(got) != len(want) {
			t.Errorf("ListObjectsV2: s3seal lists %d objects, want %d (MinIO)", len(got), len(want))
		}
	})
}

// diffCheck416Range checks the Content-Range of s3seal's 416 answers, which
// MinIO leaves out: absent or RFC 9110's "bytes */SIZE".
func diffCheck416Range(t *testing.T, rng string, gw diffResponse, size int) {
	t.Helper()
	if gw.Status != http.StatusRequestedRangeNotSatisfiable {
		return
	}
	if got, want := diffHeader(gw.Header, "Content-Range"), fmt.Sprintf("bytes */%d", size); got != "(absent)" && got != want {
		t.Errorf("GetObject %s: s3seal 416 with Content-Range %q, want none or %q", rng, got, want)
	}
}

// diffErrors compares refused requests.
func diffErrors(t *testing.T, e *diffEnv) {
	const bucket = "diff-errors"
	e.createBucket(t, bucket)
	data := harness.RandomBytes(t, 10*1024)
	for _, s := range e.sides() {
		if r := s.put(t, bucket, "existing", data, func(in *s3.PutObjectInput) {
			in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
			in.SSEKMSKeyId = aws.String(diffKey)
		}); r.Status != http.StatusOK {
			t.Fatalf("%s: PutObject: %d %s", s.name, r.Status, r.Code)
		}
	}
	type check struct {
		field, want string
	}
	tests := []struct {
		name string
		op   func(t *testing.T, s *diffSide) diffResponse
		want []check
	}{
		// MinIO answers 400 BadRequest (DESIGN.md says InvalidRequest).
		{"SSE header AES256 on GET", func(t *testing.T, s *diffSide) diffResponse {
			return s.get(t, bucket, "existing", "", "X-Amz-Server-Side-Encryption", "AES256")
		}, []check{{dfStatus, "400"}, {dfCode, "BadRequest"}}},
		{"SSE header aws:kms on GET", func(t *testing.T, s *diffSide) diffResponse {
			return s.get(t, bucket, "existing", "", "X-Amz-Server-Side-Encryption", "aws:kms")
		}, []check{{dfStatus, "400"}, {dfCode, "BadRequest"}}},
		// A HEAD response has no body, so the SDK can only report the status.
		{"SSE header on HEAD", func(t *testing.T, s *diffSide) diffResponse {
			return s.head(t, bucket, "existing", 0, "X-Amz-Server-Side-Encryption", "AES256")
		}, []check{{dfStatus, "400"}}},
		{"AES256 with a KMS key id", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "aes-with-key", data, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption = types.ServerSideEncryptionAes256
				in.SSEKMSKeyId = aws.String(diffKey)
			})
		}, []check{{dfStatus, "400"}, {dfCode, "InvalidArgument"}}},
		{"unknown algorithm", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "unknown-alg", data, func(in *s3.PutObjectInput) { in.ServerSideEncryption = "aws:foo" })
		}, []check{{dfStatus, "400"}, {dfCode, "InvalidArgument"}}},
		// MinIO's answer (with its static KMS as with KES, the KMS error
		// ErrKeyNotFound) is 404 kms:KeyNotFound; DESIGN.md's 400
		// KMS.NotFoundException is AWS's.
		{"unknown KMS key", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "unknown-key", data, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
				in.SSEKMSKeyId = aws.String("no-such-key")
			})
		}, []check{{dfStatus, "404"}, {dfCode, "kms:KeyNotFound"}}},
		{"KMS key id without aws:kms", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "key-without-alg", data, func(in *s3.PutObjectInput) { in.SSEKMSKeyId = aws.String(diffKey) })
		}, []check{{dfStatus, "400"}, {dfCode, "InvalidArgument"}}},
		{"encryption context that is not base64", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "bad-context", data, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
				in.SSEKMSKeyId = aws.String(diffKey)
				in.SSEKMSEncryptionContext = aws.String("not base64!")
			})
		}, []check{{dfStatus, "400"}, {dfCode, "InvalidArgument"}}},
		{"GET of a missing key", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, "missing", "") },
			[]check{{dfStatus, "404"}, {dfCode, "NoSuchKey"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The pinned answer is MinIO's; diffBoth compares s3seal's with it.
			o, _ := diffBoth(t, e, tc.name, tc.op)
			for _, c := range tc.want {
				diffWantField(t, tc.name, c.field, c.want, o)
			}
		})
	}
}

// diffMultipart compares an SSE-KMS multipart upload with the SDK: 5 MiB,
// 5 MiB and 1 MiB parts.
func diffMultipart(t *testing.T, e *diffEnv) {
	const bucket, key = "diff-multipart", "multipart.bin"
	e.createBucket(t, bucket)
	parts := [][]byte{harness.RandomBytes(t, 5*mib), harness.RandomBytes(t, 5*mib), harness.RandomBytes(t, mib)}
	whole := bytes.Join(parts, nil)

	uploads := map[*diffSide]*string{}
	completed := map[*diffSide][]types.CompletedPart{}
	// MinIO sends no SSE headers on CreateMultipartUpload and
	// CompleteMultipartUpload; s3seal sends them, as AWS S3 does.
	mpSkip := []string{dfLength, dfSSE, dfKeyID} // dfLength: XML bodies with different upload ids and locations

	t.Run("CreateMultipartUpload with SSE-KMS", func(t *testing.T) {
		o, g := diffBoth(t, e, "CreateMultipartUpload", func(t *testing.T, s *diffSide) diffResponse {
			rec, opts := diffSDK()
			out, err := s.s3.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String(key),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(diffKey),
			}, opts...)
			if err == nil {
				uploads[s] = out.UploadId
			}
			return rec.response(t, err, nil)
		}, mpSkip...)
		diffWantDifference(t, "CreateMultipartUpload", dfSSE, "(absent)", "aws:kms", o, g)
		diffWantDifference(t, "CreateMultipartUpload", dfKeyID, "(absent)", diffKeyARN, o, g)
	})
	if uploads[e.oracle] == nil || uploads[e.gw] == nil {
		t.Fatalf("CreateMultipartUpload failed")
	}

	t.Run("UploadPart 5 MiB, 5 MiB, 1 MiB", func(t *testing.T) {
		for i, p := range parts {
			n := int32(i + 1)
			o, g := diffBoth(t, e, fmt.Sprintf("UploadPart %d", n), func(t *testing.T, s *diffSide) diffResponse {
				rec, opts := diffSDK()
				out, err := s.s3.UploadPart(t.Context(), &s3.UploadPartInput{
					Bucket: aws.String(bucket), Key: aws.String(key), UploadId: uploads[s], PartNumber: aws.Int32(n), Body: bytes.NewReader(p),
				}, opts...)
				if err == nil {
					// As the SDK's upload manager does: hand back what UploadPart returned.
					completed[s] = append(completed[s], types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
				}
				return rec.response(t, err, nil)
			})
			diffWantField(t, fmt.Sprintf("UploadPart %d", n), dfSSE, "aws:kms", o, g)
			diffWantField(t, fmt.Sprintf("UploadPart %d", n), dfKeyID, diffKeyARN, o, g)
			diffWantField(t, fmt.Sprintf("UploadPart %d", n), dfETagForm, "32 hex", o, g)
		}
	})

	t.Run("CompleteMultipartUpload", func(t *testing.T) {
		o, g := diffBoth(t, e, "CompleteMultipartUpload", func(t *testing.T, s *diffSide) diffResponse {
			rec, opts := diffSDK()
			_, err := s.s3.CompleteMultipartUpload(t.Context(), &s3.CompleteMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String(key), UploadId: uploads[s],
				MultipartUpload: &types.CompletedMultipartUpload{Parts: completed[s]},
			}, opts...)
			if err == nil {
				s.wrote(bucket, key, whole)
			}
			return rec.response(t, err, nil)
		}, mpSkip...)
		diffWantField(t, "CompleteMultipartUpload", dfStatus, "200", o, g)
		diffWantDifference(t, "CompleteMultipartUpload", dfSSE, "(absent)", "aws:kms", o, g)
		diffWantDifference(t, "CompleteMultipartUpload", dfKeyID, "(absent)", diffKeyARN, o, g)
	})

	t.Run("HEAD of the completed object", func(t *testing.T) {
		o, g := diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) })
		diffWantField(t, "HeadObject", dfSSE, "aws:kms", o, g)
		diffWantField(t, "HeadObject", dfKeyID, diffKeyARN, o, g)
		diffWantField(t, "HeadObject", dfETagForm, "32 hex-3", o, g)
		diffWantField(t, "HeadObject", dfLength, strconv.Itoa(len(whole)), o, g)
	})

	for _, tc := range []struct {
		part       int32
		wantLength int
		wantRange  string
	}{
		{1, 5 * mib, fmt.Sprintf("bytes 0-%d/%d", 5*mib-1, len(whole))},
		{3, mib, fmt.Sprintf("bytes %d-%d/%d", 10*mib, len(whole)-1, len(whole))},
	} {
		what := fmt.Sprintf("HeadObject ?partNumber=%d", tc.part)
		t.Run(fmt.Sprintf("HEAD ?partNumber=%d is the part, with x-amz-mp-parts-count", tc.part), func(t *testing.T) {
			o, _ := diffBoth(t, e, what, func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, tc.part) })
			diffWantField(t, what, dfStatus, "206", o)
			diffWantField(t, what, dfPartsCount, "3", o)
			diffWantField(t, what, dfLength, strconv.Itoa(tc.wantLength), o)
			diffWantField(t, what, dfRange, tc.wantRange, o)
		})
		t.Run(fmt.Sprintf("GET ?partNumber=%d is the part", tc.part), func(t *testing.T) {
			what := fmt.Sprintf("GetObject ?partNumber=%d", tc.part)
			o, _ := diffBoth(t, e, what, func(t *testing.T, s *diffSide) diffResponse { return s.getPart(t, bucket, key, tc.part) })
			diffWantField(t, what, dfBody, diffFields(t, diffResponse{Status: 200, Body: parts[tc.part-1]})[dfBody], o)
			diffWantField(t, what, dfRange, tc.wantRange, o)
		})
	}

	t.Run("GET whole and ranges across parts", func(t *testing.T) {
		o, _ := diffBoth(t, e, "GetObject", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, "") })
		diffWantField(t, "GetObject", dfBody, diffFields(t, diffResponse{Status: 200, Body: whole})[dfBody], o)
		for _, rng := range []string{"bytes=5242780-5242979", "bytes=10485750-", "bytes=-1048577"} {
			diffBoth(t, e, "GetObject "+rng, func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, rng) })
		}
	})
}

// diffChecksums compares the x-amz-checksum-* headers of PUT, HEAD and GET
// (checksum mode on) for SSE-KMS and SSE-S3 objects: the SDK sends a CRC32
// of the plaintext with every PUT and validates any checksum it gets back.
func diffChecksums(t *testing.T, e *diffEnv) {
	const bucket = "diff-checksums"
	e.createBucket(t, bucket)
	domains := []struct {
		name string
		mod  func(*s3.PutObjectInput)
	}{
		{"sse-kms", func(in *s3.PutObjectInput) {
			in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
			in.SSEKMSKeyId = aws.String(diffKey)
		}},
		{"sse-s3", func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 }},
	}
	onlyChecksums := func(field string) bool { return field == dfChecksums }
	for _, d := range domains {
		for _, size := range []int{0, 70000} {
			key := fmt.Sprintf("%s/%d", d.name, size)
			data := harness.RandomBytes(t, size)
			t.Run(key, func(t *testing.T) {
				o, g := e.oracle.put(t, bucket, key, data, d.mod), e.gw.put(t, bucket, key, data, d.mod)
				diffCompareFields(t, "PutObject", o, g, onlyChecksums)
				o, g = e.oracle.head(t, bucket, key, 0, "X-Amz-Checksum-Mode", "ENABLED"), e.gw.head(t, bucket, key, 0, "X-Amz-Checksum-Mode", "ENABLED")
				diffCompareFields(t, "HeadObject with checksum mode", o, g, onlyChecksums)
				o, g = e.oracle.get(t, bucket, key, ""), e.gw.get(t, bucket, key, "")
				diffCompareFields(t, "GetObject with checksum mode", o, g, onlyChecksums)
			})
		}
	}
}

// diffMC compares what mc shows for the same commands on both sides.
func diffMC(t *testing.T, e *diffEnv) {
	const bucket = "diff-mc"
	mc := e.mc
	dir := t.TempDir()
	files := map[string][]byte{
		"kms-default.bin": harness.RandomBytes(t, 200*1024+9),
		"enc-kms.bin":     harness.RandomBytes(t, 17*mib+3), // mc goes multipart above 16 MiB
		"after-clear.bin": harness.RandomBytes(t, 1000),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// each runs mc with args built for a side and returns both results.
	each := func(t *testing.T, args func(s *diffSide) []string, asJSON bool) (oracle, gw harness.Result) {
		t.Helper()
		var rs []harness.Result
		for _, s := range e.sides() {
			if asJSON {
				rs = append(rs, mc.JSON(t, args(s)...))
			} else {
				rs = append(rs, mc.Run(t, args(s)...))
			}
		}
		return rs[0], rs[1]
	}
	must := func(t *testing.T, args func(s *diffSide) []string, asJSON bool) (oracle, gw harness.Result) {
		t.Helper()
		o, g := each(t, args, asJSON)
		for _, r := range []harness.Result{o, g} {
			if r.ExitCode != 0 {
				t.Fatalf("mc failed: %v", r)
			}
		}
		return o, g
	}
	path := func(s *diffSide, object string) string { return s.alias + "/" + bucket + object }
	cp := func(t *testing.T, name string, encKMS string) {
		t.Helper()
		must(t, func(s *diffSide) []string {
			args := []string{"cp", filepath.Join(dir, name), path(s, "/"+name)}
			if encKMS != "" {
				args = append(args, "--enc-kms", path(s, "/"+name)+"="+encKMS)
			}
			return args
		}, false)
		e.gw.wrote(bucket, name, files[name])
	}
	// stat compares `mc stat --json` (size, ETag form and the SSE metadata)
	// and the Encryption line of the human output.
	stat := func(t *testing.T, name, wantLine, wantMinIOLine string) {
		t.Helper()
		o, g := must(t, func(s *diffSide) []string { return []string{"stat", path(s, "/"+name)} }, true)
		summary := func(r harness.Result) string {
			var st mcflowStatMessage
			harness.DecodeJSON(t, r, &st)
			var meta []string
			for k, v := range st.Metadata {
				if strings.HasPrefix(strings.ToLower(k), "x-amz-server-side-encryption") {
					meta = append(meta, k+"="+v)
				}
			}
			slices.Sort(meta)
			return fmt.Sprintf("size %d, ETag %s, %s", st.Size, mcflowETagForm(st.ETag), strings.Join(meta, " "))
		}
		lines := map[*diffSide]string{}
		for _, s := range e.sides() {
			lines[s], _ = mcflowStatEncryption(mc.Must(t, "stat", path(s, "/"+name)).Stdout)
		}
		if wantMinIOLine != "" { // a documented difference
			if lines[e.oracle] != wantMinIOLine {
				t.Errorf("mc stat %s Encryption line: MinIO %q, want %q", name, lines[e.oracle], wantMinIOLine)
			}
			if lines[e.gw] != wantLine {
				t.Errorf("mc stat %s Encryption line: s3seal %q, want %q", name, lines[e.gw], wantLine)
			}
			return
		}
		if got, want := summary(g), summary(o); got != want {
			t.Errorf("mc stat --json %s: s3seal %s, want %s (MinIO)", name, got, want)
		}
		if lines[e.gw] != lines[e.oracle] {
			t.Errorf("mc stat %s Encryption line: s3seal %q, want %q (MinIO)", name, lines[e.gw], lines[e.oracle])
		}
		if lines[e.oracle] != wantLine {
			t.Errorf("mc stat %s Encryption line: MinIO %q, want %q", name, lines[e.oracle], wantLine)
		}
	}
	cat := func(t *testing.T, name string, extra ...string) {
		t.Helper()
		o, g := must(t, func(s *diffSide) []string { return append([]string{"cat"}, append(extra, path(s, "/"+name))...) }, false)
		assertSameBytes(t, fmt.Sprintf("mc cat %v %s: s3seal vs MinIO", extra, name), g.Stdout, o.Stdout)
	}
	encryptInfo := func(t *testing.T) {
		t.Helper()
		o, g := each(t, func(s *diffSide) []string { return []string{"encrypt", "info", path(s, "")} }, true)
		if g.ExitCode != o.ExitCode {
			t.Errorf("mc encrypt info exit code: s3seal %d, want %d (MinIO)\ns3seal: %s\nMinIO: %s", g.ExitCode, o.ExitCode, g.Stdout, o.Stdout)
			return
		}
		if o.ExitCode != 0 {
			if got, want := mcflowErrorCode(t, g), mcflowErrorCode(t, o); got != want {
				t.Errorf("mc encrypt info --json error code: s3seal %q, want %q (MinIO)", got, want)
			}
			return
		}
		var oi, gi mcflowEncryptInfoMessage
		harness.DecodeJSON(t, o, &oi)
		harness.DecodeJSON(t, g, &gi)
		if gi.Encryption != oi.Encryption {
			t.Errorf("mc encrypt info --json: s3seal %+v, want %+v (MinIO)", gi.Encryption, oi.Encryption)
		}
	}

	t.Run("mb", func(t *testing.T) {
		must(t, func(s *diffSide) []string { return []string{"mb", path(s, "")} }, false)
	})
	t.Run("encrypt info without configuration", encryptInfo)
	t.Run("encrypt set SSE-KMS", func(t *testing.T) {
		must(t, func(s *diffSide) []string { return []string{"encrypt", "set", "SSE-KMS", diffKey, path(s, "")} }, true)
		encryptInfo(t)
	})
	t.Run("cp under the SSE-KMS default", func(t *testing.T) {
		cp(t, "kms-default.bin", "")
		stat(t, "kms-default.bin", "SSE-KMS ("+diffKeyARN+")", "")
		cat(t, "kms-default.bin")
		cat(t, "kms-default.bin", "--offset", "70000")
		cat(t, "kms-default.bin", "--tail", "100")
	})
	t.Run("encrypt clear", func(t *testing.T) {
		must(t, func(s *diffSide) []string { return []string{"encrypt", "clear", path(s, "")} }, true)
		encryptInfo(t)
	})
	t.Run("cp with --enc-kms, multipart", func(t *testing.T) {
		cp(t, "enc-kms.bin", diffKey)
		stat(t, "enc-kms.bin", "SSE-KMS ("+diffKeyARN+")", "")
		cat(t, "enc-kms.bin")
	})
	t.Run("cp without a default: SSE-S3 in s3seal, unencrypted in MinIO", func(t *testing.T) {
		cp(t, "after-clear.bin", "")
		stat(t, "after-clear.bin", "SSE-S3", "(no Encryption line)")
		cat(t, "after-clear.bin")
	})
	t.Run("ls sizes", func(t *testing.T) {
		want := mcListSizes(t, mc, path(e.oracle, "/"))
		got := mcListSizes(t, mc, path(e.gw, "/"))
		for name, data := range files {
			if want[name] != int64(len(data)) {
				t.Errorf("mc ls size of %s: MinIO %d, want %d", name, want[name], len(data))
			}
			if got[name] != want[name] {
				t.Errorf("mc ls size of %s: s3seal %d, want %d (MinIO)", name, got[name], want[name])
			}
		}
	})
}

// diffAutoEncryption backs the decision to run the oracle without
// MINIO_KMS_AUTO_ENCRYPTION: this MinIO version supports it, but it turns a
// write without SSE headers into SSE-KMS under the default key, where
// s3seal's default is SSE-S3, so it would not align the two postures.
func diffAutoEncryption(t *testing.T, _ *diffEnv) {
	secret := base64.StdEncoding.EncodeToString(harness.RandomBytes(t, 32))
	m := harness.StartMinIO(t,
		harness.WithMinIOEnv("MINIO_KMS_SECRET_KEY", diffKey+":"+secret),
		harness.WithMinIOEnv("MINIO_KMS_AUTO_ENCRYPTION", "on"),
	)
	s := &diffSide{name: "MinIO with MINIO_KMS_AUTO_ENCRYPTION=on", s3: harness.S3Client(m.Endpoint, m.AccessKey, m.SecretKey)}
	if _, err := s.s3.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("auto")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	put := s.put(t, "auto", "object", harness.RandomBytes(t, 1000), nil)
	diffWantField(t, "PutObject without SSE headers, MINIO_KMS_AUTO_ENCRYPTION=on", dfSSE, "aws:kms", put)
	diffWantField(t, "PutObject without SSE headers, MINIO_KMS_AUTO_ENCRYPTION=on", dfKeyID, diffKeyARN, put)
}

// diffCheckBackend reads every object s3seal's backend holds in client
// buckets and fails unless each is s3seal's ciphertext of what was written.
func diffCheckBackend(t *testing.T, e *diffEnv) {
	ctx := t.Context()
	buckets, err := e.gwBackend.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("backend ListBuckets: %v", err)
	}
	seen := map[string]bool{}
	for _, b := range buckets {
		if b.Name == systemBucket {
			continue
		}
		for obj := range e.gwBackend.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatalf("backend ListObjects %s: %v", b.Name, obj.Err)
			}
			name := b.Name + "/" + obj.Key
			seen[name] = true
			stored, info := mcflowReadBackend(t, e.gwBackend, b.Name, obj.Key)
			if info.Metadata.Get(crypto.MetadataPrefix+"Version") == "" {
				t.Errorf("backend %s has no %sVersion metadata, want s3seal's", name, crypto.MetadataPrefix)
			}
			if len(stored) == 0 {
				continue
			}
			if stored[0] != mcflowDAREVersion {
				t.Errorf("backend %s starts with %x, want the DARE 2.0 version byte %#x", name, stored[:min(len(stored), 16)], mcflowDAREVersion)
			}
			e.mu.Lock()
			plaintext, ok := e.written[name]
			e.mu.Unlock()
			if !ok {
				t.Errorf("backend %s (%d bytes) was not written by the test", name, len(stored))
				continue
			}
			mcflowAssertNoPlaintext(t, name, stored, plaintext)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for name := range e.written {
		if !seen[name] {
			t.Errorf("%s was written through s3seal but is not on the backend under that name", name)
		}
	}
	if len(seen) == 0 {
		t.Errorf("the backend holds no objects, want those the differential cases wrote")
	}
}
