package harness

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// KMIP is a pykmip-server (Debian's python3-pykmip: KMIP 1.x, for
// testing) started for one test, with mutual TLS under a CA of its own and
// a SQLite database in the test's temporary directory.
type KMIP struct {
	Endpoint string // 127.0.0.1:PORT
	CAFile   string // PEM of the CA that signed the server's certificate
	CertFile string // a client certificate the server accepts (CN s3seal-gateway)
	KeyFile  string

	bin, conf string
	ca        *CA
	proc      *Process
}

// StartKMIP starts pykmip-server on a free 127.0.0.1 port, waits until it
// completes a mutual-TLS handshake and kills it in t.Cleanup.
func StartKMIP(t testing.TB) *KMIP {
	t.Helper()
	bin, err := exec.LookPath("pykmip-server")
	if err != nil {
		t.Fatalf("pykmip-server is required (Debian's python3-pykmip; test/install-host-tools.sh installs it): %v", err)
	}
	dir := t.TempDir()
	k := &KMIP{bin: bin, ca: NewCA(t)}
	k.CAFile = k.ca.WriteCAFile(t, dir, "ca.crt")
	serverCert, serverKey := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	k.ca.Issue(t, serverCert, serverKey)
	k.CertFile, k.KeyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	k.ca.IssueClient(t, "s3seal-gateway", k.CertFile, k.KeyFile)
	policies := filepath.Join(dir, "policies")
	if err := os.Mkdir(policies, 0o700); err != nil {
		t.Fatal(err)
	}
	k.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	_, port, _ := net.SplitHostPort(k.Endpoint)
	k.conf = filepath.Join(dir, "server.conf")
	conf := fmt.Sprintf(`[server]
hostname=127.0.0.1
port=%s
certificate_path=%s
key_path=%s
ca_path=%s
auth_suite=TLS1.2
policy_path=%s
enable_tls_client_auth=True
logging_level=INFO
database_path=%s
`, port, serverCert, serverKey, k.CAFile, policies, filepath.Join(dir, "pykmip.db"))
	if err := os.WriteFile(k.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	k.start(t)
	return k
}

func (k *KMIP) start(t testing.TB) {
	t.Helper()
	k.proc = RunProcess(t, "pykmip-server", k.bin, []string{"-f", k.conf, "-l", filepath.Join(filepath.Dir(k.conf), "server.log")}, EnvWithout("PYTHON"))
	cert, err := tls.LoadX509KeyPair(k.CertFile, k.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{RootCAs: k.ca.Pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	deadline := time.Now().Add(startDeadline)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", k.Endpoint, cfg)
		if err == nil {
			err = conn.Handshake()
			conn.Close()
			if err == nil {
				return
			}
		}
		if k.proc.Exited() || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(filepath.Dir(k.conf), "server.log"))
			t.Fatalf("pykmip-server on %s not ready: %v\n%s\n%s", k.Endpoint, err, k.proc.LogTail(20), log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// KeystoreYAML is the kms.keystore section of a gateway config (indented
// under kms:) for this server.
func (k *KMIP) KeystoreYAML() string {
	return fmt.Sprintf(`  keystore:
    kmip:
      endpoint: %s
      tls:
        client:
          key: %s
          cert: %s
        ca: %s
`, k.Endpoint, k.KeyFile, k.CertFile, k.CAFile)
}

// Stop kills the server.
func (k *KMIP) Stop() { k.proc.Kill() }

// Restart kills the server and starts it again on the same port over the
// same database.
func (k *KMIP) Restart(t testing.TB) {
	t.Helper()
	k.Stop()
	k.start(t)
}

// IssueClient writes a new client certificate (extended key usage client
// authentication, which KMIP servers such as PyKMIP require) with common
// name cn to certFile and keyFile.
func (ca *CA) IssueClient(t testing.TB, cn, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("issue a client certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	writePair(t, certFile, keyFile, der, key)
	return cert
}
