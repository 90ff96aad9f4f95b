package sigv4

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/gateway/s3err"
)

const (
	tempAccessKey = "TEMPACCESSKEY0000001"
	tempSecret    = "temporary/secret+key0123456789abcdefghij"
	tempToken     = "opaque-session-token"
)

var tempCredentials = aws.Credentials{AccessKeyID: tempAccessKey, SecretAccessKey: tempSecret, SessionToken: tempToken}

// sessionVerifier knows the permanent test key and the temporary key with
// tempToken; every other token is InvalidTokenId.
func sessionVerifier() *Verifier {
	v := newVerifier(testTime, testAccessKey, testSecret)
	v.SessionSecret = func(accessKey, token string) (string, error) {
		if accessKey != tempAccessKey || token != tempToken {
			return "", s3err.New(s3err.InvalidTokenID, "")
		}
		return tempSecret, nil
	}
	return v
}

func tokenHeaderSigned(t *testing.T, creds aws.Credentials) *http.Request {
	t.Helper()
	r := newClientRequest(t, http.MethodGet, s3URL("k")+"?X-Amz-Security-Token=not-forwarded", nil)
	if creds.SessionToken == "" {
		r.URL.RawQuery = ""
	}
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if err := awsSigner.SignHTTP(context.Background(), creds, r, emptySHA256, "s3", testRegion, testTime); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return toServer(t, r)
}

func tokenPresigned(t *testing.T, creds aws.Credentials) *http.Request {
	t.Helper()
	r := newClientRequest(t, http.MethodGet, s3URL("k")+"?X-Amz-Expires=900", nil)
	u, _, err := awsSigner.PresignHTTP(context.Background(), creds, r, unsignedPayload, "s3", testRegion, testTime)
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	return toServer(t, newClientRequest(t, http.MethodGet, u, nil))
}

func TestTemporaryCredentialsAreVerifiedWithTheirToken(t *testing.T) {
	for name, sign := range map[string]func(*testing.T, aws.Credentials) *http.Request{
		"header": tokenHeaderSigned, "presigned": tokenPresigned,
	} {
		t.Run(name+" with the token verifies and reports it", func(t *testing.T) {
			r := sign(t, tempCredentials)
			res, err := sessionVerifier().Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.AccessKey != tempAccessKey || res.SessionToken != tempToken {
				t.Errorf("result: access key %q token %q, want %q %q", res.AccessKey, res.SessionToken, tempAccessKey, tempToken)
			}
			if r.Header.Get("X-Amz-Security-Token") != "" || strings.Contains(r.URL.RawQuery, "Security-Token") {
				t.Errorf("the token survived Verify: header %q, query %q", r.Header.Get("X-Amz-Security-Token"), r.URL.RawQuery)
			}
		})
		t.Run(name+" with another token is InvalidTokenId", func(t *testing.T) {
			c := tempCredentials
			c.SessionToken = "forged"
			_, err := sessionVerifier().Verify(sign(t, c))
			wantCode(t, err, s3err.InvalidTokenID)
		})
		t.Run(name+" without a session lookup is InvalidTokenId", func(t *testing.T) {
			_, err := newVerifier(testTime, testAccessKey, testSecret).Verify(sign(t, tempCredentials))
			wantCode(t, err, s3err.InvalidTokenID)
		})
		t.Run(name+" temporary key without its token is unknown", func(t *testing.T) {
			c := tempCredentials
			c.SessionToken = ""
			_, err := sessionVerifier().Verify(sign(t, c))
			wantCode(t, err, s3err.InvalidAccessKeyID)
		})
		t.Run(name+" lookup errors pass through", func(t *testing.T) {
			v := sessionVerifier()
			v.SessionSecret = func(string, string) (string, error) { return "", s3err.New(s3err.ExpiredToken, "") }
			_, err := v.Verify(sign(t, tempCredentials))
			wantCode(t, err, s3err.ExpiredToken)
		})
	}
	t.Run("a token swapped into a signed request breaks the signature", func(t *testing.T) {
		v := sessionVerifier()
		v.SessionSecret = func(string, string) (string, error) { return tempSecret, nil }
		r := tokenHeaderSigned(t, tempCredentials)
		r.Header.Set("X-Amz-Security-Token", "another-token")
		_, err := v.Verify(r)
		wantCode(t, err, s3err.SignatureDoesNotMatch)
	})
}

