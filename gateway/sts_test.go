package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/s3seal/s3seal/gateway/policy"
)

const (
	stsUser       = "stsuser"
	stsUserSecret = "stsuser-secret-0001"
)

// newSTSGateway is a test gateway with one readwrite user, logging at
// debug level into the returned observer.
func newSTSGateway(t *testing.T) (*testGateway, StaticCredentials, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	users, err := NewStaticCredentials([]*Identity{{AccessKey: stsUser, SecretKey: stsUserSecret,
		Policies: []*policy.Policy{builtinPolicy(t, "readwrite")}}})
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGateway(t, func(c *Config) {
		c.Credentials = users
		c.Logger = zap.New(core)
	})
	return g, users, logs
}

// assumeRole sends an AssumeRole form signed the way aws-sdk-go-v2's STS
// client signs it: service sts, the body's hash signed but not sent.
func (g *testGateway) assumeRole(creds aws.Credentials, form url.Values) *s3Response {
	g.t.Helper()
	body := form.Encode()
	r := httptest.NewRequestWithContext(g.t.Context(), http.MethodPost, "http://s3.test/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "sts", testRegion, time.Now()); err != nil {
		g.t.Fatal(err)
	}
	return g.serve(r)
}

func builtinPolicy(t *testing.T, name string) *policy.Policy {
	t.Helper()
	p, ok := policy.Builtin(name)
	if !ok {
		t.Fatalf("no builtin policy %s", name)
	}
	return p
}

