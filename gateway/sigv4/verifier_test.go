package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// awsSignedPut returns a PUT of body signed by aws-sdk-go-v2's signer after
// prepare has set its headers; contentSHA is the x-amz-content-sha256 value.
func awsSignedPut(t *testing.T, target string, body []byte, contentSHA string, prepare func(r *http.Request)) *http.Request {
	t.Helper()
	r := newClientRequest(t, http.MethodPut, "https://s3.example.test"+target, body)
	if contentSHA != "" {
		r.Header.Set("X-Amz-Content-Sha256", contentSHA)
	}
	if prepare != nil {
		prepare(r)
	}
	if err := awsSigner.SignHTTP(t.Context(), awsCredentials, r, contentSHA, "s3", testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	return r
}

var sigRE = regexp.MustCompile(`Signature=[0-9a-f]{64}`)

func TestVerifyRejectsBadRequests(t *testing.T) {
	body := []byte("hello, world")
	bodySHA := sha256Hex(body)
	setHeaders := func(kv ...string) func(*http.Request) {
		return func(r *http.Request) {
			for i := 0; i+1 < len(kv); i += 2 {
				r.Header.Set(kv[i], kv[i+1])
			}
		}
	}
	signed := func(t *testing.T, contentSHA string, prepare func(*http.Request)) *http.Request {
		return awsSignedPut(t, "/bucket/key", body, contentSHA, prepare)
	}
	tests := []struct {
		name    string
		request func(t *testing.T) *http.Request // client request; sent through the wire
		want    s3err.Code
		message string
	}{
		{"anonymous request", func(t *testing.T) *http.Request {
			return newClientRequest(t, http.MethodGet, "https://s3.example.test/bucket/key", nil)
		}, s3err.AccessDenied, ""},
		{"header and query authentication together", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return r
		}, s3err.InvalidArgument, "Only one auth mechanism"},
		{"two Authorization headers", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r
		}, s3err.InvalidArgument, ""},
		{"signature version 2 query authentication by an unknown key", func(t *testing.T) *http.Request {
			return newClientRequest(t, http.MethodGet, "https://s3.example.test/b/k?AWSAccessKeyId=AKID&Expires=1&Signature=x", nil)
		}, s3err.InvalidAccessKeyID, ""},
		{"no x-amz-date and no Date", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Del("X-Amz-Date")
			return r
		}, s3err.AccessDenied, "requires a valid Date or x-amz-date header"},
		{"unparseable x-amz-date", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Set("X-Amz-Date", "2025-03-14T15:09:26Z")
			return r
		}, s3err.AccessDenied, "requires a valid Date or x-amz-date header"},
		{"credential date that is not the request date", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Set("X-Amz-Date", "20250315T000000Z")
			return r
		}, s3err.AuthorizationHeaderMalformed, "Invalid credential date"},
		{"another service", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/s3/", "/sts/", 1))
			return r
		}, s3err.AuthorizationHeaderMalformed, `incorrect service "sts"`},
		{"another terminal", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "aws4_request", "aws5_request", 1))
			return r
		}, s3err.AuthorizationHeaderMalformed, "incorrect terminal"},
		{"malformed credential date", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20250314/", "/2025-3-14/", 1))
			return r
		}, s3err.AuthorizationHeaderMalformed, "incorrect date format"},
		{"host not signed", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;", "", 1))
			return r
		}, s3err.AccessDenied, "not signed"},
		{"x-amz-meta header added after signing", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Set("X-Amz-Meta-Injected", "1")
			return r
		}, s3err.AccessDenied, "not signed"},
		{"SSE header added after signing", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Header.Set("X-Amz-Server-Side-Encryption", "aws:kms")
			return r
		}, s3err.AccessDenied, "not signed"},
		{"signed header value changed", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, setHeaders("X-Amz-Meta-A", "1"))
			r.Header.Set("X-Amz-Meta-A", "2")
			return r
		}, s3err.SignatureDoesNotMatch, ""},
		{"method changed", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.Method = http.MethodPost
			return r
		}, s3err.SignatureDoesNotMatch, ""},
		{"body without x-amz-content-sha256", func(t *testing.T) *http.Request {
			return signed(t, "", nil)
		}, s3err.InvalidRequest, "Missing required header for this request: x-amz-content-sha256"},
		{"x-amz-content-sha256 that is not a hash", func(t *testing.T) *http.Request {
			return signed(t, "not-a-hash", nil)
		}, s3err.InvalidArgument, "x-amz-content-sha256 must be"},
		{"SigV4A streaming payload", func(t *testing.T) *http.Request {
			return signed(t, streamingECDSA, setHeaders("X-Amz-Decoded-Content-Length", "12"))
		}, s3err.NotImplemented, ""},
		{"Content-MD5 that is not base64", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("Content-Md5", "not base64!"))
		}, s3err.InvalidDigest, ""},
		{"Content-MD5 of the wrong length", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("Content-Md5", "AAAA"))
		}, s3err.InvalidDigest, ""},
		{"checksum value of the wrong length", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("X-Amz-Checksum-Crc32", "AAAAAAAA"))
		}, s3err.InvalidChecksum, "Value for x-amz-checksum-crc32 header is invalid."},
		{"checksum value that is not base64", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("X-Amz-Checksum-Sha256", "%%%"))
		}, s3err.InvalidChecksum, "x-amz-checksum-sha256"},
		{"two checksum headers", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("X-Amz-Checksum-Crc32", checksumOf(t, "CRC32", body),
				"X-Amz-Checksum-Sha1", checksumOf(t, "SHA1", body)))
		}, s3err.InvalidRequest, "Multiple checksum Types are not allowed"},
		{"unknown checksum algorithm", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("X-Amz-Checksum-Xxhash64", "AAAAAAAAAAA="))
		}, s3err.InvalidRequest, "algorithm type"},
		{"x-amz-sdk-checksum-algorithm naming another algorithm", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("X-Amz-Checksum-Crc32", checksumOf(t, "CRC32", body),
				"X-Amz-Sdk-Checksum-Algorithm", "SHA256"))
		}, s3err.InvalidRequest, "x-amz-sdk-checksum-algorithm"},
		{"streaming payload without x-amz-decoded-content-length", func(t *testing.T) *http.Request {
			return signed(t, streamingSigned, setHeaders("Content-Encoding", "aws-chunked"))
		}, s3err.MissingContentLength, "x-amz-decoded-content-length"},
		{"streaming payload with a negative decoded length", func(t *testing.T) *http.Request {
			return signed(t, streamingUnsignedTrailer, setHeaders("X-Amz-Decoded-Content-Length", "-1"))
		}, s3err.InvalidArgument, ""},
		{"aws-chunked encoding with a plain payload hash", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("Content-Encoding", "aws-chunked"))
		}, s3err.InvalidRequest, "aws-chunked"},
		{"x-amz-trailer without a trailer payload", func(t *testing.T) *http.Request {
			return signed(t, bodySHA, setHeaders("X-Amz-Trailer", "x-amz-checksum-crc32"))
		}, s3err.InvalidRequest, "x-amz-trailer"},
		{"a trailer that is not a checksum", func(t *testing.T) *http.Request {
			return signed(t, streamingUnsignedTrailer, setHeaders("X-Amz-Trailer", "x-amz-meta-late",
				"X-Amz-Decoded-Content-Length", "12"))
		}, s3err.InvalidRequest, "not supported"},
		{"a trailer and a checksum header", func(t *testing.T) *http.Request {
			return signed(t, streamingUnsignedTrailer, setHeaders("X-Amz-Trailer", "x-amz-checksum-crc32",
				"X-Amz-Checksum-Sha1", checksumOf(t, "SHA1", body), "X-Amz-Decoded-Content-Length", "12"))
		}, s3err.InvalidRequest, "Multiple checksum"},
		{"query string that is not URL encoding", func(t *testing.T) *http.Request {
			r := signed(t, bodySHA, nil)
			r.URL.RawQuery = "a=%zz"
			return r
		}, s3err.InvalidArgument, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := tt.request(t)
			authz := client.Header.Get("Authorization")
			r := toServer(t, client)
			before := r.Header.Clone()
			_, err := newVerifier(testTime, testAccessKey, testSecret).Verify(r)
			wantCode(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error = %q, want it to contain %q", err, tt.message)
			}
			msg := err.Error()
			if strings.Contains(msg, testSecret) || sigRE.MatchString(msg) || (authz != "" && strings.Contains(msg, authz)) {
				t.Errorf("error %q reveals a secret, signature or the Authorization header", msg)
			}
			if len(r.Header) != len(before) {
				t.Errorf("headers changed on failure: got %v, want %v", r.Header, before)
			}
		})
	}
}

func TestVerifyChecksEmptyBodiesAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		sha     string
		want    *s3err.Code
	}{
		{"empty body with its hash", nil, emptySHA256, nil},
		{"empty body with another hash", nil, sha256Hex([]byte("x")), &s3err.XAmzContentSHA256Mismatch},
		{"empty body with the MD5 of another body", map[string]string{"Content-Md5": md5Base64([]byte("x"))}, unsignedPayload, &s3err.BadDigest},
		{"empty body with its MD5", map[string]string{"Content-Md5": md5Base64(nil)}, unsignedPayload, nil},
		{"empty body with its CRC32C", map[string]string{"X-Amz-Checksum-Crc32c": checksumOf(t, "CRC32C", nil)}, unsignedPayload, nil},
		{"empty body with another CRC32C", map[string]string{"X-Amz-Checksum-Crc32c": checksumOf(t, "CRC32C", []byte("x"))}, unsignedPayload, &s3err.BadDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := awsSignedPut(t, "/bucket/empty", nil, tt.sha, func(r *http.Request) {
				for k, v := range tt.headers {
					r.Header.Set(k, v)
				}
			})
			r := toServer(t, client)
			res, err := newVerifier(testTime, testAccessKey, testSecret).Verify(r)
			if tt.want != nil {
				wantCode(t, err, *tt.want)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if r.Body != http.NoBody || r.ContentLength != 0 {
				t.Errorf("body = %v, ContentLength = %d; want an empty body", r.Body, r.ContentLength)
			}
			// A verified checksum of the empty payload is kept so the
			// gateway can answer with it; without one there is no payload.
			wantPayload := len(tt.headers) > 0
			if got := res.Payload != nil; got != wantPayload {
				t.Fatalf("payload = %v, want one: %v", res.Payload, wantPayload)
			}
			if wantPayload && (res.Payload.Size != 0 || res.Payload.Body != http.NoBody) {
				t.Errorf("payload = %+v, want size 0 and an empty body", res.Payload)
			}
		})
	}
}

