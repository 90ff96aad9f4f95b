package gateway

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/crypto"
)

// listingFixture stores objects of every kind and returns their plaintext
// sizes by key.
func listingFixture(g *testGateway) map[string]int64 {
	const pkg = crypto.PackageSize
	g.be.MinPartSize = 1
	want := map[string]int64{}
	for key, n := range map[string]int{"a/empty": 0, "a/one": 1, "a/b/pkg+1": pkg + 1, "c d+e": 100, "z/ssec": 5} {
		header := []string(nil)
		if key == "z/ssec" {
			header = ssecHeaders("", ssecKey)
		}
		g.put(testBucket, key, testData(n), header...)
		want[key] = int64(n)
	}
	g.multipartPut(testBucket, "a/mp-aligned", splitParts(testData(2*pkg+3), pkg, pkg, 3))
	want["a/mp-aligned"] = 2*pkg + 3
	g.multipartPut(testBucket, "a/mp-ragged", splitParts(testData(pkg+20), pkg+1, 19))
	want["a/mp-ragged"] = pkg + 20
	g.multipartPut(testBucket, "m/ragged", splitParts(testData(300), 100, 100, 100))
	want["m/ragged"] = 300
	// An object stored before s3seal lists as stored.
	g.be.buckets[testBucket]["legacy"] = &memObject{body: []byte("legacy"), header: http.Header{}, etag: quotedMD5([]byte("legacy"))}
	want["legacy"] = 6
	return want
}

func TestListingsShowPlaintextSizes(t *testing.T) {
	g := newTestGateway(t, nil)
	want := listingFixture(g)
	tests := []struct {
		name, query string
		wantKeys    []string // nil: every key of want
	}{
		{"ListObjects V1", "", nil},
		{"ListObjects V2", "list-type=2", nil},
		{"ListObjectVersions", "versions", nil},
		{"V2 with URL-encoded keys", "list-type=2&encoding-type=url", nil},
		{"V2 with a prefix", "list-type=2&prefix=a/", []string{"a/empty", "a/one", "a/b/pkg+1", "a/mp-aligned", "a/mp-ragged"}},
		{"V2 with a delimiter", "list-type=2&prefix=a/&delimiter=/", []string{"a/empty", "a/one", "a/mp-aligned", "a/mp-ragged"}},
		{"V1 with a marker", "marker=a/one", []string{"c d+e", "legacy", "m/ragged", "z/ssec"}},
		{"V2 starting after a ragged object", "list-type=2&start-after=a/mp-aligned", []string{"a/mp-ragged", "a/one", "c d+e", "legacy", "m/ragged", "z/ssec"}},
		{"V2 one key per page", "list-type=2&max-keys=1&start-after=a/mp-aligned", []string{"a/mp-ragged"}},
		{"versions with a prefix", "versions&prefix=m/", []string{"m/ragged"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := g.listedSizes(testBucket, tc.query)
			keys := tc.wantKeys
			if keys == nil {
				for k := range want {
					keys = append(keys, k)
				}
			}
			if len(got) != len(keys) {
				t.Errorf("listed %d keys %v, want %d %v", len(got), got, len(keys), keys)
			}
			for _, k := range keys {
				if n, ok := got[k]; !ok || n != want[k] {
					t.Errorf("%s listed with size %d (present %v), want %d", k, n, ok, want[k])
				}
			}
		})
	}
}

func TestListingPagesCostAtMostOneIndexLookup(t *testing.T) {
	tests := []struct {
		query       string
		md5ETagsOff bool
		noMetadata  bool // a backend without metadata listings
		wantLookups int
	}{
		{"list-type=2", false, false, 1},                 // ragged multipart objects on the page
		{"list-type=2&prefix=c", false, false, 0},        // single-part objects: client ETags from metadata
		{"list-type=2&prefix=c", false, true, 1},         // ... or from the index
		{"prefix=c", false, true, 1},                     // V1 ... from the index
		{"list-type=2&prefix=c", true, false, 0},         // no multipart object, no MD5 ETags
		{"list-type=2&prefix=a/mp-a", true, false, 1},    // an aligned one still checks the index
		{"list-type=2&prefix=nothing/", false, false, 0}, // an empty page
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s md5 ETags off %v without metadata listings %v", tc.query, tc.md5ETagsOff, tc.noMetadata), func(t *testing.T) {
			g := newTestGateway(t, func(c *Config) { c.DisableMD5ETags = tc.md5ETagsOff })
			if tc.noMetadata {
				g.be.NoListingMetadata = true
				g.s.records.listsMetadata.Store(false)
			}
			listingFixture(g)
			g.be.forget()
			g.listedSizes(testBucket, tc.query)
			lookups := 0
			for _, c := range g.be.calls() {
				if c.Bucket == g.s.cfg.SystemBucket {
					lookups++
				}
			}
			if lookups != tc.wantLookups {
				t.Errorf("%d system-bucket requests, want %d", lookups, tc.wantLookups)
			}
		})
	}
}

