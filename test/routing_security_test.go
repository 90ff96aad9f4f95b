package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/test/harness"
)

// TestSignedRequestsCannotBypassEncryption replays, against a real MinIO
// behind s3seal, request shapes with which a client holding valid gateway
// credentials could make the backend execute another operation than the
// one s3seal decided on: encoded query keys, MinIO's route precedence,
// headers on passed-through operations, and the backend's admin API.
func TestSignedRequestsCannotBypassEncryption(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend, harness.WithPlaintextBuckets("plainbucket"))
	ctx := t.Context()
	direct := backend.Client(t)
	through := gw.Client(t)
	for _, b := range []string{"enc", "plainbucket"} {
		if err := through.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	secret := []byte("plaintext that must never reach the backend of an encrypted bucket; ")
	secret = bytes.Repeat(secret, 200)

	// assertSealedOnBackend fails if the backend holds object in the
	// encrypted bucket with the secret readable in it.
	assertSealedOnBackend := func(t *testing.T, object string) {
		t.Helper()
		o, err := direct.GetObject(ctx, "enc", object, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := io.ReadAll(o)
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, _, found := harness.FindPlaintextRun(stored, secret); found {
			t.Fatalf("the backend stores enc/%s with plaintext in it", object)
		}
	}

	t.Run("encoded multipart keys are the multipart operations the backend executes", func(t *testing.T) {
		resp := signedRequest(t, gw, http.MethodPost, "/enc/mp?%75ploads", nil, nil)
		wantStatus(t, resp, http.StatusOK)
		var created struct{ UploadId string }
		if err := xml.Unmarshal(resp.body, &created); err != nil || created.UploadId == "" {
			t.Fatalf("CreateMultipartUpload answer %q: %v", resp.body, err)
		}
		resp = signedRequest(t, gw, http.MethodPut, "/enc/mp?%70artNumber=1&%75ploadId="+created.UploadId+"&tagging", nil, secret)
		wantStatus(t, resp, http.StatusOK)
		etag := resp.header.Get("ETag")
		complete := `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + etag + `</ETag></Part></CompleteMultipartUpload>`
		resp = signedRequest(t, gw, http.MethodPost, "/enc/mp?%75ploadId="+created.UploadId, nil, []byte(complete))
		wantStatus(t, resp, http.StatusOK)
		assertSealedOnBackend(t, "mp")
		got := readThrough(t, through, "enc", "mp")
		if !bytes.Equal(got, secret) {
			t.Fatalf("read back %d bytes, want the %d bytes written", len(got), len(secret))
		}
	})

	t.Run("a copy source on an object-lock operation is a copy s3seal performs", func(t *testing.T) {
		if _, err := through.PutObject(ctx, "plainbucket", "src", bytes.NewReader(secret), int64(len(secret)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, sub := range []string{"retention", "legal-hold"} {
			resp := signedRequest(t, gw, http.MethodPut, "/enc/copied-"+sub+"?"+sub, http.Header{"X-Amz-Copy-Source": {"/plainbucket/src"}}, nil)
			wantStatus(t, resp, http.StatusOK)
			assertSealedOnBackend(t, "copied-"+sub)
			if got := readThrough(t, through, "enc", "copied-"+sub); !bytes.Equal(got, secret) {
				t.Fatalf("copy read back %d bytes, want %d", len(got), len(secret))
			}
		}
	})

	t.Run("reserved and directive headers never ride on passed-through operations", func(t *testing.T) {
		if _, err := through.PutObject(ctx, "enc", "tagged", bytes.NewReader(secret), int64(len(secret)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		before, err := direct.StatObject(ctx, "enc", "tagged", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tagging := []byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`)
		resp := signedRequest(t, gw, http.MethodPut, "/enc/tagged?tagging", http.Header{
			"X-Amz-Meta-S3seal-Key":    {"forged"},
			"X-Amz-Copy-Source":        {"plainbucket/src"},
			"X-Amz-Metadata-Directive": {"REPLACE"},
		}, tagging)
		if resp.status != http.StatusOK && resp.status != http.StatusBadRequest {
			t.Fatalf("PutObjectTagging with forged headers: %d %s", resp.status, resp.body)
		}
		after, err := direct.StatObject(ctx, "enc", "tagged", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if after.ETag != before.ETag || after.Size != before.Size {
			t.Fatalf("backend object changed: %s/%d → %s/%d", before.ETag, before.Size, after.ETag, after.Size)
		}
		for k, v := range after.Metadata {
			if strings.EqualFold(k, "X-Amz-Meta-S3seal-Key") && v[0] == "forged" {
				t.Fatal("a client-supplied reserved header reached the backend")
			}
		}
		if got := readThrough(t, through, "enc", "tagged"); !bytes.Equal(got, secret) {
			t.Fatal("object no longer reads back")
		}
	})

	t.Run("an encoded bucket subresource does not delete the bucket's encryption", func(t *testing.T) {
		cfg := `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`
		wantStatus(t, signedRequest(t, gw, http.MethodPut, "/enc?encryption", nil, []byte(cfg)), http.StatusOK)
		resp := signedRequest(t, gw, http.MethodDelete, "/enc?%70olicy", nil, nil)
		if resp.status != http.StatusNoContent && resp.status != http.StatusNotFound {
			t.Fatalf("DeleteBucketPolicy: %d %s", resp.status, resp.body)
		}
		wantStatus(t, signedRequest(t, gw, http.MethodGet, "/enc?encryption", nil, nil), http.StatusOK)
		if _, err := direct.BucketExists(ctx, "enc"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the backend's admin API is never reachable", func(t *testing.T) {
		for _, tc := range []struct{ method, target string }{
			{http.MethodGet, "/minio/admin/v3/info"},
			{http.MethodPost, "/minio/admin/v3/service?action=stop"},
			{http.MethodPost, "/minio/admin/v3/service?action=restart"},
			{http.MethodGet, "/minio/v2/metrics/cluster"},
			{http.MethodGet, "/minio/admin/v3/accountinfo"},
			{http.MethodPut, "/minio/admin/v3/set-config-kv"},
		} {
			resp := signedRequest(t, gw, tc.method, tc.target, nil, nil)
			if resp.status != http.StatusNotImplemented || !bytes.Contains(resp.body, []byte("<Code>NotImplemented</Code>")) {
				t.Errorf("%s %s: %d %s, want 501 NotImplemented", tc.method, tc.target, resp.status, resp.body)
			}
		}
		if _, err := direct.ListBuckets(ctx); err != nil {
			t.Fatalf("the backend is down after the admin requests: %v", err)
		}
	})

	t.Run("ambiguous and unknown requests are refused", func(t *testing.T) {
		for _, tc := range []struct {
			method, target string
			status         int
			code           string
		}{
			{http.MethodPut, "/enc/o?partNumber=1&uploadId=a&uploadId=b", http.StatusBadRequest, "InvalidArgument"},
			{http.MethodGet, "/enc?list-type=2&prefix=a&prefix=b", http.StatusBadRequest, "InvalidArgument"},
			{http.MethodGet, "/enc/o?%zz", http.StatusBadRequest, "InvalidArgument"},
			{http.MethodPatch, "/enc/o", http.StatusNotImplemented, "NotImplemented"},
			{http.MethodPost, "/enc/o", http.StatusNotImplemented, "NotImplemented"},
			{http.MethodPut, "/enc?inventory", http.StatusNotImplemented, "NotImplemented"},
			{http.MethodGet, "/enc/a/../../plainbucket/src", http.StatusBadRequest, "XMinioInvalidObjectName"},
		} {
			resp := signedRequest(t, gw, tc.method, tc.target, nil, nil)
			if resp.status != tc.status || !bytes.Contains(resp.body, []byte("<Code>"+tc.code+"</Code>")) {
				t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.target, resp.status, resp.body, tc.status, tc.code)
			}
		}
		wantPlaintextOnly := func(object string) {
			if _, err := direct.StatObject(ctx, "enc", object, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
				t.Errorf("enc/%s exists on the backend after a refused request (%v)", object, err)
			}
		}
		wantPlaintextOnly("o")
	})
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// signedRequest sends a request signed for the gateway's root user with
// exactly the raw path and query given (SigV4 signs the decoded query, so
// an encoded key is as valid as the plain one).
func signedRequest(t *testing.T, gw *harness.Gateway, method, target string, header http.Header, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, gw.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	path, query, _ := strings.Cut(target, "?")
	req.URL.Opaque = ""
	req.URL.Path = path
	req.URL.RawPath = path
	req.URL.RawQuery = query
	for k, v := range header {
		req.Header[k] = v
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req.ContentLength = int64(len(body))
	req = signer.SignV4(*req, gw.AccessKey, gw.SecretKey, "", "us-east-1")
	// The signer re-encodes the query it signed; send it as written.
	req.URL.RawQuery = query
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func wantStatus(t *testing.T, r rawResponse, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d (%s), want %d", r.status, r.body, status)
	}
}

func readThrough(t *testing.T, c *minio.Client, bucket, object string) []byte {
	t.Helper()
	o, err := c.GetObject(t.Context(), bucket, object, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, object, err)
	}
	return b
}