func TestVerifyStripsWhatItConsumed(t *testing.T) {
	payload := payloadOf(1000)
	crc := checksumOf(t, "CRC32", payload)
	w := streamingWire(t, payload, streamOptions{
		mode:    streamingUnsignedTrailer,
		trailer: "x-amz-checksum-crc32:" + crc,
		headers: map[string]string{
			"Content-Encoding":             "aws-chunked,gzip",
			"Content-Md5":                  md5Base64(payload),
			"X-Amz-Sdk-Checksum-Algorithm": "CRC32",
			"X-Amz-Checksum-Mode":          "ENABLED",
			"X-Amz-Checksum-Type":          "FULL_OBJECT",
			"X-Amz-Storage-Class":          "STANDARD",
			"X-Amz-Security-Token":         "session",
		},
	})
	r := parseWire(t, w)
	encodedLen := r.ContentLength
	v := streamingVerifier()
	v.SessionSecret = func(string, string) (string, error) { return testSecret, nil }
	res, err := v.Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, h := range append(hiddenHeaders, "X-Amz-Security-Token") {
		if v, ok := r.Header[h]; ok {
			t.Errorf("header %s = %q survived Verify", h, v)
		}
	}
	for h, want := range map[string]string{
		"Content-Encoding":    "gzip",
		"X-Amz-Checksum-Mode": "ENABLED",
		"X-Amz-Checksum-Type": "FULL_OBJECT",
		"X-Amz-Storage-Class": "STANDARD",
		"X-Amz-Date":          testTime.Format(iso8601Basic),
		"Content-Length":      "1000",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if r.ContentLength != 1000 || encodedLen == 1000 {
		t.Errorf("ContentLength = %d (encoded %d), want the decoded 1000", r.ContentLength, encodedLen)
	}
	if got, want := res.Payload.ContentMD5, md5Base64(payload); got != want {
		t.Errorf("ContentMD5 = %q, want %q", got, want)
	}
	if got := res.Payload.Checksum; got != (Checksum{Algorithm: "CRC32"}) {
		t.Errorf("checksum before reading = %+v, want algorithm CRC32 and no value yet", got)
	}
	if r.Body != res.Payload.Body {
		t.Error("r.Body is not the verified payload")
	}
	if _, err := readPayload(t, res); err != nil {
		t.Fatalf("read: %v", err)
	}
	if got := res.Payload.Checksum; got != (Checksum{Algorithm: "CRC32", Value: crc}) {
		t.Errorf("checksum after reading = %+v, want CRC32 %s", got, crc)
	}
}

func TestVerifyRemovesOnlyAuthenticationParametersFromPresignedURLs(t *testing.T) {
	r := newClientRequest(t, http.MethodPut, "https://s3.example.test/bucket/key?partNumber=1&uploadId=a%2Bb%2F~c&X-Amz-Expires=60", nil)
	u, _, err := awsSigner.PresignHTTP(t.Context(), awsCredentials, r, unsignedPayload, "s3", testRegion, testTime)
	if err != nil {
		t.Fatal(err)
	}
	sr := toServer(t, newClientRequest(t, http.MethodPut, u, []byte("part")))
	if _, err := streamingVerifier().Verify(sr); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got, want := sr.URL.RawQuery, "partNumber=1&uploadId=a%2Bb%2F~c"; got != want {
		t.Errorf("query = %q, want %q", got, want)
	}
}

func TestPresignedURLWithSignedPayloadHashChecksTheBody(t *testing.T) {
	body := []byte("presigned body")
	r := newClientRequest(t, http.MethodPut, "https://s3.example.test/bucket/key?X-Amz-Expires=60&X-Amz-Content-Sha256="+sha256Hex(body), nil)
	u, _, err := awsSigner.PresignHTTP(t.Context(), awsCredentials, r, sha256Hex(body), "s3", testRegion, testTime)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		body []byte
		want *s3err.Code
	}{
		{"the signed body", body, nil},
		{"another body", []byte("presigned bodY"), &s3err.XAmzContentSHA256Mismatch},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := streamingVerifier().Verify(toServer(t, newClientRequest(t, http.MethodPut, u, tt.body)))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			_, err = readPayload(t, res)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				return
			}
			wantCode(t, err, *tt.want)
		})
	}
}

