package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// countingStore counts the key-store round trips of the embedded KMS.
type countingStore struct {
	kmsclient.KeyStore
	n atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, name string) ([]byte, error) {
	c.n.Add(1)
	return c.KeyStore.Get(ctx, name)
}

func (c *countingStore) Create(ctx context.Context, name string, value []byte) error {
	c.n.Add(1)
	return c.KeyStore.Create(ctx, name, value)
}

func (c *countingStore) List(ctx context.Context, prefix, start string, n int) ([]string, string, error) {
	c.n.Add(1)
	return c.KeyStore.List(ctx, prefix, start, n)
}

// requestCounts is what one client operation cost.
type requestCounts struct {
	backend  int // every backend request, system bucket included
	keyStore int64
}

func (c requestCounts) String() string {
	return fmt.Sprintf("%d backend requests, %d key-store calls", c.backend, c.keyStore)
}

// countingGateway is a test gateway whose KMS counts key-store calls.
func countingGateway(t testing.TB, edit func(*Config)) (*testGateway, *countingStore) {
	store := &countingStore{KeyStore: &mem.Store{}}
	g := newTestGateway(t, func(c *Config) {
		kms := kmsclient.New(store, kmsclient.Config{})
		t.Cleanup(func() { _ = kms.Close() })
		c.KMS = kms
		if edit != nil {
			edit(c)
		}
	})
	return g, store
}

// measure runs op and returns what it cost.
func (g *testGateway) measure(store *countingStore, op func()) requestCounts {
	g.be.forget()
	before := store.n.Load()
	op()
	return requestCounts{backend: len(g.be.calls()), keyStore: store.n.Load() - before}
}

// TestBackendRequestsPerOperation pins what the hot operations cost after
// warm-up: backend requests (system bucket included) and key-store round
// trips.
func TestBackendRequestsPerOperation(t *testing.T) {
	body := testData(4 << 10)
	kms := []string{"X-Amz-Server-Side-Encryption", "aws:kms"}
	g, store := countingGateway(t, nil)
	// Warm-up: the KMS caches the default key's External Key.
	g.put(testBucket, "warm", body)
	g.put(testBucket, "warm", body, kms...)

	for _, tc := range []struct {
		name string
		op   func()
		want requestCounts
	}{
		{"4 KiB SSE-KMS PUT", func() { g.put(testBucket, "kms", body, kms...) }, requestCounts{1, 0}},
		{"4 KiB SSE-KMS GET", func() { g.mustGet(testBucket, "kms") }, requestCounts{1, 0}},
		{"4 KiB SSE-S3 PUT", func() { g.put(testBucket, "s3", body) }, requestCounts{1, 0}},
		{"4 KiB SSE-S3 GET", func() { g.mustGet(testBucket, "s3") }, requestCounts{1, 0}},
		{"4 KiB SSE-S3 HEAD", func() { g.mustHead(testBucket, "s3") }, requestCounts{1, 0}},
		{"CompleteMultipartUpload, 3 parts", completeParts(g, 3), requestCounts{5, 0}},
		{"CompleteMultipartUpload, 10 parts", completeParts(g, 10), requestCounts{5, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.measure(store, tc.op); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
				for _, c := range g.be.calls() {
					t.Logf("%s %s/%s?%s", c.Method, c.Bucket, c.Object, c.Query.Encode())
				}
			}
		})
	}
}

func (g *testGateway) mustGet(bucket, key string) *s3Response {
	g.t.Helper()
	res := g.do(http.MethodGet, objectTarget(bucket, key, ""), nil)
	if res.status != http.StatusOK {
		g.t.Fatalf("GET %s/%s: %v", bucket, key, res)
	}
	return res
}

func (g *testGateway) mustHead(bucket, key string) *s3Response {
	g.t.Helper()
	res := g.do(http.MethodHead, objectTarget(bucket, key, ""), nil)
	if res.status != http.StatusOK {
		g.t.Fatalf("HEAD %s/%s: %v", bucket, key, res)
	}
	return res
}