func assumeRoleForm(extra ...string) url.Values {
	f := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

type issuedCredentials struct {
	AccessKeyID     string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	SecretAccessKey string `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
	SessionToken    string `xml:"AssumeRoleResult>Credentials>SessionToken"`
	Expiration      string `xml:"AssumeRoleResult>Credentials>Expiration"`
	RequestID       string `xml:"ResponseMetadata>RequestId"`
}

func (g *testGateway) mustAssumeRole(creds aws.Credentials, form url.Values) issuedCredentials {
	g.t.Helper()
	res := g.assumeRole(creds, form)
	if res.status != http.StatusOK {
		g.t.Fatalf("AssumeRole: %v", res)
	}
	var c issuedCredentials
	if err := xml.Unmarshal(res.body, &c); err != nil {
		g.t.Fatalf("AssumeRole response %s: %v", res.body, err)
	}
	return c
}

// doTemp sends a request signed with temporary credentials.
func (g *testGateway) doTemp(c issuedCredentials, method, target string, body []byte) *s3Response {
	g.t.Helper()
	r := httptest.NewRequestWithContext(g.t.Context(), method, "http://s3.test"+target, bytes.NewReader(body))
	sum := sha256.Sum256(body)
	r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "s3", testRegion, time.Now()); err != nil {
		g.t.Fatal(err)
	}
	return g.serve(r)
}

func stsErrorCode(res *s3Response) string {
	var e struct {
		Code string `xml:"Error>Code"`
	}
	_ = xml.Unmarshal(res.body, &e)
	return e.Code
}

var (
	rootCreds = aws.Credentials{AccessKeyID: testRoot, SecretAccessKey: testPassword}
	userCreds = aws.Credentials{AccessKeyID: stsUser, SecretAccessKey: stsUserSecret}
)

func TestAssumeRoleIssuesCredentialsThatWork(t *testing.T) {
	g, _, logs := newSTSGateway(t)
	for _, parent := range []aws.Credentials{rootCreds, userCreds} {
		t.Run(parent.AccessKeyID, func(t *testing.T) {
			before := time.Now()
			c := g.mustAssumeRole(parent, assumeRoleForm("DurationSeconds", "1800"))
			if len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 || c.SessionToken == "" || c.RequestID == "" {
				t.Fatalf("credentials %+v", c)
			}
			exp, err := time.Parse(time.RFC3339, c.Expiration)
			if err != nil || exp.Before(before.Add(1799*time.Second)) || exp.After(time.Now().Add(1801*time.Second)) {
				t.Errorf("Expiration %q (%v), want 1800 s from now", c.Expiration, err)
			}
			if strings.Contains(c.SessionToken, c.SecretAccessKey) || strings.Contains(c.SessionToken, parent.AccessKeyID) {
				t.Error("the session token shows the secret or the parent in clear")
			}
			key := "from-" + parent.AccessKeyID
			if res := g.doTemp(c, http.MethodPut, objectTarget(testBucket, key, ""), []byte("data")); res.status != http.StatusOK {
				t.Fatalf("PUT with temporary credentials: %v", res)
			}
			if res := g.doTemp(c, http.MethodGet, objectTarget(testBucket, key, ""), nil); res.status != http.StatusOK || string(res.body) != "data" {
				t.Fatalf("GET with temporary credentials: %v", res)
			}
			for _, call := range g.be.calls() {
				if call.Header.Get("X-Amz-Security-Token") != "" || call.Query.Has("X-Amz-Security-Token") {
					t.Fatalf("the session token reached the backend: %s /%s/%s", call.Method, call.Bucket, call.Object)
				}
			}
			for _, e := range logs.All() {
				line := e.Message
				for _, f := range e.Context {
					line += " " + f.String + " " + f.Key
					if err, ok := f.Interface.(error); ok {
						line += err.Error()
					}
				}
				if strings.Contains(line, c.SessionToken) || strings.Contains(line, c.SecretAccessKey) {
					t.Fatalf("a log line holds the token or the secret: %s", line)
				}
			}
		})
	}
	t.Run("default duration is one hour", func(t *testing.T) {
		c := g.mustAssumeRole(userCreds, assumeRoleForm())
		exp, _ := time.Parse(time.RFC3339, c.Expiration)
		if d := time.Until(exp); d < 59*time.Minute || d > 61*time.Minute {
			t.Errorf("Expiration in %v, want 1h", d)
		}
	})
}

func TestSessionPolicyNarrowsTemporaryCredentials(t *testing.T) {
	g, _, _ := newSTSGateway(t)
	g.put(testBucket, "visible", []byte("v"))
	readOnlyOneKey := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + testBucket + `/visible"]}]}`
	for _, parent := range []aws.Credentials{rootCreds, userCreds} {
		t.Run(parent.AccessKeyID, func(t *testing.T) {
			c := g.mustAssumeRole(parent, assumeRoleForm("Policy", readOnlyOneKey))
			if res := g.doTemp(c, http.MethodGet, objectTarget(testBucket, "visible", ""), nil); res.status != http.StatusOK {
				t.Errorf("GET the allowed key: %v", res)
			}
			if res := g.doTemp(c, http.MethodPut, objectTarget(testBucket, "new", ""), []byte("x")); res.code() != "AccessDenied" {
				t.Errorf("PUT outside the session policy: %v, want AccessDenied", res)
			}
			if res := g.doTemp(c, http.MethodGet, "/", nil); res.code() != "AccessDenied" {
				t.Errorf("ListBuckets outside the session policy: %v, want AccessDenied", res)
			}
		})
	}
	t.Run("a session policy cannot widen the parent", func(t *testing.T) {
		users, _ := NewStaticCredentials([]*Identity{{AccessKey: "reader", SecretKey: "reader-secret-1",
			Policies: []*policy.Policy{builtinPolicy(t, "readonly")}}})
		g := newTestGateway(t, func(c *Config) { c.Credentials = users })
		everything := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}`
		c := g.mustAssumeRole(aws.Credentials{AccessKeyID: "reader", SecretAccessKey: "reader-secret-1"}, assumeRoleForm("Policy", everything))
		if res := g.doTemp(c, http.MethodPut, objectTarget(testBucket, "new", ""), []byte("x")); res.code() != "AccessDenied" {
			t.Errorf("PUT by a readonly user's session: %v, want AccessDenied", res)
		}
	})
}

func TestTemporaryCredentialsAreRefused(t *testing.T) {
	g, users, _ := newSTSGateway(t)
	target := objectTarget(testBucket, "k", "")
	t.Run("once expired", func(t *testing.T) {
		c := g.mustAssumeRole(userCreds, assumeRoleForm("DurationSeconds", "900"))
		g.s.now = func() time.Time { return time.Now().Add(899 * time.Second) }
		if res := g.doTemp(c, http.MethodGet, "/", nil); res.status != http.StatusOK {
			t.Errorf("a second before expiry: %v", res)
		}
		g.s.now = func() time.Time { return time.Now().Add(901 * time.Second) }
		defer func() { g.s.now = time.Now }()
		if res := g.doTemp(c, http.MethodGet, "/", nil); res.status != http.StatusBadRequest || res.code() != "ExpiredToken" {
			t.Errorf("after expiry: %v, want 400 ExpiredToken", res)
		}
	})
	c := g.mustAssumeRole(userCreds, assumeRoleForm())
	for _, tc := range []struct {
		name     string
		edit     func(c *issuedCredentials)
		wantCode string
	}{
		{"with an altered token", func(c *issuedCredentials) {
			b := []byte(c.SessionToken)
			b[len(b)/2] ^= 1
			c.SessionToken = string(b)
		}, "InvalidTokenId"},
		{"with a truncated token", func(c *issuedCredentials) { c.SessionToken = c.SessionToken[:len(c.SessionToken)-4] }, "InvalidTokenId"},
		{"with a forged token", func(c *issuedCredentials) { c.SessionToken = "AQ" + strings.Repeat("A", 80) }, "InvalidTokenId"},
		{"with another key's token", func(c *issuedCredentials) {
			c.SessionToken = g.mustAssumeRole(userCreds, assumeRoleForm()).SessionToken
		}, "InvalidTokenId"},
		{"without the token", func(c *issuedCredentials) { c.SessionToken = "" }, "InvalidAccessKeyId"},
		{"a long-term key with a token", func(c *issuedCredentials) {
			c.AccessKeyID, c.SecretAccessKey = stsUser, stsUserSecret
		}, "InvalidTokenId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c
			tc.edit(&c)
			if res := g.doTemp(c, http.MethodGet, target, nil); res.code() != tc.wantCode || res.status != http.StatusForbidden {
				t.Errorf("got %v, want 403 %s", res, tc.wantCode)
			}
		})
	}
	t.Run("once the parent is removed", func(t *testing.T) {
		c := g.mustAssumeRole(userCreds, assumeRoleForm())
		id := users[stsUser]
		delete(users, stsUser)
		defer func() { users[stsUser] = id }()
		if res := g.doTemp(c, http.MethodGet, "/", nil); res.code() != "InvalidAccessKeyId" {
			t.Errorf("got %v, want InvalidAccessKeyId", res)
		}
	})
	t.Run("by AssumeRole itself", func(t *testing.T) {
		creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
		if res := g.assumeRole(creds, assumeRoleForm()); res.status != http.StatusForbidden || stsErrorCode(res) != "AccessDenied" {
			t.Errorf("AssumeRole with temporary credentials: %v, want 403 AccessDenied", res)
		}
	})
}

func TestAssumeRoleRefusesBadRequests(t *testing.T) {
	g, _, _ := newSTSGateway(t)
	for _, tc := range []struct {
		name       string
		creds      aws.Credentials
		form       url.Values
		wantStatus int
		wantCode   string
	}{
		{"wrong Version", userCreds, url.Values{"Action": {"AssumeRole"}, "Version": {"2010-01-01"}}, 400, "MissingParameter"},
		{"another Action", userCreds, assumeRoleForm("Action", "AssumeRoleWithWebIdentity"), 400, "InvalidParameterValue"},
		{"DurationSeconds below 900", userCreds, assumeRoleForm("DurationSeconds", "899"), 400, "InvalidParameterValue"},
		{"DurationSeconds above 365 days", userCreds, assumeRoleForm("DurationSeconds", "31536001"), 400, "InvalidParameterValue"},
		{"DurationSeconds not a number", userCreds, assumeRoleForm("DurationSeconds", "1h"), 400, "InvalidParameterValue"},
		{"a malformed session policy", userCreds, assumeRoleForm("Policy", `{"Statement":"x"}`), 400, "InvalidParameterValue"},
		{"a session policy without Version", userCreds, assumeRoleForm("Policy",
			`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`), 400, "InvalidParameterValue"},
		{"a session policy over 2048 bytes", userCreds, assumeRoleForm("Policy", `{"Version":"2012-10-17","Statement":[{"Sid":"`+
			strings.Repeat("a", 2048)+`","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`), 400, "InvalidParameterValue"},
		{"a wrong secret", aws.Credentials{AccessKeyID: stsUser, SecretAccessKey: "wrong-secret"}, assumeRoleForm(), 403, "AccessDenied"},
		{"an unknown key", aws.Credentials{AccessKeyID: "nobody", SecretAccessKey: "wrong-secret"}, assumeRoleForm(), 403, "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := g.assumeRole(tc.creds, tc.form)
			if res.status != tc.wantStatus || stsErrorCode(res) != tc.wantCode {
				t.Errorf("got %v, want %d %s", res, tc.wantStatus, tc.wantCode)
			}
			if !strings.Contains(string(res.body), `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`) {
				t.Errorf("not an STS error document: %s", res.body)
			}
		})
	}
	t.Run("signed for s3 instead of sts", func(t *testing.T) {
		body := assumeRoleForm().Encode()
		r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "http://s3.test/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(body))
		r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		if res := g.serve(signV4(r, stsUser, stsUserSecret)); res.status != http.StatusForbidden || stsErrorCode(res) != "AccessDenied" {
			t.Errorf("got %v, want 403 AccessDenied", res)
		}
	})
	t.Run("an altered body", func(t *testing.T) {
		body := assumeRoleForm().Encode()
		r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "http://s3.test/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(t.Context(), userCreds, r, hex.EncodeToString(sum[:]), "sts", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		altered := body + "&DurationSeconds=31536000"
		r.Body, r.ContentLength = http.NoBody, int64(len(altered))
		r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(altered)).Body
		if res := g.serve(r); res.status != http.StatusForbidden || stsErrorCode(res) != "AccessDenied" {
			t.Errorf("got %v, want 403 AccessDenied", res)
		}
	})
}

