package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/test/harness"
)

// Secrets of the static users; none may reach a log.
const (
	readerSecret = "reader-secret-e2e-0001"
	writerSecret = "writer-secret-e2e-0002"
	aliceSecret  = "alice-secret-e2e-0003"
)

const iamConfig = `version: v1
users:
- access_key: reader
  secret_key: ${READER_SECRET}
  policies: [readonly]
- access_key: writer
  secret_key: ${WRITER_SECRET}
  policies: [readwrite]
- access_key: alice
  secret_key: ${ALICE_SECRET}
  policies: [home]
policies:
  home: |
    {"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": ["arn:aws:s3:::*"]},
      {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::shared"],
       "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}}},
      {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
       "Resource": ["arn:aws:s3:::shared/${aws:username}/*"]}]}
`

func startIAMGateway(t *testing.T) (*harness.Gateway, string) {
	t.Helper()
	backend := harness.StartMinIO(t)
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	gw := harness.StartGateway(t, backend,
		harness.WithGatewayConfig(iamConfig),
		harness.WithGatewayEnv("READER_SECRET", readerSecret),
		harness.WithGatewayEnv("WRITER_SECRET", writerSecret),
		harness.WithGatewayEnv("ALICE_SECRET", aliceSecret),
		harness.WithGatewayEnv("S3SEAL_AUDIT_LOG", auditPath),
	)
	return gw, auditPath
}

func isAccessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied"
}

