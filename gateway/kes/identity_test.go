package kes

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/internal/testcert"
	kmskes "github.com/s3seal/s3seal/kmsclient/kes"
)

// Vectors from minio/kms-go/kes's API key tests: what `kes identity of
// KEY` prints.
func TestIdentityOfAPIKeyMatchesKES(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"kes:v1:ACQpoGqx3rHHjT938Hfu5hVVQJHZWSqVI2Xp1KlYxFVw", "0426fa9a04bc2756b92fbe8a97e1a1e07b53ecf04ed33da22c33e5c9faeb8cbb"},
		{"kes:v1:AMxvd2uV1l5dDSRwuKZxSjuM5BDemlr+685+JAHA1TuJ", "ab785e3b95d80d72cc9c27cb9fde886a0bf9068a69d40e3bd08a54e68c3f2bf7"},
	} {
		got, err := kmskes.IdentityOfAPIKey(tc.key)
		if err != nil || got != tc.want {
			t.Errorf("kmskes.IdentityOfAPIKey(%s) = %q, %v; want %q", tc.key, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"v1:AM0F5TP43FYEShMzA42f2drFYGnBOiNx7UH4DK0nm08E",
		"kes:v1:sbDvZFqUPFFwxRS4EkuoEb2nyyInkdKSUEYHXFHeTouW", // unknown key type
		"kes:v1:%%%%",
		"kes:v1:AAAA",
	} {
		if _, err := kmskes.IdentityOfAPIKey(bad); err == nil {
			t.Errorf("kmskes.IdentityOfAPIKey(%q) succeeded, want an error", bad)
		} else if strings.Contains(err.Error(), strings.TrimPrefix(bad, "kes:v1:")) {
			t.Errorf("IdentityOfAPIKey error %q repeats the key", err)
		}
	}
}

func TestIdentityIsTheHashOfTheSubjectPublicKeyInfo(t *testing.T) {
	c := newClientCert(t)
	spki, err := x509.MarshalPKIXPublicKey(c.cert.Leaf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki)
	if got, want := c.identity, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Identity = %s, want %s", got, want)
	}

	// A PEM file with the key first and the certificate second, as some
	// tools write them.
	file := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not parsed")}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Certificate[0]})...)
	got, err := IdentityOfPEM(file)
	if err != nil || got != c.identity {
		t.Errorf("IdentityOfPEM = %q, %v; want %q", got, err, c.identity)
	}
	if _, err := IdentityOfPEM([]byte("no pem here")); err == nil {
		t.Errorf("IdentityOfPEM of a non-PEM file succeeded")
	}
}

// identifyRequest names the client by the first certificate it sent, and
// refuses chains that hold another candidate; see clientCertificate.
func TestIdentifyRequestTakesTheFirstCertificate(t *testing.T) {
	leaf := newClientCert(t).cert.Leaf
	other := newClientCert(t).cert.Leaf
	ca := testcert.NewCA(t, "kes-test-ca").Cert
	for _, tc := range []struct {
		name       string
		state      *tls.ConnectionState
		want       string
		wantStatus int
	}{
		{"leaf", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}, Identity(leaf), 0},
		{"leaf and CA", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, ca}}, Identity(leaf), 0},
		{"verified leaf", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, ca}, VerifiedChains: [][]*x509.Certificate{{leaf, ca}}}, Identity(leaf), 0},
		{"CA and leaf", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{ca, leaf}}, "", 400},
		{"CA only", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{ca}}, "", 400},
		{"two leaves", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, other}}, "", 400},
		{"verified chain of another certificate", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{other}}}, "", 400},
		{"no certificate", &tls.ConnectionState{}, "", 400},
		{"no TLS", nil, "", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := identifyRequest(tc.state)
			if got != tc.want {
				t.Errorf("identity = %q, want %q", got, tc.want)
			}
			status := 0
			if err != nil {
				status = err.status
			}
			if status != tc.wantStatus {
				t.Errorf("error status = %d, want %d (0: no error)", status, tc.wantStatus)
			}
		})
	}
}
