package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// AWS Signature Version 2, as S3 and MinIO accept it from older SDKs,
// s3cmd --signature-v2, Hadoop and appliances: an HMAC-SHA1 over the
// method, Content-MD5, Content-Type, the date (or a presigned URL's
// expiry), the x-amz-* headers and the canonical resource. V2 signs no
// payload hash: the body is checked only against a Content-MD5 or checksum
// header, as for UNSIGNED-PAYLOAD.

const (
	v2Algorithm   = "AWS"
	paramV2Key    = "AWSAccessKeyId"
	paramV2Expiry = "Expires"
	paramV2Sig    = "Signature"
)

// v2AuthParams are the presigned-URL parameters of V2, removed once verified.
var v2AuthParams = []string{paramV2Key, paramV2Expiry, paramV2Sig}

// v2Subresources are the query parameters V2 signs, in the order they
// enter the canonical resource (S3's list, as MinIO and minio-go use it).
var v2Subresources = []string{
	"acl", "cors", "delete", "encryption", "legal-hold", "lifecycle", "location", "logging",
	"notification", "partNumber", "policy", "replication", "requestPayment",
	"response-cache-control", "response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires",
	"retention", "select", "select-type", "tagging", "torrent", "uploadId", "uploads",
	"versionId", "versioning", "versions", "website",
}

// v2Unsigned are the query parameters V2 leaves unsigned that s3seal
// accepts: they select within an operation (listing options), never the
// operation itself. Any other parameter outside v2Subresources could be
// added to a signed request by whoever holds it and change what it does,
// so such a request is refused.
var v2Unsigned = []string{
	"prefix", "delimiter", "max-keys", "marker", "encoding-type", "list-type", "continuation-token",
	"start-after", "fetch-owner", "key-marker", "version-id-marker", "upload-id-marker", "max-uploads",
	"max-parts", "part-number-marker", "x-id",
}

// IsV2 reports whether r is signed with Signature Version 2, in the
// Authorization header or as a presigned URL.
func IsV2(r *http.Request) bool {
	if a := r.Header.Get("Authorization"); a != "" {
		return strings.HasPrefix(a, v2Algorithm+" ")
	}
	params, _ := parseQuery(r.URL.RawQuery)
	return slices.ContainsFunc(params, func(p queryParam) bool { return p.key == paramV2Key })
}

