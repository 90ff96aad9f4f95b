package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3seal/s3seal/test/harness"
)

// TestMultipartChecksumsWithRealClients uploads multipart objects with the
// checksum algorithms of aws-sdk-go-v2's upload manager and boto3 through
// s3seal, and has each client read back and validate the checksums s3seal
// answers (the SDKs check a FULL_OBJECT checksum against the body they
// download).
func TestMultipartChecksumsWithRealClients(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	data := harness.RandomBytes(t, 11*mib+5)

	t.Run("aws-sdk-go-v2 upload manager", func(t *testing.T) {
		c := gw.S3(t)
		const bucket = "mp-checksums-sdk"
		if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5 * mib })
		for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
			types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
			t.Run(string(alg), func(t *testing.T) {
				key := "obj-" + string(alg)
				out, err := up.Upload(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data), ChecksumAlgorithm: alg})
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				uploaded := objectChecksumOf(out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256)
				if uploaded == "" || !strings.HasSuffix(strings.TrimSpace(aws.ToString(out.ETag)), `-3"`) {
					t.Fatalf("Upload answered checksum %q, ETag %s; want a checksum and a 3-part ETag", uploaded, aws.ToString(out.ETag))
				}
				head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
				if err != nil {
					t.Fatal(err)
				}
				if got := objectChecksumOf(head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256); got != uploaded {
					t.Errorf("HeadObject checksum %q, want %q (Complete's)", got, uploaded)
				}
				if aws.ToString(head.ETag) != aws.ToString(out.ETag) {
					t.Errorf("HeadObject ETag %s, want Complete's %s", aws.ToString(head.ETag), aws.ToString(out.ETag))
				}
				if _, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: out.ETag}); err != nil {
					t.Errorf("HeadObject If-Match Complete's ETag: %v", err)
				}
				if _, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfNoneMatch: out.ETag}); !strings.Contains(fmt.Sprint(err), "304") {
					t.Errorf("GetObject If-None-Match Complete's ETag: %v, want 304", err)
				}
				get, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled, IfMatch: out.ETag})
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(get.Body)
				get.Body.Close()
				if err != nil || !bytes.Equal(body, data) {
					t.Errorf("GetObject with checksum validation: %d bytes, %v", len(body), err)
				}
			})
		}
	})

	t.Run("aws-sdk-go-v2 CopyObject with a checksum algorithm", func(t *testing.T) {
		c := gw.S3(t)
		const bucket = "mp-checksums-sdk" // the upload manager's objects
		sha := sha256.Sum256(data)
		for _, tc := range []struct {
			src  string
			alg  types.ChecksumAlgorithm
			want string // the copy's checksum, "" to take the source's
		}{
			{"obj-CRC32", types.ChecksumAlgorithmSha256, "SHA256=" + base64.StdEncoding.EncodeToString(sha[:]) + " "},
			{"obj-CRC64NVME", "", ""},
		} {
			src, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(tc.src), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == "" {
				want = objectChecksumOf(src.ChecksumCRC32, src.ChecksumCRC32C, src.ChecksumCRC64NVME, src.ChecksumSHA1, src.ChecksumSHA256)
			}
			out, err := c.CopyObject(t.Context(), &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy-" + tc.src),
				CopySource: aws.String(bucket + "/" + tc.src), ChecksumAlgorithm: tc.alg})
			if err != nil {
				t.Fatalf("CopyObject: %v", err)
			}
			r := out.CopyObjectResult
			if got := objectChecksumOf(r.ChecksumCRC32, r.ChecksumCRC32C, r.ChecksumCRC64NVME, r.ChecksumSHA1, r.ChecksumSHA256); got != want {
				t.Errorf("CopyObject of %s with %q: checksum %q, want %q", tc.src, tc.alg, got, want)
			}
			get, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy-" + tc.src), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(get.Body)
			get.Body.Close()
			got := objectChecksumOf(get.ChecksumCRC32, get.ChecksumCRC32C, get.ChecksumCRC64NVME, get.ChecksumSHA1, get.ChecksumSHA256)
			if err != nil || !bytes.Equal(body, data) || got != want {
				t.Errorf("GetObject of the copy (validated): %d bytes, checksum %q, %v; want %q", len(body), got, err, want)
			}
		}
	})

	t.Run("boto3", func(t *testing.T) {
		python := clientsPythonWithBoto3(t)
		dir := t.TempDir()
		script, src := filepath.Join(dir, "checksums.py"), filepath.Join(dir, "src")
		if err := os.WriteFile(script, []byte(boto3ChecksumsScript), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cli := harness.AWS(t, gw.Endpoint, gw.AccessKey, gw.SecretKey)
		r := harness.MustRun(t, python, []string{script, gw.Endpoint, "mp-checksums-boto3", src}, cli.Env(), dir)
		var got map[string]struct {
			Upload, Head, Error string
			ETag, HeadETag      string
			Bytes               int
		}
		if err := json.Unmarshal(r.Stdout, &got); err != nil {
			t.Fatalf("script output %q: %v", r.Stdout, err)
		}
		for _, alg := range []string{"CRC32", "SHA1", "SHA256"} {
			g := got[alg]
			if g.Error != "" || g.Upload == "" || g.Head != g.Upload || g.Bytes != len(data) || g.ETag == "" || g.HeadETag != g.ETag {
				t.Errorf("boto3 %s: %+v; want the uploaded checksum back, a validated download of %d bytes and the same ETag", alg, g, len(data))
			}
		}
	})
}

// boto3ChecksumsScript uploads argv[3] as multipart objects with each
// checksum algorithm, then for each prints the checksum
// complete_multipart_upload answered, the one head_object answers with
// checksum mode, and the size get_object read with checksum validation.
const boto3ChecksumsScript = `
import json, sys
import boto3
from botocore.config import Config

endpoint, bucket, src = sys.argv[1:4]
MiB = 1024 * 1024
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=bucket)
data = open(src, "rb").read()
out = {}
for alg in ["CRC32", "SHA1", "SHA256"]:  # CRC32C needs botocore[crt]
    key = "obj-" + alg
    res = {}
    try:
        up = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=alg)
        parts = []
        for i in range(0, len(data), 5 * MiB):
            n = len(parts) + 1
            p = s3.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=n,
                               Body=data[i:i + 5 * MiB], ChecksumAlgorithm=alg)
            parts.append({"PartNumber": n, "ETag": p["ETag"], "Checksum" + alg: p["Checksum" + alg]})
        done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                            MultipartUpload={"Parts": parts})
        res["Upload"] = done.get("Checksum" + alg, "")
        res["ETag"] = done["ETag"]
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        res["Head"] = head.get("Checksum" + alg, "")
        res["HeadETag"] = head["ETag"]
        got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        res["Bytes"] = len(got["Body"].read())
    except Exception as e:
        res["Error"] = repr(e)
    out[alg] = res
json.dump(out, sys.stdout)
`