func TestStaticUsersGetExactlyTheirPoliciesRights(t *testing.T) {
	gw, auditPath := startIAMGateway(t)
	ctx := t.Context()
	root := gw.Client(t)
	const bucket = "shared"
	if err := root.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"public.txt", "alice/a.txt", "bob/b.txt"} {
		if _, err := root.PutObject(ctx, bucket, k, strings.NewReader("content of "+k), -1, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("root PUT %s: %v", k, err)
		}
	}
	src := filepath.Join(t.TempDir(), "upload.txt")
	if err := os.WriteFile(src, []byte("uploaded"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("readonly user with mc: reads, cannot write, list or delete", func(t *testing.T) {
		mc := harness.MC(t, t.TempDir())
		mc.AliasSet(t, "ro", gw.Endpoint, "reader", readerSecret)
		if r := mc.Must(t, "cat", "ro/shared/public.txt"); string(r.Stdout) != "content of public.txt" {
			t.Fatalf("mc cat: got %q", r.Stdout)
		}
		// mc cp --quiet reports a refused upload by its exit code only.
		if r := mc.Run(t, "cp", src, "ro/shared/new.txt"); r.ExitCode == 0 {
			t.Errorf("mc cp: got %v, want a failure", r)
		}
		if _, err := root.StatObject(ctx, bucket, "new.txt", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("new.txt after the refused mc cp: %v, want NoSuchKey", err)
		}
		for _, args := range [][]string{{"ls", "ro/shared/"}, {"rm", "ro/shared/public.txt"}} {
			r := mc.JSON(t, args...)
			if r.ExitCode == 0 || !strings.Contains(string(r.Stdout)+r.Stderr, "Access Denied") {
				t.Errorf("mc %v: got %v, want Access Denied", args, r)
			}
		}
		if _, err := root.StatObject(ctx, bucket, "public.txt", minio.StatObjectOptions{}); err != nil {
			t.Errorf("public.txt after the refused mc rm: %v", err)
		}
	})

	t.Run("readwrite user with minio-go: everything", func(t *testing.T) {
		c := harness.MinioGoClient(t, gw.Endpoint, "writer", writerSecret, "")
		big := harness.RandomBytes(t, 6<<20)
		if _, err := c.PutObject(ctx, bucket, "w/big.bin", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
			t.Fatalf("multipart PutObject: %v", err)
		}
		assertObjectReads(t, c, bucket, "w/big.bin", minio.GetObjectOptions{}, big)
		if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: "w/copy.txt"}, minio.CopySrcOptions{Bucket: bucket, Object: "bob/b.txt"}); err != nil {
			t.Fatalf("CopyObject: %v", err)
		}
		n := 0
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatalf("ListObjects: %v", o.Err)
			}
			n++
		}
		if n != 5 {
			t.Errorf("listed %d objects, want 5", n)
		}
		if err := c.RemoveObject(ctx, bucket, "w/copy.txt", minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("RemoveObject: %v", err)
		}
	})

	t.Run("prefix-scoped user with aws-sdk-go-v2: only her prefix", func(t *testing.T) {
		c := harness.S3Client(gw.Endpoint, "alice", aliceSecret)
		check := func(what string, err error, wantDenied bool) {
			t.Helper()
			switch {
			case wantDenied && !isAccessDenied(err):
				t.Errorf("%s: got %v, want AccessDenied", what, err)
			case !wantDenied && err != nil:
				t.Errorf("%s: %v", what, err)
			}
		}
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("alice/")})
		check("list alice/", err, false)
		_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		check("list the bucket", err, true)
		_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("bob/")})
		check("list bob/", err, true)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("alice/a.txt")})
		check("get alice/a.txt", err, false)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("bob/b.txt")})
		check("get bob/b.txt", err, true)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("alice/new.txt"), Body: strings.NewReader("new")})
		check("put alice/new.txt", err, false)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("bob/new.txt"), Body: strings.NewReader("new")})
		check("put bob/new.txt", err, true)
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("alice/copy.txt"), CopySource: aws.String(bucket + "/alice/a.txt")})
		check("copy alice/a.txt to alice/copy.txt", err, false)
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("alice/stolen.txt"), CopySource: aws.String(bucket + "/bob/b.txt")})
		check("copy bob/b.txt to alice/stolen.txt", err, true)
		_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("bob/mp.bin")})
		check("multipart upload to bob/", err, true)

		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("alice/mp.bin")})
		if err != nil {
			t.Fatalf("CreateMultipartUpload alice/mp.bin: %v", err)
		}
		part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("alice/mp.bin"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: strings.NewReader("part one")})
		if err != nil {
			t.Fatalf("UploadPart: %v", err)
		}
		_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(bucket), Key: aws.String("alice/mp.bin"), UploadId: up.UploadId,
			PartNumber: aws.Int32(2), CopySource: aws.String(bucket + "/bob/b.txt")})
		check("UploadPartCopy from bob/", err, true)
		_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("alice/mp.bin"), UploadId: up.UploadId})
		check("ListParts", err, false)
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("alice/mp.bin"), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
		check("CompleteMultipartUpload", err, false)

		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("bob/b.txt")})
		check("delete bob/b.txt", err, true)
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("alice/new.txt")})
		check("delete alice/new.txt", err, false)
		if _, err := root.StatObject(ctx, bucket, "bob/b.txt", minio.StatObjectOptions{}); err != nil {
			t.Errorf("bob/b.txt after alice's refused delete: %v", err)
		}
	})

	t.Run("the audit log names the user, never a secret", func(t *testing.T) {
		gw.Stop(t)
		raw, err := os.ReadFile(auditPath)
		if err != nil {
			t.Fatal(err)
		}
		recs := readAuditRecords(t, raw)
		for _, want := range []auditRecord{
			{AccessKey: "alice", Operation: "PutObject", Object: "alice/new.txt", Status: 200},
			{AccessKey: "alice", Operation: "GetObject", Object: "bob/b.txt", Status: 403},
			{AccessKey: "reader", Operation: "GetObject", Object: "public.txt", Status: 200},
			{AccessKey: "writer", Operation: "CompleteMultipartUpload", Object: "w/big.bin", Status: 200},
		} {
			if !slices.ContainsFunc(recs, func(r auditRecord) bool {
				return r.AccessKey == want.AccessKey && r.Operation == want.Operation && r.Object == want.Object && r.Status == want.Status
			}) {
				t.Errorf("no audit line for %+v", want)
			}
		}
		for _, secret := range []string{readerSecret, writerSecret, aliceSecret} {
			if strings.Contains(string(raw), secret) || strings.Contains(gw.Logs(), secret) {
				t.Errorf("a user's secret reached the audit log or the log")
			}
		}
	})
}

