package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/s3seal/s3seal/gateway"
	"github.com/s3seal/s3seal/kmsclient"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestObserveRequestCountsByUser(t *testing.T) {
	m := New()
	for _, info := range []gateway.RequestInfo{
		{AccessKey: "alice", Status: 200},
		{AccessKey: "TEMPKEY1", ParentUser: "alice", Status: 200},
		{AccessKey: "TEMPKEY2", ParentUser: "alice", Status: 403},
		{Anonymous: true, Status: 200},
		{Status: 403},
	} {
		m.ObserveRequest(info)
	}
	for _, tc := range []struct {
		user, code string
		want       float64
	}{
		{"alice", "200", 2},
		{"alice", "403", 1},
		{"anonymous", "200", 1},
		{"unauthenticated", "403", 1},
		{"TEMPKEY1", "200", 0},
	} {
		if got := testutil.ToFloat64(m.userRequests.WithLabelValues(tc.user, tc.code)); got != tc.want {
			t.Errorf("s3seal_user_requests_total{user=%q,code=%q} = %v, want %v", tc.user, tc.code, got, tc.want)
		}
	}
}

func TestObserveRequestCountsByOperationAndCode(t *testing.T) {
	m := New()
	m.ObserveRequest(gateway.RequestInfo{Operation: "PutObject", Status: 200, Duration: 3 * time.Millisecond})
	m.ObserveRequest(gateway.RequestInfo{Operation: "PutObject", Status: 200, Duration: time.Second})
	m.ObserveRequest(gateway.RequestInfo{Operation: "GetObject", Status: 404, Duration: time.Millisecond})

	for _, tc := range []struct {
		op, code string
		want     float64
	}{
		{"PutObject", "200", 2},
		{"GetObject", "404", 1},
		{"GetObject", "200", 0},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(tc.op, tc.code)); got != tc.want {
			t.Errorf("s3seal_requests_total{operation=%q,code=%q} = %v, want %v", tc.op, tc.code, got, tc.want)
		}
	}
	if got, want := testutil.CollectAndCount(m.requestDuration, "s3seal_request_duration_seconds"), 2; got != want {
		t.Errorf("request duration series = %d, want %d (one per operation)", got, want)
	}
	// Spot-check the histogram through the exposition format: the sum is
	// exact and the 1ms…2.5min buckets are there.
	h := scrape(t, m.Handler(""))
	for _, line := range []string{
		`s3seal_request_duration_seconds_count{operation="PutObject"} 2`,
		`s3seal_request_duration_seconds_sum{operation="PutObject"} 1.003`,
		`s3seal_request_duration_seconds_bucket{operation="PutObject",le="0.001"} 0`,
		`s3seal_request_duration_seconds_bucket{operation="PutObject",le="+Inf"} 2`,
		`# TYPE s3seal_request_duration_seconds histogram`,
	} {
		if !strings.Contains(h, line+"\n") {
			t.Errorf("metrics output lacks %q", line)
		}
	}
}

func TestObserveRequestCountsPlaintextBytesOfEncryptedTransfers(t *testing.T) {
	for _, tc := range []struct {
		name          string
		info          gateway.RequestInfo
		wantEncrypted float64
		wantDecrypted float64
	}{
		{"encrypted PutObject counts bytes in", gateway.RequestInfo{Operation: "PutObject", Encrypted: true, BytesIn: 1000, BytesOut: 0}, 1000, 0},
		{"encrypted UploadPart counts bytes in", gateway.RequestInfo{Operation: "UploadPart", Encrypted: true, BytesIn: 700, BytesOut: 30}, 700, 0},
		{"encrypted GetObject counts bytes out", gateway.RequestInfo{Operation: "GetObject", Encrypted: true, BytesOut: 900}, 0, 900},
		{"plaintext PutObject counts nothing", gateway.RequestInfo{Operation: "PutObject", BytesIn: 1000}, 0, 0},
		{"plaintext GetObject counts nothing", gateway.RequestInfo{Operation: "GetObject", BytesOut: 1000}, 0, 0},
		{"CopyObject response body is not object data", gateway.RequestInfo{Operation: "CopyObject", Encrypted: true, BytesOut: 250}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			tc.info.Status = 200
			m.ObserveRequest(tc.info)
			if got := testutil.ToFloat64(m.bytesEncrypted); got != tc.wantEncrypted {
				t.Errorf("s3seal_bytes_encrypted_total = %v, want %v", got, tc.wantEncrypted)
			}
			if got := testutil.ToFloat64(m.bytesDecrypted); got != tc.wantDecrypted {
				t.Errorf("s3seal_bytes_decrypted_total = %v, want %v", got, tc.wantDecrypted)
			}
		})
	}
}

