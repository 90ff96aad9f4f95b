package harness

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

func TestCAIssuesCertificatesItsClientsTrust(t *testing.T) {
	ca := NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "public.crt"), filepath.Join(dir, "private.key")
	first := ca.Issue(t, certFile, keyFile)
	second := ca.Issue(t, certFile, keyFile)
	if first.SerialNumber.Cmp(second.SerialNumber) == 0 {
		t.Errorf("two issued certificates share the serial %x", first.SerialNumber)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("load the issued pair: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	defer srv.Close()
	resp, err := ca.Client().Get(srv.URL)
	if err != nil {
		t.Fatalf("GET over TLS trusting only the CA: %v", err)
	}
	resp.Body.Close()

	other := NewCA(t)
	if _, err := other.Client().Get(srv.URL); err == nil {
		t.Error("a client trusting another CA accepted the server")
	}
}

func TestSelfSignedCertServesAndAuthenticates(t *testing.T) {
	c := SelfSignedCert(t, t.TempDir(), "peer")
	if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
		t.Fatalf("load %s, %s: %v", c.CertFile, c.KeyFile, err)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := c.Leaf().Verify(x509.VerifyOptions{Roots: c.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("verify for usage %v: %v", usage, err)
		}
	}
	if err := c.Leaf().VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate is not for 127.0.0.1: %v", err)
	}
	if !c.Leaf().IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("IP SAN = %v, want 127.0.0.1", c.Leaf().IPAddresses)
	}
}
