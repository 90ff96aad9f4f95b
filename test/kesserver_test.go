package test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/s3seal/s3seal/gateway/kes"
	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
	"github.com/s3seal/s3seal/test/harness"
)

// kesPEM is a certificate and key on disk, with its KES identity.
type kesPEM struct {
	harness.Cert
	identity string
}

// newKESPEM writes a fresh self-signed certificate for 127.0.0.1, usable as
// a TLS server or client certificate.
func newKESPEM(t *testing.T, dir, name string) kesPEM {
	t.Helper()
	c := harness.SelfSignedCert(t, dir, name)
	return kesPEM{Cert: c, identity: kes.Identity(c.Leaf())}
}

// kesCaller sends KES API requests to one server as one identity.
type kesCaller struct {
	endpoint string // https://127.0.0.1:PORT
	client   *http.Client
}

func newKESCaller(t *testing.T, endpoint string, server, client kesPEM) *kesCaller {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(server.TLS.Leaf)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{client.TLS}}}
	t.Cleanup(tr.CloseIdleConnections)
	return &kesCaller{endpoint: endpoint, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// kesAnswer is a KES API response.
type kesAnswer struct {
	status      int
	contentType string
	body        []byte
}

// message returns the "message" of an error answer, or the body.
func (a kesAnswer) message() string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(a.body, &e) == nil && e.Message != "" {
		return e.Message
	}
	return string(a.body)
}

func (c *kesCaller) call(t *testing.T, method, path string, body any) kesAnswer {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, c.endpoint+path, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return kesAnswer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: data}
}

// waitForKES polls GET /version until the server answers 200.
func waitForKES(t *testing.T, c *kesCaller, exited <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"/version", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		last = err
		select {
		case <-exited:
			t.Fatalf("KES server at %s exited before it was ready (last: %v)", c.endpoint, last)
		case <-ctx.Done():
			t.Fatalf("KES server at %s not ready: %v", c.endpoint, last)
		case <-tick.C:
		}
	}
}