// Some clients sign with a Date header instead of x-amz-date; the string to
// sign then carries that time in ISO 8601 form.
func TestVerifyAcceptsTheDateHeader(t *testing.T) {
	date := testTime.Format(http.TimeFormat)
	creq := "GET\n/bucket/key\n\ndate:" + date + "\nhost:s3.example.test\n\ndate;host\n" + emptySHA256
	sum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + testTime.Format(iso8601Basic) + "\n20250314/us-east-1/s3/aws4_request\n" + hex.EncodeToString(sum[:])
	m := hmac.New(sha256.New, signingKey(testSecret, "20250314", testRegion, "s3"))
	m.Write([]byte(sts))
	raw := "GET /bucket/key HTTP/1.1\r\nHost: s3.example.test\r\nDate: " + date + "\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=" + testAccessKey + "/20250314/us-east-1/s3/aws4_request, " +
		"SignedHeaders=date;host, Signature=" + hex.EncodeToString(m.Sum(nil)) + "\r\n\r\n"
	if _, err := streamingVerifier().Verify(parseWire(t, []byte(raw))); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	late := newVerifier(testTime.Add(time.Hour), testAccessKey, testSecret)
	_, err := late.Verify(parseWire(t, []byte(raw)))
	wantCode(t, err, s3err.RequestTimeTooSkewed)
}

func TestVerifierDefaults(t *testing.T) {
	var v Verifier
	if v.service() != "s3" || v.maxSkew() != 15*time.Minute || v.maxChunkSize() != 16<<20 {
		t.Errorf("defaults = %q %v %d, want s3 15m 16MiB", v.service(), v.maxSkew(), v.maxChunkSize())
	}
	if d := time.Since(v.now()); d < 0 || d > time.Minute {
		t.Errorf("default clock is off by %v", d)
	}
	_, err := v.Verify(toServer(t, awsSignedPut(t, "/b/k", nil, emptySHA256, nil)))
	wantCode(t, err, s3err.InternalError)
}

