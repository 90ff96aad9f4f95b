package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// DefaultRegion is the region requests are signed for, and backends are
// addressed in, when none is configured.
const DefaultRegion = "us-east-1"

// Verifier authenticates S3 requests signed with AWS Signature Version 4.
// A Verifier is safe for concurrent use once configured.
type Verifier struct {
	// Region is the region requests must be signed for. Requests signed for
	// the empty region ("DATE//s3/aws4_request", as mc admin sends) are
	// always accepted too. Empty: any region, as MinIO does without a
	// configured region (the signature still covers the region signed for).
	Region string

	// Service is the service name of the credential scope. Empty: "s3".
	Service string

	// Secret looks up the secret key of an access key id; ok is false for
	// unknown ids. Required.
	Secret func(accessKey string) (secretKey string, ok bool)

	// SessionSecret looks up the secret key of temporary credentials: the
	// access key together with the security token the request carries
	// (X-Amz-Security-Token, the header or else the query parameter). It
	// refuses with an *s3err.Error (InvalidTokenId, ExpiredToken,
	// InvalidAccessKeyId). Nil: every request carrying a token is refused
	// with InvalidTokenId. Requests without a token use Secret.
	SessionSecret func(accessKey, token string) (secretKey string, err error)

	// Now is the clock for skew and expiry checks. Nil: time.Now.
	Now func() time.Time

	// MaxSkew is how far a request's time may be from Now. Zero: 15 minutes.
	MaxSkew time.Duration

	// MaxChunkSize bounds the size of one aws-chunked chunk, which for
	// signed streams is buffered whole before release. Zero: 16 MiB.
	MaxChunkSize int64

	keys SigningKeys // the last signing key derived, for the next request
}

// Result is the outcome of a successful verification.
type Result struct {
	AccessKey string
	// SessionToken is the security token of temporary credentials, which
	// SessionSecret accepted; empty otherwise. It is a credential: never
	// log it.
	SessionToken string
	Payload      *Payload // nil for requests without a body (Content-Length 0 and no aws-chunked payload)
}

func (v *Verifier) service() string {
	if v.Service == "" {
		return "s3"
	}
	return v.Service
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew <= 0 {
		return 15 * time.Minute
	}
	return v.MaxSkew
}

func (v *Verifier) maxChunkSize() int64 {
	if v.MaxChunkSize <= 0 {
		return defaultMaxChunkSize
	}
	return v.MaxChunkSize
}

// payloadMode is what x-amz-content-sha256 says about the body.
type payloadMode int

const (
	payloadHashed                   payloadMode = iota // hex SHA-256 of the body
	payloadUnsigned                                    // UNSIGNED-PAYLOAD
	payloadStreamingSigned                             // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	payloadStreamingSignedTrailer                      // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
	payloadStreamingUnsignedTrailer                    // STREAMING-UNSIGNED-PAYLOAD-TRAILER
)

func (m payloadMode) streaming() bool { return m >= payloadStreamingSigned }

