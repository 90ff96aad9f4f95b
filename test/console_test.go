package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// TestConsoleInBrowser drives the operators' web console in headless
// Chromium against s3seal over MinIO: the operator's whole path from login
// to logout, and the refusals (a wrong secret, a forged CSRF token, a
// logged-out session), and a user made, disabled and enabled on the users
// page. It writes a screenshot of every page to
// .data/console-screenshots/, or with S3SEAL_UPDATE_SCREENSHOTS=1 to
// docs/console/.
func TestConsoleInBrowser(t *testing.T) {
	backend := harness.StartMinIO(t)
	consoleAddr := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	auditorSecret := harness.RandomHex(t, 16)
	gw := harness.StartGateway(t, backend,
		harness.WithGatewayConfig("users:\n- access_key: auditor\n  secret_key: "+auditorSecret+"\n  policies: [readonly]\n"),
		harness.WithGatewayEnv("S3SEAL_CONSOLE_ADDRESS", consoleAddr),
		harness.WithGatewayEnv("S3SEAL_AUDIT_LOG", auditLog))
	base := "http://" + consoleAddr
	ctx := harness.StartBrowser(t)
	// Screenshots go to .data/console-screenshots (git-ignored, a CI
	// artifact); S3SEAL_UPDATE_SCREENSHOTS=1 writes the ones docs/ shows.
	shots := filepath.Join(harness.RepoRoot(t), ".data", "console-screenshots")
	if os.Getenv("S3SEAL_UPDATE_SCREENSHOTS") == "1" {
		shots = filepath.Join(harness.RepoRoot(t), "docs", "console")
	}
	b := &browserSession{t: t, ctx: ctx, shots: shots}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	// Delete buttons ask for confirmation: accept every dialog.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()

	// step runs a subtest whose browser helpers report to it.
	step := func(name string, f func(t *testing.T)) {
		t.Run(name, func(st *testing.T) {
			b.t = st
			defer func() { b.t = t }()
			f(st)
		})
	}

	const (
		bucket = "payroll-exports"
		key    = "finance-2026"
		object = "q3-payroll.csv"
	)
	content := harness.RandomBytes(t, 3<<20+17) // several DARE packages and a partial one
	upload := filepath.Join(t.TempDir(), object)
	if err := os.WriteFile(upload, content, 0o600); err != nil {
		t.Fatal(err)
	}

	step("a page without a session sends the browser to the login page", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets"))
		b.waitJS(`document.querySelector("#login-form") !== null`)
		if loc := b.location(); !strings.HasPrefix(loc, base+"/login?next=") {
			t.Errorf("location = %s, want the login page", loc)
		}
		b.screenshot("login")
	})

	step("a wrong secret key is refused and audited", func(t *testing.T) {
		b.login(gw.AccessKey, gw.SecretKey+"x")
		b.waitJS(`document.querySelector("#error") !== null`)
		if got := b.text("#error"); !strings.Contains(got, "InvalidAccessKeyId") {
			t.Errorf("error = %q, want InvalidAccessKeyId", got)
		}
		if b.exists("nav[aria-label=Sections]") {
			t.Error("the console shows its sections after a wrong secret")
		}
		harness.Eventually(t, 5*time.Second, func(context.Context) error {
			return auditHas(auditLog, "ConsoleLogin", gw.AccessKey, 403)
		})
	})

	step("the right secret key logs in, from the keyboard alone", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/login"))
		b.waitJS(`document.activeElement && document.activeElement.id === "access_key"`) // autofocus
		b.do(chromedp.KeyEvent(gw.AccessKey + "\t" + gw.SecretKey + "\r"))
		b.waitJS(`document.querySelector("nav[aria-label=Sections]") !== null`)
		if got := b.text(".user"); got != gw.AccessKey {
			t.Errorf("logged in as %q, want %q", got, gw.AccessKey)
		}
		harness.Eventually(t, 5*time.Second, func(context.Context) error {
			return auditHas(auditLog, "ConsoleLogin", gw.AccessKey, 200)
		})
	})

	step("create a key", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/keys"))
		b.do(chromedp.SendKeys(chromedp.CSS("#key-name"), key))
		b.do(chromedp.Click(chromedp.CSS("#create-key button")))
		b.waitJS(`document.querySelector('#keys tr[data-key="` + key + `"]') !== null`)
		if got := b.text("#notice"); !strings.Contains(got, "Created key "+key) {
			t.Errorf("notice = %q", got)
		}
	})

	step("create a bucket and set SSE-KMS with the key", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets"))
		b.do(chromedp.SendKeys(chromedp.CSS("#bucket-name"), bucket))
		b.do(chromedp.Click(chromedp.CSS("#create-bucket button")))
		row := `#buckets tr[data-bucket="` + bucket + `"]`
		b.waitJS(`document.querySelector('` + row + `') !== null`)
		b.do(chromedp.SetValue(chromedp.CSS(row+` select[name=mode]`), "sse-kms"))
		b.do(chromedp.SetValue(chromedp.CSS(row+` select[name=key]`), key))
		b.do(chromedp.Click(chromedp.CSS(row + ` button`)))
		b.waitJS(`(document.querySelector("#notice") || {}).textContent?.includes("SSE-KMS under key ` + key + `")`)
		if got := b.text(row + " .enc"); !strings.Contains(got, "SSE-KMS") || !strings.Contains(got, key) {
			t.Errorf("bucket encryption shown as %q, want SSE-KMS with %s", got, key)
		}
		b.screenshot("buckets")
		// What the page says is what S3 says.
		cfg, err := gw.Client(t).GetBucketEncryption(t.Context(), bucket)
		if err != nil {
			t.Fatalf("GetBucketEncryption: %v", err)
		}
		if got := cfg.Rules[0].Apply; got.SSEAlgorithm != "aws:kms" || !strings.HasSuffix(got.KmsMasterKeyID, key) {
			t.Errorf("bucket encryption = %+v, want aws:kms with %s", got, key)
		}
	})

	step("upload a file and see it as SSE-KMS under the key", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets/" + bucket + "/objects"))
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{upload}))
		b.do(chromedp.Click(chromedp.CSS("#upload button")))
		row := `#objects tr[data-key="` + object + `"]`
		b.waitJS(`document.querySelector('` + row + `') !== null`)
		if got := b.text(row + " .enc"); got != "SSE-KMS" {
			t.Errorf("object encryption shown as %q, want SSE-KMS", got)
		}
		if got := b.text(row + " .key"); got != key {
			t.Errorf("object key shown as %q, want %s", got, key)
		}
		if got := b.text(row + " .version"); got != "1" {
			t.Errorf("object key version shown as %q, want 1", got)
		}
		b.screenshot("objects")
		// The backend holds ciphertext, sealed under the key.
		info, err := gw.Client(t).StatObject(t.Context(), bucket, object, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("HeadObject through s3seal: %v", err)
		}
		if info.Size != int64(len(content)) || !strings.HasSuffix(info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), key) {
			t.Errorf("HeadObject: size %d, key %q; want %d, %s", info.Size, info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), len(content), key)
		}
		stored, err := backend.Client(t).GetObject(t.Context(), bucket, object, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer stored.Close()
		raw := new(bytes.Buffer)
		if _, err := raw.ReadFrom(stored); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw.Bytes(), content[:64]) {
			t.Error("the backend holds the uploaded plaintext")
		}
	})

	step("the object page shows encryption, size, ETag and metadata", func(t *testing.T) {
		b.do(chromedp.Click(chromedp.CSS(`#objects tr[data-key="` + object + `"] th a`)))
		b.waitJS(`document.querySelector("#object-props") !== null`)
		props := b.text("#object-props")
		for _, want := range []string{"SSE-KMS", key, strconv.Itoa(len(content)) + " bytes", "Key version"} {
			if !strings.Contains(props, want) {
				t.Errorf("object page lacks %q:\n%s", want, props)
			}
		}
		if html := b.html("main"); strings.Contains(strings.ToLower(html), "sealed") || strings.Contains(html, "X-Minio-Internal") {
			t.Errorf("the object page shows s3seal's sealed metadata:\n%s", html)
		}
		b.screenshot("object")
	})

	step("download the file byte-identical", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets/" + bucket + "/objects"))
		b.waitJS(`document.querySelector("#objects a.download") !== null`)
		b.do(chromedp.Click(chromedp.CSS(`#objects tr[data-key="` + object + `"] a.download`)))
		path := filepath.Join(downloads, object)
		harness.Eventually(t, 30*time.Second, func(context.Context) error {
			got, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, content) {
				return fmt.Errorf("downloaded %d bytes, not the %d uploaded", len(got), len(content))
			}
			return nil
		})
	})

	step("the key page shows the check, the versions and the bucket", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/keys/" + key))
		b.waitJS(`document.querySelector("#key-status") !== null`)
		status := b.text("#key-status")
		for _, want := range []string{"Encrypt\nOK", "Decrypt\nOK", bucket} {
			if !strings.Contains(status, want) {
				t.Errorf("key page lacks %q:\n%s", want, status)
			}
		}
		b.do(chromedp.Click(chromedp.CSS("#rotate"))) // the confirmation is accepted
		b.waitJS(`(document.querySelector("#notice") || {}).textContent?.includes("Rotated key")`)
		if got := b.text("#notice"); !strings.Contains(got, "version 2") {
			t.Errorf("notice after rotation = %q, want version 2", got)
		}
		if got := b.text("#versions"); !strings.Contains(got, "1") || !strings.Contains(got, "2") {
			t.Errorf("versions after rotation:\n%s", got)
		}
		b.screenshot("key")
		b.do(chromedp.Navigate(base + "/keys"))
		b.waitJS(`document.querySelector("#keys") !== null`)
		if got := b.text(`#keys tr[data-key="` + key + `"] .buckets`); got != bucket {
			t.Errorf("keys page: %s used by %q, want %s", key, got, bucket)
		}
		b.screenshot("keys")
	})

	step("an object uploaded after the rotation shows the new key version", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets/" + bucket + "/objects"))
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{upload}))
		b.do(chromedp.SendKeys(chromedp.CSS("#upload-name"), "rotated/"+object))
		b.do(chromedp.Click(chromedp.CSS("#upload button")))
		b.waitJS(`document.querySelector('#objects a[href*="prefix=rotated"]') !== null`)
		b.do(chromedp.Click(chromedp.CSS(`#objects a[href*="prefix=rotated"]`)))
		row := `#objects tr[data-key="rotated/` + object + `"]`
		b.waitJS(`document.querySelector('` + row + `') !== null`)
		if got := b.text(row + " .version"); got != "2" {
			t.Errorf("key version of the object sealed after the rotation = %q, want 2", got)
		}
	})

	step("delete an object", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets/" + bucket + "/objects?prefix=rotated/"))
		row := `#objects tr[data-key="rotated/` + object + `"]`
		b.waitJS(`document.querySelector('` + row + `') !== null`)
		b.do(chromedp.Click(chromedp.CSS(row + ` button.danger`))) // the confirmation is accepted
		b.waitJS(`(document.querySelector("#notice") || {}).textContent?.includes("Deleted rotated/` + object + `")`)
		if b.exists(row) {
			t.Error("the deleted object is still listed")
		}
		if _, err := gw.Client(t).StatObject(t.Context(), bucket, "rotated/"+object, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("HeadObject after the delete: %v, want NoSuchKey", err)
		}
	})

	step("the health page shows readiness and request rates", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/health"))
		b.waitJS(`document.querySelector("#health") !== null`)
		if got := b.text("#health"); !strings.Contains(got, "ready") || !strings.Contains(got, "online") {
			t.Errorf("health page:\n%s", got)
		}
		if got := b.text("#rates"); !strings.Contains(got, "Requests") {
			t.Errorf("health page rates:\n%s", got)
		}
		b.screenshot("health")
	})

	step("clear the default encryption", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets"))
		row := `#buckets tr[data-bucket="` + bucket + `"]`
		b.waitJS(`document.querySelector('` + row + `') !== null`)
		if got := b.text(row + " .contents"); got != "1 object, 3.0 MiB" {
			t.Errorf("bucket contents shown as %q, want 1 object, 3.0 MiB", got)
		}
		b.do(chromedp.SetValue(chromedp.CSS(row+` select[name=mode]`), "none"))
		b.do(chromedp.Click(chromedp.CSS(row + ` button`)))
		b.waitJS(`(document.querySelector("#notice") || {}).textContent?.includes("no default encryption")`)
		if got := b.text(row + " .enc"); got != "none" {
			t.Errorf("bucket encryption shown as %q after clearing, want none", got)
		}
		if _, err := gw.Client(t).GetBucketEncryption(t.Context(), bucket); minio.ToErrorResponse(err).Code != "ServerSideEncryptionConfigurationNotFoundError" {
			t.Errorf("GetBucketEncryption after clearing: %v, want ServerSideEncryptionConfigurationNotFoundError", err)
		}
	})

	step("create a read-only user, disable it, enable it", func(t *testing.T) {
		const user = "console-reader"
		secret := harness.RandomHex(t, 12)
		b.do(chromedp.Navigate(base + "/users"))
		b.waitJS(`document.querySelector("#create-user") !== null`)
		if !b.exists(`nav a[href="/users"][aria-current=page]`) {
			t.Error("the nav does not mark Users as the current page")
		}
		b.do(chromedp.SendKeys(chromedp.CSS("#user-access-key"), user))
		b.do(chromedp.SendKeys(chromedp.CSS("#user-secret-key"), secret))
		b.do(chromedp.SetValue(chromedp.CSS("#user-policy"), "readonly"))
		b.do(chromedp.Click(chromedp.CSS("#create-user button")))
		row := `#users tr[data-user="` + user + `"]`
		b.waitJS(`document.querySelector('` + row + `') !== null`)
		if got := b.text("#notice"); got != "Created user "+user+" with policy readonly." {
			t.Errorf("notice = %q", got)
		}
		if got := b.text(row + " .status"); got != "enabled" {
			t.Errorf("status shown as %q, want enabled", got)
		}
		if got := b.text(row + " .policies .policy"); got != "readonly" {
			t.Errorf("policies shown as %q, want readonly", got)
		}
		if strings.Contains(b.html("html"), secret) {
			t.Error("the users page shows the new user's secret")
		}
		reader := harness.MinioGoClient(t, gw.Endpoint, user, secret, "us-east-1")
		listAsUser := func() error {
			_, err := reader.ListBuckets(t.Context())
			return err
		}
		if err := listAsUser(); err != nil {
			t.Fatalf("ListBuckets as the new user: %v", err)
		}
		if err := reader.MakeBucket(t.Context(), "reader-made", minio.MakeBucketOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
			t.Errorf("MakeBucket as the read-only user: %v, want AccessDenied", err)
		}

		b.do(chromedp.Click(chromedp.CSS(row + " .status-form button")))
		b.waitJS(`(document.querySelector("#notice") || {}).textContent?.includes("is disabled")`)
		if got := b.text(row + " .status"); got != "disabled" {
			t.Errorf("status shown as %q after disabling, want disabled", got)
		}
		if err := listAsUser(); minio.ToErrorResponse(err).Code != "InvalidAccessKeyId" {
			t.Errorf("ListBuckets as the disabled user: %v, want InvalidAccessKeyId", err)
		}

		b.do(chromedp.Click(chromedp.CSS(row + " .status-form button")))
		b.waitJS(`(document.querySelector("#notice") || {}).textContent?.includes("is enabled")`)
		if err := listAsUser(); err != nil {
			t.Errorf("ListBuckets as the enabled user again: %v", err)
		}
		b.screenshot("users")
	})

	step("a forged CSRF token is refused", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets"))
		b.waitJS(`document.querySelector("#create-bucket") !== null`)
		b.do(chromedp.SetValue(chromedp.CSS(`#create-bucket input[name=csrf]`), "forged-"+harness.RandomHex(t, 16)))
		b.do(chromedp.SendKeys(chromedp.CSS("#bucket-name"), "forged-bucket"))
		b.do(chromedp.Click(chromedp.CSS("#create-bucket button")))
		b.waitJS(`(document.querySelector("#error") || {}).textContent?.includes("CSRF")`)
		exists, err := gw.Client(t).BucketExists(t.Context(), "forged-bucket")
		if err != nil || exists {
			t.Errorf("BucketExists(forged-bucket) = %v, %v; want false", exists, err)
		}
	})

	step("log out", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/buckets"))
		b.waitJS(`document.querySelector("#logout") !== null`)
		b.do(chromedp.Click(chromedp.CSS("#logout")))
		b.waitJS(`document.querySelector("#login-form") !== null`)
		b.do(chromedp.Navigate(base + "/buckets"))
		b.waitJS(`document.querySelector("#login-form") !== null`)
		if b.exists("nav[aria-label=Sections]") {
			t.Error("the console shows its sections after logout")
		}
	})

	step("a read-only user is refused changes as the S3 and admin API refuse them", func(t *testing.T) {
		b.do(chromedp.Navigate(base + "/login"))
		b.login("auditor", auditorSecret)
		b.waitJS(`document.querySelector("nav[aria-label=Sections]") !== null`)
		if !b.exists(`#buckets tr[data-bucket="` + bucket + `"]`) {
			t.Errorf("the read-only user does not see %s", bucket)
		}
		b.do(chromedp.SendKeys(chromedp.CSS("#bucket-name"), "auditor-bucket"))
		b.do(chromedp.Click(chromedp.CSS("#create-bucket button")))
		b.waitJS(`document.querySelector("#error") !== null`)
		if got := b.text("#error"); !strings.Contains(got, "CreateBucket auditor-bucket: AccessDenied") {
			t.Errorf("error = %q, want CreateBucket's AccessDenied", got)
		}
		b.screenshot("denied")
		b.do(chromedp.Navigate(base + "/keys"))
		b.waitJS(`document.querySelector("#keys") !== null`)
		if got := b.text("#error"); !strings.Contains(got, "KMSListKeys: AccessDenied") {
			t.Errorf("keys page error = %q, want KMSListKeys's AccessDenied", got)
		}
		b.do(chromedp.Navigate(base + "/users"))
		b.waitJS(`document.querySelector("#users") !== null`)
		if got := b.text("#error"); !strings.Contains(got, "ListUsers: AccessDenied") {
			t.Errorf("users page error = %q, want ListUsers's AccessDenied", got)
		}
		b.do(chromedp.Click(chromedp.CSS("#logout")))
		b.waitJS(`document.querySelector("#login-form") !== null`)
	})

	step("repeated failed logins lock the source out, right secret or not", func(t *testing.T) {
		// One failure so far (the wrong secret above); the limit is 5.
		for range 4 {
			b.do(chromedp.Navigate(base + "/login"))
			b.login(gw.AccessKey, "wrong-"+harness.RandomHex(t, 8))
			b.waitJS(`(document.querySelector("#error") || {}).textContent?.includes("InvalidAccessKeyId")`)
		}
		b.do(chromedp.Navigate(base + "/login"))
		b.login(gw.AccessKey, gw.SecretKey)
		b.waitJS(`document.querySelector("#error") !== null`)
		if got := b.text("#error"); !strings.Contains(got, "SlowDown: too many failed logins") {
			t.Errorf("error = %q, want the lockout", got)
		}
		if b.exists("nav[aria-label=Sections]") {
			t.Error("a locked-out source logged in")
		}
	})
}