// verifyV2Header authenticates "Authorization: AWS AKID:signature".
func (v *Verifier) verifyV2Header(r *http.Request, header string, params []queryParam) (*signedRequest, error) {
	cred, ok := strings.CutPrefix(header, v2Algorithm+" ")
	accessKey, sig, found := strings.Cut(cred, ":")
	if !ok || !found || accessKey == "" || sig == "" {
		return nil, s3err.New(s3err.AuthorizationHeaderMalformed, "The authorization header is malformed; Signature Version 2 expects \"AWS AccessKeyId:Signature\".")
	}
	d := r.Header.Get("X-Amz-Date")
	if d == "" {
		d = r.Header.Get("Date")
	}
	when, ok := parseV2Date(d)
	if !ok {
		return nil, s3err.New(s3err.AccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
	}
	// The token header is signed among the x-amz-* headers. A V2 presigned
	// URL signs no query token, so only header authentication takes one.
	token := r.Header.Get("X-Amz-Security-Token")
	secret, err := v.secret(accessKey, token)
	if err != nil {
		return nil, err
	}
	if d := v.now().Sub(when).Abs(); d > v.maxSkew() {
		return nil, s3err.New(s3err.RequestTimeTooSkewed, "")
	}
	// With x-amz-date (signed among the x-amz-* headers) S3 signs an empty
	// date line; MinIO and minio-go sign the Date header all the same.
	dates := []string{r.Header.Get("Date")}
	if r.Header.Get("X-Amz-Date") != "" && dates[0] != "" {
		dates = append(dates, "")
	}
	s, err := v.checkV2(r, params, accessKey, secret, dates, sig, false)
	if err != nil {
		return nil, err
	}
	s.sessionToken = token
	return s, nil
}

// v2DateLayouts are the date forms V2 clients send.
var v2DateLayouts = []string{http.TimeFormat, time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC}

func parseV2Date(s string) (time.Time, bool) {
	for _, layout := range v2DateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// verifyV2Presigned authenticates ?AWSAccessKeyId=..&Expires=..&Signature=..
func (v *Verifier) verifyV2Presigned(r *http.Request, params []queryParam) (*signedRequest, error) {
	values := map[string]string{}
	for _, name := range v2AuthParams {
		n := 0
		for _, p := range params {
			if p.key == name {
				values[name] = p.value
				n++
			}
		}
		if n != 1 {
			return nil, s3err.New(s3err.AccessDenied, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
		}
	}
	expires, err := strconv.ParseInt(values[paramV2Expiry], 10, 64)
	if err != nil {
		return nil, s3err.New(s3err.AccessDenied, "Query-string authentication requires a numeric Expires parameter")
	}
	secret, ok := v.Secret(values[paramV2Key])
	if !ok {
		return nil, s3err.New(s3err.InvalidAccessKeyID, "")
	}
	if v.now().Unix() > expires {
		return nil, s3err.New(s3err.AccessDenied, "Request has expired")
	}
	return v.checkV2(r, params, values[paramV2Key], secret, []string{values[paramV2Expiry]}, values[paramV2Sig], true)
}

// checkV2 compares the request's V2 signature in constant time. dates are
// the candidates for the fourth line of the string to sign: the Date
// header, "" with x-amz-date, or a presigned URL's Expires.
func (v *Verifier) checkV2(r *http.Request, params []queryParam, accessKey, secret string, dates []string, sig string, presigned bool) (*signedRequest, error) {
	for _, p := range params {
		if !slices.Contains(v2Subresources, p.key) && !slices.Contains(v2Unsigned, p.key) &&
			!(presigned && slices.Contains(v2AuthParams, p.key)) {
			return nil, s3err.New(s3err.AccessDenied, "Signature Version 2 does not sign the query parameter %q; sign the request with Signature Version 4.", p.key)
		}
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(got) != sha1.Size {
		return nil, s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	resource := v2Resource(params)
	matched := false
	for _, uri := range v2ResourcePaths(r) {
		for _, date := range dates {
			mac := hmac.New(sha1.New, []byte(secret))
			mac.Write([]byte(v2StringToSign(r, date, uri+resource)))
			matched = hmac.Equal(mac.Sum(nil), got) || matched
		}
	}
	if !matched {
		return nil, s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	s := &signedRequest{accessKey: accessKey, mode: payloadUnsigned, presigned: presigned, v2: true}
	// A payload hash sent (and signed, as every x-amz-* header is) is
	// checked like V4's.
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		mode, sum, err := parsePayloadHash(h)
		if err != nil || mode.streaming() {
			return nil, s3err.New(s3err.InvalidRequest, "Signature Version 2 requests cannot carry a streaming payload.")
		}
		if mode == payloadHashed {
			s.bodySHA256 = &sum
		}
	}
	return s, nil
}

// v2ResourcePaths are the path forms V2 clients sign: as for V4, and for a
// bucket both "/bucket/" (S3's canonical form, botocore) and "/bucket".
func v2ResourcePaths(r *http.Request) []string {
	uris := canonicalURIs(r)
	for _, uri := range uris {
		if bucket, ok := strings.CutSuffix(uri, "/"); ok && strings.Count(uri, "/") == 2 {
			uris = append(uris, bucket)
		} else if strings.Count(uri, "/") == 1 && uri != "/" {
			uris = append(uris, uri+"/")
		}
	}
	return uris
}

// v2StringToSign builds the V2 string to sign.
func v2StringToSign(r *http.Request, date, resource string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(r.Header.Get("Content-Md5"))
	b.WriteByte('\n')
	b.WriteString(r.Header.Get("Content-Type"))
	b.WriteByte('\n')
	b.WriteString(date)
	b.WriteByte('\n')
	var names []string
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	writeCanonicalHeaders(&b, r, names)
	b.WriteString(resource)
	return b.String()
}

// v2Resource is the signed query part of the canonical resource: the
// subresources present, in v2Subresources order, with decoded values.
func v2Resource(params []queryParam) string {
	var b strings.Builder
	for _, name := range v2Subresources {
		i := slices.IndexFunc(params, func(p queryParam) bool { return p.key == name })
		if i < 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(name)
		if params[i].value != "" {
			b.WriteByte('=')
			b.WriteString(params[i].value)
		}
	}
	return b.String()
}
