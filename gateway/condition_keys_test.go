package gateway

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestListingConditionKeysOnEveryListRoute: s3:prefix and s3:delimiter are
// filled for every listing, whichever action it needs.
func TestListingConditionKeysOnEveryListRoute(t *testing.T) {
	g := newIAMGateway(t)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",
		"Action":["s3:ListBucket","s3:ListBucketVersions","s3:ListBucketMultipartUploads"],"Resource":"arn:aws:s3:::` + testBucket + `",
		"Condition":{"StringLike":{"s3:prefix":"secret/*"},"StringEquals":{"s3:delimiter":"/"}}}]}`
	g.setBucketPolicy(testBucket, doc)
	for _, q := range []string{"list-type=2", "", "versions", "uploads", "list-type=2&metadata=true", "versions&metadata=true"} {
		sep := "?"
		if q != "" {
			q += "&"
		}
		denied := g.doAs("writer", userSecret, http.MethodGet, "/"+testBucket+sep+q+"prefix=secret%2Fx&delimiter=%2F", nil)
		if denied.code() != "AccessDenied" {
			t.Errorf("GET ?%sprefix=secret/x&delimiter=/: %v, want AccessDenied", q, denied)
		}
		if q == "uploads&" {
			continue // memS3 does not list uploads
		}
		other := g.doAs("writer", userSecret, http.MethodGet, "/"+testBucket+sep+q+"prefix=public%2F&delimiter=%2F", nil)
		if other.status != http.StatusOK {
			t.Errorf("GET ?%sprefix=public/&delimiter=/: %v, want 200", q, other)
		}
	}
}

// TestGlobalConditionKeysForEveryCaller: aws:SecureTransport follows the
// connection, aws:username names the parent of temporary credentials and
// is empty for anonymous callers.
func TestGlobalConditionKeysForEveryCaller(t *testing.T) {
	g, _, _ := newSTSGateway(t)
	g.put(testBucket, "k", []byte("v"))
	t.Run("SecureTransport", func(t *testing.T) {
		g.setBucketPolicy(testBucket, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject",
			"Resource":"arn:aws:s3:::bkt/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)
		if res := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil); res.code() != "AccessDenied" {
			t.Errorf("plain http: %v, want AccessDenied", res)
		}
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "https://s3.test"+objectTarget(testBucket, "k", ""), nil)
		r.TLS = &tls.ConnectionState{}
		r.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
		if res := g.serve(signV4(r, testRoot, testPassword)); res.status != http.StatusOK {
			t.Errorf("https: %v, want 200", res)
		}
	})
	t.Run("username of temporary credentials is the parent's", func(t *testing.T) {
		g.setBucketPolicy(testBucket, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject",
			"Resource":"arn:aws:s3:::bkt/*","Condition":{"StringEquals":{"aws:username":"`+stsUser+`"}}}]}`)
		c := g.mustAssumeRole(userCreds, assumeRoleForm())
		if res := g.doTemp(c, http.MethodGet, objectTarget(testBucket, "k", ""), nil); res.code() != "AccessDenied" {
			t.Errorf("temporary credentials of %s: %v, want AccessDenied", stsUser, res)
		}
		root := g.mustAssumeRole(aws.Credentials{AccessKeyID: testRoot, SecretAccessKey: testPassword}, assumeRoleForm())
		if res := g.doTemp(root, http.MethodGet, objectTarget(testBucket, "k", ""), nil); res.status != http.StatusOK {
			t.Errorf("temporary credentials of root: %v, want 200", res)
		}
	})
	t.Run("a Deny naming the parent binds its sessions", func(t *testing.T) {
		g.setBucketPolicy(testBucket, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":["`+stsUser+`"]},"Action":"s3:GetObject",
			"Resource":"arn:aws:s3:::bkt/*"}]}`)
		c := g.mustAssumeRole(userCreds, assumeRoleForm())
		if res := g.doTemp(c, http.MethodGet, objectTarget(testBucket, "k", ""), nil); res.code() != "AccessDenied" {
			t.Errorf("session of a denied user: %v, want AccessDenied", res)
		}
	})
}
