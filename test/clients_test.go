package test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/test/harness"
)

// clientsTree is the directory tree the sync tools (mc mirror, aws s3 sync,
// rclone copy) carry to the gateway and back: nested directories, empty
// files, the 64 KiB DARE package boundary, one file above the 8 MiB
// multipart threshold of the AWS tools and one above mc's 16 MiB.
var clientsTree = []struct {
	path string
	size int64
}{
	{"empty", 0},
	{"one-byte", 1},
	{"docs/readme.txt", 1000},
	{"docs/a/page-64k-minus-1", 64<<10 - 1},
	{"docs/a/page-64k", 64 << 10},
	{"docs/a/page-64k-plus-1", 64<<10 + 1},
	{"docs/a/b/c/deep.bin", 4097},
	{"img/photo-1.jpg", 300_000},
	{"img/photo-2.jpg", mib + 17},
	{"img/raw/photo-3.raw", 3*mib + 1},
	{"img/raw/photo-4.raw", 5 * mib},
	{"img/raw/photo-5.raw", 5*mib + 1},
	{"video/clip.mp4", 17*mib + 5},
	{"video/thumbs/t1.png", 12345},
	{"video/thumbs/t2.png", 54321},
	{"logs/2026/01/app.log", 777},
	{"logs/2026/02/app.log", 128 << 10},
	{"logs/2026/02/empty.log", 0},
	{"data/x/y/z/sparse.dat", 9*mib + 1},
	{"data/name with spaces.bin", 2048},
	{"data/ünïcödé.txt", 333},
}

// clientsMaxRSSGrowth bounds how much the gateway's resident memory may grow
// while it streams a 200 MiB object: it must stream with bounded buffers,
// not hold objects or parts in memory.
const clientsMaxRSSGrowth = 128 * mib

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

// clientsBigBucket holds the 200 MiB object and its copies, clientsBigKeys.
const clientsBigBucket = "clients-big"

var clientsBigKeys = []string{"big200", "big200-copy", "big200-swapped"}

