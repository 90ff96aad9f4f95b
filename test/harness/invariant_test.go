package harness

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// errorRecorder is a testing.TB that records Errorf calls instead of
// failing.
type errorRecorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *errorRecorder) Helper() {}
func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, format)
}

func TestCheckResponseFindsLeaks(t *testing.T) {
	const sys = "s3seal-system"
	tests := []struct {
		name     string
		target   string
		header   http.Header
		body     string
		wantLeak bool
	}{
		{"clean listing", "/b?list-type=2", http.Header{"Content-Type": {"application/xml"}}, `<ListBucketResult><Contents><Key>s3seal-notes.txt</Key></Contents></ListBucketResult>`, false},
		{"reserved response header", "/b/k", http.Header{"X-Amz-Meta-S3seal-Kms-Dek": {"x"}}, "", true},
		{"reserved metadata element", "/b?list-type=2&metadata=true", http.Header{"Content-Type": {"application/xml"}}, `<UserMetadata><X-Amz-Meta-S3seal-Sealed-Key>x</X-Amz-Meta-S3seal-Sealed-Key></UserMetadata>`, true},
		{"reserved metadata item", "/b?list-type=2&metadata=true", http.Header{"Content-Type": {"application/xml"}}, `<UserMetadata><Items><Key>s3seal-kms-key-id</Key><Value>k</Value></Items></UserMetadata>`, true},
		{"system bucket in an error", "/b/k", http.Header{"Content-Type": {"application/xml"}}, `<Error><Message>no access to s3seal-system</Message></Error>`, true},
		{"system bucket the client asked for", "/s3seal-system/k", http.Header{"Content-Type": {"application/xml"}}, `<Error><BucketName>s3seal-system</BucketName></Error>`, false},
		{"object data is not read", "/b/k", http.Header{"Content-Type": {"application/octet-stream"}}, `X-Amz-Meta-S3seal-Version as data`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &errorRecorder{TB: t}
			req, _ := http.NewRequest(http.MethodGet, "http://gw"+tc.target, nil)
			resp := &http.Response{Header: tc.header, Body: io.NopCloser(strings.NewReader(tc.body))}
			CheckResponse(rec, sys, req, resp)
			if got := len(rec.errors) > 0; got != tc.wantLeak {
				t.Errorf("leak reported = %v (%q), want %v", got, rec.errors, tc.wantLeak)
			}
			if body, _ := io.ReadAll(resp.Body); string(body) != tc.body {
				t.Errorf("body after the check = %q, want it unchanged", body)
			}
		})
	}
}
