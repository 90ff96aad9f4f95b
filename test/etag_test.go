package test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/s3seal/s3seal/test/harness"
)

// TestMD5ETags: through s3seal, a single-part SSE-S3 object's ETag is the
// MD5 of its plaintext in every answer, as MinIO's own ETag of the same
// bytes is; SSE-KMS ETags are not; the backend holds the MD5 nowhere in
// clear; conditions compare with it; rclone checks uploads with it.
func TestMD5ETags(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := t.Context()
	gw := harness.S3Client(s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	backendAccess, backendSecret := s.backend.Keys()
	oracle := harness.S3Client(s.backend.URL(), backendAccess, backendSecret)
	const bucket, oracleBucket = "etags", "etags-oracle"
	for c, b := range map[*s3.Client]string{gw: bucket, oracle: oracleBucket} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gw.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	var written [][]byte // every plaintext, for the backend scan

	sizes := map[string]int{"4KiB": 4 << 10, "1MiB+17": 1<<20 + 17, "empty": 0}
	for name, size := range sizes {
		t.Run("SSE-S3 "+name+": the MD5 everywhere, as MinIO's own ETag", func(t *testing.T) {
			data := bytes.Repeat([]byte("etag "+name+" "), size/len("etag "+name+" ")+1)[:size]
			written = append(written, data)
			want := quotedMD5(data)
			key := "sse-s3/" + name
			put, err := gw.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
				ServerSideEncryption: types.ServerSideEncryptionAes256})
			if err != nil {
				t.Fatal(err)
			}
			direct, err := oracle.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(oracleBucket), Key: aws.String(key), Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			if got, minio := aws.ToString(put.ETag), aws.ToString(direct.ETag); got != want || minio != want {
				t.Errorf("PutObject ETag %s (MinIO direct %s), want %s", got, minio, want)
			}
			minioShows := etagsShown(t, oracle, oracleBucket, key)
			for op, got := range etagsShown(t, gw, bucket, key) {
				if got != want || minioShows[op] != want {
					t.Errorf("%s ETag %s (MinIO direct %s), want %s", op, got, minioShows[op], want)
				}
			}
			// MinIO lists metadata: an MD5 sealed into the object's metadata
			// (a body of at most 64 KiB, read first) needs no index entry;
			// a streamed body's MD5 is only known after its PUT began.
			entries, err := oracle.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.gw.SystemBucket()), Prefix: aws.String("index/" + bucket + "/" + key + "/")})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 0, false: 1}[size <= 64<<10]; len(entries.Contents) != want {
				t.Errorf("%d index entries for %s, want %d", len(entries.Contents), key, want)
			}
		})
	}

	t.Run("SSE-S3 with Content-MD5 and a copy: the MD5", func(t *testing.T) {
		data := bytes.Repeat([]byte("content-md5 "), 100000)
		written = append(written, data)
		sum := md5.Sum(data)
		want := quotedMD5(data)
		put, err := gw.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("md5/src"), Body: bytes.NewReader(data),
			ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(put.ETag); got != want {
			t.Errorf("PutObject ETag %s, want %s", got, want)
		}
		cp, err := gw.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("md5/copy"), CopySource: aws.String(bucket + "/md5/src"),
			CopySourceIfMatch: aws.String(want)})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(cp.CopyObjectResult.ETag); got != want {
			t.Errorf("CopyObject ETag %s, want %s", got, want)
		}
		for op, got := range etagsShown(t, gw, bucket, "md5/copy") {
			if got != want {
				t.Errorf("copy: %s ETag %s, want %s", op, got, want)
			}
		}
		_, err = gw.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("md5/copy2"), CopySource: aws.String(bucket + "/md5/src"),
			CopySourceIfNoneMatch: aws.String(want)})
		if status := httpStatus(err); status != http.StatusPreconditionFailed {
			t.Errorf("CopyObject x-amz-copy-source-if-none-match the MD5: %v, want 412", err)
		}
	})

	t.Run("minio-go with a trailing x-amz-checksum-md5: the MD5, from the trailer", func(t *testing.T) {
		u, _ := url.Parse(s.gw.Endpoint)
		c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(s.gw.AccessKey, s.gw.SecretKey, ""),
			Region: "us-east-1", TrailingHeaders: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			key        string
			size       int
			wantSealed bool // in the object's metadata, else in the index
		}{
			{"trailer/small", 1000, true},    // read before the backend PUT: the trailer is known by then
			{"trailer/large", 320000, false}, // streamed: known once the body has passed
		} {
			data := bytes.Repeat([]byte("trailer "), tc.size/8)
			written = append(written, data)
			info, err := c.PutObject(ctx, bucket, tc.key, bytes.NewReader(data), int64(len(data)),
				minio.PutObjectOptions{Checksum: minio.ChecksumMD5, DisableMultipart: true})
			if err != nil {
				t.Fatal(err)
			}
			want := quotedMD5(data)
			if got := `"` + strings.Trim(info.ETag, `"`) + `"`; got != want {
				t.Errorf("%s: PutObject ETag %s, want %s", tc.key, got, want)
			}
			for op, got := range etagsShown(t, gw, bucket, tc.key) {
				if got != want {
					t.Errorf("%s: %s ETag %s, want %s", tc.key, op, got, want)
				}
			}
			st, err := s.direct.StatObject(ctx, bucket, tc.key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if v := st.Metadata.Get("X-Amz-Meta-S3seal-Etag"); (v != "index") != tc.wantSealed {
				t.Errorf("%s: backend X-Amz-Meta-S3seal-Etag %q, want sealed %v", tc.key, v, tc.wantSealed)
			}
		}
	})

	t.Run("boto3: the MD5 of what it sent, and not for SSE-KMS", func(t *testing.T) {
		python := clientsPythonWithBoto3(t)
		dir := t.TempDir()
		script := filepath.Join(dir, "etags.py")
		if err := os.WriteFile(script, []byte(etagsBoto3Script), 0o600); err != nil {
			t.Fatal(err)
		}
		cli := harness.AWS(t, s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
		r := harness.MustRun(t, python, []string{script, s.gw.Endpoint, bucket}, cli.Env(), dir)
		var got map[string]struct {
			MD5  string            `json:"md5"`
			Seen map[string]string `json:"seen"`
		}
		if err := json.Unmarshal(r.Stdout, &got); err != nil {
			t.Fatalf("boto3 script output %q: %v", r.Stdout, err)
		}
		if len(got) != 2 {
			t.Fatalf("boto3 script output %s, want two objects", r.Stdout)
		}
		for sse, o := range got {
			for op, e := range o.Seen {
				if isMD5 := e == `"`+o.MD5+`"`; isMD5 != (sse == "AES256") {
					t.Errorf("boto3 %s %s: ETag %s, MD5 of the data %s", sse, op, e, o.MD5)
				}
			}
		}
	})

	t.Run("SSE-KMS: not the MD5", func(t *testing.T) {
		data := bytes.Repeat([]byte("kms "), 5000)
		written = append(written, data)
		put, err := gw.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("kms"), Body: bytes.NewReader(data),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms})
		if err != nil {
			t.Fatal(err)
		}
		got := aws.ToString(put.ETag)
		if got == quotedMD5(data) || got == "" {
			t.Errorf("SSE-KMS PutObject ETag %s: the plaintext's MD5 or nothing", got)
		}
		for op, e := range etagsShown(t, gw, bucket, "kms") {
			if e != got {
				t.Errorf("SSE-KMS %s ETag %s, want the PUT's %s", op, e, got)
			}
		}
	})

	t.Run("conditional reads compare the MD5", func(t *testing.T) {
		data := bytes.Repeat([]byte("conditional "), 10000)
		written = append(written, data)
		want := quotedMD5(data)
		if _, err := gw.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("cond"), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		if _, err := gw.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("cond"), IfMatch: aws.String(want)}); err != nil {
			t.Errorf("HEAD If-Match the MD5: %v", err)
		}
		get, err := gw.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("cond"), IfMatch: aws.String(want)})
		if err != nil {
			t.Fatalf("GET If-Match the MD5: %v", err)
		}
		assertSameBytes(t, "GET If-Match", readAllOrFatal(t, "GET", get.Body), data)
		_, err = gw.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("cond"), IfNoneMatch: aws.String(want)})
		if status := httpStatus(err); status != http.StatusNotModified {
			t.Errorf("GET If-None-Match the MD5: %v, want 304", err)
		}
		_, err = gw.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("cond"), Body: strings.NewReader("x"), IfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)})
		if status := httpStatus(err); status != http.StatusPreconditionFailed {
			t.Errorf("PUT If-Match another ETag: %v, want 412", err)
		}
		if _, err = gw.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("cond"), Body: strings.NewReader("x"), IfMatch: aws.String(want)}); err != nil {
			t.Errorf("PUT If-Match the MD5: %v", err)
		}
	})

	t.Run("rclone copy and sync without flags", func(t *testing.T) {
		const rcloneBucket = "etags-rclone"
		dir := t.TempDir()
		files := map[string][]byte{}
		for i, size := range []int{1, 4 << 10, 64<<10 + 1, 3 << 20} { // all below rclone's multipart cutoff
			data := bytes.Repeat([]byte{byte('a' + i)}, size)
			name := fmt.Sprintf("f%d", i)
			files[name] = data
			written = append(written, data)
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		rclone := harness.RClone(t, s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
		remote := "gw:" + rcloneBucket
		// rclone compares each upload's ETag with the MD5 it computed and
		// deletes the object (exit 1) when they differ.
		rclone.Must(t, "copy", dir, remote)
		rclone.Must(t, "check", dir, remote) // sizes and MD5s, from the listing
		var listed []struct {
			Path   string
			Hashes map[string]string
		}
		harness.DecodeJSON(t, rclone.Must(t, "lsjson", "--hash", "--hash-type", "md5", remote), &listed)
		if len(listed) != len(files) {
			t.Errorf("rclone lsjson listed %d objects, want %d", len(listed), len(files))
		}
		for _, o := range listed {
			if want := strings.Trim(quotedMD5(files[o.Path]), `"`); o.Hashes["md5"] != want {
				t.Errorf("rclone lsjson: %s has MD5 %q, want %s", o.Path, o.Hashes["md5"], want)
			}
		}
		again := rclone.Must(t, "sync", "--use-json-log", "--log-level", "INFO", dir, remote)
		if stats, ok := clientsRcloneStats(again.Stderr); !ok || stats.Transfers != 0 || stats.Errors != 0 {
			t.Errorf("second rclone sync: %+v, want no transfers and no errors\n%s", stats, again.Stderr)
		}
	})

	t.Run("with MD5 ETags off, rclone fails its check as before", func(t *testing.T) {
		// A second replica over the same backend and key store.
		off := harness.StartGateway(t, s.backend, harness.WithGatewayEnv("S3SEAL_MD5_ETAGS", "off"), harness.WithGatewayEnv("S3SEAL_KMS_DIR", s.gw.KMSDir))
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("switched off"), 0o600); err != nil {
			t.Fatal(err)
		}
		rclone := harness.RClone(t, off.Endpoint, off.AccessKey, off.SecretKey)
		if r := rclone.Run(t, "copy", dir, "gw:etags-off"); r.ExitCode == 0 || !strings.Contains(r.Stderr, "corrupted on transfer") {
			t.Errorf("rclone copy through a gateway without MD5 ETags: %v, want its MD5 check to fail", r)
		}
	})

	t.Run("the backend holds no plaintext MD5", func(t *testing.T) {
		assertNoPlaintextMD5OnBackend(t, s, []string{bucket, "etags-rclone", systemBucket}, written)
	})
}

