package test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3seal/s3seal/test/harness"
)

// TestClients drives one gateway with the clients users point at it — mc,
// the AWS CLI, boto3, aws-sdk-go-v2 and rclone — at sizes around DARE's
// 64 KiB packages and the clients' multipart thresholds, up to 200 MiB. Each
// subtest compares content by SHA-256, the listed sizes with the plaintext
// sizes, and reads the backend directly to prove it holds only ciphertext.
// The sync tools must find nothing to transfer on a second run: they compare
// listed sizes and times, so a wrong size would make them upload again.
func TestClients(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "gw", s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	tree := clientsWriteTree(t)

	// The memory bound is measured alone: other clients' traffic would
	// count against it.
	bigDir := t.TempDir() // big200, the file uploaded and copied
	t.Run("mc moves 200 MiB through the gateway with bounded memory", func(t *testing.T) {
		clientsBigObject(t, s, mc, bigDir)
	})

	t.Run("clients", func(t *testing.T) {
		// Scanning 200 MiB of ciphertext for plaintext takes a core for
		// seconds: it runs beside the clients, which mostly wait on I/O.
		for _, key := range clientsBigKeys {
			t.Run("backend holds only ciphertext of "+key, func(t *testing.T) {
				t.Parallel()
				clientsAssertSealed(t, s, clientsBigBucket, key, filepath.Join(bigDir, "big200"))
			})
		}
		t.Run("mc cp, cat and ls", func(t *testing.T) {
			t.Parallel()
			clientsMC(t, s, mc)
		})
		t.Run("mc mirror up, down and again", func(t *testing.T) {
			t.Parallel()
			clientsMCMirror(t, s, mc, tree)
		})
		t.Run("aws s3 cp up and down", func(t *testing.T) {
			t.Parallel()
			clientsAWSCopy(t, s)
		})
		t.Run("aws s3 sync up, again and down", func(t *testing.T) {
			t.Parallel()
			clientsAWSSync(t, s, tree)
		})
		t.Run("boto3 multipart upload and ranged parallel download", func(t *testing.T) {
			t.Parallel()
			clientsBoto3(t, s)
		})
		t.Run("aws-sdk-go-v2 validates the checksums it gets back", func(t *testing.T) {
			t.Parallel()
			clientsSDKChecksums(t, s)
		})
		t.Run("rclone copy, check and copy again", func(t *testing.T) {
			t.Parallel()
			clientsRclone(t, s, tree)
		})
	})
}

// clientsMC copies files of sizes around the DARE package and mc's
// multipart threshold up with mc cp and reads them back with mc cat and
// mc cp.
func clientsMC(t *testing.T, s *stack, mc *harness.MCClient) {
	const bucket = "clients-mc"
	sizes := []int64{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 5*mib + 3, 17 * mib}
	dir, down := t.TempDir(), t.TempDir()
	mc.Must(t, "mb", "gw/"+bucket)
	sums := map[string]string{}
	want := map[string]int64{}
	for _, size := range sizes {
		key := "size-" + strconv.FormatInt(size, 10)
		path := filepath.Join(dir, key)
		sums[key] = clientsWriteFile(t, path, "mc/"+key, size)
		want[key] = size
		mc.Must(t, "cp", path, "gw/"+bucket+"/"+key)
	}
	for _, size := range sizes {
		key := "size-" + strconv.FormatInt(size, 10)
		cat := mc.Must(t, "cat", "gw/"+bucket+"/"+key).Stdout
		if got := harness.SHA256Hex(cat); got != sums[key] || int64(len(cat)) != size {
			t.Errorf("mc cat %s: got %d bytes, sha256 %s; want %d bytes, sha256 %s", key, len(cat), got, size, sums[key])
		}
		path := filepath.Join(down, key)
		mc.Must(t, "cp", "gw/"+bucket+"/"+key, path)
		clientsAssertFileSum(t, path, size, sums[key])
		clientsAssertSealed(t, s, bucket, key, filepath.Join(dir, key))
	}
	clientsAssertSizes(t, "mc ls", mcListSizes(t, mc, "gw/"+bucket+"/"), want)
	clientsAssertListed(t, s.gw.Client(t), bucket, want, true)
}