func TestRequireSize(t *testing.T) {
	var none *Payload
	if n, err := none.RequireSize(); n != 0 || err != nil {
		t.Errorf("nil payload: %d, %v; want 0, nil", n, err)
	}
	if n, err := (&Payload{Size: 5}).RequireSize(); n != 5 || err != nil {
		t.Errorf("sized payload: %d, %v; want 5, nil", n, err)
	}
	_, err := (&Payload{Size: -1}).RequireSize()
	wantCode(t, err, s3err.MissingContentLength)
}

func TestStreamingPayloadsNeedNoContentEncoding(t *testing.T) {
	payload := payloadOf(100_000)
	for _, mode := range []string{streamingSigned, streamingSignedTrailer, streamingUnsignedTrailer} {
		t.Run(mode, func(t *testing.T) {
			o := streamOptions{mode: mode, noContentEncoding: true}
			if mode != streamingSigned {
				o.trailer = "x-amz-checksum-sha256:" + checksumOf(t, "SHA256", payload)
			}
			r := parseWire(t, streamingWire(t, payload, o))
			res, err := streamingVerifier().Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := readPayload(t, res)
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("read %d bytes, %v; want the %d-byte payload", len(got), err, len(payload))
			}
			if _, ok := r.Header["Content-Encoding"]; ok {
				t.Errorf("Content-Encoding = %q appeared", r.Header.Get("Content-Encoding"))
			}
		})
	}
}

// TestPresignLimitsAnswerAsS3Does checks every X-Amz-Expires limit and a
// request date in the future against the answers of S3 and MinIO.
func TestPresignLimitsAnswerAsS3Does(t *testing.T) {
	tests := []struct {
		expires string
		date    time.Time
		want    s3err.Code
	}{
		{"0", testTime, s3err.AccessDenied},
		{"1", testTime, s3err.Code{}},
		{"604800", testTime, s3err.Code{}},
		{"604801", testTime, s3err.AuthorizationQueryParametersError},
		{"-1", testTime, s3err.AuthorizationQueryParametersError},
		{"ten", testTime, s3err.AuthorizationQueryParametersError},
		{"60", testTime.Add(time.Hour), s3err.AccessDenied},
	}
	for _, tc := range tests {
		t.Run(tc.expires+" "+tc.date.Format(time.RFC3339), func(t *testing.T) {
			r := newClientRequest(t, http.MethodGet, "https://s3.example.test/bucket/key?X-Amz-Expires="+tc.expires, nil)
			u, _, err := awsSigner.PresignHTTP(t.Context(), awsCredentials, r, unsignedPayload, "s3", testRegion, tc.date)
			if err != nil {
				t.Fatal(err)
			}
			// A second after signing: an URL valid for 0 seconds has expired.
			v := newVerifier(testTime.Add(time.Second), testAccessKey, testSecret)
			_, err = v.Verify(toServer(t, newClientRequest(t, http.MethodGet, u, nil)))
			if tc.want == (s3err.Code{}) {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			wantCode(t, err, tc.want)
		})
	}
}

// TestRegions: without a configured region every region a client signs
// for is accepted (as MinIO does); with one, only it (and the empty region
// of admin requests).
func TestRegions(t *testing.T) {
	for _, tc := range []struct {
		configured, signed string
		want               s3err.Code
	}{
		{"", "eu-central-1", s3err.Code{}},
		{"", "us-east-1", s3err.Code{}},
		{"eu-central-1", "eu-central-1", s3err.Code{}},
		{"eu-central-1", "us-east-1", s3err.AuthorizationHeaderMalformed},
	} {
		t.Run(tc.configured+" "+tc.signed, func(t *testing.T) {
			r := newClientRequest(t, http.MethodGet, "https://s3.example.test/bucket/key", nil)
			r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
			if err := awsSigner.SignHTTP(t.Context(), awsCredentials, r, emptySHA256, "s3", tc.signed, testTime); err != nil {
				t.Fatal(err)
			}
			v := newVerifier(testTime, testAccessKey, testSecret)
			v.Region = tc.configured
			_, err := v.Verify(toServer(t, r))
			if tc.want == (s3err.Code{}) {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			wantCode(t, err, tc.want)
		})
	}
}
