package kes

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/s3seal/s3seal/internal/testcert"
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
	p := testcert.SelfSigned(t, testcert.ClientTemplate("kes-client"))
	return clientCert{cert: p.TLS(), identity: Identity(p.Cert)}
}

// issue returns a client certificate for pub signed by ca.
func issue(t *testing.T, ca testcert.Pair, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	return testcert.Sign(t, testcert.ClientTemplate("kes-client"), pub, ca.Cert, ca.Key)
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
