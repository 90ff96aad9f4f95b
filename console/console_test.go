package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3seal/s3seal/gateway"
)

// fakeGateway answers the few S3 calls the console's login and bucket
// pages make, and records who signed each request. Access key "bad" is
// refused as an unknown key.
type fakeGateway struct {
	mu       sync.Mutex
	requests []string // "METHOD /path by ACCESSKEY"
}

var credentialRE = regexp.MustCompile(`Credential=([^/]+)/`)

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ak := ""
	if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		ak = m[1]
	}
	g.mu.Lock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path+" by "+ak)
	g.mu.Unlock()
	if ak == "bad" {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The Access Key Id you provided does not exist in our records.</Message></Error>`)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>`)
	case r.URL.Path == "/minio/kms/v1/key/list":
		_, _ = io.WriteString(w, `[]`)
	}
}

func (g *fakeGateway) calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

type consoleHarness struct {
	t       *testing.T
	c       *Console
	gw      *fakeGateway
	audited []gateway.RequestInfo
	now     time.Time
}

func newConsoleHarness(t *testing.T) *consoleHarness {
	h := &consoleHarness{t: t, gw: &fakeGateway{}, now: time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)}
	c, err := New(Config{
		Gateway: h.gw,
		Observe: func(info gateway.RequestInfo) { h.audited = append(h.audited, info) },
		Now:     func() time.Time { return h.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h
}

// do sends one request from 192.0.2.1 with the cookies given and returns
// the response.
func (h *consoleHarness) do(method, target string, form url.Values, cookies []*http.Cookie, headers ...string) *http.Response {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "192.0.2.1:5555"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.c.ServeHTTP(w, r)
	return w.Result()
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// loginForm fetches the login page: its cookie and CSRF token.
func (h *consoleHarness) loginForm() ([]*http.Cookie, string) {
	h.t.Helper()
	resp := h.do(http.MethodGet, "/login", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		h.t.Fatalf("login page has no CSRF token:\n%s", body)
	}
	return resp.Cookies(), string(m[1])
}

// login logs in as accessKey and returns the session cookie and the
// session's CSRF token.
func (h *consoleHarness) login(accessKey string) ([]*http.Cookie, string) {
	h.t.Helper()
	cookies, token := h.loginForm()
	resp := h.do(http.MethodPost, "/login", url.Values{"csrf": {token}, "access_key": {accessKey}, "secret_key": {"secret-key"}}, cookies)
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("login as %s: status %d, want 303", accessKey, resp.StatusCode)
	}
	session := resp.Cookies()
	page := h.do(http.MethodGet, "/buckets", nil, session)
	body, _ := io.ReadAll(page.Body)
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		h.t.Fatalf("buckets page has no CSRF token (status %d):\n%s", page.StatusCode, body)
	}
	return session, string(m[1])
}

func TestSessionCookieAttributes(t *testing.T) {
	h := newConsoleHarness(t)
	cookies, _ := h.login("operator")
	var c *http.Cookie
	for _, k := range cookies {
		if k.Name == sessionCookie {
			c = k
		}
	}
	if c == nil {
		t.Fatalf("no %s cookie in %v", sessionCookie, cookies)
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.MaxAge != 3600 || c.Path != "/" {
		t.Errorf("session cookie = %+v, want HttpOnly, Secure, SameSite=Strict, Max-Age 3600, Path /", c)
	}
	if strings.Contains(c.Value, "secret-key") || strings.Contains(c.Value, "operator") {
		t.Error("the session cookie shows the credentials")
	}
}

func TestSessionsRefuseForgedExpiredAndEndedCookies(t *testing.T) {
	now := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	key := make([]byte, 32)
	s, err := newSessions(key, time.Hour, true, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	sess := s.start(w, "operator", "secret-key")
	cookie := w.Result().Cookies()[0]
	open := func(value string) *session {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
		return s.open(r)
	}
	if got := open(cookie.Value); got == nil || got.AccessKey != "operator" || got.SecretKey != "secret-key" || got.CSRF != sess.CSRF {
		t.Fatalf("open(fresh cookie) = %+v, want the session", got)
	}
	t.Run("an altered cookie", func(t *testing.T) {
		b := []byte(cookie.Value)
		b[len(b)/2] ^= 'A' ^ 'B'
		if b[len(b)/2] == cookie.Value[len(b)/2] {
			b[len(b)/2] = 'C'
		}
		if got := open(string(b)); got != nil {
			t.Errorf("open(altered) = %+v, want nil", got)
		}
	})
	t.Run("a cookie sealed under another key", func(t *testing.T) {
		other, _ := newSessions(append([]byte{1}, key[1:]...), time.Hour, true, func() time.Time { return now })
		w := httptest.NewRecorder()
		other.start(w, "operator", "secret-key")
		if got := open(w.Result().Cookies()[0].Value); got != nil {
			t.Errorf("open(other key) = %+v, want nil", got)
		}
	})
	t.Run("an expired session", func(t *testing.T) {
		defer func(saved time.Time) { now = saved }(now)
		now = now.Add(time.Hour)
		if got := open(cookie.Value); got != nil {
			t.Errorf("open after the TTL = %+v, want nil", got)
		}
	})
	t.Run("a session that logged out", func(t *testing.T) {
		s.end(httptest.NewRecorder(), sess)
		if got := open(cookie.Value); got != nil {
			t.Errorf("open after logout = %+v, want nil", got)
		}
	})
}

func TestStateChangesNeedTheSessionsCSRFToken(t *testing.T) {
	h := newConsoleHarness(t)
	session, token := h.login("operator")
	_, otherToken := h.login("operator") // another session's token must not do
	for _, tc := range []struct {
		name    string
		token   string
		headers []string
		want    int
	}{
		{"no token", "", nil, http.StatusForbidden},
		{"a made-up token", "forged", nil, http.StatusForbidden},
		{"another session's token", otherToken, nil, http.StatusForbidden},
		{"the right token from another site", token, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"the right token from another origin", token, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"the right token", token, []string{"Sec-Fetch-Site", "same-origin"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.gw.calls())
			resp := h.do(http.MethodPost, "/buckets", url.Values{"csrf": {tc.token}, "bucket": {"new-bucket"}}, session, tc.headers...)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			created := false
			for _, c := range h.gw.calls()[before:] {
				if c == "PUT /new-bucket/ by operator" || c == "PUT /new-bucket by operator" {
					created = true
				}
			}
			if created != (tc.want == http.StatusOK) {
				t.Errorf("CreateBucket sent to the gateway: %v, want %v (calls %v)", created, tc.want == http.StatusOK, h.gw.calls()[before:])
			}
		})
	}
}

func TestUploadsNeedTheCSRFHeader(t *testing.T) {
	h := newConsoleHarness(t)
	session, token := h.login("operator")
	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{
		{"without the header", "", http.StatusForbidden},
		{"with a forged header", "forged", http.StatusForbidden},
		{"with the session's token", token, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.gw.calls())
			r := httptest.NewRequest(http.MethodPut, "/buckets/bkt/upload?key=k", strings.NewReader("data"))
			r.RemoteAddr = "192.0.2.1:5555"
			if tc.token != "" {
				r.Header.Set("X-CSRF-Token", tc.token)
			}
			for _, c := range session {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			h.c.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("status = %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			calls := h.gw.calls()[before:]
			sent := len(calls) == 1 && calls[0] == "PUT /bkt/k by operator"
			if sent != (tc.want == http.StatusOK) {
				t.Errorf("the gateway got %v; PutObject expected: %v", calls, tc.want == http.StatusOK)
			}
		})
	}
}

func TestPagesWithoutASessionGoToLogin(t *testing.T) {
	h := newConsoleHarness(t)
	resp := h.do(http.MethodGet, "/keys", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("GET /keys: %d to %q, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = h.do(http.MethodPost, "/keys", url.Values{"key": {"k"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /keys: %d, want 401", resp.StatusCode)
	}
	if calls := h.gw.calls(); len(calls) != 0 {
		t.Errorf("the gateway got %v, want nothing", calls)
	}
}

func TestLoginWithAForgedFormTokenIsRefused(t *testing.T) {
	h := newConsoleHarness(t)
	cookies, _ := h.loginForm()
	resp := h.do(http.MethodPost, "/login", url.Values{"csrf": {"forged"}, "access_key": {"operator"}, "secret_key": {"secret-key"}}, cookies)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %d, want 403", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			t.Error("a session cookie was set")
		}
	}
}

