package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/crypto"
)

// listedETags lists bucket (ListObjectsV2, or ListObjectVersions with
// "versions") and returns each key's listed ETag.
func (g *testGateway) listedETags(bucket, query string) map[string]string {
	g.t.Helper()
	res := g.do(http.MethodGet, "/"+bucket+"?"+query, nil)
	if res.status != http.StatusOK {
		g.t.Fatalf("list %s?%s: %v", bucket, query, res)
	}
	var doc struct {
		Entries []struct {
			Key  string
			ETag string
		} `xml:",any"`
	}
	if err := xml.Unmarshal(res.body, &doc); err != nil {
		g.t.Fatalf("listing: %v", err)
	}
	out := map[string]string{}
	for _, e := range doc.Entries {
		if e.Key != "" {
			out[e.Key] = e.ETag
		}
	}
	return out
}

// clientETags returns the ETag of bucket/key in every answer that shows one.
func (g *testGateway) clientETags(bucket, key string, read ...string) map[string]string {
	g.t.Helper()
	out := map[string]string{}
	head := g.do(http.MethodHead, objectTarget(bucket, key, ""), nil, read...)
	out["HEAD"] = head.header.Get("ETag")
	get := g.do(http.MethodGet, objectTarget(bucket, key, ""), nil, read...)
	out["GET"] = get.header.Get("ETag")
	if rng := g.do(http.MethodGet, objectTarget(bucket, key, ""), nil, append([]string{"Range", "bytes=0-0"}, read...)...); rng.status == http.StatusPartialContent {
		out["ranged GET"] = rng.header.Get("ETag")
	}
	attrs := g.do(http.MethodGet, objectTarget(bucket, key, "attributes"), nil, append([]string{"X-Amz-Object-Attributes", "ETag"}, read...)...)
	var doc struct{ ETag string }
	_ = xml.Unmarshal(attrs.body, &doc)
	out["GetObjectAttributes"] = `"` + doc.ETag + `"`
	out["ListObjectsV2"] = g.listedETags(bucket, "list-type=2")[key]
	out["ListObjects"] = g.listedETags(bucket, "")[key]
	out["ListObjectVersions"] = g.listedETags(bucket, "versions")[key]
	return out
}

func TestSSES3ObjectsShowTheMD5OfTheirPlaintext(t *testing.T) {
	md5b64 := func(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }
	big := testData(3*crypto.PackageSize + 5)
	tests := []struct {
		name       string
		data       []byte
		header     []string
		wantSealed bool // the ETag is sealed in the object's metadata (no lookup)
	}{
		{"a large body streamed", big, nil, false},
		{"a large body with Content-MD5", big, []string{"Content-MD5", md5b64(big)}, true},
		{"a large body with x-amz-checksum-md5", big, []string{"X-Amz-Checksum-Md5", md5b64(big)}, true},
		{"a small body read first", testData(1000), nil, true},
		{"one whole package", testData(crypto.PackageSize), nil, true},
		{"an empty body", nil, nil, true},
	}
	for _, tc := range tests {
		for _, listsMetadata := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, backend lists metadata %v", tc.name, listsMetadata), func(t *testing.T) {
				g := newTestGateway(t, nil)
				if !listsMetadata {
					g.be.NoListingMetadata = true
					g.s.records.listsMetadata.Store(false)
				}
				want := quotedMD5(tc.data)
				g.put(testBucket, "warm-up", nil) // caches the bucket's configuration
				g.be.forget()
				res := g.put(testBucket, "k", tc.data, tc.header...)
				if got := res.header.Get("ETag"); got != want {
					t.Errorf("PUT ETag %s, want %s", got, want)
				}
				// The sealed ETag is listed from the metadata: one backend
				// request, no index entry.
				wantRequests := map[bool]int{true: 1, false: 2}[tc.wantSealed && listsMetadata]
				if n := len(g.be.calls()); n != wantRequests {
					t.Errorf("PUT cost %d backend requests, want %d", n, wantRequests)
				}
				_, stored, _ := g.be.object(testBucket, "k")
				if sealed := stored.Get(hdrClientETag) != clientETagInIndex; sealed != tc.wantSealed {
					t.Errorf("%s: %q, want sealed %v", hdrClientETag, stored.Get(hdrClientETag), tc.wantSealed)
				}
				g.be.forget()
				for op, got := range g.clientETags(testBucket, "k") {
					if got != want {
						t.Errorf("%s ETag %s, want %s", op, got, want)
					}
				}
				g.be.forget()
				g.do(http.MethodHead, objectTarget(testBucket, "k", ""), nil)
				lookups := 0
				for _, c := range g.be.calls() {
					if c.Bucket == g.s.cfg.SystemBucket {
						lookups++
					}
				}
				if want := map[bool]int{true: 0, false: 1}[tc.wantSealed]; lookups != want {
					t.Errorf("HEAD cost %d system-bucket requests, want %d", lookups, want)
				}
				if len(tc.data) > 0 { // the MD5 of nothing is also that of an empty ciphertext
					checkNoPlaintextMD5(t, g, tc.data)
				}
			})
		}
	}
}

