package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3seal/s3seal/internal/madmincrypt"
)

// iamGateway serves the admin IAM calls of the users page as MinIO does
// (encrypted bodies under the requester's secret, "secret-key" in these
// tests) and everything else as fakeGateway. Access key "reader" is
// refused every admin call with AccessDenied.
type iamGateway struct {
	fakeGateway
	mu       sync.Mutex
	users    map[string]iamUser
	secrets  map[string]string
	lastBody []byte // the last request body as sent (still encrypted)
}

func newIAMGateway() *iamGateway {
	return &iamGateway{
		users:   map[string]iamUser{"alice": {PolicyName: "readonly,diagnostics", Status: "enabled", MemberOf: []string{"ops"}}, "bob": {Status: "disabled"}},
		secrets: map[string]string{},
	}
}

func adminError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Code": code, "Message": msg})
}

func (g *iamGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, adminV3) {
		g.fakeGateway.ServeHTTP(w, r)
		return
	}
	ak := ""
	if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		ak = m[1]
	}
	g.fakeGateway.mu.Lock()
	g.fakeGateway.requests = append(g.fakeGateway.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" by "+ak)
	g.fakeGateway.mu.Unlock()
	if ak == "reader" {
		adminError(w, http.StatusForbidden, "AccessDenied", "Access Denied.")
		return
	}
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastBody = body
	decrypt := func(v any) bool {
		plain, err := madmincrypt.Decrypt("secret-key", body)
		if err != nil || json.Unmarshal(plain, v) != nil {
			adminError(w, http.StatusBadRequest, "XMinioAdminConfigBadJSON", "JSON configuration provided is of incorrect format")
			return false
		}
		return true
	}
	q := r.URL.Query()
	user := q.Get("accessKey")
	switch strings.TrimPrefix(r.URL.Path, adminV3) {
	case "list-users":
		plain, _ := json.Marshal(g.users)
		enc, _ := madmincrypt.Encrypt("secret-key", plain)
		_, _ = w.Write(enc)
	case "list-canned-policies":
		_, _ = io.WriteString(w, `{"readonly":{},"readwrite":{},"diagnostics":{}}`)
	case "add-user":
		var req struct{ SecretKey, Policy, Status string }
		if !decrypt(&req) {
			return
		}
		if len(req.SecretKey) < 8 {
			adminError(w, http.StatusBadRequest, "XMinioAdminInvalidSecretKey", "The secret key is invalid.")
			return
		}
		g.users[user] = iamUser{PolicyName: req.Policy, Status: req.Status}
		g.secrets[user] = req.SecretKey
	case "set-user-status":
		u, ok := g.users[user]
		if !ok {
			adminError(w, http.StatusNotFound, "XMinioAdminNoSuchUser", "The specified user does not exist.")
			return
		}
		u.Status = q.Get("status")
		g.users[user] = u
	case "remove-user":
		delete(g.users, user)
	case "idp/builtin/policy/attach", "idp/builtin/policy/detach":
		if r.Header.Get("Content-Type") != "application/octet-stream" {
			adminError(w, http.StatusBadRequest, "BadRequest", "400 BadRequest")
			return
		}
		var req struct {
			Policies []string
			User     string
		}
		if !decrypt(&req) {
			return
		}
		u := g.users[req.User]
		list := splitList(u.PolicyName)
		if strings.HasSuffix(r.URL.Path, "attach") {
			list = append(list, req.Policies...)
		} else {
			list = slicesWithout(list, req.Policies[0])
		}
		u.PolicyName = strings.Join(list, ",")
		g.users[req.User] = u
		enc, _ := madmincrypt.Encrypt("secret-key", []byte(`{"updatedAt":"2026-12-04T00:00:00Z"}`))
		_, _ = w.Write(enc)
	default:
		adminError(w, http.StatusNotFound, "NotImplemented", "")
	}
}

