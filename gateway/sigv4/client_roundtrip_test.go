package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/encoding/httpbinding"
	md5simd "github.com/minio/md5-simd"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// Requests signed by real client code (aws-sdk-go-v2's signer and S3
// client, minio-go's signer), run through Verify as a server receives them.

const (
	testAccessKey = "S3SEALTESTACCESSKEY"
	testSecret    = "s3seal/test+secret/KEY0123456789abcdefghij"
	testRegion    = "us-east-1"
)

var testTime = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// framing is how a client request carries its payload.
type framing int

const (
	plainBody       framing = iota // the body as is
	signedChunks                   // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	signedTrailer                  // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
	unsignedTrailer                // STREAMING-UNSIGNED-PAYLOAD-TRAILER
)

// clientRequest is a request produced by a client library.
type clientRequest struct {
	name      string
	wire      []byte
	at        time.Time // signing time
	payload   []byte    // what the server must decode
	presigned bool
	expires   time.Duration // presigned only
	framing   framing
	region    string
	checksum  Checksum // the client's flexible checksum, if any

	// tamperErr is the error a flipped payload byte must cause; nil if the
	// request carries nothing that protects the payload.
	tamperErr *s3err.Code
}

func (c clientRequest) request(t *testing.T) *http.Request { return parseWire(t, c.wire) }

func (c clientRequest) verifier(region string) *Verifier {
	v := newVerifier(c.at, testAccessKey, testSecret)
	v.Region = region
	return v
}

// signedAt reads the signing time off a signed client request.
func signedAt(t *testing.T, r *http.Request) time.Time {
	t.Helper()
	s := r.Header.Get("X-Amz-Date")
	if s == "" {
		s = r.URL.Query().Get("X-Amz-Date")
	}
	at, err := time.Parse(iso8601Basic, s)
	if err != nil {
		t.Fatalf("signed request has no usable X-Amz-Date: %q", s)
	}
	return at
}

var awsCredentials = aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}

// awsSigner is aws-sdk-go-v2's signer configured as its S3 client does.
var awsSigner = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })

func s3URL(key string) string {
	return "https://s3.example.test/bucket/" + httpbinding.EscapePath(key, false)
}

func newClientRequest(t testing.TB, method, url string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader = http.NoBody
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	return r
}

func awsHeaderSigned(t *testing.T, name, key string, payload []byte, unsigned bool, region string) clientRequest {
	t.Helper()
	method := http.MethodPut
	if payload == nil {
		method = http.MethodGet
	}
	r := newClientRequest(t, method, s3URL(key), payload)
	hash := sha256Hex(payload)
	tamper := &s3err.XAmzContentSHA256Mismatch
	if unsigned {
		hash, tamper = unsignedPayload, nil
	}
	r.Header.Set("X-Amz-Content-Sha256", hash)
	r.Header.Set("X-Amz-Meta-Color", "  blue   and  green ")
	if err := awsSigner.SignHTTP(context.Background(), awsCredentials, r, hash, "s3", region, testTime); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return clientRequest{name: name, wire: wire(t, r), at: testTime, payload: payload, region: region, tamperErr: tamper}
}

func awsPresigned(t *testing.T, name, method, key string, payload []byte, region string) clientRequest {
	t.Helper()
	r := newClientRequest(t, method, s3URL(key)+"?X-Amz-Expires=900", nil)
	u, hdr, err := awsSigner.PresignHTTP(context.Background(), awsCredentials, r, unsignedPayload, "s3", region, testTime)
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	pr := newClientRequest(t, method, u, payload)
	for k, v := range hdr {
		if k != "Host" {
			pr.Header[k] = v
		}
	}
	return clientRequest{name: name, wire: wire(t, pr), at: testTime, payload: payload, presigned: true,
		expires: 900 * time.Second, region: region}
}

