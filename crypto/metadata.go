package crypto

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// MetadataPrefix starts every header s3seal stores as backend user
// metadata. Clients must not set or see headers with this prefix (see
// IsReservedHeader).
const MetadataPrefix = "X-Amz-Meta-S3seal-"

// FormatVersion is the version of the backend metadata format that Encode
// writes and DecodeMetadata reads.
const FormatVersion = 1

// The backend metadata headers, in canonical MIME form. doc.go describes
// their values.
const (
	headerVersion    = MetadataPrefix + "Version"
	headerDomain     = MetadataPrefix + "Domain"
	headerKeyID      = MetadataPrefix + "Kms-Key-Id"
	headerSealedDEK  = MetadataPrefix + "Kms-Dek"
	headerContext    = MetadataPrefix + "Kms-Context"
	headerSealedKey  = MetadataPrefix + "Sealed-Key"
	headerMultipart  = MetadataPrefix + "Multipart"
	headerSSECKeyMD5 = MetadataPrefix + "Ssec-Key-Md5"
)

// metadataHeaders lists every header of the format, the version first.
var metadataHeaders = []string{
	headerVersion, headerDomain, headerKeyID, headerSealedDEK, headerContext,
	headerSealedKey, headerMultipart, headerSSECKeyMD5,
}

var b64 = base64.StdEncoding.Strict()

// Metadata is what s3seal stores next to an object's ciphertext, as backend
// user metadata, to decrypt it again.
type Metadata struct {
	Version    int       // format version; set by DecodeMetadata, Encode writes FormatVersion
	Domain     Domain    // DomainKMS, DomainS3 or DomainC
	KeyID      string    // KMS key name (SSE-KMS, SSE-S3), printable ASCII; empty for SSE-C
	SealedDEK  []byte    // KMS ciphertext of the data key (SSE-KMS, SSE-S3)
	Context    []byte    // canonical JSON of the client's KMS context (SSE-KMS with a client context), else nil
	Sealed     SealedKey // the object key; Version 1 implies Algorithm SealAlgorithm
	Multipart  bool      // the object's parts are separate DARE streams under part keys
	SSECKeyMD5 string    // base64 MD5 of the SSE-C key (SSE-C only)
}

// Encode returns m as backend user metadata: header name → printable ASCII
// value, binary fields in standard base64. Empty fields are left out, which
// keeps the headers within S3's 2 KB metadata budget (about 400 bytes for
// SSE-KMS without a context). Encode does not validate m; DecodeMetadata
// rejects inconsistent metadata.
func (m *Metadata) Encode() map[string]string {
	var sealed [len(m.Sealed.IV) + len(m.Sealed.Key)]byte
	copy(sealed[:], m.Sealed.IV[:])
	copy(sealed[len(m.Sealed.IV):], m.Sealed.Key[:])
	h := map[string]string{
		headerVersion:   strconv.Itoa(FormatVersion),
		headerDomain:    string(m.Domain),
		headerSealedKey: b64.EncodeToString(sealed[:]),
	}
	if m.KeyID != "" {
		h[headerKeyID] = m.KeyID
	}
	if len(m.SealedDEK) > 0 {
		h[headerSealedDEK] = b64.EncodeToString(m.SealedDEK)
	}
	if len(m.Context) > 0 {
		h[headerContext] = b64.EncodeToString(m.Context)
	}
	if m.Multipart {
		h[headerMultipart] = "true"
	}
	if m.SSECKeyMD5 != "" {
		h[headerSSECKeyMD5] = m.SSECKeyMD5
	}
	return h
}

