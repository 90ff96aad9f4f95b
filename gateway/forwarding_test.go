package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/gateway/sigv4"
	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// The tests in this file check, with a backend that records what it is
// asked, that the operation the backend executes is the one s3seal
// classified, whatever the shape of the signed request: the backend's
// reading of each forwarded request is modelled by a router built like
// MinIO's (gorilla/mux decoding the query itself, MinIO's precedence),
// independent of s3seal's own route table.

// forwarded is one request the recording backend received.
type forwarded struct {
	op     string // as a MinIO backend would execute it
	bucket string
	// extra are subresource keys the request carried beyond those of op:
	// a backend with another precedence than MinIO's could execute them.
	extra  []string
	header http.Header
	body   []byte
}

type recordingBackend struct {
	mu       sync.Mutex
	got      []forwarded
	classify *mux.Router
}

func newRecordingBackend() *recordingBackend {
	return &recordingBackend{classify: minioRouter()}
}

func (b *recordingBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op := "NotFound"
	var m mux.RouteMatch
	var consumed []string
	if b.classify.Match(r, &m) && m.Route != nil {
		op = m.Route.GetName()
		consumed, _ = m.Route.GetQueriesTemplates()
	}
	var extra []string
	for k := range r.URL.Query() {
		if !subresourceKeys[k] {
			continue
		}
		used := false
		for _, c := range consumed {
			used = used || strings.HasPrefix(c, k+"=")
		}
		if !used {
			extra = append(extra, k)
		}
	}
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	b.mu.Lock()
	b.got = append(b.got, forwarded{op: op, bucket: bucket, extra: extra, header: r.Header.Clone(), body: body})
	b.mu.Unlock()
	switch {
	case r.Method == http.MethodHead && op == "HeadBucket":
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>`)
	default:
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		w.WriteHeader(http.StatusOK)
	}
}

func (b *recordingBackend) take() []forwarded {
	b.mu.Lock()
	defer b.mu.Unlock()
	got := b.got
	b.got = nil
	return got
}

// subresourceKeys are query keys that select an S3 operation.
var subresourceKeys = map[string]bool{}

func init() {
	for _, k := range []string{
		"accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption", "events", "intelligent-tiering",
		"inventory", "lambdaArn", "legal-hold", "lifecycle", "list-type", "location", "logging", "metrics", "notification",
		"object-lock", "ownershipControls", "partNumber", "policy", "policyStatus", "publicAccessBlock", "replication",
		"requestPayment", "restore", "retention", "select", "select-type", "tagging", "torrent", "uploadId", "uploads",
		"versioning", "versions", "website",
	} {
		subresourceKeys[k] = true
	}
}

// minioRouter classifies a request the way MinIO's router does
// (cmd/api-router.go), enough to tell every operation s3seal could cause.
func minioRouter() *mux.Router {
	r := mux.NewRouter().SkipClean(true).UseEncodedPath()
	b := r.PathPrefix("/{bucket}").Subrouter()
	o := "/{object:.+}"
	cs := func(rt *mux.Route) *mux.Route { return rt.HeadersRegexp("X-Amz-Copy-Source", ".*?(\\/|%2F).*?") }
	nop := http.NotFoundHandler()
	add := func(name string, rt *mux.Route) { rt.Name(name).Handler(nop) }
	add("HeadObject", b.Methods(http.MethodHead).Path(o))
	add("GetObjectAttributes", b.Methods(http.MethodGet).Path(o).Queries("attributes", ""))
	add("UploadPartCopy", cs(b.Methods(http.MethodPut).Path(o)).Queries("partNumber", "{p:.*}", "uploadId", "{u:.*}"))
	add("UploadPart", b.Methods(http.MethodPut).Path(o).Queries("partNumber", "{p:.*}", "uploadId", "{u:.*}"))
	add("ListParts", b.Methods(http.MethodGet).Path(o).Queries("uploadId", "{u:.*}"))
	add("CompleteMultipartUpload", b.Methods(http.MethodPost).Path(o).Queries("uploadId", "{u:.*}"))
	add("CreateMultipartUpload", b.Methods(http.MethodPost).Path(o).Queries("uploads", ""))
	add("AbortMultipartUpload", b.Methods(http.MethodDelete).Path(o).Queries("uploadId", "{u:.*}"))
	for _, sub := range []struct{ name, key string }{{"Acl", "acl"}, {"Tagging", "tagging"}} {
		add("GetObject"+sub.name, b.Methods(http.MethodGet).Path(o).Queries(sub.key, ""))
		add("PutObject"+sub.name, b.Methods(http.MethodPut).Path(o).Queries(sub.key, ""))
	}
	add("DeleteObjectTagging", b.Methods(http.MethodDelete).Path(o).Queries("tagging", ""))
	add("SelectObjectContent", b.Methods(http.MethodPost).Path(o).Queries("select", "", "select-type", "2"))
	add("GetObjectRetention", b.Methods(http.MethodGet).Path(o).Queries("retention", ""))
	add("GetObjectLegalHold", b.Methods(http.MethodGet).Path(o).Queries("legal-hold", ""))
	add("GetObject", b.Methods(http.MethodGet).Path(o))
	add("CopyObject", cs(b.Methods(http.MethodPut).Path(o)))
	add("PutObjectRetention", b.Methods(http.MethodPut).Path(o).Queries("retention", ""))
	add("PutObjectLegalHold", b.Methods(http.MethodPut).Path(o).Queries("legal-hold", ""))
	add("PutObjectExtract", b.Methods(http.MethodPut).Path(o).HeadersRegexp("X-Amz-Meta-Snowball-Auto-Extract", "true"))
	add("AppendObject", b.Methods(http.MethodPut).Path(o).HeadersRegexp("X-Amz-Write-Offset-Bytes", ""))
	add("PutObject", b.Methods(http.MethodPut).Path(o))
	add("DeleteObject", b.Methods(http.MethodDelete).Path(o))
	add("RestoreObject", b.Methods(http.MethodPost).Path(o).Queries("restore", ""))
	for _, key := range []string{"location", "policy", "lifecycle", "encryption", "object-lock", "replication", "versioning",
		"notification", "acl", "cors", "website", "accelerate", "requestPayment", "logging", "tagging"} {
		add("GetBucket:"+key, b.Methods(http.MethodGet).Queries(key, ""))
	}
	add("ListMultipartUploads", b.Methods(http.MethodGet).Queries("uploads", ""))
	add("ListObjectsV2", b.Methods(http.MethodGet).Queries("list-type", "2"))
	add("ListObjectVersions", b.Methods(http.MethodGet).Queries("versions", ""))
	for _, key := range []string{"acl", "cors", "lifecycle", "replication", "encryption", "policy", "object-lock", "tagging", "versioning", "notification"} {
		add("PutBucket:"+key, b.Methods(http.MethodPut).Queries(key, ""))
	}
	add("CreateBucket", b.Methods(http.MethodPut))
	add("HeadBucket", b.Methods(http.MethodHead))
	add("PostPolicy", b.Methods(http.MethodPost).HeadersRegexp("Content-Type", "multipart/form-data"))
	add("DeleteObjects", b.Methods(http.MethodPost).Queries("delete", ""))
	for _, key := range []string{"policy", "replication", "lifecycle", "encryption", "cors", "website", "tagging"} {
		add("DeleteBucket:"+key, b.Methods(http.MethodDelete).Queries(key, ""))
	}
	add("DeleteBucket", b.Methods(http.MethodDelete))
	add("ListObjects", b.Methods(http.MethodGet))
	add("ListBuckets", r.Methods(http.MethodGet).Path("/"))
	return r
}

// mayForward lists, for each operation s3seal classifies, what a backend
// may be asked to execute on the client's buckets because of it. Passed-
// through operations map to themselves (spelled as minioRouter names them).
var mayForward = map[string][]string{
	"PutObject":                 {"PutObject"},
	"UploadPart":                {"UploadPart", "HeadBucket"},
	"UploadPartCopy":            {"UploadPart", "HeadObject", "GetObject", "HeadBucket"},
	"CopyObject":                {"CopyObject", "PutObject", "HeadObject", "GetObject", "HeadBucket"},
	"CreateMultipartUpload":     {"CreateMultipartUpload"},
	"CompleteMultipartUpload":   {"CompleteMultipartUpload", "ListParts", "HeadBucket"},
	"AbortMultipartUpload":      {"AbortMultipartUpload", "HeadBucket"},
	"ListParts":                 {"ListParts", "HeadBucket"},
	"GetObject":                 {"HeadObject", "GetObject"},
	"HeadObject":                {"HeadObject", "GetObject"},
	"DeleteObject":              {"DeleteObject"},
	"GetObjectAcl":              {"GetObjectAcl"},
	"PutObjectAcl":              {"PutObjectAcl"},
	"GetObjectTagging":          {"GetObjectTagging"},
	"PutObjectTagging":          {"PutObjectTagging"},
	"DeleteObjectTagging":       {"DeleteObjectTagging"},
	"GetObjectRetention":        {"GetObjectRetention"},
	"PutObjectRetention":        {"PutObjectRetention"},
	"GetObjectLegalHold":        {"GetObjectLegalHold"},
	"PutObjectLegalHold":        {"PutObjectLegalHold"},
	"RestoreObject":             {"RestoreObject"},
	"ListObjects":               {"ListObjects"},
	"ListObjectsV2":             {"ListObjectsV2"},
	"ListObjectsV2M":            {"ListObjectsV2"},
	"ListObjectVersions":        {"ListObjectVersions"},
	"ListObjectVersionsM":       {"ListObjectVersions"},
	"ListMultipartUploads":      {"ListMultipartUploads"},
	"ListBuckets":               {"ListBuckets"},
	"CreateBucket":              {"CreateBucket"},
	"HeadBucket":                {"HeadBucket"},
	"DeleteBucket":              {"DeleteBucket"},
	"DeleteObjects":             {"DeleteObjects"},
	"GetBucketEncryption":       {"HeadBucket"},
	"PutBucketEncryption":       {"HeadBucket"},
	"DeleteBucketEncryption":    {"HeadBucket"},
	"GetBucketLocation":         {"GetBucket:location"},
	"GetBucketPolicy":           {"GetBucket:policy"},
	"PutBucketPolicy":           {"PutBucket:policy"},
	"DeleteBucketPolicy":        {"DeleteBucket:policy"},
	"GetBucketTagging":          {"GetBucket:tagging"},
	"PutBucketTagging":          {"PutBucket:tagging"},
	"DeleteBucketTagging":       {"DeleteBucket:tagging"},
	"GetBucketVersioning":       {"GetBucket:versioning"},
	"PutBucketVersioning":       {"PutBucket:versioning"},
	"GetBucketAcl":              {"GetBucket:acl"},
	"PutBucketAcl":              {"PutBucket:acl"},
	"GetBucketCors":             {"GetBucket:cors"},
	"PutBucketCors":             {"PutBucket:cors"},
	"DeleteBucketCors":          {"DeleteBucket:cors"},
	"GetBucketLifecycle":        {"GetBucket:lifecycle"},
	"PutBucketLifecycle":        {"PutBucket:lifecycle"},
	"DeleteBucketLifecycle":     {"DeleteBucket:lifecycle"},
	"GetBucketReplication":      {"GetBucket:replication"},
	"PutBucketReplication":      {"PutBucket:replication"},
	"DeleteBucketReplication":   {"DeleteBucket:replication"},
	"GetBucketNotification":     {"GetBucket:notification"},
	"PutBucketNotification":     {"PutBucket:notification"},
	"GetBucketObjectLockConfig": {"GetBucket:object-lock"},
	"PutBucketObjectLockConfig": {"PutBucket:object-lock"},
	"GetBucketWebsite":          {"GetBucket:website"},
	"DeleteBucketWebsite":       {"DeleteBucket:website"},
	"GetBucketAccelerate":       {"GetBucket:accelerate"},
	"GetBucketRequestPayment":   {"GetBucket:requestPayment"},
	"GetBucketLogging":          {"GetBucket:logging"},
	"GetBucketPolicyStatus":     {"ListObjects"}, // MinIO's router only; policyStatus is dropped for other readers
}

// dataWrites are backend operations that store object data.
var dataWrites = map[string]bool{"PutObject": true, "UploadPart": true, "PostPolicy": true, "PutObjectExtract": true, "AppendObject": true}

type forwardingHarness struct {
	srv     *Server
	backend *recordingBackend
	mu      sync.Mutex
	ops     []string
}

func newForwardingHarness(t testing.TB) *forwardingHarness {
	t.Helper()
	h := &forwardingHarness{backend: newRecordingBackend()}
	kms := kmsclient.New(&mem.Store{}, kmsclient.Config{})
	t.Cleanup(func() { _ = kms.Close() })
	if err := kms.CreateKey(context.Background(), "default-key"); err != nil {
		t.Fatal(err)
	}
	be := httptest.NewServer(h.backend)
	t.Cleanup(be.Close)
	u, _ := url.Parse(be.URL)
	s, err := New(Config{
		Backend: BackendConfig{URL: u, AccessKey: "a", SecretKey: "b"}, RootUser: testRoot, RootPassword: testPassword,
		KMS: kms, DefaultKey: "default-key", PlaintextBuckets: []string{"plainbucket"},
		Observe: func(ri RequestInfo) {
			h.mu.Lock()
			h.ops = append(h.ops, ri.Operation)
			h.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.ready.Store(true)
	h.srv = s
	return h
}

// send signs and serves one request with exactly the raw target given,
// and returns the operation s3seal classified it as ("" if it refused it
// before routing) and what reached the backend.
func (h *forwardingHarness) send(t testing.TB, method, target string, header http.Header, body []byte) (string, []forwarded) {
	t.Helper()
	path, query, _ := strings.Cut(target, "?")
	r, err := http.NewRequestWithContext(context.Background(), method, "http://gw.test/", bytes.NewReader(body))
	if err != nil {
		return "", nil
	}
	r.URL.Path, r.URL.RawPath = path, ""
	if u, err := url.Parse("http://gw.test" + path); err == nil {
		r.URL.Path, r.URL.RawPath = u.Path, u.RawPath
	}
	for k, v := range header {
		r.Header[k] = v
	}
	sum := sha256.Sum256(body)
	r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	// Sign what SigV4 reads (the decoded pairs), send the query as written.
	if canon, err := sigv4.CanonicalQuery(query); err == nil {
		r.URL.RawQuery = canon
	}
	r = signer.SignV4(*r, testRoot, testPassword, "", "us-east-1")
	r.URL.RawQuery = query
	r.RequestURI = r.URL.RequestURI()
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	h.mu.Lock()
	ops := h.ops
	h.ops = nil
	h.mu.Unlock()
	op := ""
	if len(ops) > 0 {
		op = ops[len(ops)-1]
	}
	return op, h.backend.take()
}

// checkForwarding fails if what reached the backend is not what s3seal
// classified, or if a client's payload reached an encrypted bucket as
// plaintext.
func checkForwarding(t testing.TB, op string, got []forwarded, payload []byte) {
	t.Helper()
	for _, f := range got {
		if f.bucket == "s3seal-system" {
			continue // s3seal's own records
		}
		allowed := mayForward[op]
		ok := false
		for _, a := range allowed {
			ok = ok || a == f.op
		}
		if !ok {
			t.Errorf("classified as %q, the backend executed %q", op, f.op)
		}
		if len(f.extra) > 0 && !(f.op == "GetObject" && f.extra[0] == "partNumber") && !(f.op == "HeadObject" && f.extra[0] == "partNumber") {
			t.Errorf("%s forwarded with further subresources %v", f.op, f.extra)
		}
		if dataWrites[f.op] && f.bucket != "plainbucket" && len(payload) >= 16 && bytes.Contains(f.body, payload) {
			t.Errorf("%s reached the backend's %s with the client's plaintext", f.op, f.bucket)
		}
		for k := range f.header {
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, "x-amz-copy-source") && f.op != "CopyObject" && f.op != "UploadPartCopy" {
				t.Errorf("%s forwarded with %s", f.op, k)
			}
		}
	}
}

var forwardingCorpus = []struct {
	method, target string
	header         http.Header
	want           string // the operation s3seal classifies it as; "" refused before routing
}{
	{"PUT", "/enc/o", nil, "PutObject"},
	{"PUT", "/enc/o?tagging", nil, "PutObjectTagging"},
	{"PUT", "/enc/o?%70artNumber=1&%75ploadId=U&tagging", nil, "UploadPart"},
	{"PUT", "/enc/o?partNumber=1&uploadId=U&acl", nil, "UploadPart"},
	{"POST", "/enc/o?%75ploads", nil, "CreateMultipartUpload"},
	{"POST", "/enc/o?%75ploadId=U", nil, "CompleteMultipartUpload"},
	{"PUT", "/enc/dst?retention", http.Header{"X-Amz-Copy-Source": {"/plainbucket/src"}}, "CopyObject"},
	{"PUT", "/enc/dst?legal-hold", http.Header{"X-Amz-Copy-Source": {"plainbucket%2Fsrc"}}, "CopyObject"},
	{"PUT", "/enc/dst?tagging", http.Header{"X-Amz-Copy-Source": {"/plainbucket/src"}, "X-Amz-Metadata-Directive": {"REPLACE"}}, "PutObjectTagging"},
	{"PUT", "/enc/o?acl", http.Header{"X-Amz-Meta-S3seal-Key": {"forged"}}, "PutObjectAcl"},
	{"PUT", "/enc/o", http.Header{"X-Amz-Meta-Snowball-Auto-Extract": {"true"}}, "PutObjectExtract"},
	{"PUT", "/enc/o", http.Header{"X-Amz-Write-Offset-Bytes": {"0"}}, "AppendObject"},
	{"PUT", "/enc/o", http.Header{"X-Minio-Internal-Replication": {"true"}}, "PutObject"},
	{"PUT", "/plainbucket/o", http.Header{"X-Amz-Copy-Source": {"noslash"}}, "PutObject"},
	{"PUT", "/enc/o?x-id=PutObject", nil, "PutObject"},
	{"PUT", "/enc/o?versioning", nil, "PutObject"},
	{"POST", "/enc/o?uploads&tagging", nil, "CreateMultipartUpload"},
	{"GET", "/enc?list-type=2&torrent", nil, "ListObjectsV2"},
	{"DELETE", "/enc/o?versioning&versionId=v", nil, "DeleteObject"},
	{"GET", "/enc/o?uploadId=U&attributes", nil, "GetObjectAttributes"},
	{"DELETE", "/enc?%70olicy", nil, "DeleteBucketPolicy"},
	{"DELETE", "/enc?ownershipControls", nil, "UnsupportedBucketSubresource"},
	{"PUT", "/enc?inventory", nil, "UnsupportedBucketSubresource"},
	{"POST", "/enc?delete", http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, "PostObject"},
	{"POST", "/enc?delete", nil, "DeleteObjects"},
	{"GET", "/enc?list-type=2&metadata=true", nil, "ListObjectsV2M"},
	{"GET", "/minio/admin/v3/info", nil, "NotImplemented"},
	{"POST", "/minio/admin/v3/service?action=stop", nil, "NotImplemented"},
	{"GET", "/enc/a/../../plainbucket/o", nil, "GetObject"},
	{"PATCH", "/enc/o", nil, "NotImplemented"},
	{"PUT", "/enc/o?partNumber=1&uploadId=a&uploadId=b", nil, "MalformedQuery"}, // refused before routing
}

func TestForwardedRequestIsTheClassifiedOperation(t *testing.T) {
	h := newForwardingHarness(t)
	payload := bytes.Repeat([]byte("secret plaintext "), 8)
	forwardedAny := 0
	for _, tc := range forwardingCorpus {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			var body []byte
			if tc.method == http.MethodPut || tc.method == http.MethodPost {
				body = payload
			}
			op, got := h.send(t, tc.method, tc.target, tc.header, body)
			if op != tc.want {
				t.Errorf("classified as %q, want %q", op, tc.want)
			}
			forwardedAny += len(got)
			checkForwarding(t, op, got, body)
		})
	}
	if forwardedAny < 10 {
		t.Errorf("only %d backend requests for the whole corpus: the check proves little", forwardedAny)
	}
}

func FuzzForwardedRequestIsTheClassifiedOperation(f *testing.F) {
	for _, tc := range forwardingCorpus {
		var hk, hv string
		for k, v := range tc.header {
			hk, hv = k, v[0]
		}
		path, query, _ := strings.Cut(tc.target, "?")
		f.Add(tc.method, path, query, hk, hv, []byte("secret plaintext secret plaintext"))
		_ = tc.want
	}
	h := newForwardingHarness(f)
	f.Fuzz(func(t *testing.T, method, path, query, hk, hv string, body []byte) {
		switch method {
		case "GET", "PUT", "POST", "DELETE", "HEAD":
		default:
			method = "PUT"
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#?") || strings.ContainsAny(query, " \r\n\t#") {
			return
		}
		header := http.Header{}
		if hk != "" && !strings.ContainsAny(hk+hv, "\r\n:\x00") && http.CanonicalHeaderKey(hk) != "Authorization" {
			header.Set(hk, hv)
		}
		op, got := h.send(t, method, path+"?"+query, header, body)
		checkForwarding(t, op, got, body)
	})
}
