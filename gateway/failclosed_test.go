package gateway

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// storeBackend is a tiny S3 backend holding objects written straight to it,
// as an operator (or an attacker with backend credentials) would: whatever
// headers they carry, no s3seal involved. Unknown keys answer 404.
type storeBackend struct {
	mu      sync.Mutex
	objects map[string]storedFake // by path, "/bucket/key"
	listing string                // answer to any GET of a bucket
}

type storedFake struct {
	header http.Header
	body   string
}

func (b *storeBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	locked := true
	defer func() {
		if locked {
			b.mu.Unlock()
		}
	}()
	if r.URL.Path == "/s3seal-system" && r.Method == http.MethodGet {
		_, _ = io.WriteString(w, `<ListBucketResult></ListBucketResult>`) // index entries are not kept
		return
	}
	if p := strings.TrimPrefix(r.URL.Path, "/"); !strings.Contains(p, "/") && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, b.listing)
		return
	}
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/s3seal-system/index/") {
		return // listing-index entries are accepted, not kept
	}
	if r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") == "" && !strings.HasPrefix(r.URL.Path, "/s3seal-system/") {
		body, _ := io.ReadAll(r.Body)
		h := http.Header{}
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Amz-Meta-") || k == "Content-Type" {
				h[k] = v
			}
		}
		if b.objects == nil {
			b.objects = map[string]storedFake{}
		}
		b.objects[r.URL.Path] = storedFake{header: h, body: string(body)}
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		return
	}
	o, ok := b.objects[r.URL.Path]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `<Error><Code>NoSuchKey</Code></Error>`)
		return
	}
	for k, v := range o.header {
		w.Header()[k] = v
	}
	w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
	w.Header().Set("Last-Modified", "Wed, 02 Dec 2026 10:00:00 GMT")
	// Not under the lock: the gateway may ask more while a body streams.
	b.mu.Unlock()
	locked = false
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(o.body))
}

