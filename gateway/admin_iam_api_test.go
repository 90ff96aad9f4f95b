package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/internal/madmincrypt"
)

// adminResponse is one admin API answer.
type adminResponse struct {
	status int
	body   []byte
}

func (r adminResponse) code() string {
	var e struct{ Code string }
	_ = json.Unmarshal(r.body, &e)
	return e.Code
}

// admin sends an admin API request as accessKey; a body is encrypted under
// secret when encrypt is set, as madmin-go does.
func (g *testGateway) admin(accessKey, secret, method, target string, body []byte, encrypt bool) adminResponse {
	g.t.Helper()
	if encrypt {
		var err error
		if body, err = madmincrypt.Encrypt(secret, body); err != nil {
			g.t.Fatal(err)
		}
	}
	r := httptest.NewRequestWithContext(g.t.Context(), method, "http://s3.test"+target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/octet-stream")
	res := g.doSigned(r, accessKey, secret, body)
	return adminResponse{res.status, res.body}
}

func (g *testGateway) doSigned(r *http.Request, accessKey, secret string, body []byte) *s3Response {
	g.t.Helper()
	sum := sha256.Sum256(body)
	r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	r.ContentLength = int64(len(body))
	return g.serve(signV4(r, accessKey, secret))
}

// rootAdmin is admin as the root user, failing the test unless the answer
// has status want; it returns the (decrypted, if decrypt) body.
func (g *testGateway) rootAdmin(method, target string, body any, encrypt bool, want int, decrypt bool) []byte {
	g.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	default:
		data, _ = json.Marshal(b)
	}
	res := g.admin(testRoot, testPassword, method, target, data, encrypt)
	if res.status != want {
		g.t.Fatalf("%s %s: %d %s, want %d", method, target, res.status, res.body, want)
	}
	if decrypt {
		plain, err := madmincrypt.Decrypt(testPassword, res.body)
		if err != nil {
			g.t.Fatalf("%s %s: decrypt the answer: %v", method, target, err)
		}
		return plain
	}
	return res.body
}

