package kes

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clientCert is a self-signed client certificate and its KES identity.
type clientCert struct {
	cert     tls.Certificate
	identity string
}

func newClientCert(t *testing.T) clientCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kes-client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return clientCert{
		cert:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		identity: Identity(leaf),
	}
}

// testServer is a Server on an httptest TLS listener over an embedded KMS
// with an in-memory key store.
type testServer struct {
	*Server
	url  string
	http *httptest.Server
	kms  *kmsclient.KMS
}

// startServer starts a Server; cfg.KMS, when nil, becomes a fresh
// in-memory KMS, and cfg.Logger a test logger.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ts := &testServer{}
	if cfg.KMS == nil {
		ts.kms = kmsclient.New(&mem.Store{}, kmsclient.Config{CreatedBy: "s3seal-admin"})
		t.Cleanup(func() { ts.kms.Close() })
		cfg.KMS = ts.kms
	}
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ts.Server = srv
	ts.http = httptest.NewUnstartedServer(srv.Handler())
	ts.http.TLS = TLSConfig(nil, nil)
	ts.http.StartTLS()
	t.Cleanup(ts.http.Close)
	ts.url = ts.http.URL
	return ts
}

// client returns an HTTP client that trusts the server and presents cert
// (none when cert is nil).
func (ts *testServer) client(t *testing.T, cert *clientCert) *http.Client {
	t.Helper()
	base := ts.http.Client().Transport.(*http.Transport)
	tr := base.Clone()
	tr.TLSClientConfig = base.TLSClientConfig.Clone()
	if cert != nil {
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert.cert}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// answer is a response, read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// message returns the "message" of a KES error body.
func (a answer) message(t *testing.T) string {
	t.Helper()
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", a.body, err)
	}
	return e.Message
}

// do sends method path with body (JSON-encoded unless it is []byte or nil).
func do(t *testing.T, c *http.Client, method, url string, body any) answer {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

// mustOK fails the test unless the answer is 200, and decodes the body
// into out when out is not nil.
func mustOK(t *testing.T, a answer, out any) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", a.status, a.body)
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			t.Fatalf("decode %s: %v", a.body, err)
		}
	}
}
