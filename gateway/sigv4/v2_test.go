package sigv4

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// awsV2Examples are the signed requests of AWS's Signature Version 2
// documentation (path-style form of the virtual-hosted originals).
func TestV2MatchesAWSExamples(t *testing.T) {
	const ak, sk = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tests := []struct {
		method, url, contentType, date, sig string
	}{
		{"GET", "https://s3.amazonaws.com/johnsmith/photos/puppy.jpg", "", "Tue, 27 Mar 2007 19:36:42 +0000", "bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
		{"GET", "https://s3.amazonaws.com/awsexamplebucket1/photos/puppy.jpg", "", "Tue, 27 Mar 2007 19:36:42 +0000", "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="},
		{"PUT", "https://s3.amazonaws.com/johnsmith/photos/puppy.jpg", "image/jpeg", "Tue, 27 Mar 2007 21:15:45 +0000", "MyyxeRY7whkBe+bq8fHCL/2kKUg="},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.url, func(t *testing.T) {
			r := newClientRequest(t, tc.method, tc.url, nil)
			r.Header.Set("Date", tc.date)
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			r.Header.Set("Authorization", "AWS "+ak+":"+tc.sig)
			when, _ := time.Parse(time.RFC1123Z, tc.date)
			v := newVerifier(when.Add(time.Minute), ak, sk)
			res, err := v.Verify(toServer(t, r))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.AccessKey != ak {
				t.Errorf("access key %q", res.AccessKey)
			}
			r.Header.Set("Authorization", "AWS "+ak+":"+alterBase64(tc.sig))
			_, err = v.Verify(toServer(t, r))
			wantCode(t, err, s3err.SignatureDoesNotMatch)
		})
	}
}

