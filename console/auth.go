package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway"
)

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.sessions.open(r) != nil {
		http.Redirect(w, r, "/buckets", http.StatusSeeOther)
		return
	}
	c.renderLogin(w, http.StatusOK, r.URL.Query().Get("next"), "")
}

func (c *Console) renderLogin(w http.ResponseWriter, status int, next, msg string) {
	token := c.sessions.loginToken(w)
	c.render(w, status, "login", page{Title: "Log in", CSRF: token, Error: msg, Data: safeNext(next)})
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/buckets"
	}
	return next
}

// login checks the access key and secret the way the gateway checks every
// request, by sending one signed with them (ListBuckets): a signature the
// gateway refuses is a failed login; anything it authenticates, even a
// user it then denies, is a valid one.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	source := sourceOf(r.RemoteAddr)
	next := r.PostFormValue("next")
	if ok, wait := c.limiter.allowed(source); !ok {
		c.log.Warn("console login refused: too many failed logins from this source", zap.String("source", source))
		w.Header().Set("Retry-After", formatSeconds(wait))
		c.renderLogin(w, http.StatusTooManyRequests, next, "SlowDown: too many failed logins from your address; try again in "+wait.Round(time.Second).String())
		return
	}
	if !sameOrigin(r) || !c.sessions.validLoginToken(r, r.PostFormValue("csrf")) {
		c.log.Warn("console login refused: missing or wrong CSRF token", zap.String("source", source))
		c.renderLogin(w, http.StatusForbidden, next, "Forbidden: the login form's CSRF token is missing or wrong; try again")
		return
	}
	accessKey := strings.TrimSpace(r.PostFormValue("access_key"))
	secretKey := r.PostFormValue("secret_key")
	if accessKey == "" || secretKey == "" {
		c.renderLogin(w, http.StatusBadRequest, next, "enter an access key and a secret key")
		return
	}
	a, err := newAPI(c.cfg.Gateway, c.cfg.Region, accessKey, secretKey)
	if err != nil {
		c.renderLogin(w, http.StatusInternalServerError, next, "the console could not prepare its gateway client")
		return
	}
	ctx, cancel := actionContext(r)
	defer cancel()
	_, err = a.s3.ListBuckets(withClient(ctx, r, w))
	switch code := errorCode(err); {
	case err == nil, code == "AccessDenied":
	case code == "InvalidAccessKeyId", code == "SignatureDoesNotMatch":
		c.limiter.failed(source)
		c.audit("ConsoleLogin", accessKey, http.StatusForbidden)
		c.log.Warn("console login failed", zap.String("source", source), zap.String("access_key", accessKey), zap.String("code", code))
		c.renderLogin(w, http.StatusForbidden, next, "InvalidAccessKeyId: the access key or the secret key is wrong")
		return
	default:
		c.renderLogin(w, statusOf(err), next, "the gateway could not check the credentials: "+describe(err))
		return
	}
	c.sessions.start(w, accessKey, secretKey)
	http.SetCookie(w, c.sessions.cookie(loginCookie, "", -1))
	c.audit("ConsoleLogin", accessKey, http.StatusOK)
	c.log.Info("console login", zap.String("source", source), zap.String("access_key", accessKey))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, sess *session, _ *api) {
	c.sessions.end(w, sess)
	c.audit("ConsoleLogout", sess.AccessKey, http.StatusOK)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// audit reports a console login or logout to the audit log and metrics.
func (c *Console) audit(operation, accessKey string, status int) {
	if c.cfg.Observe == nil {
		return
	}
	c.cfg.Observe(gateway.RequestInfo{
		RequestID: randomToken()[:16], Operation: operation, AccessKey: accessKey,
		Status: status, Time: c.cfg.Now(),
	})
}

func formatSeconds(d time.Duration) string {
	s := int(d.Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
