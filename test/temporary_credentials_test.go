package test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// readOnlySessionPolicy allows GetObject under sts/ of bucket "temp" only.
const readOnlySessionPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::temp/sts/*"]}]}`

func stsClient(endpoint, accessKey, secretKey string) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
}

func TestAssumeRoleCredentialsFromAWSSDKForGo(t *testing.T) {
	gw, auditPath := startIAMGateway(t)
	ctx := t.Context()
	const bucket = "temp"
	root := gw.Client(t)
	if err := root.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, bucket, "sts/seed.txt", strings.NewReader("seed"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	const roleARN = "arn:aws:iam::000000000000:role/ignored" // the SDK requires one; MinIO's user-credential form ignores it

	var issued aws.Credentials
	t.Run("stscreds.AssumeRoleProvider credentials read and write", func(t *testing.T) {
		provider := stscreds.NewAssumeRoleProvider(stsClient(gw.Endpoint, "writer", writerSecret), roleARN,
			func(o *stscreds.AssumeRoleOptions) { o.Duration = 15 * time.Minute })
		cache := aws.NewCredentialsCache(provider)
		before := time.Now()
		creds, err := cache.Retrieve(ctx)
		if err != nil {
			t.Fatalf("AssumeRole: %v", err)
		}
		issued = creds
		if creds.SessionToken == "" || creds.AccessKeyID == "writer" || !creds.CanExpire {
			t.Fatalf("credentials: key %q, token set %v, expire %v", creds.AccessKeyID, creds.SessionToken != "", creds.CanExpire)
		}
		if d := creds.Expires.Sub(before); d < 14*time.Minute || d > 16*time.Minute {
			t.Errorf("Expiration in %v, want the 15 minutes asked for", d)
		}
		c := harness.S3Client(gw.Endpoint, "", "", func(o *s3.Options) { o.Credentials = cache })
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("sts/by-session.txt"), Body: strings.NewReader("session")}); err != nil {
			t.Fatalf("PutObject with temporary credentials: %v", err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("sts/by-session.txt")})
		if err != nil {
			t.Fatalf("GetObject with temporary credentials: %v", err)
		}
		out.Body.Close()
	})
	t.Run("a session policy narrows them", func(t *testing.T) {
		provider := stscreds.NewAssumeRoleProvider(stsClient(gw.Endpoint, "writer", writerSecret), roleARN,
			func(o *stscreds.AssumeRoleOptions) { o.Policy = aws.String(readOnlySessionPolicy) })
		c := harness.S3Client(gw.Endpoint, "", "", func(o *s3.Options) { o.Credentials = aws.NewCredentialsCache(provider) })
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("sts/seed.txt")})
		if err != nil {
			t.Fatalf("GetObject the policy allows: %v", err)
		}
		out.Body.Close()
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("sts/denied.txt"), Body: strings.NewReader("x")})
		if !isAccessDenied(err) {
			t.Errorf("PutObject outside the session policy: %v, want AccessDenied", err)
		}
	})
	t.Run("a readonly user's session cannot write", func(t *testing.T) {
		provider := stscreds.NewAssumeRoleProvider(stsClient(gw.Endpoint, "reader", readerSecret), roleARN)
		c := harness.S3Client(gw.Endpoint, "", "", func(o *s3.Options) { o.Credentials = aws.NewCredentialsCache(provider) })
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("sts/reader.txt"), Body: strings.NewReader("x")})
		if !isAccessDenied(err) {
			t.Errorf("PutObject by a readonly session: %v, want AccessDenied", err)
		}
	})
	t.Run("altered and forged tokens are refused", func(t *testing.T) {
		b := []byte(issued.SessionToken)
		b[len(b)/3] ^= 1
		for name, token := range map[string]string{"altered": string(b), "forged": "AQ" + strings.Repeat("A", 120), "another key's": ""} {
			if name == "another key's" {
				other, err := stscreds.NewAssumeRoleProvider(stsClient(gw.Endpoint, "writer", writerSecret), roleARN).Retrieve(ctx)
				if err != nil {
					t.Fatal(err)
				}
				token = other.SessionToken
			}
			c := harness.S3Client(gw.Endpoint, "", "", func(o *s3.Options) {
				o.Credentials = credentials.NewStaticCredentialsProvider(issued.AccessKeyID, issued.SecretAccessKey, token)
			})
			_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
			if code := apiErrorCode(err); code != "InvalidTokenId" {
				t.Errorf("%s token: %v, want InvalidTokenId", name, err)
			}
		}
	})
	t.Run("STS errors", func(t *testing.T) {
		c := stsClient(gw.Endpoint, "writer", writerSecret)
		_, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s"), DurationSeconds: aws.Int32(899)})
		if code := apiErrorCode(err); code != "InvalidParameterValue" {
			t.Errorf("DurationSeconds 899: %v, want InvalidParameterValue", err)
		}
		_, err = stsClient(gw.Endpoint, "writer", "wrong-secret").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s")})
		if code := apiErrorCode(err); code != "AccessDenied" {
			t.Errorf("a wrong secret: %v, want AccessDenied", err)
		}
		temp := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(gw.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(issued.AccessKeyID, issued.SecretAccessKey, issued.SessionToken)})
		_, err = temp.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s")})
		if code := apiErrorCode(err); code != "AccessDenied" {
			t.Errorf("AssumeRole with temporary credentials: %v, want AccessDenied", err)
		}
	})
	t.Run("the audit log names the temporary key and its parent, never the secret or token", func(t *testing.T) {
		raw, err := os.ReadFile(auditPath)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range readAuditRecords(t, raw) {
			if r.AccessKey == issued.AccessKeyID && r.ParentUser == "writer" && r.Operation == "PutObject" {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit line for the temporary key's PutObject with parent_user writer")
		}
		for what, secret := range map[string]string{"secret": issued.SecretAccessKey, "token": issued.SessionToken, "parent secret": writerSecret} {
			if strings.Contains(string(raw), secret) || strings.Contains(gw.Output(), secret) {
				t.Errorf("the %s reached the audit log or the gateway's output", what)
			}
		}
	})
}

// boto3AssumeRoleScript assumes a role as argv[2]:argv[3] with the session
// policy argv[5], writes and reads with the credentials, and reports as
// JSON what happened, including the error codes of a write outside the
// session policy and of an altered token. (boto3 itself refuses a
// DurationSeconds below 900, so the server's answer to one is checked with
// aws-sdk-go-v2.)
const boto3AssumeRoleScript = `
import json, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, key, secret, bucket, session_policy = sys.argv[1:6]
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=key, aws_secret_access_key=secret)
out = {}
def s3_with(c, token=None):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                        aws_session_token=token or c["SessionToken"], config=Config(s3={"addressing_style": "path"}))
def code(f):
    try:
        f()
        return ""
    except ClientError as e:
        return e.response["Error"]["Code"]

full = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/ignored", RoleSessionName="boto3", DurationSeconds=900)["Credentials"]
out["expirationSeconds"] = (full["Expiration"] - full["Expiration"].__class__.now(full["Expiration"].tzinfo)).total_seconds()
s3 = s3_with(full)
s3.put_object(Bucket=bucket, Key="sts/boto3.txt", Body=b"boto3 session")
out["read"] = s3.get_object(Bucket=bucket, Key="sts/boto3.txt")["Body"].read().decode()
token = full["SessionToken"]
altered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
out["alteredToken"] = code(lambda: s3_with(full, altered).list_buckets())

narrow = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/ignored", RoleSessionName="boto3",
                         Policy=session_policy)["Credentials"]
ns3 = s3_with(narrow)
out["narrowRead"] = ns3.get_object(Bucket=bucket, Key="sts/boto3.txt")["Body"].read().decode()
out["narrowWrite"] = code(lambda: ns3.put_object(Bucket=bucket, Key="sts/denied.txt", Body=b"x"))
json.dump(out, sys.stdout)
`

func TestAssumeRoleCredentialsFromBoto3(t *testing.T) {
	gw, _ := startIAMGateway(t)
	ctx := t.Context()
	const bucket = "temp"
	if err := gw.Client(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	python := clientsPythonWithBoto3(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "assume_role.py")
	if err := os.WriteFile(script, []byte(boto3AssumeRoleScript), 0o600); err != nil {
		t.Fatal(err)
	}
	r := harness.MustRun(t, python, []string{script, gw.Endpoint, "writer", writerSecret, bucket, readOnlySessionPolicy}, nil, dir)
	var got struct {
		ExpirationSeconds float64 `json:"expirationSeconds"`
		Read              string  `json:"read"`
		AlteredToken      string  `json:"alteredToken"`
		NarrowRead        string  `json:"narrowRead"`
		NarrowWrite       string  `json:"narrowWrite"`
	}
	if err := json.Unmarshal(r.Stdout, &got); err != nil {
		t.Fatalf("script output %q: %v", r.Stdout, err)
	}
	if got.ExpirationSeconds < 880 || got.ExpirationSeconds > 910 {
		t.Errorf("Expiration %v s away, want 900", got.ExpirationSeconds)
	}
	if got.Read != "boto3 session" || got.NarrowRead != "boto3 session" {
		t.Errorf("reads with temporary credentials: %q, %q", got.Read, got.NarrowRead)
	}
	if got.AlteredToken != "InvalidTokenId" {
		t.Errorf("altered token: %q, want InvalidTokenId", got.AlteredToken)
	}
	if got.NarrowWrite != "AccessDenied" {
		t.Errorf("write outside the session policy: %q, want AccessDenied", got.NarrowWrite)
	}
}

// TestTemporaryCredentialsWorkOnEveryReplica: a session token issued by
// one replica is accepted by another over the same backend and KMS (the
// token is self-contained), in a header and in a presigned URL.
func TestTemporaryCredentialsWorkOnEveryReplica(t *testing.T) {
	gw1, _ := startIAMGateway(t)
	gw2 := startIAMReplica(t, gw1)
	ctx := t.Context()
	const bucket = "replicas"
	if err := gw1.Client(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := stsClient(gw1.Endpoint, "writer", writerSecret).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::000000000000:role/ignored"), RoleSessionName: aws.String("replicas")})
	if err != nil {
		t.Fatalf("AssumeRole on replica 1: %v", err)
	}
	creds := out.Credentials
	c2 := harness.S3Client(gw2.Endpoint, "", "", func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken))
	})
	if _, err := c2.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("o"), Body: strings.NewReader("across replicas")}); err != nil {
		t.Fatalf("PutObject on replica 2 with replica 1's credentials: %v", err)
	}
	presigner := s3.NewPresignClient(c2)
	req, err := presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("o")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.URL, "X-Amz-Security-Token=") {
		t.Fatalf("the presigned URL carries no token: %s", req.URL)
	}
	// mc takes temporary credentials as MC_HOST_alias=http://KEY:SECRET:TOKEN@host.
	mc := harness.MC(t, t.TempDir())
	mc.Setenv("MC_HOST_tmp", "http://"+aws.ToString(creds.AccessKeyId)+":"+aws.ToString(creds.SecretAccessKey)+":"+
		aws.ToString(creds.SessionToken)+"@"+strings.TrimPrefix(gw2.Endpoint, "http://"))
	if r := mc.Must(t, "cat", "tmp/"+bucket+"/o"); string(r.Stdout) != "across replicas" {
		t.Errorf("mc cat with temporary credentials: %q", r.Stdout)
	}
	status, body := anonymousDo(t, http.MethodGet, req.URL, nil)
	if status != http.StatusOK || body != "across replicas" {
		t.Errorf("presigned GET with temporary credentials on replica 2: %d %q", status, body)
	}
	status, body = anonymousDo(t, http.MethodGet, strings.Replace(req.URL, "X-Amz-Security-Token=", "X-Amz-Security-Token=A", 1), nil)
	if status != http.StatusForbidden || !strings.Contains(body, "InvalidTokenId") {
		t.Errorf("presigned GET with an altered token: %d %s, want 403 InvalidTokenId", status, body)
	}
}