// etagsShown returns the ETag of bucket/key in every answer that carries
// one: HEAD, GET, GetObjectAttributes, ListObjects V1 and V2 and
// ListObjectVersions.
func etagsShown(t *testing.T, c *s3.Client, bucket, key string) map[string]string {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("HEAD %s: %v", key, err)
	}
	out["HeadObject"] = aws.ToString(head.ETag)
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	get.Body.Close()
	out["GetObject"] = aws.ToString(get.ETag)
	attrs, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(bucket), Key: aws.String(key),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag}})
	if err != nil {
		t.Fatalf("GetObjectAttributes %s: %v", key, err)
	}
	out["GetObjectAttributes"] = `"` + strings.Trim(aws.ToString(attrs.ETag), `"`) + `"`
	v2, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range v2.Contents {
		if aws.ToString(o.Key) == key {
			out["ListObjectsV2"] = aws.ToString(o.ETag)
		}
	}
	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range v1.Contents {
		if aws.ToString(o.Key) == key {
			out["ListObjects"] = aws.ToString(o.ETag)
		}
	}
	versions, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range versions.Versions {
		if aws.ToString(o.Key) == key && aws.ToBool(o.IsLatest) {
			out["ListObjectVersions"] = aws.ToString(o.ETag)
		}
	}
	return out
}

