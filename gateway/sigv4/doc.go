// Package sigv4 authenticates S3 requests signed with AWS Signature
// Version 4 and verifies their payloads as they stream through.
//
// A Verifier authenticates a request once, at the gateway's edge; handlers
// then read the verified payload from Result.Payload.Body (also installed as
// r.Body). Nothing that authenticated the client, and none of the client's
// integrity headers, is forwarded: the gateway re-signs backend requests
// with its own credentials and writes ciphertext, so the client's plaintext
// checksums and Content-MD5 are checked here and recorded in the Payload.
//
// # Authentication
//
// A request carries either an Authorization header,
//
//	AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/s3/aws4_request, SignedHeaders=host;..., Signature=HEX
//
// (with or without spaces after the commas), or the presigned-URL
// parameters X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires
// (1 to 604800 seconds), X-Amz-SignedHeaders and X-Amz-Signature. Verify
// refuses requests without either; IsAnonymous recognises them and
// VerifyAnonymous prepares their payloads for a caller that authorises
// them (against bucket policies). Verify checks the credential scope (service s3,
// terminal aws4_request, the configured region or the empty region that
// mc admin signs for), the request time (X-Amz-Date, else Date) against
// Verifier.MaxSkew, presigned expiry, that host is signed, the access key,
// and the signature. It then refuses x-amz-* headers that are not signed,
// as S3 does, so nothing can be slipped into a signed request.
//
// Temporary credentials carry X-Amz-Security-Token (a signed header, or a
// query parameter of a V4 request); Verifier.SessionSecret resolves the
// access key and token to the secret, and Result.SessionToken hands the
// token on. A token is never forwarded: it is stripped from the headers
// and the query like every other authentication parameter.
//
// The canonical request follows the AWS specification as S3 applies it. The
// canonical URI is the path exactly as the client escaped it on the wire:
// S3 neither normalises paths ("//", "..") nor double-encodes them. Clients
// whose wire escaping differs from their signing escaping (a literal '$' or
// '+' in the path) are matched by also trying the decoded path re-encoded
// with the SigV4 rules. The canonical query string is every parameter
// (minus X-Amz-Signature for presigned URLs) decoded, re-encoded with
// A-Z a-z 0-9 - _ . ~ unreserved and space as %20, and sorted by name then
// value. Header values are trimmed, runs of spaces collapsed, repeated
// headers joined with commas; host is r.Host.
//
// # Payloads
//
// x-amz-content-sha256 (or, for presigned URLs, X-Amz-Content-Sha256 in the
// query, defaulting to UNSIGNED-PAYLOAD) says how the body is protected:
//
//   - a hex SHA-256: the body is hashed as it streams and must match.
//   - UNSIGNED-PAYLOAD: the body is passed through as is.
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked framing,
//     "HEX-SIZE;chunk-signature=SIG\r\nDATA\r\n" repeated and ended by a
//     zero-length chunk. Each chunk's signature chains from the previous
//     one (the seed is the request signature) over
//     "AWS4-HMAC-SHA256-PAYLOAD\nDATE\nSCOPE\nPREV\nSHA256("")\nSHA256(DATA)".
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: signed chunks, then the
//     trailing headers named by x-amz-trailer and
//     "x-amz-trailer-signature:SIG" over
//     "AWS4-HMAC-SHA256-TRAILER\nDATE\nSCOPE\nPREV\nSHA256(TRAILERS)", where
//     TRAILERS is each trailing header as "name:value\n".
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: chunks without signatures, then
//     the trailing headers.
//
// aws-chunked bodies need x-amz-decoded-content-length (else
// MissingContentLength) and are recognised with or without
// Content-Encoding: aws-chunked. Signed chunks are buffered whole, in pooled
// buffers of at most Verifier.MaxChunkSize, and released only after their
// signature is verified.
//
// Flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256; base64 of the
// big-endian digest) are accepted as an x-amz-checksum-<algorithm> header
// with any payload, or as the trailer of an aws-chunked body, and are
// verified over the decoded payload, as is Content-MD5.
//
// # The fail-closed rule
//
// Downstream, the payload is streamed to a backend with a fixed
// Content-Length: the backend commits the object when it receives the last
// byte. So Payload.Body never returns the final byte of a payload before
// every check on it has passed: the body hash, every chunk signature, the
// final chunk, the trailer and its signature, the flexible checksum and
// Content-MD5. The Read that would hand out the last bytes first reads and
// verifies whatever follows them; if anything fails it returns the error
// instead of the bytes. A body of unknown length is held back by one byte
// until its end has been seen and verified. Every error from Body.Read is an
// *s3err.Error and is sticky; a client connection that fails or ends early
// is IncompleteBody.
//
// # Errors
//
// Verify and Body.Read return *s3err.Error values with S3's codes: missing
// authentication and unsigned x-amz-* headers are AccessDenied; a malformed
// header or wrong scope AuthorizationHeaderMalformed (presigned:
// AuthorizationQueryParametersError); an unknown key InvalidAccessKeyId; a
// wrong signature (request, chunk or trailer) SignatureDoesNotMatch; a bad
// time RequestTimeTooSkewed, or AccessDenied for presigned URLs not yet
// valid or expired; a body hash mismatch XAmzContentSHA256Mismatch; a
// checksum or Content-MD5 mismatch BadDigest ("The CRC32 you specified did
// not match the calculated checksum."); an undecodable checksum
// InvalidRequest, an undecodable Content-MD5 InvalidDigest; a short body
// IncompleteBody. Messages may name the access key id but never contain a
// secret, a signature or the Authorization header.
//
// Requests whose body size must be known (PutObject, UploadPart) call
// Payload.RequireSize, which answers MissingContentLength for bodies sent
// without a length.
package sigv4