func slicesWithout(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func newUsersHarness(t *testing.T) (*consoleHarness, *iamGateway) {
	h := newConsoleHarness(t)
	gw := newIAMGateway()
	c, err := New(Config{Gateway: gw, Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h, gw
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUsersPageListsUsersAndPolicies(t *testing.T) {
	h, _ := newUsersHarness(t)
	session, _ := h.login("operator")
	resp := h.do(http.MethodGet, "/users", nil, session)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<a href="/users" aria-current="page">Users</a>`,
		`<tr data-user="alice">`, `<span class="badge enabled">enabled</span>`, `<span class="policy">readonly</span>`, `<span class="policy">diagnostics</span>`, `ops`,
		`<tr data-user="bob">`, `<span class="badge disabled">disabled</span>`, `aria-label="Enable bob"`,
		`<option>readwrite</option>`, `<li>diagnostics</li>`, `<label for="user-secret-key">Secret key</label>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the users page lacks %q", want)
		}
	}
}

func TestCreateUserSendsTheSecretEncryptedAndNeverShowsIt(t *testing.T) {
	h, gw := newUsersHarness(t)
	session, token := h.login("operator")
	const secret = "carol-secret-123"
	resp := h.do(http.MethodPost, "/users", url.Values{"csrf": {token}, "accessKey": {"carol"}, "secretKey": {secret}, "policy": {"readonly"}}, session)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Created user carol with policy readonly.") {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	if got := gw.secrets["carol"]; got != secret {
		t.Errorf("the gateway got secret %q, want %q", got, secret)
	}
	if u := gw.users["carol"]; u.PolicyName != "readonly" || u.Status != "enabled" {
		t.Errorf("the gateway got %+v", u)
	}
	if strings.Contains(string(gw.lastBody), secret) || strings.Contains(string(gw.lastBody), "secretKey") {
		t.Error("add-user's body went unencrypted")
	}
	if strings.Contains(body, secret) || !strings.Contains(body, `<tr data-user="carol">`) {
		t.Error("the page shows the secret or does not list carol")
	}

	// A refused secret: the error in words, the form keeps the access key
	// but never the secret.
	resp = h.do(http.MethodPost, "/users", url.Values{"csrf": {token}, "accessKey": {"dave"}, "secretKey": {"short"}}, session)
	body = readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "AddUser dave: XMinioAdminInvalidSecretKey: The secret key is invalid.") {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, `value="short"`) || !strings.Contains(body, `value="dave"`) {
		t.Error("the failed form shows the secret back, or lost the access key")
	}
}

func TestUserActionsReachTheirAdminEndpoints(t *testing.T) {
	h, gw := newUsersHarness(t)
	session, token := h.login("operator")
	post := func(path string, form url.Values) string {
		t.Helper()
		form.Set("csrf", token)
		resp := h.do(http.MethodPost, path, form, session)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: status %d:\n%s", path, resp.StatusCode, body)
		}
		return body
	}
	if body := post("/users/status", url.Values{"user": {"alice"}, "status": {"disabled"}}); !strings.Contains(body, "User alice is disabled.") || gw.users["alice"].Status != "disabled" {
		t.Errorf("disable: %+v", gw.users["alice"])
	}
	if body := post("/users/status", url.Values{"user": {"alice"}, "status": {"enabled"}}); !strings.Contains(body, "User alice is enabled.") || gw.users["alice"].Status != "enabled" {
		t.Errorf("enable: %+v", gw.users["alice"])
	}
	post("/users/policy", url.Values{"user": {"bob"}, "policy": {"readwrite"}, "action": {"attach"}})
	if gw.users["bob"].PolicyName != "readwrite" {
		t.Errorf("attach: %+v", gw.users["bob"])
	}
	post("/users/policy", url.Values{"user": {"alice"}, "policy": {"readonly"}, "action": {"detach"}})
	if gw.users["alice"].PolicyName != "diagnostics" {
		t.Errorf("detach: %+v", gw.users["alice"])
	}
	post("/users/remove", url.Values{"user": {"bob"}})
	if _, ok := gw.users["bob"]; ok {
		t.Error("bob was not removed")
	}
	want := []string{
		"PUT /minio/admin/v3/set-user-status?accessKey=alice&status=disabled by operator",
		"POST /minio/admin/v3/idp/builtin/policy/attach? by operator",
		"DELETE /minio/admin/v3/remove-user?accessKey=bob by operator",
	}
	calls := strings.Join(gw.calls(), "\n")
	for _, w := range want {
		if !strings.Contains(calls, w) {
			t.Errorf("no call %q in\n%s", w, calls)
		}
	}
}

func TestUsersPageShowsTheGatewaysRefusal(t *testing.T) {
	h, gw := newUsersHarness(t)
	session, token := h.login("reader")
	resp := h.do(http.MethodGet, "/users", nil, session)
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "ListUsers: AccessDenied: Access Denied.") {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	resp = h.do(http.MethodPost, "/users/remove", url.Values{"csrf": {token}, "user": {"alice"}}, session)
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "RemoveUser alice: AccessDenied: Access Denied.") {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	if _, ok := gw.users["alice"]; !ok {
		t.Error("alice was removed")
	}
	// Without the session's token nothing reaches the gateway.
	before := len(gw.calls())
	resp = h.do(http.MethodPost, "/users", url.Values{"accessKey": {"eve"}, "secretKey": {"eve-secret-1"}}, session)
	if resp.StatusCode != http.StatusForbidden || len(gw.calls()) != before {
		t.Fatalf("a create-user form without the CSRF token: status %d, calls %v", resp.StatusCode, gw.calls()[before:])
	}
}
