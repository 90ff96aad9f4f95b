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
// body; secrets from root, the configuration file's users or the IAM
// store of the admin API (admin_iam.go and its siblings), or of temporary
// credentials from their sealed session token, sts.go; unsigned requests
// to S3 routes are anonymous) → authorise (authz.go: the operation's
// actions against the caller's identity and session policies and the
// bucket's policy, package policy; anonymous callers by the bucket's
// policy alone) → handler → backend request (signBackendV4, UNSIGNED-PAYLOAD) →
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
//     from clients): bucket encryption configurations, multipart upload keys,
//     part records, multipart layouts and checksum records, bucket policies
//     (enforced by s3seal, never given to the backend), the IAM state of
//     the admin API (iam.go: users, access keys, groups, policies and
//     their mappings, one record written by compare-and-swap), the keys
//     that authenticate the listing index and seal STS session tokens, each an object
//     encrypted like user data under the default key and sealed to its
//     name, so backend access can neither read, alter nor move one; and the
//     listing index, empty objects whose authenticated names carry plaintext
//     sizes and encrypted client ETags.
//
// ETags are what AWS shows: a single-part SSE-S3 object's ETag is the MD5 of
// its plaintext; a multipart object's is S3's MD5 of its part ETags, "-N"
// (parts.go: a part's ETag depends on its plaintext only, its MD5 for
// SSE-S3, a MAC of the MD5 under the upload's key otherwise, so a part
// re-uploaded with the same bytes keeps its ETag), kept in the layout and
// the listing index; every other object's is the backend's ETag of its
// ciphertext; the same in the write's answer, HEAD, GET,
// GetObjectAttributes and listings. The MD5 is never stored in clear: it is
// sealed under the object key into the object's metadata when known before
// the backend PUT (listings read it there on a backend that lists object
// metadata, listmeta.go), else encrypted into the object's listing-index entry
// (etag.go, index.go). Conditional requests with an ETag are evaluated by
// the gateway against the ETag the client saw and pinned to the backend
// ETag of that version. Config.DisableMD5ETags turns off the MD5 of
// single-part objects (their ETag is then the backend's); multipart ETags
// stay S3's.
//
// Checksums (checksum.go) describe plaintext and are kept sealed: a header
// checksum in the object's metadata, a trailing one or a copy's in a
// checksum record (trailing.go, copychecksum.go), part checksums in part
// records, a multipart object's (COMPOSITE or FULL_OBJECT, combined from
// the parts) in its layout.
//
// The gateway keeps only caches: bucket encryption configurations and
// bucket policies (Config.BucketConfigTTL), multipart layouts (immutable),
// upload keys, and the IAM state (checked with one HEAD every
// Config.IAMRefreshInterval, 2 s; a replica's own changes apply at once).
// Temporary credentials live in their session tokens. Any number of
// replicas over one backend and one KMS behave as one.
package gateway
