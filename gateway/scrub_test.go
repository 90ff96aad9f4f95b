package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/crypto"
)

// listingWithMetadata is a MinIO listing with metadata=true: every entry
// carries <UserMetadata>, here with s3seal's reserved entries in the forms
// backends use (element named after the header, or Key/Value items).
func listingWithMetadata(root, entry string) string {
	size := itoa(crypto.EncryptedSize(5))
	return `<?xml version="1.0" encoding="UTF-8"?>
<` + root + ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>` +
		`<` + entry + `><Key>a</Key><ETag>&#34;0123&#34;</ETag><Size>` + size + `</Size>` +
		`<UserMetadata><X-Amz-Meta-S3seal-Version>1</X-Amz-Meta-S3seal-Version><content-type>text/plain</content-type>` +
		`<X-Amz-Meta-S3seal-Kms-Dek>c2VhbGVkIERFSw==</X-Amz-Meta-S3seal-Kms-Dek><X-Amz-Meta-Color>blue</X-Amz-Meta-Color>` +
		`<x-amz-meta-s3seal-sealed-key>U0VBTEVE</x-amz-meta-s3seal-sealed-key><X-Amz-Meta-S3seal-Kms-Key-Id>secret-key-name</X-Amz-Meta-S3seal-Kms-Key-Id>` +
		`<X-Amz-Meta-S3seal-Ssec-Key-Md5>bWQ1</X-Amz-Meta-S3seal-Ssec-Key-Md5></UserMetadata></` + entry + `>` +
		`<` + entry + `><Key>b</Key><ETag>&#34;4567&#34;</ETag><Size>` + size + `</Size>` +
		`<UserMetadata><Items><Key>s3seal-kms-key-id</Key><Value>secret-key-name</Value></Items>` +
		`<Items><Key>X-Amz-Meta-S3seal-Sealed-Key</Key><Value>U0VBTEVE</Value></Items>` +
		`<Items><Key>X-Amz-Meta-Shape</Key><Value>round</Value></Items></UserMetadata></` + entry + `>` +
		`</` + root + `>`
}

// TestListingsNeverCarryReservedMetadata lists with MinIO's metadata=true
// extension: the sealed key, sealed data key, key id and SSE-C key MD5 in
// <UserMetadata> must not reach the client; other metadata must.
func TestListingsNeverCarryReservedMetadata(t *testing.T) {
	tests := []struct {
		name, target, root, entry string
		plaintextBucket           bool
	}{
		{"ListObjectsV2", "/bkt?list-type=2&metadata=true", "ListBucketResult", "Contents", false},
		{"ListObjects V1", "/bkt?metadata=true", "ListBucketResult", "Contents", false},
		{"ListObjectVersions", "/bkt?versions&metadata=true", "ListVersionsResult", "Version", false},
		{"ListObjectsV2 of a plaintext bucket", "/bkt?list-type=2&metadata=true", "ListBucketResult", "Contents", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backend := &storeBackend{listing: listingWithMetadata(tc.root, tc.entry)}
			s := newStoreServer(t, backend, func(c *Config) {
				if tc.plaintextBucket {
					c.PlaintextBuckets = []string{"bkt"}
				}
			})
			w := serveSigned(t, s, http.MethodGet, tc.target, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", w.Code, w.Body.String())
			}
			body := w.Body.String()
			for _, leak := range []string{"s3seal-", "S3seal-", "secret-key-name", "U0VBTEVE", "c2VhbGVkIERFSw==", "bWQ1"} {
				if strings.Contains(body, leak) {
					t.Errorf("listing contains %q:\n%s", leak, body)
				}
			}
			for _, keep := range []string{"<X-Amz-Meta-Color>blue</X-Amz-Meta-Color>", "<content-type>text/plain</content-type>", "<Items><Key>X-Amz-Meta-Shape</Key><Value>round</Value></Items>", "<Key>a</Key>", "<Key>b</Key>"} {
				if !strings.Contains(body, keep) {
					t.Errorf("listing lost %s:\n%s", keep, body)
				}
			}
			if !tc.plaintextBucket && !strings.Contains(body, "<Size>5</Size>") {
				t.Errorf("listing lacks plaintext sizes:\n%s", body)
			}
		})
	}
}

func TestScrubUserMetadata(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no metadata", `<Contents><Key>k</Key></Contents>`, `<Contents><Key>k</Key></Contents>`},
		{"empty", `<UserMetadata></UserMetadata>`, `<UserMetadata></UserMetadata>`},
		{"self-closing reserved element", `<UserMetadata><X-Amz-Meta-S3seal-Multipart/><a>1</a></UserMetadata>`, `<UserMetadata><a>1</a></UserMetadata>`},
		{"nested reserved key", `<UserMetadata><Items><Key>x-amz-meta-s3seal-version</Key><Value>1</Value></Items></UserMetadata>`, `<UserMetadata></UserMetadata>`},
		{"malformed block is dropped whole", `<Contents><UserMetadata><X-Amz-Meta-S3seal-Kms-Dek>x</Wrong></UserMetadata></Contents>`, `<Contents></Contents>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(scrubUserMetadata([]byte(tc.in))); got != tc.want {
				t.Errorf("scrubUserMetadata(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzScrubUserMetadata(f *testing.F) {
	f.Add([]byte(listingWithMetadata("ListBucketResult", "Contents")))
	f.Add([]byte(`<UserMetadata><X-Amz-Meta-S3seal-A>&lt;</X-Amz-Meta-S3seal-A><![CDATA[x-amz-meta-s3seal-]]></UserMetadata>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out := scrubUserMetadata(body)
		for _, block := range userMetadataPattern.FindAll(out, -1) {
			lower := strings.ToLower(string(block))
			for _, reserved := range []string{"<x-amz-meta-s3seal-", "<key>s3seal-", "<key>x-amz-meta-s3seal-"} {
				if strings.Contains(lower, reserved) {
					t.Fatalf("reserved metadata survived: %s", block)
				}
			}
		}
	})
}

func TestContainsFold(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"<Key>S3SEAL-x</Key>", true}, {"x-amz-meta-s3seal-kms", true}, {"s3seal", false}, {"", false}, {"s3seal\r", false},
	} {
		if got := containsFold([]byte(tc.in), "s3seal-"); got != tc.want {
			t.Errorf("containsFold(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