// clientsBigObject uploads, downloads and copies (CopyObject through mc,
// UploadPartCopy through minio-go's ComposeObject) a 200 MiB object while
// sampling the gateway's resident memory. The file it uploads is dir/big200.
func clientsBigObject(t *testing.T, s *stack, mc *harness.MCClient, dir string) {
	const (
		bucket = clientsBigBucket
		size   = 200 * mib
		half   = size / 2
	)
	src := filepath.Join(dir, "big200")
	wantSum := clientsWriteFile(t, src, "big200", size)
	mc.Must(t, "mb", "gw/"+bucket)
	gwc := s.gw.Client(t)
	pid := s.gw.PID()

	t.Run("mc cp up", func(t *testing.T) {
		growth := clientsRSSGrowth(t, pid, func() { mc.Must(t, "cp", src, "gw/"+bucket+"/big200") })
		clientsAssertRSSGrowth(t, "mc cp of 200 MiB to the gateway", growth)
		clientsAssertListed(t, gwc, bucket, map[string]int64{"big200": size}, false)
	})

	t.Run("mc cp down", func(t *testing.T) {
		dst := filepath.Join(dir, "big200.down")
		growth := clientsRSSGrowth(t, pid, func() { mc.Must(t, "cp", "gw/"+bucket+"/big200", dst) })
		clientsAssertRSSGrowth(t, "mc cp of 200 MiB from the gateway", growth)
		clientsAssertFileSum(t, dst, size, wantSum)
	})

	t.Run("mc cp server-side copy", func(t *testing.T) {
		var r harness.Result
		growth := clientsRSSGrowth(t, pid, func() {
			r = mc.Must(t, "--debug", "cp", "gw/"+bucket+"/big200", "gw/"+bucket+"/big200-copy")
		})
		// Without X-Amz-Copy-Source mc would have copied through itself and
		// the gateway's memory would not have been tested on the copy path.
		if !strings.Contains(r.Stderr, "X-Amz-Copy-Source: "+bucket+"/big200") {
			t.Errorf("mc --debug trace lacks X-Amz-Copy-Source: %s/big200, want a server-side copy", bucket)
		}
		clientsAssertRSSGrowth(t, "server-side copy of 200 MiB", growth)
		if got, n := clientsObjectSum(t, gwc, bucket, "big200-copy"); got != wantSum || n != size {
			t.Errorf("copy big200-copy: got %d bytes, sha256 %s; want %d bytes, sha256 %s", n, got, size, wantSum)
		}
	})

	t.Run("ComposeObject from two 100 MiB part copies", func(t *testing.T) {
		// The halves are composed in swapped order, so a gateway that
		// ignored x-amz-copy-source-range could not produce the content.
		srcs := []minio.CopySrcOptions{
			{Bucket: bucket, Object: "big200", MatchRange: true, Start: half, End: size - 1},
			{Bucket: bucket, Object: "big200", MatchRange: true, Start: 0, End: half - 1},
		}
		var info minio.UploadInfo
		var err error
		growth := clientsRSSGrowth(t, pid, func() {
			info, err = gwc.ComposeObject(t.Context(), minio.CopyDestOptions{Bucket: bucket, Object: "big200-swapped"}, srcs...)
		})
		if err != nil {
			t.Fatalf("ComposeObject: %v", err)
		}
		clientsAssertRSSGrowth(t, "UploadPartCopy of 2 × 100 MiB", growth)
		if !strings.HasSuffix(strings.Trim(info.ETag, `"`), "-2") {
			t.Errorf("ComposeObject ETag = %q, want a 2-part multipart ETag", info.ETag)
		}
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, io.MultiReader(io.NewSectionReader(f, half, half), io.NewSectionReader(f, 0, half))); err != nil {
			t.Fatal(err)
		}
		want := hex.EncodeToString(h.Sum(nil))
		if got, n := clientsObjectSum(t, gwc, bucket, "big200-swapped"); got != want || n != size {
			t.Errorf("composed big200-swapped: got %d bytes, sha256 %s; want %d bytes, sha256 %s", n, got, size, want)
		}
	})

	t.Run("listing", func(t *testing.T) {
		want := map[string]int64{}
		for _, key := range clientsBigKeys {
			want[key] = size
		}
		clientsAssertListed(t, gwc, bucket, want, true)
		clientsAssertSizes(t, "mc ls", mcListSizes(t, mc, "gw/"+bucket+"/"), want)
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
func clientsMirrorSummary(t *testing.T, r harness.Result) clientsMirrorSummaryMessage {
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
func clientsPythonWithBoto3(t *testing.T) string {
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
	bin := harness.Tools(t, "rclone").RClone
	dir := t.TempDir()
	env := append(harness.EnvWithout("AWS_", "RCLONE_"),
		"HOME="+dir,
		"RCLONE_CONFIG="+filepath.Join(dir, "rclone.conf"),
		"RCLONE_CONFIG_GW_TYPE=s3",
		"RCLONE_CONFIG_GW_PROVIDER=Minio",
		"RCLONE_CONFIG_GW_ENDPOINT="+s.gw.Endpoint,
		"RCLONE_CONFIG_GW_ACCESS_KEY_ID="+s.gw.AccessKey,
		"RCLONE_CONFIG_GW_SECRET_ACCESS_KEY="+s.gw.SecretKey,
		"RCLONE_CONFIG_GW_REGION=us-east-1",
	)
	// rclone retries a failing request 10 times in each of 3 attempts,
	// with back-off: minutes before a product error would surface.
	rclone := func(t *testing.T, args ...string) harness.Result {
		t.Helper()
		return harness.MustRun(t, bin, append(args, "--retries", "1", "--low-level-retries", "1"), env, dir)
	}
	if v := rclone(t, "version").Stdout; len(v) > 0 {
		t.Logf("%s", bytes.SplitN(v, []byte("\n"), 2)[0])
	}
	remote := "gw:" + bucket
	// Files from 5 MiB up go multipart, in 5 MiB parts. rclone takes the
	// ETag of an SSE-S3 object for an MD5 of its content: a single-part
	// ETag for the content's MD5 (it deletes the copy when they differ),
	// a multipart ETag for the MD5 of the parts' MD5s. s3seal's ETags are
	// the backend's ETags of the ciphertext, never plaintext MD5s (README,
	// "ETags"), so both checks are off; the content is checked below by
	// downloading it.
	upload := []string{"--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--s3-use-multipart-etag=false"}
	rclone(t, append([]string{"copy", "--ignore-checksum", tree, remote}, upload...)...)
	clientsAssertListed(t, s.gw.Client(t), bucket, clientsTreeSizes(), true)
	rclone(t, "check", "--size-only", tree, remote)
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

// clientsWriteTree writes clientsTree under a new directory and dates every
// file and directory an hour back, so that the sync tools' "source newer
// than the object" rule cannot fire and only sizes decide.
func clientsWriteTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	for _, f := range clientsTree {
		path := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		clientsWriteFile(t, path, "tree/"+f.path, f.size)
	}
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(path, old, old)
	})
	if err != nil {
		t.Fatalf("date the tree back: %v", err)
	}
	return root
}

func clientsTreeSizes() map[string]int64 {
	sizes := map[string]int64{}
	for _, f := range clientsTree {
		sizes[f.path] = f.size
	}
	return sizes
}

func clientsTreeSize() int64 {
	var n int64
	for _, f := range clientsTree {
		n += f.size
	}
	return n
}

// clientsWriteFile writes size bytes to path and returns their hex SHA-256.
// The bytes come from ChaCha8 seeded with name: fast, incompressible, the
// same in every run and different for every name, so a plaintext run found
// on the backend points at one file.
func clientsWriteFile(t *testing.T, path, name string, size int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := mrand.NewChaCha8(sha256.Sum256([]byte(name)))
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rng, size)); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// clientsFileSum returns the size and hex SHA-256 of a file, streaming it.
func clientsFileSum(t *testing.T, path string) (int64, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

func clientsAssertFileSum(t *testing.T, path string, size int64, sum string) {
	t.Helper()
	n, got := clientsFileSum(t, path)
	if n != size || got != sum {
		t.Errorf("%s: got %d bytes, sha256 %s; want %d bytes, sha256 %s", filepath.Base(path), n, got, size, sum)
	}
}

// clientsObjectSum streams bucket/key from c and returns its hex SHA-256 and
// length.
func clientsObjectSum(t *testing.T, c *minio.Client, bucket, key string) (string, int64) {
	t.Helper()
	obj, err := c.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// clientsTreeSums maps every file under root (slash-separated, relative) to
// its size and SHA-256.
func clientsTreeSums(t *testing.T, root string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		n, sum := clientsFileSum(t, path)
		sums[filepath.ToSlash(rel)] = fmt.Sprintf("%d bytes, sha256 %s", n, sum)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return sums
}

// clientsAssertSameTree fails unless got holds exactly want's files with
// the same content.
func clientsAssertSameTree(t *testing.T, got, want string) {
	t.Helper()
	g, w := clientsTreeSums(t, got), clientsTreeSums(t, want)
	for path, ws := range w {
		if gs, ok := g[path]; !ok {
			t.Errorf("downloaded tree lacks %s, want %s", path, ws)
		} else if gs != ws {
			t.Errorf("downloaded %s: got %s, want %s", path, gs, ws)
		}
	}
	for path, gs := range g {
		if _, ok := w[path]; !ok {
			t.Errorf("downloaded tree has %s (%s), want no such file", path, gs)
		}
	}
}

// clientsAssertListed lists bucket through the gateway and compares the
// sizes with want; exact requires no other objects.
func clientsAssertListed(t *testing.T, c *minio.Client, bucket string, want map[string]int64, exact bool) {
	t.Helper()
	got := map[string]int64{}
	for obj := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("ListObjectsV2 %s: %v", bucket, obj.Err)
		}
		if _, ok := want[obj.Key]; ok || exact {
			got[obj.Key] = obj.Size
		}
	}
	clientsAssertSizes(t, "ListObjectsV2 "+bucket, got, want)
}

