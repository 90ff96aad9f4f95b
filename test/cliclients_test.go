package test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/s3seal/s3seal/test/harness"
)

// mc and the AWS CLI against the gateway: the subtests of TestFoundation
// that drive it through the two command-line clients.

// testMC drives the gateway with mc. Uploads go over plain HTTP, so mc sends
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies; the 20 MiB file goes multipart.
func testMC(t *testing.T, s *stack) {
	const bucket = "mc-foundation"
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "gw", s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	mc.Must(t, "mb", "gw/"+bucket)

	dir := t.TempDir()
	small := harness.RandomBytes(t, 100*1024+7)
	big := harness.RandomBytes(t, 20*mib)
	for name, data := range map[string][]byte{"small.bin": small, "big.bin": big} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// mc --debug prints each request's headers (signatures redacted) on
	// stderr: proof of which upload path mc took.
	assertTrace := func(t *testing.T, r harness.Result, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("mc --debug trace lacks %q, so the upload did not take the path under test", want)
			}
		}
	}

	t.Run("cp small then cat", func(t *testing.T) {
		r := mc.Must(t, "--debug", "cp", filepath.Join(dir, "small.bin"), "gw/"+bucket+"/small.bin")
		s.wrote(bucket, "small.bin", small)
		assertTrace(t, r, "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		got := mc.Must(t, "cat", "gw/"+bucket+"/small.bin").Stdout
		assertSameBytes(t, "mc cat small.bin", got, small)
	})

	t.Run("cp 20 MiB multipart then cat", func(t *testing.T) {
		r := mc.Must(t, "--debug", "cp", filepath.Join(dir, "big.bin"), "gw/"+bucket+"/big.bin")
		s.wrote(bucket, "big.bin", big)
		assertTrace(t, r, "?uploads", "partNumber=2", "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		got := mc.Must(t, "cat", "gw/"+bucket+"/big.bin").Stdout
		if g, w := harness.SHA256Hex(got), harness.SHA256Hex(big); g != w {
			t.Errorf("mc cat big.bin: sha256 %s (%d bytes), want %s (%d bytes)", g, len(got), w, len(big))
		}
	})

	t.Run("ls shows plaintext sizes", func(t *testing.T) {
		sizes := mcListSizes(t, mc, "gw/"+bucket+"/")
		for key, want := range map[string]int{"small.bin": len(small), "big.bin": len(big)} {
			if got, ok := sizes[key]; !ok || got != int64(want) {
				t.Errorf("mc ls size of %s = %d (listed %v), want %d", key, got, ok, want)
			}
		}
	})

	t.Run("rm", func(t *testing.T) {
		mc.Must(t, "rm", "gw/"+bucket+"/small.bin")
		s.removed(bucket, "small.bin")
		if _, ok := mcListSizes(t, mc, "gw/"+bucket+"/")["small.bin"]; ok {
			t.Errorf("mc ls still lists small.bin after mc rm")
		}
		if r := mc.Run(t, "stat", "gw/"+bucket+"/small.bin"); r.ExitCode == 0 {
			t.Errorf("mc stat small.bin after mc rm succeeded, want failure: %v", r)
		}
		s.assertNotOnBackend(t, bucket, "small.bin")
	})
}

// mcListSizes runs mc ls --json and returns the size of each listed key.
func mcListSizes(t testing.TB, mc *harness.MCClient, target string) map[string]int64 {
	t.Helper()
	r := mc.JSON(t, "ls", target)
	if r.ExitCode != 0 {
		t.Fatalf("mc ls: %v", r)
	}
	sizes := map[string]int64{}
	for _, line := range bytes.Split(bytes.TrimSpace(r.Stdout), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var entry struct {
			Status string `json:"status"`
			Type   string `json:"type"`
			Key    string `json:"key"`
			Size   int64  `json:"size"`
		}
		if err := json.Unmarshal(line, &entry); err != nil {
			t.Fatalf("mc ls --json line %q: %v", line, err)
		}
		if entry.Status != "success" {
			t.Fatalf("mc ls --json: %s", line)
		}
		sizes[entry.Key] = entry.Size
	}
	return sizes
}

// testAWSCLI drives the gateway with the machine image's AWS CLI v1. Each
// invocation costs a Python start-up, so independent transfers run in
// parallel.
func testAWSCLI(t *testing.T, s *stack) {
	const bucket = "aws-cli-foundation"
	cli := harness.AWS(t, s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	cli.Must(t, "s3", "mb", "s3://"+bucket)
	dir := t.TempDir()
	write := func(t *testing.T, name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	read := func(t *testing.T, path string) []byte {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var mu sync.Mutex
	sizes := map[string]int{} // what s3 ls must show
	uploaded := func(key string, data []byte) {
		s.wrote(bucket, key, data)
		mu.Lock()
		sizes[key] = len(data)
		mu.Unlock()
	}

	t.Run("transfers", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			size int
		}{
			{"small.bin", 150 * 1024},
			{"big.bin", 20 * mib}, // multipart: the CLI splits at 8 MiB
		} {
			t.Run("s3 cp up and down "+tc.name, func(t *testing.T) {
				t.Parallel()
				data := harness.RandomBytes(t, tc.size)
				cli.Must(t, "s3", "cp", write(t, tc.name, data), "s3://"+bucket+"/"+tc.name)
				uploaded(tc.name, data)
				down := filepath.Join(dir, "down-"+tc.name)
				cli.Must(t, "s3", "cp", "s3://"+bucket+"/"+tc.name, down)
				if got, want := harness.SHA256Hex(read(t, down)), harness.SHA256Hex(data); got != want {
					t.Errorf("aws s3 cp down %s: sha256 %s, want %s", tc.name, got, want)
				}
			})
		}

		t.Run("s3api", func(t *testing.T) {
			t.Parallel()
			api := harness.RandomBytes(t, 90*1024+11)
			t.Run("put-object", func(t *testing.T) {
				r := cli.Must(t, "s3api", "put-object", "--bucket", bucket, "--key", "api.bin", "--body", write(t, "api.bin", api))
				uploaded("api.bin", api)
				var out struct{ ETag, ServerSideEncryption string }
				if err := json.Unmarshal(r.Stdout, &out); err != nil {
					t.Fatalf("put-object output: %v: %s", err, r.Stdout)
				}
				if out.ETag == "" || out.ServerSideEncryption != sseS3 {
					t.Errorf("put-object returned ETag %q ServerSideEncryption %q, want an ETag and %q", out.ETag, out.ServerSideEncryption, sseS3)
				}
			})

			t.Run("get-object", func(t *testing.T) {
				down := filepath.Join(dir, "down-api.bin")
				r := cli.Must(t, "s3api", "get-object", "--bucket", bucket, "--key", "api.bin", down)
				var out struct{ ContentLength int64 }
				if err := json.Unmarshal(r.Stdout, &out); err != nil {
					t.Fatalf("get-object output: %v: %s", err, r.Stdout)
				}
				if out.ContentLength != int64(len(api)) {
					t.Errorf("get-object ContentLength = %d, want %d", out.ContentLength, len(api))
				}
				assertSameBytes(t, "get-object body", read(t, down), api)
			})

			t.Run("head-object", func(t *testing.T) {
				r := cli.Must(t, "s3api", "head-object", "--bucket", bucket, "--key", "api.bin")
				var out struct {
					ContentLength        int64
					ServerSideEncryption string
				}
				if err := json.Unmarshal(r.Stdout, &out); err != nil {
					t.Fatalf("head-object output: %v: %s", err, r.Stdout)
				}
				if out.ContentLength != int64(len(api)) || out.ServerSideEncryption != sseS3 {
					t.Errorf("head-object ContentLength %d ServerSideEncryption %q, want %d and %q", out.ContentLength, out.ServerSideEncryption, len(api), sseS3)
				}
			})
		})
	})

	t.Run("s3 ls shows plaintext sizes", func(t *testing.T) {
		r := cli.Must(t, "s3", "ls", "s3://"+bucket+"/")
		listed := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(string(r.Stdout)), "\n") {
			f := strings.Fields(line) // DATE TIME SIZE KEY
			if len(f) == 4 {
				n, err := strconv.Atoi(f[2])
				if err != nil {
					t.Fatalf("aws s3 ls line %q: %v", line, err)
				}
				listed[f[3]] = n
			}
		}
		if len(sizes) == 0 {
			t.Fatalf("nothing was uploaded to list")
		}
		for key, want := range sizes {
			if listed[key] != want {
				t.Errorf("aws s3 ls size of %s = %d, want %d (output:\n%s)", key, listed[key], want, r.Stdout)
			}
		}
	})
}
