package kes

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"

	"github.com/s3seal/s3seal/internal/testcert"
	"github.com/s3seal/s3seal/kmsclient"
)

// outcome is what a client gets for an admin-only request.
type outcome string

const (
	allowed   outcome = "200"
	forbidden outcome = "403"
	// handshake: the TLS handshake fails; no request is served.
	handshake outcome = "TLS handshake failure"
)

// A TLS client proves that it holds the private key of the first
// certificate it sends, and of no other. Its identity must therefore be
// that certificate's, whatever else the chain holds: a client must not
// become the admin by sending the admin's public key in a certificate it
// signed itself.
func TestIdentityIsTheCertificateWhoseKeyTheClientProved(t *testing.T) {
	adminKey := testcert.Key(t)
	admin := Identity(testcert.Sign(t, testcert.ClientTemplate("kes-client"), adminKey.Public(), nil, adminKey))
	attacker := testcert.NewCA(t, "kes-test-ca")    // the attacker holds this CA's key
	forged := issue(t, attacker, adminKey.Public()) // the admin's public key, signed by the attacker
	attackerLeafKey := testcert.Key(t)              // a key of the attacker's that is no CA's
	attackerLeaf := issue(t, attacker, attackerLeafKey.Public())
	otherCA := testcert.NewCA(t, "kes-test-ca")
	adminByOtherCA := issue(t, otherCA, adminKey.Public())

	t.Run("without a CA", func(t *testing.T) {
		ts := startServer(t, Config{AdminIdentity: admin})
		for _, tc := range []struct {
			name   string
			client *clientCert
			want   outcome
		}{
			{"admin's self-signed certificate", chainCert(adminKey, testcert.Sign(t, testcert.ClientTemplate("kes-client"), adminKey.Public(), nil, adminKey)), allowed},
			{"admin's certificate and the CA that issued it", chainCert(adminKey, adminByOtherCA, otherCA.Cert), allowed},
			{"forged chain: attacker's CA, then a leaf with the admin's key", chainCert(attacker.Key, attacker.Cert, forged), handshake},
			{"forged chain in leaf-first order, signed by the attacker", chainCert(attacker.Key, forged, attacker.Cert), handshake},
			{"attacker's leaf, then a leaf with the admin's key", chainCert(attackerLeafKey, attackerLeaf, forged), handshake},
			{"attacker's leaf and CA", chainCert(attackerLeafKey, attackerLeaf, attacker.Cert), forbidden},
			{"only a CA certificate", chainCert(attacker.Key, attacker.Cert), handshake},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkAdminOnlyAPIs(t, ts, tc.client, tc.want)
			})
		}
	})

	t.Run("with a CA", func(t *testing.T) {
		trusted := testcert.NewCA(t, "kes-test-ca")
		ts := startServerWithClientCAs(t, Config{AdminIdentity: admin}, trusted.Pool())
		adminByTrusted := issue(t, trusted, adminKey.Public())
		attackerByTrusted := issue(t, trusted, attackerLeafKey.Public())
		for _, tc := range []struct {
			name   string
			client *clientCert
			want   outcome
		}{
			{"admin's certificate issued by the CA", chainCert(adminKey, adminByTrusted), allowed},
			{"admin's certificate and the CA", chainCert(adminKey, adminByTrusted, trusted.Cert), allowed},
			{"admin's key in a certificate of another CA", chainCert(adminKey, adminByOtherCA, otherCA.Cert), handshake},
			{"admin's key in a self-signed certificate", chainCert(adminKey, testcert.Sign(t, testcert.ClientTemplate("kes-client"), adminKey.Public(), nil, adminKey)), handshake},
			{"forged chain: attacker's CA, then a leaf with the admin's key", chainCert(attacker.Key, attacker.Cert, forged), handshake},
			{"attacker's trusted leaf, then a leaf with the admin's key", chainCert(attackerLeafKey, attackerByTrusted, forged), handshake},
			{"attacker's trusted leaf", chainCert(attackerLeafKey, attackerByTrusted), forbidden},
			{"the CA's own certificate, by a client with its key", chainCert(trusted.Key, trusted.Cert), handshake},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkAdminOnlyAPIs(t, ts, tc.client, tc.want)
			})
		}
	})
}

// checkAdminOnlyAPIs creates a key and generates a data key with client
// and checks that both have outcome want, and that a refused client
// created nothing.
func checkAdminOnlyAPIs(t *testing.T, ts *testServer, client *clientCert, want outcome) {
	t.Helper()
	const existing, created = "existing-key", "created-key"
	if err := ts.kms.CreateKey(t.Context(), existing); err != nil && !errors.Is(err, kmsclient.ErrKeyExists) {
		t.Fatal(err)
	}
	if err := ts.kms.DeleteKey(t.Context(), created); err != nil && !errors.Is(err, kmsclient.ErrKeyNotFound) {
		t.Fatal(err)
	}
	c := ts.client(t, client)
	for _, path := range []string{"/v1/key/create/" + created, "/v1/key/generate/" + existing} {
		a, err := send(t, c, http.MethodPost, ts.url+path, nil)
		var got outcome
		switch {
		case err == nil:
			got = outcome(strconv.Itoa(a.status))
		case isHandshakeRefusal(err):
			got = handshake
		default:
			t.Fatalf("POST %s: %v", path, err)
		}
		if got != want {
			t.Errorf("POST %s: got %s (%v %s), want %s", path, got, err, a.body, want)
		}
	}
	_, err := ts.kms.DescribeKey(t.Context(), created)
	if keyExists := err == nil; keyExists != (want == allowed) {
		t.Errorf("after the requests, key %s exists: %v; want %v", created, keyExists, want == allowed)
	}
}

// isHandshakeRefusal reports whether err is the server's TLS alert, rather
// than, say, a server that is not listening. In TLS 1.3 the client may
// have sent its request before the server checked its certificate; the
// server then closes a connection with unread data, and the reset can
// overtake the alert.
func isHandshakeRefusal(err error) bool {
	opErr, ok := errors.AsType[*net.OpError](err)
	return ok && opErr.Op == "remote error" || errors.Is(err, syscall.ECONNRESET)
}

// The handshake checks of TLSConfig run on resumed sessions too, where
// crypto/tls restores the certificates of the first handshake: resumption
// must keep working, with the client's identity.
func TestResumedSessionsKeepTheClientsIdentity(t *testing.T) {
	adminKey := testcert.Key(t)
	trusted := testcert.NewCA(t, "kes-test-ca")
	admin := chainCert(adminKey, issue(t, trusted, adminKey.Public()))
	for _, tc := range []struct {
		name      string
		clientCAs *x509.CertPool
	}{
		{"without a CA", nil},
		{"with a CA", trusted.Pool()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServerWithClientCAs(t, Config{AdminIdentity: Identity(admin.cert.Leaf)}, tc.clientCAs)
			sessions := tls.NewLRUClientSessionCache(1)
			for i, wantResumed := range []bool{false, true} {
				c := ts.client(t, admin)
				tr := c.Transport.(*http.Transport)
				tr.TLSClientConfig.ClientSessionCache = sessions
				tr.DisableKeepAlives = true // a new connection for each request
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.url+"/v1/key/create/key-"+strconv.Itoa(i), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.TLS.DidResume != wantResumed {
					t.Errorf("request %d: status %d, resumed %v; want 200, resumed %v", i, resp.StatusCode, resp.TLS.DidResume, wantResumed)
				}
			}
		})
	}
}