func TestAdminIAMAPI(t *testing.T) {
	g := newTestGateway(t, func(c *Config) {
		readonly, _ := policy.Builtin("readonly")
		c.Credentials = StaticCredentials{"static": {AccessKey: "static", SecretKey: "static-secret", Policies: []*policy.Policy{readonly}, PolicyNames: []string{"readonly"}}}
	})
	g.put(testBucket, "o.txt", []byte("hello"))
	get := func(ak, sk string) *s3Response {
		return g.doAs(ak, sk, http.MethodGet, objectTarget(testBucket, "o.txt", ""), nil)
	}
	put := func(ak, sk string) *s3Response {
		return g.doAs(ak, sk, http.MethodPut, objectTarget(testBucket, "new-"+ak, ""), []byte("x"))
	}

	g.rootAdmin(http.MethodPut, "/minio/admin/v3/add-user?accessKey=alice", addOrUpdateUserReq{SecretKey: "alice-secret", Status: "enabled"}, true, http.StatusOK, false)
	if res := get("alice", "alice-secret"); res.status != http.StatusForbidden || res.code() != "AccessDenied" {
		t.Fatalf("GET as alice without a policy: %v, want AccessDenied", res)
	}
	g.rootAdmin(http.MethodPost, "/minio/admin/v3/idp/builtin/policy/attach", policyAssociationReq{Policies: []string{"readonly"}, User: "alice"}, true, http.StatusOK, true)
	if res := get("alice", "alice-secret"); res.status != http.StatusOK {
		t.Fatalf("GET as alice with readonly: %v", res)
	}
	if res := put("alice", "alice-secret"); res.code() != "AccessDenied" {
		t.Fatalf("PUT as alice with readonly: %v, want AccessDenied", res)
	}

	t.Run("listings and infos answer madmin-go's documents", func(t *testing.T) {
		var users map[string]userInfo
		if err := json.Unmarshal(g.rootAdmin(http.MethodGet, "/minio/admin/v3/list-users", nil, false, http.StatusOK, true), &users); err != nil {
			t.Fatal(err)
		}
		if u := users["alice"]; u.Status != "enabled" || u.PolicyName != "readonly" || u.SecretKey != "" {
			t.Errorf("list-users alice: %+v", u)
		}
		var info userInfo
		_ = json.Unmarshal(g.rootAdmin(http.MethodGet, "/minio/admin/v3/user-info?accessKey=static", nil, false, http.StatusOK, false), &info)
		if info.PolicyName != "readonly" || info.Status != "enabled" {
			t.Errorf("user-info of a static user: %+v", info)
		}
		var pinfo struct {
			PolicyName string
			Policy     json.RawMessage
		}
		_ = json.Unmarshal(g.rootAdmin(http.MethodGet, "/minio/admin/v3/info-canned-policy?name=readonly&v=2", nil, false, http.StatusOK, false), &pinfo)
		if pinfo.PolicyName != "readonly" || !bytes.Contains(pinfo.Policy, []byte("s3:GetObject")) {
			t.Errorf("info-canned-policy v2: %+v", pinfo)
		}
	})

	t.Run("errors carry MinIO's codes", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, target string
			body                 any
			encrypt              bool
			wantStatus           int
			wantCode             string
		}{
			{"adding the root user", http.MethodPut, "/minio/admin/v3/add-user?accessKey=" + testRoot, addOrUpdateUserReq{SecretKey: "whatever-secret"}, true, 403, "XMinioInvalidIAMCredentials"},
			{"changing a configuration-file user", http.MethodPut, "/minio/admin/v3/add-user?accessKey=static", addOrUpdateUserReq{SecretKey: "whatever-secret"}, true, 403, "XMinioIAMActionNotAllowed"},
			{"a short secret", http.MethodPut, "/minio/admin/v3/add-user?accessKey=zed", addOrUpdateUserReq{SecretKey: "short"}, true, 400, "XMinioAdminInvalidSecretKey"},
			{"a body not encrypted", http.MethodPut, "/minio/admin/v3/add-user?accessKey=zed", addOrUpdateUserReq{SecretKey: "whatever-secret"}, false, 400, "XMinioAdminConfigBadJSON"},
			{"removing a missing user", http.MethodDelete, "/minio/admin/v3/remove-user?accessKey=nobody", nil, false, 404, "XMinioAdminNoSuchUser"},
			{"attaching a missing policy", http.MethodPost, "/minio/admin/v3/idp/builtin/policy/attach", policyAssociationReq{Policies: []string{"nope"}, User: "alice"}, true, 404, "XMinioAdminNoSuchPolicy"},
			{"attaching what is attached", http.MethodPost, "/minio/admin/v3/idp/builtin/policy/attach", policyAssociationReq{Policies: []string{"readonly"}, User: "alice"}, true, 400, "XMinioAdminPolicyChangeAlreadyApplied"},
			{"a malformed policy", http.MethodPut, "/minio/admin/v3/add-canned-policy?name=bad", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObjekt"],"Resource":["arn:aws:s3:::*"]}]}`, false, 400, "MalformedPolicy"},
			{"a policy name with a comma", http.MethodPut, "/minio/admin/v3/add-canned-policy?name=a,b", `{}`, false, 400, "PolicyInvalidName"},
			{"removing a policy in use", http.MethodDelete, "/minio/admin/v3/remove-canned-policy?name=readonly", nil, false, 403, "XMinioIAMActionNotAllowed"},
			{"info of a missing policy", http.MethodGet, "/minio/admin/v3/info-canned-policy?name=nope", nil, false, 404, "XMinioAdminNoSuchPolicy"},
			{"a missing access key", http.MethodGet, "/minio/admin/v3/info-service-account?accessKey=nope", nil, false, 404, "XMinioInvalidIAMCredentials"},
			{"a group of unknown users", http.MethodPut, "/minio/admin/v3/update-group-members", groupAddRemove{Group: "g", Members: []string{"nobody"}}, false, 404, "XMinioAdminNoSuchUser"},
			{"a missing group", http.MethodGet, "/minio/admin/v3/group?group=nope", nil, false, 404, "XMinioAdminNoSuchGroup"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var data []byte
				if s, ok := tc.body.(string); ok {
					data = []byte(s)
				} else if tc.body != nil {
					data, _ = json.Marshal(tc.body)
				}
				res := g.admin(testRoot, testPassword, tc.method, tc.target, data, tc.encrypt)
				if res.status != tc.wantStatus || res.code() != tc.wantCode {
					t.Errorf("got %d %s, want %d %s", res.status, res.body, tc.wantStatus, tc.wantCode)
				}
			})
		}
	})

	t.Run("a policy in use cannot be removed", func(t *testing.T) {
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/add-canned-policy?name=mine", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::bkt/*"]}]}`, false, http.StatusOK, false)
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/set-user-or-group-policy?policyName=readonly,mine&userOrGroup=alice&isGroup=false", nil, false, http.StatusOK, false)
		if res := g.admin(testRoot, testPassword, http.MethodDelete, "/minio/admin/v3/remove-canned-policy?name=mine", nil, false); res.status != 400 || res.code() != "XMinioIAMPolicyInUse" {
			t.Errorf("remove a policy in use: %d %s", res.status, res.body)
		}
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/set-user-or-group-policy?policyName=readonly&userOrGroup=alice&isGroup=false", nil, false, http.StatusOK, false)
		g.rootAdmin(http.MethodDelete, "/minio/admin/v3/remove-canned-policy?name=mine", nil, false, http.StatusOK, false)
	})

	t.Run("only identities with the admin action manage IAM", func(t *testing.T) {
		res := g.admin("alice", "alice-secret", http.MethodPut, "/minio/admin/v3/add-user?accessKey=mallory", []byte(`{"secretKey":"mallory-secret"}`), true)
		if res.status != http.StatusForbidden || res.code() != "AccessDenied" {
			t.Errorf("add-user as alice: %d %s, want AccessDenied", res.status, res.body)
		}
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/add-user?accessKey=admin", addOrUpdateUserReq{SecretKey: "admin-secret", Policy: "consoleAdmin"}, true, http.StatusOK, false)
		res = g.admin("admin", "admin-secret", http.MethodPut, "/minio/admin/v3/add-user?accessKey=bob", []byte(`{"secretKey":"bob-secret-1","status":"enabled"}`), true)
		if res.status != http.StatusOK {
			t.Errorf("add-user as a consoleAdmin user: %d %s", res.status, res.body)
		}
	})

	t.Run("access keys inherit or narrow, expire, and die with their user", func(t *testing.T) {
		narrow := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::*"]}]}`)
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/add-user?accessKey=carol", addOrUpdateUserReq{SecretKey: "carol-secret", Policy: "readwrite"}, true, http.StatusOK, false)
		var created struct{ Credentials adminCredentials }
		_ = json.Unmarshal(g.rootAdmin(http.MethodPut, "/minio/admin/v3/add-service-account", addServiceAccountReq{TargetUser: "carol", Policy: narrow}, true, http.StatusOK, true), &created)
		ak, sk := created.Credentials.AccessKey, created.Credentials.SecretKey
		if len(ak) != 20 || len(sk) != 40 {
			t.Fatalf("generated credentials %q/%d characters", ak, len(sk))
		}
		if res := get(ak, sk); res.code() != "AccessDenied" {
			t.Errorf("GET with a PUT-only key of a readwrite user: %v, want AccessDenied", res)
		}
		if res := put(ak, sk); res.status != http.StatusOK {
			t.Errorf("PUT with the narrowed key: %v", res)
		}
		if res := g.doAs(ak, sk, http.MethodGet, "/", nil); res.code() != "AccessDenied" {
			t.Errorf("ListBuckets with a key narrowed to PUTs: %v, want AccessDenied (its parent may list)", res)
		}
		exp := time.Now().Add(time.Hour)
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/add-service-account", addServiceAccountReq{TargetUser: "carol", AccessKey: "carol-brief", SecretKey: "carol-brief-secret", Expiration: &exp}, true, http.StatusOK, true)
		if res := get("carol-brief", "carol-brief-secret"); res.status != http.StatusOK {
			t.Errorf("GET with the inheriting key: %v", res)
		}
		g.s.iam.now = func() time.Time { return exp }
		if res := get("carol-brief", "carol-brief-secret"); res.code() != "InvalidAccessKeyId" {
			t.Errorf("GET with the expired key: %v, want InvalidAccessKeyId", res)
		}
		g.s.iam.now = time.Now
		var list struct{ Accounts []serviceAccountInfo }
		_ = json.Unmarshal(g.rootAdmin(http.MethodGet, "/minio/admin/v3/list-service-accounts?user=carol", nil, false, http.StatusOK, true), &list)
		if len(list.Accounts) != 2 {
			t.Errorf("list-service-accounts: %+v, want 2", list)
		}
		g.rootAdmin(http.MethodDelete, "/minio/admin/v3/remove-user?accessKey=carol", nil, false, http.StatusOK, false)
		if res := put(ak, sk); res.code() != "InvalidAccessKeyId" {
			t.Errorf("PUT with a removed user's key: %v, want InvalidAccessKeyId", res)
		}
		if _, ok := g.s.iam.state().ServiceAccounts["carol-brief"]; ok {
			t.Error("the removed user's access key is still stored")
		}
	})

	t.Run("a user manages its own access keys without admin actions, and no one else's", func(t *testing.T) {
		res := g.admin("alice", "alice-secret", http.MethodPut, "/minio/admin/v3/add-service-account", []byte(`{"accessKey":"alice-own","secretKey":"alice-own-secret"}`), true)
		if res.status != http.StatusOK {
			t.Fatalf("alice creates her own key: %d %s", res.status, res.body)
		}
		if res := get("alice-own", "alice-own-secret"); res.status != http.StatusOK {
			t.Errorf("GET with alice's own key: %v", res)
		}
		res = g.admin("alice", "alice-secret", http.MethodPut, "/minio/admin/v3/add-service-account", []byte(`{"targetUser":"admin","accessKey":"stolen","secretKey":"stolen-secret"}`), true)
		if res.status != http.StatusForbidden || res.code() != "AccessDenied" {
			t.Errorf("alice creates a key for admin: %d %s, want AccessDenied", res.status, res.body)
		}
		if res := g.admin("alice", "alice-secret", http.MethodGet, "/minio/admin/v3/list-service-accounts?user=admin", nil, false); res.code() != "AccessDenied" {
			t.Errorf("alice lists admin's keys: %d %s, want AccessDenied", res.status, res.body)
		}
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/add-service-account", addServiceAccountReq{TargetUser: "admin", AccessKey: "admin-key", SecretKey: "admin-key-secret"}, true, http.StatusOK, true)
		if res := g.admin("alice", "alice-secret", http.MethodDelete, "/minio/admin/v3/delete-service-account?accessKey=admin-key", nil, false); res.status != http.StatusNotFound {
			t.Errorf("alice deletes admin's key: %d %s, want 404", res.status, res.body)
		}
		// A key of hers may not mint keys: it could shed its own narrowing.
		res = g.admin("alice-own", "alice-own-secret", http.MethodPut, "/minio/admin/v3/add-service-account", []byte(`{"accessKey":"alice-minted","secretKey":"alice-minted-secret"}`), true)
		if res.status != http.StatusForbidden || res.code() != "AccessDenied" {
			t.Errorf("alice's key creates a key: %d %s, want AccessDenied", res.status, res.body)
		}
		if res := g.admin("alice", "alice-secret", http.MethodDelete, "/minio/admin/v3/delete-service-account?accessKey=alice-own", nil, false); res.status != http.StatusNoContent {
			t.Errorf("alice deletes her own key: %d %s", res.status, res.body)
		}
		// An explicit Deny of the action takes self-service away (MinIO's DenyOnly).
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/add-canned-policy?name=nokeys", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["admin:CreateServiceAccount"]}]}`, false, http.StatusOK, false)
		g.rootAdmin(http.MethodPost, "/minio/admin/v3/idp/builtin/policy/attach", policyAssociationReq{Policies: []string{"nokeys"}, User: "alice"}, true, http.StatusOK, true)
		res = g.admin("alice", "alice-secret", http.MethodPut, "/minio/admin/v3/add-service-account", []byte(`{"accessKey":"alice-two","secretKey":"alice-two-secret"}`), true)
		if res.status != http.StatusForbidden || res.code() != "AccessDenied" {
			t.Errorf("alice under an explicit Deny: %d %s, want AccessDenied", res.status, res.body)
		}
		g.rootAdmin(http.MethodPost, "/minio/admin/v3/idp/builtin/policy/detach", policyAssociationReq{Policies: []string{"nokeys"}, User: "alice"}, true, http.StatusOK, true)
	})

	t.Run("temporary credentials get no self-service on access keys", func(t *testing.T) {
		// A session narrowed to reading must not mint an unnarrowed key
		// for its parent.
		narrow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::*"]}]}`
		temp := g.mustAssumeRole(aws.Credentials{AccessKeyID: "alice", SecretAccessKey: "alice-secret"}, assumeRoleForm("Policy", narrow))
		body, err := madmincrypt.Encrypt(temp.SecretAccessKey, []byte(`{"accessKey":"alice-sts-minted","secretKey":"alice-sts-minted-secret"}`))
		if err != nil {
			t.Fatal(err)
		}
		res := g.doTemp(temp, http.MethodPut, "/minio/admin/v3/add-service-account", body)
		if res.status != http.StatusForbidden || stsErrorCode(res) != "AccessDenied" && !strings.Contains(string(res.body), "AccessDenied") {
			t.Errorf("a narrowed session of alice creates a key: %d %s, want 403 AccessDenied", res.status, res.body)
		}
		if _, ok := g.s.iam.state().ServiceAccounts["alice-sts-minted"]; ok {
			t.Error("a temporary credential minted an access key")
		}
	})
	t.Run("disabled users are refused as MinIO refuses them", func(t *testing.T) {
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/set-user-status?accessKey=alice&status=disabled", nil, false, http.StatusOK, false)
		if res := get("alice", "alice-secret"); res.status != http.StatusForbidden || res.code() != "InvalidAccessKeyId" {
			t.Errorf("GET as disabled alice: %v, want InvalidAccessKeyId", res)
		}
		g.rootAdmin(http.MethodPut, "/minio/admin/v3/set-user-status?accessKey=alice&status=enabled", nil, false, http.StatusOK, false)
	})

	t.Run("the backend holds no secret in clear", func(t *testing.T) {
		keys := g.be.keys(g.s.cfg.SystemBucket)
		if len(keys) == 0 {
			t.Fatal("no system records")
		}
		for _, k := range keys {
			body, _, _ := g.be.object(g.s.cfg.SystemBucket, k)
			for _, secret := range []string{"alice-secret", "admin-secret", "bob-secret-1", "carol-brief-secret"} {
				if bytes.Contains(body, []byte(secret)) || strings.Contains(k, secret) {
					t.Errorf("system record %s holds a secret in clear", k)
				}
			}
		}
	})
}