func TestForgedIndexEntriesAreIgnored(t *testing.T) {
	g := newTestGateway(t, nil)
	g.be.MinPartSize = 1
	g.multipartPut(testBucket, "mp", splitParts(testData(300), 100, 100, 100))
	entries := g.recordKeys(indexPrefix)
	if len(entries) != 1 {
		t.Fatalf("index entries %q, want one", entries)
	}
	// Backend access can add entries, not forge their MAC: another size
	// under a made-up MAC, listed after the genuine entry, must not count.
	forged := strings.Replace(entries[0], "/300/", "/301/", 1)
	forged = forged[:strings.LastIndex(forged, "/")+1] + strings.Repeat("0", 32)
	g.be.buckets[g.s.cfg.SystemBucket][forged] = &memObject{header: http.Header{}, etag: quotedMD5(nil)}
	if got := g.listedSizes(testBucket, "list-type=2")["mp"]; got != 300 {
		t.Errorf("listed size %d with a forged index entry beside the genuine one, want 300", got)
	}
}

func TestListingHidesTheSystemBucket(t *testing.T) {
	g := newTestGateway(t, nil)
	res := g.do(http.MethodGet, "/", nil)
	if res.status != http.StatusOK {
		t.Fatalf("ListBuckets: %v", res)
	}
	if bytes.Contains(res.body, []byte(g.s.cfg.SystemBucket)) {
		t.Errorf("ListBuckets shows the system bucket: %s", res.body)
	}
	if !bytes.Contains(res.body, []byte("<Name>"+testBucket+"</Name>")) {
		t.Errorf("ListBuckets lacks %s: %s", testBucket, res.body)
	}
	for _, target := range []string{"/" + g.s.cfg.SystemBucket + "?list-type=2", objectTarget(g.s.cfg.SystemBucket, indexKeyRecord, "")} {
		if res := g.do(http.MethodGet, target, nil); res.status != http.StatusForbidden || res.code() != "AccessDenied" {
			t.Errorf("GET %s: %v, want 403 AccessDenied", target, res)
		}
	}
}

func TestListingsOfPlaintextBucketsPassThrough(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.PlaintextBuckets = []string{plaintextBucket} })
	g.be.buckets[plaintextBucket] = map[string]*memObject{}
	// A size that also is a valid DARE ciphertext size must not change.
	n := int(crypto.EncryptedSize(10))
	g.put(plaintextBucket, "k", testData(n))
	if got := g.listedSizes(plaintextBucket, "list-type=2")["k"]; got != int64(n) {
		t.Errorf("listed size %d, want the stored %d", got, n)
	}
}

func TestListingFindsSizesBehindManyIndexEntries(t *testing.T) {
	g := newTestGateway(t, nil)
	g.be.MinPartSize = 1
	g.multipartPut(testBucket, "a-mp", splitParts(testData(300), 100, 100, 100))
	g.multipartPut(testBucket, "z-mp", splitParts(testData(500), 100, 400))
	// More entries between the two than the listing scans before it looks
	// objects up one by one (they need not verify to be in the way).
	for i := range 2*1000 + 10 {
		name := fmt.Sprintf("%s%s/m/%05d/etag-2/1/%032d", indexPrefix, testBucket, i, 0)
		g.be.buckets[g.s.cfg.SystemBucket][name] = &memObject{header: http.Header{}, etag: quotedMD5(nil)}
	}
	got := g.listedSizes(testBucket, "list-type=2")
	if got["a-mp"] != 300 || got["z-mp"] != 500 {
		t.Errorf("listed sizes a-mp %d, z-mp %d, want 300 and 500", got["a-mp"], got["z-mp"])
	}
}

func TestListingSizesOfKeysTooLongForAnIndexEntry(t *testing.T) {
	g := newTestGateway(t, nil)
	g.be.MinPartSize = 1
	key := strings.Repeat("k", 1000) // the index entry name would pass 1024 bytes
	g.multipartPut(testBucket, key, splitParts(testData(300), 100, 200))
	if entries := g.recordKeys(indexPrefix); len(entries) != 0 {
		t.Fatalf("index entries %q for a key too long to have one", entries)
	}
	if got := g.listedSizes(testBucket, "list-type=2")[key]; got != 300 {
		t.Errorf("listed size %d, want 300 from the layout record", got)
	}
}

// TestListingSizesWhenVersionsShowAnotherETag: a store that shows a
// multipart object's ETag in ListObjectVersions differently from HEAD and
// ListObjectsV2 (SeaweedFS: "…-N" there, another form in HEAD, which is
// what s3seal indexed) still lists plaintext sizes: the entry is looked up
// under the ETag a HEAD shows, never sized by DARE arithmetic, which is
// wrong for ragged multipart objects.
func TestListingSizesWhenVersionsShowAnotherETag(t *testing.T) {
	g := newTestGateway(t, nil)
	want := listingFixture(g)
	g.be.VersionsETag = func(etag string) string {
		if !strings.Contains(etag, "-") {
			return etag
		}
		return `"0123456789abcdef0123456789abcdef-9"`
	}
	got := g.listedSizes(testBucket, "versions")
	for key, n := range want {
		if got[key] != n {
			t.Errorf("ListObjectVersions size of %s = %d, want %d", key, got[key], n)
		}
	}
}