func TestSessionTokenSealing(t *testing.T) {
	s1, _ := newSessionSealer(bytes.Repeat([]byte{1}, 32))
	s2, _ := newSessionSealer(bytes.Repeat([]byte{2}, 32))
	claims := sessionClaims{AccessKey: "AK", SecretKey: "SK", Parent: "alice", Expiry: 1}
	token, err := s1.seal(claims)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s1.open(token)
	if err != nil || got.AccessKey != "AK" || got.SecretKey != "SK" || got.Parent != "alice" || got.Expiry != 1 {
		t.Fatalf("open: %+v, %v", got, err)
	}
	if again, _ := s1.seal(claims); again == token {
		t.Error("two seals of the same claims are equal: the nonce is not random")
	}
	if _, err := s2.open(token); err == nil {
		t.Error("a token opened under another key")
	}
}

func FuzzOpenSessionToken(f *testing.F) {
	s, _ := newSessionSealer(bytes.Repeat([]byte{1}, 32))
	token, _ := s.seal(sessionClaims{AccessKey: "AK", SecretKey: "SK", Parent: "p", Expiry: 1})
	f.Add(token)
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, token string) {
		if c, err := s.open(token); err == nil && (c.AccessKey == "" || c.SecretKey == "" || c.Parent == "") {
			t.Fatalf("opened incomplete claims %+v", c)
		}
	})
}