// parsePayloadHash classifies an x-amz-content-sha256 value.
func parsePayloadHash(value string) (payloadMode, [32]byte, error) {
	var sum [32]byte
	switch value {
	case unsignedPayload:
		return payloadUnsigned, sum, nil
	case streamingSigned:
		return payloadStreamingSigned, sum, nil
	case streamingSignedTrailer:
		return payloadStreamingSignedTrailer, sum, nil
	case streamingUnsignedTrailer:
		return payloadStreamingUnsignedTrailer, sum, nil
	case streamingECDSA, streamingECDSATrailer:
		return 0, sum, s3err.New(s3err.NotImplemented, "Signature Version 4A (ECDSA) streaming payloads are not supported.")
	}
	if decodeSignature(value, &sum) {
		return payloadHashed, sum, nil
	}
	return 0, sum, s3err.New(s3err.InvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "+
		"STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "+
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
}

// signedRequest is what an authenticated request carries on to its payload.
type signedRequest struct {
	accessKey     string
	sessionToken  string
	key           []byte // signing key
	amzDate       string // ISO 8601 basic, as in the string to sign
	scope         string
	signature     [32]byte // seed signature for aws-chunked streams
	signedHeaders []string
	presigned     bool
	v2            bool // Signature Version 2: no scope, no signing key

	mode       payloadMode
	bodySHA256 *[32]byte // the body must hash to this
}

// Query parameters of presigned URLs.
const (
	paramAlgorithm     = "X-Amz-Algorithm"
	paramCredential    = "X-Amz-Credential"
	paramDate          = "X-Amz-Date"
	paramExpires       = "X-Amz-Expires"
	paramSignedHeaders = "X-Amz-SignedHeaders"
	paramSignature     = "X-Amz-Signature"
	paramSecurityToken = "X-Amz-Security-Token"
	paramContentSHA256 = "X-Amz-Content-Sha256"
)

// authParams are the presigned-URL parameters consumed by Verify.
var authParams = []string{
	paramAlgorithm, paramCredential, paramDate, paramExpires,
	paramSignedHeaders, paramSignature, paramSecurityToken, paramContentSHA256,
}

// Verify authenticates r, by its Authorization header or as a presigned URL.
// r must be a server request (ContentLength -1 meaning unknown). It verifies
// the signature, the request time and that every x-amz-* header is signed,
// and prepares the payload checks.
//
// On success it replaces r.Body with the verified payload (Result.Payload.Body,
// or http.NoBody), sets r.ContentLength to the decoded size (-1 if unknown),
// and removes what must not be forwarded: the Authorization,
// X-Amz-Content-Sha256, X-Amz-Decoded-Content-Length, X-Amz-Trailer,
// X-Amz-Sdk-Checksum-Algorithm, X-Amz-Security-Token, X-Amz-Checksum-<alg>
// and Content-MD5 headers (recorded in the Payload first), "aws-chunked" from
// Content-Encoding, and the X-Amz-* authentication parameters from r.URL's
// query. X-Amz-Checksum-Mode, -Algorithm and -Type are request options and
// stay.
//
// On failure r is unchanged and the error is an *s3err.Error; its message
// never contains a secret, a signature or the Authorization header.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	return v.verify(r, true)
}

// VerifyObjectChecksums is Verify for a request whose x-amz-checksum-*
// headers describe the object it completes, not its own body
// (CompleteMultipartUpload): they are authenticated like every signed
// header and left in place for the caller, but not checked against the
// body.
func (v *Verifier) VerifyObjectChecksums(r *http.Request) (*Result, error) {
	return v.verify(r, false)
}

func (v *Verifier) verify(r *http.Request, bodyChecksums bool) (*Result, error) {
	if v.Secret == nil {
		return nil, s3err.Wrap(s3err.InternalError, errors.New("sigv4: Verifier.Secret is nil"))
	}
	params, ok := parseQuery(r.URL.RawQuery)
	if !ok {
		return nil, s3err.New(s3err.InvalidArgument, "The query string is not valid URL encoding.")
	}
	authz := r.Header.Values("Authorization")
	presigned := slices.ContainsFunc(params, func(p queryParam) bool {
		return p.key == paramAlgorithm || p.key == paramCredential || p.key == paramSignature ||
			p.key == paramV2Key || p.key == paramV2Sig
	})
	presignedV2 := slices.ContainsFunc(params, func(p queryParam) bool { return p.key == paramV2Key })
	var (
		s   *signedRequest
		err error
	)
	switch {
	case len(authz) > 0 && presigned:
		err = s3err.New(s3err.InvalidArgument, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "+
			"Signature query string parameter or the Authorization header should be specified")
	case len(authz) > 1:
		err = s3err.New(s3err.InvalidArgument, "Only one Authorization header is allowed.")
	case len(authz) == 1 && strings.HasPrefix(authz[0], v2Algorithm+" "):
		s, err = v.verifyV2Header(r, authz[0], params)
	case len(authz) == 1:
		s, err = v.verifyHeader(r, authz[0], params)
	case presignedV2:
		s, err = v.verifyV2Presigned(r, params)
	case presigned:
		s, err = v.verifyPresigned(r, params)
	default:
		err = s3err.New(s3err.AccessDenied, "")
	}
	if err != nil {
		return nil, err
	}
	if !s.v2 { // V2 signs every x-amz-* header
		if err := checkUnsignedHeaders(r, s.signedHeaders); err != nil {
			return nil, err
		}
	}
	payload, err := v.preparePayload(r, s, bodyChecksums)
	if err != nil {
		return nil, err
	}
	stripAuthentication(r, s.presigned, s.v2, bodyChecksums)
	installPayload(r, payload)
	return &Result{AccessKey: s.accessKey, SessionToken: s.sessionToken, Payload: payload}, nil
}