func TestObserveBackendClassifiesStatusAndErrors(t *testing.T) {
	m := New()
	m.ObserveBackend("GET", 200, nil, time.Millisecond)
	m.ObserveBackend("GET", 404, nil, time.Millisecond)
	m.ObserveBackend("PUT", 503, nil, time.Millisecond)
	m.ObserveBackend("PUT", 0, errors.New("connection refused"), time.Millisecond)

	for _, tc := range []struct {
		method, class string
		want          float64
	}{
		{"GET", "2xx", 1},
		{"GET", "4xx", 1},
		{"PUT", "5xx", 1},
		{"PUT", "unreachable", 1},
	} {
		if got := testutil.ToFloat64(m.backendRequests.WithLabelValues(tc.method, tc.class)); got != tc.want {
			t.Errorf("s3seal_backend_requests_total{method=%q,status_class=%q} = %v, want %v", tc.method, tc.class, got, tc.want)
		}
	}
	if got, want := testutil.ToFloat64(m.backendErrors.WithLabelValues("PUT")), 2.0; got != want {
		t.Errorf("s3seal_backend_errors_total{method=PUT} = %v, want %v (a 5xx and a transport error)", got, want)
	}
	if got, want := testutil.ToFloat64(m.backendErrors.WithLabelValues("GET")), 0.0; got != want {
		t.Errorf("s3seal_backend_errors_total{method=GET} = %v, want %v (4xx is the client's error)", got, want)
	}
	if got, want := testutil.CollectAndCount(m.backendDuration), 2; got != want {
		t.Errorf("backend duration series = %d, want %d", got, want)
	}
}

func TestObserveUnsealedReadCountsRefusalsAndLegacyReads(t *testing.T) {
	m := New()
	m.ObserveUnsealedRead("GetObject", true)
	m.ObserveUnsealedRead("GetObject", true)
	m.ObserveUnsealedRead("HeadObject", false)
	for _, tc := range []struct {
		name      string
		c         *prometheus.CounterVec
		operation string
		want      float64
	}{
		{"s3seal_unencrypted_object_refusals_total", m.unsealedRefusals, "GetObject", 2},
		{"s3seal_unencrypted_object_refusals_total", m.unsealedRefusals, "HeadObject", 0},
		{"s3seal_legacy_plaintext_reads_total", m.legacyReads, "HeadObject", 1},
	} {
		if got := testutil.ToFloat64(tc.c.WithLabelValues(tc.operation)); got != tc.want {
			t.Errorf("%s{operation=%q} = %v, want %v", tc.name, tc.operation, got, tc.want)
		}
	}
}

func TestHandlerRequiresTheBearerTokenWhenSet(t *testing.T) {
	m := New()
	m.ObserveRequest(gateway.RequestInfo{Operation: "PutObject", Status: 200})
	for _, tc := range []struct {
		name, token, auth string
		want              int
	}{
		{"no token configured serves everyone", "", "", http.StatusOK},
		{"no token configured ignores a header", "", "Bearer whatever", http.StatusOK},
		{"token configured, none presented", "s3cr3t", "", http.StatusUnauthorized},
		{"token configured, wrong one presented", "s3cr3t", "Bearer s3cr3T", http.StatusUnauthorized},
		{"token configured, prefix of it presented", "s3cr3t", "Bearer s3cr", http.StatusUnauthorized},
		{"token configured, presented without Bearer", "s3cr3t", "s3cr3t", http.StatusUnauthorized},
		{"token configured, right one presented", "s3cr3t", "Bearer s3cr3t", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			m.Handler(tc.token).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			body := rec.Body.String()
			if tc.want == http.StatusOK && !strings.Contains(body, `s3seal_requests_total{code="200",operation="PutObject"} 1`) {
				t.Errorf("body lacks the request counter:\n%s", body)
			}
			if tc.want != http.StatusOK && strings.Contains(body, "s3seal_") {
				t.Errorf("refused answer leaks metrics:\n%s", body)
			}
		})
	}
}

func TestRegistryHasRuntimeAndProcessCollectors(t *testing.T) {
	body := scrape(t, New().Handler(""))
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total"} {
		if !strings.Contains(body, "\n"+name+" ") {
			t.Errorf("metrics output lacks %s", name)
		}
	}
}

