package kes

import (
	"net/http"
	"strings"
	"testing"
)

func TestPolicyAllowsAndDeniesByPath(t *testing.T) {
	admin := newClientCert(t)
	app := newClientCert(t)
	auditor := newClientCert(t)
	stranger := newClientCert(t)
	ts := startServer(t, Config{
		AdminIdentity: admin.identity,
		Policies: map[string]Policy{
			"app": {
				Allow: []string{
					"/v1/key/create/app-*",
					"/v1/key/generate/app-*",
					"/v1/key/decrypt/app-*",
					"/v1/key/describe/app-*",
					"/v1/status",
				},
				Deny:       []string{"/v1/key/generate/app-old"}, // exact: denies this path only
				Identities: []string{app.identity},
			},
			"auditor": {
				Allow:      []string{"/v1/key/list/*", "/v1/key/describe/*"},
				Deny:       []string{"/v1/key/describe/app-secret"},
				Identities: []string{strings.ToUpper(auditor.identity)}, // identities are compared in lower case
			},
		},
	})
	for _, name := range []string{"app-1", "app-old", "app-secret", "other"} {
		mustOK(t, do(t, ts.client(t, &admin), http.MethodPost, ts.url+"/v1/key/create/"+name, nil), nil)
	}

	clients := map[string]*http.Client{
		"admin":    ts.client(t, &admin),
		"app":      ts.client(t, &app),
		"auditor":  ts.client(t, &auditor),
		"stranger": ts.client(t, &stranger),
	}
	for _, tc := range []struct {
		who, method, path string
		want              int
	}{
		{"admin", http.MethodGet, "/v1/key/describe/other", 200},
		{"admin", http.MethodGet, "/v1/metrics", 200},
		{"admin", http.MethodDelete, "/v1/key/delete/other", 200},

		{"app", http.MethodPost, "/v1/key/generate/app-1", 200},
		{"app", http.MethodPost, "/v1/key/generate/app-secret", 200},
		{"app", http.MethodPost, "/v1/key/generate/app-old", 403},
		{"app", http.MethodPost, "/v1/key/generate/app-older", 404}, // allowed; no such key
		{"app", http.MethodPost, "/v1/key/generate/other", 403},
		{"app", http.MethodPost, "/v1/key/create/app-2", 200},
		{"app", http.MethodPost, "/v1/key/create/other-2", 403},
		{"app", http.MethodDelete, "/v1/key/delete/app-1", 403},
		{"app", http.MethodGet, "/v1/key/list/*", 403},
		{"app", http.MethodGet, "/v1/status", 200},
		{"app", http.MethodGet, "/v1/status/", 404}, // exact pattern; no such route either
		{"app", http.MethodGet, "/v1/metrics", 403},
		{"app", http.MethodGet, "/version", 200},                   // needs no authorisation
		{"app", http.MethodGet, "/v1/identity/self/describe", 200}, // any known certificate

		{"auditor", http.MethodGet, "/v1/key/list/*", 200},
		{"auditor", http.MethodGet, "/v1/key/describe/app-1", 200},
		{"auditor", http.MethodGet, "/v1/key/describe/app-secret", 403},
		{"auditor", http.MethodPost, "/v1/key/generate/app-1", 403},

		{"stranger", http.MethodGet, "/v1/status", 403},
		{"stranger", http.MethodPost, "/v1/key/generate/app-1", 403},
		{"stranger", http.MethodGet, "/version", 200},
	} {
		t.Run(tc.who+" "+tc.method+" "+tc.path, func(t *testing.T) {
			a := do(t, clients[tc.who], tc.method, ts.url+tc.path, nil)
			if a.status != tc.want {
				t.Fatalf("status = %d, want %d (%s)", a.status, tc.want, a.body)
			}
			if a.status == http.StatusForbidden {
				if got, want := a.message(t), "not authorized: insufficient permissions"; got != want {
					t.Errorf("message = %q, want %q", got, want)
				}
			}
		})
	}
}

// Authorisation happens before the handler: a refused request changes
// nothing and learns nothing about keys.
func TestRefusedRequestsDoNotReachTheKMS(t *testing.T) {
	admin := newClientCert(t)
	stranger := newClientCert(t)
	ts := startServer(t, Config{AdminIdentity: admin.identity})
	for _, path := range []string{"/v1/key/create/k", "/v1/key/create/-invalid-"} {
		a := do(t, ts.client(t, &stranger), http.MethodPost, ts.url+path, nil)
		if a.status != http.StatusForbidden {
			t.Errorf("stranger POST %s: status %d, want 403", path, a.status)
		}
	}
	if got := do(t, ts.client(t, &admin), http.MethodGet, ts.url+"/v1/key/describe/k", nil).status; got != http.StatusNotFound {
		t.Errorf("describe k after a refused create: status %d, want 404", got)
	}
}

func TestPatternMatching(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v1/status", "/v1/status", true},
		{"/v1/status", "/v1/status/", false},
		{"/v1/key/generate/*", "/v1/key/generate/k", true},
		{"/v1/key/generate/*", "/v1/key/generate/", true},
		{"/v1/key/generate/*", "/v1/key/generate", false},
		{"/v1/key/generate/my-*", "/v1/key/generate/my-key", true},
		{"/v1/key/generate/my-*", "/v1/key/generate/mykey", false},
		{"/v1/key/*", "/v1/key/delete/k", true},
		{"/v1/key/*/k", "/v1/key/delete/k", false}, // only a trailing '*' is special
		{"*", "/anything", true},
		{"", "", false},
	} {
		if got := matchPattern(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}
