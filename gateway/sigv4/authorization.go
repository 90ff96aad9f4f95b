package sigv4

import (
	"slices"
	"strings"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// credential is the parsed Credential (or X-Amz-Credential) value:
// AKID/YYYYMMDD/REGION/SERVICE/aws4_request. The access key id may itself
// contain '/'.
type credential struct {
	accessKey string
	date      string
	region    string
	service   string
	terminal  string
}

func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/" + c.terminal
}

// parseCredential splits a credential value; ok is false if it does not have
// the five parts.
func parseCredential(s string) (credential, bool) {
	parts := strings.Split(s, "/")
	n := len(parts)
	if n < 5 {
		return credential{}, false
	}
	c := credential{
		accessKey: strings.Join(parts[:n-4], "/"),
		date:      parts[n-4],
		region:    parts[n-3],
		service:   parts[n-2],
		terminal:  parts[n-1],
	}
	if c.accessKey == "" {
		return credential{}, false
	}
	return c, true
}

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	credential    credential
	signedHeaders []string // lower case, sorted
	signature     [32]byte
}

const credentialFormat = `the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`

// headerMalformed is AWS's AuthorizationHeaderMalformed with a detail.
func headerMalformed(detail string) *s3err.Error {
	return s3err.New(s3err.AuthorizationHeaderMalformed, "The authorization header is malformed; %s", detail)
}

// queryMalformed is AWS's AuthorizationQueryParametersError with a detail
// about X-Amz-Credential.
func queryMalformed(detail string) *s3err.Error {
	return s3err.New(s3err.AuthorizationQueryParametersError, "Error parsing the X-Amz-Credential parameter; %s", detail)
}

var errUnsupportedAlgorithm = s3err.New(s3err.InvalidRequest,
	"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")

// parseAuthorization parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex
//
// tolerating the spacing variants clients send (no space after commas,
// several spaces, spaces around components). Errors are *s3err.Error and
// never quote the header or the signature.
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	h = strings.TrimSpace(h)
	alg, rest, _ := strings.Cut(h, " ")
	if alg != signingAlgorithm {
		if strings.HasPrefix(h, signingAlgorithm+"Credential=") { // no space after the algorithm
			rest = h[len(signingAlgorithm):]
		} else {
			return a, errUnsupportedAlgorithm
		}
	}
	var haveCred, haveHeaders, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return a, headerMalformed("the authorization component is malformed; expecting \"name=value\".")
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "Credential":
			if haveCred {
				return a, headerMalformed("the Credential component is repeated.")
			}
			haveCred = true
			c, ok := parseCredential(value)
			if !ok {
				return a, headerMalformed(credentialFormat)
			}
			a.credential = c
		case "SignedHeaders":
			if haveHeaders {
				return a, headerMalformed("the SignedHeaders component is repeated.")
			}
			haveHeaders = true
			hs, ok := parseSignedHeaders(value)
			if !ok {
				return a, headerMalformed("the SignedHeaders component is malformed.")
			}
			a.signedHeaders = hs
		case "Signature":
			if haveSig {
				return a, headerMalformed("the Signature component is repeated.")
			}
			haveSig = true
			if !decodeSignature(value, &a.signature) {
				return a, headerMalformed("the Signature must be 64 hexadecimal characters.")
			}
		default:
			return a, headerMalformed("the authorization component is not one of Credential, SignedHeaders, Signature.")
		}
	}
	if !haveCred || !haveHeaders || !haveSig {
		return a, headerMalformed("the authorization header requires three components: Credential, SignedHeaders, and Signature.")
	}
	return a, nil
}

// parseSignedHeaders parses a SignedHeaders list: lower-cased, sorted,
// without duplicates or empty names.
func parseSignedHeaders(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	hs := strings.Split(strings.ToLower(s), ";")
	for _, h := range hs {
		if h == "" || strings.ContainsAny(h, " \t\r\n:") {
			return nil, false
		}
	}
	slices.Sort(hs)
	if len(slices.Compact(slices.Clone(hs))) != len(hs) {
		return nil, false
	}
	return hs, true
}

// decodeSignature decodes a 64-digit hex signature into sig.
func decodeSignature[T string | []byte](s T, sig *[32]byte) bool {
	if len(s) != 2*len(sig) {
		return false
	}
	for i := range sig {
		hi, lo := unhex(s[2*i]), unhex(s[2*i+1])
		if hi < 0 || lo < 0 {
			return false
		}
		sig[i] = byte(hi<<4 | lo)
	}
	return true
}
