package gateway

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

const (
	testRoot     = "root"
	testPassword = "password"
	testRegion   = "us-east-1"
	// testBucket exists on every test gateway's backend.
	testBucket = "bkt"
	// otherKey is a second KMS key every test gateway's KMS holds.
	otherKey = "other-key"
)

// testGateway is a real, initialised gateway in front of an in-memory S3.
type testGateway struct {
	t   testing.TB
	s   *Server
	be  *memS3
	srv *httptest.Server // serves be
	kms *kmsclient.KMS
}

// newTestGateway starts a memS3 holding testBucket, and an initialised
// gateway in front of it with an in-memory KMS holding "default-key" and
// otherKey. SSE-C is allowed over plain http; the IAM state is not
// refreshed in the background. edit, if set, adjusts the
// configuration before New.
func newTestGateway(t testing.TB, edit func(*Config)) *testGateway {
	t.Helper()
	be := newMemS3(testBucket)
	srv := httptest.NewServer(be)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	kms := kmsclient.New(&mem.Store{}, kmsclient.Config{})
	t.Cleanup(func() { _ = kms.Close() })
	if err := kms.CreateKey(t.Context(), otherKey); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Backend:  BackendConfig{URL: u, AccessKey: "backend-user", SecretKey: "backend-secret"},
		RootUser: testRoot, RootPassword: testPassword,
		KMS: kms, DefaultKey: "default-key", AllowInsecureSSEC: true,
		// No background IAM refresh: tests that count backend requests
		// must see only their own. IAM tests refresh explicitly.
		IAMRefreshInterval: -1,
	}
	if edit != nil {
		edit(&cfg) // may wrap cfg.KMS
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(t.Context()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	be.forget()
	return &testGateway{t: t, s: s, be: be, srv: srv, kms: kms}
}

// s3Response is the gateway's answer to one request.
type s3Response struct {
	status  int
	header  http.Header
	body    []byte
	aborted bool // the handler broke the connection after the headers
}

// code returns the S3 error code of an error answer.
func (r *s3Response) code() string {
	var e struct{ Code string }
	_ = xml.Unmarshal(r.body, &e)
	return e.Code
}

// String summarises the answer for failure messages.
func (r *s3Response) String() string {
	return fmt.Sprintf("%d %.400q", r.status, r.body)
}

// objectTarget returns the escaped path of bucket/key plus query.
func objectTarget(bucket, key, query string) string {
	p := s3utils.EncodePath("/" + bucket + "/" + key)
	if query != "" {
		p += "?" + query
	}
	return p
}

// do sends a request signed by the root user with a signed payload hash
// and returns the answer. header holds name, value pairs.
func (g *testGateway) do(method, target string, body []byte, header ...string) *s3Response {
	g.t.Helper()
	r := httptest.NewRequestWithContext(g.t.Context(), method, "http://s3.test"+target, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	sum := sha256.Sum256(body)
	r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	r.ContentLength = int64(len(body))
	return g.serve(signV4(r, testRoot, testPassword))
}

// signV4 signs r as accessKey with secret for testRegion.
func signV4(r *http.Request, accessKey, secret string) *http.Request {
	return signer.SignV4(*r, accessKey, secret, "", testRegion)
}

// doStreaming sends body with aws-chunked streaming signatures.
func (g *testGateway) doStreaming(method, target string, body []byte, header ...string) *s3Response {
	g.t.Helper()
	r := httptest.NewRequestWithContext(g.t.Context(), method, "http://s3.test"+target, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	signed := signer.StreamingSignV4(r, testRoot, testPassword, "", testRegion, int64(len(body)), time.Now().UTC(), sha256Hasher{sha256.New()})
	return g.serve(signed)
}

// sha256Hasher adapts a hash.Hash to the md5simd.Hasher minio-go's
// streaming signer wants.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// serve passes r to the gateway in process. A handler that breaks the
// connection after the headers (http.ErrAbortHandler) yields aborted.
func (g *testGateway) serve(r *http.Request) (res *s3Response) {
	w := httptest.NewRecorder()
	defer func() {
		res = &s3Response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler { // compared by identity, as net/http does
				panic(v)
			}
			res.aborted = true
		}
	}()
	g.s.ServeHTTP(w, r)
	return nil
}

// put stores data as bucket/key through the gateway and fails the test
// unless the gateway answers 200.
func (g *testGateway) put(bucket, key string, data []byte, header ...string) *s3Response {
	g.t.Helper()
	res := g.do(http.MethodPut, objectTarget(bucket, key, ""), data, header...)
	if res.status != http.StatusOK {
		g.t.Fatalf("PUT %s/%s: %d %s", bucket, key, res.status, res.body)
	}
	return res
}

// backendCalls returns the backend requests of method to bucket (any
// bucket if ""), leaving out the gateway's own system bucket.
func (g *testGateway) backendCalls(method, bucket string) []backendCall {
	var out []backendCall
	for _, c := range g.be.calls() {
		if c.Method == method && c.Bucket != g.s.cfg.SystemBucket && (bucket == "" || c.Bucket == bucket) {
			out = append(out, c)
		}
	}
	return out
}

// ssecHeaders returns the SSE-C request headers for key (32 bytes), with
// prefix "" (the object's key) or "X-Amz-Copy-Source-" (the source's).
func ssecHeaders(prefix string, key []byte) []string {
	if prefix == "" {
		prefix = "X-Amz-"
	}
	sum := md5.Sum(key)
	return []string{
		prefix + "Server-Side-Encryption-Customer-Algorithm", "AES256",
		prefix + "Server-Side-Encryption-Customer-Key", base64.StdEncoding.EncodeToString(key),
		prefix + "Server-Side-Encryption-Customer-Key-Md5", base64.StdEncoding.EncodeToString(sum[:]),
	}
}

// testData returns n bytes of a repeating, position-dependent pattern, so
// a misplaced range shows.
func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8 + i>>16)
	}
	return b
}

// storedMetadata decodes s3seal's metadata of a backend object.
func (g *testGateway) storedMetadata(bucket, key string) (*crypto.Metadata, []byte) {
	g.t.Helper()
	body, h, ok := g.be.object(bucket, key)
	if !ok {
		g.t.Fatalf("backend has no %s/%s", bucket, key)
	}
	meta, err := crypto.DecodeMetadata(h.Get)
	if err != nil {
		g.t.Fatalf("backend metadata of %s/%s: %v", bucket, key, err)
	}
	return meta, body
}
