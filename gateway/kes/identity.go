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

// identifyRequest returns the identity of the client certificate of a TLS
// request. Like KES it ignores CA certificates in the chain and refuses a
// chain with more than one leaf.
func identifyRequest(state *tls.ConnectionState) (string, *apiError) {
	if state == nil {
		return "", &apiError{status: http.StatusBadRequest, message: "insecure connection: TLS is required"}
	}
	var leaf *x509.Certificate
	for _, c := range state.PeerCertificates {
		if c.IsCA {
			continue
		}
		if leaf != nil {
			return "", &apiError{status: http.StatusBadRequest, message: "tls: received more than one client certificate"}
		}
		leaf = c
	}
	if leaf == nil {
		return "", &apiError{status: http.StatusBadRequest, message: "tls: client certificate is required"}
	}
	return Identity(leaf), nil
}

// TLSConfig returns the server side of the API's mutual TLS: TLS 1.2 or
// later, certificates from getCertificate (nil: set Certificates on the
// result), and a client certificate required on every connection. With a
// nil clientCAs any client certificate is accepted, as KES does, and access
// is decided by its identity alone; otherwise the certificate must also
// chain to clientCAs.
func TLSConfig(getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error), clientCAs *x509.CertPool) *tls.Config {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCertificate,
		ClientAuth:     tls.RequireAnyClientCert,
	}
	if clientCAs != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = clientCAs
	}
	return cfg
}
