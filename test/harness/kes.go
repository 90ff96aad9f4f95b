package harness

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// KESConfig configures StartKES. The zero value starts `kes server --dev`:
// in-memory keys, a certificate the server makes itself, and an admin API
// key it prints.
type KESConfig struct {
	// Admin is the admin identity. Non-empty starts the server from a
	// config file instead, with an fs key store in a directory of the test,
	// so keys outlive Restart.
	Admin string
	// Cert is the server certificate of a configured server; a zero Cert
	// gets a new self-signed one.
	Cert Cert
	// Policies maps a policy name to the API paths it allows and the
	// identities it applies to (configured servers only).
	Policies map[string]KESPolicy
}

// KESPolicy is one entry of a KES config's policy section.
type KESPolicy struct {
	Allow      []string
	Identities []string
}

// KES is a pinned KES server started for one test.
type KES struct {
	Endpoint string // https://127.0.0.1:PORT
	CAFile   string // PEM of the certificate the server presents
	APIKey   string // dev mode: the admin API key the server printed

	args []string
	env  []string
	proc *Process
}

// StartKES starts the pinned KES server (test/install-peers.sh kes) on a
// free 127.0.0.1 port, waits until it accepts TLS connections and kills it
// in t.Cleanup.
func StartKES(t testing.TB, cfg KESConfig) *KES {
	t.Helper()
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	k := &KES{Endpoint: "https://" + addr, env: BaseEnv(dir)}
	if cfg.Admin == "" {
		k.args = []string{"server", "--dev", "--addr", addr}
		k.start(t)
		k.APIKey = k.proc.WaitOutput(t, regexp.MustCompile(`API Key\s+(kes:v1:\S+)`))[1]
		certs := k.waitTLS(t)
		k.CAFile = filepath.Join(dir, "kes-ca.pem")
		if err := os.WriteFile(k.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		return k
	}
	if cfg.Cert.CertFile == "" {
		cfg.Cert = SelfSignedCert(t, dir, "kes-server")
	}
	k.CAFile = cfg.Cert.CertFile
	var config strings.Builder
	fmt.Fprintf(&config, "version: v1\naddress: %s\nadmin:\n  identity: %s\ntls:\n  key: %s\n  cert: %s\nkeystore:\n  fs:\n    path: %s\n",
		addr, cfg.Admin, cfg.Cert.KeyFile, cfg.Cert.CertFile, filepath.Join(dir, "keys"))
	if len(cfg.Policies) > 0 {
		config.WriteString("policy:\n")
		for _, name := range slices.Sorted(maps.Keys(cfg.Policies)) {
			p := cfg.Policies[name]
			fmt.Fprintf(&config, "  %s:\n    allow:\n", name)
			for _, a := range p.Allow {
				fmt.Fprintf(&config, "    - %s\n", a)
			}
			config.WriteString("    identities:\n")
			for _, id := range p.Identities {
				fmt.Fprintf(&config, "    - %s\n", id)
			}
		}
	}
	configFile := filepath.Join(dir, "kes.yaml")
	if err := os.WriteFile(configFile, []byte(config.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	k.args = []string{"server", "--config", configFile}
	k.start(t)
	k.waitTLS(t)
	return k
}

func (k *KES) start(t testing.TB) {
	t.Helper()
	k.proc = RunProcess(t, "kes", Tools(t, "kes").KES, k.args, k.env)
}

// Output returns what the server has printed so far.
func (k *KES) Output() string { return k.proc.Output() }

// Stop kills the server.
func (k *KES) Stop() { k.proc.Kill() }

// Restart kills the server, starts it again with the same configuration
// on the same port and waits until it accepts TLS connections. A dev-mode
// server loses its keys.
func (k *KES) Restart(t testing.TB) {
	t.Helper()
	k.Stop()
	k.start(t)
	k.waitTLS(t)
}

// waitTLS polls until the server completes a TLS handshake and returns its
// certificate chain.
func (k *KES) waitTLS(t testing.TB) []*x509.Certificate {
	t.Helper()
	host := strings.TrimPrefix(k.Endpoint, "https://")
	deadline := time.Now().Add(startDeadline)
	for {
		// Only to learn that it serves and which certificate it presents;
		// the clients under test verify it.
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", host, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec
		if err == nil {
			certs := conn.ConnectionState().PeerCertificates
			conn.Close()
			return certs
		}
		if k.proc.Exited() || time.Now().After(deadline) {
			t.Fatalf("kes did not accept TLS connections on %s (%v, exited %v):\n%s", host, err, k.proc.Exited(), k.proc.LogTail(40))
		}
		select {
		case <-k.proc.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}
