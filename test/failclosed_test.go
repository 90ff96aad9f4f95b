package test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/test/harness"
)

// rawAnswer is one raw HTTP answer: no client retries or interpretation.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a rawAnswer) code() string {
	var e struct{ Code string }
	_ = xml.Unmarshal(a.body, &e)
	return e.Code
}

// rawRequest sends one SigV4-signed request (UNSIGNED-PAYLOAD) to endpoint
// through rt (nil: a plain transport) and returns the answer.
func rawRequest(t *testing.T, rt http.RoundTripper, endpoint, accessKey, secretKey, method, target string, header map[string]string) rawAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, endpoint+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, accessKey, secretKey, "", "us-east-1")
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: body}
}

// gatewayRequest is rawRequest to the gateway, through the harness's leak
// check.
func gatewayRequest(t *testing.T, g *harness.Gateway, method, target string, header map[string]string) rawAnswer {
	t.Helper()
	return rawRequest(t, harness.CheckedTransport(t, g.SystemBucket(), nil), g.Endpoint, g.AccessKey, g.SecretKey, method, target, header)
}

// TestUnsealedObjectsFailClosed plants objects on MinIO directly (with the
// backend's credentials) and reads them through s3seal: in an encrypted
// bucket every kind of read is an error, in a legacy plaintext read bucket
// they are served as stored.
func TestUnsealedObjectsFailClosed(t *testing.T) {
	ctx := context.Background()
	m := harness.StartMinIO(t)
	g := harness.StartGateway(t, m, harness.WithGatewayEnv("S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS", "legacy"))
	c, direct := g.Client(t), m.Client(t)
	for _, b := range []string{"enc", "legacy"} {
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	const planted = "planted on the backend, never through s3seal"
	for _, b := range []string{"enc", "legacy"} {
		if _, err := direct.PutObject(ctx, b, "planted", strings.NewReader(planted), int64(len(planted)), minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
	}
	// An object s3seal wrote, whose metadata someone with backend access
	// stripped (copied onto itself with its user metadata replaced).
	if _, err := c.PutObject(ctx, "enc", "stripped", strings.NewReader("genuine"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := direct.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: "enc", Object: "stripped", ReplaceMetadata: true, UserMetadata: map[string]string{"Note": "stripped"}},
		minio.CopySrcOptions{Bucket: "enc", Object: "stripped"}); err != nil {
		t.Fatal(err)
	}

	reads := []struct {
		name, method, target string
		header               map[string]string
	}{
		{"GET", http.MethodGet, "/enc/planted", nil},
		{"GET of stripped metadata", http.MethodGet, "/enc/stripped", nil},
		{"HEAD", http.MethodHead, "/enc/planted", nil},
		{"ranged GET", http.MethodGet, "/enc/planted", map[string]string{"Range": "bytes=0-6"}},
		{"partNumber GET", http.MethodGet, "/enc/planted?partNumber=1", nil},
		{"CopyObject source", http.MethodPut, "/enc/copy", map[string]string{"X-Amz-Copy-Source": "/enc/planted"}},
		{"CopyObject source into a legacy bucket", http.MethodPut, "/legacy/copy", map[string]string{"X-Amz-Copy-Source": "/enc/planted"}},
	}
	for _, tc := range reads {
		t.Run("encrypted bucket refuses "+tc.name, func(t *testing.T) {
			a := gatewayRequest(t, g, tc.method, tc.target, tc.header)
			if a.status != http.StatusInternalServerError {
				t.Errorf("status %d, want 500; body %s", a.status, a.body)
			}
			if tc.method != http.MethodHead && a.code() != "ObjectTampered" {
				t.Errorf("code %q, want ObjectTampered; body %s", a.code(), a.body)
			}
			if bytes.Contains(a.body, []byte("planted on")) || bytes.Contains(a.body, []byte("genuine")) {
				t.Errorf("stored bytes reached the client: %s", a.body)
			}
		})
	}
	t.Run("UploadPartCopy source is refused", func(t *testing.T) {
		up, err := minio.Core{Client: c}.NewMultipartUpload(ctx, "enc", "mp", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a := gatewayRequest(t, g, http.MethodPut, "/enc/mp?partNumber=1&uploadId="+up, map[string]string{"X-Amz-Copy-Source": "/enc/planted"})
		if a.status != http.StatusInternalServerError || a.code() != "ObjectTampered" {
			t.Errorf("status %d code %q, want 500 ObjectTampered", a.status, a.code())
		}
	})
	t.Run("refusals are logged and counted", func(t *testing.T) {
		// The log reaches the harness through a pipe: poll for the last lines.
		want := len(reads) + 1
		deadline := time.Now().Add(10 * time.Second)
		n := strings.Count(g.Logs(), "refused an object without s3seal metadata")
		for n < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			n = strings.Count(g.Logs(), "refused an object without s3seal metadata")
		}
		if n < want {
			t.Errorf("%d refusal log lines, want at least %d", n, want)
		}
		resp, err := http.Get(g.Endpoint + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		metrics, _ := io.ReadAll(resp.Body)
		if !bytes.Contains(metrics, []byte(`s3seal_unencrypted_object_refusals_total{operation="GetObject"}`)) {
			t.Errorf("no s3seal_unencrypted_object_refusals_total for GetObject in /metrics")
		}
	})
	t.Run("listings still list them", func(t *testing.T) {
		var keys []string
		for o := range c.ListObjects(ctx, "enc", minio.ListObjectsOptions{}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			keys = append(keys, o.Key)
		}
		if got := strings.Join(keys, ","); !strings.Contains(got, "planted") || !strings.Contains(got, "stripped") {
			t.Errorf("listed %s, want planted and stripped among them", got)
		}
	})
	t.Run("legacy bucket serves them as stored and encrypts writes", func(t *testing.T) {
		a := gatewayRequest(t, g, http.MethodGet, "/legacy/planted", nil)
		if a.status != http.StatusOK || string(a.body) != planted {
			t.Errorf("GET: status %d body %q, want 200 and the stored bytes", a.status, a.body)
		}
		a = gatewayRequest(t, g, http.MethodGet, "/legacy/planted", map[string]string{"Range": "bytes=0-6"})
		if a.status != http.StatusPartialContent || string(a.body) != planted[:7] {
			t.Errorf("ranged GET: status %d body %q, want 206 and %q", a.status, a.body, planted[:7])
		}
		if _, err := c.PutObject(ctx, "legacy", "new", strings.NewReader("written through s3seal"), 22, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		st, err := direct.StatObject(ctx, "legacy", "new", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Metadata.Get("X-Amz-Meta-S3seal-Version") == "" {
			t.Errorf("a write to a legacy bucket was stored without s3seal metadata")
		}
		if st.Size <= 22 {
			t.Errorf("backend size %d: a write to a legacy bucket was not encrypted", st.Size)
		}
	})
}

// TestListingsHideReservedMetadata lists with MinIO's metadata=true
// extension through s3seal: the backend's listing carries the sealed keys,
// s3seal's must not.
func TestListingsHideReservedMetadata(t *testing.T) {
	ctx := context.Background()
	m := harness.StartMinIO(t)
	g := harness.StartGateway(t, m)
	c := g.Client(t)
	if err := c.MakeBucket(ctx, "meta", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "meta", "obj", strings.NewReader("listed"), 6, minio.PutObjectOptions{UserMetadata: map[string]string{"Color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/meta?list-type=2&metadata=true", "/meta?metadata=true", "/meta?versions&metadata=true", "/meta?list-type=2"} {
		t.Run(target, func(t *testing.T) {
			backend := rawRequest(t, nil, m.Endpoint, m.AccessKey, m.SecretKey, http.MethodGet, target, nil)
			// MinIO lists metadata for V2 and versions only.
			if strings.Contains(target, "&metadata=true") && !bytes.Contains(bytes.ToLower(backend.body), []byte("x-amz-meta-s3seal-")) {
				t.Fatalf("the backend's own listing has no reserved metadata, so this test proves nothing:\n%s", backend.body)
			}
			a := gatewayRequest(t, g, http.MethodGet, target, nil)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if bytes.Contains(bytes.ToLower(a.body), []byte("s3seal-")) {
				t.Errorf("listing through s3seal names s3seal metadata:\n%s", a.body)
			}
			if strings.Contains(target, "&metadata=true") && !bytes.Contains(bytes.ToLower(a.body), []byte("blue")) {
				t.Errorf("listing lost the user's own metadata:\n%s", a.body)
			}
			if !bytes.Contains(a.body, []byte("<Size>6</Size>")) {
				t.Errorf("listing lacks the plaintext size 6:\n%s", a.body)
			}
		})
	}
}

// TestEmptyObjectRanges asks MinIO and s3seal the same range questions
// about an empty object. s3seal answers as MinIO does with one deliberate
// exception: a suffix range ("bytes=-N") selects the whole empty object,
// which no 206 can express, so s3seal answers 200 with it as S3 does, where
// MinIO answers 206 with the impossible "Content-Range: bytes 0--1/0". A
// 416 may carry RFC 9110's "bytes */0", which MinIO leaves out (see the
// differential test).
func TestEmptyObjectRanges(t *testing.T) {
	ctx := context.Background()
	m := harness.StartMinIO(t)
	g := harness.StartGateway(t, m)
	if err := g.Client(t).MakeBucket(ctx, "ranges", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Client(t).PutObject(ctx, "ranges", "empty", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Client(t).MakeBucket(ctx, "direct", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Client(t).PutObject(ctx, "direct", "empty", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, rng := range []string{"bytes=-1", "bytes=-100", "bytes=0-", "bytes=0-0", "bytes=0-10", "bytes=5-", "bytes=-0"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(method+" "+rng, func(t *testing.T) {
				h := map[string]string{"Range": rng}
				minioAnswer := rawRequest(t, nil, m.Endpoint, m.AccessKey, m.SecretKey, method, "/direct/empty", h)
				got := gatewayRequest(t, g, method, "/ranges/empty", h)
				t.Logf("MinIO: %d Content-Range %q; s3seal: %d Content-Range %q", minioAnswer.status, minioAnswer.header.Get("Content-Range"), got.status, got.header.Get("Content-Range"))
				wantStatus, wantRange := minioAnswer.status, []string{minioAnswer.header.Get("Content-Range")}
				switch {
				case strings.HasPrefix(rng, "bytes=-") && rng != "bytes=-0":
					wantStatus, wantRange = http.StatusOK, []string{""}
				case wantStatus == http.StatusRequestedRangeNotSatisfiable:
					wantRange = append(wantRange, "bytes */0")
				}
				if got.status != wantStatus {
					t.Errorf("status %d, want %d", got.status, wantStatus)
				}
				if cr := got.header.Get("Content-Range"); !slices.Contains(wantRange, cr) {
					t.Errorf("Content-Range %q, want one of %q", cr, wantRange)
				}
				if method == http.MethodGet && got.status < 300 && len(got.body) != 0 {
					t.Errorf("body %q, want empty", got.body)
				}
				if cl := got.header.Get("Content-Length"); got.status < 300 && cl != "0" {
					t.Errorf("Content-Length %q, want 0", cl)
				}
			})
		}
	}
}