// installPayload makes the verified payload r's body, with its decoded
// length.
func installPayload(r *http.Request, payload *Payload) {
	if payload == nil {
		r.Body = http.NoBody
		r.ContentLength = 0
	} else {
		r.Body = payload.Body
		r.ContentLength = payload.Size
	}
	if _, ok := r.Header["Content-Length"]; ok {
		if r.ContentLength >= 0 {
			r.Header.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
		} else {
			r.Header.Del("Content-Length")
		}
	}
}

// sessionToken returns the request's security token: the
// X-Amz-Security-Token header, else the query parameter, as MinIO reads it.
func sessionToken(r *http.Request, params []queryParam) string {
	if t := r.Header.Get("X-Amz-Security-Token"); t != "" {
		return t
	}
	for _, p := range params {
		if p.key == paramSecurityToken {
			return p.value
		}
	}
	return ""
}

// secret returns the secret key of accessKey, of temporary credentials
// when the request carries a security token.
func (v *Verifier) secret(accessKey, token string) (string, error) {
	if token == "" {
		secret, ok := v.Secret(accessKey)
		if !ok {
			return "", s3err.New(s3err.InvalidAccessKeyID, "")
		}
		return secret, nil
	}
	if v.SessionSecret == nil {
		return "", s3err.New(s3err.InvalidTokenID, "")
	}
	return v.SessionSecret(accessKey, token)
}

// verifyHeader authenticates a request by its Authorization header.
func (v *Verifier) verifyHeader(r *http.Request, header string, params []queryParam) (*signedRequest, error) {
	a, err := parseAuthorization(header)
	if err != nil {
		return nil, err
	}
	cred := a.credential
	if err := v.checkScope(cred, headerMalformed); err != nil {
		return nil, err
	}
	amzDate, t, err := requestTime(r)
	if err != nil {
		return nil, err
	}
	if cred.date != amzDate[:8] {
		return nil, headerMalformed(fmt.Sprintf("Invalid credential date %q. This date is not the same as X-Amz-Date: %q.", cred.date, amzDate[:8]))
	}
	token := sessionToken(r, params)
	secret, err := v.secret(cred.accessKey, token)
	if err != nil {
		return nil, err
	}
	if d := v.now().Sub(t).Abs(); d > v.maxSkew() {
		return nil, s3err.New(s3err.RequestTimeTooSkewed, "")
	}
	if err := requireHostSigned(a.signedHeaders); err != nil {
		return nil, err
	}
	// S3 requires x-amz-content-sha256; a request without a body may omit it
	// and is then signed over the hash of the empty payload.
	payloadHash := emptySHA256
	if vals := r.Header.Values("X-Amz-Content-Sha256"); len(vals) > 0 {
		payloadHash = vals[0]
	} else if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		return nil, s3err.New(s3err.InvalidRequest, "Missing required header for this request: x-amz-content-sha256")
	}
	mode, sum, err := parsePayloadHash(payloadHash)
	if err != nil {
		return nil, err
	}
	s := &signedRequest{
		accessKey:     cred.accessKey,
		sessionToken:  token,
		key:           v.keys.Get(secret, cred.date, cred.region, cred.service),
		amzDate:       amzDate,
		scope:         cred.scope(),
		signature:     a.signature,
		signedHeaders: a.signedHeaders,
		mode:          mode,
	}
	if mode == payloadHashed {
		s.bodySHA256 = &sum
	}
	if !s.signatureMatches(r, canonicalQuery(params, ""), payloadHash) {
		return nil, s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	return s, nil
}

