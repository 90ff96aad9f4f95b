package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/s3seal/s3seal/gateway"
	kesapi "github.com/s3seal/s3seal/gateway/kes"
	"github.com/s3seal/s3seal/internal/testcert"
	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key and
// returns the files, the pair and its KES identity.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string, pair tls.Certificate, identity string) {
	t.Helper()
	p := testcert.SelfSigned(t, testcert.ServerTemplate(name))
	certFile, keyFile = p.Write(t, dir, name)
	return certFile, keyFile, p.TLS(), kesapi.Identity(p.Cert)
}

func newMemKMS(t *testing.T) *kmsclient.KMS {
	t.Helper()
	k := kmsclient.New(&mem.Store{}, kmsclient.Config{})
	t.Cleanup(func() { k.Close() })
	return k
}

func TestKESServerIsOffWithoutAnAddress(t *testing.T) {
	shutdown, err := startKESServer(&fileConfig{}, nil, zap.NewNop())
	if err != nil {
		t.Fatalf("startKESServer: %v", err)
	}
	if err := shutdown(t.Context()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// notEmbedded stands for a KMS that is not s3seal's embedded one, such as
// the client of an external KES server.
type notEmbedded struct{ gateway.KMS }

func TestKESServerConfigurationErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _, admin := writeCert(t, dir, "server")
	valid := func() *fileConfig {
		c := &fileConfig{}
		c.KMS.Address = "127.0.0.1:0"
		c.KMS.TLS = tlsConfig{Cert: certFile, Key: keyFile}
		c.KMS.Admin.Identity = admin
		return c
	}
	for _, tc := range []struct {
		name    string
		edit    func(*fileConfig)
		kms     gateway.KMS
		wantErr string
	}{
		{"external KES key store", func(*fileConfig) {}, notEmbedded{}, "kms.keystore.kes"},
		{"no certificate", func(c *fileConfig) { c.KMS.TLS.Cert = "" }, nil, "kms.tls.cert and kms.tls.key are required"},
		{"no key", func(c *fileConfig) { c.KMS.TLS.Key = "" }, nil, "kms.tls.cert and kms.tls.key are required"},
		{"unreadable certificate", func(c *fileConfig) { c.KMS.TLS.Cert = filepath.Join(dir, "missing.pem") }, nil, "kms.tls.cert, kms.tls.key:"},
		{"CA without certificates", func(c *fileConfig) { c.KMS.TLS.CA = keyFile }, nil, "kms.tls.ca:"},
		{"no identity at all", func(c *fileConfig) { c.KMS.Admin.Identity = "" }, nil, "no identity may use the KES API"},
		{"admin and root differ", func(c *fileConfig) { c.KMS.Root = strings.Repeat("b", 64) }, nil, "kms.admin.identity and kms.root"},
		{"malformed admin identity", func(c *fileConfig) { c.KMS.Admin.Identity = "admin" }, nil, "kms.admin, kms.policy:"},
		{"malformed policy identity", func(c *fileConfig) {
			c.KMS.Policy = map[string]kesPolicy{"app": {Allow: []string{"/v1/status"}, Identities: []string{"xyz"}}}
		}, nil, `policy "app"`},
		{"address in use", func(c *fileConfig) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			c.KMS.Address = ln.Addr().String()
		}, nil, "listen on kms.address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.edit(cfg)
			kms := tc.kms
			if kms == nil {
				kms = newMemKMS(t)
			}
			shutdown, err := startKESServer(cfg, kms, zap.NewNop())
			if err == nil {
				shutdown(t.Context())
				t.Fatalf("startKESServer succeeded, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestKESServerServesTheKMSWithMutualTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, serverPair, _ := writeCert(t, dir, "server")
	_, _, adminPair, admin := writeCert(t, dir, "admin")
	_, _, appPair, app := writeCert(t, dir, "app")
	cfg := &fileConfig{}
	cfg.KMS.Address = "127.0.0.1:0"
	cfg.KMS.TLS = tlsConfig{Cert: certFile, Key: keyFile}
	cfg.KMS.Root = admin // the older spelling
	cfg.KMS.Policy = map[string]kesPolicy{"app": {Allow: []string{"/v1/key/generate/*"}, Identities: []string{app}}}

	core, logs := observer.New(zapcore.InfoLevel)
	kms := newMemKMS(t)
	if err := kms.CreateKey(t.Context(), "minio-key"); err != nil {
		t.Fatal(err)
	}
	shutdown, err := startKESServer(cfg, kms, zap.New(core))
	if err != nil {
		t.Fatalf("startKESServer: %v", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	started := logs.FilterMessage("serving the KES API").All()
	if len(started) != 1 {
		t.Fatalf("log has %d 'serving the KES API' lines, want 1", len(started))
	}
	addr := started[0].ContextMap()["address"].(string)

	roots := x509.NewCertPool()
	roots.AddCert(serverPair.Leaf)
	client := func(pair tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}, ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	post := func(c *http.Client, path string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+addr+path, bytes.NewReader([]byte(`{}`)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}

	if status, body := post(client(adminPair), "/v1/key/create/new-key"); status != http.StatusOK {
		t.Errorf("admin create: %d %s, want 200", status, body)
	}
	status, body := post(client(appPair), "/v1/key/generate/minio-key")
	var dek struct{ Plaintext []byte }
	if status != http.StatusOK || json.Unmarshal(body, &dek) != nil || len(dek.Plaintext) != 32 {
		t.Errorf("app generate: %d %s, want 200 and a 32-byte key", status, body)
	}
	if status, body := post(client(appPair), "/v1/key/create/other"); status != http.StatusForbidden {
		t.Errorf("app create: %d %s, want 403", status, body)
	}
	if _, err := kms.DescribeKey(t.Context(), "new-key"); err != nil {
		t.Errorf("the key the admin created is not in the KMS: %v", err)
	}
}

func TestKESServerVerifiesClientCertificatesAgainstTheConfiguredCA(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, serverPair, _ := writeCert(t, dir, "server")
	trustedFile, _, trustedPair, trusted := writeCert(t, dir, "trusted")
	_, _, untrustedPair, untrusted := writeCert(t, dir, "untrusted")
	cfg := &fileConfig{}
	cfg.KMS.Address = "127.0.0.1:0"
	cfg.KMS.TLS = tlsConfig{Cert: certFile, Key: keyFile, CA: trustedFile}
	cfg.KMS.Policy = map[string]kesPolicy{"p": {Allow: []string{"/v1/status"}, Identities: []string{trusted, untrusted}}}
	core, logs := observer.New(zapcore.InfoLevel)
	shutdown, err := startKESServer(cfg, newMemKMS(t), zap.New(core))
	if err != nil {
		t.Fatalf("startKESServer: %v", err)
	}
	defer shutdown(context.Background())
	addr := logs.FilterMessage("serving the KES API").All()[0].ContextMap()["address"].(string)

	roots := x509.NewCertPool()
	roots.AddCert(serverPair.Leaf)
	get := func(pair tls.Certificate) error {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+addr+"/v1/status", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status with a trusted certificate: %d, want 200", resp.StatusCode)
		}
		return nil
	}
	if err := get(trustedPair); err != nil {
		t.Errorf("client certificate signed by kms.tls.ca: %v, want accepted", err)
	}
	if err := get(untrustedPair); err == nil {
		t.Errorf("client certificate not signed by kms.tls.ca was accepted, want a TLS failure")
	}
}

// The listener s3seal starts names a client by the certificate whose key
// it proved: a client that signs with its own CA key and sends that CA's
// certificate and a leaf it issued for the admin's public key is not the
// admin.
func TestKESServerRefusesAChainForgedWithTheAdminsPublicKey(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, serverPair, _ := writeCert(t, dir, "server")
	_, _, adminPair, admin := writeCert(t, dir, "admin")
	cfg := &fileConfig{}
	cfg.KMS.Address = "127.0.0.1:0"
	cfg.KMS.TLS = tlsConfig{Cert: certFile, Key: keyFile}
	cfg.KMS.Admin.Identity = admin
	core, logs := observer.New(zapcore.InfoLevel)
	kms := newMemKMS(t)
	if err := kms.CreateKey(t.Context(), "minio-key"); err != nil {
		t.Fatal(err)
	}
	shutdown, err := startKESServer(cfg, kms, zap.New(core))
	if err != nil {
		t.Fatalf("startKESServer: %v", err)
	}
	defer shutdown(context.Background())
	addr := logs.FilterMessage("serving the KES API").All()[0].ContextMap()["address"].(string)

	attacker := testcert.NewCA(t, "attacker CA")
	forgedLeaf := testcert.Sign(t, testcert.ClientTemplate("admin"), adminPair.Leaf.PublicKey, attacker.Cert, attacker.Key)
	caDER, forgedDER, caKey := attacker.Cert.Raw, forgedLeaf.Raw, attacker.Key
	forged := &tls.Certificate{Certificate: [][]byte{caDER, forgedDER}, PrivateKey: caKey}

	roots := x509.NewCertPool()
	roots.AddCert(serverPair.Leaf)
	post := func(cert *tls.Certificate, path string) (int, []byte, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return cert, nil
			},
		}}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+addr+path, bytes.NewReader([]byte(`{}`)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body, nil
	}
	for _, path := range []string{"/v1/key/create/forged-key", "/v1/key/generate/minio-key"} {
		status, body, err := post(forged, path)
		opErr, isOpErr := errors.AsType[*net.OpError](err)
		switch {
		case isOpErr && opErr.Op == "remote error", errors.Is(err, syscall.ECONNRESET):
			// refused in the handshake
		case err != nil:
			t.Errorf("POST %s with the forged chain: %v, want 403 or a TLS handshake failure", path, err)
		case status != http.StatusForbidden:
			t.Errorf("POST %s with the forged chain: %d %s, want 403 or a TLS handshake failure", path, status, body)
		}
	}
	if _, err := kms.DescribeKey(t.Context(), "forged-key"); err == nil {
		t.Errorf("the forged chain created a key")
	}
	if status, body, err := post(&adminPair, "/v1/key/generate/minio-key"); err != nil || status != http.StatusOK {
		t.Errorf("the admin's own certificate: %d %s %v, want 200", status, body, err)
	}
}

func TestIdentityCommandPrintsTheKESIdentity(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _, identity := writeCert(t, dir, "client")
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"certificate file", []string{certFile}, 0, identity + "\n", ""},
		{"API key", []string{"kes:v1:ACQpoGqx3rHHjT938Hfu5hVVQJHZWSqVI2Xp1KlYxFVw"}, 0, "0426fa9a04bc2756b92fbe8a97e1a1e07b53ecf04ed33da22c33e5c9faeb8cbb\n", ""},
		{"key file without certificate", []string{keyFile}, 1, "", "no PEM CERTIFICATE block"},
		{"missing file", []string{filepath.Join(dir, "missing")}, 1, "", "no such file"},
		{"malformed API key", []string{"kes:v1:c2VjcmV0"}, 1, "", "not a KES v1 Ed25519 API key"},
		{"no argument", nil, 2, "", "usage: s3seal identity"},
		{"two arguments", []string{certFile, certFile}, 2, "", "usage: s3seal identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runIdentity(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if got := stdout.String(); got != tc.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
			if strings.Contains(stderr.String(), "c2VjcmV0") {
				t.Errorf("stderr repeats the API key: %q", stderr.String())
			}
		})
	}
}