func TestNewRegistriesAreIndependent(t *testing.T) {
	a, b := New(), New()
	a.ObserveRequest(gateway.RequestInfo{Operation: "PutObject", Status: 200})
	if got := testutil.ToFloat64(b.requests.WithLabelValues("PutObject", "200")); got != 0 {
		t.Errorf("second Metrics counted the first's request: %v, want 0", got)
	}
}

// fakeKMS answers each call with the configured error.
type fakeKMS struct{ err error }

func (f fakeKMS) RotateKey(context.Context, string) (int, error) { return 2, f.err }
func (f fakeKMS) CreateKey(context.Context, string) error        { return f.err }
func (f fakeKMS) GenerateKey(_ context.Context, name string, _ []byte) (kmsclient.DEK, error) {
	return kmsclient.DEK{KeyID: name}, f.err
}
func (f fakeKMS) Decrypt(context.Context, string, []byte, []byte) ([]byte, error) {
	return []byte("plaintext"), f.err
}
func (f fakeKMS) ListKeys(context.Context, string) ([]kmsclient.KeyInfo, error) {
	return []kmsclient.KeyInfo{{Name: "k"}}, f.err
}
func (f fakeKMS) Status(context.Context) (kmsclient.Status, error) { return kmsclient.Status{}, f.err }

func TestWrapKMSCountsCallsByResult(t *testing.T) {
	for _, tc := range []struct {
		err        error
		wantResult string
		wantError  bool
	}{
		{nil, "ok", false},
		{kmsclient.ErrKeyExists, "key_exists", false},
		{kmsclient.ErrKeyNotFound, "key_not_found", false},
		{fmt.Errorf("%w: %q", kmsclient.ErrInvalidKeyName, "a b"), "invalid_key_name", false},
		{context.Canceled, "canceled", false},
		{kmsclient.ErrDecrypt, "decrypt_failed", true},
		{kmsclient.ErrNotAllowed, "not_allowed", true},
		{fmt.Errorf("%w: dial tcp: refused", kmsclient.ErrUnavailable), "unavailable", true},
		{errors.New("disk on fire"), "error", true},
	} {
		t.Run(tc.wantResult, func(t *testing.T) {
			m := New()
			k := m.WrapKMS(fakeKMS{err: tc.err})
			ctx := t.Context()

			// The wrapper passes results and errors through unchanged.
			if err := k.CreateKey(ctx, "k"); err != tc.err {
				t.Errorf("CreateKey error = %v, want %v", err, tc.err)
			}
			if dek, err := k.GenerateKey(ctx, "k", nil); dek.KeyID != "k" || err != tc.err {
				t.Errorf("GenerateKey = %q, %v; want %q, %v", dek.KeyID, err, "k", tc.err)
			}
			if p, err := k.Decrypt(ctx, "k", nil, nil); string(p) != "plaintext" || err != tc.err {
				t.Errorf("Decrypt = %q, %v; want %q, %v", p, err, "plaintext", tc.err)
			}
			if keys, err := k.ListKeys(ctx, "*"); len(keys) != 1 || err != tc.err {
				t.Errorf("ListKeys = %v, %v; want 1 key, %v", keys, err, tc.err)
			}
			if _, err := k.Status(ctx); err != tc.err {
				t.Errorf("Status error = %v, want %v", err, tc.err)
			}

			wantErrors := 0.0
			if tc.wantError {
				wantErrors = 1
			}
			for _, call := range []string{"CreateKey", "GenerateKey", "Decrypt", "ListKeys", "Status"} {
				if got := testutil.ToFloat64(m.kmsRequests.WithLabelValues(call, tc.wantResult)); got != 1 {
					t.Errorf("s3seal_kms_requests_total{call=%q,result=%q} = %v, want 1", call, tc.wantResult, got)
				}
				if got := testutil.ToFloat64(m.kmsErrors.WithLabelValues(call)); got != wantErrors {
					t.Errorf("s3seal_kms_errors_total{call=%q} = %v, want %v", call, got, wantErrors)
				}
			}
			if got, want := testutil.CollectAndCount(m.kmsDuration), 5; got != want {
				t.Errorf("KMS duration series = %d, want %d", got, want)
			}
		})
	}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics status = %d, want 200", resp.StatusCode)
	}
	return string(body)
}
