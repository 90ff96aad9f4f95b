package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// TestBackendRequestsSignWithTheCredentialsProvider: a Credentials provider
// is asked before each backend request and its session token is sent; a
// provider error fails the request before anything reaches the backend.
func TestBackendRequestsSignWithTheCredentialsProvider(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	calls := 0
	fail := false
	be, err := newBackend(BackendConfig{URL: u, Credentials: func(context.Context) (string, string, string, error) {
		calls++
		if fail {
			return "", "", "", errors.New("no credentials in the chain")
		}
		return "temp-ak", "temp-sk", "temp-token", nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := be.do(t.Context(), backendRequest{Method: http.MethodHead, Bucket: "bkt"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if calls != 1 || len(got) != 1 {
		t.Fatalf("%d provider calls, %d backend requests; want 1 and 1", calls, len(got))
	}
	if tok := got[0].Get("X-Amz-Security-Token"); tok != "temp-token" {
		t.Errorf("X-Amz-Security-Token = %q, want the provider's", tok)
	}
	if a := got[0].Get("Authorization"); !strings.Contains(a, "Credential=temp-ak/") {
		t.Errorf("Authorization %q does not name the provider's access key", a)
	}

	fail = true
	if _, err := be.do(t.Context(), backendRequest{Method: http.MethodHead, Bucket: "bkt"}); err == nil || !strings.Contains(err.Error(), "backend credentials") {
		t.Errorf("with a failing provider: %v, want a backend credentials error", err)
	}
	if len(got) != 1 {
		t.Errorf("a request reached the backend without credentials")
	}

	static, err := newBackend(BackendConfig{URL: u, AccessKey: "ak", SecretKey: "sk", SessionToken: "static-token"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = static.do(t.Context(), backendRequest{Method: http.MethodHead, Bucket: "bkt"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if tok := got[len(got)-1].Get("X-Amz-Security-Token"); tok != "static-token" {
		t.Errorf("static session token %q, want static-token", tok)
	}
}
