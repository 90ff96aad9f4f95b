package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestVirtualHostedStyleRequests(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.Domain = "s3.test" })
	send := func(method, url string, body []byte) *s3Response {
		r := httptest.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
		sum := sha256.Sum256(body)
		r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		r.ContentLength = int64(len(body))
		return g.serve(signV4(r, testRoot, testPassword))
	}
	data := testData(1000)
	if res := send(http.MethodPut, "http://"+testBucket+".s3.test/dir/k", data); res.status != http.StatusOK {
		t.Fatalf("virtual-hosted PUT: %v", res)
	}
	if body, _, ok := g.be.object(testBucket, "dir/k"); !ok || bytes.Contains(body, data[:64]) {
		t.Errorf("backend object %s/dir/k: present %v, want it stored encrypted", testBucket, ok)
	}
	if res := send(http.MethodGet, "http://"+testBucket+".s3.test/dir/k", nil); res.status != http.StatusOK || !bytes.Equal(res.body, data) {
		t.Errorf("virtual-hosted GET: status %d, %d bytes", res.status, len(res.body))
	}
	if res := send(http.MethodGet, "http://"+testBucket+".s3.test/?list-type=2", nil); res.status != http.StatusOK || !bytes.Contains(res.body, []byte("<Size>1000</Size>")) {
		t.Errorf("virtual-hosted listing: %v, want dir/k with its plaintext size", res)
	}
	if res := send(http.MethodGet, "http://s3.test/"+testBucket+"/dir/k", nil); res.status != http.StatusOK || !bytes.Equal(res.body, data) {
		t.Errorf("path-style GET beside virtual hosts: status %d, %d bytes", res.status, len(res.body))
	}
}
