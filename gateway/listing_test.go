package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/crypto"
)

func TestPlaintextSizesRewriteOnlySizes(t *testing.T) {
	enc := crypto.EncryptedSize
	body := `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><EncodingType>url</EncodingType>` +
		`<Contents><Key>a%2Bb%20c</Key><ETag>&#34;0123&#34;</ETag><Size>` + itoa(enc(100)) + `</Size></Contents>` +
		`<Contents><Key>legacy</Key><ETag>&#34;x&#34;</ETag><Size>7</Size></Contents>` +
		`<Contents><Key>mp</Key><ETag>&#34;abc-2&#34;</ETag><Size>` + itoa(enc(5<<20)+enc(3)) + `</Size></Contents></ListBucketResult>`
	entries := parseListingEntries([]byte(body))
	want := []listingEntry{{key: "a+b c", etag: "0123"}, {key: "legacy", etag: "x"}, {key: "mp", etag: "abc-2"}}
	if len(entries) != len(want) {
		t.Fatalf("got %d entries, want %d", len(entries), len(want))
	}
	for i := range want {
		if entries[i].key != want[i].key || entries[i].etag != want[i].etag || entries[i].meta != nil {
			t.Errorf("entry %d = %+v, want %+v", i, entries[i], want[i])
		}
	}
	out := string(entryPattern.ReplaceAllFunc([]byte(body), func(e []byte) []byte {
		return sizePattern.ReplaceAllFunc(e, plaintextSize)
	}))
	for _, w := range []string{"<Size>100</Size>", "<Size>7</Size>", "<Size>" + itoa(5<<20+3) + "</Size>", "<Name>b</Name>"} {
		if !strings.Contains(out, w) {
			t.Errorf("rewritten listing lacks %s:\n%s", w, out)
		}
	}
}

