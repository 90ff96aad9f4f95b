package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthEndpointsNeedNoSignature(t *testing.T) {
	tests := []struct {
		name       string
		prepare    func(g *testGateway)
		path       string
		wantStatus int
	}{
		{"live", func(*testGateway) {}, "/minio/health/live", http.StatusOK},
		{"live before Init", func(g *testGateway) { g.s.ready.Store(false) }, "/minio/health/live", http.StatusOK},
		{"ready", func(*testGateway) {}, "/minio/health/ready", http.StatusOK},
		{"ready before Init", func(g *testGateway) { g.s.ready.Store(false) }, "/minio/health/ready", http.StatusServiceUnavailable},
		{"ready without the system bucket", func(g *testGateway) {
			g.be.mu.Lock()
			delete(g.be.buckets, g.s.cfg.SystemBucket)
			g.be.mu.Unlock()
		}, "/minio/health/ready", http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			tc.prepare(g)
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				res := g.serve(httptest.NewRequestWithContext(t.Context(), method, "http://s3.test"+tc.path, nil))
				if res.status != tc.wantStatus || res.header.Get("X-Amz-Request-Id") == "" {
					t.Errorf("%s %s: status %d (request id %q), want %d with a request id", method, tc.path, res.status, res.header.Get("X-Amz-Request-Id"), tc.wantStatus)
				}
			}
		})
	}
}
