package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
)

// flakyKMS fails every call while down is set.
type flakyKMS struct {
	KMS
	down atomic.Bool
}

var errKMSDown = errors.New("kms down")

func (k *flakyKMS) GenerateKey(ctx context.Context, name string, c []byte) (kmsclient.DEK, error) {
	if k.down.Load() {
		return kmsclient.DEK{}, errKMSDown
	}
	return k.KMS.GenerateKey(ctx, name, c)
}

func (k *flakyKMS) Decrypt(ctx context.Context, name string, ciphertext, c []byte) ([]byte, error) {
	if k.down.Load() {
		return nil, errKMSDown
	}
	return k.KMS.Decrypt(ctx, name, ciphertext, c)
}

func TestAnUnavailableKMSWritesNothing(t *testing.T) {
	var kms *flakyKMS
	g := newTestGateway(t, func(c *Config) { kms = &flakyKMS{KMS: c.KMS}; c.KMS = kms })
	g.put(testBucket, "existing", []byte("data"))
	kms.down.Store(true)
	g.be.forget()
	tests := []struct {
		name, method, target string
		body                 []byte
		header               []string
	}{
		{"PUT", http.MethodPut, objectTarget(testBucket, "k", ""), []byte("data"), nil},
		{"SSE-KMS PUT", http.MethodPut, objectTarget(testBucket, "k", ""), []byte("data"), []string{hdrSSE, "aws:kms", hdrSSEKeyID, otherKey}},
		{"CreateMultipartUpload", http.MethodPost, objectTarget(testBucket, "k", "uploads"), nil, nil},
		{"GET", http.MethodGet, objectTarget(testBucket, "existing", ""), nil, nil},
		{"CopyObject", http.MethodPut, objectTarget(testBucket, "copy", ""), nil, []string{"X-Amz-Copy-Source", testBucket + "/existing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(tc.method, tc.target, tc.body, tc.header...)
			if res.status != http.StatusServiceUnavailable || res.code() != "KMS.KMSInternalException" {
				t.Errorf("got %v (code %q), want 503 KMS.KMSInternalException", res, res.code())
			}
		})
	}
	for _, c := range g.be.calls() {
		if c.Method == http.MethodPut || c.Method == http.MethodPost {
			t.Errorf("the backend got %s %s/%s while the KMS was down", c.Method, c.Bucket, c.Object)
		}
	}
}

func TestAnUnreachableBackendIsServiceUnavailable(t *testing.T) {
	g := newTestGateway(t, nil)
	g.srv.Close()
	for _, method := range []string{http.MethodPut, http.MethodGet} {
		res := g.do(method, objectTarget(testBucket, "k", ""), nil)
		if res.status != http.StatusServiceUnavailable || res.code() != "ServiceUnavailable" {
			t.Errorf("%s: %v (code %q), want 503 ServiceUnavailable", method, res, res.code())
		}
	}
}

// TestAPayloadThatFailsVerificationNeverCompletesOnTheBackend sends a body
// other than the one signed: the backend must not store anything, though
// the gateway streams ciphertext to it before the mismatch is known.
func TestAPayloadThatFailsVerificationNeverCompletesOnTheBackend(t *testing.T) {
	g := newTestGateway(t, nil)
	g.be.MinPartSize = 1
	id := g.createUpload(testBucket, "mp")
	signed := testData(300_000)
	sent := append([]byte(nil), signed...)
	sent[len(sent)-1] ^= 1 // only the last byte differs
	sum := sha256.Sum256(signed)
	for _, target := range []string{objectTarget(testBucket, "k", ""), objectTarget(testBucket, "mp", partQuery(id, 1))} {
		t.Run(target, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPut, "http://s3.test"+target, nil)
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
			r.ContentLength = int64(len(sent))
			r = signV4(r, testRoot, testPassword)
			r.Body = httptest.NewRequest(http.MethodPut, "/", bytes.NewReader(sent)).Body
			res := g.serve(r)
			if res.status != http.StatusBadRequest || res.code() != "XAmzContentSHA256Mismatch" {
				t.Errorf("got %v (code %q), want 400 XAmzContentSHA256Mismatch", res, res.code())
			}
		})
	}
	if _, _, ok := g.be.object(testBucket, "k"); ok {
		t.Errorf("the backend stored an object whose payload failed verification")
	}
	g.be.mu.Lock()
	parts := len(g.be.uploads[id].parts)
	g.be.mu.Unlock()
	if parts != 0 {
		t.Errorf("the backend stored %d parts whose payload failed verification", parts)
	}
}
