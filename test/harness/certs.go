package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Cert is an ECDSA P-256 certificate and its PKCS #8 key, written as PEM
// files and loaded as a tls.Certificate (Leaf set).
type Cert struct {
	CertFile string
	KeyFile  string
	TLS      tls.Certificate
}

// Leaf returns the parsed certificate.
func (c Cert) Leaf() *x509.Certificate { return c.TLS.Leaf }

// Pool returns a pool that trusts only this certificate.
func (c Cert) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(c.TLS.Leaf)
	return pool
}

// SelfSignedCert writes a fresh self-signed certificate for 127.0.0.1 and
// localhost, valid for a day and usable by a TLS server and a TLS client,
// to dir/name.cert and dir/name.key.
func SelfSignedCert(t testing.TB, dir, name string) Cert {
	t.Helper()
	key := newKey(t)
	tmpl := serverTemplate(t, name)
	tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("self-sign %s: %v", name, err)
	}
	c := Cert{CertFile: filepath.Join(dir, name+".cert"), KeyFile: filepath.Join(dir, name+".key")}
	certPEM, keyPEM := writePair(t, c.CertFile, c.KeyFile, der, key)
	if c.TLS, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return c
}

// CA is a private certificate authority for one test.
type CA struct {
	Cert *x509.Certificate
	PEM  []byte // the CA certificate, what a client is told to trust
	Pool *x509.CertPool
	key  *ecdsa.PrivateKey
}

// NewCA returns a new certificate authority with a random name.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: "s3seal test CA " + randomHex(t, 4)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Pool: pool, key: key}
}

// WriteCAFile writes the CA certificate to dir/name and returns the path.
func (ca *CA) WriteCAFile(t testing.TB, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue writes a new server certificate for 127.0.0.1 and localhost, with
// a fresh random serial, to certFile and keyFile and returns it. Each file
// is replaced atomically, so a server that reloads them sees a whole file.
func (ca *CA) Issue(t testing.TB, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, serverTemplate(t, "127.0.0.1"), ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("issue a certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	writePair(t, certFile, keyFile, der, key)
	// A reader that looked between the two renames saw a mismatched pair
	// and remembered that moment; stamping both files now makes the
	// completed pair newer than anything it saw, even on file systems with
	// coarse timestamps.
	now := time.Now().Add(10 * time.Millisecond)
	for _, f := range []string{keyFile, certFile} {
		if err := os.Chtimes(f, now, now); err != nil {
			t.Fatal(err)
		}
	}
	return cert
}

// Transport returns an http.Transport that trusts only the CA.
func (ca *CA) Transport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}}
}

// Client returns an http.Client that trusts only the CA, with a 5 s
// timeout.
func (ca *CA) Client() *http.Client {
	return &http.Client{Transport: ca.Transport(), Timeout: 5 * time.Second}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate a key: %v", err)
	}
	return key
}

func serverTemplate(t testing.TB, commonName string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: randomSerial(t),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
}

func randomSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}

// writePair writes the certificate and its PKCS #8 key as PEM, each file
// replaced atomically, and returns both PEM blocks.
func writePair(t testing.TB, certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte) {
	t.Helper()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	writeAtomically(t, keyFile, keyPEM)
	writeAtomically(t, certFile, certPEM)
	return certPEM, keyPEM
}

func writeAtomically(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