// awsStreaming signs an aws-chunked upload: the seed with aws-sdk-go-v2's
// request signer, every chunk with its stream signer.
func awsStreaming(t *testing.T, name, key string, payload []byte, chunkSize int, region string) clientRequest {
	t.Helper()
	var chunks [][]byte
	for rest := payload; len(rest) > 0; {
		n := min(chunkSize, len(rest))
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
	}
	chunks = append(chunks, nil)
	encodedLen := 0
	for _, c := range chunks {
		encodedLen += len(strconv.FormatInt(int64(len(c)), 16)) + len(";chunk-signature=") + 64 + 2 + len(c) + 2
	}
	r := newClientRequest(t, http.MethodPut, s3URL(key), nil)
	r.ContentLength = int64(encodedLen)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(payload)))
	r.Header.Set("X-Amz-Content-Sha256", streamingSigned)
	if err := awsSigner.SignHTTP(context.Background(), awsCredentials, r, streamingSigned, "s3", region, testTime); err != nil {
		t.Fatalf("sign: %v", err)
	}
	seed, err := hex.DecodeString(regexp.MustCompile(`Signature=([0-9a-f]{64})`).FindStringSubmatch(r.Header.Get("Authorization"))[1])
	if err != nil {
		t.Fatalf("seed signature: %v", err)
	}
	ss := v4.NewStreamSigner(awsCredentials, "s3", region, seed)
	var body bytes.Buffer
	for _, c := range chunks {
		sig, err := ss.GetSignature(context.Background(), nil, c, testTime)
		if err != nil {
			t.Fatalf("chunk signature: %v", err)
		}
		fmt.Fprintf(&body, "%x;chunk-signature=%x\r\n%s\r\n", len(c), sig, c)
	}
	if body.Len() != encodedLen {
		t.Fatalf("encoded %d bytes, announced %d", body.Len(), encodedLen)
	}
	r.Body = io.NopCloser(&body)
	return clientRequest{name: name, wire: wire(t, r), at: testTime, payload: payload, framing: signedChunks,
		region: region, tamperErr: &s3err.SignatureDoesNotMatch}
}

func minioHeaderSigned(t *testing.T, name, key string, payload []byte, region string) clientRequest {
	t.Helper()
	r := newClientRequest(t, http.MethodPut, s3URL(key), payload)
	r.Header.Set("X-Amz-Content-Sha256", sha256Hex(payload))
	r.Header.Set("Content-Type", "application/octet-stream")
	r = signer.SignV4(*r, testAccessKey, testSecret, "", region)
	return clientRequest{name: name, wire: wire(t, r), at: signedAt(t, r), payload: payload, region: region,
		tamperErr: &s3err.XAmzContentSHA256Mismatch}
}

func minioUnsignedWithMD5(t *testing.T, name, key string, payload []byte) clientRequest {
	t.Helper()
	r := newClientRequest(t, http.MethodPut, s3URL(key), payload)
	r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	r.Header.Set("Content-Md5", md5Base64(payload))
	r = signer.SignV4(*r, testAccessKey, testSecret, "", testRegion)
	return clientRequest{name: name, wire: wire(t, r), at: signedAt(t, r), payload: payload, region: testRegion,
		tamperErr: &s3err.BadDigest}
}

func minioPresigned(t *testing.T, name, key string, payload []byte) clientRequest {
	t.Helper()
	method := http.MethodPut
	if payload == nil {
		method = http.MethodGet
	}
	r := newClientRequest(t, method, s3URL(key)+"?versionId=null", nil)
	r = signer.PreSignV4(*r, testAccessKey, testSecret, "", testRegion, 3600)
	pr := newClientRequest(t, method, r.URL.String(), payload)
	return clientRequest{name: name, wire: wire(t, pr), at: signedAt(t, pr), payload: payload, presigned: true,
		expires: time.Hour, region: testRegion}
}