func TestFailedLoginsAreAuditedAndLimitedPerSource(t *testing.T) {
	h := newConsoleHarness(t)
	for i := range maxLoginFailures {
		cookies, token := h.loginForm()
		resp := h.do(http.MethodPost, "/login", url.Values{"csrf": {token}, "access_key": {"bad"}, "secret_key": {"guess"}}, cookies)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("failure %d: status %d, want 403", i+1, resp.StatusCode)
		}
	}
	if len(h.audited) != maxLoginFailures {
		t.Fatalf("audited %d records, want %d", len(h.audited), maxLoginFailures)
	}
	for _, a := range h.audited {
		if a.Operation != "ConsoleLogin" || a.AccessKey != "bad" || a.Status != http.StatusForbidden {
			t.Errorf("audit record %+v, want ConsoleLogin by bad with 403", a)
		}
	}
	before := len(h.gw.calls())
	cookies, token := h.loginForm()
	resp := h.do(http.MethodPost, "/login", url.Values{"csrf": {token}, "access_key": {"operator"}, "secret_key": {"secret-key"}}, cookies)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("login after %d failures: status %d, Retry-After %q; want 429 with Retry-After", maxLoginFailures, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if len(h.gw.calls()) != before {
		t.Error("a locked-out login reached the gateway")
	}
	h.now = h.now.Add(loginFailureWindow)
	h.login("operator") // the window has passed
}

func TestLoginLimiterBoundsItsMemory(t *testing.T) {
	now := time.Now()
	l := newLoginLimiter(2, time.Minute, func() time.Time { return now })
	for i := range maxTrackedSources + 10 {
		l.failed("198.51.100." + string(rune('a'+i%26)) + strings.Repeat("x", i/26))
	}
	if len(l.sources) > maxTrackedSources+1 {
		t.Errorf("tracking %d sources, want at most %d", len(l.sources), maxTrackedSources+1)
	}
}

func TestSafeNextStaysInTheConsole(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/keys", "/keys"},
		{"/buckets/b/objects?prefix=a%2F", "/buckets/b/objects?prefix=a%2F"},
		{"https://evil.example/", "/buckets"},
		{"//evil.example/", "/buckets"},
		{"/\\evil.example/", "/buckets"},
		{"", "/buckets"},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}
