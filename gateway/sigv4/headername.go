package sigv4

import "strings"

// LowerHeaderName returns name in lower case, as SigV4's canonical headers
// and s3seal's header lists spell it. For the header names S3 clients and
// servers commonly send (in Go's canonical form) it returns a constant
// instead of allocating: a small request walks its headers several times.
func LowerHeaderName(name string) string {
	if lower, ok := lowerNames[name]; ok {
		return lower
	}
	return strings.ToLower(name)
}

// lowerNames maps the canonical form of common header names to their lower
// case. It is fixed at init: names a client invents are never added.
var lowerNames = func() map[string]string {
	names := []string{
		// Requests.
		"Accept-Encoding", "Amz-Sdk-Invocation-Id", "Amz-Sdk-Request", "Authorization",
		"Content-Encoding", "Content-Length", "Content-Md5", "Content-Type", "Expect",
		"Host", "If-Match", "If-None-Match", "Range", "User-Agent",
		"X-Amz-Checksum-Crc32", "X-Amz-Checksum-Crc32c", "X-Amz-Checksum-Crc64nvme",
		"X-Amz-Checksum-Sha1", "X-Amz-Checksum-Sha256", "X-Amz-Checksum-Algorithm",
		"X-Amz-Checksum-Mode", "X-Amz-Checksum-Type",
		"X-Amz-Content-Sha256", "X-Amz-Date", "X-Amz-Decoded-Content-Length",
		"X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Security-Token", "X-Amz-Trailer", "X-Amz-User-Agent",
		"X-Amz-Server-Side-Encryption", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id",
		"X-Amz-Server-Side-Encryption-Context",
		"X-Amz-Server-Side-Encryption-Customer-Algorithm",
		"X-Amz-Server-Side-Encryption-Customer-Key",
		"X-Amz-Server-Side-Encryption-Customer-Key-Md5",
		// Responses.
		"Accept-Ranges", "Cache-Control", "Content-Disposition", "Content-Language",
		"Content-Range", "Date", "Etag", "Expires", "Last-Modified", "Server",
		"Strict-Transport-Security", "Vary", "X-Amz-Id-2", "X-Amz-Request-Id",
		"X-Amz-Version-Id", "X-Amz-Mp-Parts-Count", "X-Amz-Tagging-Count",
		"X-Content-Type-Options", "X-Ratelimit-Limit", "X-Ratelimit-Remaining",
		"X-Xss-Protection",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = strings.ToLower(n)
	}
	return m
}()