func TestAnonymousRequests(t *testing.T) {
	t.Run("are recognised", func(t *testing.T) {
		for target, want := range map[string]bool{
			"/b/k":                        true,
			"/b/k?versionId=1":            true,
			"/b/k?X-Amz-Credential=x":     false,
			"/b/k?X-Amz-Signature=x":      false,
			"/b/k?AWSAccessKeyId=x":       false,
			"/b/k?X-Amz-Security-Token=x": true,
		} {
			r := parseWire(t, []byte("GET "+target+" HTTP/1.1\r\nHost: h\r\n\r\n"))
			if got := IsAnonymous(r); got != want {
				t.Errorf("IsAnonymous(%s) = %v, want %v", target, got, want)
			}
		}
		r := parseWire(t, []byte("GET /b/k HTTP/1.1\r\nHost: h\r\nAuthorization: x\r\n\r\n"))
		if IsAnonymous(r) {
			t.Error("a request with an Authorization header is anonymous")
		}
	})
	t.Run("get their body verified against what it claims", func(t *testing.T) {
		body := "hello"
		r := parseWire(t, []byte("PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Md5: "+md5Base64([]byte("other"))+
			"\r\nX-Amz-Security-Token: t\r\n\r\n"+body))
		res, err := newVerifier(testTime).VerifyAnonymous(r, true)
		if err != nil {
			t.Fatalf("VerifyAnonymous: %v", err)
		}
		if res.AccessKey != "" || res.SessionToken != "" {
			t.Errorf("anonymous result names %q / %q", res.AccessKey, res.SessionToken)
		}
		if r.Header.Get("X-Amz-Security-Token") != "" || r.Header.Get("Content-Md5") != "" {
			t.Error("authentication headers survived VerifyAnonymous")
		}
		_, err = readPayload(t, res)
		wantCode(t, err, s3err.BadDigest)
	})
	t.Run("cannot send signed chunks", func(t *testing.T) {
		r := parseWire(t, []byte("PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Amz-Content-Sha256: "+streamingSigned+"\r\n\r\nhello"))
		_, err := newVerifier(testTime).VerifyAnonymous(r, true)
		wantCode(t, err, s3err.AccessDenied)
	})
	t.Run("signed requests are not anonymous", func(t *testing.T) {
		_, err := newVerifier(testTime).VerifyAnonymous(tokenHeaderSigned(t, awsCredentials), true)
		var e *s3err.Error
		if !errors.As(err, &e) || e.Code.Name != "AccessDenied" {
			t.Fatalf("VerifyAnonymous of a signed request: %v, want AccessDenied", err)
		}
	})
}

func TestV2HeaderRequestsCarryTheirToken(t *testing.T) {
	v := sessionVerifier()
	v.Now = func() time.Time { return testTime.Add(time.Minute) }
	sign := func(token string) *http.Request {
		r := newClientRequest(t, http.MethodGet, s3URL("k"), nil)
		r.Header.Set("Date", testTime.Format(http.TimeFormat))
		r.Header.Set("X-Amz-Security-Token", token)
		return toServer(t, signer.SignV2(*r, tempAccessKey, tempSecret, false))
	}
	r := sign(tempToken)
	res, err := v.Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.SessionToken != tempToken || r.Header.Get("X-Amz-Security-Token") != "" {
		t.Errorf("token %q reported, %q left in the request", res.SessionToken, r.Header.Get("X-Amz-Security-Token"))
	}
	_, err = v.Verify(sign("forged"))
	wantCode(t, err, s3err.InvalidTokenID)
}
