package test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/test/harness"
)

// The boto3, aws-sdk-go-v2 and minio-go rows of TestCompatibility.

const noSyncInSDK = "an SDK has no sync command (the CLI rows cover sync)"

// moduleVersion returns path and the version test/go.mod requires of it
// (test binaries carry no module versions in their build info).
func moduleVersion(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(harness.RepoRoot(t), "test", "go.mod"))
	if err != nil {
		t.Fatalf("read test/go.mod: %v", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == path {
			return path + " " + f[1]
		} else if len(f) >= 3 && f[0] == "require" && f[1] == path {
			return path + " " + f[2]
		}
	}
	t.Fatalf("test/go.mod does not require %s", path)
	return ""
}

// compatBoto3Script runs one family with boto3: argv is endpoint, bucket,
// family, a source path, an output directory and a JSON object of
// extras. It writes what it read back into the output directory and
// prints a JSON object of what the Go side checks.
const compatBoto3Script = `
import base64, json, os, sys
import boto3, botocore
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket, family, src, out, extra = sys.argv[1:7]
extra = json.loads(extra)
MiB = 1024 * 1024
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
result = {"version": "boto3 %s (botocore %s)" % (boto3.__version__, botocore.__version__)}

def data():
    with open(src, "rb") as f:
        return f.read()

def save(name, body):
    with open(os.path.join(out, name), "wb") as f:
        f.write(body)

def get(key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()

if family == "put-get-range":
    s3.put_object(Bucket=bucket, Key="pgr", Body=data())
    save("whole", get("pgr"))
    save("range", get("pgr", Range="bytes=65530-131100"))
elif family == "multipart-checksums":
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(src, bucket, "mp", ExtraArgs={"ChecksumAlgorithm": "CRC32"}, Config=cfg)
    s3.download_file(bucket, "mp", os.path.join(out, "whole"), Config=cfg)
elif family == "copy":
    s3.put_object(Bucket=bucket, Key="copy-src", Body=data())
    s3.copy_object(Bucket=bucket, Key="copy-dst", CopySource={"Bucket": bucket, "Key": "copy-src"})
    save("whole", get("copy-dst"))
elif family == "metadata":
    s3.put_object(Bucket=bucket, Key="meta", Body=data(), ContentType="text/x-compat", Metadata={"color": "blue"})
    head = s3.head_object(Bucket=bucket, Key="meta")
    result["metadata"] = dict(head["Metadata"], **{"Content-Type": head["ContentType"]})
elif family == "presign":
    s3.put_object(Bucket=bucket, Key="presign", Body=data())
    result["url"] = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presign"}, ExpiresIn=600)
elif family == "post-policy":
    post = s3.generate_presigned_post(bucket, "posted", ExpiresIn=600)
    result["url"], result["fields"] = post["url"], post["fields"]
elif family in ("sse-kms", "sse-s3", "sse-c"):
    args = {
        "sse-kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": extra.get("kmsKey", "")},
        "sse-s3": {"ServerSideEncryption": "AES256"},
        "sse-c": {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64decode(extra.get("ssecKey", ""))},
    }[family]
    s3.put_object(Bucket=bucket, Key=family, Body=data(), **args)
    read = {k: v for k, v in args.items() if k.startswith("SSECustomer")}
    save("whole", get(family, **read))
elif family == "listing-sizes":
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), "rb") as f:
            s3.put_object(Bucket=bucket, Key="listing/" + name, Body=f.read())
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="listing/")
    result["listed"] = {o["Key"]: o["Size"] for o in listed.get("Contents", [])}
elif family != "version":
    sys.exit("unknown family " + family)
json.dump(result, sys.stdout)
`

