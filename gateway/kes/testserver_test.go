package kes

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
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
	key := newKey(t)
	leaf := issueCert(t, clientTemplate(), key.Public(), nil, key)
	return clientCert{
		cert:     tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf},
		identity: Identity(leaf),
	}
}

// testCA is a certificate authority: a self-signed CA certificate and its
// key.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T) testCA {
	t.Helper()
	key := newKey(t)
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "kes-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return testCA{cert: issueCert(t, template, key.Public(), nil, key), key: key}
}

// issue returns a client certificate for pub signed by the CA.
func (ca testCA) issue(t *testing.T, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	return issueCert(t, clientTemplate(), pub, ca.cert, ca.key)
}

// pool returns a pool that holds only the CA's certificate.
func (ca testCA) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func clientTemplate() *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kes-client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// issueCert signs template for pub with signer, as parent (nil: the
// certificate is self-signed).
func issueCert(t *testing.T, template *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = template
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// chainCert returns a client credential that sends chain, in that order,
// and signs the handshake with key, whether or not key belongs to the
// first certificate: what a malicious client can do.
func chainCert(key crypto.Signer, chain ...*x509.Certificate) *clientCert {
	c := &clientCert{cert: tls.Certificate{PrivateKey: key, Leaf: chain[0]}}
	for _, cert := range chain {
		c.cert.Certificate = append(c.cert.Certificate, cert.Raw)
	}
	return c
}

// testServer is a Server on an httptest TLS listener over an embedded KMS
// with an in-memory key store.
type testServer struct {
	*Server
	url  string
	http *httptest.Server
	kms  *kmsclient.KMS
}

// startServer starts a Server that accepts any client certificate;
// cfg.KMS, when nil, becomes a fresh in-memory KMS, and cfg.Logger a test
// logger.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	return startServerWithClientCAs(t, cfg, nil)
}

// startServerWithClientCAs starts a Server as startServer does, with
// TLSConfig's clientCAs.
func startServerWithClientCAs(t *testing.T, cfg Config, clientCAs *x509.CertPool) *testServer {
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
	ts.http.TLS = TLSConfig(nil, clientCAs)
	ts.http.StartTLS()
	t.Cleanup(ts.http.Close)
	ts.url = ts.http.URL
	return ts
}

// client returns an HTTP client that trusts the server and presents cert
// (none when cert is nil) whatever the server asks for, as a malicious
// client may.
func (ts *testServer) client(t *testing.T, cert *clientCert) *http.Client {
	t.Helper()
	base := ts.http.Client().Transport.(*http.Transport)
	tr := base.Clone()
	tr.TLSClientConfig = base.TLSClientConfig.Clone()
	if cert != nil {
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert.cert, nil
		}
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
	a, err := send(t, c, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// send is do that returns a transport failure, such as a refused TLS
// handshake, instead of failing the test.
func send(t *testing.T, c *http.Client, method, url string, body any) (answer, error) {
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
		return answer{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
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
