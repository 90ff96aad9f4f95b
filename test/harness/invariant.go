package harness

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
)

// The invariant every end-to-end test checks: nothing s3seal keeps for
// itself leaves it. No response through the gateway may carry reserved
// metadata (X-Amz-Meta-S3seal-* headers, or such entries in XML and JSON
// bodies, including <UserMetadata> of listings), nor name the system
// bucket unless the request itself did (an error about a request for the
// system bucket may echo what the client sent).
//
// The gateway clients of the harness (Gateway.Client, Gateway.S3) send
// every request through CheckedTransport; other clients can call
// CheckResponse themselves.

// maxCheckedBody bounds how much of an XML or JSON body is read to check
// it; the rest passes unchecked. Listings and errors are far smaller.
const maxCheckedBody = 64 << 20

var reservedInMetadata = regexp.MustCompile(`(?is)<UserMetadata[^>]*>.*?</UserMetadata>`)

// CheckResponse reports (t.Errorf) what resp, the answer to req, leaks. It
// reads and replaces an XML or JSON body (bounded by maxCheckedBody), so
// the caller can still read it; other bodies are not read.
func CheckResponse(t testing.TB, systemBucket string, req *http.Request, resp *http.Response) {
	t.Helper()
	named := requestNames(req, systemBucket)
	what := req.Method + " " + req.URL.Path
	for k, vv := range resp.Header {
		if strings.Contains(strings.ToLower(k), "x-amz-meta-s3seal-") {
			t.Errorf("invariant: %s: response header %s is reserved metadata", what, k)
		}
		for _, v := range vv {
			if strings.Contains(strings.ToLower(v), "x-amz-meta-s3seal-") {
				t.Errorf("invariant: %s: response header %s names reserved metadata", what, k)
			}
			if !named && systemBucket != "" && strings.Contains(v, systemBucket) {
				t.Errorf("invariant: %s: response header %s names the system bucket", what, k)
			}
		}
	}
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	if resp.Body == nil || resp.Body == http.NoBody || !(strings.Contains(ct, "xml") || strings.Contains(ct, "json")) {
		return
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxCheckedBody))
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return // the client sees the same error when it reads
	}
	if problem := bodyLeak(head, systemBucket, named); problem != "" {
		t.Errorf("invariant: %s: response body %s:\n%s", what, problem, clip(head, 2000))
	}
}

// bodyLeak says what body leaks, "" if nothing.
func bodyLeak(body []byte, systemBucket string, named bool) string {
	lower := bytes.ToLower(body)
	if bytes.Contains(lower, []byte("x-amz-meta-s3seal-")) {
		return "names reserved metadata (x-amz-meta-s3seal-)"
	}
	for _, block := range reservedInMetadata.FindAll(lower, -1) {
		if bytes.Contains(block, []byte("s3seal-")) {
			return "carries an s3seal- entry in <UserMetadata>"
		}
	}
	if !named && systemBucket != "" && bytes.Contains(body, []byte(systemBucket)) {
		return fmt.Sprintf("names the system bucket %s", systemBucket)
	}
	return ""
}

// requestNames reports whether the client itself named the system bucket
// (in the URL or a header such as x-amz-copy-source).
func requestNames(req *http.Request, systemBucket string) bool {
	if systemBucket == "" {
		return false
	}
	if strings.Contains(req.URL.String(), systemBucket) || strings.Contains(req.Host, systemBucket) {
		return true
	}
	if u, err := url.PathUnescape(req.URL.EscapedPath()); err == nil && strings.Contains(u, systemBucket) {
		return true
	}
	for _, vv := range req.Header {
		for _, v := range vv {
			if strings.Contains(v, systemBucket) {
				return true
			}
		}
	}
	return false
}

type readCloser struct {
	io.Reader
	io.Closer
}

// CheckedTransport returns an http.RoundTripper that sends requests
// through next (nil: a clone of http.DefaultTransport) and checks every
// response with CheckResponse. Responses after t ended are not checked.
func CheckedTransport(t testing.TB, systemBucket string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	c := &checkedTransport{t: t, systemBucket: systemBucket, next: next}
	t.Cleanup(func() {
		c.mu.Lock()
		c.done = true
		c.mu.Unlock()
	})
	return c
}

type checkedTransport struct {
	t            testing.TB
	systemBucket string
	next         http.RoundTripper

	mu   sync.Mutex
	done bool
}

func (c *checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if !done {
		CheckResponse(c.t, c.systemBucket, req, resp)
	}
	return resp, nil
}

// SystemBucket is the backend bucket the gateway keeps its records in.
func (g *Gateway) SystemBucket() string {
	for _, kv := range g.env {
		if v, ok := strings.CutPrefix(kv, "S3SEAL_SYSTEM_BUCKET="); ok && v != "" {
			return v
		}
	}
	return "s3seal-system"
}

// checkedTransport returns the transport of the harness's gateway clients:
// over https trusting what WithGatewayTLS named, through the leak check.
func (g *Gateway) checkedTransport(t testing.TB) http.RoundTripper {
	next := g.transport()
	if next == nil {
		var err error
		if next, err = minio.DefaultTransport(strings.HasPrefix(g.Endpoint, "https://")); err != nil {
			t.Fatalf("minio-go transport: %v", err)
		}
	}
	return CheckedTransport(t, g.SystemBucket(), next)
}
