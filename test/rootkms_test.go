package test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// Root KMS end to end: the gateway's key store configured in the config
// file (KES vocabulary) against real key-management peers — AWS Secrets
// Manager and AWS KMS emulated by moto_server, and a real KES server — with
// the real mc client in front. This file holds what the AWS
// (rootkms_aws_test.go) and KES (rootkms_kes_test.go) tests share.

// rootkmsMCFlow runs, with mc against alias, the flow of a user who creates
// a KMS key and makes it a bucket's default: admin kms key
// create/status/list, mb, encrypt set SSE-KMS, cp, stat, cat, ls. It checks
// that the backend holds ciphertext and returns what it uploaded.
// alsoListed are keys `mc admin kms key list` must show besides key.
func rootkmsMCFlow(t *testing.T, mc *harness.MCClient, alias string, backend *harness.MinIO, bucket, key string, alsoListed ...string) map[string][]byte {
	t.Helper()
	target := alias + "/" + bucket
	t.Run("admin kms key create", func(t *testing.T) {
		mc.Must(t, "admin", "kms", "key", "create", alias, key)
	})
	t.Run("admin kms key status", func(t *testing.T) {
		assertKMSKeyStatusOK(t, mc, alias, key)
	})
	t.Run("admin kms key list", func(t *testing.T) {
		assertKMSKeysListed(t, mc, alias, append([]string{key}, alsoListed...)...)
	})
	t.Run("mb and encrypt set SSE-KMS", func(t *testing.T) {
		mc.Must(t, "mb", target)
		var got struct{ Status string }
		harness.DecodeJSON(t, mc.JSON(t, "encrypt", "set", "SSE-KMS", key, target), &got)
		if got.Status != "success" {
			t.Errorf("mc encrypt set --json status = %q, want success", got.Status)
		}
	})

	objects := map[string][]byte{"file": harness.RandomBytes(t, 100*1024+3), "one-byte": {0x5a}}
	dir := t.TempDir()
	for name, data := range objects {
		t.Run("cp stat cat ls of "+name, func(t *testing.T) {
			file := filepath.Join(dir, name)
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			mc.Must(t, "cp", file, target+"/"+name)
			st := mcflowStat(t, mc, target+"/"+name)
			if st.Size != int64(len(data)) {
				t.Errorf("mc stat size = %d, want %d", st.Size, len(data))
			}
			for header, want := range map[string]string{
				"X-Amz-Server-Side-Encryption":                "aws:kms",
				"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "arn:aws:kms:" + key,
			} {
				if got := st.Metadata[header]; got != want {
					t.Errorf("mc stat --json metadata %s = %q, want %q", header, got, want)
				}
			}
			if got, want := mcflowEncryptionLine(t, mc, target+"/"+name), "SSE-KMS (arn:aws:kms:"+key+")"; got != want {
				t.Errorf("mc stat Encryption line = %q, want %q", got, want)
			}
			assertSameBytes(t, "mc cat "+name, mc.Must(t, "cat", target+"/"+name).Stdout, data)
			if size, ok := mcListSizes(t, mc, target+"/")[name]; !ok || size != int64(len(data)) {
				t.Errorf("mc ls --json size of %s = %d (listed %v), want %d", name, size, ok, len(data))
			}
			mcflowAssertDARE(t, backend.Client(t), bucket, name, data)
		})
	}
	return objects
}

// rootkmsStartGateway starts the gateway with config as its config file
// and no S3SEAL_KMS_DIR (an empty value counts as unset), so the file's key
// store is the only one. env holds extra variables as name, value pairs,
// e.g. what the file's ${VAR} references name.
func rootkmsStartGateway(t *testing.T, backend *harness.MinIO, config string, env ...string) *harness.Gateway {
	t.Helper()
	opts := []harness.GatewayOption{
		harness.WithGatewayEnv("S3SEAL_KMS_DIR", ""),
		harness.WithGatewayConfig(config),
	}
	for i := 0; i+1 < len(env); i += 2 {
		opts = append(opts, harness.WithGatewayEnv(env[i], env[i+1]))
	}
	return harness.StartGateway(t, backend, opts...)
}

// rootkmsPutKMS uploads data with SSE-KMS under key and fails on error.
func rootkmsPutKMS(t *testing.T, c *s3.Client, bucket, name, key string, data []byte) {
	t.Helper()
	_, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String(name),
		Body:                 bytes.NewReader(data),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
		SSEKMSKeyId:          aws.String(key),
	})
	if err != nil {
		t.Fatalf("PUT %s/%s with SSE-KMS key %s: %v", bucket, name, key, err)
	}
}

// rootkmsGet reads bucket/name through c and fails on error.
func rootkmsGet(t *testing.T, c *s3.Client, bucket, name string) []byte {
	t.Helper()
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(name)})
	if err != nil {
		t.Fatalf("GET %s/%s: %v", bucket, name, err)
	}
	defer out.Body.Close()
	return readAllOrFatal(t, bucket+"/"+name, out.Body)
}