// startInProcessKES serves the KES API of package gateway/kes over an
// embedded KMS with an in-memory key store, on a real TLS listener.
func startInProcessKES(t *testing.T, server kesPEM, cfg kes.Config) (endpoint string, kms *kmsclient.KMS) {
	t.Helper()
	kms = kmsclient.New(&mem.Store{}, kmsclient.Config{CreatedBy: "s3seal-test"})
	t.Cleanup(func() { kms.Close() })
	cfg.KMS = kms
	cfg.Logger = zaptest.NewLogger(t)
	srv, err := kes.NewServer(cfg)
	if err != nil {
		t.Fatalf("kes.NewServer: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig := kes.TLSConfig(nil, nil)
	tlsConfig.Certificates = []tls.Certificate{server.TLS}
	httpSrv := &http.Server{Handler: srv.Handler(), TLSConfig: tlsConfig, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- httpSrv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := httpSrv.Shutdown(ctx); err != nil {
			t.Errorf("shut down the KES server: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("KES server: %v", err)
		}
	})
	return "https://" + ln.Addr().String(), kms
}

// startMinIOWithKES starts MinIO with SSE-KMS through the KES server at
// endpoint, authenticating with client and trusting server's certificate.
func startMinIOWithKES(t *testing.T, endpoint string, server, client kesPEM, defaultKey string) *harness.MinIO {
	t.Helper()
	return harness.StartMinIO(t,
		harness.WithMinIOEnv("MINIO_KMS_KES_ENDPOINT", endpoint),
		harness.WithMinIOEnv("MINIO_KMS_KES_CERT_FILE", client.CertFile),
		harness.WithMinIOEnv("MINIO_KMS_KES_KEY_FILE", client.KeyFile),
		harness.WithMinIOEnv("MINIO_KMS_KES_CAPATH", server.CertFile),
		harness.WithMinIOEnv("MINIO_KMS_KES_KEY_NAME", defaultKey),
	)
}

// runMinIOKESFlow drives MinIO, whose KMS is the KES server under test,
// with the real mc: create a key, check its status, list keys, make a
// bucket with SSE-KMS under that key, copy an object in and read it back.
func runMinIOKESFlow(t *testing.T, minio *harness.MinIO, key, defaultKey string) {
	const alias = "minio"
	bucket := alias + "/kes-bucket"
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, alias, minio.Endpoint, minio.AccessKey, minio.SecretKey)

	t.Run("mc admin kms key create", func(t *testing.T) {
		mc.Must(t, "admin", "kms", "key", "create", alias, key)
	})
	t.Run("mc admin kms key status", func(t *testing.T) {
		assertKMSKeyStatusOK(t, mc, alias, key)
		human := mc.Must(t, "admin", "kms", "key", "status", alias, key)
		for _, want := range []string{"Encryption ✔", "Decryption ✔"} {
			if !strings.Contains(string(human.Stdout), want) {
				t.Errorf("mc admin kms key status:\n%s\nwant %q", human.Stdout, want)
			}
		}
	})
	t.Run("mc admin kms key list", func(t *testing.T) {
		var got struct {
			Status string   `json:"status"`
			Keys   []string `json:"keys"`
		}
		harness.DecodeJSON(t, mc.JSON(t, "admin", "kms", "key", "list", alias), &got)
		if got.Status != "success" || !slices.Contains(got.Keys, key) || !slices.Contains(got.Keys, defaultKey) {
			t.Errorf("mc admin kms key list --json = %+v, want %s and %s listed", got, key, defaultKey)
		}
	})
	t.Run("mc admin kms key status of a missing key", func(t *testing.T) {
		var got struct {
			EncryptionError string `json:"encryptionError"`
		}
		harness.DecodeJSON(t, mc.JSON(t, "admin", "kms", "key", "status", alias, "no-such-key"), &got)
		if !strings.Contains(got.EncryptionError, "not found") && !strings.Contains(got.EncryptionError, "does not exist") {
			t.Errorf("mc admin kms key status of a missing key: encryption error %q, want a key-not-found error", got.EncryptionError)
		}
	})

	dir := t.TempDir()
	data := harness.RandomBytes(t, 1<<20+5)
	file := filepath.Join(dir, "object")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("mc mb, encrypt set SSE-KMS, cp, cat, stat", func(t *testing.T) {
		mc.Must(t, "mb", bucket)
		mc.Must(t, "encrypt", "set", "SSE-KMS", key, bucket)
		mc.Must(t, "cp", file, bucket+"/object")
		assertSameBytes(t, "mc cat", mc.Must(t, "cat", bucket+"/object").Stdout, data)
		if got, want := mcflowEncryptionLine(t, mc, bucket+"/object"), "SSE-KMS (arn:aws:kms:"+key+")"; got != want {
			t.Errorf("mc stat Encryption line = %q, want %q", got, want)
		}
		st := mcflowStat(t, mc, bucket+"/object")
		if got := st.Metadata["X-Amz-Server-Side-Encryption"]; got != "aws:kms" {
			t.Errorf("mc stat --json X-Amz-Server-Side-Encryption = %q, want aws:kms", got)
		}
	})
	t.Run("MinIO stores no plaintext", func(t *testing.T) {
		if _, _, found := findInDir(t, minio.DataDir, data); found {
			t.Errorf("a 4 KiB run of the plaintext is in MinIO's data directory")
		}
	})
}

// findInDir reports whether a run of plaintext appears in any file under dir.
func findInDir(t *testing.T, dir string, plaintext []byte) (file string, offset int, found bool) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if off, _, ok := harness.FindPlaintextRun(data, plaintext); ok {
			file, offset, found = p, off, true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	return file, offset, found
}

// assertKESAccessRules checks, with direct requests, what identities other
// than MinIO's may do on the server: reader only what its policy allows,
// stranger (no policy) nothing.
func assertKESAccessRules(t *testing.T, reader, stranger *kesCaller, key string) {
	t.Run("identity with a policy gets what it allows", func(t *testing.T) {
		if a := reader.call(t, http.MethodGet, "/v1/key/describe/"+key, nil); a.status != http.StatusOK {
			t.Errorf("reader describe: %d %s, want 200", a.status, a.body)
		}
		a := reader.call(t, http.MethodPost, "/v1/key/generate/"+key, map[string]any{})
		if a.status != http.StatusForbidden || a.message() != "not authorized: insufficient permissions" {
			t.Errorf("reader generate: %d %s, want 403 not authorized: insufficient permissions", a.status, a.body)
		}
	})
	t.Run("identity without a policy is refused", func(t *testing.T) {
		for _, req := range []struct{ method, path string }{
			{http.MethodPost, "/v1/key/generate/" + key},
			{http.MethodGet, "/v1/key/list/*"},
			{http.MethodDelete, "/v1/key/delete/" + key},
			{http.MethodGet, "/v1/status"},
		} {
			a := stranger.call(t, req.method, req.path, nil)
			if a.status != http.StatusForbidden || a.message() != "not authorized: insufficient permissions" || a.contentType != "application/json" {
				t.Errorf("stranger %s %s: %d %q %s, want 403 application/json not authorized: insufficient permissions", req.method, req.path, a.status, a.contentType, a.body)
			}
		}
	})
}

// TestMinIOUsesTheKESAPI points a real MinIO at the KES API of package
// gateway/kes, served in this process, and drives it with the real mc.
func TestMinIOUsesTheKESAPI(t *testing.T) {
	t.Parallel()
	const (
		defaultKey = "minio-default-key"
		key        = "k1"
	)
	dir := t.TempDir()
	server := newKESPEM(t, dir, "server")
	minioID := newKESPEM(t, dir, "minio")
	reader := newKESPEM(t, dir, "reader")
	stranger := newKESPEM(t, dir, "stranger")
	endpoint, kms := startInProcessKES(t, server, kes.Config{
		AdminIdentity: minioID.identity,
		Policies: map[string]kes.Policy{"reader": {
			Allow:      []string{"/v1/key/describe/*", "/v1/status"},
			Identities: []string{reader.identity},
		}},
	})
	if err := kms.CreateKey(t.Context(), defaultKey); err != nil {
		t.Fatal(err)
	}

	minio := startMinIOWithKES(t, endpoint, server, minioID, defaultKey)
	runMinIOKESFlow(t, minio, key, defaultKey)

	t.Run("the keys MinIO uses are the KMS's", func(t *testing.T) {
		keys, err := kms.ListKeys(t.Context(), "*")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, k := range keys {
			names = append(names, k.Name)
		}
		if want := []string{key, defaultKey}; !slices.Equal(names, want) {
			t.Errorf("KMS keys = %q, want %q", names, want)
		}
	})
	assertKESAccessRules(t, newKESCaller(t, endpoint, server, reader), newKESCaller(t, endpoint, server, stranger), key)
}

// TestKESCLIUsesTheKESAPI runs the real kes CLI (KES v0.24's own client)
// against the KES API.
func TestKESCLIUsesTheKESAPI(t *testing.T) {
	t.Parallel()
	kesBin := harness.Tools(t, "kes").KES
	dir := t.TempDir()
	server := newKESPEM(t, dir, "server")
	admin := newKESPEM(t, dir, "admin")
	endpoint, kms := startInProcessKES(t, server, kes.Config{AdminIdentity: admin.identity})
	env := []string{
		"HOME=" + dir, "PATH=" + os.Getenv("PATH"),
		"MINIO_KES_SERVER=" + endpoint,
		"MINIO_KES_CERT_FILE=" + admin.CertFile,
		"MINIO_KES_KEY_FILE=" + admin.KeyFile,
		"SSL_CERT_FILE=" + server.CertFile,
	}
	kesCLI := func(t *testing.T, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), kesBin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kes %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	kesCLI(t, "key", "create", "cli-key")
	if _, err := kms.DescribeKey(t.Context(), "cli-key"); err != nil {
		t.Errorf("key created with the kes CLI is not in the KMS: %v", err)
	}
	info := kesCLI(t, "key", "info", "cli-key")
	for _, want := range []string{"Name        cli-key", "Algorithm   AES256", "Owner       s3seal-test"} {
		if !strings.Contains(info, want) {
			t.Errorf("kes key info:\n%s\nwant a line %q", info, want)
		}
	}
	if out := kesCLI(t, "key", "ls", "--json"); !strings.Contains(out, `"cli-key"`) {
		t.Errorf("kes key ls --json = %s, want cli-key listed", out)
	}
	if out := kesCLI(t, "status", "--json"); !strings.Contains(out, `"version"`) {
		t.Errorf("kes status --json = %s, want the server version", out)
	}
	kesCLI(t, "key", "rm", "cli-key")
	if _, err := kms.DescribeKey(t.Context(), "cli-key"); !errors.Is(err, kmsclient.ErrKeyNotFound) {
		t.Errorf("key after kes key rm: %v, want ErrKeyNotFound", err)
	}
}

// startRealKES starts the pinned KES v0.24 server with the fs key store,
// admin as admin identity and a policy "reader" for reader.
func startRealKES(t *testing.T, server kesPEM, admin, reader string) string {
	t.Helper()
	return harness.StartKES(t, harness.KESConfig{
		Admin: admin,
		Cert:  server.Cert,
		Policies: map[string]harness.KESPolicy{"reader": {
			Allow:      []string{"/v1/key/describe/*", "/v1/status"},
			Identities: []string{reader},
		}},
	}).Endpoint
}

// TestKESAPIAnswersAsKESDoes sends the same requests to the real KES v0.24
// server and to the KES API of package gateway/kes, configured alike, and
// compares statuses, error messages and the fields of successful answers.
func TestKESAPIAnswersAsKESDoes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	server := newKESPEM(t, dir, "server")
	admin := newKESPEM(t, dir, "admin")
	reader := newKESPEM(t, dir, "reader")
	stranger := newKESPEM(t, dir, "stranger")

	realEndpoint := startRealKES(t, server, admin.identity, reader.identity)
	ourEndpoint, _ := startInProcessKES(t, server, kes.Config{
		AdminIdentity: admin.identity,
		Policies: map[string]kes.Policy{"reader": {
			Allow:      []string{"/v1/key/describe/*", "/v1/status"},
			Identities: []string{reader.identity},
		}},
	})
	type side struct {
		name                     string
		admin, reader, stranger  *kesCaller
		ciphertext, tamperedText []byte
	}
	sides := []*side{
		{name: "KES v0.24", admin: newKESCaller(t, realEndpoint, server, admin), reader: newKESCaller(t, realEndpoint, server, reader), stranger: newKESCaller(t, realEndpoint, server, stranger)},
		{name: "s3seal", admin: newKESCaller(t, ourEndpoint, server, admin), reader: newKESCaller(t, ourEndpoint, server, reader), stranger: newKESCaller(t, ourEndpoint, server, stranger)},
	}
	keyContext := []byte(`{"bucket":"bucket/object"}`)

	for _, step := range []struct {
		name   string
		as     func(*side) *kesCaller
		method string
		path   string
		body   func(*side) any
		// after, when set, looks at each side's successful answer.
		after func(t *testing.T, s *side, a kesAnswer)
	}{
		{name: "create", method: http.MethodPut, path: "/v1/key/create/my-key"},
		{name: "create with POST", method: http.MethodPost, path: "/v1/key/create/other-key"},
		{name: "create existing", method: http.MethodPost, path: "/v1/key/create/my-key"},
		{name: "create invalid name", method: http.MethodPost, path: "/v1/key/create/-my-key"},
		{name: "create with wrong method", method: http.MethodGet, path: "/v1/key/create/my-key"},
		{name: "generate", method: http.MethodPost, path: "/v1/key/generate/my-key",
			body: func(*side) any { return map[string][]byte{"context": keyContext} },
			after: func(t *testing.T, s *side, a kesAnswer) {
				var dek struct{ Plaintext, Ciphertext []byte }
				if err := json.Unmarshal(a.body, &dek); err != nil || len(dek.Plaintext) != 32 {
					t.Fatalf("%s: generate answer %s: %v", s.name, a.body, err)
				}
				s.ciphertext = dek.Ciphertext
				s.tamperedText = bytes.Clone(dek.Ciphertext)
				s.tamperedText[0] ^= 1
			}},
		{name: "generate without body", method: http.MethodPost, path: "/v1/key/generate/my-key"},
		{name: "generate with missing key", method: http.MethodPost, path: "/v1/key/generate/missing", body: func(*side) any { return map[string]any{} }},
		{name: "decrypt", method: http.MethodPost, path: "/v1/key/decrypt/my-key",
			body: func(s *side) any { return map[string][]byte{"ciphertext": s.ciphertext, "context": keyContext} }},
		{name: "decrypt tampered", method: http.MethodPost, path: "/v1/key/decrypt/my-key",
			body: func(s *side) any { return map[string][]byte{"ciphertext": s.tamperedText, "context": keyContext} }},
		{name: "decrypt with another context", method: http.MethodPost, path: "/v1/key/decrypt/my-key",
			body: func(s *side) any { return map[string][]byte{"ciphertext": s.ciphertext, "context": []byte("other")} }},
		{name: "decrypt with missing key", method: http.MethodPost, path: "/v1/key/decrypt/missing",
			body: func(s *side) any { return map[string][]byte{"ciphertext": s.ciphertext} }},
		{name: "describe", method: http.MethodGet, path: "/v1/key/describe/my-key"},
		{name: "describe missing", method: http.MethodGet, path: "/v1/key/describe/missing"},
		{name: "list all", method: http.MethodGet, path: "/v1/key/list/*"},
		{name: "list empty pattern", method: http.MethodGet, path: "/v1/key/list/"},
		{name: "list without slash (MinIO)", method: http.MethodGet, path: "/v1/key/list"},
		{name: "list prefix", method: http.MethodGet, path: "/v1/key/list/my"},
		{name: "list invalid pattern", method: http.MethodGet, path: "/v1/key/list/-x"},
		{name: "reader describe", as: func(s *side) *kesCaller { return s.reader }, method: http.MethodGet, path: "/v1/key/describe/my-key"},
		{name: "reader status", as: func(s *side) *kesCaller { return s.reader }, method: http.MethodGet, path: "/v1/status"},
		{name: "reader generate", as: func(s *side) *kesCaller { return s.reader }, method: http.MethodPost, path: "/v1/key/generate/my-key"},
		{name: "reader delete", as: func(s *side) *kesCaller { return s.reader }, method: http.MethodDelete, path: "/v1/key/delete/my-key"},
		{name: "stranger generate", as: func(s *side) *kesCaller { return s.stranger }, method: http.MethodPost, path: "/v1/key/generate/my-key"},
		{name: "stranger status", as: func(s *side) *kesCaller { return s.stranger }, method: http.MethodGet, path: "/v1/status"},
		{name: "stranger version", as: func(s *side) *kesCaller { return s.stranger }, method: http.MethodGet, path: "/version"},
		{name: "status", method: http.MethodGet, path: "/v1/status"},
		{name: "ready", method: http.MethodGet, path: "/v1/ready"},
		{name: "admin self describe", method: http.MethodGet, path: "/v1/identity/self/describe"},
		{name: "delete", method: http.MethodDelete, path: "/v1/key/delete/my-key"},
		{name: "delete missing", method: http.MethodDelete, path: "/v1/key/delete/my-key"},
		{name: "delete the other", method: http.MethodDelete, path: "/v1/key/delete/other-key"},
		{name: "list nothing", method: http.MethodGet, path: "/v1/key/list/*"},
	} {
		t.Run(step.name, func(t *testing.T) {
			answers := make([]kesAnswer, len(sides))
			for i, s := range sides {
				as := s.admin
				if step.as != nil {
					as = step.as(s)
				}
				var body any
				if step.body != nil {
					body = step.body(s)
				}
				answers[i] = as.call(t, step.method, step.path, body)
				if step.after != nil && answers[i].status == http.StatusOK {
					step.after(t, s, answers[i])
				}
			}
			want, got := answers[0], answers[1]
			t.Logf("%s: %d %.300s", sides[0].name, want.status, want.body)
			t.Logf("%s: %d %.300s", sides[1].name, got.status, got.body)
			if got.status != want.status {
				t.Fatalf("status: %s %d (%s), %s %d (%s)", sides[1].name, got.status, got.body, sides[0].name, want.status, want.body)
			}
			if want.status != http.StatusOK {
				if got.message() != want.message() {
					t.Errorf("message: %s %q, %s %q", sides[1].name, got.message(), sides[0].name, want.message())
				}
				if got.contentType != want.contentType {
					t.Errorf("Content-Type: %s %q, %s %q", sides[1].name, got.contentType, sides[0].name, want.contentType)
				}
				return
			}
			if gotFields, wantFields := jsonFields(t, got.body), jsonFields(t, want.body); !slices.Equal(gotFields, wantFields) {
				t.Errorf("answer fields: %s %q (%s), %s %q (%s)", sides[1].name, gotFields, got.body, sides[0].name, wantFields, want.body)
			}
			if strings.HasPrefix(step.path, "/v1/key/list") {
				if g, w := listNames(t, got.body), listNames(t, want.body); !slices.Equal(g, w) {
					t.Errorf("names: %s %q, %s %q", sides[1].name, g, sides[0].name, w)
				}
			}
		})
	}
}