func quotedMD5(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// assertNoPlaintextMD5OnBackend reads every object name and every
// metadata value in buckets straight from the backend and fails if the
// MD5 of any non-empty plaintext appears, as hex or base64.
func assertNoPlaintextMD5OnBackend(t *testing.T, s *stack, buckets []string, plaintexts [][]byte) {
	t.Helper()
	var forms []string
	for _, p := range plaintexts {
		if len(p) == 0 {
			continue // the MD5 of nothing is also that of an empty ciphertext
		}
		sum := md5.Sum(p)
		h := hex.EncodeToString(sum[:])
		forms = append(forms, h, strings.ToUpper(h), base64.StdEncoding.EncodeToString(sum[:]), base64.RawURLEncoding.EncodeToString(sum[:]))
	}
	ctx := t.Context()
	scanned := 0
	for _, b := range buckets {
		for o := range s.direct.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				t.Fatalf("list %s: %v", b, o.Err)
			}
			st, err := s.direct.StatObject(ctx, b, o.Key, minio.StatObjectOptions{VersionID: o.VersionID})
			if err != nil {
				t.Fatalf("stat %s/%s: %v", b, o.Key, err)
			}
			scanned++
			var text strings.Builder
			text.WriteString(o.Key + "\n")
			for k, vv := range st.Metadata {
				text.WriteString(k + ": " + strings.Join(vv, ",") + "\n")
			}
			for _, f := range forms {
				if strings.Contains(text.String(), f) {
					t.Errorf("backend object %s/%s names a plaintext MD5 (%s) in its name or metadata", b, o.Key, f)
				}
			}
		}
	}
	if scanned == 0 {
		t.Fatal("scanned no backend object")
	}
	t.Logf("scanned %d backend objects for %d plaintext MD5s", scanned, len(forms)/4)
}

// etagsBoto3Script PUTs 200 KiB with SSE-S3 and with SSE-KMS through
// boto3 and prints, per encryption, the MD5 of the data and the ETag of
// every answer that shows one.
const etagsBoto3Script = `
import hashlib, json, os, sys
import boto3
from botocore.config import Config

endpoint, bucket = sys.argv[1:3]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
out = {}
for sse in ("AES256", "aws:kms"):
    key = "boto3/" + sse.replace(":", "-")
    data = os.urandom(200 * 1024)
    put = s3.put_object(Bucket=bucket, Key=key, Body=data, ServerSideEncryption=sse)
    head = s3.head_object(Bucket=bucket, Key=key)
    get = s3.get_object(Bucket=bucket, Key=key)
    assert get["Body"].read() == data
    listed = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]}
    out[sse] = {"md5": hashlib.md5(data).hexdigest(), "seen": {
        "put_object": put["ETag"], "head_object": head["ETag"], "get_object": get["ETag"], "list_objects_v2": listed[key]}}
json.dump(out, sys.stdout)
`
