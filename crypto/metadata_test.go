package crypto

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func testMetadata() map[string]*Metadata {
	var sealed SealedKey
	_, _ = (&countingRand{}).Read(sealed.IV[:])
	_, _ = (&countingRand{next: 0x20}).Read(sealed.Key[:])
	sealed.Algorithm = SealAlgorithm
	dek := bytes.Repeat([]byte{0xd5}, 76) // the size of a KES ciphertext
	return map[string]*Metadata{
		"SSE-KMS": {Version: 1, Domain: DomainKMS, KeyID: "my-key", SealedDEK: dek, Sealed: sealed},
		"SSE-KMS with a client context": {Version: 1, Domain: DomainKMS, KeyID: "my-key", SealedDEK: dek,
			Context: []byte(`{"project":"x"}`), Sealed: sealed},
		"SSE-KMS multipart": {Version: 1, Domain: DomainKMS, KeyID: "my-key", SealedDEK: dek, Sealed: sealed, Multipart: true},
		"SSE-S3":            {Version: 1, Domain: DomainS3, KeyID: "default_key-1", SealedDEK: dek, Sealed: sealed},
		"SSE-C":             {Version: 1, Domain: DomainC, SSECKeyMD5: "zZB9h2+oYPQmDXy4cCtB1g==", Sealed: sealed},
		"SSE-C multipart":   {Version: 1, Domain: DomainC, SSECKeyMD5: "zZB9h2+oYPQmDXy4cCtB1g==", Sealed: sealed, Multipart: true},
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	for name, m := range testMetadata() {
		t.Run(name, func(t *testing.T) {
			encoded := m.Encode()
			var size int
			for k, v := range encoded {
				if !IsReservedHeader(k) {
					t.Errorf("header %q lacks the reserved prefix", k)
				}
				if k != http.CanonicalHeaderKey(k) {
					t.Errorf("header %q is not in canonical form", k)
				}
				if v != "" && !isPrintableASCII(strings.ReplaceAll(v, " ", "")) {
					t.Errorf("header %s = %q is not printable ASCII", k, v)
				}
				size += len(strings.TrimPrefix(k, "X-Amz-Meta-")) + len(v)
			}
			if size > 512 {
				t.Errorf("metadata takes %d bytes of the 2 KB budget, want at most 512", size)
			}
			// Through an http.Header, as the gateway reads it from the backend.
			h := http.Header{}
			for k, v := range encoded {
				h.Set(strings.ToLower(k), v)
			}
			got, err := DecodeMetadata(h.Get)
			if err != nil {
				t.Fatalf("DecodeMetadata: %v", err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("decoded %+v\nwant    %+v", got, m)
			}
		})
	}
}

func TestDecodeMetadataRejects(t *testing.T) {
	base := testMetadata()["SSE-KMS"].Encode()
	ssec := testMetadata()["SSE-C"].Encode()
	with := func(h map[string]string, name, value string) map[string]string {
		h = maps.Clone(h)
		if value == "" {
			delete(h, name)
		} else {
			h[name] = value
		}
		return h
	}
	tests := []struct {
		name    string
		headers map[string]string
		want    error
	}{
		{"no s3seal headers", map[string]string{"X-Amz-Meta-Other": "1"}, ErrNotEncrypted},
		{"headers without a version", with(base, headerVersion, ""), ErrMalformedMetadata},
		{"newer version", with(base, headerVersion, "2"), ErrUnsupportedVersion},
		{"version zero", with(base, headerVersion, "0"), ErrMalformedMetadata},
		{"version with a sign", with(base, headerVersion, "+1"), ErrMalformedMetadata},
		{"version not a number", with(base, headerVersion, "one"), ErrMalformedMetadata},
		{"unknown domain", with(base, headerDomain, "SSE-X"), ErrMalformedMetadata},
		{"missing domain", with(base, headerDomain, ""), ErrMalformedMetadata},
		{"missing sealed key", with(base, headerSealedKey, ""), ErrMalformedMetadata},
		{"sealed key too short", with(base, headerSealedKey, "AAAA"), ErrMalformedMetadata},
		{"sealed key not base64", with(base, headerSealedKey, strings.Repeat("!", 128)), ErrMalformedMetadata},
		{"KMS without key id", with(base, headerKeyID, ""), ErrMalformedMetadata},
		{"key id with a space", with(base, headerKeyID, "my key"), ErrMalformedMetadata},
		{"key id not ASCII", with(base, headerKeyID, "schlüssel"), ErrMalformedMetadata},
		{"KMS without data key", with(base, headerSealedDEK, ""), ErrMalformedMetadata},
		{"data key not base64", with(base, headerSealedDEK, "%%%"), ErrMalformedMetadata},
		{"KMS with an SSE-C key MD5", with(base, headerSSECKeyMD5, "zZB9h2+oYPQmDXy4cCtB1g=="), ErrMalformedMetadata},
		{"context not JSON", with(base, headerContext, "bm90IGpzb24="), ErrMalformedMetadata},
		{"context with a non-string value", with(base, headerContext, "eyJhIjoxfQ=="), ErrMalformedMetadata},
		{"context with SSE-S3", with(with(base, headerDomain, "SSE-S3"), headerContext, "e30="), ErrMalformedMetadata},
		{"multipart not true", with(base, headerMultipart, "yes"), ErrMalformedMetadata},
		{"SSE-C without key MD5", with(ssec, headerSSECKeyMD5, ""), ErrMalformedMetadata},
		{"SSE-C key MD5 of the wrong size", with(ssec, headerSSECKeyMD5, "AAAA"), ErrMalformedMetadata},
		{"SSE-C key MD5 with non-canonical padding bits", with(ssec, headerSSECKeyMD5, "zZB9h2+oYPQmDXy4cCtB1h=="), ErrMalformedMetadata},
		{"SSE-C with a KMS key id", with(ssec, headerKeyID, "my-key"), ErrMalformedMetadata},
		{"SSE-C with a data key", with(ssec, headerSealedDEK, "AAAA"), ErrMalformedMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMetadata(func(name string) string { return tt.headers[name] })
			if !errors.Is(err, tt.want) || got != nil {
				t.Errorf("DecodeMetadata = %+v, %v; want nil, %v", got, err, tt.want)
			}
		})
	}
}

func TestIsReservedHeader(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"X-Amz-Meta-S3seal-Version", true},
		{"x-amz-meta-s3seal-anything", true},
		{"X-AMZ-META-S3SEAL-", true},
		{"X-Amz-Meta-S3seal", false},
		{"X-Amz-Meta-S3sealed", false},
		{"X-Amz-Meta-Other", false},
		{"X-Amz-Server-Side-Encryption", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsReservedHeader(tt.name); got != tt.want {
				t.Errorf("IsReservedHeader(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func FuzzDecodeMetadata(f *testing.F) {
	for _, m := range testMetadata() {
		h := m.Encode()
		f.Add(h[headerVersion], h[headerDomain], h[headerKeyID], h[headerSealedDEK], h[headerContext],
			h[headerSealedKey], h[headerMultipart], h[headerSSECKeyMD5])
	}
	f.Fuzz(func(t *testing.T, version, domain, keyID, dek, context, sealed, multipart, md5 string) {
		h := map[string]string{
			headerVersion: version, headerDomain: domain, headerKeyID: keyID, headerSealedDEK: dek,
			headerContext: context, headerSealedKey: sealed, headerMultipart: multipart, headerSSECKeyMD5: md5,
		}
		m, err := DecodeMetadata(func(name string) string { return h[name] })
		if err != nil {
			if m != nil {
				t.Fatalf("DecodeMetadata returned %+v with error %v", m, err)
			}
			if !errors.Is(err, ErrNotEncrypted) && !errors.Is(err, ErrUnsupportedVersion) && !errors.Is(err, ErrMalformedMetadata) {
				t.Fatalf("error %v is not a sentinel", err)
			}
			return
		}
		// Whatever decodes re-encodes to the same headers.
		again, err := DecodeMetadata(func(name string) string { return m.Encode()[name] })
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-decoding %+v gave %+v, %v", m, again, err)
		}
	})
}
