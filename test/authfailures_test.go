package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/test/harness"
)

// Requests that fail authentication or authorisation store nothing.

// testAuthFailures sends requests that must be refused and checks that
// nothing reached the backend.
func testAuthFailures(t *testing.T, s *stack) {
	const bucket = "auth-foundation"
	wrongSecret := "wrong-" + harness.SHA256Hex(harness.RandomBytes(t, 16))[:34]
	ctx := t.Context()
	if err := s.gw.Client(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	data := harness.RandomBytes(t, 200*1024)

	t.Run("bad credentials", func(t *testing.T) {
		unknownKey := "unknown-" + harness.SHA256Hex(data)[:12]
		tests := []struct {
			name      string
			accessKey string
			secretKey string
			wantCode  string
		}{
			{"wrong secret", s.gw.AccessKey, wrongSecret, "SignatureDoesNotMatch"},
			{"unknown access key", unknownKey, s.gw.SecretKey, "InvalidAccessKeyId"},
		}
		for _, tc := range tests {
			t.Run(tc.name+" with minio-go", func(t *testing.T) {
				key := "minio-go-" + strings.ReplaceAll(tc.name, " ", "-")
				c := harness.MinioGoClient(t, s.gw.Endpoint, tc.accessKey, tc.secretKey, "us-east-1")
				_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
				if e := minio.ToErrorResponse(err); e.StatusCode != http.StatusForbidden || e.Code != tc.wantCode {
					t.Errorf("PutObject: %v (status %d code %q), want 403 %s", err, e.StatusCode, e.Code, tc.wantCode)
				}
				s.assertNotOnBackend(t, bucket, key)
			})
			t.Run(tc.name+" with aws-sdk-go-v2", func(t *testing.T) {
				key := "aws-sdk-" + strings.ReplaceAll(tc.name, " ", "-")
				c := harness.S3Client(s.gw.Endpoint, tc.accessKey, tc.secretKey)
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
				if code := apiErrorCode(err); code != tc.wantCode {
					t.Errorf("PutObject: %v (code %q), want %s", err, code, tc.wantCode)
				}
				s.assertNotOnBackend(t, bucket, key)
			})
		}
	})

	t.Run("tampered streaming upload", func(t *testing.T) {
		// signedStream returns a PUT signed with STREAMING-AWS4-HMAC-SHA256-PAYLOAD
		// and its encoded body: 64 KiB chunks, each "hex-size;chunk-signature=SIG\r\nDATA\r\n".
		signedStream := func(t *testing.T, key string) (*http.Request, []byte) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.gw.Endpoint+"/"+bucket+"/"+key, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			req = signer.StreamingSignV4(req, s.gw.AccessKey, s.gw.SecretKey, "", "us-east-1", int64(len(data)), time.Now().UTC(), sha256Hasher{sha256.New()})
			body := readAllOrFatal(t, "signed stream", req.Body)
			return req, body
		}
		// nthChunk returns where the n-th chunk's signature and data start.
		nthChunk := func(t *testing.T, body []byte, n int) (sig, payload int) {
			off := 0
			for i := 0; ; i++ {
				hdrEnd := bytes.Index(body[off:], []byte("\r\n"))
				if hdrEnd < 0 {
					t.Fatalf("chunk %d not found in the signed stream", n)
				}
				header := string(body[off : off+hdrEnd])
				sizeHex, _, _ := strings.Cut(header, ";")
				size, err := strconv.ParseInt(sizeHex, 16, 64)
				if err != nil {
					t.Fatalf("chunk header %q: %v", header, err)
				}
				if i == n {
					return off + strings.Index(header, "chunk-signature=") + len("chunk-signature="), off + hdrEnd + 2
				}
				off += hdrEnd + 2 + int(size) + 2
			}
		}
		// flipHex changes one hex digit of a signature and keeps it hex.
		flipHex := func(b []byte, i int) {
			if b[i] == '0' {
				b[i] = '1'
			} else {
				b[i] = '0'
			}
		}
		flipBit := func(b []byte, i int) { b[i] ^= 0x01 }
		lastDataChunk := (len(data) + 65535) / 65536 // index of the final, empty chunk
		tests := []struct {
			name       string
			tamper     func(t *testing.T, body []byte)
			wantStatus int
			wantCode   string
		}{
			{"untampered (control)", func(*testing.T, []byte) {}, http.StatusOK, ""},
			{"first chunk signature flipped", func(t *testing.T, b []byte) { sig, _ := nthChunk(t, b, 0); flipHex(b, sig+10) }, http.StatusForbidden, "SignatureDoesNotMatch"},
			{"first chunk data flipped", func(t *testing.T, b []byte) { _, p := nthChunk(t, b, 0); flipBit(b, p+100) }, http.StatusForbidden, "SignatureDoesNotMatch"},
			{"last data chunk data flipped", func(t *testing.T, b []byte) { _, p := nthChunk(t, b, lastDataChunk-1); flipBit(b, p+5) }, http.StatusForbidden, "SignatureDoesNotMatch"},
			{"final empty chunk signature flipped", func(t *testing.T, b []byte) { sig, _ := nthChunk(t, b, lastDataChunk); flipHex(b, sig) }, http.StatusForbidden, "SignatureDoesNotMatch"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := "stream-" + strings.ReplaceAll(tc.name, " ", "-")
				req, body := signedStream(t, key)
				tc.tamper(t, body)
				req.Body = io.NopCloser(bytes.NewReader(body))
				req.ContentLength = int64(len(body))
				status, _, e := doRaw(t, req)
				if status != tc.wantStatus || e.Code != tc.wantCode {
					t.Errorf("PUT: status %d code %q (%s), want %d %q", status, e.Code, e.Message, tc.wantStatus, tc.wantCode)
				}
				if tc.wantStatus == http.StatusOK {
					s.wrote(bucket, key, data)
					obj, err := s.gw.Client(t).GetObject(ctx, bucket, key, minio.GetObjectOptions{})
					if err != nil {
						t.Fatalf("GetObject: %v", err)
					}
					defer obj.Close()
					assertSameBytes(t, "GetObject after the streaming PUT", readAllOrFatal(t, key, obj), data)
					return
				}
				s.assertNotOnBackend(t, bucket, key)
			})
		}
	})

	t.Run("x-amz-content-sha256 mismatch", func(t *testing.T) {
		small := data[:10*1024]
		tests := []struct {
			name       string
			hash       []byte
			wantStatus int
			wantCode   string
		}{
			{"correct hash (control)", sha256Of(small), http.StatusOK, ""},
			{"hash of other bytes", sha256Of(data[1 : 10*1024+1]), http.StatusBadRequest, "XAmzContentSHA256Mismatch"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := "sha256-" + strings.ReplaceAll(tc.name, " ", "-")
				req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.gw.Endpoint+"/"+bucket+"/"+key, bytes.NewReader(small))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(tc.hash))
				req = signer.SignV4(*req, s.gw.AccessKey, s.gw.SecretKey, "", "us-east-1")
				status, _, e := doRaw(t, req)
				if status != tc.wantStatus || e.Code != tc.wantCode {
					t.Errorf("PUT: status %d code %q (%s), want %d %q", status, e.Code, e.Message, tc.wantStatus, tc.wantCode)
				}
				if tc.wantStatus == http.StatusOK {
					s.wrote(bucket, key, small)
					return
				}
				s.assertNotOnBackend(t, bucket, key)
			})
		}
	})
}