// rootkmsWantS3Error fails unless err is an S3 error with the HTTP status
// and code.
func rootkmsWantS3Error(t *testing.T, what string, err error, wantStatus int, wantCode string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %d %s", what, wantStatus, wantCode)
		return
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if code := apiErrorCode(err); status != wantStatus || code != wantCode {
		t.Errorf("%s: got %d %s (%v), want %d %s", what, status, code, err, wantStatus, wantCode)
	}
}

// rootkmsAssertNotOnBackend fails unless bucket/name is absent from the
// backend and no multipart upload of it is pending.
func rootkmsAssertNotOnBackend(t *testing.T, direct *minio.Client, bucket, name string) {
	t.Helper()
	info, err := direct.StatObject(t.Context(), bucket, name, minio.StatObjectOptions{})
	if err == nil {
		t.Errorf("backend has %s/%s (%d bytes), want no object", bucket, name, info.Size)
	} else if code := minio.ToErrorResponse(err).Code; code != "NoSuchKey" {
		t.Errorf("backend StatObject %s/%s: %v, want NoSuchKey", bucket, name, err)
	}
	for u := range direct.ListIncompleteUploads(t.Context(), bucket, name, false) {
		if u.Err != nil {
			t.Errorf("backend ListIncompleteUploads %s/%s: %v", bucket, name, u.Err)
			break
		}
		t.Errorf("backend has a pending multipart upload %s of %s/%s, want none", u.UploadID, bucket, u.Key)
	}
}

// rootkmsWaitReadiness polls the gateway's readiness probe until it answers
// want, and fails the test if it does not within timeout.
func rootkmsWaitReadiness(t *testing.T, endpoint string, want int, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 15 * time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, endpoint+"/minio/health/ready", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness of %s: got %s for %v, want %d", endpoint, last, timeout, want)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rootkmsAssertRefusedDuringOutage: an SSE-KMS PUT that needs the
// unreachable key store is refused with 503 and stores nothing.
func rootkmsAssertRefusedDuringOutage(t *testing.T, s3c *s3.Client, direct *minio.Client, bucket, key, kmsKey string) {
	t.Helper()
	_, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(harness.RandomBytes(t, 4096)),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
		SSEKMSKeyId:          aws.String(kmsKey),
	})
	rootkmsWantS3Error(t, "PUT SSE-KMS during the outage", err, http.StatusServiceUnavailable, "KMS.KMSInternalException")
	rootkmsAssertNotOnBackend(t, direct, bucket, key)
}

// rootkmsAssertRecovery: once the key store is back, readiness returns to
// 200 in the same gateway process and a freshly created key works.
func rootkmsAssertRecovery(t *testing.T, gw *harness.Gateway, s3c *s3.Client, direct *minio.Client, bucket, newKey string) {
	t.Run("readiness returns to 200 without restarting the gateway", func(t *testing.T) {
		rootkmsWaitReadiness(t, gw.Endpoint, http.StatusOK, time.Minute)
		if gw.Exited() {
			t.Errorf("the gateway process exited during the outage, want it to keep running")
		}
	})
	t.Run("a freshly created key works", func(t *testing.T) {
		mc := harness.MC(t, t.TempDir())
		mc.AliasSet(t, "gw", gw.Endpoint, gw.AccessKey, gw.SecretKey)
		mc.Must(t, "admin", "kms", "key", "create", "gw", newKey)
		data := harness.RandomBytes(t, 20*1024+3)
		rootkmsPutKMS(t, s3c, bucket, "after-recovery", newKey, data)
		assertSameBytes(t, "GET after recovery", rootkmsGet(t, s3c, bucket, "after-recovery"), data)
		mcflowAssertDARE(t, direct, bucket, "after-recovery", data)
	})
}

// rootkmsKESConfig is a gateway config whose key store is the KES server at
// endpoint (trusting caFile), authenticated by the API key in $KES_API_KEY,
// with key created at startup.
func rootkmsKESConfig(key, endpoint, caFile string) string {
	return fmt.Sprintf(`version: v1
kms:
  keys:
  - name: %s
  keystore:
    kes:
      endpoint: [%s]
      apikey: ${KES_API_KEY}
      tls:
        ca: %s
`, key, endpoint, caFile)
}

// rootkmsAWSKeystore is the kms.keystore section of a gateway config for
// Secrets Manager at endpoint, sealed by kmsKeyID, with the credentials in
// $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY.
func rootkmsAWSKeystore(endpoint, kmsKeyID string) string {
	return fmt.Sprintf(`  keystore:
    aws:
      secretsmanager:
        endpoint: %s
        region: us-east-1
        kmskey: %s
        credentials:
          accesskey: ${AWS_ACCESS_KEY_ID}
          secretkey: ${AWS_SECRET_ACCESS_KEY}
`, endpoint, kmsKeyID)
}
