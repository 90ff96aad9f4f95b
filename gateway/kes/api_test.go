package kes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
)

func TestAdminKeyLifecycle(t *testing.T) {
	admin := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity})
	c := ts.client(t, &admin)

	mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/create/my-key", nil), nil)

	var dek struct{ Plaintext, Ciphertext []byte }
	keyContext := []byte(`{"bucket":"bucket/object"}`)
	mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/generate/my-key", map[string][]byte{"context": keyContext}), &dek)
	if len(dek.Plaintext) != 32 || len(dek.Ciphertext) == 0 {
		t.Fatalf("generate: %d-byte plaintext, %d-byte ciphertext; want 32 and some", len(dek.Plaintext), len(dek.Ciphertext))
	}

	var dec struct{ Plaintext []byte }
	mustOK(t, do(t, c, http.MethodPut, ts.url+"/v1/key/decrypt/my-key",
		map[string][]byte{"ciphertext": dek.Ciphertext, "context": keyContext}), &dec)
	if !bytes.Equal(dec.Plaintext, dek.Plaintext) {
		t.Errorf("decrypt returned another key than generate")
	}

	// The ciphertext is the embedded KMS's own: the KMS opens it directly.
	plain, err := ts.kms.Decrypt(t.Context(), "my-key", dek.Ciphertext, keyContext)
	if err != nil || !bytes.Equal(plain, dek.Plaintext) {
		t.Errorf("KMS.Decrypt of the served ciphertext = %v, want the generated key", err)
	}

	var desc map[string]any
	mustOK(t, do(t, c, http.MethodGet, ts.url+"/v1/key/describe/my-key", nil), &desc)
	if got, want := desc["name"], "my-key"; got != want {
		t.Errorf("describe name = %v, want %v", got, want)
	}
	if got, want := desc["algorithm"], "AES256"; got != want {
		t.Errorf("describe algorithm = %v, want %v", got, want)
	}
	if got, want := desc["created_by"], "s3seal-admin"; got != want {
		t.Errorf("describe created_by = %v, want %v", got, want)
	}
	if _, err := time.Parse(time.RFC3339, desc["created_at"].(string)); err != nil {
		t.Errorf("describe created_at %v: %v", desc["created_at"], err)
	}

	var list struct {
		Names      []string `json:"names"`
		ContinueAt *string  `json:"continue_at"`
	}
	mustOK(t, do(t, c, http.MethodGet, ts.url+"/v1/key/list/*", nil), &list)
	if got, want := list.Names, []string{"my-key"}; !slices.Equal(got, want) {
		t.Errorf("list names = %q, want %q", got, want)
	}
	if list.ContinueAt != nil {
		t.Errorf("list continue_at = %q, want none", *list.ContinueAt)
	}

	a := do(t, c, http.MethodDelete, ts.url+"/v1/key/delete/my-key", nil)
	mustOK(t, a, nil)
	if len(a.body) != 0 {
		t.Errorf("delete body = %q, want empty", a.body)
	}
	if got, want := do(t, c, http.MethodGet, ts.url+"/v1/key/describe/my-key", nil).status, http.StatusNotFound; got != want {
		t.Errorf("describe after delete: status %d, want %d", got, want)
	}
}

func TestGenerateWithoutBodyOrContext(t *testing.T) {
	admin := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity})
	c := ts.client(t, &admin)
	mustOK(t, do(t, c, http.MethodPut, ts.url+"/v1/key/create/k", nil), nil)

	for name, body := range map[string]any{"no body": nil, "empty object": []byte(`{}`), "null context": []byte(`{"context":null}`)} {
		t.Run(name, func(t *testing.T) {
			var dek struct{ Plaintext, Ciphertext []byte }
			mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/generate/k", body), &dek)
			var dec struct{ Plaintext []byte }
			mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/decrypt/k", map[string][]byte{"ciphertext": dek.Ciphertext}), &dec)
			if !bytes.Equal(dec.Plaintext, dek.Plaintext) {
				t.Errorf("decrypt without context returned another key")
			}
		})
	}
}

