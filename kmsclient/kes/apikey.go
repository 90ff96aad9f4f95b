package kes

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

const apiKeyPrefix = "kes:v1:"

// errInvalidAPIKey is returned for an API key that is not of the KES v1
// form. It never includes the key.
var errInvalidAPIKey = errors.New("invalid KES API key")

// IsAPIKey reports whether s has the form of a KES API key.
func IsAPIKey(s string) bool { return strings.HasPrefix(s, apiKeyPrefix) }

// IdentityOfAPIKey returns the identity a KES server sees for a client that
// authenticates with apiKey (as `kes identity of` prints it). Errors never
// include the key.
func IdentityOfAPIKey(apiKey string) (string, error) {
	key, err := parseAPIKey(apiKey)
	if err != nil {
		return "", err
	}
	defer clear(key)
	return identityOf(key.Public())
}

// parseAPIKey returns the Ed25519 private key an API key encodes.
func parseAPIKey(apiKey string) (ed25519.PrivateKey, error) {
	encoded, ok := strings.CutPrefix(apiKey, apiKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: want the prefix %q", errInvalidAPIKey, apiKeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", errInvalidAPIKey)
	}
	defer clear(b)
	// Type byte 0 (Ed25519, the only type KES defines) and the seed.
	if len(b) != 1+ed25519.SeedSize || b[0] != 0 {
		return nil, fmt.Errorf("%w: not a KES v1 Ed25519 API key", errInvalidAPIKey)
	}
	return ed25519.NewKeyFromSeed(b[1:]), nil
}

// identityOf returns the KES identity of a public key: the hex SHA-256 of
// its DER SubjectPublicKeyInfo.
func identityOf(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("compute identity: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// clientCertLifetime is how long a certificate derived from an API key
// is valid; it is renewed when a third of that is left.
const clientCertLifetime = 90 * 24 * time.Hour

// selfSignedClientCert returns a client certificate for key, named after
// identity, valid from now.
func selfSignedClientCert(key ed25519.PrivateKey, identity string, now time.Time) (*tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate client certificate: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: identity},
		NotBefore:             now.Add(-time.Minute).UTC(), // tolerate a server clock slightly behind
		NotAfter:              now.Add(clientCertLifetime).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("generate client certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("generate client certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
