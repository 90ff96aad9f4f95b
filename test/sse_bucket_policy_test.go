package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// sseKMSOnlyPolicy denies PUTs to bucket that do not ask for SSE-KMS, and
// those naming a key other than keyID.
func sseKMSOnlyPolicy(bucket, keyID string) string {
	return `{"Version":"2012-10-17","Statement":[
		{"Sid":"DenyNotKMS","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
		{"Sid":"DenyOtherKeys","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"` + keyID + `"},
		              "Null":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"false"}}}]}`
}

// TestSSEBucketPolicyCoversMultipartCopyAndDefaultEncryption extends
// TestBucketPolicyRefusesPutsWithoutSSEKMS (single PUTs from aws-sdk-go-v2,
// minio-go and mc) to multipart uploads, copies and a bucket whose default
// encryption is SSE-KMS.
func TestSSEBucketPolicyCoversMultipartCopyAndDefaultEncryption(t *testing.T) {
	gw, _ := startIAMGateway(t)
	ctx := t.Context()
	const bucket, kmsKey = "kmsonly", "tenant-key"
	gw.CreateKMSKey(t, kmsKey)
	root := gw.Client(t)
	if err := root.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	c := harness.S3Client(gw.Endpoint, "writer", writerSecret)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("src"), Body: strings.NewReader("source")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(sseKMSOnlyPolicy(bucket, kmsKey))}); err != nil {
		t.Fatalf("PutBucketPolicy: %v", err)
	}
	type sse struct {
		alg   types.ServerSideEncryption
		keyID string
	}
	cases := []struct {
		name       string
		sse        sse
		wantDenied bool
	}{
		{"unencrypted", sse{}, true},
		{"SSE-S3", sse{types.ServerSideEncryptionAes256, ""}, true},
		{"SSE-KMS under another key", sse{types.ServerSideEncryptionAwsKms, harness.DefaultKeyName}, true},
		{"SSE-KMS under the key", sse{types.ServerSideEncryptionAwsKms, kmsKey}, false},
	}
	keyIDOf := func(s sse) *string {
		if s.keyID == "" {
			return nil
		}
		return aws.String(s.keyID)
	}
	check := func(t *testing.T, what string, err error, wantDenied bool) {
		t.Helper()
		if wantDenied != isAccessDenied(err) || (!wantDenied && err != nil) {
			t.Errorf("%s: got %v, want denied=%v", what, err, wantDenied)
		}
	}
	for _, tc := range cases {
		t.Run("multipart "+tc.name, func(t *testing.T) {
			key := "mp-" + strings.ReplaceAll(tc.name, " ", "-")
			up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
				ServerSideEncryption: tc.sse.alg, SSEKMSKeyId: keyIDOf(tc.sse)})
			check(t, "CreateMultipartUpload", err, tc.wantDenied)
			if err != nil {
				return
			}
			part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
				PartNumber: aws.Int32(1), Body: strings.NewReader("the only part")})
			if err != nil {
				t.Fatalf("UploadPart of an SSE-KMS upload (its request carries no SSE header): %v", err)
			}
			_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
			if err != nil {
				t.Fatalf("CompleteMultipartUpload: %v", err)
			}
		})
		t.Run("copy "+tc.name, func(t *testing.T) {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy"), CopySource: aws.String(bucket + "/src"),
				ServerSideEncryption: tc.sse.alg, SSEKMSKeyId: keyIDOf(tc.sse)})
			check(t, "CopyObject", err, tc.wantDenied)
		})
	}
	t.Run("default SSE-KMS encryption does not satisfy the policy: the request's headers decide, as on AWS", func(t *testing.T) {
		_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket),
			ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
				ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(kmsKey)},
			}}}})
		if err != nil {
			t.Fatalf("PutBucketEncryption: %v", err)
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("no-headers"), Body: strings.NewReader("x")})
		check(t, "PUT without SSE headers into a default-SSE-KMS bucket", err, true)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("kms-no-key"), Body: strings.NewReader("x"),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms})
		check(t, "PUT asking for aws:kms without a key id (the bucket default's key serves it)", err, false)
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("kms-no-key")})
		if err != nil || strings.TrimPrefix(aws.ToString(head.SSEKMSKeyId), "arn:aws:kms:") != kmsKey {
			t.Errorf("kms-no-key: %v, key %q, want the bucket default %s", err, aws.ToString(head.SSEKMSKeyId), kmsKey)
		}
	})
	t.Run("boto3", func(t *testing.T) {
		python := clientsPythonWithBoto3(t)
		dir := t.TempDir()
		script := filepath.Join(dir, "sse_policy.py")
		if err := os.WriteFile(script, []byte(boto3SSEPolicyScript), 0o600); err != nil {
			t.Fatal(err)
		}
		cli := harness.AWS(t, gw.Endpoint, "writer", writerSecret)
		r := harness.MustRun(t, python, []string{script, gw.Endpoint, bucket, kmsKey, harness.DefaultKeyName}, cli.Env(), dir)
		var got map[string]string
		if err := json.Unmarshal(r.Stdout, &got); err != nil {
			t.Fatalf("script output %q: %v", r.Stdout, err)
		}
		for what, want := range map[string]string{
			"put unencrypted": "AccessDenied", "put SSE-S3": "AccessDenied", "put another key": "AccessDenied", "put the key": "",
			"multipart unencrypted": "AccessDenied", "multipart the key": "",
			"copy unencrypted": "AccessDenied", "copy the key": "",
		} {
			if got[what] != want {
				t.Errorf("boto3 %s: %q, want %q", what, got[what], want)
			}
		}
	})
}

// boto3SSEPolicyScript tries PUTs, multipart uploads (upload_file above
// its threshold) and copies with and without SSE-KMS under argv[3], and
// prints the error code of each ("" for success).
const boto3SSEPolicyScript = `
import json, os, sys, tempfile
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

endpoint, bucket, key_id, other_key = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
def code(f):
    try:
        f()
        return ""
    except ClientError as e:
        return e.response["Error"]["Code"]
    except S3UploadFailedError as e:  # upload_file wraps the ClientError
        return "AccessDenied" if "AccessDenied" in str(e) else str(e)
kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id}
out = {
    "put unencrypted": code(lambda: s3.put_object(Bucket=bucket, Key="b-plain", Body=b"x")),
    "put SSE-S3": code(lambda: s3.put_object(Bucket=bucket, Key="b-s3", Body=b"x", ServerSideEncryption="AES256")),
    "put another key": code(lambda: s3.put_object(Bucket=bucket, Key="b-other", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=other_key)),
    "put the key": code(lambda: s3.put_object(Bucket=bucket, Key="b-kms", Body=b"x", **kms)),
}
MiB = 1024 * 1024
path = os.path.join(tempfile.mkdtemp(), "big")
with open(path, "wb") as f:
    f.write(os.urandom(6 * MiB))
cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
out["multipart unencrypted"] = code(lambda: s3.upload_file(path, bucket, "b-mp-plain", Config=cfg))
out["multipart the key"] = code(lambda: s3.upload_file(path, bucket, "b-mp-kms", Config=cfg, ExtraArgs=kms))
src = {"Bucket": bucket, "Key": "b-kms"}
out["copy unencrypted"] = code(lambda: s3.copy_object(Bucket=bucket, Key="b-copy-plain", CopySource=src))
out["copy the key"] = code(lambda: s3.copy_object(Bucket=bucket, Key="b-copy-kms", CopySource=src, **kms))
json.dump(out, sys.stdout)
`