// browserSession is one tab and the test it reports to.
type browserSession struct {
	t     *testing.T
	ctx   context.Context
	shots string // where screenshots go
}

func (b *browserSession) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

func (b *browserSession) login(accessKey, secretKey string) {
	b.t.Helper()
	b.waitJS(`document.querySelector("#login-form") !== null`)
	b.do(
		chromedp.SendKeys(chromedp.CSS("#access_key"), accessKey),
		chromedp.SendKeys(chromedp.CSS("#secret_key"), secretKey),
		chromedp.Click(chromedp.CSS("#login")),
	)
}

// waitJS waits until the expression is true in the current page, across
// navigations.
func (b *browserSession) waitJS(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: waited 30s for %s (at %s, last error %v):\n%s", expr, b.location(), err, b.html("main"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browserSession) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

func (b *browserSession) exists(sel string) bool {
	ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector(`+strconv.Quote(sel)+`) !== null`))
	return ok
}

func (b *browserSession) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(sel)+`) || {innerText: ""}).innerText.trim()`))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

func (b *browserSession) html(sel string) string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(sel)+`) || {outerHTML: ""}).outerHTML`))
	return s
}

// screenshot writes the page, as far down as it goes, to NAME.png in the
// screenshot folder.
func (b *browserSession) screenshot(name string) {
	b.t.Helper()
	// Right after a form post the page may still be laying out (Chrome
	// then refuses "with 0 width"): wait for a laid-out body, and try again
	// a few times.
	b.waitJS(`document.readyState === "complete" && document.body && document.body.getBoundingClientRect().width > 0`)
	var png []byte
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if png, err = chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// auditHas reports whether the audit log has a line for operation by
// accessKey with status.
func auditHas(path, operation, accessKey string, status int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec struct {
			Operation string `json:"operation"`
			AccessKey string `json:"access_key"`
			Status    int    `json:"status"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Operation == operation && rec.AccessKey == accessKey && rec.Status == status {
			return nil
		}
	}
	return fmt.Errorf("no audit record of %s by %s with status %d", operation, accessKey, status)
}

