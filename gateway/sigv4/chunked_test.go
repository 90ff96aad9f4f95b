package sigv4

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// testSeed is the seed signature of chunked bodies built for decoder tests.
const testSeed = "abababababababababababababababababababababababababababababababab"

// newTestChunkedReader builds the aws-chunked decoder Verify would build for
// a request in the given x-amz-content-sha256 mode, seeded with testSeed.
func newTestChunkedReader(t testing.TB, body io.ReadCloser, mode string, decodedLen int64, trailer string, maxChunk int64) (*chunkedReader, *Payload) {
	t.Helper()
	m, _, err := parsePayloadHash(mode)
	if err != nil {
		t.Fatal(err)
	}
	s := &signedRequest{
		key:     signingKey(testSecret, testTime.Format(scopeDateLayout), testRegion, "s3"),
		amzDate: testTime.Format(iso8601Basic),
		scope:   testTime.Format(scopeDateLayout) + "/" + testRegion + "/s3/aws4_request",
		mode:    m,
	}
	decodeSignature(testSeed, &s.signature)
	var d digests
	p := &Payload{Size: decodedLen}
	var alg *checksumAlgorithm
	if trailer != "" {
		alg = checksumByHeader(trailer)
		d.expectChecksum(alg, nil)
		p.Checksum.Algorithm = alg.name
	}
	if maxChunk == 0 {
		maxChunk = defaultMaxChunkSize
	}
	c := s.newChunkedReader(body, decodedLen, maxChunk, alg, d, p)
	p.Body = c
	return c, p
}