func clientsAssertSizes(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	for key, size := range want {
		if n, ok := got[key]; !ok {
			t.Errorf("%s does not list %s, want it with size %d", what, key, size)
		} else if n != size {
			t.Errorf("%s size of %s = %d, want %d", what, key, n, size)
		}
	}
	for key, n := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s lists %s (%d bytes), want no such object", what, key, n)
		}
	}
}

// clientsAssertTreeSealed checks every object of the tree on the backend.
func clientsAssertTreeSealed(t *testing.T, s *stack, bucket, tree string) {
	t.Helper()
	for _, f := range clientsTree {
		clientsAssertSealed(t, s, bucket, f.path, filepath.Join(tree, filepath.FromSlash(f.path)))
	}
}

// clientsAssertSealed reads bucket/key straight from the backend and fails
// unless it is s3seal ciphertext of the file at plaintextPath.
func clientsAssertSealed(t *testing.T, s *stack, bucket, key, plaintextPath string) {
	t.Helper()
	plaintext, err := os.ReadFile(plaintextPath)
	if err != nil {
		t.Fatal(err)
	}
	clientsAssertStored(t, s, bucket, key, s.backendObject(t, bucket, key), plaintext)
}

// clientsAssertStored fails unless stored, the backend's bytes of
// bucket/key, is larger than plaintext, carries s3seal's version metadata
// and (for plaintexts of 64 bytes or more) holds no 32-byte plaintext run.
// Empty plaintexts are stored as empty streams.
func clientsAssertStored(t *testing.T, s *stack, bucket, key string, stored, plaintext []byte) {
	t.Helper()
	name := bucket + "/" + key
	info, err := s.direct.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("backend StatObject %s: %v", name, err)
	}
	if v := info.Metadata.Get(crypto.MetadataPrefix + "Version"); v == "" {
		t.Errorf("backend %s has no %sVersion metadata, want s3seal's", name, crypto.MetadataPrefix)
	}
	if len(plaintext) == 0 {
		// An empty plaintext is an empty DARE stream (crypto/doc.go): the
		// metadata alone makes the object s3seal's.
		if len(stored) != 0 {
			t.Errorf("backend %s holds %d bytes for an empty plaintext, want 0 (an empty DARE stream)", name, len(stored))
		}
		return
	}
	if len(stored) <= len(plaintext) {
		t.Errorf("backend %s holds %d bytes for %d bytes of plaintext, want more (ciphertext carries overhead)", name, len(stored), len(plaintext))
	}
	if len(plaintext) < 64 {
		return
	}
	if so, po, found := harness.FindPlaintextRun(stored, plaintext); found {
		t.Errorf("backend %s: bytes at offset %d equal plaintext bytes at offset %d (%d-byte run): data stored in the clear", name, so, po, harness.PlaintextRunLen)
	}
}

