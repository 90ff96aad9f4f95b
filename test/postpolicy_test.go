package test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// postFile POSTs a browser-form upload: fields (any order), then the file
// part last, as a browser does. It returns the status, the response headers
// and the parsed S3 error (zero on success).
func postFile(t testing.TB, target string, fields map[string]string, filename string, data []byte) (int, http.Header, s3Error) {
	t.Helper()
	return postFileWith(t, http.DefaultClient, target, fields, filename, data)
}

// postFileWith is postFile sent with client.
func postFileWith(t testing.TB, client *http.Client, target string, fields map[string]string, filename string, data []byte) (int, http.Header, s3Error) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, target, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer resp.Body.Close()
	respBody := readAllOrFatal(t, "POST response", resp.Body)
	var e s3Error
	_ = xml.Unmarshal(respBody, &e)
	return resp.StatusCode, resp.Header, e
}

// mcShareUpload runs `mc share upload` and returns the URL and the form
// fields of the curl command it prints:
//
//	curl URL -F name=value ... -F key='KEY' -F file=@<FILE>
func mcShareUpload(t testing.TB, mc *harness.MCClient, target string) (string, map[string]string) {
	t.Helper()
	out := mc.Must(t, "--json", "share", "upload", "--expire", "10m", target)
	var msg struct {
		Status string `json:"status"`
		Share  string `json:"share"`
	}
	if err := json.Unmarshal(out.Stdout, &msg); err != nil || msg.Status != "success" {
		t.Fatalf("mc share upload output %q: %v", out.Stdout, err)
	}
	cmd, ok := strings.CutPrefix(msg.Share, "curl ")
	if !ok {
		t.Fatalf("mc share upload printed %q, want a curl command", msg.Share)
	}
	url, rest, _ := strings.Cut(cmd, " ")
	fields := map[string]string{}
	for arg := range strings.SplitSeq(rest, "-F ") {
		arg = strings.TrimSpace(arg)
		if arg == "" {
			continue
		}
		name, value, ok := strings.Cut(arg, "=")
		if !ok {
			t.Fatalf("curl argument %q is not name=value in %q", arg, msg.Share)
		}
		if name == "file" {
			continue
		}
		fields[name] = strings.Trim(value, "'")
	}
	return url, fields
}