// verifyPresigned authenticates a presigned-URL request.
func (v *Verifier) verifyPresigned(r *http.Request, params []queryParam) (*signedRequest, error) {
	values := make(map[string]string, 6)
	for _, name := range authParams[:6] {
		var n int
		for _, p := range params {
			if p.key == name {
				values[name] = p.value
				n++
			}
		}
		if n != 1 {
			return nil, s3err.New(s3err.AuthorizationQueryParametersError, "Query-string authentication version 4 requires "+
				"the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "+
				"and X-Amz-Expires parameters, each exactly once.")
		}
	}
	if values[paramAlgorithm] != signingAlgorithm {
		return nil, s3err.New(s3err.AuthorizationQueryParametersError, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	cred, ok := parseCredential(values[paramCredential])
	if !ok {
		return nil, queryMalformed(credentialFormat)
	}
	if err := v.checkScope(cred, queryMalformed); err != nil {
		return nil, err
	}
	amzDate := values[paramDate]
	t, err := time.Parse(iso8601Basic, amzDate)
	if err != nil {
		return nil, s3err.New(s3err.AuthorizationQueryParametersError,
			"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	if cred.date != amzDate[:8] {
		return nil, queryMalformed(fmt.Sprintf("Invalid credential date %q. This date is not the same as X-Amz-Date: %q.", cred.date, amzDate[:8]))
	}
	expires, err := strconv.ParseInt(values[paramExpires], 10, 64)
	switch {
	case err != nil:
		return nil, s3err.New(s3err.AuthorizationQueryParametersError, "X-Amz-Expires should be a number")
	case expires < 0:
		return nil, s3err.New(s3err.AuthorizationQueryParametersError, "X-Amz-Expires must be non-negative")
	case expires > 604800:
		return nil, s3err.New(s3err.AuthorizationQueryParametersError,
			"X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	signedHeaders, ok := parseSignedHeaders(values[paramSignedHeaders])
	if !ok {
		return nil, s3err.New(s3err.AuthorizationQueryParametersError, "X-Amz-SignedHeaders is malformed.")
	}
	var sig [32]byte
	if !decodeSignature(values[paramSignature], &sig) {
		return nil, s3err.New(s3err.AuthorizationQueryParametersError, "X-Amz-Signature must be 64 hexadecimal characters.")
	}
	token := sessionToken(r, params)
	secret, err := v.secret(cred.accessKey, token)
	if err != nil {
		return nil, err
	}
	now := v.now()
	if t.After(now.Add(v.maxSkew())) {
		return nil, s3err.New(s3err.AccessDenied, "Request is not valid yet")
	}
	// X-Amz-Expires=0 is well formed and already expired (403), as in S3
	// and MinIO.
	if now.Sub(t) > time.Duration(expires)*time.Second {
		return nil, s3err.New(s3err.AccessDenied, "Request has expired")
	}
	if err := requireHostSigned(signedHeaders); err != nil {
		return nil, err
	}

	// The payload hash is UNSIGNED-PAYLOAD unless the client signed one, in
	// the query or as a signed header.
	payloadHash := unsignedPayload
	if i := slices.IndexFunc(params, func(p queryParam) bool { return p.key == paramContentSHA256 }); i >= 0 {
		payloadHash = params[i].value
	} else if _, found := slices.BinarySearch(signedHeaders, "x-amz-content-sha256"); found {
		payloadHash = r.Header.Get("X-Amz-Content-Sha256")
	}
	mode, sum, err := parsePayloadHash(payloadHash)
	if err != nil {
		return nil, err
	}
	if mode == payloadStreamingSigned || mode == payloadStreamingSignedTrailer {
		return nil, s3err.New(s3err.InvalidRequest, "Signed aws-chunked payloads cannot be sent with a presigned URL.")
	}
	s := &signedRequest{
		accessKey:     cred.accessKey,
		sessionToken:  token,
		key:           v.keys.Get(secret, cred.date, cred.region, cred.service),
		amzDate:       amzDate,
		scope:         cred.scope(),
		signature:     sig,
		signedHeaders: signedHeaders,
		presigned:     true,
		mode:          mode,
	}
	if mode == payloadHashed {
		s.bodySHA256 = &sum
	} else if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		// An unsigned x-amz-content-sha256 header is still a claim about
		// the body; hold the body to it.
		if hm, hsum, err := parsePayloadHash(h); err == nil && hm == payloadHashed {
			s.bodySHA256 = &hsum
		}
	}
	if !s.signatureMatches(r, canonicalQuery(params, paramSignature), payloadHash) {
		return nil, s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	return s, nil
}

// signatureMatches computes the request signature for each canonical URI
// candidate and compares it with the client's in constant time.
func (s *signedRequest) signatureMatches(r *http.Request, query, payloadHash string) bool {
	mac := hmac.New(sha256.New, s.key)
	for _, uri := range canonicalURIs(r) {
		creq := canonicalRequest(r, uri, query, s.signedHeaders, payloadHash)
		mac.Reset()
		mac.Write([]byte(stringToSign(s.amzDate, s.scope, creq)))
		if hmac.Equal(mac.Sum(nil), s.signature[:]) {
			return true
		}
	}
	return false
}

// checkScope validates the credential scope against the configuration.
// malformed builds the error in the style of the auth mechanism.
func (v *Verifier) checkScope(c credential, malformed func(string) *s3err.Error) error {
	if _, err := time.Parse(scopeDateLayout, c.date); err != nil {
		return malformed(fmt.Sprintf("incorrect date format %q. This date in the credential must be in the format \"yyyyMMdd\".", c.date))
	}
	if c.service != v.service() {
		return malformed(fmt.Sprintf("incorrect service %q. This endpoint belongs to %q.", c.service, v.service()))
	}
	if c.terminal != scopeTerminator {
		return malformed(fmt.Sprintf("incorrect terminal %q. This endpoint uses \"aws4_request\".", c.terminal))
	}
	if c.region != "" && v.Region != "" && c.region != v.Region {
		return malformed(fmt.Sprintf("the region %s is wrong; expecting %s", quoteRegion(c.region), quoteRegion(v.Region)))
	}
	return nil
}

// quoteRegion quotes a region the way AWS's messages do ('us-east-1'),
// escaping anything unexpected in a client-supplied value.
func quoteRegion(r string) string {
	q := strconv.Quote(r)
	return "'" + q[1:len(q)-1] + "'"
}

var errMissingDate = s3err.New(s3err.AccessDenied, "AWS authentication requires a valid Date or x-amz-date header")

// requestTime returns the request time from X-Amz-Date or else Date, and
// its ISO 8601 basic form used in the string to sign.
func requestTime(r *http.Request) (string, time.Time, error) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(iso8601Basic, v)
		if err != nil {
			return "", time.Time{}, errMissingDate
		}
		return v, t, nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return "", time.Time{}, errMissingDate
		}
		t = t.UTC()
		return t.Format(iso8601Basic), t, nil
	}
	return "", time.Time{}, errMissingDate
}

var errHeadersNotSigned = "There were headers present in the request which were not signed"

func requireHostSigned(signedHeaders []string) error {
	if _, found := slices.BinarySearch(signedHeaders, "host"); !found {
		return &s3err.Error{Code: s3err.AccessDenied, Message: errHeadersNotSigned, Err: errors.New("host is not signed")}
	}
	return nil
}

// checkUnsignedHeaders rejects x-amz-* headers the client did not sign, as
// S3 does, so nothing can be added to a signed request in transit.
// x-amz-content-sha256 is exempt: it is covered by the canonical request
// (header auth) or by the body check.
func checkUnsignedHeaders(r *http.Request, signedHeaders []string) error {
	var unsigned []string
	for k := range r.Header {
		lk := LowerHeaderName(k)
		if !strings.HasPrefix(lk, "x-amz-") || lk == "x-amz-content-sha256" {
			continue
		}
		if _, found := slices.BinarySearch(signedHeaders, lk); !found {
			unsigned = append(unsigned, lk)
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	slices.Sort(unsigned)
	return &s3err.Error{Code: s3err.AccessDenied, Message: errHeadersNotSigned,
		Err: fmt.Errorf("unsigned headers: %s", strings.Join(unsigned, ", "))}
}

// preparePayload validates the payload headers and wraps r.Body in the
// reader that verifies it.
func (v *Verifier) preparePayload(r *http.Request, s *signedRequest, bodyChecksums bool) (*Payload, error) {
	p := &Payload{}
	var d digests

	if vals := headerValuesFold(r.Header, "content-md5"); len(vals) > 0 {
		md5sum, err := base64.StdEncoding.DecodeString(strings.TrimSpace(vals[0]))
		if len(vals) > 1 || err != nil || len(md5sum) != 16 {
			return nil, s3err.New(s3err.InvalidDigest, "")
		}
		d.expectMD5([16]byte(md5sum))
		p.ContentMD5 = strings.TrimSpace(vals[0])
	}

	var alg *checksumAlgorithm
	var value string
	if bodyChecksums {
		var err error
		if alg, value, err = checksumHeader(r.Header); err != nil {
			return nil, err
		}
	}
	trailerAlg, err := declaredTrailer(r.Header, s.mode)
	if err != nil {
		return nil, err
	}
	if alg != nil && trailerAlg != nil {
		return nil, errMultipleChecksums
	}
	if name := r.Header.Get("X-Amz-Sdk-Checksum-Algorithm"); name != "" {
		a := checksumByName(strings.TrimSpace(name))
		if a == nil || (alg != nil && a != alg) || (trailerAlg != nil && a != trailerAlg) {
			return nil, s3err.New(s3err.InvalidRequest, "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
	}
	switch {
	case alg != nil:
		want, err := decodeChecksum(alg, value)
		if err != nil {
			return nil, err
		}
		d.expectChecksum(alg, want)
		p.Checksum = Checksum{Algorithm: alg.name, Value: value}
	case trailerAlg != nil:
		d.expectChecksum(trailerAlg, nil)
		p.Checksum = Checksum{Algorithm: trailerAlg.name}
	}
	if s.bodySHA256 != nil {
		d.expectSHA256(*s.bodySHA256)
	}

	awsChunked := hasContentEncoding(r.Header, "aws-chunked")
	if awsChunked && !s.mode.streaming() {
		return nil, s3err.New(s3err.InvalidRequest, "Content-Encoding aws-chunked requires a STREAMING x-amz-content-sha256 value.")
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	if s.mode.streaming() {
		vals := r.Header.Values("X-Amz-Decoded-Content-Length")
		if len(vals) == 0 {
			return nil, s3err.New(s3err.MissingContentLength, "You must provide the x-amz-decoded-content-length HTTP header.")
		}
		size, err := strconv.ParseInt(strings.TrimSpace(vals[0]), 10, 64)
		if err != nil || size < 0 || len(vals) > 1 {
			return nil, s3err.New(s3err.InvalidArgument, "x-amz-decoded-content-length must be a non-negative integer.")
		}
		p.Size = size
		p.Body = s.newChunkedReader(body, size, v.maxChunkSize(), trailerAlg, d, p)
		return p, nil
	}
	if r.ContentLength == 0 || body == http.NoBody {
		if err := d.verify(); err != nil {
			return nil, err
		}
		if p.Checksum.Algorithm == "" && p.ContentMD5 == "" {
			return nil, nil
		}
		// An empty payload with a verified checksum: keep the checksum so
		// the gateway can answer with it.
		p.Body = http.NoBody
		return p, nil
	}
	p.Size = r.ContentLength
	p.Body = &plainReader{body: body, left: r.ContentLength, digests: d}
	return p, nil
}

// newChunkedReader sets up the aws-chunked decoder for s's payload mode.
func (s *signedRequest) newChunkedReader(body io.ReadCloser, decodedLen, maxChunk int64, trailerAlg *checksumAlgorithm, d digests, p *Payload) *chunkedReader {
	br := bufioPool.Get().(*bufio.Reader)
	br.Reset(body)
	c := &chunkedReader{
		body:          body,
		br:            br,
		signed:        s.mode != payloadStreamingUnsignedTrailer,
		trailer:       s.mode != payloadStreamingSigned,
		signedTrailer: s.mode == payloadStreamingSignedTrailer,
		trailerAlg:    trailerAlg,
		maxChunk:      maxChunk,
		decodedLen:    decodedLen,
		digests:       d,
		payload:       p,
	}
	if c.signed {
		c.mac = hmac.New(sha256.New, s.key)
		c.sha = sha256.New()
		c.scopeLines = []byte(s.amzDate + "\n" + s.scope + "\n")
		c.prevSig = s.signature
	}
	return c
}

var errMultipleChecksums = s3err.New(s3err.InvalidRequest,
	"Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")

// checksumHeader finds the one x-amz-checksum-<algorithm> request header.
func checksumHeader(h http.Header) (*checksumAlgorithm, string, error) {
	var (
		alg   *checksumAlgorithm
		value string
	)
	for k, vals := range h {
		lk := LowerHeaderName(k)
		name, ok := strings.CutPrefix(lk, "x-amz-checksum-")
		if !ok {
			continue
		}
		switch name {
		case "mode", "algorithm", "type":
			continue
		}
		a := checksumByHeader(lk)
		if a == nil {
			return nil, "", s3err.New(s3err.InvalidRequest, "The algorithm type you specified in x-amz-checksum- header is invalid.")
		}
		if alg != nil || len(vals) != 1 {
			return nil, "", errMultipleChecksums
		}
		alg, value = a, strings.TrimSpace(vals[0])
	}
	return alg, value, nil
}

// declaredTrailer parses x-amz-trailer: at most one x-amz-checksum-*
// trailer, and only with a trailer payload mode.
func declaredTrailer(h http.Header, mode payloadMode) (*checksumAlgorithm, error) {
	var alg *checksumAlgorithm
	for _, v := range h.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if mode != payloadStreamingSignedTrailer && mode != payloadStreamingUnsignedTrailer {
				return nil, s3err.New(s3err.InvalidRequest, "x-amz-trailer requires x-amz-content-sha256 "+
					"STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.")
			}
			a := checksumByHeader(name)
			if a == nil {
				return nil, s3err.New(s3err.InvalidRequest, "The trailer %q is not supported; only x-amz-checksum-* trailers are.", name)
			}
			if alg != nil {
				return nil, errMultipleChecksums
			}
			alg = a
		}
	}
	return alg, nil
}

// headerValuesFold returns the values of a header, whatever the key's case.
func headerValuesFold(h http.Header, name string) []string {
	if v := h.Values(name); len(v) > 0 {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// hasContentEncoding reports whether coding is one of the content codings.
func hasContentEncoding(h http.Header, coding string) bool {
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(c), coding) {
				return true
			}
		}
	}
	return false
}

// IsAnonymous reports whether r carries no authentication at all: no
// Authorization header and none of the presigned-URL parameters of either
// signature version. Such a request is anonymous, and VerifyAnonymous
// prepares it; anything else goes to Verify.
func IsAnonymous(r *http.Request) bool {
	if len(r.Header.Values("Authorization")) > 0 {
		return false
	}
	params, ok := parseQuery(r.URL.RawQuery)
	return ok && !slices.ContainsFunc(params, func(p queryParam) bool {
		return p.key == paramAlgorithm || p.key == paramCredential || p.key == paramSignature ||
			p.key == paramV2Key || p.key == paramV2Sig
	})
}

// VerifyAnonymous prepares the payload of an anonymous request (see
// IsAnonymous), which the caller authorises against bucket policies. The
// body is checked as a signed request's would be, against whatever it
// claims (an x-amz-content-sha256 hash, Content-MD5, a flexible checksum
// or an unsigned trailer), and the same headers are stripped; signed
// aws-chunked payloads, which need a signing key, are refused with
// AccessDenied. Result.AccessKey is empty. bodyChecksums is as for Verify
// (false: VerifyObjectChecksums).
func (v *Verifier) VerifyAnonymous(r *http.Request, bodyChecksums bool) (*Result, error) {
	if !IsAnonymous(r) {
		return nil, s3err.New(s3err.AccessDenied, "")
	}
	s := &signedRequest{mode: payloadUnsigned}
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		mode, sum, err := parsePayloadHash(h)
		if err != nil {
			return nil, err
		}
		if mode == payloadStreamingSigned || mode == payloadStreamingSignedTrailer {
			return nil, s3err.New(s3err.AccessDenied, "")
		}
		s.mode = mode
		if mode == payloadHashed {
			s.bodySHA256 = &sum
		}
	}
	payload, err := v.preparePayload(r, s, bodyChecksums)
	if err != nil {
		return nil, err
	}
	stripAuthentication(r, false, false, bodyChecksums)
	installPayload(r, payload)
	return &Result{Payload: payload}, nil
}

// strippedHeaders are consumed by verification and never forwarded.
var strippedHeaders = []string{
	"authorization",
	"x-amz-content-sha256",
	"x-amz-decoded-content-length",
	"x-amz-trailer",
	"x-amz-sdk-checksum-algorithm",
	"x-amz-security-token",
	"content-md5",
}

// stripAuthentication removes what Verify consumed from r.
func stripAuthentication(r *http.Request, presigned, v2, bodyChecksums bool) {
	for k := range r.Header {
		lk := LowerHeaderName(k)
		if slices.Contains(strippedHeaders, lk) || bodyChecksums && checksumByHeader(lk) != nil {
			delete(r.Header, k)
		}
	}
	if vals := r.Header.Values("Content-Encoding"); len(vals) > 0 {
		var kept []string
		for _, v := range vals {
			for c := range strings.SplitSeq(v, ",") {
				if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "aws-chunked") {
					kept = append(kept, c)
				}
			}
		}
		if len(kept) == 0 {
			r.Header.Del("Content-Encoding")
		} else {
			r.Header["Content-Encoding"] = []string{strings.Join(kept, ",")}
		}
	}
	switch {
	case presigned && v2:
		r.URL.RawQuery = removeQueryParams(r.URL.RawQuery, v2AuthParams)
	case presigned:
		r.URL.RawQuery = removeQueryParams(r.URL.RawQuery, authParams)
	default:
		// A security token may travel in the query of a header-signed
		// request too.
		r.URL.RawQuery = removeQueryParams(r.URL.RawQuery, []string{paramSecurityToken})
	}
}

// removeQueryParams drops the named parameters from a raw query, keeping
// the others exactly as sent.
func removeQueryParams(raw string, names []string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if key, err := url.QueryUnescape(k); err == nil && slices.Contains(names, key) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}
