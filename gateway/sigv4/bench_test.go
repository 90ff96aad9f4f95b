package sigv4

import (
	"testing"
)

// BenchmarkStreamingPayload measures 64 MiB through Verify and the payload
// reader, read the way an HTTP transport copies a body (32 KiB reads).
func BenchmarkStreamingPayload(b *testing.B) {
	payload := payloadOf(64 << 20)
	crc := "x-amz-checksum-crc32:" + checksumOf(b, "CRC32", payload)
	benchmarks := []struct {
		name string
		wire func() []byte
	}{
		{"signed chunks of 64 KiB", func() []byte {
			return streamingWire(b, payload, streamOptions{mode: streamingSigned, chunkSize: 64 << 10})
		}},
		{"signed chunks of 1 MiB", func() []byte {
			return streamingWire(b, payload, streamOptions{mode: streamingSigned, chunkSize: 1 << 20})
		}},
		{"signed chunks with a CRC32 trailer", func() []byte {
			return streamingWire(b, payload, streamOptions{mode: streamingSignedTrailer, trailer: crc})
		}},
		{"unsigned chunks with a CRC32 trailer", func() []byte {
			return streamingWire(b, payload, streamOptions{mode: streamingUnsignedTrailer, trailer: crc})
		}},
		{"signed payload hash", func() []byte { return plainWire(b, payload, payload, sha256Hex(payload), nil, false) }},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			w := bm.wire()
			v := streamingVerifier()
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				res, err := v.Verify(parseWire(b, w))
				if err != nil {
					b.Fatal(err)
				}
				n, err := drainInto(res.Payload.Body, buf)
				if err != nil || n != len(payload) {
					b.Fatalf("read %d bytes, %v; want %d", n, err, len(payload))
				}
				res.Payload.Body.Close()
			}
		})
	}
}

// BenchmarkVerifySmallRequest measures Verify of a header-signed 4 KiB
// UNSIGNED-PAYLOAD PUT, the per-request cost of authentication for small
// objects (parsing the wire request included).
func BenchmarkVerifySmallRequest(b *testing.B) {
	payload := payloadOf(4 << 10)
	w := plainWire(b, payload, payload, "UNSIGNED-PAYLOAD", map[string]string{"X-Amz-Meta-A": "b"}, false)
	v := streamingVerifier()
	b.ReportAllocs()
	for b.Loop() {
		res, err := v.Verify(parseWire(b, w))
		if err != nil {
			b.Fatal(err)
		}
		res.Payload.Body.Close()
	}
}
