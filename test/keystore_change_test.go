package test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/s3seal/s3seal/test/harness"
)

// TestAnotherKeyStoreSaysWhy starts a second gateway, with a key store of
// its own, over a backend whose system records the first gateway sealed.
// It stays live, its readiness answers 503 naming the record and the key
// it needs, and its log explains what to do once instead of retrying with
// the same warning every two seconds.
func TestAnotherKeyStoreSaysWhy(t *testing.T) {
	backend := harness.StartMinIO(t)
	harness.StartGateway(t, backend)
	second := harness.StartGateway(t, backend, harness.WithGatewayReadyPath("/minio/health/live"))

	var status int
	var body string
	harness.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, second.Endpoint+"/minio/health/ready", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		status, body = resp.StatusCode, string(b)
		if !strings.Contains(body, "keys/index-mac") {
			return &notYet{status, body}
		}
		return nil
	})
	if status != http.StatusServiceUnavailable || !strings.Contains(body, harness.DefaultKeyName) {
		t.Errorf("readiness: %d %q, want 503 naming keys/index-mac and key %s", status, body, harness.DefaultKeyName)
	}
	var explained, retried int
	for _, line := range second.LogLines() {
		if strings.Contains(line, "cannot open s3seal's system records") {
			explained++
		}
		if strings.Contains(line, "backend or KMS not ready, retrying") {
			retried++
		}
	}
	if explained != 1 || retried != 0 {
		t.Errorf("log: %d explanations and %d generic retry warnings, want 1 and 0:\n%s", explained, retried, second.Logs())
	}
}

type notYet struct {
	status int
	body   string
}

func (e *notYet) Error() string { return "readiness " + http.StatusText(e.status) + ": " + e.body }