// checkNoPlaintextMD5 fails if the MD5 of data appears anywhere on the
// backend: object names, metadata or bodies, the system bucket included.
func checkNoPlaintextMD5(t *testing.T, g *testGateway, data []byte) {
	t.Helper()
	sum := md5.Sum(data)
	forms := []string{hex.EncodeToString(sum[:]), strings.ToUpper(hex.EncodeToString(sum[:])),
		base64.StdEncoding.EncodeToString(sum[:]), base64.RawURLEncoding.EncodeToString(sum[:])}
	g.be.mu.Lock()
	defer g.be.mu.Unlock()
	for bucket, objects := range g.be.buckets {
		for name, o := range objects {
			for _, f := range forms {
				if strings.Contains(name, f) {
					t.Errorf("backend name %s/%s holds the plaintext MD5", bucket, name)
				}
				if bytes.Contains(o.body, []byte(f)) || bytes.Contains(o.body, sum[:]) {
					t.Errorf("backend object %s/%s holds the plaintext MD5", bucket, name)
				}
				for k, vv := range o.header {
					for _, v := range vv {
						if strings.Contains(v, f) {
							t.Errorf("backend metadata %s of %s/%s holds the plaintext MD5", k, bucket, name)
						}
					}
				}
			}
		}
	}
}

func TestClientETagsOnBackendsWhoseETagsAreNotMD5s(t *testing.T) {
	for _, size := range []int{10, 3 * crypto.PackageSize} {
		g := newTestGateway(t, nil)
		// The small body's index entry is written beside the object under
		// the ETag S3 would give; this backend gives another.
		g.be.PutETag = func(body []byte) string { return quotedMD5(append(body, '!')) }
		data := testData(size)
		want := quotedMD5(data)
		if got := g.put(testBucket, "k", data).header.Get("ETag"); got != want {
			t.Errorf("%d bytes: PUT ETag %s, want %s", size, got, want)
		}
		for op, got := range g.clientETags(testBucket, "k") {
			if got != want {
				t.Errorf("%d bytes: %s ETag %s, want %s", size, op, got, want)
			}
		}
	}
}

func TestOtherObjectsShowTheBackendETag(t *testing.T) {
	data := testData(2*crypto.PackageSize + 1)
	tests := []struct {
		name   string
		header []string
		read   []string
		config func(*Config)
	}{
		{"SSE-KMS", []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey}, nil, nil},
		{"SSE-C", ssecHeaders("", ssecKey), ssecHeaders("", ssecKey), nil},
		{"SSE-S3 with MD5 ETags off", nil, nil, func(c *Config) { c.DisableMD5ETags = true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, tc.config)
			res := g.put(testBucket, "k", data, tc.header...)
			body, stored, _ := g.be.object(testBucket, "k")
			want := quotedMD5(body)
			if got := res.header.Get("ETag"); got != want {
				t.Errorf("PUT ETag %s, want the backend's %s", got, want)
			}
			if v := stored.Get(hdrClientETag); v != "" {
				t.Errorf("%s stored: %q", hdrClientETag, v)
			}
			if entries := g.recordKeys(indexPrefix); len(entries) != 0 {
				t.Errorf("index entries %q", entries)
			}
			for op, got := range g.clientETags(testBucket, "k", tc.read...) {
				if got != want {
					t.Errorf("%s ETag %s, want the backend's %s", op, got, want)
				}
			}
		})
	}
}

