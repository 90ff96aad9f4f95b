package test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/s3seal/s3seal/test/harness"
)

// TestSignatureV2Clients runs real clients that sign with Signature
// Version 2 (minio-go with V2 credentials, boto3 with the "s3" signer)
// through s3seal: writes are encrypted on the backend and read back
// exactly, presigned V2 URLs work, and a tampered one is refused.
func TestSignatureV2Clients(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	ctx := t.Context()
	host := gw.Endpoint[len("http://"):]
	c, err := minio.New(host, &minio.Options{Creds: credentials.NewStaticV2(gw.AccessKey, gw.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "sigv2"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket (V2): %v", err)
	}
	data := harness.RandomBytes(t, 17<<20+12345)
	for _, tc := range []struct {
		key      string
		partSize uint64
	}{{"single", 0}, {"multipart", 5 << 20}} {
		opts := minio.PutObjectOptions{PartSize: tc.partSize, UserMetadata: map[string]string{"client": "v2"}}
		if tc.partSize == 0 {
			opts.DisableMultipart = true
		}
		if _, err := c.PutObject(ctx, bucket, tc.key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
			t.Fatalf("PutObject %s (V2): %v", tc.key, err)
		}
		o, err := c.GetObject(ctx, bucket, tc.key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(o)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetObject %s (V2): %d bytes, %v", tc.key, len(got), err)
		}
		ranged := minio.GetObjectOptions{}
		_ = ranged.SetRange(70000, 70099)
		o, err = c.GetObject(ctx, bucket, tc.key, ranged)
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(o)
		if err != nil || !bytes.Equal(got, data[70000:70100]) {
			t.Fatalf("ranged GetObject %s (V2): %d bytes, %v", tc.key, len(got), err)
		}
		stored, err := backend.Client(t).GetObject(ctx, bucket, tc.key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(stored)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, found := harness.FindPlaintextRun(raw, data); found {
			t.Fatalf("%s is stored with plaintext on the backend", tc.key)
		}
	}
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{}) {
		if obj.Err != nil {
			t.Fatalf("ListObjects (V2): %v", obj.Err)
		}
		if obj.Size != int64(len(data)) {
			t.Errorf("listed %s with %d bytes, want %d", obj.Key, obj.Size, len(data))
		}
	}

	u, err := c.PresignedGetObject(ctx, bucket, "single", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(url string) (int, []byte) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, body := get(u.String()); status != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("presigned V2 GET: %d, %d bytes", status, len(body))
	}
	if status, _ := get(u.String() + "&tagging"); status != http.StatusForbidden {
		t.Errorf("presigned V2 GET with an added subresource: %d, want 403", status)
	}

	// A browser form signed with Signature Version 2 (minio-go's
	// PresignedPostPolicy with V2 credentials).
	policy := minio.NewPostPolicy()
	_ = policy.SetBucket(bucket)
	_ = policy.SetKey("form/upload.txt")
	_ = policy.SetExpires(time.Now().Add(time.Hour))
	_ = policy.SetContentLengthRange(1, 1<<20)
	postURL, fields, err := c.PresignedPostPolicy(ctx, policy)
	if err != nil {
		t.Fatal(err)
	}
	if fields["AWSAccessKeyId"] == "" || fields["signature"] == "" {
		t.Fatalf("minio-go's V2 form has fields %v, want AWSAccessKeyId and signature", fields)
	}
	post := func(fields map[string]string) int {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		fw, _ := w.CreateFormFile("file", "upload.txt")
		_, _ = fw.Write([]byte("uploaded with a V2 form"))
		_ = w.Close()
		resp, err := http.Post(postURL.String(), w.FormDataContentType(), &b)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := post(fields); status != http.StatusNoContent {
		t.Fatalf("V2 form upload: %d, want 204", status)
	}
	if got := harness.ReadObject(t, c, bucket, "form/upload.txt", minio.GetObjectOptions{}); string(got) != "uploaded with a V2 form" {
		t.Errorf("V2 form upload read back %q", got)
	}
	forged := map[string]string{}
	for k, v := range fields {
		forged[k] = v
	}
	forged["signature"] = base64.StdEncoding.EncodeToString(make([]byte, 20))
	if status := post(forged); status != http.StatusForbidden {
		t.Errorf("V2 form with a forged signature: %d, want 403", status)
	}

	python := clientsPythonWithBoto3(t)
	script := filepath.Join(t.TempDir(), "v2.py")
	if err := os.WriteFile(script, []byte(`
import json, sys
import boto3
from botocore.config import Config
endpoint, ak, sk, bucket = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk,
                  config=Config(signature_version="s3", s3={"addressing_style": "path"}))
s3.put_object(Bucket=bucket, Key="boto/v2 key", Body=b"boto3 with signature version 2", Metadata={"ver": "2"})
got = s3.get_object(Bucket=bucket, Key="boto/v2 key")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="boto/")["Contents"]]
print(json.dumps({"body": got["Body"].read().decode(), "meta": got["Metadata"], "sse": got.get("ServerSideEncryption"), "keys": keys}))
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, python, script, gw.Endpoint, gw.AccessKey, gw.SecretKey, bucket)
	cmd.Env = append(os.Environ(), "AWS_CA_BUNDLE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 with signature_version=s3: %v\n%s", err, out)
	}
	var res struct {
		Body string
		Meta map[string]string
		SSE  string
		Keys []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	if res.Body != "boto3 with signature version 2" || res.Meta["ver"] != "2" || res.SSE != "AES256" || len(res.Keys) != 1 {
		t.Errorf("boto3 (V2) read back %+v", res)
	}
}
