package gateway

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// policyJSON builds a policy document expiring at exp.
func policyJSON(exp time.Time, conditions ...string) string {
	return `{"expiration": "` + exp.UTC().Format("2006-01-02T15:04:05.000Z") + `", "conditions": [` + strings.Join(conditions, ", ") + `]}`
}

func TestPostPolicyCheck(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	// base are the fields every case's form has, and baseConds the
	// conditions that cover them.
	base := map[string]string{
		"bucket": "photos", "key": "user/alice/cat.jpg",
		"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": "AK/20300101/us-east-1/s3/aws4_request",
		"x-amz-date": "20300101T000000Z", "x-amz-signature": "00", "policy": "e30=",
	}
	baseConds := []string{
		`{"bucket": "photos"}`, `["starts-with", "$key", "user/alice/"]`,
		`{"x-amz-algorithm": "AWS4-HMAC-SHA256"}`, `{"x-amz-credential": "AK/20300101/us-east-1/s3/aws4_request"}`,
		`["eq", "$x-amz-date", "20300101T000000Z"]`,
	}
	tests := []struct {
		name    string
		expires time.Time
		extra   []string          // conditions beyond baseConds
		fields  map[string]string // fields beyond base
		drop    int               // a base condition (by index+1) to leave out; 0: none
		wantErr string            // "" for success, else a substring of the AccessDenied message
	}{
		{name: "a form meeting every condition", expires: later},
		{name: "eq on a content header", expires: later, extra: []string{`["eq", "$Content-Type", "image/jpeg"]`}, fields: map[string]string{"content-type": "image/jpeg"}},
		{name: "eq mismatch", expires: later, extra: []string{`["eq", "$Content-Type", "image/jpeg"]`}, fields: map[string]string{"content-type": "image/png"},
			wantErr: `Policy Condition failed: ["eq", "$content-type", "image/jpeg"]`},
		{name: "eq is case-sensitive in the value", expires: later, extra: []string{`{"x-amz-meta-tag": "Blue"}`}, fields: map[string]string{"x-amz-meta-tag": "blue"},
			wantErr: "Policy Condition failed"},
		{name: "starts-with match", expires: later, extra: []string{`["starts-with", "$x-amz-meta-tag", "pre"]`}, fields: map[string]string{"x-amz-meta-tag": "prefix"}},
		{name: "starts-with with an empty prefix allows anything", expires: later, extra: []string{`["starts-with", "$x-amz-meta-tag", ""]`}, fields: map[string]string{"x-amz-meta-tag": "anything"}},
		{name: "key outside the starts-with prefix", expires: later, fields: map[string]string{"key": "user/bob/cat.jpg"},
			wantErr: `Policy Condition failed: ["starts-with", "$key", "user/alice/"]`},
		{name: "another bucket", expires: later, fields: map[string]string{"bucket": "other"}, wantErr: `["eq", "$bucket", "photos"]`},
		{name: "starts-with on the bucket", expires: later, drop: 1, extra: []string{`["starts-with", "$bucket", "pho"]`}, wantErr: "must match exactly"},
		{name: "no bucket condition", expires: later, drop: 1, wantErr: "Extra input fields: bucket"},
		{name: "an extra field without a condition", expires: later, fields: map[string]string{"x-amz-meta-unsigned": "v"},
			wantErr: "Extra input fields: x-amz-meta-unsigned"},
		{name: "extra fields are all named", expires: later, fields: map[string]string{"acl": "public-read", "success_action_status": "201"},
			wantErr: "Extra input fields: acl, success_action_status"},
		{name: "exempt fields need no condition", expires: later, fields: map[string]string{
			"x-ignore-submit": "Upload", "x-amz-ignore-foo": "1", "content-encoding": "gzip",
			"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "k",
		}},
		{name: "a condition on an absent field with an empty value holds", expires: later, extra: []string{`{"success_action_redirect": ""}`}},
		{name: "a condition on an absent field with a value fails", expires: later, extra: []string{`["eq", "$x-amz-meta-uuid", "1"]`},
			wantErr: `["eq", "$x-amz-meta-uuid", "1"]`},
		{name: "condition names are case-insensitive", expires: later, extra: []string{`["starts-with", "$X-AMZ-META-Tag", "a"]`}, fields: map[string]string{"x-amz-meta-tag": "abc"}},
		{name: "expired", expires: now.Add(-time.Second), wantErr: "Policy expired."},
		{name: "expiring right now", expires: now, wantErr: "Policy expired."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var conds []string
			for i, c := range baseConds {
				if i+1 != tc.drop {
					conds = append(conds, c)
				}
			}
			p, err := parsePostPolicy([]byte(policyJSON(tc.expires, append(conds, tc.extra...)...)))
			if err != nil {
				t.Fatalf("parsePostPolicy: %v", err)
			}
			fields := map[string]string{}
			for k, v := range base {
				fields[k] = v
			}
			for k, v := range tc.fields {
				fields[k] = v
			}
			err = p.check(fields, now)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("check: %v, want success", err)
				}
				return
			}
			if !s3err.HasCode(err, s3err.AccessDenied) || !strings.Contains(err.Error(), "Invalid according to Policy: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("check: got %v, want AccessDenied containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestParsePostPolicyContentLengthRange(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name           string
		conds          []string
		wantLo, wantHi int64
	}{
		{"none: S3's single PUT limit", nil, 0, maxPostObjectSize},
		{"numbers", []string{`["content-length-range", 10, 1048576]`}, 10, 1048576},
		{"strings, as MinIO accepts", []string{`["content-length-range", "1", "20"]`}, 1, 20},
		{"several intersect", []string{`["content-length-range", 1, 100]`, `["content-length-range", 5, 50]`}, 5, 50},
		{"a maximum above 5 GiB is capped", []string{`["content-length-range", 0, 10737418240]`}, 0, maxPostObjectSize},
		{"exactly one size", []string{`["content-length-range", 7, 7]`}, 7, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePostPolicy([]byte(policyJSON(exp, tc.conds...)))
			if err != nil {
				t.Fatalf("parsePostPolicy: %v", err)
			}
			if lo, hi := p.sizeLimits(); lo != tc.wantLo || hi != tc.wantHi {
				t.Errorf("sizeLimits() = %d, %d, want %d, %d", lo, hi, tc.wantLo, tc.wantHi)
			}
		})
	}
}