func alterBase64(s string) string {
	b, _ := base64.StdEncoding.DecodeString(s)
	b[0] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

// v2Signed returns a request signed with minio-go's V2 signer at testTime.
func v2Signed(t *testing.T, method, url string, body []byte, header ...string) *http.Request {
	t.Helper()
	r := newClientRequest(t, method, url, body)
	r.Header.Set("Date", testTime.Format(http.TimeFormat))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return signer.SignV2(*r, testAccessKey, testSecret, false)
}

func TestV2HeaderRequestsFromMinioGo(t *testing.T) {
	body := []byte("signed with signature version 2")
	sum := md5.Sum(body)
	contentMD5 := base64.StdEncoding.EncodeToString(sum[:])
	v := newVerifier(testTime.Add(time.Minute), testAccessKey, testSecret)
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		want   s3err.Code // zero: accepted
		reason string
	}{
		{"a PUT with Content-MD5, a type and metadata", func(t *testing.T) *http.Request {
			return v2Signed(t, "PUT", "https://s3.test/bucket/dir/a%20key", body, "Content-Md5", contentMD5, "Content-Type", "text/plain", "X-Amz-Meta-Color", "blue")
		}, s3err.Code{}, ""},
		{"a multipart part", func(t *testing.T) *http.Request {
			return v2Signed(t, "PUT", "https://s3.test/bucket/key?partNumber=2&uploadId=abc%2Fdef", body)
		}, s3err.Code{}, ""},
		{"a listing with unsigned options", func(t *testing.T) *http.Request {
			return v2Signed(t, "GET", "https://s3.test/bucket?prefix=a%2Fb&delimiter=%2F&max-keys=10", nil)
		}, s3err.Code{}, ""},
		{"a GET with response overrides", func(t *testing.T) *http.Request {
			return v2Signed(t, "GET", "https://s3.test/bucket/key?response-content-type=text%2Fplain&versionId=v1", nil)
		}, s3err.Code{}, ""},
		{"x-amz-date instead of Date", func(t *testing.T) *http.Request {
			r := newClientRequest(t, "GET", "https://s3.test/bucket/key", nil)
			r.Header.Set("X-Amz-Date", testTime.Format(http.TimeFormat))
			return signer.SignV2(*r, testAccessKey, testSecret, false)
		}, s3err.Code{}, ""},
		{"a changed method", func(t *testing.T) *http.Request {
			r := v2Signed(t, "GET", "https://s3.test/bucket/key", nil)
			r.Method = "DELETE"
			return r
		}, s3err.SignatureDoesNotMatch, ""},
		{"a changed path", func(t *testing.T) *http.Request {
			r := v2Signed(t, "GET", "https://s3.test/bucket/key", nil)
			r.URL.Path = "/bucket/other"
			return r
		}, s3err.SignatureDoesNotMatch, ""},
		{"an added x-amz header", func(t *testing.T) *http.Request {
			r := v2Signed(t, "PUT", "https://s3.test/bucket/key", body)
			r.Header.Set("X-Amz-Meta-Added", "1")
			return r
		}, s3err.SignatureDoesNotMatch, ""},
		{"an added signed subresource", func(t *testing.T) *http.Request {
			r := v2Signed(t, "PUT", "https://s3.test/bucket/key", body)
			r.URL.RawQuery = "tagging"
			return r
		}, s3err.SignatureDoesNotMatch, ""},
		{"an added subresource V2 does not sign", func(t *testing.T) *http.Request {
			r := v2Signed(t, "GET", "https://s3.test/bucket/key", nil)
			r.URL.RawQuery = "attributes"
			return r
		}, s3err.AccessDenied, "does not sign the query parameter"},
		{"an unknown access key", func(t *testing.T) *http.Request {
			r := newClientRequest(t, "GET", "https://s3.test/bucket/key", nil)
			r.Header.Set("Date", testTime.Format(http.TimeFormat))
			return signer.SignV2(*r, "NOBODY", testSecret, false)
		}, s3err.InvalidAccessKeyID, ""},
		{"a request an hour old", func(t *testing.T) *http.Request {
			r := newClientRequest(t, "GET", "https://s3.test/bucket/key", nil)
			r.Header.Set("Date", testTime.Add(-time.Hour).Format(http.TimeFormat))
			return signer.SignV2(*r, testAccessKey, testSecret, false)
		}, s3err.RequestTimeTooSkewed, ""},
		{"no date", func(t *testing.T) *http.Request {
			r := v2Signed(t, "GET", "https://s3.test/bucket/key", nil)
			r.Header.Del("Date")
			return r
		}, s3err.AccessDenied, "Date"},
		{"a malformed header", func(t *testing.T) *http.Request {
			r := newClientRequest(t, "GET", "https://s3.test/bucket/key", nil)
			r.Header.Set("Authorization", "AWS "+testAccessKey)
			return r
		}, s3err.AuthorizationHeaderMalformed, ""},
		{"a streaming payload", func(t *testing.T) *http.Request {
			return v2Signed(t, "PUT", "https://s3.test/bucket/key", body, "X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		}, s3err.InvalidRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.Verify(toServer(t, tc.req(t)))
			if tc.want != (s3err.Code{}) {
				wantCode(t, err, tc.want)
				if err != nil && !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("error %q, want it to say %q", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Payload != nil {
				if _, err := io.ReadAll(res.Payload.Body); err != nil {
					t.Fatalf("payload: %v", err)
				}
			}
		})
	}
}

func TestV2ContentMD5IsChecked(t *testing.T) {
	body := []byte("the body")
	sum := md5.Sum([]byte("another body"))
	r := v2Signed(t, "PUT", "https://s3.test/bucket/key", body, "Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	res, err := newVerifier(testTime, testAccessKey, testSecret).Verify(toServer(t, r))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	_, err = io.ReadAll(res.Payload.Body)
	wantCode(t, err, s3err.BadDigest)
}

func TestV2PresignedURLs(t *testing.T) {
	now := time.Now()
	v := newVerifier(now, testAccessKey, testSecret)
	presign := func(method, url string, expires int64) *http.Request {
		r := newClientRequest(t, method, url, nil)
		return signer.PreSignV2(*r, testAccessKey, testSecret, expires, false)
	}
	t.Run("a valid GET", func(t *testing.T) {
		r := toServer(t, presign("GET", "https://s3.test/bucket/dir/key?response-content-type=text%2Fplain", 60))
		if _, err := v.Verify(r); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if got := r.URL.RawQuery; got != "response-content-type=text%2Fplain" {
			t.Errorf("query after verification %q, want only the override", got)
		}
	})
	t.Run("an expired URL", func(t *testing.T) {
		_, err := newVerifier(now.Add(2*time.Minute), testAccessKey, testSecret).Verify(toServer(t, presign("GET", "https://s3.test/bucket/key", 60)))
		wantCode(t, err, s3err.AccessDenied)
	})
	t.Run("a URL used with another method", func(t *testing.T) {
		r := presign("GET", "https://s3.test/bucket/key", 60)
		r.Method = "PUT"
		_, err := v.Verify(toServer(t, r))
		wantCode(t, err, s3err.SignatureDoesNotMatch)
	})
	t.Run("a URL with an added subresource", func(t *testing.T) {
		r := presign("PUT", "https://s3.test/bucket/key", 60)
		r.URL.RawQuery += "&tagging"
		_, err := v.Verify(toServer(t, r))
		wantCode(t, err, s3err.SignatureDoesNotMatch)
	})
	t.Run("a URL and an Authorization header", func(t *testing.T) {
		r := presign("GET", "https://s3.test/bucket/key", 60)
		r.Header.Set("Authorization", "AWS "+testAccessKey+":x")
		_, err := v.Verify(toServer(t, r))
		wantCode(t, err, s3err.InvalidArgument)
	})
	t.Run("a repeated parameter", func(t *testing.T) {
		r := presign("GET", "https://s3.test/bucket/key", 60)
		r.URL.RawQuery += "&Expires=99999999999"
		_, err := v.Verify(toServer(t, r))
		wantCode(t, err, s3err.AccessDenied)
	})
}

// FuzzV2 checks that no Authorization header or presigned query makes the
// V2 verifier accept a request it did not sign or panic.
func FuzzV2(f *testing.F) {
	f.Add("AWS "+testAccessKey+":bWq2s1WEIj+Ydj0vQ697zp+IXMU=", "tagging", "Tue, 27 Mar 2007 19:36:42 +0000")
	f.Add("AWS :", "AWSAccessKeyId=x&Expires=1&Signature=%3D", "")
	f.Add("", "AWSAccessKeyId="+testAccessKey+"&Expires=99999999999&Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D", "")
	v := newVerifier(testTime, testAccessKey, testSecret)
	f.Fuzz(func(t *testing.T, authz, query, date string) {
		r, err := http.NewRequest("GET", "https://s3.test/bucket/key", bytes.NewReader(nil))
		if err != nil {
			return
		}
		r.URL.RawQuery = query
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if date != "" {
			r.Header.Set("Date", date)
		}
		if _, err := v.Verify(r); err == nil {
			t.Fatalf("accepted a request nobody signed: Authorization %q, query %q", authz, query)
		}
	})
}