// DecodeMetadata reads s3seal metadata through get, which returns a header's
// value or "" (http.Header.Get fits). It returns ErrNotEncrypted when no
// s3seal header is present, ErrUnsupportedVersion for a newer format and
// ErrMalformedMetadata for anything incomplete, undecodable or inconsistent
// with the domain.
func DecodeMetadata(get func(name string) string) (*Metadata, error) {
	version := get(headerVersion)
	if version == "" {
		for _, name := range metadataHeaders[1:] {
			if get(name) != "" {
				return nil, fmt.Errorf("%w: %s without %s", ErrMalformedMetadata, name, headerVersion)
			}
		}
		return nil, ErrNotEncrypted
	}
	if version != strconv.Itoa(FormatVersion) {
		if v, err := strconv.Atoi(version); err == nil && v > FormatVersion {
			return nil, fmt.Errorf("%w: %d", ErrUnsupportedVersion, v)
		}
		return nil, malformed(headerVersion, version)
	}

	m := &Metadata{
		Version:    FormatVersion,
		Domain:     Domain(get(headerDomain)),
		KeyID:      get(headerKeyID),
		SSECKeyMD5: get(headerSSECKeyMD5),
	}
	sealed, err := b64.DecodeString(get(headerSealedKey))
	if err != nil || len(sealed) != len(m.Sealed.IV)+len(m.Sealed.Key) {
		return nil, malformed(headerSealedKey, get(headerSealedKey))
	}
	copy(m.Sealed.IV[:], sealed)
	copy(m.Sealed.Key[:], sealed[len(m.Sealed.IV):])
	m.Sealed.Algorithm = SealAlgorithm

	if m.SealedDEK, err = decodeOptional(headerSealedDEK, get); err != nil {
		return nil, err
	}
	if m.Context, err = decodeOptional(headerContext, get); err != nil {
		return nil, err
	}
	switch v := get(headerMultipart); v {
	case "":
	case "true":
		m.Multipart = true
	default:
		return nil, malformed(headerMultipart, v)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// validate checks that the fields fit the domain.
func (m *Metadata) validate() error {
	switch m.Domain {
	case DomainKMS, DomainS3:
		if !isPrintableASCII(m.KeyID) {
			return malformed(headerKeyID, m.KeyID)
		}
		if len(m.SealedDEK) == 0 {
			return fmt.Errorf("%w: %s missing", ErrMalformedMetadata, headerSealedDEK)
		}
		if m.SSECKeyMD5 != "" {
			return fmt.Errorf("%w: %s with %s", ErrMalformedMetadata, headerSSECKeyMD5, m.Domain)
		}
		if len(m.Context) > 0 {
			var ctx map[string]string
			if m.Domain != DomainKMS || json.Unmarshal(m.Context, &ctx) != nil {
				return fmt.Errorf("%w: %s", ErrMalformedMetadata, headerContext)
			}
		}
	case DomainC:
		if m.KeyID != "" || len(m.SealedDEK) > 0 || len(m.Context) > 0 {
			return fmt.Errorf("%w: KMS fields with %s", ErrMalformedMetadata, m.Domain)
		}
		if md5, err := b64.DecodeString(m.SSECKeyMD5); err != nil || len(md5) != 16 {
			return malformed(headerSSECKeyMD5, m.SSECKeyMD5)
		}
	default:
		return malformed(headerDomain, string(m.Domain))
	}
	return nil
}

func decodeOptional(name string, get func(string) string) ([]byte, error) {
	v := get(name)
	if v == "" {
		return nil, nil
	}
	b, err := b64.DecodeString(v)
	if err != nil || len(b) == 0 {
		return nil, malformed(name, v)
	}
	return b, nil
}

func malformed(name, value string) error {
	const maxShown = 64 // the value may be attacker-sized
	if len(value) > maxShown {
		value = value[:maxShown] + "..."
	}
	return fmt.Errorf("%w: %s: %q", ErrMalformedMetadata, name, value)
}

func isPrintableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

// IsReservedHeader reports whether name, in any case, starts with
// MetadataPrefix: a header s3seal owns, which the gateway strips from
// client requests and from responses.
func IsReservedHeader(name string) bool {
	return len(name) >= len(MetadataPrefix) && strings.EqualFold(name[:len(MetadataPrefix)], MetadataPrefix)
}