// completeParts returns an operation that completes a multipart upload of
// n parts started and uploaded beforehand.
func completeParts(g *testGateway, n int) func() {
	g.be.MinPartSize = 1
	parts := make([][]byte, n)
	for i := range parts {
		parts[i] = testData(1000)
	}
	key := fmt.Sprintf("mp%d", n)
	id := g.createUpload(testBucket, key)
	etags := g.uploadParts(testBucket, key, id, parts)
	return func() {
		if res := g.complete(testBucket, key, id, etags); res.status != http.StatusOK {
			g.t.Fatalf("CompleteMultipartUpload: %v", res)
		}
	}
}

func TestCompleteReadsPartRecordsTheCacheDoesNotHold(t *testing.T) {
	for _, tc := range []struct {
		name      string
		edit      func(g *testGateway, id string)
		wantReads int
	}{
		{"all cached", func(*testGateway, string) {}, 0},
		{"one evicted", func(g *testGateway, id string) { g.s.records.partCache.drop(partRecordName(testBucket, id, 2)) }, 1},
		{"one stale (the part re-uploaded through another replica)", func(g *testGateway, id string) {
			name := partRecordName(testBucket, id, 1)
			p, _ := g.s.records.partCache.get(name)
			stale := *p
			stale.BackendETag, stale.ETag = strings.Repeat("0", 32), strings.Repeat("1", 32)
			g.s.records.partCache.put(name, &stale)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.be.MinPartSize = 1
			data := testData(3000)
			id := g.createUpload(testBucket, "k")
			etags := g.uploadParts(testBucket, "k", id, splitParts(data, 1000, 1000, 1000))
			tc.edit(g, id)
			g.be.forget()
			if res := g.complete(testBucket, "k", id, etags); res.status != http.StatusOK {
				t.Fatalf("Complete: %v", res)
			}
			reads := 0
			for _, c := range g.be.calls() {
				if c.Method == http.MethodGet && strings.HasPrefix(c.Object, "parts/") {
					reads++
				}
			}
			if reads != tc.wantReads {
				t.Errorf("%d part records read from the backend, want %d", reads, tc.wantReads)
			}
			if get := g.do(http.MethodGet, objectTarget(testBucket, "k", ""), nil); !bytes.Equal(get.body, data) {
				t.Errorf("GET: %v", get)
			}
			if left := g.recordKeys("parts/"); len(left) != 0 {
				t.Errorf("part records left after Complete: %v", left)
			}
			if left := g.recordKeys("uploads/"); len(left) != 0 {
				t.Errorf("upload records left after Complete: %v", left)
			}
		})
	}
}

// TestRemoteKMSKeepsIndexEntries: with an external KES server every
// data-key decryption is a round trip, so listings must not open a sealed
// ETag per entry; a small SSE-S3 PUT writes its listing-index entry (two
// backend requests) and the listing still shows the MD5.
func TestRemoteKMSKeepsIndexEntries(t *testing.T) {
	body := testData(4 << 10)
	g, store := countingGateway(t, func(c *Config) { c.RemoteKMS = true })
	g.put(testBucket, "warm", body)
	if got := g.measure(store, func() { g.put(testBucket, "s3", body) }); got.backend != 2 {
		t.Errorf("4 KiB SSE-S3 PUT with a remote KMS: %v, want 2 backend requests (object and index entry)", got)
	}
	res := g.do(http.MethodGet, "/"+testBucket+"?list-type=2", nil)
	sum := md5.Sum(body)
	if !strings.Contains(string(res.body), hex.EncodeToString(sum[:])) {
		t.Errorf("listing does not show the MD5 ETag: %s", res.body)
	}
	for _, c := range g.be.calls() {
		if c.Query.Get("metadata") == "true" {
			t.Errorf("a listing asked the backend for metadata with a remote KMS: %s?%s", c.Bucket, c.Query.Encode())
		}
	}
}
