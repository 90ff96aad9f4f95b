package kes

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The client sends its requests, and trusts answers, only from the
// endpoints it was given: a redirect to another server, even one whose
// certificate it would trust, is not followed.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var reached atomic.Bool
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Store(true)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"plaintext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","ciphertext":"AAAA"}`))
	}))
	defer other.Close()
	endpoint := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer endpoint.Close()
	// httptest servers share one certificate: the client would trust both.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", endpoint.Certificate().Raw)
	apiKey, _ := newAPIKey(t)
	c := newClient(t, Config{Endpoints: []string{endpoint.URL}, APIKey: apiKey, CAFile: caFile})

	dek, err := c.GenerateKey(t.Context(), "my-key", []byte("context"))
	if err == nil {
		t.Errorf("GenerateKey through a redirect = %d-byte key, want an error", len(dek.Plaintext))
	}
	if reached.Load() {
		t.Errorf("the client followed the redirect to %s", other.URL)
	}
}

// A client certificate file must name one client, as KES servers identify
// it: its key's certificate first, then only CA certificates. Otherwise
// Identity would not be what the server sees.
func TestClientCertificateFileHoldsTheClientFirst(t *testing.T) {
	caKey := newECDSAKey(t)
	ca := signCert(t, &x509.Certificate{
		SerialNumber:          big.NewInt(10),
		Subject:               pkix.Name{CommonName: "client CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, caKey.Public(), nil, caKey)
	leafKey := newECDSAKey(t)
	leaf := signCert(t, clientCertTemplate(), leafKey.Public(), ca, caKey)
	other := signCert(t, clientCertTemplate(), newECDSAKey(t).Public(), ca, caKey)
	leafIdentity, err := identityOf(leafKey.Public())
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		key     crypto.Signer
		chain   []*x509.Certificate
		wantErr string // empty: accepted, with the leaf's identity
	}{
		{"leaf", leafKey, []*x509.Certificate{leaf}, ""},
		{"leaf and its CA", leafKey, []*x509.Certificate{leaf, ca}, ""},
		{"CA first", caKey, []*x509.Certificate{ca, leaf}, "is a CA certificate"},
		{"CA only", caKey, []*x509.Certificate{ca}, "is a CA certificate"},
		{"two leaves", leafKey, []*x509.Certificate{leaf, other}, "more than one certificate that is not a CA's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "client.cert"), filepath.Join(dir, "client.key")
			var certPEM []byte
			for _, c := range tc.chain {
				certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
			}
			if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			pkcs8, err := x509.MarshalPKCS8PrivateKey(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			writePEM(t, keyFile, "PRIVATE KEY", pkcs8)

			c, err := New(Config{Endpoints: []string{"https://127.0.0.1:7373"}, CertFile: certFile, KeyFile: keyFile})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer c.Close()
				if got := c.Identity(); got != leafIdentity {
					t.Errorf("Identity = %s, want the leaf's, %s", got, leafIdentity)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("New succeeded, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New error = %q, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func newECDSAKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func clientCertTemplate() *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(11),
		Subject:      pkix.Name{CommonName: "s3seal-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// signCert signs template for pub with signer, as parent (nil: the
// certificate is self-signed).
func signCert(t *testing.T, template *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer) *x509.Certificate {
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
