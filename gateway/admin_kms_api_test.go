package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/s3seal/s3seal/kmsclient"
)

func TestAdminKMSAPI(t *testing.T) {
	g := newTestGateway(t, nil)
	tests := []struct {
		name, method, target string
		wantStatus           int
		wantCode             string // the JSON error's Code; "" for success
		check                func(t *testing.T, body []byte)
	}{
		{name: "create a key", method: http.MethodPost, target: "/minio/kms/v1/key/create?key-id=new-key", wantStatus: http.StatusOK},
		{name: "create it again", method: http.MethodPost, target: "/minio/kms/v1/key/create?key-id=new-key", wantStatus: http.StatusConflict, wantCode: "XMinioKMSKeyExists"},
		{name: "create an invalid name", method: http.MethodPost, target: "/minio/admin/v3/kms/key/create?key-id=-bad", wantStatus: http.StatusBadRequest, wantCode: "InvalidArgument"},
		{name: "create without a key id", method: http.MethodPost, target: "/minio/kms/v1/key/create", wantStatus: http.StatusBadRequest, wantCode: "InvalidArgument"},
		{name: "key status of a working key", method: http.MethodGet, target: "/minio/kms/v1/key/status?key-id=new-key", wantStatus: http.StatusOK,
			check: func(t *testing.T, body []byte) {
				var st map[string]any
				if err := json.Unmarshal(body, &st); err != nil || st["key-id"] != "new-key" || st["encryption-error"] != nil || st["decryption-error"] != nil || st["latest-version"] != 1.0 {
					t.Errorf("key status %s (%v), want new-key without errors at version 1", body, err)
				}
			}},
		{name: "key status of a missing key", method: http.MethodGet, target: "/minio/admin/v3/kms/key/status?key-id=missing", wantStatus: http.StatusNotFound, wantCode: "XMinioKMSKeyNotFound"},
		{name: "list keys", method: http.MethodGet, target: "/minio/kms/v1/key/list?pattern=*", wantStatus: http.StatusOK,
			check: func(t *testing.T, body []byte) {
				var keys []struct{ Name string }
				if err := json.Unmarshal(body, &keys); err != nil {
					t.Fatalf("list %s: %v", body, err)
				}
				names := map[string]bool{}
				for _, k := range keys {
					names[k.Name] = true
				}
				for _, want := range []string{"default-key", otherKey, "new-key"} {
					if !names[want] {
						t.Errorf("key list %s lacks %s", body, want)
					}
				}
			}},
		{name: "KMS status names the default key", method: http.MethodGet, target: "/minio/kms/v1/status", wantStatus: http.StatusOK,
			check: func(t *testing.T, body []byte) {
				var st struct {
					DefaultKeyID string `json:"default-key-id"`
				}
				if err := json.Unmarshal(body, &st); err != nil || st.DefaultKeyID != "default-key" {
					t.Errorf("status %s (%v), want default-key-id default-key", body, err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(tc.method, tc.target, nil)
			if res.status != tc.wantStatus {
				t.Fatalf("got %v, want %d", res, tc.wantStatus)
			}
			if got := res.header.Get("Content-Type"); res.status != http.StatusOK && got != "application/json" {
				t.Errorf("error Content-Type %q, want application/json", got)
			}
			if tc.wantCode != "" {
				var e adminError
				if err := json.Unmarshal(res.body, &e); err != nil || e.Code != tc.wantCode || e.RequestID == "" {
					t.Errorf("error document %s (%v), want Code %s and a request id", res.body, err, tc.wantCode)
				}
			}
			if tc.check != nil {
				tc.check(t, res.body)
			}
		})
	}
	t.Run("an unsigned request is refused as JSON", func(t *testing.T) {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "http://s3.test/minio/kms/v1/key/create?key-id=x", nil)
		res := g.serve(r)
		var e adminError
		if err := json.Unmarshal(res.body, &e); res.status != http.StatusForbidden || err != nil || e.Code != "AccessDenied" {
			t.Errorf("got %v, want 403 with a JSON AccessDenied", res)
		}
	})
}

func TestAdminKMSKeyRotation(t *testing.T) {
	g := newTestGateway(t, nil)
	if res := g.do(http.MethodPost, "/minio/kms/v1/key/create?key-id=rotating", nil); res.status != http.StatusOK {
		t.Fatalf("create: %v", res)
	}
	if res := g.put(testBucket, "before", []byte("sealed under version 1"), "X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "rotating"); res.status != http.StatusOK {
		t.Fatalf("put before: %v", res)
	}
	for want := 2; want <= 3; want++ {
		res := g.do(http.MethodPost, "/minio/kms/v1/key/rotate?key-id=rotating", nil)
		var got struct {
			KeyID   string `json:"key-id"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(res.body, &got); res.status != http.StatusOK || err != nil || got.KeyID != "rotating" || got.Version != want {
			t.Fatalf("rotate: %v, want 200 with version %d", res, want)
		}
	}
	if res := g.put(testBucket, "after", []byte("sealed under version 3"), "X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "rotating"); res.status != http.StatusOK {
		t.Fatalf("put after: %v", res)
	}

	t.Run("key status lists the versions", func(t *testing.T) {
		res := g.do(http.MethodGet, "/minio/kms/v1/key/status?key-id=rotating", nil)
		var st struct {
			KeyID         string `json:"key-id"`
			EncryptionErr string `json:"encryption-error"`
			LatestVersion int    `json:"latest-version"`
			Versions      []struct {
				Version   int       `json:"version"`
				CreatedAt time.Time `json:"createdAt"`
			} `json:"versions"`
		}
		if err := json.Unmarshal(res.body, &st); err != nil || st.KeyID != "rotating" || st.EncryptionErr != "" || st.LatestVersion != 3 || len(st.Versions) != 3 {
			t.Fatalf("key status %s (%v), want 3 versions, latest 3", res.body, err)
		}
		for i, v := range st.Versions {
			if v.Version != i+1 || v.CreatedAt.IsZero() {
				t.Errorf("version %d = %+v", i+1, v)
			}
		}
	})
	t.Run("objects of every version read back under the same key id", func(t *testing.T) {
		for object, want := range map[string]struct{ data, version string }{
			"before": {"sealed under version 1", "1"},
			"after":  {"sealed under version 3", "3"},
		} {
			res := g.do(http.MethodGet, "/"+testBucket+"/"+object, nil)
			if res.status != http.StatusOK || string(res.body) != want.data {
				t.Errorf("GET %s = %v, want %q", object, res, want.data)
			}
			if got := res.header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != "arn:aws:kms:rotating" {
				t.Errorf("GET %s key id %q, want arn:aws:kms:rotating", object, got)
			}
			head := g.do(http.MethodHead, "/"+testBucket+"/"+object, nil)
			if got := head.header.Get("X-S3seal-Key-Version"); got != want.version {
				t.Errorf("HEAD %s key version %q, want %s", object, got, want.version)
			}
		}
	})
	t.Run("a self-copy re-seals under the newest version", func(t *testing.T) {
		res := g.do(http.MethodPut, "/"+testBucket+"/before", nil, "X-Amz-Copy-Source", testBucket+"/before",
			"X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "rotating")
		if res.status != http.StatusOK {
			t.Fatalf("copy: %v", res)
		}
		if got := g.do(http.MethodHead, "/"+testBucket+"/before", nil).header.Get("X-S3seal-Key-Version"); got != "3" {
			t.Errorf("key version after the self-copy %q, want 3", got)
		}
		if res := g.do(http.MethodGet, "/"+testBucket+"/before", nil); string(res.body) != "sealed under version 1" {
			t.Errorf("GET after the self-copy = %v", res)
		}
	})

	for _, tc := range []struct {
		name, target string
		wantStatus   int
		wantCode     string
	}{
		{"a missing key", "/minio/kms/v1/key/rotate?key-id=missing", http.StatusNotFound, "XMinioKMSKeyNotFound"},
		{"no key id", "/minio/kms/v1/key/rotate", http.StatusBadRequest, "InvalidArgument"},
		{"an invalid name", "/minio/admin/v3/kms/key/rotate?key-id=-bad", http.StatusBadRequest, "InvalidArgument"},
	} {
		t.Run("rotating "+tc.name+" is refused", func(t *testing.T) {
			res := g.do(http.MethodPost, tc.target, nil)
			var e adminError
			if err := json.Unmarshal(res.body, &e); res.status != tc.wantStatus || err != nil || e.Code != tc.wantCode {
				t.Errorf("got %v, want %d %s", res, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

// unrotatable is a KMS without key versions, as a KES server is.
type unrotatable struct{ KMS }

func (unrotatable) RotateKey(context.Context, string) (int, error) {
	return 0, kmsclient.ErrRotationUnsupported
}

func TestAdminKMSKeyRotationUnsupported(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.KMS = unrotatable{c.KMS} })
	res := g.do(http.MethodPost, "/minio/kms/v1/key/rotate?key-id=default-key", nil)
	var e adminError
	if err := json.Unmarshal(res.body, &e); res.status != http.StatusNotImplemented || err != nil || e.Code != "XMinioKMSRotationNotSupported" {
		t.Errorf("got %v, want 501 XMinioKMSRotationNotSupported", res)
	}
}
