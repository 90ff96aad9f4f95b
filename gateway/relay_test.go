package gateway

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// TestRelayedErrorsCarryS3sealsRequestID checks that a backend error
// relayed to the client names the request id of the response header (and
// of s3seal's logs), not the backend's.
func TestRelayedErrorsCarryS3sealsRequestID(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("X-Amz-Request-Id", "BACKEND-ID")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchTagSet</Code><Message>The TagSet does not exist</Message><RequestId>BACKEND-ID</RequestId><HostId>h</HostId></Error>`)
	}))
	t.Cleanup(be.Close)
	kms := kmsclient.New(&mem.Store{}, kmsclient.Config{})
	t.Cleanup(func() { _ = kms.Close() })
	u, _ := url.Parse(be.URL)
	s, err := New(Config{Backend: BackendConfig{URL: u, AccessKey: "a", SecretKey: "b"}, RootUser: testRoot, RootPassword: testPassword, KMS: kms, DefaultKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	s.ready.Store(true)
	r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "http://gw.test/bkt/obj?tagging", nil)
	r.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	r = signer.SignV4(*r, testRoot, testPassword, "", "us-east-1")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var got struct{ Code, RequestId string }
	if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("%d %q: %v", w.Code, w.Body, err)
	}
	header := w.Header().Get("X-Amz-Request-Id")
	if w.Code != http.StatusNotFound || got.Code != "NoSuchTagSet" {
		t.Errorf("got %d %s, want the backend's 404 NoSuchTagSet", w.Code, got.Code)
	}
	if got.RequestId != header || header == "" || header == "BACKEND-ID" {
		t.Errorf("body RequestId %q, header %q: want s3seal's id in both", got.RequestId, header)
	}
}