func TestChunkDecoderRejectsMalformedFraming(t *testing.T) {
	hello := []byte("hello")
	signedHello := encodeStream(hello, testSeed, streamOptions{mode: streamingSigned})
	tests := []struct {
		name     string
		mode     string
		body     string
		decoded  int64
		trailer  string
		maxChunk int64
		want     *s3err.Code
	}{
		{name: "well formed", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\n\r\n", decoded: 5},
		{name: "chunk extensions are ignored when unsigned", mode: streamingUnsignedTrailer, body: "5;ext=1\r\nhello\r\n0\r\n\r\n", decoded: 5},
		{name: "upper-case hex size", mode: streamingUnsignedTrailer, body: "A\r\nhellohello\r\n0\r\n\r\n", decoded: 10},
		{name: "no final CRLF", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\n", decoded: 5},
		{name: "size that is not hex", mode: streamingUnsignedTrailer, body: "x5\r\nhello\r\n0\r\n\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "empty size", mode: streamingUnsignedTrailer, body: "\r\nhello\r\n0\r\n\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "chunk header ending in LF only", mode: streamingUnsignedTrailer, body: "5\nhello\r\n0\r\n\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "data not followed by CRLF", mode: streamingUnsignedTrailer, body: "5\r\nhelloXX0\r\n\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "more data than the decoded length", mode: streamingUnsignedTrailer, body: "6\r\nhello!\r\n0\r\n\r\n", decoded: 5, want: &s3err.IncompleteBody},
		{name: "a chunk after the decoded length", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", decoded: 5, want: &s3err.IncompleteBody},
		{name: "final chunk before the decoded length", mode: streamingUnsignedTrailer, body: "3\r\nhel\r\n0\r\n\r\n", decoded: 5, want: &s3err.IncompleteBody},
		{name: "body cut in the data", mode: streamingUnsignedTrailer, body: "5\r\nhel", decoded: 5, want: &s3err.IncompleteBody},
		{name: "body cut in a chunk header", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0", decoded: 5, want: &s3err.IncompleteBody},
		{name: "empty body", mode: streamingUnsignedTrailer, body: "", decoded: 0, want: &s3err.IncompleteBody},
		{name: "chunk above MaxChunkSize", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\n\r\n", decoded: 5, maxChunk: 4, want: &s3err.InvalidRequest},
		{name: "chunk size that overflows", mode: streamingUnsignedTrailer, body: "fffffffffffffffffffff\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "chunk header longer than the buffer", mode: streamingUnsignedTrailer, body: strings.Repeat("0", 9000) + "5\r\nhello\r\n0\r\n\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "undeclared trailer", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "declared trailer", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", decoded: 5, trailer: "x-amz-checksum-crc32"},
		{name: "declared trailer in minio-go's line breaks", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\n\r\n\r\n", decoded: 5, trailer: "x-amz-checksum-crc32"},
		{name: "trailer name in upper case", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nX-Amz-Checksum-Crc32: NhCmhg==\r\n\r\n", decoded: 5, trailer: "x-amz-checksum-crc32"},
		{name: "declared trailer missing", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\n\r\n", decoded: 5, trailer: "x-amz-checksum-crc32", want: &s3err.InvalidRequest},
		{name: "repeated trailer", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", decoded: 5, trailer: "x-amz-checksum-crc32", want: &s3err.InvalidRequest},
		{name: "trailer line without a colon", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32\r\n\r\n", decoded: 5, trailer: "x-amz-checksum-crc32", want: &s3err.InvalidRequest},
		{name: "trailer checksum that is not base64", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:!!!!\r\n\r\n", decoded: 5, trailer: "x-amz-checksum-crc32", want: &s3err.InvalidChecksum},
		{name: "wrong trailer checksum", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", decoded: 5, trailer: "x-amz-checksum-crc32", want: &s3err.BadDigest},
		{name: "trailer signature in an unsigned trailer", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\nx-amz-trailer-signature:" + testSeed + "\r\n\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "trailer section too long", mode: streamingUnsignedTrailer, body: "5\r\nhello\r\n0\r\n" + strings.Repeat("\r\n", 9000), decoded: 5, want: &s3err.InvalidRequest},
		{name: "signed", mode: streamingSigned, body: string(signedHello), decoded: 5},
		{name: "signed, trailer after the final chunk", mode: streamingSigned, body: string(signedHello) + "x-amz-checksum-crc32:NhCmhg==\r\n\r\n", decoded: 5, want: &s3err.IncompleteBody},
		{name: "signed chunk without a signature", mode: streamingSigned, body: "5\r\nhello\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "signed chunk with a short signature", mode: streamingSigned, body: "5;chunk-signature=" + testSeed[:63] + "\r\nhello\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "signed chunk with a long signature", mode: streamingSigned, body: "5;chunk-signature=" + testSeed + "00\r\nhello\r\n", decoded: 5, want: &s3err.InvalidRequest},
		{name: "signed chunk with another extension", mode: streamingSigned, body: "5;foo=bar\r\nhello\r\n", decoded: 5, want: &s3err.InvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p := newTestChunkedReader(t, io.NopCloser(strings.NewReader(tt.body)), tt.mode, tt.decoded, tt.trailer, tt.maxChunk)
			got, err := io.ReadAll(c)
			c.Close()
			if tt.want != nil {
				wantCode(t, err, *tt.want)
				if int64(len(got)) >= tt.decoded && tt.decoded > 0 {
					t.Errorf("released %d bytes of a failing %d-byte payload", len(got), tt.decoded)
				}
				return
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if want := bytes.Repeat([]byte("hello"), int(tt.decoded)/5); !bytes.Equal(got, want) {
				t.Errorf("payload = %q, want %q", got, want)
			}
			if tt.trailer != "" && p.Checksum.Value != "NhCmhg==" {
				t.Errorf("checksum = %+v, want value NhCmhg==", p.Checksum)
			}
		})
	}
}

// blockingBody is a request body whose Read blocks until Close, like a
// client connection that has stalled.
type blockingBody struct {
	closed chan struct{}
	once   sync.Once
}

func (b *blockingBody) Read([]byte) (int, error) {
	<-b.closed
	return 0, io.ErrClosedPipe
}

func (b *blockingBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// net/http may Close a request body while another goroutine reads it; the
// pooled buffers must not be recycled under the reader.
func TestCloseDuringReadUnblocksAndKeepsBuffers(t *testing.T) {
	for _, mode := range []string{streamingSigned, streamingUnsignedTrailer} {
		t.Run(mode, func(t *testing.T) {
			body := &blockingBody{closed: make(chan struct{})}
			c, _ := newTestChunkedReader(t, body, mode, 5, "", 0)
			done := make(chan error)
			go func() {
				_, err := c.Read(make([]byte, 10))
				done <- err
			}()
			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			err := <-done
			wantCode(t, err, s3err.IncompleteBody)
			if c.br != nil || c.chunk != nil {
				t.Error("buffers not returned once the read ended")
			}
			_, err = c.Read(make([]byte, 10))
			wantCode(t, err, s3err.IncompleteBody)
		})
	}
}

var httpMaxBytesError = http.MaxBytesError{Limit: 1 << 20}

func TestReadErrorsAreS3Errors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want s3err.Code
	}{
		{"early end", io.EOF, s3err.IncompleteBody},
		{"connection reset", errors.New("read tcp: connection reset by peer"), s3err.IncompleteBody},
		{"body size limit", &httpMaxBytesError, s3err.EntityTooLarge},
		{"already an S3 error", s3err.New(s3err.SignatureDoesNotMatch, ""), s3err.SignatureDoesNotMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, readError(tt.err), tt.want)
		})
	}
}

func TestChunkBufferPoolSizeClasses(t *testing.T) {
	tests := []struct{ size, wantCap int }{
		{1, 64 << 10}, {64 << 10, 64 << 10}, {64<<10 + 1, 128 << 10}, {1 << 20, 1 << 20}, {16 << 20, 16 << 20}, {16<<20 + 1, 16<<20 + 1},
	}
	for _, tt := range tests {
		b := getChunkBuffer(tt.size)
		if len(*b) != tt.size || cap(*b) != tt.wantCap {
			t.Errorf("getChunkBuffer(%d): len %d cap %d, want len %d cap %d", tt.size, len(*b), cap(*b), tt.size, tt.wantCap)
		}
		putChunkBuffer(b)
	}
}

func TestSteadyStateReadsDoNotAllocate(t *testing.T) {
	payload := payloadOf(8 << 20)
	crc := checksumOf(t, "CRC32", payload)
	tests := []struct {
		name string
		wire []byte
	}{
		{"signed chunks", streamingWire(t, payload, streamOptions{mode: streamingSigned})},
		{"signed chunks with a trailer and Content-MD5", streamingWire(t, payload, streamOptions{mode: streamingSignedTrailer,
			trailer: "x-amz-checksum-crc32:" + crc, headers: map[string]string{"Content-Md5": md5Base64(payload)}})},
		{"unsigned trailer", streamingWire(t, payload, streamOptions{mode: streamingUnsignedTrailer, trailer: "x-amz-checksum-crc32:" + crc})},
		{"signed payload hash", plainWire(t, payload, payload, sha256Hex(payload), map[string]string{"X-Amz-Checksum-Crc64nvme": checksumOf(t, "CRC64NVME", payload)}, false)},
		{"signed payload hash, unknown length", plainWire(t, payload, payload, sha256Hex(payload), nil, true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := streamingVerifier().Verify(parseWire(t, tt.wire))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			defer res.Payload.Body.Close()
			buf := make([]byte, 32<<10)
			if _, err := io.ReadFull(res.Payload.Body, buf); err != nil { // warm up the pools
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := res.Payload.Body.Read(buf); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per Read, want 0", allocs)
			}
		})
	}
}