// With TLS configured the console serves https with the S3 listener's
// certificate, and its session cookie is Secure, HttpOnly and
// SameSite=Strict.
func TestConsoleServesHTTPSWithTheGatewaysCertificate(t *testing.T) {
	ca := harness.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Issue(t, certFile, keyFile)
	consoleAddr := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	gw := harness.StartGateway(t, harness.StartMinIO(t),
		harness.WithGatewayTLS(certFile, keyFile, ca.Pool),
		harness.WithGatewayEnv("S3SEAL_CONSOLE_ADDRESS", consoleAddr))
	client := ca.Client()
	resp, err := client.Get("https://" + consoleAddr + "/login")
	if err != nil {
		t.Fatalf("GET the login page over https: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("login page: %s, HSTS %q", resp.Status, resp.Header.Get("Strict-Transport-Security"))
	}
	cookies, _ := consoleLogin(t, client, "https://"+consoleAddr, gw.AccessKey, gw.SecretKey)
	var session *http.Cookie
	for _, c := range cookies {
		if c.Name == "s3seal_console" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.MaxAge <= 0 {
		t.Errorf("session cookie = %+v, want Secure, HttpOnly, SameSite=Strict with a Max-Age", session)
	}
}

// consoleLogin logs in to the console at base with a plain HTTP client, as
// a browser's form would, and returns the session cookies and the
// session's CSRF token.
func consoleLogin(t *testing.T, client *http.Client, base, accessKey, secretKey string) ([]*http.Cookie, string) {
	t.Helper()
	noRedirects := *client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	csrfOf := func(resp *http.Response) string {
		t.Helper()
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("%s: %s without a CSRF token:\n%s", resp.Request.URL.Path, resp.Status, body)
		}
		return string(m[1])
	}
	get := func(path string, cookies []*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	page := get("/login", nil)
	loginCookies := page.Cookies()
	form := url.Values{"csrf": {csrfOf(page)}, "access_key": {accessKey}, "secret_key": {secretKey}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range loginCookies {
		req.AddCookie(c)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s, want 303", resp.Status)
	}
	var session []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			session = append(session, c)
		}
	}
	return session, csrfOf(get("/buckets", session))
}

// Uploads and downloads stream through the console: 200 MiB goes up and
// comes back byte-identical while the gateway's resident memory (the
// console runs in it) grows by less than the S3 path's bound.
func TestConsoleStreamsLargeObjects(t *testing.T) {
	const (
		bucket = "console-big"
		size   = 200 * mib
	)
	consoleAddr := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	gw := harness.StartGateway(t, harness.StartMinIO(t), harness.WithGatewayEnv("S3SEAL_CONSOLE_ADDRESS", consoleAddr))
	if err := gw.Client(t).MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + consoleAddr
	client := &http.Client{}
	session, csrf := consoleLogin(t, client, base, gw.AccessKey, gw.SecretKey)
	source := func() io.Reader { return io.LimitReader(mrand.NewChaCha8(sha256.Sum256([]byte("console-big"))), size) }
	want := sha256.New()
	if _, err := io.Copy(want, source()); err != nil {
		t.Fatal(err)
	}

	growth := clientsRSSGrowth(t, gw.PID(), func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, base+"/buckets/"+bucket+"/upload?key=big", source())
		req.ContentLength = size
		req.Header.Set("X-CSRF-Token", csrf)
		for _, c := range session {
			req.AddCookie(c)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("upload: %s: %s", resp.Status, body)
		}
	})
	clientsAssertRSSGrowth(t, "a 200 MiB upload through the console", growth)

	got := sha256.New()
	growth = clientsRSSGrowth(t, gw.PID(), func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/buckets/"+bucket+"/download?key=big", nil)
		for _, c := range session {
			req.AddCookie(c)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(got, resp.Body)
		if err != nil || n != size || resp.StatusCode != http.StatusOK {
			t.Fatalf("download: %s, %d bytes, %v; want 200 and %d bytes", resp.Status, n, err, int64(size))
		}
	})
	clientsAssertRSSGrowth(t, "a 200 MiB download through the console", growth)
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Error("the download differs from the upload")
	}
}