func TestParsePostPolicyRefusesMalformedDocuments(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"not JSON", `expiration: tomorrow`},
		{"an array", `[]`},
		{"no expiration", `{"conditions": []}`},
		{"no conditions", `{"expiration": "2030-01-01T00:00:00Z"}`},
		{"a malformed expiration", `{"expiration": "tomorrow", "conditions": []}`},
		{"a duplicate expiration", `{"expiration": "2000-01-01T00:00:00Z", "expiration": "2030-01-01T00:00:00Z", "conditions": []}`},
		{"a duplicate condition member", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"bucket": "a", "bucket": "b"}]}`},
		{"an unknown member", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [], "extra": 1}`},
		{"data after the document", `{"expiration": "2030-01-01T00:00:00Z", "conditions": []} {}`},
		{"an unknown operator", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [["matches", "$key", ".*"]]}`},
		{"a field without $", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "key", "a"]]}`},
		{"two elements", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "$key"]]}`},
		{"a number value", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"key": 1}]}`},
		{"an empty object condition", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [{}]}`},
		{"a string condition", `{"expiration": "2030-01-01T00:00:00Z", "conditions": ["key"]}`},
		{"a reversed content-length-range", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 10, 1]]}`},
		{"a negative content-length-range", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", -1, 1]]}`},
		{"a fractional content-length-range", `{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 0, 1.5]]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parsePostPolicy([]byte(tc.doc))
			if !s3err.HasCode(err, s3err.InvalidPolicyDocument) {
				t.Errorf("got %v, want InvalidPolicyDocument", err)
			}
		})
	}
}

func FuzzParsePostPolicy(f *testing.F) {
	f.Add([]byte(policyJSON(time.Now(), `{"bucket": "b"}`, `["starts-with", "$key", ""]`, `["content-length-range", 1, 2]`)))
	f.Add([]byte(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [[]]}`))
	f.Add([]byte(`{"conditions": [{"a": "b"}], "expiration": "2030-01-01T00:00:00.5+01:00"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := parsePostPolicy(doc)
		if err != nil {
			if !s3err.HasCode(err, s3err.InvalidPolicyDocument) {
				t.Fatalf("error %v, want InvalidPolicyDocument", err)
			}
			return
		}
		if lo, hi := p.sizeLimits(); lo < 0 || hi > maxPostObjectSize {
			t.Fatalf("sizeLimits() = %d, %d", lo, hi)
		}
		_ = p.check(map[string]string{"key": "k", "bucket": "b"}, time.Now())
	})
}

// formPart is one field of a multipart form; file marks the file part.
type formPart struct {
	name, value string
	file        bool
	filename    string
}

func multipartBody(t *testing.T, parts []formPart) (body []byte, contentType string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.file {
			w, err = mw.CreateFormFile(p.name, p.filename)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p.value)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

func TestReadPostForm(t *testing.T) {
	tests := []struct {
		name        string
		parts       []formPart
		contentType string // "": the writer's
		wantFields  map[string]string
		wantFile    string
		wantCode    s3err.Code // zero: success
	}{
		{
			name:       "fields before the file, names case-insensitive, fields after it ignored",
			parts:      []formPart{{name: "Key", value: "k"}, {name: "X-Amz-Meta-A", value: "v"}, {name: "file", file: true, filename: "f.txt", value: "data"}, {name: "after", value: "x"}},
			wantFields: map[string]string{"key": "k", "x-amz-meta-a": "v"},
			wantFile:   "data",
		},
		{
			name:     "no file",
			parts:    []formPart{{name: "key", value: "k"}},
			wantCode: s3err.InvalidArgument,
		},
		{
			name:     "a duplicate field",
			parts:    []formPart{{name: "key", value: "a"}, {name: "KEY", value: "b"}, {name: "file", file: true, value: "x"}},
			wantCode: s3err.MalformedPOSTRequest,
		},
		{
			name:     "fields beyond 64 KiB",
			parts:    []formPart{{name: "x-amz-meta-big", value: strings.Repeat("a", maxPostFormFields)}, {name: "file", file: true, value: "x"}},
			wantCode: s3err.MaxPostPreDataLengthExceeded,
		},
		{
			name:       "fields of exactly 64 KiB",
			parts:      []formPart{{name: "k", value: strings.Repeat("a", maxPostFormFields-1)}, {name: "file", file: true, value: "x"}},
			wantFields: map[string]string{"k": strings.Repeat("a", maxPostFormFields-1)},
			wantFile:   "x",
		},
		{
			name:        "not a form",
			parts:       []formPart{{name: "file", file: true, value: "x"}},
			contentType: "application/octet-stream",
			wantCode:    s3err.MalformedPOSTRequest,
		},
		{
			name:        "a form without a boundary",
			parts:       []formPart{{name: "file", file: true, value: "x"}},
			contentType: "multipart/form-data",
			wantCode:    s3err.MalformedPOSTRequest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartBody(t, tc.parts)
			if tc.contentType != "" {
				ct = tc.contentType
			}
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/b", bytes.NewReader(body))
			r.Header.Set("Content-Type", ct)
			f, err := readPostForm(r)
			if tc.wantCode != (s3err.Code{}) {
				if !s3err.HasCode(err, tc.wantCode) {
					t.Fatalf("got %v, want %s", err, tc.wantCode.Name)
				}
				return
			}
			if err != nil {
				t.Fatalf("readPostForm: %v", err)
			}
			if len(f.fields) != len(tc.wantFields) {
				t.Errorf("got fields %v, want %v", f.fields, tc.wantFields)
			}
			for k, v := range tc.wantFields {
				if f.fields[k] != v {
					t.Errorf("field %s = %.40q, want %.40q", k, f.fields[k], v)
				}
			}
			got, err := io.ReadAll(f.file)
			if err != nil || string(got) != tc.wantFile {
				t.Errorf("file = %q, %v, want %q", got, err, tc.wantFile)
			}
		})
	}
}

func TestSpoolFormFile(t *testing.T) {
	var key crypto.ObjectKey
	copy(key[:], "0123456789abcdef0123456789abcdef")
	plaintext := bytes.Repeat([]byte("secret plaintext "), 8000) // > 2 DARE packages
	n := int64(len(plaintext))
	tests := []struct {
		name     string
		src      io.Reader
		key      *crypto.ObjectKey
		max      int64
		wantCode s3err.Code // zero: success
	}{
		{"encrypted, at the limit", bytes.NewReader(plaintext), &key, n, s3err.Code{}},
		{"plaintext bucket, at the limit", bytes.NewReader(plaintext), nil, n, s3err.Code{}},
		{"encrypted, one byte over the limit", bytes.NewReader(plaintext), &key, n - 1, s3err.EntityTooLarge},
		{"plaintext bucket, one byte over the limit", bytes.NewReader(plaintext), nil, n - 1, s3err.EntityTooLarge},
		{"empty", bytes.NewReader(nil), &key, 0, s3err.Code{}},
		{"a truncated body", io.MultiReader(bytes.NewReader(plaintext[:1000]), iotestErrReader{io.ErrUnexpectedEOF}), &key, n, s3err.IncompleteBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir())
			spool, size, err := spoolFormFile(tc.src, tc.key, nil, tc.max)
			if spool == nil {
				t.Fatalf("no spool file (err %v)", err)
			}
			info, statErr := spool.Stat()
			if statErr != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("spool file mode %v (%v), want 0600", info.Mode().Perm(), statErr)
			}
			defer func() {
				removeSpool(spool)
				if left, _ := os.ReadDir(os.TempDir()); len(left) != 0 {
					t.Errorf("temporary directory holds %d files after removeSpool, want none", len(left))
				}
			}()
			if tc.wantCode != (s3err.Code{}) {
				if !s3err.HasCode(err, tc.wantCode) {
					t.Fatalf("got %v, want %s", err, tc.wantCode.Name)
				}
				return
			}
			if err != nil {
				t.Fatalf("spoolFormFile: %v", err)
			}
			stored, err := os.ReadFile(spool.Name())
			if err != nil {
				t.Fatal(err)
			}
			want := plaintext[:size]
			if tc.key == nil {
				if !bytes.Equal(stored, want) {
					t.Errorf("plaintext bucket spool holds %d bytes, want the %d plaintext bytes", len(stored), len(want))
				}
				return
			}
			if got, want := int64(len(stored)), crypto.EncryptedSize(size); got != want {
				t.Errorf("spool holds %d bytes, want EncryptedSize(%d) = %d", got, size, want)
			}
			if size > 0 && bytes.Contains(stored, []byte("secret plaintext")) {
				t.Errorf("the spool file holds plaintext")
			}
			dec, err := crypto.DecryptReader(bytes.NewReader(stored), key, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(dec)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("decrypted spool: %d bytes, %v; want the %d plaintext bytes", len(got), err, len(want))
			}
		})
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// newPostServer returns a ready gateway in front of a memS3 holding the
// buckets photos, public and b.
func newPostServer(t *testing.T, plaintextBuckets ...string) *testGateway {
	t.Helper()
	g := newTestGateway(t, func(c *Config) { c.PlaintextBuckets = plaintextBuckets })
	for _, b := range []string{"photos", "public", "b"} {
		g.be.buckets[b] = map[string]*memObject{}
	}
	return g
}

// signedForm returns the fields of a form for bucket signed by the root
// user: the policy with the given conditions plus those covering the
// signature fields, and fields (not file) on top.
func signedForm(bucket string, expires time.Time, conditions []string, fields map[string]string) []formPart {
	return signedFormAs(testRoot, testPassword, bucket, expires, conditions, fields)
}

// signedFormAs is signedForm signed by accessKey with secret.
func signedFormAs(accessKey, secret, bucket string, expires time.Time, conditions []string, fields map[string]string) []formPart {
	now := time.Now().UTC()
	date := now.Format("20060102T150405Z")
	cred := accessKey + "/" + now.Format("20060102") + "/us-east-1/s3/aws4_request"
	conds := append([]string{
		`{"bucket": "` + bucket + `"}`, `{"x-amz-algorithm": "AWS4-HMAC-SHA256"}`,
		`{"x-amz-credential": "` + cred + `"}`, `{"x-amz-date": "` + date + `"}`,
	}, conditions...)
	policy := base64.StdEncoding.EncodeToString([]byte(policyJSON(expires, conds...)))
	key := []byte("AWS4" + secret)
	for _, s := range []string{now.Format("20060102"), "us-east-1", "s3", "aws4_request", policy} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		key = m.Sum(nil)
	}
	parts := []formPart{
		{name: "x-amz-algorithm", value: "AWS4-HMAC-SHA256"}, {name: "x-amz-credential", value: cred},
		{name: "x-amz-date", value: date}, {name: "policy", value: policy}, {name: "x-amz-signature", value: hex.EncodeToString(key)},
	}
	for k, v := range fields {
		parts = append(parts, formPart{name: k, value: v})
	}
	return parts
}

func submitForm(t *testing.T, s *Server, target string, parts []formPart, file string) *httptest.ResponseRecorder {
	t.Helper()
	body, ct := multipartBody(t, append(parts, formPart{name: "file", file: true, filename: "photo.jpg", value: file}))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", ct)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestPostObjectStoresCiphertext(t *testing.T) {
	plaintext := strings.Repeat("browser upload plaintext ", 5000)
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name       string
		conds      []string
		fields     map[string]string
		wantStatus int
		wantKey    string
		wantSSE    string // the response's X-Amz-Server-Side-Encryption
		check      func(t *testing.T, w *httptest.ResponseRecorder, etag string)
	}{
		{
			name:       "default answer: 204",
			conds:      []string{`["starts-with", "$key", "user/"]`},
			fields:     map[string]string{"key": "user/${filename}"},
			wantStatus: http.StatusNoContent, wantKey: "user/photo.jpg", wantSSE: "AES256",
		},
		{
			name:   "success_action_status 201: a PostResponse document",
			conds:  []string{`{"key": "a/b c"}`, `{"success_action_status": "201"}`},
			fields: map[string]string{"key": "a/b c", "success_action_status": "201"}, wantStatus: http.StatusCreated, wantKey: "a/b c", wantSSE: "AES256",
			check: func(t *testing.T, w *httptest.ResponseRecorder, etag string) {
				var got postResponse
				if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatalf("body %q: %v", w.Body.String(), err)
				}
				want := postResponse{XMLName: got.XMLName, Location: "http://example.com/photos/a/b%20c", Bucket: "photos", Key: "a/b c", ETag: etag}
				if got != want {
					t.Errorf("PostResponse %+v, want %+v", got, want)
				}
			},
		},
		{
			name:   "success_action_status 200",
			conds:  []string{`{"key": "k"}`, `{"success_action_status": "200"}`},
			fields: map[string]string{"key": "k", "success_action_status": "200"}, wantStatus: http.StatusOK, wantKey: "k", wantSSE: "AES256",
		},
		{
			name:   "success_action_redirect: 303 with bucket, key and etag",
			conds:  []string{`{"key": "k"}`, `["starts-with", "$success_action_redirect", "https://app.example/"]`},
			fields: map[string]string{"key": "k", "success_action_redirect": "https://app.example/done?x=1"}, wantStatus: http.StatusSeeOther, wantKey: "k", wantSSE: "AES256",
			check: func(t *testing.T, w *httptest.ResponseRecorder, etag string) {
				if got, want := w.Header().Get("Location"), "https://app.example/done?bucket=photos&etag="+url.QueryEscape(etag)+"&key=k&x=1"; got != want {
					t.Errorf("Location %q, want %q", got, want)
				}
			},
		},
		{
			name:  "SSE-KMS and metadata from the form",
			conds: []string{`{"key": "k"}`, `{"x-amz-meta-owner": "alice"}`, `["starts-with", "$Content-Type", "image/"]`},
			fields: map[string]string{
				"key": "k", "x-amz-meta-owner": "alice", "Content-Type": "image/jpeg",
				"X-Amz-Server-Side-Encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "default-key",
			},
			wantStatus: http.StatusNoContent, wantKey: "k", wantSSE: "aws:kms",
			check: func(t *testing.T, w *httptest.ResponseRecorder, _ string) {
				if got := w.Header().Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != "arn:aws:kms:default-key" {
					t.Errorf("key id header %q, want arn:aws:kms:default-key", got)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir())
			g := newPostServer(t)
			s := g.s
			w := submitForm(t, s, "http://example.com/photos", signedForm("photos", exp, tc.conds, tc.fields), plaintext)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body.String())
			}
			puts := g.backendCalls(http.MethodPut, "")
			if len(puts) != 1 {
				t.Fatalf("backend got %d PUTs, want 1", len(puts))
			}
			put := puts[0]
			etag := quotedMD5(put.Body) // the backend's
			if tc.wantSSE == "AES256" {
				etag = quotedMD5([]byte(plaintext)) // SSE-S3: the plaintext's
			}
			if got := w.Header().Get("ETag"); got != etag {
				t.Errorf("ETag %q, want %q", got, etag)
			}
			if got := w.Header().Get("X-Amz-Server-Side-Encryption"); got != tc.wantSSE {
				t.Errorf("X-Amz-Server-Side-Encryption %q, want %q", got, tc.wantSSE)
			}
			if tc.check != nil {
				tc.check(t, w, etag)
			}
			if got, want := put.Bucket+"/"+put.Object, "photos/"+tc.wantKey; got != want {
				t.Errorf("backend PUT %q, want %q", got, want)
			}
			if got, want := int64(len(put.Body)), crypto.EncryptedSize(int64(len(plaintext))); got != want {
				t.Errorf("backend got %d bytes, want EncryptedSize(%d) = %d", got, len(plaintext), want)
			}
			if bytes.Contains(put.Body, []byte("browser upload")) {
				t.Errorf("the backend received plaintext")
			}
			for name := range put.Header {
				if strings.HasPrefix(strings.ToLower(name), "x-amz-server-side-encryption") {
					t.Errorf("backend received %s: the backend must never encrypt", name)
				}
			}
			for k, v := range tc.fields {
				if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") || k == "Content-Type" {
					if got := put.Header.Get(k); got != v {
						t.Errorf("backend header %s = %q, want %q", k, got, v)
					}
				}
			}
			meta, err := crypto.DecodeMetadata(put.Header.Get)
			if err != nil {
				t.Fatalf("backend metadata: %v", err)
			}
			key, err := s.unsealObject(t.Context(), meta, "photos", tc.wantKey, nil)
			if err != nil {
				t.Fatalf("unseal: %v", err)
			}
			dec, err := crypto.DecryptReader(bytes.NewReader(put.Body), key, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(dec); err != nil || string(got) != plaintext {
				t.Errorf("decrypted backend object: %d bytes, %v; want the %d plaintext bytes", len(got), err, len(plaintext))
			}
			if left, _ := os.ReadDir(os.TempDir()); len(left) != 0 {
				t.Errorf("%d spool files left behind", len(left))
			}
		})
	}
}

func TestPostObjectToAPlaintextBucketStoresPlaintext(t *testing.T) {
	g := newPostServer(t, "public")
	w := submitForm(t, g.s, "http://example.com/public", signedForm("public", time.Now().Add(time.Hour), []string{`{"key": "k"}`}, map[string]string{"key": "k"}), "hello")
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d, want 204: %s", w.Code, w.Body.String())
	}
	puts := g.backendCalls(http.MethodPut, "")
	if len(puts) != 1 || string(puts[0].Body) != "hello" {
		t.Fatalf("backend PUTs %+v, want one of the plaintext", puts)
	}
	if got := w.Header().Get("X-Amz-Server-Side-Encryption"); got != "" {
		t.Errorf("X-Amz-Server-Side-Encryption %q, want none", got)
	}
}

func TestPostObjectRefusals(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	keyCond := []string{`["starts-with", "$key", "uploads/"]`}
	okFields := map[string]string{"key": "uploads/a"}
	// tamper edits the value of the named field.
	tamper := func(parts []formPart, name string, edit func(string) string) []formPart {
		out := append([]formPart(nil), parts...)
		for i := range out {
			if out[i].name == name {
				out[i].value = edit(out[i].value)
			}
		}
		return out
	}
	flipLastHexDigit := func(sig string) string {
		last := "0"
		if strings.HasSuffix(sig, "0") {
			last = "1"
		}
		return sig[:len(sig)-1] + last
	}
	otherPolicy := base64.StdEncoding.EncodeToString([]byte(policyJSON(exp, `["starts-with", "$key", ""]`)))
	tests := []struct {
		name       string
		target     string
		parts      []formPart
		file       string
		wantStatus int
		wantCode   string
	}{
		{"a tampered signature", "/bkt", tamper(signedForm("bkt", exp, keyCond, okFields), "x-amz-signature", flipLastHexDigit), "x",
			http.StatusForbidden, "SignatureDoesNotMatch"},
		{"a tampered policy", "/bkt", tamper(signedForm("bkt", exp, keyCond, okFields), "policy", func(string) string { return otherPolicy }), "x",
			http.StatusForbidden, "SignatureDoesNotMatch"},
		{"an expired policy", "/bkt", signedForm("bkt", time.Now().Add(-time.Minute), keyCond, okFields), "x", http.StatusForbidden, "AccessDenied"},
		{"a key outside the starts-with condition", "/bkt", signedForm("bkt", exp, keyCond, map[string]string{"key": "elsewhere/a"}), "x", http.StatusForbidden, "AccessDenied"},
		{"another bucket than signed for", "/other", signedForm("bkt", exp, keyCond, okFields), "x", http.StatusForbidden, "AccessDenied"},
		{"a field the policy does not cover", "/bkt", signedForm("bkt", exp, keyCond, map[string]string{"key": "uploads/a", "x-amz-meta-x": "1"}), "x", http.StatusForbidden, "AccessDenied"},
		{"a file over content-length-range", "/bkt", signedForm("bkt", exp, append(keyCond, `["content-length-range", 0, 4]`), okFields), "12345", http.StatusBadRequest, "EntityTooLarge"},
		{"a file under content-length-range", "/bkt", signedForm("bkt", exp, append(keyCond, `["content-length-range", 2, 4]`), okFields), "1", http.StatusBadRequest, "EntityTooSmall"},
		{"no key field", "/bkt", signedForm("bkt", exp, keyCond, nil), "x", http.StatusBadRequest, "InvalidArgument"},
		{"a checksum field", "/bkt", signedForm("bkt", exp, keyCond, map[string]string{"key": "uploads/a", "x-amz-checksum-crc32": "AAAAAA=="}), "x", http.StatusNotImplemented, "NotImplemented"},
		{"an unknown access key", "/bkt", tamper(signedForm("bkt", exp, keyCond, okFields), "x-amz-credential", func(c string) string { return "nobody" + strings.TrimPrefix(c, testRoot) }), "x",
			http.StatusForbidden, "InvalidAccessKeyId"},
		{"the system bucket", "/s3seal-system", signedForm("s3seal-system", exp, keyCond, okFields), "x", http.StatusForbidden, "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir())
			g := newPostServer(t)
			w := submitForm(t, g.s, "http://example.com"+tc.target, tc.parts, tc.file)
			var got struct{ Code, Message, RequestId string }
			_ = xml.Unmarshal(w.Body.Bytes(), &got)
			if w.Code != tc.wantStatus || got.Code != tc.wantCode {
				t.Fatalf("got %d %s (%s), want %d %s", w.Code, got.Code, got.Message, tc.wantStatus, tc.wantCode)
			}
			if got.RequestId == "" || got.RequestId != w.Header().Get("X-Amz-Request-Id") {
				t.Errorf("error request id %q, header %q: want the same, non-empty", got.RequestId, w.Header().Get("X-Amz-Request-Id"))
			}
			if puts := g.backendCalls(http.MethodPut, ""); len(puts) != 0 {
				t.Errorf("backend got %d PUTs, want none", len(puts))
			}
			if left, _ := os.ReadDir(os.TempDir()); len(left) != 0 {
				t.Errorf("%d spool files left behind", len(left))
			}
		})
	}
}

func TestPostObjectRouteBypassesHeaderAuthentication(t *testing.T) {
	s := newPostServer(t).s
	tests := []struct {
		target      string
		contentType string
		wantStatus  int
		wantCode    string
	}{
		// Header authentication would answer 403 AccessDenied for these
		// unsigned requests; the form route reads the body instead.
		{"/b", "multipart/form-data", http.StatusBadRequest, "MalformedPOSTRequest"},
		{"/b/", "multipart/form-data", http.StatusBadRequest, "MalformedPOSTRequest"},
		// As in MinIO, a form upload wins over ?delete.
		{"/b?delete", "multipart/form-data", http.StatusBadRequest, "MalformedPOSTRequest"},
		// Other POSTs on a bucket still authenticate by header.
		{"/photos?delete", "application/xml", http.StatusForbidden, "AccessDenied"},
		{"/photos", "text/plain", http.StatusForbidden, "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.target+" "+tc.contentType, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "http://example.com"+tc.target, strings.NewReader("not a form"))
			r.Header.Set("Content-Type", tc.contentType)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			var got struct{ Code string }
			_ = xml.Unmarshal(w.Body.Bytes(), &got)
			if w.Code != tc.wantStatus || got.Code != tc.wantCode {
				t.Errorf("got %d %s, want %d %s", w.Code, got.Code, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

// countingBody counts the bytes read from it.
type countingBody struct {
	r io.Reader
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestReadPostFormBoundsWhatIsReadBeforeTheSignature: nothing before the
// file part is authenticated, so skipped parts and part headers count
// against a budget as field values do, and reading stops at it.
func TestReadPostFormBoundsWhatIsReadBeforeTheSignature(t *testing.T) {
	const boundary = "B0undary"
	file := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nx\r\n--" + boundary + "--\r\n"
	tests := []struct{ name, before string }{
		{"an unnamed part", "--" + boundary + "\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("u", 8<<20) + "\r\n"},
		{"a huge part header", "--" + boundary + "\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: " + strings.Repeat("h", 8<<20) + "\r\n\r\nv\r\n"},
		{"many small unnamed parts", strings.Repeat("--"+boundary+"\r\nContent-Type: text/plain\r\n\r\n"+strings.Repeat("s", 1200)+"\r\n", 990)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{r: strings.NewReader(tc.before + file)}
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/b", body)
			r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
			_, err := readPostForm(r)
			if !s3err.HasCode(err, s3err.MaxPostPreDataLengthExceeded) {
				t.Errorf("got %v, want %s", err, s3err.MaxPostPreDataLengthExceeded.Name)
			}
			if limit := int64(maxPostPreData + 64<<10); body.n > limit {
				t.Errorf("read %d bytes before refusing, want at most %d", body.n, limit)
			}
		})
	}
}