// newStoreServer returns a ready gateway in front of backend with the
// given configuration on top of the test defaults.
func newStoreServer(t *testing.T, backend http.Handler, configure func(*Config)) *Server {
	t.Helper()
	kms := kmsclient.New(&mem.Store{}, kmsclient.Config{})
	t.Cleanup(func() { _ = kms.Close() })
	if err := kms.CreateKey(context.Background(), "default-key"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(backend)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	cfg := Config{
		Backend: BackendConfig{URL: u, AccessKey: "a", SecretKey: "b"}, RootUser: testRoot, RootPassword: testPassword,
		KMS: kms, DefaultKey: "default-key",
	}
	if configure != nil {
		configure(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.ready.Store(true)
	return s
}

// signedRequest returns a request signed by the test root user.
func signedRequest(t *testing.T, method, target string, header map[string]string) *http.Request {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, "http://gw"+target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	return signer.SignV4(*r, testRoot, testPassword, "", "us-east-1")
}

func serveSigned(t *testing.T, s *Server, method, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, signedRequest(t, method, target, header))
	return w
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Code string }
	if err := xml.Unmarshal([]byte(body), &e); err != nil {
		return ""
	}
	return e.Code
}

// TestUnsealedObjectsAreRefused plants an object with no (or stripped)
// s3seal metadata on the backend and reads it through the gateway in every
// way a read can happen: each must fail, be logged and be counted, not be
// served as if it were genuine.
func TestUnsealedObjectsAreRefused(t *testing.T) {
	const secret = "planted plaintext, not written by s3seal"
	backend := &storeBackend{objects: map[string]storedFake{
		"/enc/planted":  {header: http.Header{"Content-Type": {"text/plain"}}, body: secret},
		"/enc/empty":    {header: http.Header{}, body: ""},
		"/legacy/old":   {header: http.Header{"Content-Type": {"text/plain"}}, body: secret},
		"/plain/object": {header: http.Header{}, body: secret},
	}}
	type refusal struct{ operation string }
	var (
		mu       sync.Mutex
		refusals []refusal
	)
	core, logs := observer.New(zap.WarnLevel)
	s := newStoreServer(t, backend, func(c *Config) {
		c.PlaintextBuckets = []string{"plain"}
		c.LegacyPlaintextReadBuckets = []string{"legacy"}
		c.Logger = zap.New(core)
		c.ObserveUnsealedRead = func(operation string, refused bool) {
			if refused {
				mu.Lock()
				refusals = append(refusals, refusal{operation})
				mu.Unlock()
			}
		}
	})
	tests := []struct {
		name          string
		method        string
		target        string
		header        map[string]string
		wantOperation string
	}{
		{"GET", http.MethodGet, "/enc/planted", nil, "GetObject"},
		{"GET of an empty object", http.MethodGet, "/enc/empty", nil, "GetObject"},
		{"HEAD", http.MethodHead, "/enc/planted", nil, "HeadObject"},
		{"ranged GET", http.MethodGet, "/enc/planted", map[string]string{"Range": "bytes=2-5"}, "GetObject"},
		{"ranged HEAD", http.MethodHead, "/enc/planted", map[string]string{"Range": "bytes=2-5"}, "HeadObject"},
		{"partNumber GET", http.MethodGet, "/enc/planted?partNumber=1", nil, "GetObject"},
		{"partNumber HEAD", http.MethodHead, "/enc/planted?partNumber=1", nil, "HeadObject"},
		{"CopyObject source", http.MethodPut, "/enc/copy", map[string]string{"X-Amz-Copy-Source": "/enc/planted"}, "CopyObject"},
		{"CopyObject source into a plaintext bucket", http.MethodPut, "/plain/copy", map[string]string{"X-Amz-Copy-Source": "/enc/planted"}, "CopyObject"},
		{"UploadPartCopy source", http.MethodPut, "/enc/mp?partNumber=1&uploadId=u", map[string]string{"X-Amz-Copy-Source": "/enc/planted"}, "UploadPartCopy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			refusals = nil
			mu.Unlock()
			logs.TakeAll()
			w := serveSigned(t, s, tc.method, tc.target, tc.header)
			if w.Code != http.StatusInternalServerError {
				t.Errorf("status %d, want 500; body %q", w.Code, w.Body.String())
			}
			if tc.method != http.MethodHead {
				if got := errorCode(t, w.Body.String()); got != "ObjectTampered" {
					t.Errorf("error code %q, want ObjectTampered; body %q", got, w.Body.String())
				}
			}
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("the planted plaintext reached the client: %q", w.Body.String())
			}
			mu.Lock()
			got := append([]refusal(nil), refusals...)
			mu.Unlock()
			if len(got) != 1 || got[0].operation != tc.wantOperation {
				t.Errorf("refusals observed %+v, want one for %s", got, tc.wantOperation)
			}
			if n := logs.FilterMessage("refused an object without s3seal metadata").Len(); n != 1 {
				t.Errorf("%d refusal log lines, want 1", n)
			}
		})
	}

	t.Run("legacy and plaintext buckets serve unsealed objects", func(t *testing.T) {
		for _, target := range []string{"/legacy/old", "/plain/object"} {
			w := serveSigned(t, s, http.MethodGet, target, nil)
			if w.Code != http.StatusOK || w.Body.String() != secret {
				t.Errorf("GET %s: status %d body %q, want 200 and the stored bytes", target, w.Code, w.Body.String())
			}
			w = serveSigned(t, s, http.MethodHead, target, nil)
			if w.Code != http.StatusOK || w.Header().Get("Content-Length") != strconv.Itoa(len(secret)) {
				t.Errorf("HEAD %s: status %d length %q, want 200 and %d", target, w.Code, w.Header().Get("Content-Length"), len(secret))
			}
			w = serveSigned(t, s, http.MethodGet, target, map[string]string{"Range": "bytes=0-6"})
			if w.Code != http.StatusPartialContent || w.Body.String() != secret[:7] {
				t.Errorf("ranged GET %s: status %d body %q, want 206 and %q", target, w.Code, w.Body.String(), secret[:7])
			}
		}
	})
}

// TestEmptyObjectRanges: a suffix range of an empty object selects all of
// it, zero bytes, which no 206 can express ("bytes 0--1/0"): the answer is
// 200 with the empty object, as S3 gives. Other ranges are unsatisfiable.
func TestEmptyObjectRanges(t *testing.T) {
	s := newStoreServer(t, &storeBackend{}, nil)
	w := httptest.NewRecorder()
	r := signedRequest(t, http.MethodPut, "/bkt/empty", nil)
	s.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("PUT: status %d: %s", w.Code, w.Body.String())
	}
	tests := []struct {
		rng        string
		wantStatus int
	}{
		{"bytes=-1", http.StatusOK},
		{"bytes=-1000", http.StatusOK},
		{"bytes=0-", http.StatusRequestedRangeNotSatisfiable},
		{"bytes=0-0", http.StatusRequestedRangeNotSatisfiable},
		{"bytes=-0", http.StatusRequestedRangeNotSatisfiable},
	}
	for _, tc := range tests {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(method+" "+tc.rng, func(t *testing.T) {
				w := serveSigned(t, s, method, "/bkt/empty", map[string]string{"Range": tc.rng})
				if w.Code != tc.wantStatus {
					t.Errorf("status %d, want %d", w.Code, tc.wantStatus)
				}
				if tc.wantStatus == http.StatusOK {
					if cr := w.Header().Get("Content-Range"); cr != "" {
						t.Errorf("Content-Range %q, want none", cr)
					}
					if cl := w.Header().Get("Content-Length"); cl != "0" || w.Body.Len() != 0 {
						t.Errorf("Content-Length %q, body %d bytes, want 0 and 0", cl, w.Body.Len())
					}
					if w.Header().Get("X-Amz-Server-Side-Encryption") == "" {
						t.Errorf("no X-Amz-Server-Side-Encryption: not served as an encrypted object")
					}
				}
			})
		}
	}
}
