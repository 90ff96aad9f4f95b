package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// The worked examples of the Amazon S3 API reference ("Signature
// Calculations for the Authorization Header", "Authenticating Requests:
// Using Query Parameters", "Transferring Payload in Multiple Chunks" and
// "Including Trailing Headers"), with their published signatures.

const exampleCredential = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"

func exampleHeaderRequest(t *testing.T, method, target string, headers map[string]string, body string) *http.Request {
	t.Helper()
	var raw strings.Builder
	raw.WriteString(method + " " + target + " HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\n")
	for k, v := range headers {
		raw.WriteString(k + ": " + v + "\r\n")
	}
	if body != "" {
		raw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	raw.WriteString("\r\n" + body)
	return parseWire(t, []byte(raw.String()))
}

func TestS3DocumentedHeaderExamples(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		target  string
		headers map[string]string
		body    string
	}{
		{
			name:   "GET object with range",
			method: http.MethodGet, target: "/test.txt",
			headers: map[string]string{
				"Range":                "bytes=0-9",
				"X-Amz-Content-Sha256": emptySHA256,
				"X-Amz-Date":           "20130524T000000Z",
				"Authorization": "AWS4-HMAC-SHA256 " + exampleCredential + ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
					"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
			},
		},
		{
			name:   "PUT object with a $ in the key",
			method: http.MethodPut, target: "/test$file.text",
			headers: map[string]string{
				"Date":                 "Fri, 24 May 2013 00:00:00 GMT",
				"X-Amz-Date":           "20130524T000000Z",
				"X-Amz-Storage-Class":  "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
				"Authorization": "AWS4-HMAC-SHA256 " + exampleCredential + ",SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class," +
					"Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
			},
			body: "Welcome to Amazon S3.",
		},
		{
			name:   "GET bucket lifecycle",
			method: http.MethodGet, target: "/?lifecycle",
			headers: map[string]string{
				"X-Amz-Content-Sha256": emptySHA256,
				"X-Amz-Date":           "20130524T000000Z",
				"Authorization": "AWS4-HMAC-SHA256 " + exampleCredential + ",SignedHeaders=host;x-amz-content-sha256;x-amz-date," +
					"Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
			},
		},
		{
			name:   "GET bucket (list objects)",
			method: http.MethodGet, target: "/?max-keys=2&prefix=J",
			headers: map[string]string{
				"X-Amz-Content-Sha256": emptySHA256,
				"X-Amz-Date":           "20130524T000000Z",
				"Authorization": "AWS4-HMAC-SHA256 " + exampleCredential + ",SignedHeaders=host;x-amz-content-sha256;x-amz-date," +
					"Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+" verifies", func(t *testing.T) {
			r := exampleHeaderRequest(t, tt.method, tt.target, tt.headers, tt.body)
			res, err := newVerifier(exampleTime, exampleAccessKey, exampleSecret).Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := readPayload(t, res)
			if err != nil {
				t.Fatalf("read payload: %v", err)
			}
			if string(got) != tt.body {
				t.Errorf("payload = %q, want %q", got, tt.body)
			}
			if (res.Payload == nil) != (tt.body == "") {
				t.Errorf("payload present = %v, want %v", res.Payload != nil, tt.body != "")
			}
		})
		t.Run(tt.name+" with another secret fails", func(t *testing.T) {
			r := exampleHeaderRequest(t, tt.method, tt.target, tt.headers, tt.body)
			_, err := newVerifier(exampleTime, exampleAccessKey, "other-secret").Verify(r)
			wantCode(t, err, s3err.SignatureDoesNotMatch)
		})
	}
}