func minioStreaming(t *testing.T, name, key string, payload []byte, trailer http.Header, region string) clientRequest {
	t.Helper()
	r := newClientRequest(t, http.MethodPut, s3URL(key), nil)
	r.Body = io.NopCloser(bytes.NewReader(payload))
	f, tamper := signedChunks, &s3err.SignatureDoesNotMatch
	var sum Checksum
	if trailer != nil {
		r.Trailer = trailer
		f = signedTrailer
		for k, v := range trailer {
			sum = Checksum{Algorithm: checksumByHeader(strings.ToLower(k)).name, Value: v[0]}
		}
	}
	r = signer.StreamingSignV4(r, testAccessKey, testSecret, "", region, int64(len(payload)), testTime, newSHA256Hasher())
	return clientRequest{name: name, wire: wire(t, r), at: testTime, payload: payload, framing: f, region: region,
		checksum: sum, tamperErr: tamper}
}

func minioUnsignedTrailer(t *testing.T, name, key string, payload []byte, trailer http.Header) clientRequest {
	t.Helper()
	r := newClientRequest(t, http.MethodPut, s3URL(key), payload)
	r.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrailer)
	var sum Checksum
	for k, v := range trailer {
		sum = Checksum{Algorithm: checksumByHeader(strings.ToLower(k)).name, Value: v[0]}
	}
	r = signer.SignV4Trailer(*r, testAccessKey, testSecret, "", testRegion, trailer)
	return clientRequest{name: name, wire: wire(t, r), at: signedAt(t, r), payload: payload, framing: unsignedTrailer,
		region: testRegion, checksum: sum, tamperErr: &s3err.BadDigest}
}

// captureClient is the HTTP client of an S3 client under test: it records
// each request in wire format and answers 200 OK, without any network.
type captureClient struct {
	t     *testing.T
	wires [][]byte
}

func (c *captureClient) Do(r *http.Request) (*http.Response, error) {
	c.wires = append(c.wires, wire(c.t, r))
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Etag": {`"d41d8cd98f00b204e9800998ecf8427e"`}},
		Body:       http.NoBody,
		Request:    r,
	}, nil
}

func newS3Client(cc *captureClient, endpoint string) *s3.Client {
	cfg := aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testAccessKey, testSecret, ""),
		HTTPClient:  cc,
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		// The default of config.LoadDefaultConfig since SDK s3 v1.73.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}

// sdkPutObject captures what aws-sdk-go-v2's S3 client sends for PutObject.
func sdkPutObject(t *testing.T, name, endpoint, key string, payload []byte, alg types.ChecksumAlgorithm) clientRequest {
	t.Helper()
	cc := &captureClient{t: t}
	in := &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key), Body: bytes.NewReader(payload),
		ChecksumAlgorithm: alg}
	if _, err := newS3Client(cc, endpoint).PutObject(context.Background(), in); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if len(cc.wires) != 1 {
		t.Fatalf("captured %d requests, want 1", len(cc.wires))
	}
	r := parseWire(t, cc.wires[0])
	c := clientRequest{name: name, wire: cc.wires[0], at: signedAt(t, r), payload: payload, region: testRegion}
	// What DESIGN.md says the SDK sends: over https an aws-chunked body with
	// a trailing checksum, over http a signed payload hash and a checksum
	// header.
	h := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case strings.HasPrefix(endpoint, "https:") && h == streamingUnsignedTrailer:
		c.framing, c.tamperErr = unsignedTrailer, &s3err.BadDigest
	case strings.HasPrefix(endpoint, "http:") && h == sha256Hex(payload) && r.Header.Get("X-Amz-Checksum-"+string(alg)) != "":
		c.tamperErr = &s3err.XAmzContentSHA256Mismatch
	case strings.HasPrefix(endpoint, "http:") && h == sha256Hex(payload) && alg == "" && r.Header.Get("X-Amz-Checksum-Crc32") != "":
		c.tamperErr = &s3err.XAmzContentSHA256Mismatch
	default:
		t.Fatalf("PutObject to %s sent x-amz-content-sha256 %q with headers %v; not the variant this test expects", endpoint, h, r.Header)
	}
	c.checksum.Algorithm = string(alg)
	if alg == "" {
		c.checksum.Algorithm = "CRC32" // the SDK's default
	}
	c.checksum.Value = checksumOf(t, c.checksum.Algorithm, payload)
	return c
}