func TestBucketPolicyRefusesPutsWithoutSSEKMS(t *testing.T) {
	gw, _ := startIAMGateway(t)
	ctx := t.Context()
	const bucket, kmsKey = "kmsonly", "tenant-key"
	gw.CreateKMSKey(t, kmsKey)
	root := gw.Client(t)
	if err := root.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	policyDoc := `{"Version":"2012-10-17","Statement":[
		{"Sid":"DenyNotKMS","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::kmsonly/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
		{"Sid":"DenyOtherKeys","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::kmsonly/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"tenant-key"},
		              "Null":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"false"}}}]}`
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "w", gw.Endpoint, "writer", writerSecret)
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(policyDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	mc.Must(t, "anonymous", "set-json", policyFile, "w/kmsonly")
	if got, err := root.GetBucketPolicy(ctx, bucket); err != nil || !strings.Contains(got, "DenyNotKMS") {
		t.Fatalf("GetBucketPolicy: %q, %v", got, err)
	}
	if got, _ := gw.Backend.Client(t).GetBucketPolicy(ctx, bucket); got != "" {
		t.Errorf("the bucket policy reached the backend: %s", got)
	}

	c := harness.S3Client(gw.Endpoint, "writer", writerSecret)
	put := func(key string, sse types.ServerSideEncryption, keyID string) error {
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("data")}
		if sse != "" {
			in.ServerSideEncryption = sse
		}
		if keyID != "" {
			in.SSEKMSKeyId = aws.String(keyID)
		}
		_, err := c.PutObject(ctx, in)
		return err
	}
	for _, tc := range []struct {
		name       string
		sse        types.ServerSideEncryption
		keyID      string
		wantDenied bool
	}{
		{"unencrypted", "", "", true},
		{"SSE-S3", types.ServerSideEncryptionAes256, "", true},
		{"SSE-KMS under another key", types.ServerSideEncryptionAwsKms, harness.DefaultKeyName, true},
		{"SSE-KMS under the key", types.ServerSideEncryptionAwsKms, kmsKey, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := put("o", tc.sse, tc.keyID)
			if tc.wantDenied != isAccessDenied(err) || (!tc.wantDenied && err != nil) {
				t.Fatalf("got %v, want denied=%v", err, tc.wantDenied)
			}
		})
	}
	t.Run("root is refused too", func(t *testing.T) {
		if _, err := root.PutObject(ctx, bucket, "r", strings.NewReader("x"), 1, minio.PutObjectOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
			t.Fatalf("root unencrypted PUT: %v, want AccessDenied", err)
		}
		sse, _ := encrypt.NewSSEKMS(kmsKey, nil)
		if _, err := root.PutObject(ctx, bucket, "r", strings.NewReader("x"), 1, minio.PutObjectOptions{ServerSideEncryption: sse}); err != nil {
			t.Fatalf("root SSE-KMS PUT: %v", err)
		}
	})
	t.Run("mc cp with SSE-KMS passes, without is refused", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "f.txt")
		if err := os.WriteFile(src, []byte("file"), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := mc.Run(t, "cp", src, "w/kmsonly/plain.txt"); r.ExitCode == 0 {
			t.Errorf("mc cp without encryption: %v, want a failure", r)
		}
		if _, err := root.StatObject(ctx, bucket, "plain.txt", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("plain.txt after the refused mc cp: %v, want NoSuchKey", err)
		}
		mc.Must(t, "cp", "--enc-kms", "w/kmsonly/="+kmsKey, src, "w/kmsonly/kms.txt")
		info, err := root.StatObject(ctx, bucket, "kms.txt", minio.StatObjectOptions{})
		if err != nil || info.Metadata.Get("X-Amz-Server-Side-Encryption") != "aws:kms" {
			t.Errorf("kms.txt: %v, SSE %q", err, info.Metadata.Get("X-Amz-Server-Side-Encryption"))
		}
	})
	t.Run("mc anonymous set download: its Allow lets a readonly user list", func(t *testing.T) {
		ro := harness.MC(t, t.TempDir())
		ro.AliasSet(t, "ro", gw.Endpoint, "reader", readerSecret)
		if r := ro.JSON(t, "ls", "ro/kmsonly/"); r.ExitCode == 0 {
			t.Fatalf("readonly user listed before the bucket policy allowed it: %v", r)
		}
		mc.Must(t, "anonymous", "set", "download", "w/kmsonly")
		if r := mc.Must(t, "anonymous", "get", "w/kmsonly"); !strings.Contains(string(r.Stdout), "download") {
			t.Errorf("mc anonymous get: %s, want download", r.Stdout)
		}
		if r := ro.Must(t, "ls", "ro/kmsonly/"); !strings.Contains(string(r.Stdout), "kms.txt") {
			t.Errorf("mc ls as the readonly user: %s, want kms.txt listed", r.Stdout)
		}
	})
	t.Run("root removes the policy and plain PUTs pass again", func(t *testing.T) {
		if err := root.SetBucketPolicy(ctx, bucket, ""); err != nil {
			t.Fatalf("delete policy: %v", err)
		}
		if err := put("plain", "", ""); err != nil {
			t.Fatalf("PUT after the policy is gone: %v", err)
		}
	})
}

