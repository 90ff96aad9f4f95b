package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// countingTransport answers every backend request with status after delay
// and counts them.
type countingTransport struct {
	n      atomic.Int64
	status atomic.Int64
	delay  time.Duration
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	time.Sleep(c.delay)
	return &http.Response{StatusCode: int(c.status.Load()), Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// countingKMS counts Status calls.
type countingKMS struct {
	KMS
	status atomic.Int64
}

func (k *countingKMS) Status(ctx context.Context) (kmsclient.Status, error) {
	k.status.Add(1)
	return k.KMS.Status(ctx)
}

func newReadinessServer(t *testing.T, rt http.RoundTripper) (*Server, *countingKMS) {
	t.Helper()
	inner := kmsclient.New(&mem.Store{}, kmsclient.Config{})
	t.Cleanup(func() { _ = inner.Close() })
	kms := &countingKMS{KMS: inner}
	u, _ := url.Parse("http://backend.invalid")
	s, err := New(Config{
		Backend: BackendConfig{URL: u, AccessKey: "a", SecretKey: "b", Transport: rt}, RootUser: testRoot, RootPassword: testPassword,
		KMS: kms, DefaultKey: "default-key",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.ready.Store(true)
	return s, kms
}

// TestReadinessProbesAreCachedAndShared: a burst of readiness requests
// costs one backend HEAD and one KMS status call, not one per request.
func TestReadinessProbesAreCachedAndShared(t *testing.T) {
	rt := &countingTransport{delay: 50 * time.Millisecond}
	rt.status.Store(http.StatusOK)
	s, kms := newReadinessServer(t, rt)
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/minio/health/ready", nil))
			codes[i] = w.Code
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("readiness call %d answered %d, want 200", i, c)
		}
	}
	if got := rt.n.Load(); got != 1 {
		t.Errorf("%d backend probes for 50 concurrent readiness calls, want 1", got)
	}
	if got := kms.status.Load(); got != 1 {
		t.Errorf("%d KMS status calls for 50 concurrent readiness calls, want 1", got)
	}
}

// TestReadinessFailureIsCachedBriefly: a failed probe answers 503 to the
// callers that shared it, and a later probe after the cache expired sees
// the recovery.
func TestReadinessFailureIsCachedBriefly(t *testing.T) {
	rt := &countingTransport{}
	rt.status.Store(http.StatusServiceUnavailable)
	s, _ := newReadinessServer(t, rt)
	s.readiness.ttl = 20 * time.Millisecond
	if err := s.Ready(t.Context()); err == nil {
		t.Fatalf("Ready = nil with the backend answering 503")
	}
	rt.status.Store(http.StatusOK)
	deadline := time.Now().Add(5 * time.Second)
	for s.Ready(t.Context()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Ready still failing after the backend recovered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := rt.n.Load(); got < 2 {
		t.Errorf("%d backend probes, want a new one after the cache expired", got)
	}
}
