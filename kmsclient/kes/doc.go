// Package kes is a client for an external KES server (github.com/minio/kes,
// API v1). Client has the method set of the embedded kmsclient.KMS, so the
// gateway can use either; errors are translated to kmsclient's sentinels.
//
// # Authentication
//
// KES authenticates clients by mutual TLS and names them by identity: the
// hex SHA-256 of the client certificate's public key (SubjectPublicKeyInfo).
// A client either loads a certificate and key from files, or derives one
// from a KES API key ("kes:v1:" and the base64 of a type byte 0 and a
// 32-byte Ed25519 seed): the seed gives an Ed25519 key pair, and the client
// presents a self-signed certificate for it, as KES's own tools do. A
// certificate file must hold the client's certificate first and CA
// certificates only after it, so that the identity the server sees is the
// one Identity reports. The server's certificate is verified against
// Config.CAFile, or the system roots; redirects are not followed, so
// requests go only to the configured endpoints.
//
// # Errors
//
// KES answers errors as {"message": "..."} with a status code. 404 "key
// does not exist" is kmsclient.ErrKeyNotFound, 400 "key already exists"
// kmsclient.ErrKeyExists, 400 "decryption failed: ciphertext is not
// authentic" kmsclient.ErrDecrypt, 403 kmsclient.ErrNotAllowed; 5xx
// answers and unreachable servers wrap kmsclient.ErrUnavailable.
//
// # Listing
//
// KES v0.24 lists by prefix and pages with a continue_at name that its own
// client sends back as the next prefix, so a server with more than 1024
// keys under one prefix may list only some of them. ListKeys follows
// continue_at the same way.
package kes