func TestIAMViewFailsClosed(t *testing.T) {
	st := newIAMState()
	st.Users["u"] = &iamUser{SecretKey: "u-secret-1", Enabled: true, Policies: []string{"readwrite", "gone"}}
	st.Users["off"] = &iamUser{SecretKey: "off-secret", Enabled: false, Policies: []string{"readwrite"}}
	st.ServiceAccounts["k"] = &iamServiceAccount{Parent: "off", SecretKey: "k-secret-1", Enabled: true}
	v := buildView(st, "", "root", nil, zap.NewNop())
	id := v.keys["u"].id
	args := policy.Args{Account: "u", Action: "s3:GetObject", Bucket: "b", Object: "o"}
	denied := false
	for _, p := range id.Policies {
		denied = denied || p.Evaluate(args) == policy.Denied
	}
	if !denied {
		t.Errorf("a user mapped to a missing policy is not denied: %v", id.PolicyNames)
	}
	if _, ok := v.keys["off"]; ok {
		t.Error("a disabled user has a key")
	}
	if _, ok := v.keys["k"]; ok {
		t.Error("an access key of a disabled user has a key")
	}
}

// TestIAMReplicasShareOneState runs two gateways over one backend and KMS:
// a change through one reaches the other at its next refresh, and
// concurrent changes through both all survive (compare-and-swap).
func TestIAMReplicasShareOneState(t *testing.T) {
	a := newTestGateway(t, nil)
	u, _ := url.Parse(a.srv.URL)
	b, err := New(Config{
		Backend:  BackendConfig{URL: u, AccessKey: "backend-user", SecretKey: "backend-secret"},
		RootUser: testRoot, RootPassword: testPassword, KMS: a.kms, DefaultKey: "default-key", IAMRefreshInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	gb := &testGateway{t: t, s: b, be: a.be, srv: a.srv, kms: a.kms}

	a.rootAdmin(http.MethodPut, "/minio/admin/v3/add-user?accessKey=rita", addOrUpdateUserReq{SecretKey: "rita-secret", Policy: "readwrite"}, true, http.StatusOK, false)
	if _, ok := b.iam.Lookup("rita"); ok {
		t.Fatal("replica B knows rita before refreshing")
	}
	if err := b.iam.refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.iam.Lookup("rita"); !ok {
		t.Fatal("replica B does not know rita after refreshing")
	}
	calls := len(a.be.calls())
	if err := b.iam.refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := a.be.calls()[calls:]; len(got) != 1 || got[0].Method != http.MethodHead {
		t.Errorf("an idle refresh made %v, want one HEAD", got)
	}

	var wg sync.WaitGroup
	for i, g := range []*testGateway{a, gb, a, gb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "user" + string(rune('0'+i))
			err := g.s.iam.update(t.Context(), func(st *iamState) error {
				st.Users[name] = &iamUser{SecretKey: name + "-secret", Enabled: true}
				return nil
			})
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	wg.Wait()
	for _, g := range []*testGateway{a, gb} {
		if err := g.s.iam.refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			if _, ok := g.s.iam.Lookup("user" + string(rune('0'+i))); !ok {
				t.Errorf("user%d lost in a concurrent change", i)
			}
		}
	}
}

// TestIAMRefreshLoopPicksUpChanges: a replica's background refresh applies
// another replica's change within a few intervals.
func TestIAMRefreshLoopPicksUpChanges(t *testing.T) {
	a := newTestGateway(t, nil)
	u, _ := url.Parse(a.srv.URL)
	b, err := New(Config{
		Backend:  BackendConfig{URL: u, AccessKey: "backend-user", SecretKey: "backend-secret"},
		RootUser: testRoot, RootPassword: testPassword, KMS: a.kms, DefaultKey: "default-key", IAMRefreshInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.rootAdmin(http.MethodPut, "/minio/admin/v3/add-user?accessKey=rita", addOrUpdateUserReq{SecretKey: "rita-secret"}, true, http.StatusOK, false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := b.iam.Lookup("rita"); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("replica B's refresh loop did not pick up rita within 5 s (interval 20 ms)")
		}
		time.Sleep(10 * time.Millisecond) // polling the condition under test
	}
}
