package gateway

import (
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// BenchmarkSmallObjects is one 4 KiB PUT or GET through the whole handler
// stack (SigV4, routing, authorisation, encryption, the backend round trip
// to an in-memory S3 over loopback, the request log line as s3seal's main
// writes it, to io.Discard). Run with -benchmem: allocations per request.
func BenchmarkSmallObjects(b *testing.B) {
	body := testData(4 << 10)
	for _, sse := range []struct {
		name   string
		header []string
	}{{"SSE-S3", nil}, {"SSE-KMS", []string{"X-Amz-Server-Side-Encryption", "aws:kms"}}} {
		g := newTestGateway(b, func(c *Config) { c.Logger = discardJSONLogger() })
		g.put(testBucket, "k", body, sse.header...)
		b.Run("PUT "+sse.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res := g.do(http.MethodPut, objectTarget(testBucket, "k", ""), body, sse.header...); res.status != http.StatusOK {
					b.Fatal(res)
				}
			}
		})
		b.Run("GET "+sse.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil); res.status != http.StatusOK {
					b.Fatal(res)
				}
			}
		})
	}
}

// discardJSONLogger is s3seal's production logger writing nowhere.
func discardJSONLogger() *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "time"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
}

// BenchmarkRequestLogLine is the per-request log line alone, as finish
// writes it with s3seal's production encoder (to io.Discard).
func BenchmarkRequestLogLine(b *testing.B) {
	s := &Server{log: discardJSONLogger()}
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/bkt/some/object", nil)
	req := &s3Request{id: "18E0A3C6F2B9A1D4", operation: "GetObject", bucket: "bkt", object: "some/object"}
	w := &recorder{status: http.StatusOK, bytes: 4096}
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		s.finish(w, r, req, start, nil)
	}
}

// BenchmarkLargeGET is one 16 MiB SSE-KMS GET through the whole handler
// stack from the in-memory S3 over loopback.
func BenchmarkLargeGET(b *testing.B) {
	body := testData(16 << 20)
	g := newTestGateway(b, nil)
	g.put(testBucket, "big", body, "X-Amz-Server-Side-Encryption", "aws:kms")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if res := g.do(http.MethodGet, objectTarget(testBucket, "big", ""), nil); res.status != http.StatusOK || len(res.body) != len(body) {
			b.Fatal(res.status, len(res.body))
		}
	}
}