// clientsMCMirror mirrors the tree up, down and up again.
func clientsMCMirror(t *testing.T, s *stack, mc *harness.MCClient, tree string) {
	const bucket = "clients-mirror"
	mc.Must(t, "mb", "gw/"+bucket)
	up := mc.JSON(t, "mirror", tree, "gw/"+bucket)
	if up.ExitCode != 0 {
		t.Fatalf("mc mirror up: %v", up)
	}
	if got := clientsMirrorSummary(t, up); got.Transferred != clientsTreeSize() {
		t.Errorf("mc mirror up transferred %d bytes, want %d (the whole tree)", got.Transferred, clientsTreeSize())
	}
	clientsAssertListed(t, s.gw.Client(t), bucket, clientsTreeSizes(), true)

	down := filepath.Join(t.TempDir(), "down")
	mc.Must(t, "mirror", "gw/"+bucket, down)
	clientsAssertSameTree(t, down, tree)

	// With --overwrite mc uploads every file whose size differs from the
	// listed size or that is newer than its object; the tree's files are an
	// hour old, so only a wrong listed size would make it upload.
	again := mc.JSON(t, "mirror", "--overwrite", tree, "gw/"+bucket)
	if again.ExitCode != 0 {
		t.Fatalf("mc mirror again: %v", again)
	}
	if got := clientsMirrorSummary(t, again); got.Total != 0 || got.Transferred != 0 {
		t.Errorf("second mc mirror --overwrite: total %d, transferred %d bytes; want 0 (nothing changed)\n%s", got.Total, got.Transferred, again.Stdout)
	}
	clientsAssertTreeSealed(t, s, bucket, tree)
}

// clientsMirrorSummaryMessage is the last line of mc mirror --json.
type clientsMirrorSummaryMessage struct {
	Status      string `json:"status"`
	Total       int64  `json:"total"`
	Transferred int64  `json:"transferred"`
}

