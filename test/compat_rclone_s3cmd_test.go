package test

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// The rclone and s3cmd rows of TestCompatibility.

// compatRclone is the rclone row: the pinned rclone with a remote of
// provider Minio configured from the environment, and no flags that turn
// its checks off (no --ignore-checksum, no --s3-use-multipart-etag=false,
// no --size-only). The flags it gets: the CA file a user of a private
// endpoint names, --retries 1 --low-level-retries 1 so that a failure
// surfaces in seconds rather than minutes, and, in the multipart cell,
// the part sizes that put an 11 MiB file on the path files above 200 MiB
// take by default.
func compatRclone(t *testing.T, e *compatEnv) compatClient {
	bin := harness.Tools(t, "rclone").RClone
	dir := t.TempDir()
	env := append(harness.EnvWithout("AWS_", "RCLONE_"),
		"HOME="+dir,
		"RCLONE_CONFIG="+filepath.Join(dir, "rclone.conf"),
		"RCLONE_CA_CERT="+e.caFile,
		"RCLONE_CONFIG_GW_TYPE=s3",
		"RCLONE_CONFIG_GW_PROVIDER=Minio",
		"RCLONE_CONFIG_GW_ENDPOINT="+e.s.gw.Endpoint,
		"RCLONE_CONFIG_GW_ACCESS_KEY_ID="+e.s.gw.AccessKey,
		"RCLONE_CONFIG_GW_SECRET_ACCESS_KEY="+e.s.gw.SecretKey,
		"RCLONE_CONFIG_GW_REGION=us-east-1",
	)
	rclone := func(t testing.TB, args ...string) harness.Result {
		t.Helper()
		return harness.MustRun(t, bin, append(args, "--retries", "1", "--low-level-retries", "1"), env, dir)
	}
	bucket := e.bucket(t, "rclone")
	remote := "gw:" + bucket + "/"
	ssec := []string{"--s3-sse-customer-algorithm", "AES256", "--s3-sse-customer-key-base64", base64.StdEncoding.EncodeToString(e.ssecKey)}

	// upload copies a new file named key to the bucket. (The pinned
	// rclone build has copy, not copyto: a file copied into the bucket
	// keeps its name.)
	upload := func(t testing.TB, key string, size int, args ...string) []byte {
		path, data := e.file(t, key, size)
		rclone(t, append(append([]string{"copy"}, args...), path, remote)...)
		return data
	}
	cat := func(t testing.TB, key string, args ...string) []byte {
		return rclone(t, append(append([]string{"cat"}, args...), remote+key)...).Stdout
	}
	sseCell := func(key, sse string, args ...string) compatCell {
		return compatCell{run: func(t testing.TB) {
			data := upload(t, key, 100<<10+3, args...)
			assertSameBytes(t, "rclone cat "+key, cat(t, key, args...), data)
			e.assertStored(t, bucket, key, data, sse)
		}}
	}

	return compatClient{
		version: firstLine(rclone(t, "version").Stdout),
		cells: map[string]compatCell{
			"put-get-range": {run: func(t testing.TB) {
				data := upload(t, "pgr", 200<<10+7)
				assertSameBytes(t, "rclone cat", cat(t, "pgr"), data)
				assertSameBytes(t, "rclone cat --offset 65530 --count 65571", cat(t, "pgr", "--offset", "65530", "--count", "65571"), data[65530:131101])
				e.assertStored(t, bucket, "pgr", data, wantSSES3)
			}},
			"multipart-checksums": {run: func(t testing.TB) {
				// rclone sends each part's Content-MD5 and checks the
				// multipart ETag against the parts' MD5s.
				data := upload(t, "mp", 11*mib+1, "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M")
				assertSameBytes(t, "rclone cat mp", cat(t, "mp"), data)
				e.assertMultipart(t, bucket, "mp")
				e.assertStored(t, bucket, "mp", data, wantSSES3)
			}},
			"copy": {run: func(t testing.TB) {
				data := upload(t, "copy-src", 100<<10+5)
				// Within one remote rclone copies server-side (CopyObject).
				rclone(t, "copy", remote+"copy-src", remote+"copied")
				assertSameBytes(t, "rclone cat copied/copy-src", cat(t, "copied/copy-src"), data)
				e.assertStored(t, bucket, "copied/copy-src", data, wantSSES3)
			}},
			"metadata": {run: func(t testing.TB) {
				upload(t, "meta", 1000, "--metadata", "--metadata-set", "color=blue", "--metadata-set", "content-type=text/x-compat")
				var list []struct {
					Metadata map[string]string `json:"Metadata"`
				}
				harness.DecodeJSON(t, rclone(t, "lsjson", "--metadata", remote+"meta"), &list)
				if len(list) != 1 {
					t.Fatalf("rclone lsjson meta listed %d entries, want 1", len(list))
				}
				assertMetadata(t, "rclone lsjson --metadata", list[0].Metadata, map[string]string{"content-type": "text/x-compat", "color": "blue"})
			}},
			"presign": {run: func(t testing.TB) {
				// rclone link answers a presigned GET URL for an s3 object.
				data := upload(t, "presign", 70<<10)
				url := firstLine(rclone(t, "link", "--expire", "10m", remote+"presign").Stdout)
				assertSameBytes(t, "GET of rclone link URL", e.fetch(t, url), data)
			}},
			"post-policy": na("rclone has no command that signs a POST policy form"),
			"sse-kms":     sseCell("sse-kms", wantSSEKMS, "--s3-server-side-encryption", "aws:kms", "--s3-sse-kms-key-id", e.kmsKey),
			"sse-s3":      sseCell("sse-s3", wantSSES3, "--s3-server-side-encryption", "AES256"),
			"sse-c":       sseCell("sse-c", wantSSEC, ssec...),
			"listing-sizes": {run: func(t testing.TB) {
				tree := writeTree(t, compatListingFiles)
				rclone(t, "copy", filepath.Join(tree, "listing"), remote+"listing")
				var list []struct {
					Path string `json:"Path"`
					Size int64  `json:"Size"`
				}
				harness.DecodeJSON(t, rclone(t, "lsjson", "--recursive", "--files-only", remote+"listing"), &list)
				got := map[string]int64{}
				for _, o := range list {
					got["listing/"+o.Path] = o.Size
				}
				clientsAssertSizes(t, "rclone lsjson", got, compatListingSizes())
			}},
			"sync-twice": {run: func(t testing.TB) {
				tree := writeTree(t, compatSyncTree)
				rclone(t, "sync", tree, remote+"sync")
				// rclone transfers a file whose size or modification time
				// (kept in the object's metadata) differs.
				again := rclone(t, "sync", "--use-json-log", "--log-level", "INFO", tree, remote+"sync")
				stats, ok := clientsRcloneStats(again.Stderr)
				if !ok {
					t.Fatalf("second rclone sync logged no stats:\n%s", again.Stderr)
				}
				if stats.Transfers != 0 || stats.Errors != 0 {
					t.Errorf("second rclone sync: %d transfers, %d errors; want 0, 0", stats.Transfers, stats.Errors)
				}
			}},
		},
	}
}

