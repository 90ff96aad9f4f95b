package test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/test/harness"
)

// The mc and AWS CLI rows of TestCompatibility.

// compatMC is the mc row: the pinned mc, trusting the gateway's CA from
// its configuration directory (certs/CAs), as an mc user would.
func compatMC(t *testing.T, e *compatEnv) compatClient {
	dir := t.TempDir()
	cas := filepath.Join(dir, "certs", "CAs")
	if err := os.MkdirAll(cas, 0o700); err != nil {
		t.Fatal(err)
	}
	e.ca.WriteCAFile(t, cas, "s3seal-test-ca.crt")
	mc := harness.MC(t, dir)
	mc.AliasSet(t, "gw", e.s.gw.Endpoint, e.s.gw.AccessKey, e.s.gw.SecretKey)
	bucket := e.bucket(t, "mc")
	target := "gw/" + bucket + "/"
	encC := "--enc-c=" + target + "=" + base64.RawStdEncoding.EncodeToString(e.ssecKey)

	// upload copies a new file of size bytes to key with extra mc cp
	// arguments and returns its content.
	upload := func(t testing.TB, key string, size int, args ...string) []byte {
		path, data := e.file(t, key, size)
		mc.Must(t, append(append([]string{"cp"}, args...), path, target+key)...)
		return data
	}
	cat := func(t testing.TB, args ...string) []byte {
		return mc.Must(t, append([]string{"cat"}, args...)...).Stdout
	}
	// sseCell uploads with the up flags and reads back with the down
	// flags: mc cat takes only the SSE-C key.
	sseCell := func(key, sse string, up, down []string) compatCell {
		return compatCell{run: func(t testing.TB) {
			data := upload(t, key, 100<<10+3, up...)
			assertSameBytes(t, "mc cat "+key, cat(t, append(down, target+key)...), data)
			e.assertStored(t, bucket, key, data, sse)
		}}
	}

	return compatClient{
		// mc built by go install reports DEVELOPMENT.GOGET: its pin is
		// the version.
		version: "mc " + harness.PinnedVersion(t, "mc"),
		cells: map[string]compatCell{
			"put-get-range": {run: func(t testing.TB) {
				data := upload(t, "pgr", 200<<10+7)
				assertSameBytes(t, "mc cat", cat(t, target+"pgr"), data)
				assertSameBytes(t, "mc cat --offset 65530", cat(t, "--offset", "65530", target+"pgr"), data[65530:])
				e.assertStored(t, bucket, "pgr", data, wantSSES3)
			}},
			"multipart-checksums": {run: func(t testing.TB) {
				// mc goes multipart above 16 MiB.
				data := upload(t, "mp", 17*mib+1, "--checksum", "CRC32C")
				down := filepath.Join(t.TempDir(), "mp")
				mc.Must(t, "cp", target+"mp", down)
				assertSameBytes(t, "mc cp down", readFile(t, down), data)
				e.assertMultipart(t, bucket, "mp")
				e.assertStored(t, bucket, "mp", data, wantSSES3)
			}},
			"copy": {run: func(t testing.TB) {
				data := upload(t, "copy-src", 100<<10+5)
				mc.Must(t, "cp", target+"copy-src", target+"copy-dst")
				assertSameBytes(t, "mc cat copy-dst", cat(t, target+"copy-dst"), data)
				e.assertStored(t, bucket, "copy-dst", data, wantSSES3)
			}},
			"metadata": {run: func(t testing.TB) {
				upload(t, "meta", 1000, "--attr", "Content-Type=text/x-compat;color=blue")
				var stat struct {
					Metadata map[string]string `json:"metadata"`
				}
				harness.DecodeJSON(t, mc.JSON(t, "stat", target+"meta"), &stat)
				assertMetadata(t, "mc stat", stat.Metadata, map[string]string{"Content-Type": "text/x-compat", "X-Amz-Meta-Color": "blue"})
			}},
			"presign": {run: func(t testing.TB) {
				data := upload(t, "presign", 70<<10)
				var share struct {
					Share string `json:"share"`
				}
				harness.DecodeJSON(t, mc.JSON(t, "share", "download", "--expire", "10m", target+"presign"), &share)
				assertSameBytes(t, "GET of mc share download URL", e.fetch(t, share.Share), data)
			}},
			"post-policy": {run: func(t testing.TB) {
				url, fields := mcShareUpload(t, mc, target+"posted")
				fields["key"] = "posted"
				data := harness.RandomBytes(t, 80<<10+1)
				status, _, s3err := postFileWith(t, e.http, url, fields, "posted", data)
				if status/100 != 2 {
					t.Fatalf("POST of the mc share upload form: status %d (%s: %s), want 2xx", status, s3err.Code, s3err.Message)
				}
				assertSameBytes(t, "mc cat posted", cat(t, target+"posted"), data)
				e.assertStored(t, bucket, "posted", data, wantSSES3)
			}},
			"sse-kms": sseCell("sse-kms", wantSSEKMS, []string{"--enc-kms", target + "=" + e.kmsKey}, nil),
			"sse-s3":  sseCell("sse-s3", wantSSES3, []string{"--enc-s3", target}, nil),
			"sse-c":   sseCell("sse-c", wantSSEC, []string{encC}, []string{encC}),
			"listing-sizes": {run: func(t testing.TB) {
				tree := writeTree(t, compatListingFiles)
				mc.Must(t, "cp", "--recursive", filepath.Join(tree, "listing")+"/", target+"listing/")
				got := map[string]int64{}
				for key, size := range mcListSizes(t, mc, target+"listing/") {
					got["listing/"+key] = size
				}
				clientsAssertSizes(t, "mc ls", got, compatListingSizes())
			}},
			"sync-twice": {run: func(t testing.TB) {
				tree := writeTree(t, compatSyncTree)
				mc.Must(t, "mirror", tree, target+"sync")
				// --overwrite uploads a file whose size differs from the
				// listed size or that is newer than its object; the tree is
				// an hour old, so only a wrong listed size would upload.
				again := mc.JSON(t, "mirror", "--overwrite", tree, target+"sync")
				if again.ExitCode != 0 {
					t.Fatalf("second mc mirror: %v", again)
				}
				if got := clientsMirrorSummary(t, again); got.Total != 0 || got.Transferred != 0 {
					t.Errorf("second mc mirror --overwrite: total %d, transferred %d bytes; want 0", got.Total, got.Transferred)
				}
			}},
		},
	}
}