func TestClientETagsBackendAccessCannotForge(t *testing.T) {
	big := testData(2 * crypto.PackageSize)
	small := testData(10)
	tests := []struct {
		name      string
		data      []byte
		tamper    func(g *testGateway)
		wantCode  string // "" if reads succeed
		wantETag  string // then: what HEAD, GET and listings show; "" the backend's
		wantMatch bool   // ... and the metadata names the index
	}{
		{
			name: "a sealed ETag altered", data: small,
			tamper: func(g *testGateway) {
				g.be.alter(testBucket, "k", func(o *memObject) {
					raw, _ := base64.StdEncoding.DecodeString(o.header.Get(hdrClientETag))
					raw[len(raw)-1] ^= 1
					o.header.Set(hdrClientETag, base64.StdEncoding.EncodeToString(raw))
				})
			},
			wantCode: "ObjectTampered",
		},
		{
			name: "a sealed ETag from another object", data: small,
			tamper: func(g *testGateway) {
				g.put(testBucket, "other", testData(11))
				_, other, _ := g.be.object(testBucket, "other")
				g.be.alter(testBucket, "k", func(o *memObject) { o.header.Set(hdrClientETag, other.Get(hdrClientETag)) })
			},
			wantCode: "ObjectTampered",
		},
		{
			name: "a plaintext MD5 written into the metadata", data: small,
			tamper: func(g *testGateway) {
				g.be.alter(testBucket, "k", func(o *memObject) { o.header.Set(hdrClientETag, strings.Trim(quotedMD5(small), `"`)) })
			},
			wantCode: "ObjectTampered",
		},
		{
			name: "the index entry lost (a crash before it was written)", data: big,
			tamper: func(g *testGateway) {
				for _, k := range g.recordKeys(indexPrefix) {
					delete(g.be.buckets[g.s.cfg.SystemBucket], k)
				}
			},
		},
		{
			name: "the index entry replaced by a forged one", data: big,
			tamper: func(g *testGateway) {
				sys := g.be.buckets[g.s.cfg.SystemBucket]
				for _, k := range g.recordKeys(indexPrefix) {
					delete(sys, k)
					f := strings.Split(k, "/")
					// Another ETag sealed under a made-up MAC.
					f[len(f)-2] = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 45))
					f[len(f)-1] = strings.Repeat("0", 32)
					sys[strings.Join(f, "/")] = &memObject{header: http.Header{}, etag: quotedMD5(nil)}
				}
			},
		},
		{
			name: "an entry of another object moved", data: big,
			tamper: func(g *testGateway) {
				sys := g.be.buckets[g.s.cfg.SystemBucket]
				for _, k := range g.recordKeys(indexPrefix) {
					delete(sys, k)
				}
				g.put(testBucket, "other", testData(3*crypto.PackageSize))
				for _, k := range g.recordKeys(indexPrefix) {
					o := g.be.buckets[testBucket]["k"]
					moved := strings.Replace(k, "/other/", "/k/", 1)
					f := strings.Split(moved, "/")
					f[3] = strings.Trim(o.etag, `"`) // the entry under k's backend ETag
					sys[strings.Join(f, "/")] = &memObject{header: http.Header{}, etag: quotedMD5(nil)}
				}
			},
		},
		{
			name: "the index flag removed", data: big,
			tamper: func(g *testGateway) {
				g.be.alter(testBucket, "k", func(o *memObject) { o.header.Del(hdrClientETag) })
			},
			wantETag: "index only", // listings still find the entry
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.put(testBucket, "k", tc.data)
			tc.tamper(g)
			body, _, _ := g.be.object(testBucket, "k")
			backendETag := quotedMD5(body)
			if tc.wantCode != "" {
				for _, m := range []string{http.MethodGet, http.MethodHead} {
					res := g.do(m, objectTarget(testBucket, "k", ""), nil)
					if res.status != http.StatusInternalServerError || (m == http.MethodGet && res.code() != tc.wantCode) {
						t.Errorf("%s: %v, want 500 %s", m, res, tc.wantCode)
					}
				}
				return
			}
			for op, got := range g.clientETags(testBucket, "k") {
				want := backendETag
				if tc.wantETag == "index only" && strings.HasPrefix(op, "List") {
					want = quotedMD5(tc.data)
				}
				if got != want {
					t.Errorf("%s ETag %s, want %s", op, got, want)
				}
			}
		})
	}
}

