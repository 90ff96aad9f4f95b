package gateway

import (
	"net/http"
	"testing"
)

// BenchmarkRefuseInsecureSSEC is the SSE-C check every request over plain
// http passes through.
func BenchmarkRefuseInsecureSSEC(b *testing.B) {
	s := &Server{}
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/b/k", nil)
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.refuseInsecureSSEC(r); err != nil {
			b.Fatal(err)
		}
	}
}
