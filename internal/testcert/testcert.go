// Package testcert makes keys and X.509 certificates for tests: a
// certificate authority, client and server leaves (for 127.0.0.1), and the
// PEM files servers and clients load. Certificates are valid from an hour
// ago to an hour from now. Every function fails the test on error.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Key returns a fresh P-256 key.
func Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func template(cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

// ClientTemplate is a client-authentication leaf named cn.
func ClientTemplate(cn string) *x509.Certificate {
	c := template(cn)
	c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return c
}

// ServerTemplate is a leaf named cn for 127.0.0.1 and localhost, usable
// for server and client authentication.
func ServerTemplate(cn string) *x509.Certificate {
	c := template(cn)
	c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	c.DNSNames = []string{"localhost"}
	return c
}

// CATemplate is a certificate authority named cn.
func CATemplate(cn string) *x509.Certificate {
	c := template(cn)
	c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	c.BasicConstraintsValid = true
	c.IsCA = true
	return c
}

// Sign issues template for pub, signed by signer as parent; a nil parent
// makes the certificate self-signed.
func Sign(t testing.TB, template *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer) *x509.Certificate {
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

// Pair is a certificate with its key.
type Pair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// SelfSigned returns a self-signed pair for template.
func SelfSigned(t testing.TB, template *x509.Certificate) Pair {
	t.Helper()
	key := Key(t)
	return Pair{Cert: Sign(t, template, key.Public(), nil, key), Key: key}
}

// NewCA returns a self-signed certificate authority.
func NewCA(t testing.TB, cn string) Pair {
	t.Helper()
	return SelfSigned(t, CATemplate(cn))
}

// Issue returns a fresh pair for template signed by the authority p.
func (p Pair) Issue(t testing.TB, template *x509.Certificate) Pair {
	t.Helper()
	key := Key(t)
	return Pair{Cert: Sign(t, template, key.Public(), p.Cert, p.Key), Key: key}
}

// Pool returns a pool that holds only p's certificate.
func (p Pair) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Cert)
	return pool
}

// TLS returns p as a tls.Certificate.
func (p Pair) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.Key, Leaf: p.Cert}
}

// CertPEM and KeyPEM encode p (the key as PKCS #8).
func (p Pair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw})
}

func (p Pair) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(p.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Write writes p to dir/name.cert and dir/name.key and returns the files.
func (p Pair) Write(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".cert"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, p.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, p.KeyPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
