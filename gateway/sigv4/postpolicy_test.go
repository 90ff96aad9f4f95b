package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// The worked example of the Amazon S3 API reference, "Example: Browser-Based
// Upload using HTTP POST (Using AWS Signature Version 4)": the policy as
// published (CRLF line ends) in base64, and its published signature.
const (
	examplePostPolicy     = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
	examplePostSignature  = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
	examplePostCredential = "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"
	examplePostDate       = "20151229T000000Z"
)

func examplePostForm() PostForm {
	return PostForm{
		Algorithm:  "AWS4-HMAC-SHA256",
		Credential: examplePostCredential,
		Date:       examplePostDate,
		Signature:  examplePostSignature,
		Policy:     examplePostPolicy,
	}
}

func TestVerifyPostFormAcceptsTheAWSDocumentedExample(t *testing.T) {
	// The clock is years past the policy's expiration: the signature does
	// not depend on it, the policy check (the gateway's) does.
	v := newVerifier(time.Now(), exampleAccessKey, exampleSecret)
	got, err := v.VerifyPostForm(examplePostForm())
	if err != nil {
		t.Fatalf("VerifyPostForm: %v", err)
	}
	if got != exampleAccessKey {
		t.Errorf("access key %q, want %q", got, exampleAccessKey)
	}
	policy, err := base64.StdEncoding.DecodeString(examplePostPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(policy), `{"bucket": "sigv4examplebucket"}`) {
		t.Errorf("decoded policy %q is not the documented one", policy)
	}
}

func TestVerifyPostFormRefuses(t *testing.T) {
	// tampered re-encodes the documented policy with one byte changed.
	tampered := func() string {
		p, _ := base64.StdEncoding.DecodeString(examplePostPolicy)
		p = []byte(strings.Replace(string(p), "user/user1/", "user/user2/", 1))
		return base64.StdEncoding.EncodeToString(p)
	}()
	tests := []struct {
		name     string
		edit     func(f *PostForm)
		wantCode s3err.Code
	}{
		{"a tampered policy", func(f *PostForm) { f.Policy = tampered }, s3err.SignatureDoesNotMatch},
		{"the policy with trailing padding", func(f *PostForm) { f.Policy += "=" }, s3err.SignatureDoesNotMatch},
		{"a tampered signature", func(f *PostForm) { f.Signature = "0" + f.Signature[1:] }, s3err.SignatureDoesNotMatch},
		{"a signature that is not hex", func(f *PostForm) { f.Signature = strings.Repeat("z", 64) }, s3err.SignatureDoesNotMatch},
		{"a short signature", func(f *PostForm) { f.Signature = f.Signature[:63] }, s3err.SignatureDoesNotMatch},
		{"an unknown access key", func(f *PostForm) {
			f.Credential = strings.Replace(f.Credential, "AKIAIOSFODNN7EXAMPLE", "AKIAUNKNOWN", 1)
		}, s3err.InvalidAccessKeyID},
		{"another region", func(f *PostForm) {
			f.Credential = strings.Replace(f.Credential, "us-east-1", "eu-west-1", 1)
		}, s3err.AuthorizationQueryParametersError},
		{"another service", func(f *PostForm) { f.Credential = strings.Replace(f.Credential, "/s3/", "/ec2/", 1) }, s3err.AuthorizationQueryParametersError},
		{"a malformed credential", func(f *PostForm) { f.Credential = "AKIAIOSFODNN7EXAMPLE/20151229" }, s3err.AuthorizationQueryParametersError},
		{"a date on another day than the credential", func(f *PostForm) { f.Date = "20151230T000000Z" }, s3err.AuthorizationQueryParametersError},
		{"a malformed date", func(f *PostForm) { f.Date = "2015-12-29" }, s3err.AuthorizationQueryParametersError},
		{"another algorithm", func(f *PostForm) { f.Algorithm = "AWS4-ECDSA-P256-SHA256" }, s3err.InvalidRequest},
		{"no signature", func(f *PostForm) { f.Signature = "" }, s3err.InvalidArgument},
		{"no policy", func(f *PostForm) { f.Policy = "" }, s3err.InvalidArgument},
		{"no credential", func(f *PostForm) { f.Credential = "" }, s3err.InvalidArgument},
	}
	v := newVerifier(time.Now(), exampleAccessKey, exampleSecret)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := examplePostForm()
			tc.edit(&f)
			_, err := v.VerifyPostForm(f)
			if !s3err.HasCode(err, tc.wantCode) {
				t.Fatalf("got %v, want %s", err, tc.wantCode.Name)
			}
			if msg := err.Error(); strings.Contains(msg, examplePostSignature) || strings.Contains(msg, exampleSecret) {
				t.Errorf("error %q reveals the signature or the secret", msg)
			}
		})
	}
}

func TestVerifyPostFormAcceptsTheEmptyRegion(t *testing.T) {
	// mc signs admin requests for the empty region; a form signed that way
	// is accepted as header-signed requests are.
	const policy = "eyJleHBpcmF0aW9uIjoiMjAzMC0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbXX0="
	key := signingKey(exampleSecret, "20151229", "", "s3")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(policy))
	v := newVerifier(time.Now(), exampleAccessKey, exampleSecret)
	_, err := v.VerifyPostForm(PostForm{
		Algorithm:  "AWS4-HMAC-SHA256",
		Credential: "AKIAIOSFODNN7EXAMPLE/20151229//s3/aws4_request",
		Date:       examplePostDate,
		Signature:  hex.EncodeToString(mac.Sum(nil)),
		Policy:     policy,
	})
	if err != nil {
		t.Errorf("VerifyPostForm: %v, want success", err)
	}
}