func TestRequestInfoNamesTheCaller(t *testing.T) {
	var mu sync.Mutex
	var infos []RequestInfo
	users, _ := NewStaticCredentials([]*Identity{{AccessKey: stsUser, SecretKey: stsUserSecret,
		Policies: []*policy.Policy{builtinPolicy(t, "readwrite")}}})
	g := newTestGateway(t, func(c *Config) {
		c.Credentials = users
		c.Observe = func(info RequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			infos = append(infos, info)
		}
	})
	last := func() RequestInfo {
		mu.Lock()
		defer mu.Unlock()
		return infos[len(infos)-1]
	}
	c := g.mustAssumeRole(userCreds, assumeRoleForm())
	if got := last(); got.Operation != "AssumeRole" || got.AccessKey != stsUser || got.Status != http.StatusOK {
		t.Errorf("AssumeRole: %+v, want operation AssumeRole by %s", got, stsUser)
	}
	g.doTemp(c, http.MethodGet, "/", nil)
	if got := last(); got.AccessKey != c.AccessKeyID || got.ParentUser != stsUser || got.Anonymous {
		t.Errorf("temporary credentials: access key %q parent %q anonymous %v, want %q %q false", got.AccessKey, got.ParentUser, got.Anonymous, c.AccessKeyID, stsUser)
	}
	g.anonymous(http.MethodGet, objectTarget(testBucket, "k", ""), nil)
	if got := last(); got.AccessKey != "" || got.ParentUser != "" || !got.Anonymous || got.Status != http.StatusForbidden {
		t.Errorf("anonymous: %+v, want anonymous, no access key, 403", got)
	}
	g.do(http.MethodGet, "/", nil)
	if got := last(); got.AccessKey != testRoot || got.ParentUser != "" || got.Anonymous {
		t.Errorf("root: %+v", got)
	}
}