func sdkPresigned(t *testing.T, name, method, key string, payload []byte) clientRequest {
	t.Helper()
	pc := s3.NewPresignClient(newS3Client(&captureClient{t: t}, "https://s3.example.test"))
	var (
		req *v4.PresignedHTTPRequest
		err error
	)
	expires := s3.WithPresignExpires(10 * time.Minute)
	if method == http.MethodGet {
		req, err = pc.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)}, expires)
	} else {
		req, err = pc.PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)}, expires)
	}
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	r := newClientRequest(t, req.Method, req.URL, payload)
	for k, v := range req.SignedHeader {
		if k != "Host" {
			r.Header[k] = v
		}
	}
	return clientRequest{name: name, wire: wire(t, r), at: signedAt(t, r), payload: payload, presigned: true,
		expires: 10 * time.Minute, region: testRegion}
}

func md5Base64(b []byte) string {
	var d digests
	d.expectMD5([16]byte{})
	d.write(b)
	return base64.StdEncoding.EncodeToString(d.md5.Sum(nil))
}

func checksumOf(t testing.TB, alg string, b []byte) string {
	t.Helper()
	a := checksumByName(alg)
	if a == nil {
		t.Fatalf("unknown checksum algorithm %q", alg)
	}
	h := a.new()
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// clientRequests is the matrix of client-signed requests.
func clientRequests(t *testing.T) []clientRequest {
	t.Helper()
	small := payloadOf(1000)
	medium := payloadOf(200 << 10)
	crc := func(b []byte) string {
		var s [4]byte
		v := crc32.ChecksumIEEE(b)
		s[0], s[1], s[2], s[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		return base64.StdEncoding.EncodeToString(s[:])
	}
	return []clientRequest{
		awsHeaderSigned(t, "aws-sdk-go-v2 signer: GET", "plain.txt", nil, false, testRegion),
		awsHeaderSigned(t, "aws-sdk-go-v2 signer: PUT, signed payload", "dir/with space+plus.txt", small, false, testRegion),
		awsHeaderSigned(t, "aws-sdk-go-v2 signer: PUT, unicode and // key", "ключ//日本語/~*(1)!.bin", small, false, testRegion),
		awsHeaderSigned(t, "aws-sdk-go-v2 signer: PUT, percent and dot-dot key", "100%/../not-normalised", small, false, testRegion),
		awsHeaderSigned(t, "aws-sdk-go-v2 signer: PUT, UNSIGNED-PAYLOAD", "unsigned.bin", small, true, testRegion),
		awsHeaderSigned(t, "aws-sdk-go-v2 signer: empty region", "admin.txt", nil, false, ""),
		awsPresigned(t, "aws-sdk-go-v2 signer: presigned GET", http.MethodGet, "pre signed+key", nil, testRegion),
		awsPresigned(t, "aws-sdk-go-v2 signer: presigned PUT", http.MethodPut, "upload/ü.bin", small, testRegion),
		awsStreaming(t, "aws-sdk-go-v2 stream signer: 64 KiB chunks", "stream.bin", medium, 64<<10, testRegion),
		awsStreaming(t, "aws-sdk-go-v2 stream signer: 8 KiB chunks, odd tail", "stream small.bin", payloadOf(3*8192+7), 8192, testRegion),
		awsStreaming(t, "aws-sdk-go-v2 stream signer: empty payload", "empty", []byte{}, 8192, testRegion),
		minioHeaderSigned(t, "minio-go SignV4: PUT", "mc/upload.bin", small, testRegion),
		minioHeaderSigned(t, "minio-go SignV4: empty region (mc admin)", "minio/admin/v3/info", small, ""),
		minioUnsignedWithMD5(t, "minio-go SignV4: UNSIGNED-PAYLOAD with Content-MD5", "https/upload.bin", medium),
		minioPresigned(t, "minio-go PreSignV4: GET", "pre/get.txt", nil),
		minioPresigned(t, "minio-go PreSignV4: PUT", "pre/put.txt", small),
		minioStreaming(t, "minio-go StreamingSignV4", "mc/stream.bin", medium, nil, testRegion),
		minioStreaming(t, "minio-go StreamingSignV4: one short chunk", "mc/short.bin", small, nil, testRegion),
		minioStreaming(t, "minio-go StreamingSignV4: signed CRC32C trailer", "mc/trailer.bin", medium,
			http.Header{"X-Amz-Checksum-Crc32c": {checksumOf(t, "CRC32C", medium)}}, testRegion),
		minioStreaming(t, "minio-go StreamingSignV4: signed SHA256 trailer, empty region", "mc/trailer256.bin", small,
			http.Header{"X-Amz-Checksum-Sha256": {checksumOf(t, "SHA256", small)}}, ""),
		minioUnsignedTrailer(t, "minio-go SignV4Trailer: unsigned CRC32 trailer", "mc/ut.bin", medium,
			http.Header{"X-Amz-Checksum-Crc32": {crc(medium)}}),
		minioUnsignedTrailer(t, "minio-go SignV4Trailer: unsigned CRC64NVME trailer", "mc/ut64.bin", small,
			http.Header{"X-Amz-Checksum-Crc64nvme": {checksumOf(t, "CRC64NVME", small)}}),
		sdkPutObject(t, "aws-sdk-go-v2 S3 PutObject over https: default CRC32 trailer", "https://s3.example.test", "sdk/put.bin", medium, ""),
		sdkPutObject(t, "aws-sdk-go-v2 S3 PutObject over https: CRC64NVME trailer", "https://s3.example.test", "sdk/put64.bin", medium, types.ChecksumAlgorithmCrc64nvme),
		sdkPutObject(t, "aws-sdk-go-v2 S3 PutObject over https: CRC32C trailer", "https://s3.example.test", "sdk/put32c.bin", small, types.ChecksumAlgorithmCrc32c),
		sdkPutObject(t, "aws-sdk-go-v2 S3 PutObject over https: SHA1 trailer", "https://s3.example.test", "sdk/sha1 key.bin", small, types.ChecksumAlgorithmSha1),
		sdkPutObject(t, "aws-sdk-go-v2 S3 PutObject over https: SHA256 trailer", "https://s3.example.test", "sdk/sha256.bin", small, types.ChecksumAlgorithmSha256),
		sdkPutObject(t, "aws-sdk-go-v2 S3 PutObject over http: CRC32 header, signed payload", "http://s3.example.test", "sdk/plain+http.bin", medium, ""),
		sdkPutObject(t, "aws-sdk-go-v2 S3 PutObject over http: CRC64NVME header", "http://s3.example.test", "sdk/ключ.bin", small, types.ChecksumAlgorithmCrc64nvme),
		sdkPresigned(t, "aws-sdk-go-v2 S3 presigned GetObject", http.MethodGet, "sdk/presigned get.txt", nil),
		sdkPresigned(t, "aws-sdk-go-v2 S3 presigned PutObject", http.MethodPut, "sdk/presigned+put.txt", small),
	}
}

// hiddenHeaders must not survive Verify.
var hiddenHeaders = []string{
	"Authorization", "X-Amz-Content-Sha256", "X-Amz-Decoded-Content-Length", "X-Amz-Trailer",
	"X-Amz-Sdk-Checksum-Algorithm", "Content-Md5", "X-Amz-Checksum-Crc32", "X-Amz-Checksum-Crc32c",
	"X-Amz-Checksum-Crc64nvme", "X-Amz-Checksum-Sha1", "X-Amz-Checksum-Sha256",
}

func TestClientRequestsVerify(t *testing.T) {
	for _, c := range clientRequests(t) {
		t.Run(c.name, func(t *testing.T) {
			r := c.request(t)
			res, err := c.verifier(testRegion).Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.AccessKey != testAccessKey {
				t.Errorf("access key = %q, want %q", res.AccessKey, testAccessKey)
			}
			got, err := readPayload(t, res)
			if err != nil {
				t.Fatalf("read payload: %v", err)
			}
			if !bytes.Equal(got, c.payload) {
				t.Fatalf("payload: got %d bytes, want %d bytes", len(got), len(c.payload))
			}
			if res.Payload != nil {
				if res.Payload.Size != int64(len(c.payload)) || r.ContentLength != res.Payload.Size {
					t.Errorf("size = %d, ContentLength = %d, want %d", res.Payload.Size, r.ContentLength, len(c.payload))
				}
				if c.checksum != (Checksum{}) && res.Payload.Checksum != c.checksum {
					t.Errorf("checksum = %+v, want %+v", res.Payload.Checksum, c.checksum)
				}
			}
			for _, h := range hiddenHeaders {
				if v, ok := r.Header[h]; ok {
					t.Errorf("header %s = %q survived Verify", h, v)
				}
			}
			if strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "aws-chunked") {
				t.Errorf("Content-Encoding = %q, want aws-chunked removed", r.Header.Get("Content-Encoding"))
			}
			if strings.Contains(r.URL.RawQuery, "X-Amz-Signature") || strings.Contains(r.URL.RawQuery, "X-Amz-Credential") {
				t.Errorf("query = %q, want the authentication parameters removed", r.URL.RawQuery)
			}
		})
	}
}

func TestClientRequestsWithWrongSecretFail(t *testing.T) {
	for _, c := range clientRequests(t) {
		t.Run(c.name, func(t *testing.T) {
			v := newVerifier(c.at, testAccessKey, testSecret+"x")
			_, err := v.Verify(c.request(t))
			wantCode(t, err, s3err.SignatureDoesNotMatch)
		})
	}
}

func TestClientRequestsWithUnknownAccessKeyFail(t *testing.T) {
	for _, c := range clientRequests(t) {
		t.Run(c.name, func(t *testing.T) {
			v := newVerifier(c.at, "SOMEONEELSE", testSecret)
			_, err := v.Verify(c.request(t))
			wantCode(t, err, s3err.InvalidAccessKeyID)
		})
	}
}

func TestClientRequestsOutsideTheirTimeFail(t *testing.T) {
	for _, c := range clientRequests(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.presigned {
				v := newVerifier(c.at.Add(c.expires+time.Second), testAccessKey, testSecret)
				_, err := v.Verify(c.request(t))
				wantCode(t, err, s3err.AccessDenied)
				if !strings.Contains(err.Error(), "expired") {
					t.Errorf("error = %q, want it to say the request expired", err)
				}
				return
			}
			for _, skew := range []time.Duration{16 * time.Minute, -16 * time.Minute} {
				v := newVerifier(c.at.Add(skew), testAccessKey, testSecret)
				_, err := v.Verify(c.request(t))
				wantCode(t, err, s3err.RequestTimeTooSkewed)
			}
			v := newVerifier(c.at.Add(14*time.Minute), testAccessKey, testSecret)
			if _, err := v.Verify(c.request(t)); err != nil {
				t.Errorf("Verify 14 minutes later: %v, want success", err)
			}
		})
	}
}