// TestPostPolicy covers browser-form POST uploads through the gateway: a
// minio-go PresignedPostPolicy form and the real mc share upload command,
// each posted with net/http and checked by reading the object back through
// the gateway and its ciphertext from the backend; mc share download; and
// the forms the gateway must refuse without storing anything. The gateway
// spools uploads into its own TMPDIR, which must be empty afterwards.
func TestPostPolicy(t *testing.T) {
	t.Parallel()
	spoolDir := t.TempDir()
	s := newStack(t, harness.WithGatewayEnv("TMPDIR", spoolDir))
	c := s.gw.Client(t)
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "gw", s.gw.Endpoint, s.gw.AccessKey, s.gw.SecretKey)
	const bucket = "browser-forms"
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}

	// assertStoredEncrypted checks bucket/key reads back as data through
	// the gateway and is s3seal ciphertext on the backend.
	assertStoredEncrypted := func(t *testing.T, key string, data []byte) {
		t.Helper()
		obj, err := c.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		assertSameBytes(t, "GET through the gateway", readAllOrFatal(t, "object", obj), data)
		obj.Close()
		assertCiphertext(t, key, s.backendObject(t, bucket, key), data)
		st, err := s.direct.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("backend StatObject %s: %v", key, err)
		}
		if got := st.Metadata.Get("X-Amz-Meta-S3seal-Version"); got != "1" {
			t.Errorf("backend X-Amz-Meta-S3seal-Version = %q, want 1", got)
		}
	}

	t.Run("minio-go PresignedPostPolicy form stores ciphertext", func(t *testing.T) {
		const key = "minio-go/report.bin"
		data := harness.RandomBytes(t, 5*mib+3)
		p := minio.NewPostPolicy()
		for _, err := range []error{
			p.SetBucket(bucket), p.SetKey(key), p.SetExpires(time.Now().UTC().Add(10 * time.Minute)),
			p.SetContentLengthRange(1, 6*mib), p.SetContentType("application/octet-stream"),
			p.SetUserMetadata("origin", "browser"),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		u, fields, err := c.PresignedPostPolicy(t.Context(), p)
		if err != nil {
			t.Fatalf("PresignedPostPolicy: %v", err)
		}
		status, h, e := postFile(t, u.String(), fields, "report.bin", data)
		if status != http.StatusNoContent {
			t.Fatalf("POST: %d %s %s, want 204", status, e.Code, e.Message)
		}
		if h.Get("ETag") == "" || h.Get("X-Amz-Server-Side-Encryption") != "AES256" {
			t.Errorf("response ETag %q, X-Amz-Server-Side-Encryption %q: want an ETag and AES256", h.Get("ETag"), h.Get("X-Amz-Server-Side-Encryption"))
		}
		s.wrote(bucket, key, data)
		assertStoredEncrypted(t, key, data)
		st, err := c.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("StatObject: %v", err)
		}
		if st.Size != int64(len(data)) || st.ContentType != "application/octet-stream" || st.UserMetadata["Origin"] != "browser" {
			t.Errorf("stat: size %d, content type %q, metadata %v; want %d, application/octet-stream, Origin=browser",
				st.Size, st.ContentType, st.UserMetadata, len(data))
		}
	})

	t.Run("mc share upload form, then mc share download", func(t *testing.T) {
		const key = "mc/shared.txt"
		data := harness.RandomBytes(t, 300*1024+7)
		url, fields := mcShareUpload(t, mc, "gw/"+bucket+"/"+key)
		if !strings.HasPrefix(url, s.gw.Endpoint+"/"+bucket) {
			t.Errorf("mc share upload URL %q, want the gateway's bucket %s/%s", url, s.gw.Endpoint, bucket)
		}
		if got := fields["key"]; got != key {
			t.Errorf("mc share upload key field %q, want %q", got, key)
		}
		status, _, e := postFile(t, url, fields, "shared.txt", data)
		if status != http.StatusNoContent {
			t.Fatalf("POST: %d %s %s, want 204", status, e.Code, e.Message)
		}
		s.wrote(bucket, key, data)
		assertStoredEncrypted(t, key, data)

		out := mc.Must(t, "--json", "share", "download", "--expire", "10m", "gw/"+bucket+"/"+key)
		var msg struct {
			Share string `json:"share"`
		}
		if err := json.Unmarshal(out.Stdout, &msg); err != nil || !strings.HasPrefix(msg.Share, s.gw.Endpoint) {
			t.Fatalf("mc share download output %q: %v", out.Stdout, err)
		}
		resp, err := http.Get(msg.Share)
		if err != nil {
			t.Fatalf("GET %s: %v", msg.Share, err)
		}
		defer resp.Body.Close()
		got := readAllOrFatal(t, "shared download", resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET shared URL: %d %s", resp.StatusCode, got)
		}
		assertSameBytes(t, "mc share download URL", got, data)
	})

	t.Run("refused forms store nothing", func(t *testing.T) {
		// form returns a signed minio-go form for key with a key prefix
		// condition "allowed/" and a content-length-range of 1 to 1 KiB.
		form := func(t *testing.T, expires time.Time) (string, map[string]string) {
			t.Helper()
			p := minio.NewPostPolicy()
			for _, err := range []error{p.SetBucket(bucket), p.SetKeyStartsWith("allowed/"), p.SetExpires(expires), p.SetContentLengthRange(1, 1024)} {
				if err != nil {
					t.Fatal(err)
				}
			}
			u, fields, err := c.PresignedPostPolicy(t.Context(), p)
			if err != nil {
				t.Fatalf("PresignedPostPolicy: %v", err)
			}
			return u.String(), fields
		}
		valid := time.Now().UTC().Add(10 * time.Minute)
		tests := []struct {
			name       string
			expires    time.Time
			key        string
			edit       func(fields map[string]string)
			size       int
			wantStatus int
			wantCode   string
		}{
			{"a tampered signature", valid, "allowed/tampered", func(f map[string]string) {
				sig, last := f["x-amz-signature"], "0"
				if strings.HasSuffix(sig, "0") {
					last = "1"
				}
				f["x-amz-signature"] = sig[:len(sig)-1] + last
			}, 10, http.StatusForbidden, "SignatureDoesNotMatch"},
			{"an expired policy", time.Now().UTC().Add(-time.Minute), "allowed/expired", nil, 10, http.StatusForbidden, "AccessDenied"},
			{"a file over the content-length-range", valid, "allowed/too-large", nil, 1025, http.StatusBadRequest, "EntityTooLarge"},
			{"a key outside the starts-with condition", valid, "elsewhere/object", nil, 10, http.StatusForbidden, "AccessDenied"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				url, fields := form(t, tc.expires)
				fields["key"] = tc.key
				if tc.edit != nil {
					tc.edit(fields)
				}
				status, _, e := postFile(t, url, fields, "f", harness.RandomBytes(t, tc.size))
				if status != tc.wantStatus || e.Code != tc.wantCode {
					t.Errorf("POST: %d %s (%s), want %d %s", status, e.Code, e.Message, tc.wantStatus, tc.wantCode)
				}
				s.assertNotOnBackend(t, bucket, tc.key)
			})
		}
	})

	t.Run("the gateway's spool directory is empty", func(t *testing.T) {
		entries, err := os.ReadDir(spoolDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("spool file left behind: %s", filepath.Join(spoolDir, e.Name()))
		}
	})

	t.Run("logs are clean", func(t *testing.T) {
		// Request lines reach the log within the logger's flush interval.
		harness.Eventually(t, 5*time.Second, func(context.Context) error {
			if !strings.Contains(s.gw.Logs(), `"operation":"PostObject"`) {
				return errors.New("no request log line names the PostObject operation")
			}
			return nil
		})
		assertCleanLogs(t, s)
	})
}