func TestConditionsCompareTheClientETag(t *testing.T) {
	data := testData(3 * crypto.PackageSize)
	etag := quotedMD5(data)
	g := newTestGateway(t, nil)
	g.put(testBucket, "k", data)
	backendETag := g.be.buckets[testBucket]["k"].etag
	target := objectTarget(testBucket, "k", "")
	tests := []struct {
		name       string
		method     string
		header     []string
		wantStatus int
	}{
		{"GET If-Match the client ETag", http.MethodGet, []string{"If-Match", etag}, http.StatusOK},
		{"GET If-Match unquoted in a list", http.MethodGet, []string{"If-Match", `"x", ` + strings.Trim(etag, `"`)}, http.StatusOK},
		{"GET If-Match the backend ETag", http.MethodGet, []string{"If-Match", backendETag}, http.StatusPreconditionFailed},
		{"GET If-None-Match the client ETag", http.MethodGet, []string{"If-None-Match", etag}, http.StatusNotModified},
		{"GET If-None-Match the backend ETag", http.MethodGet, []string{"If-None-Match", backendETag}, http.StatusOK},
		{"HEAD If-Match the client ETag", http.MethodHead, []string{"If-Match", etag}, http.StatusOK},
		{"HEAD If-None-Match the client ETag", http.MethodHead, []string{"If-None-Match", etag}, http.StatusNotModified},
		{"HEAD If-Match another", http.MethodHead, []string{"If-Match", `"other"`}, http.StatusPreconditionFailed},
		{"range GET If-Match the client ETag", http.MethodGet, []string{"If-Match", etag, "Range", "bytes=1-2"}, http.StatusPartialContent},
		// If-Match that holds overrides If-Unmodified-Since (RFC 9110).
		{"If-Match holds, If-Unmodified-Since long ago", http.MethodGet, []string{"If-Match", etag, "If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, http.StatusOK},
		{"If-None-Match fails, If-Modified-Since long ago", http.MethodGet, []string{"If-None-Match", etag, "If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, http.StatusNotModified},
		// MinIO's order: If-Modified-Since counts beside If-None-Match.
		{"If-None-Match holds, If-Modified-Since in the future", http.MethodGet, []string{"If-None-Match", `"x"`, "If-Modified-Since", "Mon, 01 Jan 2100 00:00:00 GMT"}, http.StatusNotModified},
		{"If-Match fails, If-None-Match matches", http.MethodGet, []string{"If-Match", `"x"`, "If-None-Match", etag}, http.StatusNotModified},
		{"If-None-Match holds, If-Unmodified-Since long ago", http.MethodHead, []string{"If-None-Match", `"x"`, "If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, http.StatusPreconditionFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(tc.method, target, nil, tc.header...)
			if res.status != tc.wantStatus {
				t.Fatalf("%v, want %d", res, tc.wantStatus)
			}
			if res.status == http.StatusOK && tc.method == http.MethodGet && !bytes.Equal(res.body, data) {
				t.Errorf("GET returned %d bytes that are not the object", len(res.body))
			}
			if res.status == http.StatusNotModified && res.header.Get("ETag") != etag {
				t.Errorf("304 ETag %q, want %s", res.header.Get("ETag"), etag)
			}
		})
	}

	t.Run("PUT If-Match", func(t *testing.T) {
		g := newTestGateway(t, nil)
		g.put(testBucket, "k", data)
		backendETag := g.be.buckets[testBucket]["k"].etag
		if res := g.do(http.MethodPut, target, []byte("x"), "If-Match", backendETag); res.status != http.StatusPreconditionFailed {
			t.Errorf("PUT If-Match the backend ETag: %v, want 412", res)
		}
		g.be.forget()
		if res := g.do(http.MethodPut, target, []byte("new"), "If-Match", etag); res.status != http.StatusOK {
			t.Fatalf("PUT If-Match the client ETag: %v, want 200", res)
		}
		puts := g.backendCalls(http.MethodPut, testBucket)
		if len(puts) != 1 || puts[0].Header.Get("If-Match") != backendETag {
			t.Errorf("backend PUT If-Match %q, want the backend ETag it resolved, %s", puts[0].Header.Get("If-Match"), backendETag)
		}
		if res := g.do(http.MethodPut, objectTarget(testBucket, "missing", ""), []byte("x"), "If-Match", etag); res.status != http.StatusNotFound && res.status != http.StatusPreconditionFailed {
			t.Errorf("PUT If-Match on a missing key: %v, want the backend's refusal", res)
		}
	})

	t.Run("copy source conditions", func(t *testing.T) {
		g := newTestGateway(t, nil)
		g.put(testBucket, "src", data)
		src := g.be.buckets[testBucket]["src"].etag
		cases := []struct {
			header     []string
			wantStatus int
		}{
			{[]string{"X-Amz-Copy-Source-If-Match", etag}, http.StatusOK},
			{[]string{"X-Amz-Copy-Source-If-Match", src}, http.StatusPreconditionFailed},
			{[]string{"X-Amz-Copy-Source-If-None-Match", etag}, http.StatusPreconditionFailed},
			{[]string{"X-Amz-Copy-Source-If-None-Match", src}, http.StatusOK},
		}
		for _, c := range cases {
			res := g.do(http.MethodPut, objectTarget(testBucket, "dst", ""), nil, append([]string{"X-Amz-Copy-Source", testBucket + "/src"}, c.header...)...)
			if res.status != c.wantStatus {
				t.Errorf("copy with %q: %v, want %d", c.header, res, c.wantStatus)
			}
		}
		// The backend copy is pinned to the backend ETag resolved.
		g.be.forget()
		g.do(http.MethodPut, objectTarget(testBucket, "dst", ""), nil, "X-Amz-Copy-Source", testBucket+"/src", "X-Amz-Copy-Source-If-Match", etag)
		for _, c := range g.backendCalls(http.MethodPut, testBucket) {
			if c.Header.Get("X-Amz-Copy-Source") != "" && c.Header.Get("X-Amz-Copy-Source-If-Match") != src {
				t.Errorf("backend copy X-Amz-Copy-Source-If-Match %q, want %s", c.Header.Get("X-Amz-Copy-Source-If-Match"), src)
			}
		}
		if got := g.clientETags(testBucket, "dst")["ListObjectsV2"]; got != etag {
			t.Errorf("the copy lists with ETag %s, want %s", got, etag)
		}
		uploadID := g.createUpload(testBucket, "mp")
		for _, c := range []struct {
			ifMatch    string
			wantStatus int
		}{{etag, http.StatusOK}, {src, http.StatusPreconditionFailed}} {
			res := g.do(http.MethodPut, objectTarget(testBucket, "mp", "partNumber=1&uploadId="+uploadID), nil,
				"X-Amz-Copy-Source", testBucket+"/src", "X-Amz-Copy-Source-If-Match", c.ifMatch)
			if res.status != c.wantStatus {
				t.Errorf("UploadPartCopy x-amz-copy-source-if-match %s: %v, want %d", c.ifMatch, res, c.wantStatus)
			}
		}
	})
}
