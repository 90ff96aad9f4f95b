package kes

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/s3seal/s3seal/internal/testcert"
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
	authority := testcert.NewCA(t, "client CA")
	ca, caKey := authority.Cert, authority.Key
	client := authority.Issue(t, testcert.ClientTemplate("s3seal-test"))
	leaf, leafKey := client.Cert, client.Key
	other := authority.Issue(t, testcert.ClientTemplate("s3seal-test")).Cert
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
