package sigv4

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/s3seal/s3seal/gateway/s3err"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=" + testSignature,
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=" + testSignature,
		"AWS4-HMAC-SHA256 Credential=a/b/c/20130524//s3/aws4_request, SignedHeaders=host, Signature=" + testSignature,
		"AWS4-HMAC-SHA256Credential=x/1/2/3/4,SignedHeaders=a;b,Signature=00",
		"AWS4-HMAC-SHA256 ,,,=,Credential=,SignedHeaders=;,Signature=",
		"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, err := parseAuthorization(header)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *s3err.Error", err, err)
			}
			return
		}
		if a.credential.accessKey == "" || len(a.signedHeaders) == 0 {
			t.Fatalf("accepted %q with access key %q and signed headers %q", header, a.credential.accessKey, a.signedHeaders)
		}
		if !slices.IsSorted(a.signedHeaders) || len(slices.Compact(slices.Clone(a.signedHeaders))) != len(a.signedHeaders) {
			t.Fatalf("signed headers %q are not sorted and unique", a.signedHeaders)
		}
	})
}

var fuzzModes = []string{streamingSigned, streamingSignedTrailer, streamingUnsignedTrailer}

func FuzzChunkDecoder(f *testing.F) {
	for _, n := range []int{0, 1, 5, 100, 70_000} {
		p := payloadOf(n)
		crc := "x-amz-checksum-crc32:" + checksumOf(f, "CRC32", p)
		f.Add(encodeStream(p, testSeed, streamOptions{mode: streamingSigned, chunkSize: 64}), uint32(n), uint8(0), uint16(7))
		f.Add(encodeStream(p, testSeed, streamOptions{mode: streamingSignedTrailer, chunkSize: 4096, trailer: crc}), uint32(n), uint8(1), uint16(4096))
		f.Add(encodeStream(p, testSeed, streamOptions{mode: streamingUnsignedTrailer, chunkSize: 1000, trailer: crc}), uint32(n), uint8(2), uint16(1))
	}
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\n\r\n\r\n"), uint32(5), uint8(2), uint16(3))
	f.Add([]byte("fffffffffffffff\r\n"), uint32(5), uint8(2), uint16(3))
	f.Fuzz(func(t *testing.T, body []byte, decodedLen uint32, mode uint8, readSize uint16) {
		m := fuzzModes[int(mode)%len(fuzzModes)]
		trailer := ""
		if m != streamingSigned {
			trailer = "x-amz-checksum-crc32"
		}
		c, _ := newTestChunkedReader(t, io.NopCloser(bytes.NewReader(body)), m, int64(decodedLen), trailer, 1<<16)
		defer c.Close()
		buf := make([]byte, int(readSize)%70_000+1)
		total, stalls := 0, 0
		for {
			n, err := c.Read(buf)
			total += n
			if total > int(decodedLen) {
				t.Fatalf("released %d bytes, more than the declared %d", total, decodedLen)
			}
			if err == io.EOF {
				if total != int(decodedLen) {
					t.Fatalf("io.EOF after %d bytes, want %d", total, decodedLen)
				}
				return
			}
			if err != nil {
				var e *s3err.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is %T, want *s3err.Error", err, err)
				}
				return
			}
			if n == 0 {
				if stalls++; stalls > 100 {
					t.Fatal("Read makes no progress")
				}
			}
		}
	})
}