// The statuses and texts KES clients (MinIO's among them) match exactly.
func TestErrorsCarryKESStatusesAndTexts(t *testing.T) {
	admin := newClientCert(t)
	stranger := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity})
	c := ts.client(t, &admin)
	mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/create/exists", nil), nil)
	var dek struct{ Plaintext, Ciphertext []byte }
	mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/generate/exists", map[string][]byte{"context": []byte("ctx")}), &dek)
	tampered := bytes.Clone(dek.Ciphertext)
	tampered[len(tampered)/2] ^= 1

	for _, tc := range []struct {
		name        string
		client      *http.Client
		method, url string
		body        any
		wantStatus  int
		wantMessage string
	}{
		{"create existing key", c, http.MethodPost, "/v1/key/create/exists", nil, 400, "key already exists"},
		{"generate with missing key", c, http.MethodPost, "/v1/key/generate/missing", map[string]any{}, 404, "key does not exist"},
		{"decrypt with missing key", c, http.MethodPost, "/v1/key/decrypt/missing", map[string][]byte{"ciphertext": dek.Ciphertext}, 404, "key does not exist"},
		{"describe missing key", c, http.MethodGet, "/v1/key/describe/missing", nil, 404, "key does not exist"},
		{"delete missing key", c, http.MethodDelete, "/v1/key/delete/missing", nil, 404, "key does not exist"},
		{"decrypt tampered ciphertext", c, http.MethodPost, "/v1/key/decrypt/exists", map[string][]byte{"ciphertext": tampered, "context": []byte("ctx")}, 400, "decryption failed: ciphertext is not authentic"},
		{"decrypt with another context", c, http.MethodPost, "/v1/key/decrypt/exists", map[string][]byte{"ciphertext": dek.Ciphertext, "context": []byte("other")}, 400, "decryption failed: ciphertext is not authentic"},
		{"identity without policy", ts.client(t, &stranger), http.MethodPost, "/v1/key/generate/exists", map[string]any{}, 403, "not authorized: insufficient permissions"},
		{"invalid key name", c, http.MethodPost, "/v1/key/create/-bad", nil, 400, "key name '-bad' is empty, too long or contains invalid characters"},
		{"empty key name", c, http.MethodPost, "/v1/key/create/", nil, 400, "key name '' is empty, too long or contains invalid characters"},
		{"malformed body", c, http.MethodPost, "/v1/key/decrypt/exists", []byte(`{"ciphertext":`), 400, "invalid request body"},
		{"empty decrypt body", c, http.MethodPost, "/v1/key/decrypt/exists", nil, 400, "invalid request body"},
		{"unknown API", c, http.MethodPost, "/v1/key/import/k", nil, 404, "not found"},
		{"wrong method", c, http.MethodGet, "/v1/key/create/k", nil, 405, "received method 'GET' expected 'PUT'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, tc.client, tc.method, ts.url+tc.url, tc.body)
			if a.status != tc.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", a.status, tc.wantStatus, a.body)
			}
			if got := a.message(t); got != tc.wantMessage {
				t.Errorf("message = %q, want %q", got, tc.wantMessage)
			}
			if got, want := a.header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
		})
	}
}

func TestListPatterns(t *testing.T) {
	admin := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity})
	c := ts.client(t, &admin)
	for _, name := range []string{"app-1", "app-2", "apple", "other"} {
		mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/create/"+name, nil), nil)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/v1/key/list/*", []string{"app-1", "app-2", "apple", "other"}},
		{"/v1/key/list/", []string{"app-1", "app-2", "apple", "other"}},
		{"/v1/key/list", []string{"app-1", "app-2", "apple", "other"}}, // MinIO's client, pattern "*"
		{"/v1/key/list/app*", []string{"app-1", "app-2", "apple"}},
		{"/v1/key/list/app-*", []string{"app-1", "app-2"}},
		{"/v1/key/list/app", []string{"app-1", "app-2", "apple"}}, // KES: the pattern is a prefix
		{"/v1/key/list/other", []string{"other"}},
		{"/v1/key/list/none*", []string{}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var list struct {
				Names []string `json:"names"`
			}
			a := do(t, c, http.MethodGet, ts.url+tc.path, nil)
			mustOK(t, a, &list)
			if !slices.Equal(list.Names, tc.want) || list.Names == nil {
				t.Errorf("names = %q (%s), want %q", list.Names, a.body, tc.want)
			}
		})
	}
	for _, pattern := range []string{"-a", "a-", "*a", "a*b", "_", strings.Repeat("a", 81)} {
		t.Run("invalid "+pattern, func(t *testing.T) {
			a := do(t, c, http.MethodGet, ts.url+"/v1/key/list/"+pattern, nil)
			if a.status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400 (%s)", a.status, a.body)
			}
		})
	}
}

