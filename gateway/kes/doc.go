// Package kes serves s3seal's embedded KMS over the KES HTTP API (as of KES
// v0.24), so that KES clients — MinIO (MINIO_KMS_KES_*), the kes CLI,
// minio/kms-go/kes — can use s3seal as their KES server.
//
// # Transport and identity
//
// The API is served over TLS with client certificates: a client must send
// one (tls.RequireAnyClientCert, or RequireAndVerifyClientCert when a CA
// pool is configured; see TLSConfig). Its identity is the hex SHA-256 of
// the certificate's SubjectPublicKeyInfo, as `kes identity of CERT` prints
// it (Identity, IdentityOfPEM; API keys: kmsclient/kes.IdentityOfAPIKey).
// The certificate is the first one the client sends, the one whose private
// key the handshake proves it holds; the handshake fails when that
// certificate is a CA certificate or a later one is not (see
// clientCertificate).
//
// # Authorisation
//
// The admin identity may call every API. Any other identity must be listed
// by exactly one policy; a request is allowed when none of the policy's deny
// patterns and at least one of its allow patterns matches the request path.
// A pattern that ends in '*' matches every path it (without the '*') is a
// prefix of; any other pattern matches only the path equal to it. An
// identity without a policy, or a path the policy does not allow, gets 403
// "not authorized: insufficient permissions". /version needs no
// authorisation (but the TLS handshake still needs a certificate).
//
// # API
//
// Routes are declared as data (routeTable): path, methods, body limit,
// timeout and kind of authorisation. /v1/api lists them.
//
//	GET         /version                       {"version","commit"}
//	GET         /v1/status                     server and key-store state
//	GET         /v1/ready                      200 when the key store answers
//	GET         /v1/metrics                    Prometheus text format
//	GET         /v1/api                        [{"method","path","max_body","timeout"}]
//	GET         /v1/identity/self/describe     the caller's identity and policy
//	PUT|POST    /v1/key/create/NAME            200, empty body
//	PUT|POST    /v1/key/generate/NAME          {"context":b64} → {"plaintext":b64,"ciphertext":b64}
//	PUT|POST    /v1/key/decrypt/NAME           {"ciphertext":b64,"context":b64} → {"plaintext":b64}
//	GET         /v1/key/describe/NAME          {"name","algorithm","created_at","created_by"}
//	GET         /v1/key/list/PATTERN           {"names":[...]}
//	DELETE      /v1/key/delete/NAME            200, empty body
//
// Errors are JSON {"message": TEXT} with KES's statuses and texts, which
// KES clients match exactly: 404 "key does not exist", 400 "key already
// exists", 400 "decryption failed: ciphertext is not authentic", 403 "not
// authorized: insufficient permissions". Other failures answer a generic
// text; the detail goes to the log only.
//
// # Differences from KES v0.24
//
//   - The list pattern "abc*" lists the names starting with "abc" (v0.24
//     matches it literally); "abc" and "" are prefixes too, as in v0.24, and
//     "*" lists every key. The whole list is one answer (no continue_at).
//   - /v1/key/list without the trailing slash is the empty pattern (KES
//     redirects to /v1/key/list/, which is where MinIO's client ends up).
//   - Request paths that are not clean (".", "..", "//") are refused with
//     400 rather than redirected.
//   - An oversized body is 413 rather than 400.
//   - Keys are created by the KMS's configured creator, not by the
//     requesting identity: describe reports that creator.
//   - /v1/identity/self/describe answers for identities with a policy too
//     (v0.24 answers 404 "identity does not exist" for every non-admin).
//   - Configuration is checked harder: identities must be 64 hex digits,
//     policy patterns must start with '/' (or be "*") and may hold a '*'
//     only at the end; KES accepts such entries and they never match.
//   - The identity is always the first certificate's. KES takes the first
//     certificate that is no CA's, wherever it is in the chain, which lets
//     a client claim a public key whose private key it does not hold.
//     Chains that KES refuses with 400 (no certificate but CA ones, or
//     two that are not) fail the TLS handshake here.
//   - Not served: key import, encrypt and HMAC, policy and identity
//     management, log streams. They answer 404.
package kes
