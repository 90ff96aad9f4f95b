package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/s3seal/s3seal/test/harness"
)

// metadataScript stores user metadata with boto3 every way an object can
// get it (PUT, multipart, copy with REPLACE, copy with COPY) and prints
// what GET and HEAD give back.
const metadataScript = `
import json, sys
import boto3
from botocore.config import Config
endpoint, ak, sk, bucket = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ak,
                  aws_secret_access_key=sk, config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=bucket)
meta = {"ver": "1", "Mixed-Case": "Value"}
s3.put_object(Bucket=bucket, Key="put", Body=b"x" * 100, Metadata=meta)
up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata=meta)
part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"y" * 100)
s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "put"})
s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "put"},
               MetadataDirective="REPLACE", Metadata={"other": "2"})
out = {}
for key in ["put", "mp", "copy", "replaced"]:
    out[key] = {"get": s3.get_object(Bucket=bucket, Key=key)["Metadata"],
                "head": s3.head_object(Bucket=bucket, Key=key)["Metadata"]}
print(json.dumps(out))
`

// TestUserMetadataRoundTripsAsWithMinIO runs one boto3 program against
// MinIO directly and through s3seal: the metadata dictionaries it reads
// back must be the same (lower-case names, as S3 returns them).
func TestUserMetadataRoundTripsAsWithMinIO(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	python := clientsPythonWithBoto3(t)
	script := filepath.Join(t.TempDir(), "metadata.py")
	if err := os.WriteFile(script, []byte(metadataScript), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(endpoint, ak, sk, bucket string) map[string]map[string]map[string]string {
		cmd := exec.CommandContext(t.Context(), python, script, endpoint, ak, sk, bucket)
		cmd.Env = append(os.Environ(), "AWS_CA_BUNDLE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("boto3 against %s: %v\n%s", endpoint, err, stderr)
		}
		var got map[string]map[string]map[string]string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("boto3 output %q: %v", out, err)
		}
		return got
	}
	want := run(backend.Endpoint, backend.AccessKey, backend.SecretKey, "direct")
	got := run(gw.Endpoint, gw.AccessKey, gw.SecretKey, "through")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metadata through s3seal:\n%v\nMinIO directly:\n%v", got, want)
	}
	if want["put"]["get"]["ver"] != "1" {
		t.Errorf("MinIO's own answer %v lacks ver=1: the oracle is broken", want["put"]["get"])
	}
}