// clientsMirrorSummary returns the summary line of mc mirror --json and
// fails on any line that does not report success.
func clientsMirrorSummary(t testing.TB, r harness.Result) clientsMirrorSummaryMessage {
	t.Helper()
	var summary clientsMirrorSummaryMessage
	found := false
	for _, line := range bytes.Split(bytes.TrimSpace(r.Stdout), []byte("\n")) {
		var m struct {
			Status      string `json:"status"`
			Source      string `json:"source"`
			Total       *int64 `json:"total"`
			Transferred int64  `json:"transferred"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("mc mirror --json line %q: %v", line, err)
		}
		if m.Status != "success" {
			t.Errorf("mc mirror --json: %s", line)
		}
		if m.Total != nil && m.Source == "" {
			summary, found = clientsMirrorSummaryMessage{m.Status, *m.Total, m.Transferred}, true
		}
	}
	if !found {
		t.Fatalf("mc mirror --json printed no summary line: %v", r)
	}
	return summary
}

// clientsAWSCopy copies an empty file, one just above the AWS CLI's 8 MiB
// multipart threshold and a 40 MiB one up and down with aws s3 cp.
func clientsAWSCopy(t *testing.T, s *stack) {
	const bucket = "clients-aws"
	cli := harness.AWS(t, s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	cli.Must(t, "s3", "mb", "s3://"+bucket)
	files := []struct {
		key       string
		size      int64
		wantParts int // 0 for a single PUT
	}{
		{"empty", 0, 0},
		{"nine-mib-plus-one", 9*mib + 1, 2},
		{"forty-mib", 40 * mib, 5},
	}
	dir, down := t.TempDir(), t.TempDir()
	want := map[string]int64{}
	for _, f := range files {
		path := filepath.Join(dir, f.key)
		sum := clientsWriteFile(t, path, "aws/"+f.key, f.size)
		want[f.key] = f.size
		cli.Must(t, "s3", "cp", "--no-progress", path, "s3://"+bucket+"/"+f.key)
		dst := filepath.Join(down, f.key)
		cli.Must(t, "s3", "cp", "--no-progress", "s3://"+bucket+"/"+f.key, dst)
		clientsAssertFileSum(t, dst, f.size, sum)

		var head struct {
			ContentLength        int64
			ETag                 string
			ServerSideEncryption string
		}
		harness.DecodeJSON(t, cli.Must(t, "s3api", "head-object", "--bucket", bucket, "--key", f.key), &head)
		if head.ContentLength != f.size || head.ServerSideEncryption != sseS3 {
			t.Errorf("head-object %s: ContentLength %d, ServerSideEncryption %q; want %d, %q", f.key, head.ContentLength, head.ServerSideEncryption, f.size, sseS3)
		}
		if got := clientsETagParts(head.ETag); got != f.wantParts {
			t.Errorf("head-object %s: ETag %s has %d parts, want %d (the upload the AWS CLI chose)", f.key, head.ETag, got, f.wantParts)
		}
		clientsAssertSealed(t, s, bucket, f.key, path)
	}
	var list struct {
		Contents []struct {
			Key  string
			Size int64
		}
	}
	harness.DecodeJSON(t, cli.Must(t, "s3api", "list-objects-v2", "--bucket", bucket), &list)
	got := map[string]int64{}
	for _, c := range list.Contents {
		got[c.Key] = c.Size
	}
	clientsAssertSizes(t, "aws s3api list-objects-v2", got, want)
}

// clientsAWSSync syncs the tree up, again (uploading nothing) and down.
//
// botocore (AWS CLI v1.45, botocore 1.43) sends "Expect: 100-continue" on
// every PutObject, also of empty files. A Go server (MinIO as much as
// s3seal) answers an empty body at once, without 100 Continue; botocore
// then keeps that answer's status line for the next request on the same
// connection, misreads the next response and waits for a body until its
// 60 s read timeout. aws s3 sync of a tree with empty files against MinIO
// itself stalls the same way. BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE is
// botocore's switch that leaves the header off empty bodies.
func clientsAWSSync(t *testing.T, s *stack, tree string) {
	const bucket = "clients-sync"
	aws := harness.AWS(t, s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	aws.Setenv("BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE", "true")
	cli := aws.Must
	cli(t, "s3", "mb", "s3://"+bucket)
	up := cli(t, "s3", "sync", "--no-progress", tree, "s3://"+bucket)
	if got, want := bytes.Count(up.Stdout, []byte("upload: ")), len(clientsTree); got != want {
		t.Errorf("aws s3 sync up reported %d uploads, want %d:\n%s", got, want, up.Stdout)
	}
	clientsAssertListed(t, s.gw.Client(t), bucket, clientsTreeSizes(), true)

	// aws s3 sync uploads a file whose size differs from the listed size
	// or that is newer than its object; the tree's files are an hour old,
	// so only a wrong listed size would make it upload.
	again := cli(t, "s3", "sync", "--no-progress", tree, "s3://"+bucket)
	if out := strings.TrimSpace(string(again.Stdout)); out != "" {
		t.Errorf("second aws s3 sync printed:\n%s\nwant nothing (no uploads)", out)
	}

	down := filepath.Join(t.TempDir(), "down")
	cli(t, "s3", "sync", "--no-progress", "s3://"+bucket, down)
	clientsAssertSameTree(t, down, tree)
	clientsAssertTreeSealed(t, s, bucket, tree)
}

// clientsBoto3Script uploads argv[4] as a multipart object, downloads it
// with parallel ranged GETs to argv[5] and prints as JSON what HEAD and
// ListObjectsV2 say about it and which requests boto3 sent.
const clientsBoto3Script = `
import json, sys
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket, key, src, dst = sys.argv[1:6]
MiB = 1024 * 1024
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
sent = {"UploadPart": 0, "RangedGetObject": 0}
def count_upload_part(request, **kwargs):
    sent["UploadPart"] += 1
def count_ranged_get(request, **kwargs):
    if request.headers.get("Range"):
        sent["RangedGetObject"] += 1
s3.meta.events.register("before-send.s3.UploadPart", count_upload_part)
s3.meta.events.register("before-send.s3.GetObject", count_ranged_get)
s3.create_bucket(Bucket=bucket)
s3.upload_file(src, bucket, key, Config=TransferConfig(
    multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB))
s3.download_file(bucket, key, dst, Config=TransferConfig(
    multipart_threshold=8 * MiB, max_concurrency=8, multipart_chunksize=5 * MiB))
head = s3.head_object(Bucket=bucket, Key=key)
listed = s3.list_objects_v2(Bucket=bucket)
json.dump({
    "boto3": boto3.__version__,
    "contentLength": head["ContentLength"],
    "serverSideEncryption": head.get("ServerSideEncryption", ""),
    "etag": head["ETag"],
    "listed": {o["Key"]: o["Size"] for o in listed.get("Contents", [])},
    "sent": sent,
}, sys.stdout)
`

// clientsBoto3 runs clientsBoto3Script on a 30 MiB file.
func clientsBoto3(t *testing.T, s *stack) {
	const (
		bucket = "clients-boto3"
		key    = "thirty-mib"
		size   = 30 * mib
	)
	python := clientsPythonWithBoto3(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "boto3_roundtrip.py")
	if err := os.WriteFile(script, []byte(clientsBoto3Script), 0o600); err != nil {
		t.Fatal(err)
	}
	src, dst := filepath.Join(dir, key), filepath.Join(dir, key+".down")
	sum := clientsWriteFile(t, src, "boto3/"+key, size)

	cli := harness.AWS(t, s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	r := harness.MustRun(t, python, []string{script, s.gw.Endpoint, bucket, key, src, dst}, cli.Env(), dir)
	var got struct {
		Boto3                string           `json:"boto3"`
		ContentLength        int64            `json:"contentLength"`
		ServerSideEncryption string           `json:"serverSideEncryption"`
		ETag                 string           `json:"etag"`
		Listed               map[string]int64 `json:"listed"`
		Sent                 struct {
			UploadPart      int `json:"UploadPart"`
			RangedGetObject int `json:"RangedGetObject"`
		} `json:"sent"`
	}
	if err := json.Unmarshal(r.Stdout, &got); err != nil {
		t.Fatalf("boto3 script output %q: %v", r.Stdout, err)
	}
	t.Logf("boto3 %s (%s)", got.Boto3, python)
	if got.Sent.UploadPart != 4 || got.Sent.RangedGetObject != 6 {
		t.Errorf("boto3 sent %d UploadPart and %d ranged GetObject requests, want 4 (8 MiB parts) and 6 (5 MiB ranges)", got.Sent.UploadPart, got.Sent.RangedGetObject)
	}
	clientsAssertFileSum(t, dst, size, sum)
	if got.ContentLength != size || got.ServerSideEncryption != sseS3 {
		t.Errorf("head_object: ContentLength %d, ServerSideEncryption %q; want %d, %q", got.ContentLength, got.ServerSideEncryption, size, sseS3)
	}
	if parts := clientsETagParts(got.ETag); parts != 4 {
		t.Errorf("head_object ETag %s has %d parts, want 4 (30 MiB in 8 MiB parts)", got.ETag, parts)
	}
	clientsAssertSizes(t, "list_objects_v2", got.Listed, map[string]int64{key: size})
	clientsAssertSealed(t, s, bucket, key, src)
}

// clientsPythonWithBoto3 returns a Python interpreter that can import
// boto3: the one on PATH (the machine image's pyenv) or Debian's.
func clientsPythonWithBoto3(t testing.TB) string {
	t.Helper()
	var tried []string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(name)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		out, err := exec.CommandContext(t.Context(), path, "-c", "import boto3").CombinedOutput()
		if err == nil {
			return path
		}
		tried = append(tried, fmt.Sprintf("%s: %v: %s", path, err, bytes.TrimSpace(out)))
	}
	t.Fatalf("no Python with boto3 (%s); pip install boto3, or apt-get install -y python3-boto3", strings.Join(tried, "; "))
	return ""
}

// clientsSDKChecksums puts and gets objects with aws-sdk-go-v2's default
// CRC32 checksums; with ChecksumMode ENABLED the SDK validates the body
// against the checksum the gateway returns and fails the read on mismatch.
func clientsSDKChecksums(t *testing.T, s *stack) {
	const bucket = "clients-sdk"
	c := s.gw.S3(t)
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	for _, size := range []int{0, mib} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			key := fmt.Sprintf("checksummed-%d", size)
			data := harness.RandomBytes(t, size)
			var crc [4]byte
			binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(data))
			wantCRC := base64.StdEncoding.EncodeToString(crc[:])

			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			if got := aws.ToString(put.ChecksumCRC32); got != wantCRC {
				t.Errorf("PutObject ChecksumCRC32 = %q, want %q", got, wantCRC)
			}
			if put.ServerSideEncryption != types.ServerSideEncryptionAes256 {
				t.Errorf("PutObject ServerSideEncryption = %q, want %q", put.ServerSideEncryption, sseS3)
			}
			get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatalf("GetObject with ChecksumMode ENABLED: %v", err)
			}
			body, err := io.ReadAll(get.Body)
			get.Body.Close()
			if err != nil {
				t.Fatalf("read GetObject body (the SDK validates the checksum at EOF): %v", err)
			}
			assertSameBytes(t, "GetObject body", body, data)
			if got := aws.ToString(get.ChecksumCRC32); got != wantCRC {
				t.Errorf("GetObject ChecksumCRC32 = %q, want %q (without it the SDK validates nothing)", got, wantCRC)
			}
			if get.ServerSideEncryption != types.ServerSideEncryptionAes256 {
				t.Errorf("GetObject ServerSideEncryption = %q, want %q", get.ServerSideEncryption, sseS3)
			}
			if aws.ToInt64(get.ContentLength) != int64(size) {
				t.Errorf("GetObject ContentLength = %d, want %d", aws.ToInt64(get.ContentLength), size)
			}
			stored := s.backendObject(t, bucket, key)
			clientsAssertStored(t, s, bucket, key, stored, data)
		})
	}
}

// clientsRclone copies the tree with rclone (multipart above 5 MiB), checks
// it by size and by downloading, and copies again expecting no transfers.
func clientsRclone(t *testing.T, s *stack, tree string) {
	const bucket = "clients-rclone"
	rclone := harness.RClone(t, s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey).Must
	if v := rclone(t, "version").Stdout; len(v) > 0 {
		t.Logf("%s", bytes.SplitN(v, []byte("\n"), 2)[0])
	}
	remote := "gw:" + bucket
	// Files from 5 MiB up go multipart, in 5 MiB parts. rclone takes the
	// ETag of an SSE-S3 object for an MD5 of its content: a single-part
	// ETag for the content's MD5 (it deletes the copy when they differ), a
	// multipart ETag for the MD5 of the parts' MD5s; s3seal gives both
	// (README, "ETags"), so rclone checks every upload, with no flag that
	// turns a check off. The content is also checked below by downloading it.
	upload := []string{"--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"}
	rclone(t, append([]string{"copy", tree, remote}, upload...)...)
	clientsAssertListed(t, s.gw.Client(t), bucket, clientsTreeSizes(), true)
	rclone(t, "check", tree, remote) // sizes and MD5s: single-part ETags, multipart rclone metadata
	rclone(t, "check", "--download", tree, remote)

	// rclone copies a file whose size differs from the listed size or whose
	// modification time differs from the one it stored in the metadata.
	again := rclone(t, append([]string{"copy", "--use-json-log", "--log-level", "INFO", tree, remote}, upload...)...)
	stats, ok := clientsRcloneStats(again.Stderr)
	if !ok {
		t.Fatalf("second rclone copy logged no stats:\n%s", again.Stderr)
	}
	if stats.Transfers != 0 || stats.Errors != 0 || stats.Checks != len(clientsTree) {
		t.Errorf("second rclone copy: %d transfers, %d errors, %d checks; want 0, 0, %d\n%s", stats.Transfers, stats.Errors, stats.Checks, len(clientsTree), again.Stderr)
	}
	clientsAssertTreeSealed(t, s, bucket, tree)
}

// clientsRcloneCopyStats is what the last stats line of rclone's JSON log
// reports.
type clientsRcloneCopyStats struct {
	Transfers int `json:"transfers"`
	Errors    int `json:"errors"`
	Checks    int `json:"checks"`
}

// clientsRcloneStats returns the last stats of rclone's --use-json-log
// output.
func clientsRcloneStats(log string) (clientsRcloneCopyStats, bool) {
	var stats clientsRcloneCopyStats
	found := false
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line struct {
			Stats *clientsRcloneCopyStats `json:"stats"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Stats != nil {
			stats, found = *line.Stats, true
		}
	}
	return stats, found
}