func TestBodyLimits(t *testing.T) {
	admin := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity})
	c := ts.client(t, &admin)
	mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/create/k", nil), nil)

	// A JSON body just over 1 MiB: {"context":"AAAA..."}.
	big := []byte(`{"context":"` + strings.Repeat("A", maxKeyBody) + `"}`)
	fits := []byte(`{"context":"` + strings.Repeat("A", maxKeyBody-20) + `"}`)
	for _, tc := range []struct {
		name       string
		method     string
		path       string
		body       io.Reader
		wantStatus int
	}{
		{"generate, 1 MiB body", http.MethodPost, "/v1/key/generate/k", bytes.NewReader(fits), http.StatusOK},
		{"generate, declared length over 1 MiB", http.MethodPost, "/v1/key/generate/k", bytes.NewReader(big), http.StatusRequestEntityTooLarge},
		{"generate, streamed body over 1 MiB", http.MethodPost, "/v1/key/generate/k", io.MultiReader(bytes.NewReader(big)), http.StatusRequestEntityTooLarge},
		{"decrypt, streamed body over 1 MiB", http.MethodPost, "/v1/key/decrypt/k", io.MultiReader(bytes.NewReader(big)), http.StatusRequestEntityTooLarge},
		{"create ignores a body, as KES does", http.MethodPost, "/v1/key/create/other", bytes.NewReader(big), http.StatusOK},
		{"describe ignores a body", http.MethodGet, "/v1/key/describe/k", strings.NewReader(`{}`), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, c, tc.method, ts.url+tc.path, tc.body)
			if a.status != tc.wantStatus {
				t.Errorf("status = %d, want %d (%.200s)", a.status, tc.wantStatus, a.body)
			}
		})
	}
}

func TestUncleanPathsAreRefused(t *testing.T) {
	app := newClientCert(t)
	admin := newClientCert(t)
	ts := startServer(t, Config{
		AdminIdentity: admin.identity,
		Policies: map[string]Policy{"app": {
			Allow:      []string{"/v1/key/generate/*"},
			Identities: []string{app.identity},
		}},
	})
	mustOK(t, do(t, ts.client(t, &admin), http.MethodPost, ts.url+"/v1/key/create/k", nil), nil)
	c := ts.client(t, &app)
	for _, p := range []string{"/v1/key/generate/../delete/k", "/v1/key/generate/./k", "/v1/key/generate//k", "/v1/key/generate/k/.."} {
		t.Run(p, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, ts.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Path = p // sent as is: the client does not clean it
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
		})
	}
	if got := do(t, ts.client(t, &admin), http.MethodGet, ts.url+"/v1/key/describe/k", nil).status; got != http.StatusOK {
		t.Errorf("key k after the attempts: describe status %d, want 200", got)
	}
}