// compatBoto3 is the boto3 row: compatBoto3Script run by a Python that
// has boto3, trusting the gateway's CA through AWS_CA_BUNDLE.
func compatBoto3(t *testing.T, e *compatEnv) compatClient {
	python := clientsPythonWithBoto3(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "compat_boto3.py")
	if err := os.WriteFile(script, []byte(compatBoto3Script), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := harness.AWS(t, e.s.gw.Endpoint, e.s.gw.AccessKey, e.s.gw.SecretKey)
	// BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE: see compatAWSCLI; without it
	// the put_object of an empty file after another request stalls for
	// botocore's 60 s read timeout, against MinIO as much as s3seal.
	env := append(cli.Env(), "AWS_CA_BUNDLE="+e.caFile, "BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE=true")
	bucket := e.bucket(t, "boto3")
	extra, err := json.Marshal(map[string]string{"kmsKey": e.kmsKey, "ssecKey": base64.StdEncoding.EncodeToString(e.ssecKey)})
	if err != nil {
		t.Fatal(err)
	}
	type output struct {
		Version  string            `json:"version"`
		Metadata map[string]string `json:"metadata"`
		URL      string            `json:"url"`
		Fields   map[string]string `json:"fields"`
		Listed   map[string]int64  `json:"listed"`
	}
	// run runs family with src and returns the output directory and what
	// the script printed.
	run := func(t testing.TB, family, src string) (string, output) {
		t.Helper()
		out := t.TempDir()
		var o output
		harness.DecodeJSON(t, harness.Run(t, python, []string{script, e.s.gw.Endpoint, bucket, family, src, out, string(extra)}, env, dir), &o)
		return out, o
	}
	// roundTrip runs a family that uploads src, stores it as key and
	// saves what it reads back as "whole".
	roundTrip := func(family, key string, size int, sse string) compatCell {
		return compatCell{run: func(t testing.TB) {
			src, data := e.file(t, "src", size)
			out, _ := run(t, family, src)
			assertSameBytes(t, "boto3 read back "+key, readFile(t, filepath.Join(out, "whole")), data)
			if family == "multipart-checksums" {
				e.assertMultipart(t, bucket, key)
			}
			e.assertStored(t, bucket, key, data, sse)
		}}
	}
	_, v := run(t, "version", "-")

	return compatClient{
		version: v.Version,
		cells: map[string]compatCell{
			"put-get-range": {run: func(t testing.TB) {
				src, data := e.file(t, "src", 200<<10+7)
				out, _ := run(t, "put-get-range", src)
				assertSameBytes(t, "get_object", readFile(t, filepath.Join(out, "whole")), data)
				assertSameBytes(t, "get_object Range bytes=65530-131100", readFile(t, filepath.Join(out, "range")), data[65530:131101])
				e.assertStored(t, bucket, "pgr", data, wantSSES3)
			}},
			"multipart-checksums": roundTrip("multipart-checksums", "mp", 11*mib+1, wantSSES3),
			"copy":                roundTrip("copy", "copy-dst", 100<<10+5, wantSSES3),
			"metadata": {run: func(t testing.TB) {
				src, _ := e.file(t, "src", 1000)
				_, o := run(t, "metadata", src)
				assertMetadata(t, "head_object", o.Metadata, map[string]string{"Content-Type": "text/x-compat", "color": "blue"})
			}},
			"presign": {run: func(t testing.TB) {
				src, data := e.file(t, "src", 70<<10)
				_, o := run(t, "presign", src)
				assertSameBytes(t, "GET of generate_presigned_url", e.fetch(t, o.URL), data)
			}},
			"post-policy": {run: func(t testing.TB) {
				_, o := run(t, "post-policy", "-")
				e.assertPostPolicy(t, bucket, "posted", o.URL, o.Fields)
			}},
			"sse-kms": roundTrip("sse-kms", "sse-kms", 100<<10+3, wantSSEKMS),
			"sse-s3":  roundTrip("sse-s3", "sse-s3", 100<<10+3, wantSSES3),
			"sse-c":   roundTrip("sse-c", "sse-c", 100<<10+3, wantSSEC),
			"listing-sizes": {run: func(t testing.TB) {
				tree := writeTree(t, compatListingFiles)
				_, o := run(t, "listing-sizes", filepath.Join(tree, "listing"))
				clientsAssertSizes(t, "list_objects_v2", o.Listed, compatListingSizes())
			}},
			"sync-twice": na(noSyncInSDK),
		},
	}
}

// assertPostPolicy posts a form a client signed for key and checks the
// object through the gateway.
func (e *compatEnv) assertPostPolicy(t testing.TB, bucket, key, target string, fields map[string]string) {
	t.Helper()
	data := harness.RandomBytes(t, 80<<10+1)
	status, _, s3err := postFileWith(t, e.http, target, fields, key, data)
	if status/100 != 2 {
		t.Fatalf("POST of the form: status %d (%s: %s), want 2xx", status, s3err.Code, s3err.Message)
	}
	e.assertStored(t, bucket, key, data, wantSSES3)
}

// compatAWSSDK is the aws-sdk-go-v2 row: the SDK with the checksum
// defaults LoadDefaultConfig gives (CRC32 on uploads, validation on reads
// that ask for it).
func compatAWSSDK(t *testing.T, e *compatEnv) compatClient {
	c := e.s.gw.S3(t)
	bucket := e.bucket(t, "aws-sdk-go-v2")
	md5sum := md5.Sum(e.ssecKey)
	ssecKey, ssecMD5 := base64.StdEncoding.EncodeToString(e.ssecKey), base64.StdEncoding.EncodeToString(md5sum[:])

	put := func(t testing.TB, key string, data []byte, mod func(*s3.PutObjectInput)) {
		t.Helper()
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}
		if mod != nil {
			mod(in)
		}
		if _, err := c.PutObject(t.Context(), in); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	get := func(t testing.TB, key string, mod func(*s3.GetObjectInput)) []byte {
		t.Helper()
		in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled}
		if mod != nil {
			mod(in)
		}
		out, err := c.GetObject(t.Context(), in)
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		defer out.Body.Close()
		// The SDK validates the checksum at EOF.
		return readAllOrFatal(t, "GetObject "+key, out.Body)
	}
	sseCell := func(key, sse string, putMod func(*s3.PutObjectInput), getMod func(*s3.GetObjectInput)) compatCell {
		return compatCell{run: func(t testing.TB) {
			data := harness.RandomBytes(t, 100<<10+3)
			put(t, key, data, putMod)
			assertSameBytes(t, "GetObject "+key, get(t, key, getMod), data)
			e.assertStored(t, bucket, key, data, sse)
		}}
	}

	return compatClient{
		version: moduleVersion(t, "github.com/aws/aws-sdk-go-v2/service/s3"),
		cells: map[string]compatCell{
			"put-get-range": {run: func(t testing.TB) {
				data := harness.RandomBytes(t, 200<<10+7)
				put(t, "pgr", data, nil)
				assertSameBytes(t, "GetObject", get(t, "pgr", nil), data)
				part := get(t, "pgr", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=65530-131100") })
				assertSameBytes(t, "GetObject Range bytes=65530-131100", part, data[65530:131101])
				e.assertStored(t, bucket, "pgr", data, wantSSES3)
			}},
			"multipart-checksums": {run: func(t testing.TB) {
				data := harness.RandomBytes(t, 11*mib+1)
				up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5 * mib })
				if _, err := up.Upload(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("mp"), Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
					t.Fatalf("manager.Uploader.Upload: %v", err)
				}
				assertSameBytes(t, "GetObject mp", get(t, "mp", nil), data)
				e.assertMultipart(t, bucket, "mp")
				e.assertStored(t, bucket, "mp", data, wantSSES3)
			}},
			"copy": {run: func(t testing.TB) {
				data := harness.RandomBytes(t, 100<<10+5)
				put(t, "copy-src", data, nil)
				if _, err := c.CopyObject(t.Context(), &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy-dst"), CopySource: aws.String(bucket + "/copy-src")}); err != nil {
					t.Fatalf("CopyObject: %v", err)
				}
				assertSameBytes(t, "GetObject copy-dst", get(t, "copy-dst", nil), data)
				e.assertStored(t, bucket, "copy-dst", data, wantSSES3)
			}},
			"metadata": {run: func(t testing.TB) {
				put(t, "meta", harness.RandomBytes(t, 1000), func(in *s3.PutObjectInput) {
					in.ContentType, in.Metadata = aws.String("text/x-compat"), map[string]string{"color": "blue"}
				})
				head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("meta")})
				if err != nil {
					t.Fatalf("HeadObject: %v", err)
				}
				got := map[string]string{"Content-Type": aws.ToString(head.ContentType)}
				for k, v := range head.Metadata {
					got[k] = v
				}
				assertMetadata(t, "HeadObject", got, map[string]string{"Content-Type": "text/x-compat", "color": "blue"})
			}},
			"presign": {run: func(t testing.TB) {
				data := harness.RandomBytes(t, 70<<10)
				put(t, "presign", data, nil)
				req, err := s3.NewPresignClient(c).PresignGetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("presign")}, s3.WithPresignExpires(10*time.Minute))
				if err != nil {
					t.Fatalf("PresignGetObject: %v", err)
				}
				assertSameBytes(t, "GET of PresignGetObject URL", e.fetch(t, req.URL), data)
			}},
			"post-policy": {run: func(t testing.TB) {
				req, err := s3.NewPresignClient(c).PresignPostObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("posted")})
				if err != nil {
					t.Fatalf("PresignPostObject: %v", err)
				}
				e.assertPostPolicy(t, bucket, "posted", req.URL, req.Values)
			}},
			"sse-kms": sseCell("sse-kms", wantSSEKMS, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryptionAwsKms, aws.String(e.kmsKey)
			}, nil),
			"sse-s3": sseCell("sse-s3", wantSSES3, func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 }, nil),
			"sse-c": sseCell("sse-c", wantSSEC, func(in *s3.PutObjectInput) {
				in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(ssecKey), aws.String(ssecMD5)
			}, func(in *s3.GetObjectInput) {
				in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(ssecKey), aws.String(ssecMD5)
			}),
			"listing-sizes": {run: func(t testing.TB) {
				for _, f := range compatListingFiles {
					put(t, f.path, harness.RandomBytes(t, int(f.size)), nil)
				}
				got := map[string]int64{}
				pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("listing/")})
				for pages.HasMorePages() {
					page, err := pages.NextPage(t.Context())
					if err != nil {
						t.Fatalf("ListObjectsV2: %v", err)
					}
					for _, o := range page.Contents {
						got[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
					}
				}
				clientsAssertSizes(t, "ListObjectsV2", got, compatListingSizes())
			}},
			"sync-twice": na(noSyncInSDK),
		},
	}
}

