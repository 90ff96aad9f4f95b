package test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/test/harness"
)

// TestMCFlow runs, with the real mc binary against one gateway, the flow a
// user follows to encrypt a bucket with a KMS key of their own:
//
//	mc admin kms key create|status|list
//	mc mb, mc encrypt set SSE-KMS KEY, mc encrypt info
//	mc cp, mc stat, mc cat, mc ls
//	mc mirror, twice: the second moves nothing
//	mc encrypt clear
//
// It checks every output, then reads each uploaded object straight from the
// backend to prove that only DARE ciphertext reached it. It runs over every
// backend (harness.AllBackends).
func TestMCFlow(t *testing.T) {
	t.Parallel()
	for _, kind := range harness.AllBackends {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			backend := harness.StartBackend(t, kind)
			harness.LogBackend(t, backend)
			mcFlowOn(t, backend)
		})
	}
}

// mcFlowOn runs the flow of TestMCFlow against a gateway in front of
// backend.
func mcFlowOn(t *testing.T, backend harness.Backend) {
	const (
		alias  = "gw"
		key    = "encrypted-bucket-key"
		bucket = "encryptedbucket"
	)
	s := newStackOn(t, backend)
	gw, direct := s.gw, s.direct
	mc := harness.MC(t, t.TempDir())
	target := alias + "/" + bucket

	// The files the flow uploads, as `mc cp ./NAME gw/encryptedbucket/NAME`.
	files := []struct {
		name     string
		size     int
		wantETag string // the form of the ETag mc stat shows
	}{
		{"file", 100*1024 + 3, "32 hex"},
		{"multipart-file", 17*mib + 5, "32 hex-2"}, // mc goes multipart above 16 MiB: a 16 MiB part and the rest
		{"empty-file", 0, "32 hex"},
		{"one-byte-file", 1, "32 hex"},
	}
	dir := t.TempDir()
	contents := map[string][]byte{}
	for _, f := range files {
		contents[f.name] = harness.RandomBytes(t, f.size)
		if err := os.WriteFile(filepath.Join(dir, f.name), contents[f.name], 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("alias set", func(t *testing.T) {
		mc.AliasSet(t, alias, gw.Endpoint, gw.AccessKey, gw.SecretKey)
	})

	t.Run("admin kms key create", func(t *testing.T) {
		mc.Must(t, "admin", "kms", "key", "create", alias, key)
	})

	t.Run("admin kms key status", func(t *testing.T) {
		human := mc.Must(t, "admin", "kms", "key", "status", alias, key)
		for _, want := range []string{"Key: " + key, "Encryption ✔", "Decryption ✔"} {
			if !strings.Contains(string(human.Stdout), want) {
				t.Errorf("mc admin kms key status output:\n%s\nwant a line with %q", human.Stdout, want)
			}
		}
		assertKMSKeyStatusOK(t, mc, alias, key)
	})

	t.Run("admin kms key list", func(t *testing.T) {
		assertKMSKeysListed(t, mc, alias, key)
		human := mc.Must(t, "admin", "kms", "key", "list", alias)
		if !strings.Contains(string(human.Stdout), key) {
			t.Errorf("mc admin kms key list output:\n%s\nwant %s listed", human.Stdout, key)
		}
	})

	t.Run("mb", func(t *testing.T) {
		mc.Must(t, "mb", target)
	})

	t.Run("encrypt set SSE-KMS", func(t *testing.T) {
		var got struct{ Status string }
		harness.DecodeJSON(t, mc.JSON(t, "encrypt", "set", "SSE-KMS", key, target), &got)
		if got.Status != "success" {
			t.Errorf("mc encrypt set --json status = %q, want success", got.Status)
		}
	})

	t.Run("encrypt info shows SSE-KMS", func(t *testing.T) {
		info := mcflowEncryptInfo(t, mc, target)
		if info.Encryption.Algorithm != "aws:kms" || info.Encryption.KeyID != key {
			t.Errorf("mc encrypt info --json encryption = %+v, want algorithm aws:kms and keyId %s", info.Encryption, key)
		}
		human := mc.Must(t, "encrypt", "info", target)
		if want := "Auto encryption 'sse-kms' is enabled with KeyID: " + key; !strings.Contains(string(human.Stdout), want) {
			t.Errorf("mc encrypt info output = %q, want %q", strings.TrimSpace(string(human.Stdout)), want)
		}
	})

	for _, f := range files {
		data := contents[f.name]
		t.Run("cp stat cat ls of "+f.name, func(t *testing.T) {
			mc.Must(t, "cp", filepath.Join(dir, f.name), target+"/"+f.name)

			st := mcflowStat(t, mc, target+"/"+f.name)
			if st.Size != int64(len(data)) {
				t.Errorf("mc stat size = %d, want %d", st.Size, len(data))
			}
			wantMeta := map[string]string{
				"X-Amz-Server-Side-Encryption":                "aws:kms",
				"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "arn:aws:kms:" + key,
			}
			for name, want := range wantMeta {
				if got := st.Metadata[name]; got != want {
					t.Errorf("mc stat --json metadata %s = %q, want %q", name, got, want)
				}
			}
			if v, ok := st.Metadata["X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"]; ok {
				t.Errorf("mc stat --json metadata has X-Amz-Server-Side-Encryption-Bucket-Key-Enabled %q, want none (mc then prints no key id)", v)
			}
			if got := mcflowETagForm(st.ETag); got != f.wantETag {
				t.Errorf("mc stat --json etag = %q (%s), want %s", st.ETag, got, f.wantETag)
			}
			if got, want := mcflowEncryptionLine(t, mc, target+"/"+f.name), "SSE-KMS (arn:aws:kms:"+key+")"; got != want {
				t.Errorf("mc stat Encryption line = %q, want %q", got, want)
			}

			got := mc.Must(t, "cat", target+"/"+f.name).Stdout
			assertSameBytes(t, "mc cat "+f.name, got, data)

			if size, ok := mcListSizes(t, mc, target+"/")[f.name]; !ok || size != int64(len(data)) {
				t.Errorf("mc ls --json size of %s = %d (listed %v), want %d", f.name, size, ok, len(data))
			}
			human := mc.Must(t, "ls", target+"/"+f.name)
			if !strings.Contains(string(human.Stdout), " "+f.name) {
				t.Errorf("mc ls output %q, want %s listed", human.Stdout, f.name)
			}
		})

		t.Run("backend holds DARE ciphertext of "+f.name, func(t *testing.T) {
			mcflowAssertDARE(t, direct, bucket, f.name, data)
		})
	}

	t.Run("mirror twice moves nothing the second time", func(t *testing.T) {
		clientsMCMirror(t, s, mc, clientsWriteTree(t))
	})

	t.Run("encrypt clear", func(t *testing.T) {
		var got struct{ Status string }
		harness.DecodeJSON(t, mc.JSON(t, "encrypt", "clear", target), &got)
		if got.Status != "success" {
			t.Errorf("mc encrypt clear --json status = %q, want success", got.Status)
		}
	})

	t.Run("encrypt info after clear says not enabled", func(t *testing.T) {
		// The pinned mc prints "Auto encryption is not enabled" only for a
		// configuration without rules; for a bucket without one it reports
		// the server's 404, as it does against MinIO itself (TestDifferential
		// compares the two).
		r := mc.JSON(t, "encrypt", "info", target)
		if r.ExitCode == 0 {
			t.Fatalf("mc encrypt info after clear exited 0, want the 404 of a bucket without configuration: %v", r)
		}
		if got, want := mcflowErrorCode(t, r), "ServerSideEncryptionConfigurationNotFoundError"; got != want {
			t.Errorf("mc encrypt info --json after clear: error code %q, want %q\n%s", got, want, r.Stdout)
		}
	})

	t.Run("upload after clear is SSE-S3", func(t *testing.T) {
		const name = "after-clear"
		data := harness.RandomBytes(t, 70*1024)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		mc.Must(t, "cp", filepath.Join(dir, name), target+"/"+name)
		if got, want := mcflowEncryptionLine(t, mc, target+"/"+name), "SSE-S3"; got != want {
			t.Errorf("mc stat Encryption line = %q, want %q", got, want)
		}
		st := mcflowStat(t, mc, target+"/"+name)
		if got := st.Metadata["X-Amz-Server-Side-Encryption"]; got != "AES256" {
			t.Errorf("mc stat --json metadata X-Amz-Server-Side-Encryption = %q, want AES256", got)
		}
		if got, ok := st.Metadata["X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"]; ok {
			t.Errorf("mc stat --json metadata has a KMS key id %q for an SSE-S3 object, want none", got)
		}
		assertSameBytes(t, "mc cat "+name, mc.Must(t, "cat", target+"/"+name).Stdout, data)
		mcflowAssertDARE(t, direct, bucket, name, data)

		// The objects written under the bucket default keep their SSE-KMS.
		if got, want := mcflowEncryptionLine(t, mc, target+"/file"), "SSE-KMS (arn:aws:kms:"+key+")"; got != want {
			t.Errorf("mc stat Encryption line of an object written before the clear = %q, want %q", got, want)
		}
	})
}

// mcflowStatMessage is the part of `mc stat --json` the flow checks.
type mcflowStatMessage struct {
	Status   string            `json:"status"`
	Size     int64             `json:"size"`
	ETag     string            `json:"etag"`
	Metadata map[string]string `json:"metadata"`
}

func mcflowStat(t *testing.T, mc *harness.MCClient, target string) mcflowStatMessage {
	t.Helper()
	var st mcflowStatMessage
	harness.DecodeJSON(t, mc.JSON(t, "stat", target), &st)
	if st.Status != "success" {
		t.Fatalf("mc stat --json %s: status %q, want success", target, st.Status)
	}
	return st
}

// mcflowEncryptionLine returns what the human `mc stat` output says after
// "Encryption:".
func mcflowEncryptionLine(t *testing.T, mc *harness.MCClient, target string) string {
	t.Helper()
	out := mc.Must(t, "stat", target).Stdout
	line, ok := mcflowStatEncryption(out)
	if !ok {
		t.Errorf("mc stat %s printed no Encryption line:\n%s", target, out)
	}
	return line
}

// mcflowStatEncryption returns what the human `mc stat` output says after
// "Encryption:", or "(no Encryption line)" and false.
func mcflowStatEncryption(out []byte) (string, bool) {
	for line := range strings.Lines(string(out)) {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "Encryption" {
			return strings.TrimSpace(value), true
		}
	}
	return "(no Encryption line)", false
}

// mcflowEncryptInfoMessage is `mc encrypt info --json`.
type mcflowEncryptInfoMessage struct {
	Status     string `json:"status"`
	Encryption struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"keyId"`
	} `json:"encryption"`
}

func mcflowEncryptInfo(t *testing.T, mc *harness.MCClient, target string) mcflowEncryptInfoMessage {
	t.Helper()
	var info mcflowEncryptInfoMessage
	harness.DecodeJSON(t, mc.JSON(t, "encrypt", "info", target), &info)
	if info.Status != "success" {
		t.Fatalf("mc encrypt info --json %s: status %q, want success", target, info.Status)
	}
	return info
}

// mcflowAssertDARE reads bucket/key straight from the backend and fails
// unless it is s3seal's DARE 2.0 ciphertext of plaintext: s3seal metadata,
// the ciphertext size of plaintext, a DARE 2.0 header first and no run of
// the plaintext.
func mcflowAssertDARE(t *testing.T, direct *minio.Client, bucket, key string, plaintext []byte) {
	t.Helper()
	stored, info := mcflowReadBackend(t, direct, bucket, key)
	name := bucket + "/" + key
	if info.Metadata.Get(crypto.MetadataPrefix+"Version") == "" {
		t.Errorf("backend %s has no %sVersion metadata (metadata %v), want s3seal's", name, crypto.MetadataPrefix, info.Metadata)
	}
	if got, want := int64(len(stored)), crypto.EncryptedSize(int64(len(plaintext))); got != want {
		t.Errorf("backend %s holds %d bytes, want %d (EncryptedSize(%d))", name, got, want, len(plaintext))
	}
	if len(plaintext) > 0 {
		if len(stored) == 0 || stored[0] != mcflowDAREVersion {
			t.Errorf("backend %s starts with %x, want the DARE 2.0 version byte %#x", name, stored[:min(len(stored), 16)], mcflowDAREVersion)
		}
	}
	mcflowAssertNoPlaintext(t, name, stored, plaintext)
}

// mcflowMinPlaintextProbe is the shortest plaintext worth looking for in
// ciphertext: FindPlaintextRun looks for shorter plaintexts whole, and a
// 1-byte plaintext turns up by chance in 12% of 33-byte DARE streams. At 8
// bytes a chance match has odds below 2⁻⁵⁸. Shorter objects are proved
// encrypted by their size, DARE header and metadata alone.
const mcflowMinPlaintextProbe = 8

// mcflowAssertNoPlaintext fails if stored holds a run of plaintext.
func mcflowAssertNoPlaintext(t *testing.T, name string, stored, plaintext []byte) {
	t.Helper()
	if len(plaintext) < mcflowMinPlaintextProbe {
		return
	}
	if so, po, found := harness.FindPlaintextRun(stored, plaintext); found {
		t.Errorf("backend %s: bytes at offset %d equal plaintext bytes at offset %d: data stored in the clear", name, so, po)
	}
}

// mcflowDAREVersion is the first byte of every DARE 2.0 package.
const mcflowDAREVersion = 0x20

// mcflowReadBackend reads bucket/key and its headers straight from a
// backend.
func mcflowReadBackend(t *testing.T, direct *minio.Client, bucket, key string) ([]byte, minio.ObjectInfo) {
	t.Helper()
	obj, err := direct.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("backend GetObject %s/%s: %v", bucket, key, err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		t.Fatalf("backend GetObject %s/%s: %v", bucket, key, err)
	}
	return readAllOrFatal(t, bucket+"/"+key, obj), info
}

// mcflowIsHex32 reports whether s is 32 lowercase or uppercase hex characters.
func mcflowIsHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// mcflowETagForm describes an ETag as "32 hex" (a single-part ETag), "32
// hex-N" (a multipart ETag of N parts) or quotes it when it is neither.
func mcflowETagForm(etag string) string {
	etag = strings.Trim(etag, `"`)
	hexPart, parts, multipart := strings.Cut(etag, "-")
	switch {
	case !mcflowIsHex32(hexPart):
	case !multipart:
		return "32 hex"
	case parts != "" && strings.Trim(parts, "0123456789") == "":
		return "32 hex-" + parts
	}
	return strconv.Quote(etag)
}

// mcflowErrorCode returns the S3 error code in the --json output of a failed
// mc command.
func mcflowErrorCode(t *testing.T, r harness.Result) string {
	t.Helper()
	var out struct {
		Error struct {
			Cause struct {
				Error struct {
					Code string `json:"Code"`
				} `json:"error"`
			} `json:"cause"`
		} `json:"error"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(r.Stdout), &out); err != nil {
		t.Fatalf("%s: stdout is not one JSON document: %v\n%s", strings.Join(r.Args, " "), err, r.Stdout)
	}
	return out.Error.Cause.Error.Code
}

// assertKMSKeyStatusOK checks `mc admin kms key status --json`: the key
// generates and decrypts data keys without error.
func assertKMSKeyStatusOK(t *testing.T, mc *harness.MCClient, alias, key string) {
	t.Helper()
	var got struct {
		Status          string `json:"status"`
		KeyID           string `json:"keyId"`
		EncryptionError string `json:"encryptionError"`
		DecryptionError string `json:"decryptionError"`
	}
	harness.DecodeJSON(t, mc.JSON(t, "admin", "kms", "key", "status", alias, key), &got)
	if got.Status != "success" || got.KeyID != key || got.EncryptionError != "" || got.DecryptionError != "" {
		t.Errorf("mc admin kms key status --json = %+v, want status success, keyId %s and no errors", got, key)
	}
}

// assertKMSKeysListed checks `mc admin kms key list --json`: it succeeds
// and lists every key of keys.
func assertKMSKeysListed(t *testing.T, mc *harness.MCClient, alias string, keys ...string) {
	t.Helper()
	var got struct {
		Status string   `json:"status"`
		Keys   []string `json:"keys"`
	}
	harness.DecodeJSON(t, mc.JSON(t, "admin", "kms", "key", "list", alias), &got)
	if got.Status != "success" {
		t.Errorf("mc admin kms key list --json status = %q, want success", got.Status)
	}
	for _, want := range keys {
		if !slices.Contains(got.Keys, want) {
			t.Errorf("mc admin kms key list --json keys = %v, want %s among them", got.Keys, want)
		}
	}
}
