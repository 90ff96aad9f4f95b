package sigv4

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// The fail-closed rule: Payload.Body never returns the final byte of a
// payload before every check on it has passed. Each case below is broken
// only at its very end, so a reader that released bytes eagerly would hand
// out the complete payload before noticing.

// drain reads body with reads of size n and returns how many bytes it
// released and the first error other than io.EOF.
func drain(body io.Reader, n int) (int, error) {
	return drainInto(body, make([]byte, n))
}

// drainInto reads body to its end through buf.
func drainInto(body io.Reader, buf []byte) (int, error) {
	total := 0
	for {
		m, err := body.Read(buf)
		total += m
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// plainWire signs a non-chunked upload with aws-sdk-go-v2's signer.
// contentSHA is the x-amz-content-sha256 value; a negative length sends the
// body with Transfer-Encoding: chunked.
func plainWire(t testing.TB, signedBody, sentBody []byte, contentSHA string, headers map[string]string, unknownLength bool) []byte {
	t.Helper()
	r := newClientRequest(t, http.MethodPut, s3URL("fail/closed.bin"), signedBody)
	r.Header.Set("X-Amz-Content-Sha256", contentSHA)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	if unknownLength {
		r.ContentLength = -1
	}
	if err := awsSigner.SignHTTP(t.Context(), awsCredentials, r, contentSHA, "s3", testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	r.Body = io.NopCloser(newBytesReader(sentBody))
	return wire(t, r)
}

type bytesReader struct {
	b []byte
}

func newBytesReader(b []byte) *bytesReader { return &bytesReader{b: b} }

func (r *bytesReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestFinalByteIsNeverReleasedOnAFailingCheck(t *testing.T) {
	payload := payloadOf(150_000)
	tampered := append([]byte{}, payload...)
	tampered[len(tampered)-1] ^= 0x01
	size := len(payload)
	crc := checksumOf(t, "CRC32", payload)
	badCRC := checksumOf(t, "CRC32", tampered)

	tests := []struct {
		name string
		wire []byte
		want s3err.Code
	}{
		{"x-amz-content-sha256: last byte altered",
			plainWire(t, payload, tampered, sha256Hex(payload), nil, false), s3err.XAmzContentSHA256Mismatch},
		{"x-amz-content-sha256, unknown length: last byte altered",
			plainWire(t, payload, tampered, sha256Hex(payload), nil, true), s3err.XAmzContentSHA256Mismatch},
		{"UNSIGNED-PAYLOAD with Content-MD5: last byte altered",
			plainWire(t, payload, tampered, unsignedPayload, map[string]string{"Content-Md5": md5Base64(payload)}, false), s3err.BadDigest},
		{"UNSIGNED-PAYLOAD with Content-MD5, unknown length: last byte altered",
			plainWire(t, payload, tampered, unsignedPayload, map[string]string{"Content-Md5": md5Base64(payload)}, true), s3err.BadDigest},
		{"UNSIGNED-PAYLOAD with x-amz-checksum-crc32: last byte altered",
			plainWire(t, payload, tampered, unsignedPayload, map[string]string{"X-Amz-Checksum-Crc32": crc}, false), s3err.BadDigest},
		{"signed payload with x-amz-checksum-sha1 that does not match",
			plainWire(t, payload, payload, sha256Hex(payload), map[string]string{"X-Amz-Checksum-Sha1": checksumOf(t, "SHA1", tampered)}, false), s3err.BadDigest},
		{"UNSIGNED-PAYLOAD: body one byte short", shortBodyWire(t, payload), s3err.IncompleteBody},
		{"signed chunks: last byte altered",
			streamingWire(t, payload, streamOptions{mode: streamingSigned, flipLastByte: true}), s3err.SignatureDoesNotMatch},
		{"signed chunks: final chunk signature altered",
			streamingWire(t, payload, streamOptions{mode: streamingSigned, badFinalSig: true}), s3err.SignatureDoesNotMatch},
		{"signed chunks: final chunk missing",
			streamingWire(t, payload, streamOptions{mode: streamingSigned, dropFinalChunk: true}), s3err.IncompleteBody},
		{"signed chunks with Content-MD5 that does not match",
			streamingWire(t, payload, streamOptions{mode: streamingSigned, headers: map[string]string{"Content-Md5": md5Base64(tampered)}}), s3err.BadDigest},
		{"signed chunks with x-amz-checksum-crc64nvme that does not match",
			streamingWire(t, payload, streamOptions{mode: streamingSigned, headers: map[string]string{"X-Amz-Checksum-Crc64nvme": checksumOf(t, "CRC64NVME", tampered)}}), s3err.BadDigest},
		{"signed trailer: trailer signature altered",
			streamingWire(t, payload, streamOptions{mode: streamingSignedTrailer, trailer: "x-amz-checksum-crc32:" + crc, badTrailerSig: true}), s3err.SignatureDoesNotMatch},
		{"signed trailer: signed checksum that does not match",
			streamingWire(t, payload, streamOptions{mode: streamingSignedTrailer, trailer: "x-amz-checksum-crc32:" + badCRC}), s3err.BadDigest},
		{"signed trailer: final chunk signature altered",
			streamingWire(t, payload, streamOptions{mode: streamingSignedTrailer, trailer: "x-amz-checksum-crc32:" + crc, badFinalSig: true}), s3err.SignatureDoesNotMatch},
		{"unsigned trailer: checksum that does not match",
			streamingWire(t, payload, streamOptions{mode: streamingUnsignedTrailer, trailer: "x-amz-checksum-crc32:" + badCRC}), s3err.BadDigest},
		{"unsigned trailer: last byte altered",
			streamingWire(t, payload, streamOptions{mode: streamingUnsignedTrailer, trailer: "x-amz-checksum-crc32:" + crc, flipLastByte: true}), s3err.BadDigest},
		{"unsigned trailer: declared trailer missing",
			withoutTrailerValue(t, streamingWire(t, payload, streamOptions{mode: streamingUnsignedTrailer, trailer: "x-amz-checksum-crc32:" + crc})), s3err.InvalidRequest},
		{"unsigned trailer: final chunk missing",
			streamingWire(t, payload, streamOptions{mode: streamingUnsignedTrailer, trailer: "x-amz-checksum-crc32:" + crc, dropFinalChunk: true}), s3err.IncompleteBody},
	}
	for _, tt := range tests {
		for _, readSize := range []int{1, 7, 4096, 64 << 10, 1 << 20} {
			t.Run(tt.name+"/reads of "+strconv.Itoa(readSize), func(t *testing.T) {
				res, err := streamingVerifier().Verify(parseWire(t, tt.wire))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				defer res.Payload.Body.Close()
				n, err := drain(res.Payload.Body, readSize)
				wantCode(t, err, tt.want)
				if n >= size {
					t.Fatalf("released %d bytes, want fewer than the %d-byte payload", n, size)
				}
				// The error is sticky: nothing more comes out.
				if m, err2 := res.Payload.Body.Read(make([]byte, 10)); m != 0 || err2 == nil {
					t.Errorf("Read after failure = %d, %v; want 0 and an error", m, err2)
				}
			})
		}
	}
}

// The same uploads, intact, release the whole payload at every read size.
func TestIntactPayloadIsReleasedCompletely(t *testing.T) {
	payload := payloadOf(150_000)
	crc := checksumOf(t, "CRC32", payload)
	tests := []struct {
		name string
		wire []byte
	}{
		{"x-amz-content-sha256", plainWire(t, payload, payload, sha256Hex(payload), nil, false)},
		{"x-amz-content-sha256, unknown length", plainWire(t, payload, payload, sha256Hex(payload), map[string]string{"Content-Md5": md5Base64(payload)}, true)},
		{"UNSIGNED-PAYLOAD with checksum", plainWire(t, payload, payload, unsignedPayload, map[string]string{"X-Amz-Checksum-Crc32": crc}, false)},
		{"signed chunks", streamingWire(t, payload, streamOptions{mode: streamingSigned, headers: map[string]string{"Content-Md5": md5Base64(payload)}})},
		{"signed chunks, 8 KiB", streamingWire(t, payload, streamOptions{mode: streamingSigned, chunkSize: 8 << 10})},
		{"signed trailer", streamingWire(t, payload, streamOptions{mode: streamingSignedTrailer, trailer: "x-amz-checksum-crc32:" + crc})},
		{"unsigned trailer", streamingWire(t, payload, streamOptions{mode: streamingUnsignedTrailer, trailer: "x-amz-checksum-crc32:" + crc})},
	}
	for _, tt := range tests {
		for _, readSize := range []int{1, 7, 4096, 64 << 10, 1 << 20} {
			t.Run(tt.name+"/reads of "+strconv.Itoa(readSize), func(t *testing.T) {
				res, err := streamingVerifier().Verify(parseWire(t, tt.wire))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				defer res.Payload.Body.Close()
				n, err := drain(res.Payload.Body, readSize)
				if err != nil || n != len(payload) {
					t.Fatalf("drain = %d, %v; want %d, nil", n, err, len(payload))
				}
			})
		}
	}
}

// shortBodyWire is an UNSIGNED-PAYLOAD upload whose Content-Length
// announces the whole payload but whose body stops one byte short.
func shortBodyWire(t testing.TB, payload []byte) []byte {
	t.Helper()
	w := plainWire(t, payload, payload, unsignedPayload, nil, false)
	return w[:len(w)-1]
}

// withoutTrailerValue removes the trailing checksum line but keeps the
// x-amz-trailer declaration, adjusting Content-Length.
func withoutTrailerValue(t testing.TB, w []byte) []byte {
	t.Helper()
	loc := trailerValueRE.FindIndex(w)
	if loc == nil {
		t.Fatal("no trailer in request")
	}
	body := append(append([]byte{}, w[:loc[0]]...), w[loc[1]+2:]...)
	r := parseWire(t, body)
	_, b := splitWire(t, body)
	r.ContentLength = int64(len(b))
	r.Body = io.NopCloser(newBytesReader(b))
	return wire(t, r)
}
