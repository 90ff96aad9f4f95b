package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// PostForm is the authentication a browser-form POST upload carries in its
// form fields instead of an Authorization header (AWS "Browser-Based
// Uploads Using POST (AWS Signature Version 4)").
type PostForm struct {
	Algorithm  string // x-amz-algorithm: AWS4-HMAC-SHA256
	Credential string // x-amz-credential: AKID/YYYYMMDD/REGION/s3/aws4_request
	Date       string // x-amz-date: YYYYMMDD'T'HHMMSS'Z', the credential's day
	Signature  string // x-amz-signature: 64 hex digits
	Policy     string // policy: the base64 policy document exactly as sent

	// SecurityToken (x-amz-security-token) is the session token of
	// temporary credentials, resolved through Verifier.SessionSecret.
	SecurityToken string

	// A Signature Version 2 form carries these instead of the four
	// x-amz-* fields: AWSAccessKeyId and signature, the base64
	// HMAC-SHA1 of the policy.
	AccessKeyV2, SignatureV2 string
}

// VerifyPostForm authenticates a browser-form POST upload and returns its
// access key. The string to sign is the base64 policy itself; the
// signature is its HMAC-SHA256 under the SigV4 signing key of the
// credential's date, region and service.
//
// It checks the algorithm, the credential scope (as Verify does: service s3,
// aws4_request, the configured region or the empty one), that x-amz-date
// is on the credential's day, the access key and the signature. It does not
// check x-amz-date against the clock (the policy's expiration bounds a
// form's life) and does not look inside the policy: once the policy is
// authentic, its expiration and conditions are the caller's to enforce.
//
// Errors are *s3err.Error: a missing field InvalidArgument, another
// algorithm InvalidRequest, a malformed credential or date
// AuthorizationQueryParametersError, an unknown key InvalidAccessKeyId, a
// wrong or malformed signature SignatureDoesNotMatch, a security token
// whatever SessionSecret answers (InvalidTokenId without one). Messages never contain
// a secret or a signature.
func (v *Verifier) VerifyPostForm(f PostForm) (accessKey string, err error) {
	if v.Secret == nil {
		return "", s3err.Wrap(s3err.InternalError, errors.New("sigv4: Verifier.Secret is nil"))
	}
	if f.Algorithm == "" && f.Credential == "" && f.AccessKeyV2 != "" {
		return v.verifyPostFormV2(f)
	}
	for _, field := range []struct{ name, value string }{
		{"x-amz-algorithm", f.Algorithm},
		{"x-amz-credential", f.Credential},
		{"x-amz-date", f.Date},
		{"x-amz-signature", f.Signature},
		{"policy", f.Policy},
	} {
		if field.value == "" {
			return "", s3err.New(s3err.InvalidArgument, "Bucket POST must contain a field named '%s'.", field.name)
		}
	}
	if f.Algorithm != signingAlgorithm {
		return "", errUnsupportedAlgorithm
	}
	cred, ok := parseCredential(f.Credential)
	if !ok {
		return "", queryMalformed(credentialFormat)
	}
	if err := v.checkScope(cred, queryMalformed); err != nil {
		return "", err
	}
	if _, err := time.Parse(iso8601Basic, f.Date); err != nil {
		return "", s3err.New(s3err.AuthorizationQueryParametersError,
			"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	if cred.date != f.Date[:8] {
		return "", queryMalformed(fmt.Sprintf("Invalid credential date %q. This date is not the same as X-Amz-Date: %q.", cred.date, f.Date[:8]))
	}
	secret, err := v.secret(cred.accessKey, f.SecurityToken)
	if err != nil {
		return "", err
	}
	var sig [32]byte
	if !decodeSignature(f.Signature, &sig) {
		return "", s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	mac := hmac.New(sha256.New, signingKey(secret, cred.date, cred.region, cred.service))
	mac.Write([]byte(f.Policy))
	if !hmac.Equal(mac.Sum(nil), sig[:]) {
		return "", s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	return cred.accessKey, nil
}

// verifyPostFormV2 authenticates a Signature Version 2 form: signature is
// the base64 HMAC-SHA1 of the base64 policy under the secret key.
func (v *Verifier) verifyPostFormV2(f PostForm) (string, error) {
	for _, field := range []struct{ name, value string }{{"signature", f.SignatureV2}, {"policy", f.Policy}} {
		if field.value == "" {
			return "", s3err.New(s3err.InvalidArgument, "Bucket POST must contain a field named '%s'.", field.name)
		}
	}
	secret, err := v.secret(f.AccessKeyV2, f.SecurityToken)
	if err != nil {
		return "", err
	}
	got, err := base64.StdEncoding.DecodeString(f.SignatureV2)
	if err != nil || len(got) != sha1.Size {
		return "", s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(f.Policy))
	if !hmac.Equal(mac.Sum(nil), got) {
		return "", s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	return f.AccessKeyV2, nil
}