func TestS3DocumentedPutObjectWithAlteredBodyIsRejected(t *testing.T) {
	headers := map[string]string{
		"Date":                 "Fri, 24 May 2013 00:00:00 GMT",
		"X-Amz-Date":           "20130524T000000Z",
		"X-Amz-Storage-Class":  "REDUCED_REDUNDANCY",
		"X-Amz-Content-Sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
		"Authorization": "AWS4-HMAC-SHA256 " + exampleCredential + ",SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class," +
			"Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
	}
	r := exampleHeaderRequest(t, http.MethodPut, "/test$file.text", headers, "Welcome to Amazon S4.")
	res, err := newVerifier(exampleTime, exampleAccessKey, exampleSecret).Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err) // the header signature is intact
	}
	got, err := readPayload(t, res)
	wantCode(t, err, s3err.XAmzContentSHA256Mismatch)
	if len(got) >= len("Welcome to Amazon S4.") {
		t.Errorf("released %d bytes, want fewer than the whole body", len(got))
	}
}

const examplePresignedTarget = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
	"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
	"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
	"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

func TestS3DocumentedPresignedURL(t *testing.T) {
	tests := []struct {
		name    string
		now     time.Time
		target  string
		wantErr *s3err.Code
		message string
	}{
		{name: "verifies when issued", now: exampleTime, target: examplePresignedTarget},
		{name: "verifies until it expires", now: exampleTime.Add(86400 * time.Second), target: examplePresignedTarget},
		{name: "has expired a second later", now: exampleTime.Add(86401 * time.Second), target: examplePresignedTarget,
			wantErr: &s3err.AccessDenied, message: "Request has expired"},
		{name: "is not valid long before it was issued", now: exampleTime.Add(-time.Hour), target: examplePresignedTarget,
			wantErr: &s3err.AccessDenied, message: "Request is not valid yet"},
		{name: "verifies when issued slightly in the future", now: exampleTime.Add(-time.Minute), target: examplePresignedTarget},
		{name: "fails for another key", now: exampleTime, target: strings.Replace(examplePresignedTarget, "/test.txt", "/test.tx", 1),
			wantErr: &s3err.SignatureDoesNotMatch},
		{name: "fails with an extended expiry", now: exampleTime, target: strings.Replace(examplePresignedTarget, "86400", "86401", 1),
			wantErr: &s3err.SignatureDoesNotMatch},
		{name: "fails with an added query parameter", now: exampleTime, target: examplePresignedTarget + "&versionId=1",
			wantErr: &s3err.SignatureDoesNotMatch},
		{name: "refuses an expiry beyond a week", now: exampleTime, target: strings.Replace(examplePresignedTarget, "86400", "604801", 1),
			wantErr: &s3err.AuthorizationQueryParametersError},
		{name: "refuses a missing signature", now: exampleTime, target: examplePresignedTarget[:strings.Index(examplePresignedTarget, "&X-Amz-Signature")],
			wantErr: &s3err.AuthorizationQueryParametersError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parseWire(t, []byte("GET "+tt.target+" HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\n\r\n"))
			res, err := newVerifier(tt.now, exampleAccessKey, exampleSecret).Verify(r)
			if tt.wantErr != nil {
				wantCode(t, err, *tt.wantErr)
				if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
					t.Errorf("error = %q, want it to say %q", err, tt.message)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.AccessKey != exampleAccessKey || res.Payload != nil {
				t.Errorf("result = %+v, want access key %s and no payload", res, exampleAccessKey)
			}
			if strings.Contains(r.URL.RawQuery, "X-Amz-") {
				t.Errorf("query after Verify = %q, want the X-Amz-* parameters removed", r.URL.RawQuery)
			}
		})
	}
}

// exampleChunkedBody is the body of the chunked-upload example: 65536 and
// 1024 bytes of 'a' and the final chunk, with the published signatures.
func exampleChunkedBody(sigs [3]string, tail string) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + sigs[0] + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 65536))
	b.WriteString("\r\n400;chunk-signature=" + sigs[1] + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 1024))
	b.WriteString("\r\n0;chunk-signature=" + sigs[2] + "\r\n" + tail)
	return b.Bytes()
}

var (
	exampleChunkSignatures = [3]string{
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	}
	exampleTrailerChunkSignatures = [3]string{
		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
	}
)

const exampleTrailer = "x-amz-checksum-crc32c:sOO8/Q==\r\n" +
	"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"