func TestClientRequestsForAnotherRegion(t *testing.T) {
	for _, c := range clientRequests(t) {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.verifier("eu-central-1").Verify(c.request(t))
			switch {
			case c.region == "":
				if err != nil {
					t.Fatalf("Verify of an empty-region request: %v, want it accepted", err)
				}
			case c.presigned:
				wantCode(t, err, s3err.AuthorizationQueryParametersError)
			default:
				wantCode(t, err, s3err.AuthorizationHeaderMalformed)
				if want := "the region 'us-east-1' is wrong; expecting 'eu-central-1'"; !strings.Contains(err.Error(), want) {
					t.Errorf("error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

// payloadOffset returns the offset in a wire body of the first payload byte.
func payloadOffset(t *testing.T, c clientRequest, body []byte) int {
	t.Helper()
	if c.framing == plainBody {
		return 0
	}
	i := bytes.Index(body, []byte("\r\n"))
	if i < 0 {
		t.Fatal("no chunk header")
	}
	return i + 2
}

func TestClientRequestsWithAlteredPayloadFail(t *testing.T) {
	for _, c := range clientRequests(t) {
		if len(c.payload) == 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			head, body := splitWire(t, c.wire)
			body = bytes.Clone(body)
			body[payloadOffset(t, c, body)+len(c.payload)/2%8192] ^= 0x20
			res, err := c.verifier(testRegion).Verify(parseWire(t, append(bytes.Clone(head), body...)))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := readPayload(t, res)
			if c.tamperErr == nil {
				if err != nil || len(got) != len(c.payload) {
					t.Fatalf("unprotected payload: read %d bytes, err %v; want it passed through", len(got), err)
				}
				return
			}
			wantCode(t, err, *c.tamperErr)
			if len(got) >= len(c.payload) {
				t.Errorf("released %d bytes of an altered %d-byte payload", len(got), len(c.payload))
			}
		})
	}
}

func TestClientRequestsWithTruncatedBodyFail(t *testing.T) {
	for _, c := range clientRequests(t) {
		if len(c.payload) == 0 && c.framing == plainBody {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			for _, cut := range []int{1, 2, 5, 40} {
				if cut > len(c.wire) {
					continue
				}
				res, err := c.verifier(testRegion).Verify(parseWire(t, c.wire[:len(c.wire)-cut]))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				got, err := readPayload(t, res)
				wantCode(t, err, s3err.IncompleteBody)
				if len(c.payload) > 0 && len(got) >= len(c.payload) {
					t.Errorf("cut %d: released %d bytes of a truncated %d-byte payload", cut, len(got), len(c.payload))
				}
			}
		})
	}
}

var chunkSigRE = regexp.MustCompile(`chunk-signature=([0-9a-f]{64})`)

func TestClientRequestsWithAlteredChunkSignatureFail(t *testing.T) {
	for _, c := range clientRequests(t) {
		if c.framing != signedChunks && c.framing != signedTrailer {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			head, body := splitWire(t, c.wire)
			locs := chunkSigRE.FindAllSubmatchIndex(body, -1)
			for i, loc := range locs {
				b := bytes.Clone(body)
				copy(b[loc[2]:loc[3]], alterHex(string(b[loc[2]:loc[3]])))
				res, err := c.verifier(testRegion).Verify(parseWire(t, append(bytes.Clone(head), b...)))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				got, err := readPayload(t, res)
				wantCode(t, err, s3err.SignatureDoesNotMatch)
				if len(c.payload) > 0 && len(got) >= len(c.payload) {
					t.Errorf("chunk %d of %d altered: released %d bytes of %d", i+1, len(locs), len(got), len(c.payload))
				}
			}
		})
	}
}

var trailerValueRE = regexp.MustCompile(`x-amz-checksum-[a-z0-9]+:([A-Za-z0-9+/=]+)`)

func TestClientRequestsWithAlteredTrailerChecksumFail(t *testing.T) {
	for _, c := range clientRequests(t) {
		if c.framing != signedTrailer && c.framing != unsignedTrailer {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			head, body := splitWire(t, c.wire)
			loc := trailerValueRE.FindSubmatchIndex(body)
			if loc == nil {
				t.Fatalf("no trailer checksum in body %q", body[max(0, len(body)-200):])
			}
			b := bytes.Clone(body)
			if b[loc[2]] == 'A' {
				b[loc[2]] = 'B'
			} else {
				b[loc[2]] = 'A'
			}
			res, err := c.verifier(testRegion).Verify(parseWire(t, append(bytes.Clone(head), b...)))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := readPayload(t, res)
			want := s3err.BadDigest
			if c.framing == signedTrailer {
				want = s3err.SignatureDoesNotMatch
			}
			wantCode(t, err, want)
			if len(got) >= len(c.payload) {
				t.Errorf("released %d bytes of %d", len(got), len(c.payload))
			}
		})
	}
}

// hashWrapper adapts a hash.Hash to the md5simd.Hasher minio-go wants.
type hashWrapper struct{ hash.Hash }

func (*hashWrapper) Close() {}

func newSHA256Hasher() md5simd.Hasher { return &hashWrapper{Hash: sha256.New()} }
