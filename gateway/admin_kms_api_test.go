package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
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
				var st map[string]string
				if err := json.Unmarshal(body, &st); err != nil || st["key-id"] != "new-key" || st["encryption-error"] != "" || st["decryption-error"] != "" {
					t.Errorf("key status %s (%v), want new-key without errors", body, err)
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
