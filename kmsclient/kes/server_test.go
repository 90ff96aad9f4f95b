package kes

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/s3seal/s3seal/internal/testcert"
	"github.com/s3seal/s3seal/internal/testproc"
)

// kesBinary returns the path of the pinned KES server binary and fails the
// test if it is not installed.
func kesBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the module root above the test directory")
		}
		dir = parent
	}
	bin := filepath.Join(dir, ".tools", "bin", "kes")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the KES server binary is required for these tests; install it with: test/install-peers.sh kes (%v)", err)
	}
	return bin
}

// kesServer is a running KES server.
type kesServer struct {
	endpoint string
	caFile   string // PEM of the server's certificate
	apiKey   string // dev mode only: the admin API key it printed
	admin    string // dev mode only: the admin identity it printed
	out      *testproc.Output
	exited   chan struct{} // closed when the process has exited
}

// startDevKES starts "kes server --dev" on a free port and stops it when
// the test ends.
func startDevKES(t *testing.T) *kesServer {
	t.Helper()
	port := freePort(t)
	s := runKES(t, port, "server", "--dev", "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	banner := waitFor(t, s, regexp.MustCompile(`(?s)API Key\s+(kes:v1:\S+).*Admin\s+([0-9a-f]{64})`))
	s.apiKey, s.admin = banner[1], banner[2]
	s.caFile = fetchServerCert(t, s)
	return s
}

// startConfiguredKES starts a KES server from a config file with the fs
// key store over keyDir, admin identity admin, and a policy "app" for
// appIdentity that may use but not create or delete keys.
func startConfiguredKES(t *testing.T, keyDir, admin, appIdentity string) *kesServer {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := writeServerCert(t, dir)
	port := freePort(t)
	config := fmt.Sprintf(`version: v1
address: 127.0.0.1:%d
admin:
  identity: %s
tls:
  key: %s
  cert: %s
policy:
  app:
    allow:
    - /v1/key/generate/*
    - /v1/key/decrypt/*
    - /v1/key/describe/*
    - /v1/key/list/*
    - /v1/status
    identities:
    - %s
keystore:
  fs:
    path: %s
`, port, admin, keyFile, certFile, appIdentity, keyDir)
	configFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	s := runKES(t, port, "server", "--config", configFile)
	s.caFile = certFile
	waitFor(t, s, regexp.MustCompile(`Server is up and running`))
	waitForTLS(t, s)
	return s
}

func runKES(t *testing.T, port int, args ...string) *kesServer {
	t.Helper()
	cmd := exec.Command(kesBinary(t), args...)
	out := new(testproc.Output)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kes: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("kes output:\n%s", out.String())
		}
	})
	return &kesServer{endpoint: fmt.Sprintf("https://127.0.0.1:%d", port), out: out, exited: exited}
}

// waitFor polls the server's output until re matches and returns the
// submatches.
func waitFor(t *testing.T, s *kesServer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(s.out.String()); m != nil {
			return m
		}
		select {
		case <-s.exited:
			t.Fatalf("kes exited:\n%s", s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kes did not start within 30s:\n%s", s.out.String())
		}
	}
}

// waitForTLS polls until the server completes a TLS handshake and returns
// its certificate chain.
func waitForTLS(t *testing.T, s *kesServer) []*x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Only to learn or check the server's certificate.
		conn, err := tls.Dial("tcp", s.endpoint[len("https://"):], &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			certs := conn.ConnectionState().PeerCertificates
			conn.Close()
			return certs
		}
		select {
		case <-s.exited:
			t.Fatalf("kes exited:\n%s", s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kes did not accept TLS connections within 30s: %v", err)
		}
	}
}

// fetchServerCert writes the dev server's self-signed certificate to a CA
// file, so the client verifies the server as in production.
func fetchServerCert(t *testing.T, s *kesServer) string {
	t.Helper()
	certs := waitForTLS(t, s)
	file := filepath.Join(t.TempDir(), "kes-ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// writeServerCert writes a self-signed server certificate for 127.0.0.1.
func writeServerCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	return testcert.SelfSigned(t, testcert.ServerTemplate("kes-test")).Write(t, dir, "server")
}

// writeClientCert writes a self-signed ECDSA client certificate and
// returns its files and KES identity.
func writeClientCert(t *testing.T) (certFile, keyFile, identity string) {
	t.Helper()
	p := testcert.SelfSigned(t, testcert.ClientTemplate("s3seal-test"))
	certFile, keyFile = p.Write(t, t.TempDir(), "client")
	identity, err := identityOf(p.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, identity
}

func writePEM(t *testing.T, file, blockType string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newAPIKey returns a fresh KES API key and its identity.
func newAPIKey(t *testing.T) (apiKey, identity string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	apiKey = "kes:v1:" + base64.StdEncoding.EncodeToString(append([]byte{0}, priv.Seed()...))
	identity, err = identityOf(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return apiKey, identity
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
