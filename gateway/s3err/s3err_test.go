package s3err

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteXMLAnswersTheCodeAndHidesCauses(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		method     string
		wantStatus int
		wantCode   string
		wantBody   bool
	}{
		{"S3 error", New(NoSuchKey, ""), http.MethodGet, 404, "NoSuchKey", true},
		{"wrapped S3 error", fmt.Errorf("get: %w", New(AccessDenied, "no")), http.MethodGet, 403, "AccessDenied", true},
		{"unknown error becomes InternalError", errors.New("secret detail /var/keys"), http.MethodGet, 500, "InternalError", true},
		{"HEAD has no body", New(NoSuchKey, ""), http.MethodHead, 404, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(tc.method, "/bucket/key", nil)
			WriteXML(w, r, "REQ1", tc.err)
			if w.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if !tc.wantBody {
				if w.Body.Len() != 0 {
					t.Errorf("HEAD body %q, want none", w.Body.String())
				}
				return
			}
			var got Response
			if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", w.Body.String(), err)
			}
			if got.Code != tc.wantCode || got.RequestID != "REQ1" || got.Resource != "/bucket/key" {
				t.Errorf("got %+v, want code %s, request id REQ1, resource /bucket/key", got, tc.wantCode)
			}
			if strings.Contains(w.Body.String(), "secret detail") {
				t.Errorf("the cause leaked into the response: %s", w.Body.String())
			}
		})
	}
}

func TestHasCodeAndIs(t *testing.T) {
	err := fmt.Errorf("ctx: %w", Wrap(BadDigest, errors.New("cause")))
	if !HasCode(err, BadDigest) || HasCode(err, InvalidDigest) {
		t.Errorf("HasCode mismatch for %v", err)
	}
	if !errors.Is(err, New(BadDigest, "other message")) {
		t.Errorf("errors.Is should match on the code")
	}
}

func TestWriteXMLDropsObjectHeaders(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			w := httptest.NewRecorder()
			for _, k := range []string{"X-Amz-Server-Side-Encryption", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "ETag", "Content-Length", "Content-Type"} {
				w.Header().Set(k, "set before the failure")
			}
			WriteXML(w, httptest.NewRequest(method, "/bucket/key", nil), "REQ1", New(InvalidRange, ""))
			for _, k := range []string{"X-Amz-Server-Side-Encryption", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "ETag", "Content-Length"} {
				if v := w.Header().Get(k); v != "" {
					t.Errorf("%s: %s, want none", k, v)
				}
			}
			wantType := "application/xml"
			if method == http.MethodHead {
				wantType = "" // no body
			}
			if got := w.Header().Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type %q, want %q", got, wantType)
			}
		})
	}
}

// A failed precondition on HEAD names XML, as MinIO's does, although no
// body follows.
func TestWriteXMLHeadPreconditionFailed(t *testing.T) {
	w := httptest.NewRecorder()
	WriteXML(w, httptest.NewRequest(http.MethodHead, "/bucket/key", nil), "REQ1", New(PreconditionFailed, ""))
	if w.Code != http.StatusPreconditionFailed || w.Header().Get("Content-Type") != "application/xml" || w.Body.Len() != 0 {
		t.Errorf("HEAD 412: status %d, Content-Type %q, %d body bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
}