func TestBucketPolicyChangeReachesEveryReplicaWithinTheCacheBound(t *testing.T) {
	gw1, _ := startIAMGateway(t)
	gw2 := startIAMReplica(t, gw1)
	ctx := t.Context()
	const bucket = "replicated"
	c1 := harness.S3Client(gw1.Endpoint, "writer", writerSecret)
	c2 := harness.S3Client(gw2.Endpoint, "writer", writerSecret)
	if _, err := c1.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	plainPut := func(c *s3.Client) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("o"), Body: strings.NewReader("x")})
		return err
	}
	// Replica 2 now caches "no policy".
	if err := plainPut(c2); err != nil {
		t.Fatalf("PUT before any policy: %v", err)
	}
	policyDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::replicated/*",
		"Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}`
	if _, err := c1.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policyDoc)}); err != nil {
		t.Fatalf("PutBucketPolicy: %v", err)
	}
	set := time.Now()
	if err := plainPut(c1); !isAccessDenied(err) {
		t.Fatalf("replica 1 right after the change: %v, want AccessDenied", err)
	}
	harness.Eventually(t, 10*time.Second, func(context.Context) error {
		if err := plainPut(c2); !isAccessDenied(err) {
			return fmt.Errorf("replica 2 still accepts a plain PUT (%v)", err)
		}
		return nil
	})
	took := time.Since(set)
	t.Logf("replica 2 enforced the new policy after %v", took.Round(10*time.Millisecond))
	// The documented bound: BucketConfigTTL (5 s), plus polling slack.
	if took > 6*time.Second {
		t.Errorf("replica 2 took %v, more than the documented 5 s bound", took)
	}
}

// startIAMReplica starts a second gateway with gw1's configuration, users
// and key store over gw1's backend: another replica of the same service.
func startIAMReplica(t *testing.T, gw1 *harness.Gateway) *harness.Gateway {
	t.Helper()
	return harness.StartGateway(t, gw1.Backend,
		harness.WithGatewayConfig(iamConfig),
		harness.WithGatewayEnv("READER_SECRET", readerSecret),
		harness.WithGatewayEnv("WRITER_SECRET", writerSecret),
		harness.WithGatewayEnv("ALICE_SECRET", aliceSecret),
		harness.WithGatewayEnv("S3SEAL_KMS_DIR", gw1.KMSDir),
	)
}