func exampleChunkedRequest(t *testing.T, trailer bool, body []byte) *http.Request {
	t.Helper()
	head := "PUT /examplebucket/chunkObject.txt HTTP/1.1\r\n" +
		"Host: s3.amazonaws.com\r\n" +
		"X-Amz-Date: 20130524T000000Z\r\n" +
		"X-Amz-Storage-Class: REDUCED_REDUNDANCY\r\n" +
		"Content-Encoding: aws-chunked\r\n" +
		"X-Amz-Decoded-Content-Length: 66560\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	if trailer {
		head += "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER\r\n" +
			"X-Amz-Trailer: x-amz-checksum-crc32c\r\n" +
			"Authorization: AWS4-HMAC-SHA256 " + exampleCredential + ",SignedHeaders=content-encoding;host;x-amz-content-sha256;" +
			"x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer," +
			"Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e\r\n"
	} else {
		head += "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\n" +
			"Authorization: AWS4-HMAC-SHA256 " + exampleCredential + ",SignedHeaders=content-encoding;content-length;host;" +
			"x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class," +
			"Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9\r\n"
	}
	return parseWire(t, append([]byte(head+"\r\n"), body...))
}

func TestS3DocumentedChunkedUpload(t *testing.T) {
	want := bytes.Repeat([]byte("a"), 66560)
	tamperedData := exampleChunkedBody(exampleChunkSignatures, "\r\n")
	tamperedData[100] = 'b'
	tamperedSig := exampleChunkedBody([3]string{exampleChunkSignatures[0], alterHex(exampleChunkSignatures[1]), exampleChunkSignatures[2]}, "\r\n")
	tamperedFinal := exampleChunkedBody([3]string{exampleChunkSignatures[0], exampleChunkSignatures[1], alterHex(exampleChunkSignatures[2])}, "\r\n")
	swapped := exampleChunkedBody([3]string{exampleChunkSignatures[1], exampleChunkSignatures[0], exampleChunkSignatures[2]}, "\r\n")

	tests := []struct {
		name    string
		body    []byte
		wantErr *s3err.Code
	}{
		{name: "decodes the 66560-byte payload", body: exampleChunkedBody(exampleChunkSignatures, "\r\n")},
		{name: "rejects altered chunk data", body: tamperedData, wantErr: &s3err.SignatureDoesNotMatch},
		{name: "rejects an altered chunk signature", body: tamperedSig, wantErr: &s3err.SignatureDoesNotMatch},
		{name: "rejects an altered final chunk signature", body: tamperedFinal, wantErr: &s3err.SignatureDoesNotMatch},
		{name: "rejects reordered chunk signatures", body: swapped, wantErr: &s3err.SignatureDoesNotMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exampleChunkedRequest(t, false, tt.body)
			res, err := newVerifier(exampleTime, exampleAccessKey, exampleSecret).Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Payload.Size != 66560 || r.ContentLength != 66560 {
				t.Errorf("size = %d, ContentLength = %d, want 66560", res.Payload.Size, r.ContentLength)
			}
			if got := r.Header.Get("Content-Encoding"); got != "" {
				t.Errorf("Content-Encoding = %q, want it removed", got)
			}
			got, err := readPayload(t, res)
			if tt.wantErr != nil {
				wantCode(t, err, *tt.wantErr)
				if len(got) >= len(want) {
					t.Errorf("released %d bytes of a failing payload, want fewer than %d", len(got), len(want))
				}
				return
			}
			if err != nil {
				t.Fatalf("read payload: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("payload: got %d bytes, want %d bytes of 'a'", len(got), len(want))
			}
		})
	}
}