// clientsETagParts returns N of a multipart ETag "…-N", 0 for others.
func clientsETagParts(etag string) int {
	_, parts, ok := strings.Cut(strings.Trim(etag, `"`), "-")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(parts)
	return n
}

// clientsRSSGrowth runs op while sampling the resident set size of process
// pid every 50 ms and returns the peak growth over the size just before op.
func clientsRSSGrowth(t *testing.T, pid int, op func()) int64 {
	t.Helper()
	baseline, err := clientsRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		peak    = baseline
		samples int
		sampErr error
	)
	sample := func() {
		rss, err := clientsRSS(pid)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			sampErr = err
			return
		}
		samples++
		peak = max(peak, rss)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				sample()
			}
		}
	}()
	start := time.Now()
	func() {
		// op may end the test's goroutine (t.Fatal): stop sampling anyway.
		defer func() { close(done); <-stopped }()
		op()
	}()
	sample()
	mu.Lock()
	defer mu.Unlock()
	if sampErr != nil {
		t.Errorf("sample gateway RSS: %v", sampErr)
	}
	t.Logf("gateway RSS: baseline %.1f MiB, peak %.1f MiB, growth %.1f MiB over %d samples in %v",
		float64(baseline)/mib, float64(peak)/mib, float64(peak-baseline)/mib, samples, time.Since(start).Round(time.Millisecond))
	return peak - baseline
}

func clientsAssertRSSGrowth(t *testing.T, what string, growth int64) {
	t.Helper()
	if growth >= clientsMaxRSSGrowth {
		t.Errorf("%s: gateway RSS grew by %.1f MiB, want less than %d MiB", what, float64(growth)/mib, clientsMaxRSSGrowth/mib)
	}
}

// clientsRSS returns VmRSS of process pid in bytes.
func clientsRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS of pid %d: %q: %w", pid, line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