// jsonFields returns the sorted top-level field names of a JSON object
// body, "(empty)" for an empty body or "(not an object)".
func jsonFields(t *testing.T, body []byte) []string {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return []string{"(empty)"}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return []string{"(not an object)"}
	}
	fields := make([]string, 0, len(m))
	for k := range m {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	return fields
}

func listNames(t *testing.T, body []byte) []string {
	t.Helper()
	var list struct {
		Names []string `json:"names"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("list answer %s: %v", body, err)
	}
	if list.Names == nil {
		return []string{}
	}
	return list.Names
}

// TestS3sealServesTheKESAPI is the end-to-end proof: the s3seal binary,
// configured by a YAML file with kms.address, kms.tls, kms.admin and
// kms.policy, serves its KMS over the KES API to a real MinIO, which mc
// then drives; the keys MinIO creates are the gateway's own.
func TestS3sealServesTheKESAPI(t *testing.T) {
	t.Parallel()
	const (
		defaultKey = "minio-default-key"
		key        = "k1"
	)
	dir := t.TempDir()
	server := newKESPEM(t, dir, "server")
	minioID := newKESPEM(t, dir, "minio")
	reader := newKESPEM(t, dir, "reader")
	stranger := newKESPEM(t, dir, "stranger")
	kesPort := harness.FreePort(t)
	config := fmt.Sprintf(`version: v1
kms:
  address: 127.0.0.1:%d
  tls:
    cert: %s
    key: %s
  admin:
    identity: %s
  policy:
    reader:
      allow:
      - /v1/key/describe/*
      - /v1/status
      identities:
      - %s
  keys:
  - name: %s
`, kesPort, server.CertFile, server.KeyFile, minioID.identity, reader.identity, defaultKey)
	configFile := filepath.Join(dir, "s3seal.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend, harness.WithGatewayEnv("S3SEAL_CONFIG", configFile))
	endpoint := "https://127.0.0.1:" + strconv.Itoa(kesPort)
	waitForKES(t, newKESCaller(t, endpoint, server, minioID), nil)

	minio := startMinIOWithKES(t, endpoint, server, minioID, defaultKey)
	runMinIOKESFlow(t, minio, key, defaultKey)

	t.Run("the gateway uses the keys MinIO created", func(t *testing.T) {
		mc := harness.MC(t, t.TempDir())
		mc.AliasSet(t, "gw", gw.Endpoint, gw.AccessKey, gw.SecretKey)
		var list struct {
			Keys []string `json:"keys"`
		}
		harness.DecodeJSON(t, mc.JSON(t, "admin", "kms", "key", "list", "gw"), &list)
		for _, want := range []string{key, defaultKey} {
			if !slices.Contains(list.Keys, want) {
				t.Errorf("mc admin kms key list gw = %q, want %s listed", list.Keys, want)
			}
		}
		data := harness.RandomBytes(t, 200*1024+1)
		file := filepath.Join(t.TempDir(), "object")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		mc.Must(t, "mb", "gw/shared-key")
		mc.Must(t, "encrypt", "set", "SSE-KMS", key, "gw/shared-key")
		mc.Must(t, "cp", file, "gw/shared-key/object")
		assertSameBytes(t, "mc cat through the gateway", mc.Must(t, "cat", "gw/shared-key/object").Stdout, data)
		if got, want := mcflowEncryptionLine(t, mc, "gw/shared-key/object"), "SSE-KMS (arn:aws:kms:"+key+")"; got != want {
			t.Errorf("mc stat Encryption line = %q, want %q", got, want)
		}
	})
	assertKESAccessRules(t, newKESCaller(t, endpoint, server, reader), newKESCaller(t, endpoint, server, stranger), key)

	t.Run("refusals are logged with the identity", func(t *testing.T) {
		found := false
		for _, line := range gw.LogLines() {
			if strings.Contains(line, "kes request failed") && strings.Contains(line, stranger.identity) && strings.Contains(line, `"status":403`) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("gateway log has no 'kes request failed' line with status 403 and identity %s", stranger.identity)
		}
	})
}

// TestIdentityCommandMatchesKES compares `s3seal identity` with
// `kes identity of` for a certificate and an API key.
func TestIdentityCommandMatchesKES(t *testing.T) {
	t.Parallel()
	cert := newKESPEM(t, t.TempDir(), "client")
	for _, arg := range []string{cert.CertFile, "kes:v1:ACQpoGqx3rHHjT938Hfu5hVVQJHZWSqVI2Xp1KlYxFVw"} {
		want, err := exec.CommandContext(t.Context(), harness.Tools(t, "kes").KES, "identity", "of", arg).Output()
		if err != nil {
			t.Fatalf("kes identity of %s: %v", arg, err)
		}
		got, err := exec.CommandContext(t.Context(), harness.GatewayBinary(t), "identity", arg).Output()
		if err != nil {
			t.Fatalf("s3seal identity %s: %v", arg, err)
		}
		if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
			t.Errorf("s3seal identity %s = %q, want %q (kes identity of)", arg, got, want)
		}
	}
	if got := strings.TrimSpace(string(harness.MustRun(t, harness.GatewayBinary(t), []string{"identity", cert.CertFile}, nil, "").Stdout)); got != cert.identity {
		t.Errorf("s3seal identity = %s, want %s", got, cert.identity)
	}
}