func TestS3DocumentedChunkedUploadWithTrailer(t *testing.T) {
	want := bytes.Repeat([]byte("a"), 66560)
	tests := []struct {
		name    string
		tail    string
		wantErr *s3err.Code
	}{
		{name: "decodes and verifies the trailer", tail: exampleTrailer},
		{name: "accepts a blank line before the trailer", tail: "\r\n" + exampleTrailer},
		{name: "rejects an altered checksum", tail: strings.Replace(exampleTrailer, "sOO8/Q==", "sOO8/A==", 1),
			wantErr: &s3err.SignatureDoesNotMatch},
		{name: "rejects an altered trailer signature", tail: strings.Replace(exampleTrailer, "d81f82fc", "d81f82fd", 1),
			wantErr: &s3err.SignatureDoesNotMatch},
		{name: "rejects a missing trailer signature", tail: "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n",
			wantErr: &s3err.SignatureDoesNotMatch},
		{name: "rejects a truncated trailer", tail: exampleTrailer[:20], wantErr: &s3err.InvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exampleChunkedRequest(t, true, exampleChunkedBody(exampleTrailerChunkSignatures, tt.tail))
			res, err := newVerifier(exampleTime, exampleAccessKey, exampleSecret).Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got := res.Payload.Checksum.Algorithm; got != "CRC32C" {
				t.Errorf("checksum algorithm = %q, want CRC32C", got)
			}
			got, err := readPayload(t, res)
			if tt.wantErr != nil {
				wantCode(t, err, *tt.wantErr)
				if len(got) >= len(want) {
					t.Errorf("released %d bytes of a failing payload, want fewer than %d", len(got), len(want))
				}
				return
			}
			if err != nil {
				t.Fatalf("read payload: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("payload: got %d bytes, want %d bytes of 'a'", len(got), len(want))
			}
			if got := res.Payload.Checksum; got != (Checksum{Algorithm: "CRC32C", Value: "sOO8/Q=="}) {
				t.Errorf("checksum = %+v, want CRC32C sOO8/Q==", got)
			}
		})
	}
}

// The chunk and trailer strings to sign, checked against the published
// signatures directly (minio-go's signer tests use the same vectors).
func TestChunkAndTrailerSignatureVectors(t *testing.T) {
	key := signingKey(exampleSecret, "20130524", "us-east-1", "s3")
	c := &chunkedReader{
		mac:        hmac.New(sha256.New, key),
		sha:        sha256.New(),
		scopeLines: []byte("20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"),
	}
	mustSig := func(s string) *[32]byte {
		var sig [32]byte
		if !decodeSignature(s, &sig) {
			t.Fatalf("bad signature %q", s)
		}
		return &sig
	}
	tests := []struct {
		name      string
		prev      string
		trailer   bool
		data      []byte
		signature string
	}{
		{"first chunk", "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", false,
			bytes.Repeat([]byte("a"), 65536), exampleChunkSignatures[0]},
		{"second chunk", exampleChunkSignatures[0], false, bytes.Repeat([]byte("a"), 1024), exampleChunkSignatures[1]},
		{"final chunk", exampleChunkSignatures[1], false, nil, exampleChunkSignatures[2]},
		{"trailer of the trailer example", exampleTrailerChunkSignatures[2], true,
			[]byte("x-amz-checksum-crc32c:sOO8/Q==\n"), "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"},
		{"trailer of minio-go's vector", "e05ab64fe1dfdbf0b5870abbaabdb063c371d4e96f2767e6934d90529c5ae850", true,
			[]byte("x-amz-checksum-crc32c:wdBDMA==\n"), "41e14ac611e27a8bb3d66c3bad6856f209297767d5dd4fc87d8fa9e422e03faf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.prevSig = *mustSig(tt.prev)
			sum := sha256.Sum256(tt.data)
			alg, sep := chunkAlgorithmLine, emptyHashLines
			if tt.trailer {
				alg, sep = trailerAlgorithmLine, newline
			}
			if err := c.verifySignature(alg, sep, sum[:], mustSig(tt.signature)); err != nil {
				t.Fatalf("verifySignature: %v", err)
			}
			if got := hex.EncodeToString(c.prevSig[:]); got != tt.signature {
				t.Errorf("chained signature = %s, want %s", got, tt.signature)
			}
		})
	}
}
