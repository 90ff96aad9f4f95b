// Package gateway is s3seal's S3 HTTP API: it authenticates clients (SigV4,
// package sigv4), routes each S3 operation (one named gorilla/mux route per
// operation; the name is the log and metrics label), encrypts object data on
// its way to the backend and decrypts it on the way out, and passes the
// other operations it knows through, re-signed with the backend's
// credentials and carrying only what each operation defines; anything else
// is refused.
//
// Request path: idle deadlines (deadline.go) → canonical query
// (sigv4.CanonicalQuery, read by every later step) → route (MinIO's
// precedence) → authenticate (the verified, decoded payload replaces the
// body) → handler → backend request (signBackendV4, UNSIGNED-PAYLOAD) →
// response relay or decryption. Handlers return errors; one adapter writes
// them as S3 XML (admin routes: JSON).
//
// Reads fail closed: an object without s3seal metadata in an encrypted
// bucket is refused (unsealed.go) unless the operator listed the bucket in
// Config.LegacyPlaintextReadBuckets, for as long as `s3seal
// encrypt-existing` takes to encrypt such objects in place (multipart
// uploads of part copies from the object, completed with If-Match). No reserved metadata leaves the
// gateway: response headers drop it and listings are scrubbed (scrub.go).
//
// What lives where on the backend:
//
//   - object data: DARE ciphertext; the sealed object key and the KMS key id
//     in X-Amz-Meta-S3seal-* metadata (package crypto documents the format);
//   - the system bucket (Config.SystemBucket, default s3seal-system, hidden
//     from clients): bucket encryption configurations, multipart upload keys
//     and multipart layouts, each an object encrypted like user data under
//     the default key and sealed to its name, so backend access can neither
//     read, alter nor move one; and the listing index, empty objects whose
//     authenticated names carry plaintext sizes and encrypted client ETags.
//
// ETags are what AWS shows: a single-part SSE-S3 object's ETag is the MD5 of
// its plaintext, every other object's the backend's ETag of its ciphertext,
// the same in the PUT answer, HEAD, GET, GetObjectAttributes and listings.
// The MD5 is never stored in clear: it is sealed under the object key into
// the object's metadata when known before the backend PUT, else encrypted
// into the object's listing-index entry (etag.go, index.go). Conditional
// requests are then evaluated by the gateway against the ETag the client
// saw and pinned to the backend ETag of that version; with
// Config.DisableMD5ETags every ETag is the backend's and the backend
// evaluates conditions.
//
// The gateway keeps only caches: bucket encryption configurations
// (Config.BucketConfigTTL), multipart layouts (immutable) and upload keys.
// Any number of replicas over one backend and one KMS behave as one.
package gateway
