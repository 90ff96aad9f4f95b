package test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/test/harness"
)

// Differential: the mc client against both sides, and what each backend
// ends up holding.

// diffMC compares what mc shows for the same commands on both sides.
func diffMC(t *testing.T, e *diffEnv) {
	const bucket = "diff-mc"
	mc := e.mc
	dir := t.TempDir()
	files := map[string][]byte{
		"kms-default.bin": harness.RandomBytes(t, 200*1024+9),
		"enc-kms.bin":     harness.RandomBytes(t, 17*mib+3), // mc goes multipart above 16 MiB
		"after-clear.bin": harness.RandomBytes(t, 1000),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// each runs mc with args built for a side and returns both results.
	each := func(t *testing.T, args func(s *diffSide) []string, asJSON bool) (oracle, gw harness.Result) {
		t.Helper()
		var rs []harness.Result
		for _, s := range e.sides() {
			if asJSON {
				rs = append(rs, mc.JSON(t, args(s)...))
			} else {
				rs = append(rs, mc.Run(t, args(s)...))
			}
		}
		return rs[0], rs[1]
	}
	must := func(t *testing.T, args func(s *diffSide) []string, asJSON bool) (oracle, gw harness.Result) {
		t.Helper()
		o, g := each(t, args, asJSON)
		for _, r := range []harness.Result{o, g} {
			if r.ExitCode != 0 {
				t.Fatalf("mc failed: %v", r)
			}
		}
		return o, g
	}
	path := func(s *diffSide, object string) string { return s.alias + "/" + bucket + object }
	cp := func(t *testing.T, name string, encKMS string) {
		t.Helper()
		must(t, func(s *diffSide) []string {
			args := []string{"cp", filepath.Join(dir, name), path(s, "/"+name)}
			if encKMS != "" {
				args = append(args, "--enc-kms", path(s, "/"+name)+"="+encKMS)
			}
			return args
		}, false)
		e.gw.wrote(bucket, name, files[name])
	}
	// stat compares `mc stat --json` (size, ETag form and the SSE metadata)
	// and the Encryption line of the human output.
	stat := func(t *testing.T, name, wantLine, wantMinIOLine string) {
		t.Helper()
		o, g := must(t, func(s *diffSide) []string { return []string{"stat", path(s, "/"+name)} }, true)
		summary := func(r harness.Result) string {
			var st mcflowStatMessage
			harness.DecodeJSON(t, r, &st)
			var meta []string
			for k, v := range st.Metadata {
				if strings.HasPrefix(strings.ToLower(k), "x-amz-server-side-encryption") {
					meta = append(meta, k+"="+v)
				}
			}
			slices.Sort(meta)
			return fmt.Sprintf("size %d, ETag %s, %s", st.Size, mcflowETagForm(st.ETag), strings.Join(meta, " "))
		}
		lines := map[*diffSide]string{}
		for _, s := range e.sides() {
			lines[s], _ = mcflowStatEncryption(mc.Must(t, "stat", path(s, "/"+name)).Stdout)
		}
		if wantMinIOLine != "" { // a documented difference
			if lines[e.oracle] != wantMinIOLine {
				t.Errorf("mc stat %s Encryption line: MinIO %q, want %q", name, lines[e.oracle], wantMinIOLine)
			}
			if lines[e.gw] != wantLine {
				t.Errorf("mc stat %s Encryption line: s3seal %q, want %q", name, lines[e.gw], wantLine)
			}
			return
		}
		if got, want := summary(g), summary(o); got != want {
			t.Errorf("mc stat --json %s: s3seal %s, want %s (MinIO)", name, got, want)
		}
		if lines[e.gw] != lines[e.oracle] {
			t.Errorf("mc stat %s Encryption line: s3seal %q, want %q (MinIO)", name, lines[e.gw], lines[e.oracle])
		}
		if lines[e.oracle] != wantLine {
			t.Errorf("mc stat %s Encryption line: MinIO %q, want %q", name, lines[e.oracle], wantLine)
		}
	}
	cat := func(t *testing.T, name string, extra ...string) {
		t.Helper()
		o, g := must(t, func(s *diffSide) []string { return append([]string{"cat"}, append(extra, path(s, "/"+name))...) }, false)
		assertSameBytes(t, fmt.Sprintf("mc cat %v %s: s3seal vs MinIO", extra, name), g.Stdout, o.Stdout)
	}
	encryptInfo := func(t *testing.T) {
		t.Helper()
		o, g := each(t, func(s *diffSide) []string { return []string{"encrypt", "info", path(s, "")} }, true)
		if g.ExitCode != o.ExitCode {
			t.Errorf("mc encrypt info exit code: s3seal %d, want %d (MinIO)\ns3seal: %s\nMinIO: %s", g.ExitCode, o.ExitCode, g.Stdout, o.Stdout)
			return
		}
		if o.ExitCode != 0 {
			if got, want := mcflowErrorCode(t, g), mcflowErrorCode(t, o); got != want {
				t.Errorf("mc encrypt info --json error code: s3seal %q, want %q (MinIO)", got, want)
			}
			return
		}
		var oi, gi mcflowEncryptInfoMessage
		harness.DecodeJSON(t, o, &oi)
		harness.DecodeJSON(t, g, &gi)
		if gi.Encryption != oi.Encryption {
			t.Errorf("mc encrypt info --json: s3seal %+v, want %+v (MinIO)", gi.Encryption, oi.Encryption)
		}
	}

	t.Run("mb", func(t *testing.T) {
		must(t, func(s *diffSide) []string { return []string{"mb", path(s, "")} }, false)
	})
	t.Run("encrypt info without configuration", encryptInfo)
	t.Run("encrypt set SSE-KMS", func(t *testing.T) {
		must(t, func(s *diffSide) []string { return []string{"encrypt", "set", "SSE-KMS", diffKey, path(s, "")} }, true)
		encryptInfo(t)
	})
	t.Run("cp under the SSE-KMS default", func(t *testing.T) {
		cp(t, "kms-default.bin", "")
		stat(t, "kms-default.bin", "SSE-KMS ("+diffKeyARN+")", "")
		cat(t, "kms-default.bin")
		cat(t, "kms-default.bin", "--offset", "70000")
		cat(t, "kms-default.bin", "--tail", "100")
	})
	t.Run("encrypt clear", func(t *testing.T) {
		must(t, func(s *diffSide) []string { return []string{"encrypt", "clear", path(s, "")} }, true)
		encryptInfo(t)
	})
	t.Run("cp with --enc-kms, multipart", func(t *testing.T) {
		cp(t, "enc-kms.bin", diffKey)
		stat(t, "enc-kms.bin", "SSE-KMS ("+diffKeyARN+")", "")
		cat(t, "enc-kms.bin")
	})
	t.Run("cp without a default: SSE-S3 in s3seal, unencrypted in MinIO", func(t *testing.T) {
		cp(t, "after-clear.bin", "")
		stat(t, "after-clear.bin", "SSE-S3", "(no Encryption line)")
		cat(t, "after-clear.bin")
	})
	t.Run("ls sizes", func(t *testing.T) {
		want := mcListSizes(t, mc, path(e.oracle, "/"))
		got := mcListSizes(t, mc, path(e.gw, "/"))
		for name, data := range files {
			if want[name] != int64(len(data)) {
				t.Errorf("mc ls size of %s: MinIO %d, want %d", name, want[name], len(data))
			}
			if got[name] != want[name] {
				t.Errorf("mc ls size of %s: s3seal %d, want %d (MinIO)", name, got[name], want[name])
			}
		}
	})
}

// diffCheckBackend reads every object s3seal's backend holds in client
// buckets and fails unless each is s3seal's ciphertext of what was written.
func diffCheckBackend(t *testing.T, e *diffEnv) {
	ctx := t.Context()
	buckets, err := e.gwBackend.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("backend ListBuckets: %v", err)
	}
	seen := map[string]bool{}
	for _, b := range buckets {
		if b.Name == systemBucket {
			continue
		}
		for obj := range e.gwBackend.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatalf("backend ListObjects %s: %v", b.Name, obj.Err)
			}
			name := b.Name + "/" + obj.Key
			seen[name] = true
			stored, info := mcflowReadBackend(t, e.gwBackend, b.Name, obj.Key)
			if info.Metadata.Get(crypto.MetadataPrefix+"Version") == "" {
				t.Errorf("backend %s has no %sVersion metadata, want s3seal's", name, crypto.MetadataPrefix)
			}
			if len(stored) == 0 {
				continue
			}
			if stored[0] != mcflowDAREVersion {
				t.Errorf("backend %s starts with %x, want the DARE 2.0 version byte %#x", name, stored[:min(len(stored), 16)], mcflowDAREVersion)
			}
			e.mu.Lock()
			plaintext, ok := e.written[name]
			e.mu.Unlock()
			if !ok {
				t.Errorf("backend %s (%d bytes) was not written by the test", name, len(stored))
				continue
			}
			mcflowAssertNoPlaintext(t, name, stored, plaintext)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for name := range e.written {
		if !seen[name] {
			t.Errorf("%s was written through s3seal but is not on the backend under that name", name)
		}
	}
	if len(seen) == 0 {
		t.Errorf("the backend holds no objects, want those the differential cases wrote")
	}
}
