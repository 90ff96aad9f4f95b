package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// TestAnotherKeyStoreIsExplainedNotRetriedSilently: a gateway started with
// another key store over a backend whose system records were sealed by the
// first one cannot open them. Init fails with a RecordKeyError naming the
// record and its key, readiness answers 503 with that reason, liveness
// stays up, and no record is overwritten.
func TestAnotherKeyStoreIsExplainedNotRetriedSilently(t *testing.T) {
	first := newTestGateway(t, nil)
	stored, _, ok := first.be.object("s3seal-system", indexKeyRecord)
	if !ok {
		t.Fatal("the first gateway wrote no index key record")
	}
	u, _ := url.Parse(first.srv.URL)
	kms := kmsclient.New(&mem.Store{}, kmsclient.Config{}) // another key store
	t.Cleanup(func() { _ = kms.Close() })
	s, err := New(Config{
		Backend:  BackendConfig{URL: u, AccessKey: "backend-user", SecretKey: "backend-secret"},
		RootUser: testRoot, RootPassword: testPassword, KMS: kms, DefaultKey: "default-key",
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Init(t.Context())
	rke, ok := errors.AsType[*RecordKeyError](err)
	if !ok {
		t.Fatalf("Init: %v, want a RecordKeyError", err)
	}
	if rke.Record != indexKeyRecord || rke.KeyID != "default-key" {
		t.Errorf("RecordKeyError names %s under %q, want %s under default-key", rke.Record, rke.KeyID, indexKeyRecord)
	}

	get := func(path string) (int, string) {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
		b, _ := io.ReadAll(w.Body)
		return w.Code, string(b)
	}
	if code, body := get("/minio/health/ready"); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, indexKeyRecord) || !strings.Contains(body, `"default-key"`) {
		t.Errorf("readiness: %d %q, want 503 naming the record and its key", code, body)
	}
	if code, _ := get("/minio/health/live"); code != http.StatusOK {
		t.Errorf("liveness: %d, want 200", code)
	}
	after, _, _ := first.be.object("s3seal-system", indexKeyRecord)
	if string(after) != string(stored) {
		t.Error("the index key record was overwritten by the gateway that cannot read it")
	}
}