// BenchmarkSessionLookup is what temporary credentials add to a request,
// paid twice (verification and authorisation): open the token, check the
// parent, parse the session policy.
func BenchmarkSessionLookup(b *testing.B) {
	users, _ := NewStaticCredentials([]*Identity{{AccessKey: stsUser, SecretKey: stsUserSecret}})
	s := &Server{cfg: Config{RootUser: testRoot, RootPassword: testPassword, Credentials: users}, now: time.Now,
		openedSessions: newTTLCache[*openedSession](1024, time.Minute)}
	sealer, _ := newSessionSealer(bytes.Repeat([]byte{7}, 32))
	s.sessions.Store(sealer)
	for name, pol := range map[string]string{
		"without session policy": "",
		"with session policy":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/prefix/*"]}]}`,
	} {
		token, _ := sealer.seal(sessionClaims{AccessKey: "TEMP", SecretKey: "secret", Parent: stsUser, Expiry: time.Now().Add(time.Hour).Unix(),
			Policy: []byte(pol)})
		if pol == "" {
			token, _ = sealer.seal(sessionClaims{AccessKey: "TEMP", SecretKey: "secret", Parent: stsUser, Expiry: time.Now().Add(time.Hour).Unix()})
		}
		b.Run(name+" cached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.session("TEMP", token); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+" first use", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.openedSessions.drop("TEMP")
				if _, _, err := s.session("TEMP", token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestPostUploadsWithTemporaryCredentials(t *testing.T) {
	g, _, _ := newSTSGateway(t)
	c := g.mustAssumeRole(userCreds, assumeRoleForm())
	exp := time.Now().Add(time.Hour)
	form := func(token string) []formPart {
		return signedFormAs(c.AccessKeyID, c.SecretAccessKey, testBucket, exp,
			[]string{`["starts-with", "$key", ""]`, `{"x-amz-security-token": "` + token + `"}`},
			map[string]string{"key": "form.txt", "x-amz-security-token": token})
	}
	if w := submitForm(t, g.s, "/"+testBucket, form(c.SessionToken), "posted"); w.Code != http.StatusNoContent {
		t.Fatalf("POST with temporary credentials: %d %s", w.Code, w.Body)
	}
	if _, _, ok := g.be.object(testBucket, "form.txt"); !ok {
		t.Fatal("the POST upload is not on the backend")
	}
	b := []byte(c.SessionToken)
	b[len(b)/2] ^= 1
	if w := submitForm(t, g.s, "/"+testBucket, form(string(b)), "posted"); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "InvalidTokenId") {
		t.Errorf("POST with an altered token: %d %s, want 403 InvalidTokenId", w.Code, w.Body)
	}
}