func FuzzParseListingEntries(f *testing.F) {
	f.Add([]byte(`<Contents><Key>k</Key><ETag>"e"</ETag><Size>1</Size></Contents>`))
	f.Add([]byte(`<Version><Key>%ZZ</Key></Version><EncodingType>url</EncodingType>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		entries := parseListingEntries(body)
		if n := len(entryPattern.FindAll(body, -1)); n != len(entries) {
			t.Fatalf("%d entries for %d blocks", len(entries), n)
		}
		_ = entryPattern.ReplaceAllFunc(body, func(e []byte) []byte { return sizePattern.ReplaceAllFunc(e, plaintextSize) })
	})
}

func TestIndexEntriesAuthenticateWhatTheyName(t *testing.T) {
	s := &records{indexKey: []byte("0123456789abcdef0123456789abcdef")}
	const md5hex = "9e107d9d372bb6826bd81d3542a419d6"
	for _, client := range []string{"", md5hex, md5hex + "-3", "not an md5"} {
		t.Run("client ETag "+client, func(t *testing.T) {
			name, err := s.indexEntryName("bkt", "dir/obj/with/slashes", "etag-3", 12345, client)
			if err != nil {
				t.Fatal(err)
			}
			if client != "" && strings.Contains(name, md5hex) {
				t.Fatalf("entry %q names the client ETag in clear", name)
			}
			obj, etag, e, ok := s.parseIndexEntry(name, "bkt")
			if !ok || obj != "dir/obj/with/slashes" || etag != "etag-3" || e.size != 12345 || e.clientETag != client {
				t.Fatalf("parse(%q) = %q %q %+v %v", name, obj, etag, e, ok)
			}
			again, _ := s.indexEntryName("bkt", "dir/obj/with/slashes", "etag-3", 12345, client)
			if again != name {
				t.Errorf("the same version got two names: %q, %q", name, again)
			}
			forged := strings.Replace(name, "/12345/", "/99999/", 1)
			if _, _, _, ok := s.parseIndexEntry(forged, "bkt"); ok {
				t.Errorf("an entry with a changed size verified")
			}
			other := &records{indexKey: []byte("another key of thirty-two bytes!")}
			if _, _, _, ok := other.parseIndexEntry(name, "bkt"); ok {
				t.Errorf("an entry verified under another key")
			}
			if _, _, _, ok := s.parseIndexEntry(name, "other-bucket"); ok {
				t.Errorf("an entry verified for another bucket")
			}
			moved := strings.Replace(name, "/etag-3/", "/etag-4/", 1)
			if _, _, _, ok := s.parseIndexEntry(moved, "bkt"); ok {
				t.Errorf("an entry verified for another backend ETag")
			}
		})
	}
	t.Run("a client ETag moved between entries", func(t *testing.T) {
		a, _ := s.indexEntryName("bkt", "a", "e1", 1, md5hex)
		b, _ := s.indexEntryName("bkt", "b", "e2", 1, "00000000000000000000000000000000")
		fa, fb := strings.Split(a, "/"), strings.Split(b, "/")
		fb[len(fb)-2] = fa[len(fa)-2] // a's sealed ETag in b's entry
		if _, _, e, ok := s.parseIndexEntry(strings.Join(fb, "/"), "bkt"); ok {
			t.Errorf("b's entry with a's sealed ETag verified: %+v", e)
		}
	})
}

func TestRaggedLayouts(t *testing.T) {
	tests := []struct {
		layout crypto.Layout
		want   bool
	}{
		{crypto.Layout{1}, false},
		{crypto.Layout{16 << 20, 3}, false},
		{crypto.Layout{5<<20 + 1, 7}, true},
		{crypto.Layout{5 << 20, 5<<20 + 13, 1}, true},
	}
	for _, tc := range tests {
		if got := ragged(tc.layout); got != tc.want {
			t.Errorf("ragged(%v) = %v, want %v", tc.layout, got, tc.want)
		}
	}
}

func TestParseCopyRange(t *testing.T) {
	tests := []struct {
		in      string
		off, n  int64
		wantErr bool
	}{
		{"bytes=0-0", 0, 1, false},
		{"bytes=10-19", 10, 10, false},
		{"bytes=5-4", 0, 0, true},
		{"bytes=-5", 0, 0, true},
		{"bytes=3-", 0, 0, true},
		{"items=0-1", 0, 0, true},
	}
	for _, tc := range tests {
		off, n, err := parseCopyRange(tc.in)
		if (err != nil) != tc.wantErr || off != tc.off || n != tc.n {
			t.Errorf("parseCopyRange(%q) = %d, %d, %v; want %d, %d, err %v", tc.in, off, n, err, tc.off, tc.n, tc.wantErr)
		}
	}
}

func TestParseCopySource(t *testing.T) {
	tests := []struct {
		header  string
		want    copySource
		wantErr bool
	}{
		{"/bkt/k", copySource{bucket: "bkt", object: "k"}, false},
		{"bkt/dir/a%20b%2Bc", copySource{bucket: "bkt", object: "dir/a b+c"}, false},
		{"bkt/k?versionId=v1", copySource{bucket: "bkt", object: "k", versionID: "v1"}, false},
		{"bkt", copySource{}, true},
		{"/bkt/", copySource{}, true},
		{"/bkt/a/../../other/k", copySource{}, true},
		{"/bkt/a%2F..%2F..%2Fother%2Fk", copySource{}, true},
		{"/minio/admin/v3/info", copySource{}, true},
		{"/b/k", copySource{}, true}, // not a bucket name
		{"/bkt/k%00", copySource{}, true},
	}
	for _, tc := range tests {
		r, _ := http.NewRequest(http.MethodPut, "http://x/b/k", nil)
		r.Header.Set("X-Amz-Copy-Source", tc.header)
		got, _, err := parseCopySource(r)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseCopySource(%q) = %+v, %v; want %+v, err %v", tc.header, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestForwardedHeadersDropWhatTheGatewayOwns(t *testing.T) {
	in := http.Header{}
	for _, k := range []string{"Connection", "Expect", "Content-Length", "X-Amz-Server-Side-Encryption", "X-Amz-Server-Side-Encryption-Customer-Key",
		"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key", "X-Amz-Checksum-Crc32", "X-Amz-Sdk-Checksum-Algorithm", "Content-Md5", "X-Amz-Meta-Color", "Content-Type",
		"X-Amz-Copy-Source", "X-Amz-Metadata-Directive", "X-Amz-Meta-S3seal-Key", "X-Amz-Meta-Snowball-Auto-Extract", "X-Minio-Source-Mtime",
		"X-Amz-Write-Offset-Bytes", "Authorization", "Host", "X-Forwarded-For", "Transfer-Encoding"} {
		in.Set(k, "v")
	}
	plain := forwardHeader(in)
	for _, gone := range []string{"Connection", "Expect", "Content-Length", "X-Amz-Server-Side-Encryption", "X-Amz-Server-Side-Encryption-Customer-Key",
		"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key", "X-Amz-Checksum-Crc32", "Content-Md5", "X-Amz-Copy-Source", "X-Amz-Metadata-Directive",
		"X-Amz-Meta-S3seal-Key", "X-Amz-Meta-Snowball-Auto-Extract", "X-Minio-Source-Mtime", "X-Amz-Write-Offset-Bytes", "Authorization", "Host",
		"X-Forwarded-For", "Transfer-Encoding"} {
		if plain.Get(gone) != "" {
			t.Errorf("forwardHeader kept %s", gone)
		}
	}
	for _, kept := range []string{"X-Amz-Meta-Color", "Content-Type"} {
		if plain.Get(kept) == "" {
			t.Errorf("forwardHeader dropped %s", kept)
		}
	}
	encrypted := forwardEncryptedHeader(in)
	for _, gone := range []string{"X-Amz-Checksum-Crc32", "X-Amz-Sdk-Checksum-Algorithm", "Content-Md5"} {
		if encrypted.Get(gone) != "" {
			t.Errorf("forwardEncryptedHeader kept %s", gone)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestUserMetadataNamesGoOutInLowerCase(t *testing.T) {
	src := http.Header{}
	src.Set("X-Amz-Meta-Ver", "1")
	src.Set("X-Amz-Meta-S3seal-Key", "sealed")
	src.Set("Content-Type", "text/plain")
	dst := http.Header{}
	copyResponseHeader(dst, src)
	if got := dst["x-amz-meta-ver"]; len(got) != 1 || got[0] != "1" {
		t.Errorf("x-amz-meta-ver = %v, want [1] under the lower-case name (header %v)", got, dst)
	}
	if _, ok := dst["X-Amz-Meta-Ver"]; ok {
		t.Error("the canonicalised name is sent too")
	}
	for k := range dst {
		if strings.Contains(strings.ToLower(k), "s3seal") {
			t.Errorf("reserved header %s sent", k)
		}
	}
	if dst.Get("Content-Type") != "text/plain" {
		t.Error("Content-Type lost")
	}
}
