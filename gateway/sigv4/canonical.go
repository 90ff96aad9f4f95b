package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// SigV4 constants, spelled as on the wire.
const (
	signingAlgorithm = "AWS4-HMAC-SHA256"
	chunkAlgorithm   = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"
	scopeTerminator  = "aws4_request"
	iso8601Basic     = "20060102T150405Z"
	scopeDateLayout  = "20060102"

	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSA           = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	streamingECDSATrailer    = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
)

// queryParam is one decoded name=value pair of a query string.
type queryParam struct {
	key, value string
}

// parseQuery splits a raw query string into decoded pairs in wire order.
// Unlike url.ParseQuery it keeps duplicates and order, and reports a bad
// escape instead of dropping the pair, so the canonical query string covers
// exactly what the client sent.
func parseQuery(raw string) ([]queryParam, bool) {
	if raw == "" {
		return nil, true
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, false
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, false
		}
		params = append(params, queryParam{key: key, value: value})
	}
	return params, true
}

// CanonicalQuery returns raw re-encoded the way every later reader of the
// request must see it: each pair decoded exactly as SigV4 decodes it for the
// signature, then encoded by SigV4's rules, in wire order. Decoding the
// result yields the same pairs, so authentication, routing and the request
// forwarded to the backend all see one query. A bad escape or a key that
// appears twice is an *s3err.Error (InvalidArgument): two values for one
// key could be read differently by s3seal and by the backend.
func CanonicalQuery(raw string) (string, error) {
	params, ok := parseQuery(raw)
	if !ok {
		return "", s3err.New(s3err.InvalidArgument, "The query string is not valid URL encoding.")
	}
	if key, dup := duplicateKey(params); dup {
		return "", s3err.New(s3err.InvalidArgument, "The query parameter %q appears more than once.", key)
	}
	var b strings.Builder
	b.Grow(len(raw) + 8)
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(uriEncode(p.key, true))
		b.WriteByte('=')
		b.WriteString(uriEncode(p.value, true))
	}
	return b.String(), nil
}

// duplicateKey reports a key that occurs more than once; a scan for the
// few parameters real requests carry, a set for long queries.
func duplicateKey(params []queryParam) (string, bool) {
	if len(params) <= 16 {
		for i, p := range params {
			for _, q := range params[:i] {
				if q.key == p.key {
					return p.key, true
				}
			}
		}
		return "", false
	}
	seen := make(map[string]struct{}, len(params))
	for _, p := range params {
		if _, dup := seen[p.key]; dup {
			return p.key, true
		}
		seen[p.key] = struct{}{}
	}
	return "", false
}

// uriEncode percent-encodes s the way SigV4 specifies: every byte except the
// unreserved characters A-Z a-z 0-9 - _ . ~ becomes %XX with upper-case hex,
// and '/' is kept when encodeSlash is false (paths).
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) && (encodeSlash || s[i] != '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (!encodeSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// canonicalURIs returns the canonical URI candidates for r: first the path
// exactly as the client escaped it on the wire (what S3 clients sign; S3 does
// not normalise or double-encode), then, if different, the decoded path
// re-encoded by SigV4 rules, for clients whose wire escaping differs from
// their signing escaping (for example a literal '+' or lower-case %xx).
func canonicalURIs(r *http.Request) []string {
	wire := r.URL.EscapedPath()
	if r.URL.Opaque != "" {
		wire = opaquePath(r.URL.Opaque)
	}
	if wire == "" {
		wire = "/"
	}
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	if alt := uriEncode(path, false); alt != wire {
		return []string{wire, alt}
	}
	return []string{wire}
}

// opaquePath extracts the path of an opaque URL ("//host/path").
func opaquePath(opaque string) string {
	opaque = strings.TrimPrefix(opaque, "//")
	if i := strings.IndexByte(opaque, '/'); i >= 0 {
		return opaque[i:]
	}
	return "/"
}

// canonicalQuery returns the SigV4 canonical query string of params, leaving
// out the parameter named skip (X-Amz-Signature for presigned URLs).
func canonicalQuery(params []queryParam, skip string) string {
	enc := make([]queryParam, 0, len(params))
	for _, p := range params {
		if skip != "" && p.key == skip {
			continue
		}
		enc = append(enc, queryParam{key: uriEncode(p.key, true), value: uriEncode(p.value, true)})
	}
	slices.SortFunc(enc, func(a, b queryParam) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// headerValues returns the values of the header named name (lower case) as
// the client sent them. net/http moves some headers out of r.Header; those
// are reconstructed the way clients signed them.
func headerValues(r *http.Request, name string) []string {
	if name == "host" {
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		return []string{host}
	}
	if v, ok := r.Header[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return v
	}
	for k, v := range r.Header { // keys net/http could not canonicalise
		if strings.EqualFold(k, name) {
			return v
		}
	}
	switch name {
	case "content-length":
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
	case "expect":
		// Some servers drop Expect after answering 100-continue; it can only
		// have been this value.
		return []string{"100-continue"}
	}
	return nil
}

// trimHeaderValue trims v and collapses runs of spaces, as SigV4 specifies
// (and as the AWS SDKs implement it).
func trimHeaderValue(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// canonicalRequest builds the SigV4 canonical request. signedHeaders must be
// lower case and sorted.
func canonicalRequest(r *http.Request, uri, query string, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	writeCanonicalHeaders(&b, r, signedHeaders)
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// writeCanonicalHeaders writes "name:value,value\n" for each header name
// (lower case), values trimmed as SigV4 and V2 both specify.
func writeCanonicalHeaders(b *strings.Builder, r *http.Request, names []string) {
	for _, h := range names {
		b.WriteString(h)
		b.WriteByte(':')
		for i, v := range headerValues(r, h) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimHeaderValue(v))
		}
		b.WriteByte('\n')
	}
}

// stringToSign builds the SigV4 string to sign for a canonical request.
func stringToSign(amzDate, scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return signingAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives the SigV4 signing key for a credential scope.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
