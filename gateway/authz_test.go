package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

func TestEveryOperationNamesItsActions(t *testing.T) {
	g := newTestGateway(t, nil)
	// AssumeRole is open to every long-term identity, as MinIO's.
	unauthenticated := map[string]bool{"HealthLive": true, "HealthReady": true, "Metrics": true, "AssumeRole": true}
	seen := 0
	err := g.s.routes().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		name := route.GetName()
		if unauthenticated[name] {
			return nil
		}
		seen++
		acc, ok := operationAccess[name]
		if !ok || len(acc.actions) == 0 {
			t.Errorf("route %s names no action: add it to operationAccess", name)
			return nil
		}
		for _, a := range acc.actions {
			if !policy.IsKnownAction(a) {
				t.Errorf("route %s: %q is not an action of the policy language", name, a)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < len(Operations()) {
		t.Fatalf("walked %d routes, fewer than the %d operations", seen, len(Operations()))
	}
}

// doAs sends a request signed by accessKey.
func (g *testGateway) doAs(accessKey, secret, method, target string, body []byte, header ...string) *s3Response {
	g.t.Helper()
	r := httptest.NewRequestWithContext(g.t.Context(), method, "http://s3.test"+target, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	sum := sha256.Sum256(body)
	r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	r.ContentLength = int64(len(body))
	return g.serve(signV4(r, accessKey, secret))
}

const userSecret = "user-secret-123"

func newIAMGateway(t *testing.T) *testGateway {
	t.Helper()
	readonly, _ := policy.Builtin("readonly")
	readwrite, _ := policy.Builtin("readwrite")
	home, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::` + testBucket + `","Condition":{"StringLike":{"s3:prefix":"${aws:username}/*"}}},
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],
		 "Resource":"arn:aws:s3:::` + testBucket + `/${aws:username}/*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := NewStaticCredentials([]*Identity{
		{AccessKey: "reader", SecretKey: userSecret, Policies: []*policy.Policy{readonly}},
		{AccessKey: "writer", SecretKey: userSecret, Policies: []*policy.Policy{readwrite}},
		{AccessKey: "alice", SecretKey: userSecret, Policies: []*policy.Policy{home}},
		{AccessKey: "nobody", SecretKey: userSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	return newTestGateway(t, func(c *Config) { c.Credentials = creds })
}

func TestUsersGetExactlyTheirPoliciesRights(t *testing.T) {
	g := newIAMGateway(t)
	for _, k := range []string{"a", "alice/a", "bob/a"} {
		if res := g.do(http.MethodPut, objectTarget(testBucket, k, ""), []byte("data")); res.status != http.StatusOK {
			t.Fatalf("root PUT %s: %v", k, res)
		}
	}
	for _, tc := range []struct {
		user, method, target string
		header               []string
		want                 int
	}{
		{"reader", http.MethodGet, objectTarget(testBucket, "a", ""), nil, http.StatusOK},
		{"reader", http.MethodHead, objectTarget(testBucket, "a", ""), nil, http.StatusOK},
		{"reader", http.MethodPut, objectTarget(testBucket, "b", ""), nil, http.StatusForbidden},
		{"reader", http.MethodDelete, objectTarget(testBucket, "a", ""), nil, http.StatusForbidden},
		{"reader", http.MethodGet, "/" + testBucket + "?list-type=2", nil, http.StatusForbidden}, // readonly has no s3:ListBucket
		{"writer", http.MethodPut, objectTarget(testBucket, "w", ""), nil, http.StatusOK},
		{"writer", http.MethodGet, "/" + testBucket + "?list-type=2", nil, http.StatusOK},
		{"alice", http.MethodGet, objectTarget(testBucket, "alice/a", ""), nil, http.StatusOK},
		{"alice", http.MethodGet, objectTarget(testBucket, "bob/a", ""), nil, http.StatusForbidden},
		{"alice", http.MethodPut, objectTarget(testBucket, "alice/new", ""), nil, http.StatusOK},
		{"alice", http.MethodPut, objectTarget(testBucket, "new", ""), nil, http.StatusForbidden},
		{"alice", http.MethodGet, "/" + testBucket + "?list-type=2&prefix=alice%2F", nil, http.StatusOK},
		{"alice", http.MethodGet, "/" + testBucket + "?list-type=2&prefix=bob%2F", nil, http.StatusForbidden},
		{"alice", http.MethodGet, "/" + testBucket + "?list-type=2", nil, http.StatusForbidden},
		{"alice", http.MethodPut, objectTarget(testBucket, "alice/copy", ""), []string{"X-Amz-Copy-Source", "/" + testBucket + "/alice/a"}, http.StatusOK},
		{"alice", http.MethodPut, objectTarget(testBucket, "alice/copy", ""), []string{"X-Amz-Copy-Source", "/" + testBucket + "/bob/a"}, http.StatusForbidden},
		{"alice", http.MethodPut, objectTarget(testBucket, "bob/copy", ""), []string{"X-Amz-Copy-Source", "/" + testBucket + "/alice/a"}, http.StatusForbidden},
		{"alice", http.MethodPost, objectTarget(testBucket, "alice/mp", "uploads"), nil, http.StatusOK},
		{"alice", http.MethodPost, objectTarget(testBucket, "bob/mp", "uploads"), nil, http.StatusForbidden},
		{"nobody", http.MethodGet, objectTarget(testBucket, "a", ""), nil, http.StatusForbidden},
	} {
		t.Run(tc.user+" "+tc.method+" "+tc.target+" "+strings.Join(tc.header, "="), func(t *testing.T) {
			var body []byte
			if tc.method == http.MethodPut && len(tc.header) == 0 {
				body = []byte("data")
			}
			res := g.doAs(tc.user, userSecret, tc.method, tc.target, body, tc.header...)
			if res.status != tc.want {
				t.Fatalf("got %v, want %d", res, tc.want)
			}
			if tc.want == http.StatusForbidden && tc.method != http.MethodHead && res.code() != "AccessDenied" {
				t.Fatalf("got code %q, want AccessDenied", res.code())
			}
		})
	}
	t.Run("ListBuckets shows what a user may list or locate", func(t *testing.T) {
		g.be.buckets["other"] = map[string]*memObject{}
		for user, want := range map[string]string{"reader": testBucket + ",other", "writer": testBucket + ",other"} {
			res := g.doAs(user, userSecret, http.MethodGet, "/", nil)
			var doc struct {
				Names []string `xml:"Buckets>Bucket>Name"`
			}
			if err := xml.Unmarshal(res.body, &doc); err != nil || res.status != http.StatusOK {
				t.Fatalf("%s: got %v (%v)", user, res, err)
			}
			slices.Sort(doc.Names)
			wantNames := strings.Split(want, ",")
			slices.Sort(wantNames)
			if !slices.Equal(doc.Names, wantNames) {
				t.Errorf("%s sees %v, want %v", user, doc.Names, wantNames)
			}
		}
		// alice may list only under her prefix, which ListBuckets's
		// prefix "" is not (MinIO's filter).
		for _, user := range []string{"nobody", "alice"} {
			if res := g.doAs(user, userSecret, http.MethodGet, "/", nil); res.code() != "AccessDenied" {
				t.Errorf("%s: got %v, want AccessDenied", user, res)
			}
		}
	})
	t.Run("a wrong secret is still a signature error", func(t *testing.T) {
		res := g.doAs("alice", "not-the-secret", http.MethodGet, objectTarget(testBucket, "alice/a", ""), nil)
		if res.code() != "SignatureDoesNotMatch" {
			t.Fatalf("got %v, want SignatureDoesNotMatch", res)
		}
	})
	t.Run("DeleteObjects checks every key", func(t *testing.T) {
		del := func(keys ...string) *s3Response {
			var b strings.Builder
			b.WriteString("<Delete>")
			for _, k := range keys {
				b.WriteString("<Object><Key>" + k + "</Key></Object>")
			}
			b.WriteString("</Delete>")
			return g.doAs("alice", userSecret, http.MethodPost, "/"+testBucket+"?delete", []byte(b.String()), "Content-Type", "application/xml")
		}
		if res := del("alice/a", "bob/a"); res.status != http.StatusForbidden {
			t.Fatalf("deleting another's key: got %v, want 403", res)
		}
		if _, _, ok := g.be.object(testBucket, "alice/a"); !ok {
			t.Fatal("a refused DeleteObjects deleted alice/a")
		}
		// memS3 has no DeleteObjects: what counts is that the request
		// was authorised and forwarded.
		g.be.forget()
		forwarded := func() bool {
			for _, c := range g.be.calls() {
				if c.Bucket == testBucket && c.Query.Has("delete") {
					return true
				}
			}
			return false
		}
		if res := del("alice/a"); res.code() == "AccessDenied" || !forwarded() {
			t.Fatalf("deleting her own key: got %v, want it forwarded", res)
		}
	})
}

func TestBucketPolicyRefusesPutsNotEncryptedWithSSEKMS(t *testing.T) {
	g := newIAMGateway(t)
	doc := `{"Version":"2012-10-17","Statement":[
		{"Sid":"DenyNotKMS","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + testBucket + `/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
		{"Sid":"DenyOtherKey","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + testBucket + `/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"` + otherKey + `"},
		              "Null":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"false"}}},
		{"Sid":"ReaderMayRead","Effect":"Allow","Principal":{"AWS":["reader"]},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::` + testBucket + `"}]}`
	if res := g.doAs("writer", userSecret, http.MethodPut, "/"+testBucket+"?policy", []byte(doc)); res.status != http.StatusNoContent {
		t.Fatalf("PutBucketPolicy: %v", res)
	}
	if c := g.be.calls(); len(c) > 0 {
		for _, call := range c {
			if call.Bucket == testBucket && call.Query.Has("policy") {
				t.Fatal("the bucket policy reached the backend")
			}
		}
	}
	for _, tc := range []struct {
		name, user string
		header     []string
		want       int
	}{
		{"unencrypted by a user", "writer", nil, http.StatusForbidden},
		{"unencrypted by root", testRoot, nil, http.StatusForbidden},
		{"SSE-S3", "writer", []string{"X-Amz-Server-Side-Encryption", "AES256"}, http.StatusForbidden},
		{"SSE-KMS, default key", "writer", []string{"X-Amz-Server-Side-Encryption", "aws:kms"}, http.StatusOK},
		{"SSE-KMS, the key", "writer", []string{"X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", otherKey}, http.StatusOK},
		{"SSE-KMS, another key", "writer", []string{"X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "default-key"}, http.StatusForbidden},
		{"SSE-KMS by root", testRoot, []string{"X-Amz-Server-Side-Encryption", "aws:kms"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := userSecret
			if tc.user == testRoot {
				secret = testPassword
			}
			res := g.doAs(tc.user, secret, http.MethodPut, objectTarget(testBucket, "k", ""), []byte("data"), tc.header...)
			if res.status != tc.want {
				t.Fatalf("got %v, want %d", res, tc.want)
			}
		})
	}
	t.Run("a bucket default encryption does not satisfy it (AWS evaluates headers)", func(t *testing.T) {
		conf := `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>` + otherKey + `</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`
		if res := g.do(http.MethodPut, "/"+testBucket+"?encryption", []byte(conf)); res.status != http.StatusOK {
			t.Fatalf("PutBucketEncryption: %v", res)
		}
		if res := g.doAs("writer", userSecret, http.MethodPut, objectTarget(testBucket, "k", ""), []byte("data")); res.status != http.StatusForbidden {
			t.Fatalf("got %v, want 403", res)
		}
	})
	t.Run("multipart parts carry the upload's encryption", func(t *testing.T) {
		res := g.doAs("writer", userSecret, http.MethodPost, objectTarget(testBucket, "mp", "uploads"), nil, "X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", otherKey)
		if res.status != http.StatusOK {
			t.Fatalf("CreateMultipartUpload: %v", res)
		}
		id := between(string(res.body), "<UploadId>", "</UploadId>")
		if res := g.doAs("writer", userSecret, http.MethodPut, objectTarget(testBucket, "mp", "partNumber=1&uploadId="+id), []byte("part")); res.status != http.StatusOK {
			t.Fatalf("UploadPart: %v", res)
		}
		if res := g.doAs("writer", userSecret, http.MethodPost, objectTarget(testBucket, "mp2", "uploads"), nil); res.status != http.StatusForbidden {
			t.Fatalf("unencrypted CreateMultipartUpload: got %v, want 403", res)
		}
	})
	t.Run("the bucket policy allows what the user policy does not", func(t *testing.T) {
		if res := g.doAs("reader", userSecret, http.MethodGet, "/"+testBucket+"?list-type=2", nil); res.status != http.StatusOK {
			t.Fatalf("got %v, want 200", res)
		}
	})
	t.Run("root can always read and remove the policy", func(t *testing.T) {
		deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::` + testBucket + `","arn:aws:s3:::` + testBucket + `/*"]}]}`
		if res := g.do(http.MethodPut, "/"+testBucket+"?policy", []byte(deny)); res.status != http.StatusNoContent {
			t.Fatalf("PutBucketPolicy: %v", res)
		}
		if res := g.do(http.MethodGet, "/"+testBucket+"?list-type=2", nil); res.status != http.StatusForbidden {
			t.Fatalf("root list under deny-all: got %v, want 403", res)
		}
		if res := g.do(http.MethodGet, "/"+testBucket+"?policy", nil); res.status != http.StatusOK || string(res.body) != deny {
			t.Fatalf("GetBucketPolicy: %v", res)
		}
		if res := g.do(http.MethodDelete, "/"+testBucket+"?policy", nil); res.status != http.StatusNoContent {
			t.Fatalf("DeleteBucketPolicy: %v", res)
		}
		if res := g.do(http.MethodGet, "/"+testBucket+"?policy", nil); res.code() != "NoSuchBucketPolicy" {
			t.Fatalf("GetBucketPolicy after delete: got %v, want NoSuchBucketPolicy", res)
		}
		if res := g.do(http.MethodGet, "/"+testBucket+"?list-type=2", nil); res.status != http.StatusOK {
			t.Fatalf("root list after delete: got %v, want 200", res)
		}
	})
	t.Run("malformed policies are refused", func(t *testing.T) {
		for _, doc := range []string{`{`, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::elsewhere/*"}]}`,
			`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + testBucket + `/*"}]}`} {
			if res := g.do(http.MethodPut, "/"+testBucket+"?policy", []byte(doc)); res.code() != "MalformedPolicy" || res.status != http.StatusBadRequest {
				t.Fatalf("PutBucketPolicy %s: got %v, want 400 MalformedPolicy", doc, res)
			}
		}
		big := `{"Version":"2012-10-17","Id":"` + strings.Repeat("x", policy.MaxSize) + `"}`
		if res := g.do(http.MethodPut, "/"+testBucket+"?policy", []byte(big)); res.code() != "PolicyTooLarge" {
			t.Fatalf("PutBucketPolicy of %d bytes: got %v, want PolicyTooLarge", len(big), res)
		}
	})
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestAdminKMSAPINeedsKMSActions(t *testing.T) {
	consoleAdmin, _ := policy.Builtin("consoleAdmin")
	readwrite, _ := policy.Builtin("readwrite")
	tenant, err := policy.Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":["kms:CreateKey","kms:KeyStatus"],"Resource":"arn:minio:kms:::tenant-*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := NewStaticCredentials([]*Identity{
		{AccessKey: "admin", SecretKey: userSecret, Policies: []*policy.Policy{consoleAdmin}},
		{AccessKey: "writer", SecretKey: userSecret, Policies: []*policy.Policy{readwrite}},
		{AccessKey: "tenant", SecretKey: userSecret, Policies: []*policy.Policy{tenant}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGateway(t, func(c *Config) { c.Credentials = creds })
	for _, tc := range []struct {
		user, method, target string
		want                 int
	}{
		{"admin", http.MethodPost, "/minio/kms/v1/key/create?key-id=a1", http.StatusOK},
		{"admin", http.MethodGet, "/minio/kms/v1/key/list?pattern=*", http.StatusOK},
		{"writer", http.MethodPost, "/minio/kms/v1/key/create?key-id=w1", http.StatusForbidden},
		{"writer", http.MethodGet, "/minio/kms/v1/status", http.StatusForbidden},
		{"tenant", http.MethodPost, "/minio/kms/v1/key/create?key-id=tenant-1", http.StatusOK},
		{"tenant", http.MethodPost, "/minio/kms/v1/key/create?key-id=other", http.StatusForbidden},
		{"tenant", http.MethodGet, "/minio/kms/v1/key/status?key-id=tenant-1", http.StatusOK},
		{"tenant", http.MethodPost, "/minio/kms/v1/key/rotate?key-id=tenant-1", http.StatusForbidden},
		{"tenant", http.MethodGet, "/minio/kms/v1/key/list?pattern=*", http.StatusForbidden},
	} {
		t.Run(tc.user+" "+tc.method+" "+tc.target, func(t *testing.T) {
			res := g.doAs(tc.user, userSecret, tc.method, tc.target, nil)
			if res.status != tc.want {
				t.Fatalf("got %v, want %d", res, tc.want)
			}
		})
	}
}

func TestPostObjectIsAuthorisedLikePutObject(t *testing.T) {
	g := newPostServer(t)
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*",
		"Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}`
	if res := g.do(http.MethodPut, "/photos?policy", []byte(deny)); res.status != http.StatusNoContent {
		t.Fatalf("PutBucketPolicy: %v", res)
	}
	exp := time.Now().Add(time.Hour)
	conds := []string{`["starts-with", "$key", ""]`, `["starts-with", "$x-amz-server-side-encryption", ""]`}
	w := submitForm(t, g.s, "http://s3.test/photos", signedForm("photos", exp, conds[:1], map[string]string{"key": "plain.jpg"}), "data")
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "AccessDenied") {
		t.Fatalf("unencrypted form upload: got %d %s, want 403 AccessDenied", w.Code, w.Body)
	}
	w = submitForm(t, g.s, "http://s3.test/photos", signedForm("photos", exp, conds, map[string]string{"key": "kms.jpg", "x-amz-server-side-encryption": "aws:kms"}), "data")
	if w.Code != http.StatusNoContent {
		t.Fatalf("SSE-KMS form upload: got %d %s, want 204", w.Code, w.Body)
	}
}

func BenchmarkAuthorizeUserPut(b *testing.B) {
	home, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bkt/${aws:username}/*"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	creds, _ := NewStaticCredentials([]*Identity{{AccessKey: "alice", SecretKey: userSecret, Policies: []*policy.Policy{home}}})
	be := newMemS3(testBucket)
	srv := httptest.NewServer(be)
	b.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	g, err := New(Config{
		Backend:  BackendConfig{URL: u, AccessKey: "backend-user", SecretKey: "backend-secret"},
		RootUser: testRoot, RootPassword: testPassword, Credentials: creds,
		KMS: kmsclient.New(&mem.Store{}, kmsclient.Config{}), DefaultKey: "default-key",
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Init(b.Context()); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPut, "http://s3.test/bkt/alice/x", nil)
	r.Header.Set("X-Amz-Server-Side-Encryption", "aws:kms")
	req := &s3Request{operation: "PutObject", bucket: testBucket, object: "alice/x", accessKey: "alice"}
	b.ReportAllocs()
	for b.Loop() {
		if err := g.authorize(r, req, "PutObject"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConditionKeysComeFromTheRequest(t *testing.T) {
	g := newIAMGateway(t)
	// httptest requests come from 192.0.2.1 over plain http.
	for _, tc := range []struct {
		name, condition, target string
		header                  []string
		wantDenied              bool
	}{
		{"insecure transport", `{"Bool":{"aws:SecureTransport":"false"}}`, "/" + testBucket + "?list-type=2", nil, true},
		{"source ip inside", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "/" + testBucket + "?list-type=2", nil, true},
		{"source ip outside", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "/" + testBucket + "?list-type=2", nil, false},
		{"user agent", `{"StringLike":{"aws:UserAgent":"evil-*"}}`, "/" + testBucket + "?list-type=2", []string{"User-Agent", "evil-bot/1.0"}, true},
		{"referer", `{"StringEquals":{"aws:Referer":"https://a.example/"}}`, "/" + testBucket + "?list-type=2", []string{"Referer", "https://a.example/"}, true},
		{"username", `{"StringEquals":{"aws:username":"writer"}}`, "/" + testBucket + "?list-type=2", nil, true},
		{"prefix", `{"StringLike":{"s3:prefix":"secret/*"}}`, "/" + testBucket + "?list-type=2&prefix=secret%2Fx", nil, true},
		{"prefix elsewhere", `{"StringLike":{"s3:prefix":"secret/*"}}`, "/" + testBucket + "?list-type=2&prefix=public%2F", nil, false},
		{"delimiter", `{"StringEquals":{"s3:delimiter":"/"}}`, "/" + testBucket + "?list-type=2&delimiter=%2F", nil, true},
		{"max-keys", `{"NumericGreaterThan":{"s3:max-keys":"100"}}`, "/" + testBucket + "?list-type=2&max-keys=1000", nil, true},
		{"max-keys small", `{"NumericGreaterThan":{"s3:max-keys":"100"}}`, "/" + testBucket + "?list-type=2&max-keys=10", nil, false},
		{"current time", `{"DateGreaterThan":{"aws:CurrentTime":"2000-01-01T00:00:00Z"}}`, "/" + testBucket + "?list-type=2", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::` + testBucket + `","Condition":` + tc.condition + `}]}`
			if res := g.do(http.MethodPut, "/"+testBucket+"?policy", []byte(doc)); res.status != http.StatusNoContent {
				t.Fatalf("PutBucketPolicy: %v", res)
			}
			res := g.doAs("writer", userSecret, http.MethodGet, tc.target, nil, tc.header...)
			if denied := res.code() == "AccessDenied"; denied != tc.wantDenied {
				t.Fatalf("got %v, want denied=%v", res, tc.wantDenied)
			}
		})
	}
}

func TestSessionPolicyNarrowsAnIdentity(t *testing.T) {
	readwrite, _ := policy.Builtin("readwrite")
	readonly, _ := policy.Builtin("readonly")
	creds, err := NewStaticCredentials([]*Identity{{AccessKey: "narrowed", SecretKey: userSecret,
		Policies: []*policy.Policy{readwrite}, SessionPolicy: readonly}})
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGateway(t, func(c *Config) { c.Credentials = creds })
	if res := g.do(http.MethodPut, objectTarget(testBucket, "k", ""), []byte("data")); res.status != http.StatusOK {
		t.Fatalf("root PUT: %v", res)
	}
	if res := g.doAs("narrowed", userSecret, http.MethodGet, objectTarget(testBucket, "k", ""), nil); res.status != http.StatusOK {
		t.Errorf("GET allowed by both: got %v", res)
	}
	if res := g.doAs("narrowed", userSecret, http.MethodPut, objectTarget(testBucket, "k", ""), []byte("x")); res.code() != "AccessDenied" {
		t.Errorf("PUT outside the session policy: got %v, want AccessDenied", res)
	}
}
