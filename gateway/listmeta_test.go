package gateway

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestListingMetadataIsProbed(t *testing.T) {
	for _, lists := range []bool{true, false} {
		g := newTestGateway(t, nil)
		g.be.NoListingMetadata = !lists
		got, err := g.s.records.probeListingMetadata(t.Context())
		if err != nil || got != lists {
			t.Errorf("probe of a backend that lists metadata %v: %v, %v", lists, got, err)
		}
	}
}

func TestMetadataListingsShowOnlyWhatTheClientAskedFor(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "small", testData(100))
	g.put(testBucket, "kms", testData(100), "X-Amz-Server-Side-Encryption", "aws:kms")
	for _, query := range []string{"list-type=2", "versions", "", "list-type=2&metadata=true", "versions&metadata=true"} {
		g.be.forget()
		res := g.do(http.MethodGet, "/"+testBucket+"?"+query, nil)
		if res.status != http.StatusOK {
			t.Fatalf("list ?%s: %v", query, res)
		}
		asked := strings.Contains(query, "metadata=true")
		if has := bytes.Contains(res.body, []byte("<UserMetadata")); has != asked {
			t.Errorf("list ?%s: <UserMetadata> shown %v, want %v: %s", query, has, asked, res.body)
		}
		if bytes.Contains(bytes.ToLower(res.body), []byte("s3seal")) {
			t.Errorf("list ?%s shows reserved metadata: %s", query, res.body)
		}
		for _, c := range g.be.calls() {
			if c.Bucket == testBucket && query != "" && c.Query.Get("metadata") != "true" {
				t.Errorf("list ?%s went to the backend without metadata: %v", query, c.Query)
			}
		}
		if etag := g.listedETags(testBucket, query)["small"]; etag != quotedMD5(testData(100)) {
			t.Errorf("list ?%s: small listed with ETag %s, want its MD5", query, etag)
		}
	}
}

func TestV1ListingsFindSealedETagsPastDeepTrees(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "a/x", testData(100))
	g.put(testBucket, "a/y", testData(200))
	g.be.mu.Lock()
	for i := range 2500 { // more keys between a/x and a/y than two metadata pages
		g.be.buckets[testBucket][fmt.Sprintf("a/b/%04d", i)] = &memObject{header: http.Header{}, etag: quotedMD5(nil)}
	}
	g.be.mu.Unlock()
	for _, query := range []string{"prefix=a/&delimiter=/", "list-type=2&prefix=a/&delimiter=/"} {
		etags := g.listedETags(testBucket, query)
		for key, data := range map[string][]byte{"a/x": testData(100), "a/y": testData(200)} {
			if got, want := etags[key], quotedMD5(data); got != want {
				t.Errorf("list ?%s: %s listed with ETag %s, want %s", query, key, got, want)
			}
		}
	}
}
