package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/s3seal/s3seal/gateway"
)

func TestObservabilityFeedsMetricsAndAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	cfg := &fileConfig{Audit: auditConfig{Path: path}, Metrics: metricsConfig{Token: "scrape-token"}}
	obs, err := newObservability(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("newObservability: %v", err)
	}
	obs.Observe(gateway.RequestInfo{RequestID: "R1", Operation: "PutObject", Bucket: "b", Object: "o", Status: 200, Time: time.Now()})
	obs.ObserveBackend(http.MethodPut, 200, nil, time.Millisecond)
	obs.Close()

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("audit log is not one JSON line: %v\n%s", err, data)
	}
	if got, want := rec["request_id"], "R1"; got != want {
		t.Errorf("audit request_id = %v, want %v", got, want)
	}

	for _, tc := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"Bearer scrape-token", http.StatusOK}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		obs.MetricsHandler().ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("GET /metrics with Authorization %q: status = %d, want %d", tc.auth, rec.Code, tc.want)
		}
		if tc.want == http.StatusOK {
			for _, line := range []string{
				`s3seal_requests_total{code="200",operation="PutObject"} 1`,
				`s3seal_backend_requests_total{method="PUT",status_class="2xx"} 1`,
			} {
				if !strings.Contains(rec.Body.String(), line) {
					t.Errorf("metrics lack %q", line)
				}
			}
		}
	}
}

func TestObservabilityWithoutAuditPathLogsNothing(t *testing.T) {
	obs, err := newObservability(&fileConfig{}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("newObservability: %v", err)
	}
	if obs.audit != nil {
		t.Errorf("audit logger = %v, want nil when audit.path is empty", obs.audit)
	}
	obs.Observe(gateway.RequestInfo{Operation: "GetObject", Status: 200})
	obs.Close()
}

func TestObservabilityNamesTheSettingOfABadAuditPath(t *testing.T) {
	cfg := &fileConfig{Audit: auditConfig{Path: filepath.Join(t.TempDir(), "no", "such", "dir", "audit.log")}}
	_, err := newObservability(cfg, zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "S3SEAL_AUDIT_LOG") {
		t.Errorf("error = %v, want one naming S3SEAL_AUDIT_LOG", err)
	}
}
