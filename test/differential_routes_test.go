package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/gateway"
	"github.com/s3seal/s3seal/test/harness"
)

// routeDifferences are the answers to a request on a missing bucket where
// s3seal deliberately differs from MinIO, by operation, with the reason.
var routeDifferences = map[string]string{
	// s3seal serves these itself or refuses them before the backend.
	"UnsupportedBucketSubresource":   "refused (501) instead of being taken for CreateBucket/DeleteBucket/ListObjects as MinIO's router does",
	"GetObjectLambda":                "not served (501): it would hand object data to a lambda outside s3seal",
	"PutObjectExtract":               "not served (501): MinIO would extract an archive s3seal could never see as plaintext",
	"AppendObject":                   "not served (501): appending to ciphertext cannot work",
	"ListenBucketNotification":       "not served (501)",
	"ListenNotification":             "not served (501)",
	"ResetBucketReplicationStatus":   "not served (501)",
	"ResetBucketReplication":         "not served (501)",
	"GetBucketReplicationMetrics":    "not served (501)",
	"ValidateBucketReplicationCreds": "not served (501)",
	"SelectObjectContent":            "refused on encrypted buckets (501) before the bucket is looked up",
}

// TestEveryRouteAnswersAMissingBucketAsMinIO sends, for every operation of
// s3seal's route table (gateway.Operations, so a new route is covered
// without being listed here), requests with a wrong secret, with an unknown
// access key, and correctly signed naming a bucket that does not exist, to
// MinIO and to s3seal, and compares status and error code.
// Deliberate differences are listed in routeDifferences with the reason.
func TestEveryRouteAnswersAMissingBucketAsMinIO(t *testing.T) {
	oracle := harness.StartMinIO(t)
	gw := harness.StartGateway(t, harness.StartMinIO(t))
	type answer struct {
		status int
		code   string
	}
	// Values for the keys a route only requires to be present.
	values := map[string]string{"partNumber": "1", "uploadId": "missing-upload", "list-type": "2", "select-type": "2", "lambdaArn": "arn:x"}
	send := func(endpoint, ak, sk string, op gateway.Operation, bucket string) answer {
		target := map[string]string{"root": "/", "bucket": "/" + bucket, "object": "/" + bucket + "/key"}[op.Path]
		var body []byte
		if op.Name == "CompleteMultipartUpload" {
			body = []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"0123456789abcdef0123456789abcdef"</ETag></Part></CompleteMultipartUpload>`)
		}
		req, err := http.NewRequestWithContext(t.Context(), op.Method, endpoint+target, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var query []string
		for _, q := range op.Query {
			if v, ok := values[q]; ok {
				q += "=" + v
			}
			query = append(query, q)
		}
		req.URL.RawQuery = strings.Join(query, "&")
		for k, v := range op.Header {
			req.Header[k] = v
		}
		sum := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		req = signer.SignV4(*req, ak, sk, "", "us-east-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", op.Name, err)
		}
		defer resp.Body.Close()
		answerBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var doc struct{ Code string }
		_ = xml.Unmarshal(answerBody, &doc)
		return answer{resp.StatusCode, doc.Code}
	}
	seen := 0
	for i, op := range gateway.Operations() {
		// A bucket of its own: a request MinIO takes for CreateBucket or
		// DeleteBucket must not change what the next one finds.
		bucket := fmt.Sprintf("missing-%d", i)
		if op.Name == "PostObject" || op.Name == "ListBuckets" {
			continue // form authentication; no bucket in the request
		}
		seen++
		// Authentication failures first: a wrong secret, and an unknown
		// key. s3seal authenticates before anything else, by design; MinIO
		// answers some requests before authenticating them (DELETE
		// ?website even succeeds), which s3seal never copies. Where MinIO
		// does refuse the signature, the answers must be the same.
		for _, bad := range []struct{ what, ak, sk, code string }{
			{"wrong secret", "", "not-the-secret", "SignatureDoesNotMatch"},
			{"unknown key", "nobody", "x", "InvalidAccessKeyId"},
		} {
			oak, gak := oracle.AccessKey, gw.AccessKey
			if bad.ak != "" {
				oak, gak = bad.ak, bad.ak
			}
			w, g := send(oracle.Endpoint, oak, bad.sk, op, bucket), send(gw.Endpoint, gak, bad.sk, op, bucket)
			refused := answer{http.StatusForbidden, bad.code}
			if op.Method == http.MethodHead {
				refused.code = "" // no body to name it
			}
			switch {
			case g != refused:
				t.Errorf("%s %s with a %s: s3seal %d %s, want 403 %s", op.Name, op.Method, bad.what, g.status, g.code, bad.code)
			case w.status == http.StatusForbidden && w.code != "" && w != g:
				t.Errorf("%s %s with a %s: MinIO %d %s, s3seal %d %s", op.Name, op.Method, bad.what, w.status, w.code, g.status, g.code)
			case w != g:
				t.Logf("%s with a %s: MinIO answers %d %s before authenticating; s3seal refuses it", op.Name, bad.what, w.status, w.code)
			}
		}
		want, got := send(oracle.Endpoint, oracle.AccessKey, oracle.SecretKey, op, bucket), send(gw.Endpoint, gw.AccessKey, gw.SecretKey, op, bucket)
		if want == got {
			continue
		}
		if reason, ok := routeDifferences[op.Name]; ok {
			t.Logf("%s: MinIO %d %s, s3seal %d %s — by design: %s", op.Name, want.status, want.code, got.status, got.code, reason)
			continue
		}
		t.Errorf("%s %s: MinIO %d %s, s3seal %d %s", op.Name, op.Method, want.status, want.code, got.status, got.code)
	}
	if seen < 80 {
		t.Errorf("only %d operations compared", seen)
	}
}