func compatS3cmd(t *testing.T, e *compatEnv) compatClient {
	return compatS3cmdRow(t, e, "s3cmd", false)
}

func compatS3cmdV2(t *testing.T, e *compatEnv) compatClient {
	return compatS3cmdRow(t, e, "s3cmd-sigv2", true)
}

// compatS3cmdRow is an s3cmd row: Debian's s3cmd with a generated config
// file (path-style, https trusting the gateway's CA, 5 MiB multipart
// chunks, SigV2 when sigV2). s3cmd checks every download's MD5 against the
// ETag or the MD5 it stored in x-amz-meta-s3cmd-attrs.
func compatS3cmdRow(t *testing.T, e *compatEnv, client string, sigV2 bool) compatClient {
	bin, err := exec.LookPath("s3cmd")
	if err != nil {
		t.Fatalf("s3cmd not found (%v); test/install-host-tools.sh installs it (apt-get install -y s3cmd)", err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "s3cfg")
	host := e.s.gw.Addr()
	configText := fmt.Sprintf(`[default]
access_key = %s
secret_key = %s
host_base = %s
host_bucket = %s
bucket_location = us-east-1
use_https = True
check_ssl_certificate = True
ca_certs_file = %s
signature_v2 = %s
multipart_chunk_size_mb = 5
progress_meter = False
signurl_use_https = True
`, e.s.gw.AccessKey, e.s.gw.SecretKey, host, host, e.caFile, map[bool]string{false: "False", true: "True"}[sigV2])
	if err := os.WriteFile(config, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	env := harness.BaseEnv(dir)
	s3cmd := func(t testing.TB, args ...string) harness.Result {
		t.Helper()
		return harness.MustRun(t, bin, append([]string{"-c", config}, args...), env, dir)
	}
	bucket := e.bucket(t, client)
	s3url := "s3://" + bucket + "/"

	upload := func(t testing.TB, key string, size int, args ...string) []byte {
		path, data := e.file(t, key, size)
		s3cmd(t, append(append([]string{"put"}, args...), path, s3url+key)...)
		return data
	}
	download := func(t testing.TB, key string) []byte {
		path := filepath.Join(t.TempDir(), "down")
		s3cmd(t, "get", s3url+key, path)
		return readFile(t, path)
	}
	sseCell := func(key, sse string, args ...string) compatCell {
		return compatCell{run: func(t testing.TB) {
			data := upload(t, key, 100<<10+3, args...)
			assertSameBytes(t, "s3cmd get "+key, download(t, key), data)
			e.assertStored(t, bucket, key, data, sse)
		}}
	}

	return compatClient{
		version: firstLine(s3cmd(t, "--version").Stdout),
		cells: map[string]compatCell{
			"put-get-range": {run: func(t testing.TB) {
				data := upload(t, "pgr", 200<<10+7)
				assertSameBytes(t, "s3cmd get", download(t, "pgr"), data)
				// get --continue asks for the rest of a partial file with
				// Range: bytes=65530-, then checks the whole file's MD5.
				part := filepath.Join(t.TempDir(), "part")
				if err := os.WriteFile(part, data[:65530], 0o600); err != nil {
					t.Fatal(err)
				}
				s3cmd(t, "get", "--continue", s3url+"pgr", part)
				assertSameBytes(t, "s3cmd get --continue", readFile(t, part), data)
				e.assertStored(t, bucket, "pgr", data, wantSSES3)
			}},
			"multipart-checksums": {run: func(t testing.TB) {
				// 5 MiB chunks (config): three parts, each with its MD5.
				data := upload(t, "mp", 11*mib+1)
				assertSameBytes(t, "s3cmd get mp", download(t, "mp"), data)
				e.assertMultipart(t, bucket, "mp")
				e.assertStored(t, bucket, "mp", data, wantSSES3)
			}},
			"copy": {run: func(t testing.TB) {
				data := upload(t, "copy-src", 100<<10+5)
				s3cmd(t, "cp", s3url+"copy-src", s3url+"copy-dst")
				assertSameBytes(t, "s3cmd get copy-dst", download(t, "copy-dst"), data)
				e.assertStored(t, bucket, "copy-dst", data, wantSSES3)
			}},
			"metadata": {run: func(t testing.TB) {
				upload(t, "meta", 1000, "--mime-type=text/x-compat", "--add-header=x-amz-meta-color:blue")
				info := e.headers(t, bucket, "meta")
				assertMetadata(t, "s3cmd-uploaded object", info, map[string]string{"Content-Type": "text/x-compat", "X-Amz-Meta-Color": "blue"})
				out := string(s3cmd(t, "info", s3url+"meta").Stdout)
				if !strings.Contains(out, "text/x-compat") || !strings.Contains(out, "color: blue") {
					t.Errorf("s3cmd info does not show the Content-Type and x-amz-meta-color:\n%s", out)
				}
			}},
			"presign": {run: func(t testing.TB) {
				data := upload(t, "presign", 70<<10)
				url := firstLine(s3cmd(t, "signurl", s3url+"presign", "+600").Stdout)
				assertSameBytes(t, "GET of s3cmd signurl URL", e.fetch(t, url), data)
			}},
			"post-policy": na("s3cmd has no command that signs a POST policy form"),
			"sse-kms":     sseCell("sse-kms", wantSSEKMS, "--server-side-encryption-kms-id="+e.kmsKey),
			"sse-s3":      sseCell("sse-s3", wantSSES3, "--server-side-encryption"),
			"sse-c":       na("s3cmd 2.3 has no SSE-C (customer key) options"),
			"listing-sizes": {run: func(t testing.TB) {
				tree := writeTree(t, compatListingFiles)
				s3cmd(t, "put", "--recursive", filepath.Join(tree, "listing")+"/", s3url+"listing/")
				got := map[string]int64{}
				for _, line := range strings.Split(strings.TrimSpace(string(s3cmd(t, "ls", s3url+"listing/").Stdout)), "\n") {
					f := strings.Fields(line) // DATE TIME SIZE s3://bucket/key
					if len(f) != 4 {
						t.Fatalf("s3cmd ls line %q is not DATE TIME SIZE URL", line)
					}
					n, err := strconv.ParseInt(f[2], 10, 64)
					if err != nil {
						t.Fatalf("s3cmd ls line %q: %v", line, err)
					}
					got[strings.TrimPrefix(f[3], s3url)] = n
				}
				clientsAssertSizes(t, "s3cmd ls", got, compatListingSizes())
			}},
			"sync-twice": {run: func(t testing.TB) {
				tree := writeTree(t, compatSyncTree)
				s3cmd(t, "sync", tree+"/", s3url+"sync/")
				// s3cmd sync uploads a file whose size or MD5 (the listed
				// ETag) differs.
				again := s3cmd(t, "sync", "--stats", tree+"/", s3url+"sync/")
				if n := strings.Count(string(again.Stdout), "upload:"); n != 0 {
					t.Errorf("second s3cmd sync uploaded %d files, want 0:\n%s", n, again.Stdout)
				}
			}},
		},
	}
}

// headers returns the headers the gateway answers a HEAD of bucket/key
// with, as minio-go reports them.
func (e *compatEnv) headers(t testing.TB, bucket, key string) map[string]string {
	t.Helper()
	info, err := e.gw.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject %s: %v", key, err)
	}
	h := map[string]string{"Content-Type": info.ContentType}
	for k := range info.Metadata {
		h[k] = info.Metadata.Get(k)
	}
	return h
}