// compatMinioGo is the minio-go row: a client of its own with trailing
// checksums enabled, trusting the gateway's CA.
func compatMinioGo(t *testing.T, e *compatEnv) compatClient {
	u, err := url.Parse(e.s.gw.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(e.s.gw.AccessKey, e.s.gw.SecretKey, ""),
		Secure: true, Transport: e.ca.Transport(), TrailingHeaders: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	bucket := e.bucket(t, "minio-go")
	ssec, err := encrypt.NewSSEC(e.ssecKey)
	if err != nil {
		t.Fatal(err)
	}
	kms, err := encrypt.NewSSEKMS(e.kmsKey, nil)
	if err != nil {
		t.Fatal(err)
	}

	put := func(t testing.TB, key string, data []byte, opts minio.PutObjectOptions) {
		t.Helper()
		if _, err := c.PutObject(t.Context(), bucket, key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	get := func(t testing.TB, key string, opts minio.GetObjectOptions) []byte {
		t.Helper()
		return harness.ReadObject(t, c, bucket, key, opts)
	}
	sseCell := func(key, sse string, enc encrypt.ServerSide, read encrypt.ServerSide) compatCell {
		return compatCell{run: func(t testing.TB) {
			data := harness.RandomBytes(t, 100<<10+3)
			put(t, key, data, minio.PutObjectOptions{ServerSideEncryption: enc})
			assertSameBytes(t, "GetObject "+key, get(t, key, minio.GetObjectOptions{ServerSideEncryption: read}), data)
			e.assertStored(t, bucket, key, data, sse)
		}}
	}

	return compatClient{
		version: moduleVersion(t, "github.com/minio/minio-go/v7"),
		cells: map[string]compatCell{
			"put-get-range": {run: func(t testing.TB) {
				data := harness.RandomBytes(t, 200<<10+7)
				put(t, "pgr", data, minio.PutObjectOptions{})
				assertSameBytes(t, "GetObject", get(t, "pgr", minio.GetObjectOptions{}), data)
				var opts minio.GetObjectOptions
				if err := opts.SetRange(65530, 131100); err != nil {
					t.Fatal(err)
				}
				assertSameBytes(t, "GetObject SetRange(65530, 131100)", get(t, "pgr", opts), data[65530:131101])
				e.assertStored(t, bucket, "pgr", data, wantSSES3)
			}},
			"multipart-checksums": {run: func(t testing.TB) {
				data := harness.RandomBytes(t, 11*mib+1)
				put(t, "mp", data, minio.PutObjectOptions{PartSize: 5 * mib, Checksum: minio.ChecksumCRC32C})
				assertSameBytes(t, "GetObject mp", get(t, "mp", minio.GetObjectOptions{}), data)
				e.assertMultipart(t, bucket, "mp")
				e.assertStored(t, bucket, "mp", data, wantSSES3)
			}},
			"copy": {run: func(t testing.TB) {
				data := harness.RandomBytes(t, 100<<10+5)
				put(t, "copy-src", data, minio.PutObjectOptions{})
				if _, err := c.CopyObject(t.Context(), minio.CopyDestOptions{Bucket: bucket, Object: "copy-dst"}, minio.CopySrcOptions{Bucket: bucket, Object: "copy-src"}); err != nil {
					t.Fatalf("CopyObject: %v", err)
				}
				assertSameBytes(t, "GetObject copy-dst", get(t, "copy-dst", minio.GetObjectOptions{}), data)
				e.assertStored(t, bucket, "copy-dst", data, wantSSES3)
			}},
			"metadata": {run: func(t testing.TB) {
				put(t, "meta", harness.RandomBytes(t, 1000), minio.PutObjectOptions{ContentType: "text/x-compat", UserMetadata: map[string]string{"color": "blue"}})
				info, err := c.StatObject(t.Context(), bucket, "meta", minio.StatObjectOptions{})
				if err != nil {
					t.Fatalf("StatObject: %v", err)
				}
				got := map[string]string{"Content-Type": info.ContentType}
				for k, v := range info.UserMetadata {
					got[k] = v
				}
				assertMetadata(t, "StatObject", got, map[string]string{"Content-Type": "text/x-compat", "color": "blue"})
			}},
			"presign": {run: func(t testing.TB) {
				data := harness.RandomBytes(t, 70<<10)
				put(t, "presign", data, minio.PutObjectOptions{})
				u, err := c.PresignedGetObject(t.Context(), bucket, "presign", 10*time.Minute, nil)
				if err != nil {
					t.Fatalf("PresignedGetObject: %v", err)
				}
				assertSameBytes(t, "GET of PresignedGetObject URL", e.fetch(t, u.String()), data)
			}},
			"post-policy": {run: func(t testing.TB) {
				policy := minio.NewPostPolicy()
				for _, err := range []error{policy.SetBucket(bucket), policy.SetKey("posted"), policy.SetExpires(time.Now().Add(10 * time.Minute))} {
					if err != nil {
						t.Fatal(err)
					}
				}
				u, fields, err := c.PresignedPostPolicy(t.Context(), policy)
				if err != nil {
					t.Fatalf("PresignedPostPolicy: %v", err)
				}
				e.assertPostPolicy(t, bucket, "posted", u.String(), fields)
			}},
			"sse-kms": sseCell("sse-kms", wantSSEKMS, kms, nil),
			"sse-s3":  sseCell("sse-s3", wantSSES3, encrypt.NewSSE(), nil),
			"sse-c":   sseCell("sse-c", wantSSEC, ssec, ssec),
			"listing-sizes": {run: func(t testing.TB) {
				for _, f := range compatListingFiles {
					put(t, f.path, harness.RandomBytes(t, int(f.size)), minio.PutObjectOptions{})
				}
				got := map[string]int64{}
				for o := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Prefix: "listing/", Recursive: true}) {
					if o.Err != nil {
						t.Fatalf("ListObjects: %v", o.Err)
					}
					got[o.Key] = o.Size
				}
				clientsAssertSizes(t, "ListObjects", got, compatListingSizes())
			}},
			"sync-twice": na(noSyncInSDK),
		},
	}
}