// assertMetadata fails unless got holds every header of want, names
// compared without regard to case.
func assertMetadata(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	lower := map[string]string{}
	for k, v := range got {
		lower[strings.ToLower(k)] = v
	}
	for k, v := range want {
		if g, ok := lower[strings.ToLower(k)]; !ok || g != v {
			t.Errorf("%s: %s = %q (present %v), want %q (all: %v)", what, k, g, ok, v, got)
		}
	}
}

func compatAWSCLIv1(t *testing.T, e *compatEnv) compatClient {
	// The machine image's AWS CLI v1 (pyenv) is the aws on PATH.
	return compatAWSCLI(t, e, "aws-cli-v1", harness.AWS(t, e.s.gw.Endpoint, e.s.gw.AccessKey, e.s.gw.SecretKey))
}

func compatAWSCLIv2(t *testing.T, e *compatEnv) compatClient {
	// Debian's awscli package is AWS CLI v2; install-host-tools.sh
	// installs it. Its path is absolute so that PATH's v1 cannot stand in.
	return compatAWSCLI(t, e, "aws-cli-v2", harness.AWSAt(t, "/usr/bin/aws", e.s.gw.Endpoint, e.s.gw.AccessKey, e.s.gw.SecretKey))
}

// compatAWSCLI is an AWS CLI row, trusting the gateway's CA through
// AWS_CA_BUNDLE.
//
// BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE: botocore sends "Expect:
// 100-continue" on empty bodies too and misreads the next response on the
// connection when a Go server answers at once (clientsAWSSync); MinIO
// stalls the same way.
func compatAWSCLI(t *testing.T, e *compatEnv, client string, cli *harness.AWSCLI) compatClient {
	cli.Setenv("AWS_CA_BUNDLE", e.caFile)
	cli.Setenv("BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE", "true")
	bucket := e.bucket(t, client)
	s3url := "s3://" + bucket + "/"
	keyFile := filepath.Join(t.TempDir(), "ssec.key")
	if err := os.WriteFile(keyFile, e.ssecKey, 0o600); err != nil {
		t.Fatal(err)
	}
	ssec := []string{"--sse-c", "AES256", "--sse-c-key", "fileb://" + keyFile}

	upload := func(t testing.TB, key string, size int, args ...string) []byte {
		path, data := e.file(t, key, size)
		cli.Must(t, append(append([]string{"s3", "cp", "--no-progress"}, args...), path, s3url+key)...)
		return data
	}
	download := func(t testing.TB, key string, args ...string) []byte {
		path := filepath.Join(t.TempDir(), "down")
		cli.Must(t, append(append([]string{"s3", "cp", "--no-progress"}, args...), s3url+key, path)...)
		return readFile(t, path)
	}
	sseCell := func(key, sse string, up, down []string) compatCell {
		return compatCell{run: func(t testing.TB) {
			data := upload(t, key, 100<<10+3, up...)
			assertSameBytes(t, "aws s3 cp down "+key, download(t, key, down...), data)
			e.assertStored(t, bucket, key, data, sse)
		}}
	}

	version := firstLine(cli.Must(t, "--version").Stdout)
	if want := "aws-cli/" + strings.TrimPrefix(client, "aws-cli-v") + "."; !strings.HasPrefix(version, want) {
		t.Fatalf("the %s row runs %s, want %s*", client, version, want)
	}
	return compatClient{
		version: version,
		cells: map[string]compatCell{
			"put-get-range": {run: func(t testing.TB) {
				data := upload(t, "pgr", 200<<10+7)
				assertSameBytes(t, "aws s3 cp down", download(t, "pgr"), data)
				part := filepath.Join(t.TempDir(), "range")
				cli.Must(t, "s3api", "get-object", "--bucket", bucket, "--key", "pgr", "--range", "bytes=65530-131100", part)
				assertSameBytes(t, "get-object --range bytes=65530-131100", readFile(t, part), data[65530:131101])
				e.assertStored(t, bucket, "pgr", data, wantSSES3)
			}},
			"multipart-checksums": {run: func(t testing.TB) {
				// The AWS CLI goes multipart above 8 MiB. v1 (botocore
				// 1.36 and later) sends a CRC32 with every part by default;
				// v2.9 has no checksum option on s3 cp and sends none.
				data := upload(t, "mp", 11*mib+1)
				assertSameBytes(t, "aws s3 cp down", download(t, "mp"), data)
				e.assertMultipart(t, bucket, "mp")
				e.assertStored(t, bucket, "mp", data, wantSSES3)
			}},
			"copy": {run: func(t testing.TB) {
				data := upload(t, "copy-src", 100<<10+5)
				cli.Must(t, "s3", "cp", s3url+"copy-src", s3url+"copy-dst")
				assertSameBytes(t, "aws s3 cp down copy-dst", download(t, "copy-dst"), data)
				e.assertStored(t, bucket, "copy-dst", data, wantSSES3)
			}},
			"metadata": {run: func(t testing.TB) {
				upload(t, "meta", 1000, "--metadata", "color=blue", "--content-type", "text/x-compat")
				var head struct {
					ContentType string
					Metadata    map[string]string
				}
				harness.DecodeJSON(t, cli.Must(t, "s3api", "head-object", "--bucket", bucket, "--key", "meta"), &head)
				head.Metadata["Content-Type"] = head.ContentType
				assertMetadata(t, "head-object", head.Metadata, map[string]string{"Content-Type": "text/x-compat", "color": "blue"})
			}},
			"presign": {run: func(t testing.TB) {
				data := upload(t, "presign", 70<<10)
				url := firstLine(cli.Must(t, "s3", "presign", "--expires-in", "600", s3url+"presign").Stdout)
				assertSameBytes(t, "GET of aws s3 presign URL", e.fetch(t, url), data)
			}},
			"post-policy": na("the AWS CLI has no command that signs a POST policy form"),
			"sse-kms":     sseCell("sse-kms", wantSSEKMS, []string{"--sse", "aws:kms", "--sse-kms-key-id", e.kmsKey}, nil),
			"sse-s3":      sseCell("sse-s3", wantSSES3, []string{"--sse", "AES256"}, nil),
			"sse-c":       sseCell("sse-c", wantSSEC, ssec, ssec),
			"listing-sizes": {run: func(t testing.TB) {
				tree := writeTree(t, compatListingFiles)
				cli.Must(t, "s3", "cp", "--no-progress", "--recursive", filepath.Join(tree, "listing"), s3url+"listing/")
				var list struct {
					Contents []struct {
						Key  string
						Size int64
					}
				}
				harness.DecodeJSON(t, cli.Must(t, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "listing/"), &list)
				got := map[string]int64{}
				for _, c := range list.Contents {
					got[c.Key] = c.Size
				}
				clientsAssertSizes(t, "list-objects-v2", got, compatListingSizes())
			}},
			"sync-twice": {run: func(t testing.TB) {
				tree := writeTree(t, compatSyncTree)
				up := cli.Must(t, "s3", "sync", "--no-progress", tree, s3url+"sync")
				if got := strings.Count(string(up.Stdout), "upload: "); got != len(compatSyncTree) {
					t.Errorf("first aws s3 sync reported %d uploads, want %d:\n%s", got, len(compatSyncTree), up.Stdout)
				}
				// aws s3 sync uploads a file whose size differs from the
				// listed size or that is newer than its object.
				again := cli.Must(t, "s3", "sync", "--no-progress", tree, s3url+"sync")
				if out := strings.TrimSpace(string(again.Stdout)); out != "" {
					t.Errorf("second aws s3 sync: %s; want no output (nothing to upload)", strconv.Quote(out))
				}
			}},
		},
	}
}