func TestPlainHTTPIsRefused(t *testing.T) {
	srv, err := NewServer(Config{KMS: failingKMS{}, AdminIdentity: strings.Repeat("a", 64)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/status", nil))
	if got, want := rec.Code, http.StatusBadRequest; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if got, want := rec.Body.String(), `{"message":"insecure connection: TLS is required"}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestClientWithoutCertificateIsRefusedAtHandshake(t *testing.T) {
	ts := startServer(t, Config{AdminIdentity: newClientCert(t).identity})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.url+"/version", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.client(t, nil).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request without a client certificate: status %d, want a TLS handshake failure", resp.StatusCode)
	}
}

func TestServerInformation(t *testing.T) {
	admin := newClientCert(t)
	stranger := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity, Version: "v1.2.3", Commit: "abc"})
	c := ts.client(t, &admin)

	t.Run("version needs no authorisation", func(t *testing.T) {
		var v map[string]string
		mustOK(t, do(t, ts.client(t, &stranger), http.MethodGet, ts.url+"/version", nil), &v)
		if got, want := v, map[string]string{"version": "v1.2.3", "commit": "abc"}; got["version"] != want["version"] || got["commit"] != want["commit"] {
			t.Errorf("version = %v, want %v", got, want)
		}
	})
	t.Run("status", func(t *testing.T) {
		var st map[string]any
		mustOK(t, do(t, c, http.MethodGet, ts.url+"/v1/status", nil), &st)
		for _, field := range []string{"version", "os", "arch", "uptime", "num_cpu", "num_cpu_used", "mem_heap_used", "mem_stack_used", "keystore_latency"} {
			if _, ok := st[field]; !ok {
				t.Errorf("status has no %q: %v", field, st)
			}
		}
		if _, ok := st["keystore_unreachable"]; ok {
			t.Errorf("status says the in-memory store is unreachable: %v", st)
		}
	})
	t.Run("ready", func(t *testing.T) {
		mustOK(t, do(t, c, http.MethodGet, ts.url+"/v1/ready", nil), nil)
	})
	t.Run("api lists every route", func(t *testing.T) {
		var apis []struct {
			Method  string `json:"method"`
			Path    string `json:"path"`
			MaxBody int64  `json:"max_body"`
			Timeout int64  `json:"timeout"`
		}
		mustOK(t, do(t, c, http.MethodGet, ts.url+"/v1/api", nil), &apis)
		if got, want := len(apis), len(ts.routes); got != want {
			t.Errorf("%d APIs, want %d", got, want)
		}
		for _, api := range apis {
			if api.Path == "/v1/key/generate/" && (api.Method != http.MethodPut || api.MaxBody != maxKeyBody || api.Timeout != 15) {
				t.Errorf("generate API = %+v, want PUT, 1 MiB, 15 s", api)
			}
		}
	})
	t.Run("self describe", func(t *testing.T) {
		var self map[string]any
		mustOK(t, do(t, c, http.MethodGet, ts.url+"/v1/identity/self/describe", nil), &self)
		if self["identity"] != admin.identity || self["admin"] != true {
			t.Errorf("self describe = %v, want admin %s", self, admin.identity)
		}
		a := do(t, ts.client(t, &stranger), http.MethodGet, ts.url+"/v1/identity/self/describe", nil)
		if a.status != http.StatusNotFound || a.message(t) != "identity does not exist" {
			t.Errorf("self describe of an unknown identity: %d %s, want 404 identity does not exist", a.status, a.body)
		}
	})
}

func TestMetricsCountRequestsByOutcome(t *testing.T) {
	admin := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity})
	c := ts.client(t, &admin)
	mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/create/k", nil), nil)
	do(t, c, http.MethodGet, ts.url+"/v1/key/describe/missing", nil)
	a := do(t, c, http.MethodGet, ts.url+"/v1/metrics", nil)
	mustOK(t, a, nil)
	for _, want := range []string{
		"\nkes_http_request_success 1\n",
		"\nkes_http_request_error 1\n",
		"\nkes_http_request_failure 0\n",
		"\nkes_http_response_time_count 2\n",
		"\nkes_system_up_time ",
	} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("metrics have no %q:\n%s", want, a.body)
		}
	}
}

// blockingKMS answers every call only when its context ends.
type blockingKMS struct{ KMS }

func (blockingKMS) Status(ctx context.Context) (kmsclient.Status, error) {
	<-ctx.Done()
	return kmsclient.Status{}, errors.Join(kmsclient.ErrUnavailable, ctx.Err())
}

func (blockingKMS) GenerateKey(ctx context.Context, _ string, _ []byte) (kmsclient.DEK, error) {
	<-ctx.Done()
	return kmsclient.DEK{}, ctx.Err()
}

func TestRouteTimeouts(t *testing.T) {
	admin := newClientCert(t)
	ts := startServer(t, Config{KMS: blockingKMS{}, AdminIdentity: admin.identity})
	for i := range ts.routes {
		ts.routes[i].Timeout = 50 * time.Millisecond
	}
	c := ts.client(t, &admin)

	start := time.Now()
	a := do(t, c, http.MethodPost, ts.url+"/v1/key/generate/k", nil)
	if a.status != http.StatusGatewayTimeout {
		t.Errorf("generate against a hanging KMS: status %d, want 504 (%s)", a.status, a.body)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("generate took %v, want about the route timeout", elapsed)
	}

	var st map[string]any
	mustOK(t, do(t, c, http.MethodGet, ts.url+"/v1/status", nil), &st)
	if st["keystore_unreachable"] != true {
		t.Errorf("status with a hanging store: %v, want keystore_unreachable", st)
	}
	if got := do(t, c, http.MethodGet, ts.url+"/v1/ready", nil).status; got != http.StatusGatewayTimeout {
		t.Errorf("ready with a hanging store: status %d, want 504", got)
	}
}

func TestFailuresAnswerGenericTextsAndLogDetails(t *testing.T) {
	admin := newClientCert(t)
	ts := startServer(t, Config{KMS: failingKMS{}, AdminIdentity: admin.identity})
	a := do(t, ts.client(t, &admin), http.MethodPost, ts.url+"/v1/key/create/k", nil)
	if a.status != http.StatusBadGateway || a.message(t) != "failed to create key" {
		t.Errorf("create with a failing store: %d %s, want 502 failed to create key", a.status, a.body)
	}
	if strings.Contains(string(a.body), "secret detail") {
		t.Errorf("answer leaks the cause: %s", a.body)
	}
}

type failingKMS struct{ KMS }

func (failingKMS) CreateKey(context.Context, string) error {
	return errors.New("secret detail: disk on fire")
}

func TestResponsesAreJSONAsKESSendsThem(t *testing.T) {
	admin := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity})
	c := ts.client(t, &admin)
	mustOK(t, do(t, c, http.MethodPost, ts.url+"/v1/key/create/k", nil), nil)
	a := do(t, c, http.MethodPost, ts.url+"/v1/key/generate/k", nil)
	mustOK(t, a, nil)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &fields); err != nil {
		t.Fatal(err)
	}
	if len(fields) != 2 || fields["plaintext"] == nil || fields["ciphertext"] == nil {
		t.Errorf("generate answer fields = %s, want plaintext and ciphertext", a.body)
	}
	if got, want := a.header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
}
