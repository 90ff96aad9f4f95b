package kes

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Identity returns the KES identity of a certificate: the hex SHA-256 of its
// DER-encoded SubjectPublicKeyInfo. Certificates that share a key share an
// identity.
func Identity(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// IdentityOfPEM returns the identity of the first certificate in a PEM file,
// as `kes identity of FILE` does. Other PEM blocks (a private key in the
// same file) are skipped.
func IdentityOfPEM(data []byte) (string, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return "", errors.New("no PEM CERTIFICATE block")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "", fmt.Errorf("parse certificate: %w", err)
		}
		return Identity(cert), nil
	}
}

// normalizeIdentity returns id in lower case, or an error unless it is 64 hex
// digits: anything else can never be a certificate's identity, so it is a
// configuration mistake.
func normalizeIdentity(id string) (string, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) != 2*sha256.Size {
		return "", fmt.Errorf("identity %q is not 64 hex digits (see `s3seal identity CERTFILE`)", id)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", fmt.Errorf("identity %q is not 64 hex digits (see `s3seal identity CERTFILE`)", id)
	}
	return id, nil
}

// identifyRequest returns the identity of the client of a TLS request:
// that of clientCertificate.
func identifyRequest(state *tls.ConnectionState) (string, *apiError) {
	if state == nil {
		return "", &apiError{status: http.StatusBadRequest, message: "insecure connection: TLS is required"}
	}
	cert, err := clientCertificate(state)
	if err != nil {
		return "", &apiError{status: http.StatusBadRequest, message: err.Error()}
	}
	return Identity(cert), nil
}

// Why a client certificate chain is refused.
var (
	errNoClientCert     = errors.New("tls: client certificate is required")
	errCAClientCert     = errors.New("tls: client certificate is a CA certificate")
	errTwoClientCerts   = errors.New("tls: received more than one client certificate")
	errUnverifiedClient = errors.New("tls: client certificate is not verified")
)

// clientCertificate returns the certificate that names the client of a TLS
// connection: the first one it sent. The handshake proves that the client
// holds the private key of that certificate and of no other; the rest of
// the chain is whatever the client chose to send. (When the chain was
// verified, VerifiedChains[0][0] is that same certificate.)
//
// KES instead skips CA certificates and takes the first other one. Then a
// client that sends its own CA certificate and a leaf it issued for
// someone else's public key, and signs the handshake with its CA key, is
// taken for the owner of that public key — the admin, say.
//
// A chain is refused when its first certificate is a CA certificate, or
// when a later one is not (it cannot be an intermediate, so it can only be
// there to be taken for the client). KES gives such a chain's first
// certificate no identity either, so no KES configuration names one and no
// client that works with KES is turned away; accepting it would name a
// client by a CA's key, the key that vouches for other certificates, and
// would keep the shape of the forgery above acceptable.
func clientCertificate(state *tls.ConnectionState) (*x509.Certificate, error) {
	if len(state.PeerCertificates) == 0 {
		return nil, errNoClientCert
	}
	cert := state.PeerCertificates[0]
	if len(state.VerifiedChains) > 0 && !state.VerifiedChains[0][0].Equal(cert) {
		return nil, errUnverifiedClient // never so in crypto/tls
	}
	if cert.IsCA {
		return nil, errCAClientCert
	}
	for _, c := range state.PeerCertificates[1:] {
		if !c.IsCA {
			return nil, errTwoClientCerts
		}
	}
	return cert, nil
}

// TLSConfig returns the server side of the API's mutual TLS: TLS 1.2 or
// later, certificates from getCertificate (nil: set Certificates on the
// result), and a client certificate required on every connection. With a
// nil clientCAs any client certificate is accepted, as KES does, and access
// is decided by its identity alone; otherwise the certificate must also
// chain to clientCAs. Either way the handshake fails for a chain that
// clientCertificate refuses.
func TLSConfig(getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error), clientCAs *x509.CertPool) *tls.Config {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCertificate,
		ClientAuth:     tls.RequireAnyClientCert,
	}
	verify := clientCAs != nil
	if verify {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = clientCAs
	}
	// Runs on every handshake, resumptions included, after crypto/tls has
	// checked the handshake signature (and, with clientCAs, the chain).
	cfg.VerifyConnection = func(state tls.ConnectionState) error {
		if verify && len(state.VerifiedChains) == 0 {
			return errUnverifiedClient
		}
		_, err := clientCertificate(&state)
		return err
	}
	return cfg
}
