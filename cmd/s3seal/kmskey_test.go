package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestKMSKeyCommandsSignAdminRequests checks the requests `s3seal kms key`
// sends (madmin-go's form: SigV4 with an empty region) and how it reports
// the answers; the end-to-end test drives a real gateway.
func TestKMSKeyCommandsSignAdminRequests(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential=root/") || !strings.Contains(auth, "//s3/aws4_request") {
			t.Errorf("Authorization %q, want root credentials scoped to the empty region", auth)
		}
		got = append(got, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		switch r.URL.Path {
		case "/minio/kms/v1/key/rotate":
			if r.URL.Query().Get("key-id") == "missing" {
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`{"Code":"XMinioKMSKeyNotFound","Message":"key 'missing' does not exist"}`))
				return
			}
			w.Write([]byte(`{"key-id":"my-key","version":3}`))
		case "/minio/kms/v1/key/status":
			w.Write([]byte(`{"key-id":"my-key","latest-version":2,"versions":[{"version":1,"createdAt":"2026-01-02T03:04:05Z","createdBy":"root"},{"version":2,"createdAt":"2026-02-03T04:05:06Z"}]}`))
		}
	}))
	defer srv.Close()
	env := func(k string) string {
		return map[string]string{"S3SEAL_ROOT_USER": "root", "S3SEAL_ROOT_PASSWORD": "secret"}[k]
	}
	cmd := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(args, env, &out, &errOut)
		return code, out.String() + errOut.String()
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"rotate", []string{"kms", "key", "rotate", "my-key", "--endpoint", srv.URL}, 0, "rotated my-key: new data keys are sealed under version 3"},
		{"rotate with the key after the flags", []string{"kms", "key", "rotate", "--endpoint", srv.URL, "my-key"}, 0, "version 3"},
		{"rotate a missing key", []string{"kms", "key", "rotate", "missing", "--endpoint", srv.URL}, 1, "XMinioKMSKeyNotFound: key 'missing' does not exist"},
		{"status lists the versions", []string{"kms", "key", "status", "my-key", "--endpoint", srv.URL}, 0, "latest version: 2 (new data keys)\n  version 1: created 2026-01-02T03:04:05Z by root\n  version 2: created 2026-02-03T04:05:06Z\n"},
		{"no key", []string{"kms", "key", "rotate", "--endpoint", srv.URL}, 2, "usage: s3seal kms key"},
		{"two keys", []string{"kms", "key", "rotate", "a", "b"}, 2, "usage: s3seal kms key"},
		{"unknown verb", []string{"kms", "key", "delete", "a"}, 2, "usage: s3seal kms key"},
		{"not a URL", []string{"kms", "key", "status", "a", "--endpoint", "gateway:9010"}, 2, "is not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := cmd(tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out, tt.wantCode, tt.want)
			}
		})
	}
	if len(got) == 0 || got[0] != "POST /minio/kms/v1/key/rotate?key-id=my-key" {
		t.Errorf("requests %q, want a POST of key/rotate first", got)
	}
}
