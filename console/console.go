package console

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is the console's runtime configuration.
type Config struct {
	// Gateway serves the S3 and admin API; every console action is a
	// request to it signed as the logged-in user. Required.
	Gateway http.Handler
	// Region is the region the console signs S3 requests for (the
	// gateway's S3SEAL_REGION). Zero: us-east-1.
	Region string
	// SessionKey seals session cookies (32 bytes). Replicas behind one
	// load balancer share it so that any of them opens any session. nil: a
	// random key per process (sessions end when the process does).
	SessionKey []byte
	// SessionTTL is how long a login lasts. Zero: 1h.
	SessionTTL time.Duration
	// Ready reports whether the gateway can serve (gateway.Server.Ready).
	// nil: the health page shows no readiness.
	Ready func(context.Context) error
	// Metrics is the registry the gateway's metrics are in (request and
	// error rates on the health page). nil: none shown.
	Metrics prometheus.Gatherer
	// Observe, if set, receives console logins and logouts for the audit
	// log and metrics (operation ConsoleLogin, ConsoleLogout).
	Observe func(gateway.RequestInfo)
	// Version is shown on the health page.
	Version string
	Logger  *zap.Logger // nil: no logging
	// Now is the clock. nil: time.Now.
	Now func() time.Time
}

// Console is the operators' web console. It is an http.Handler.
type Console struct {
	cfg      Config
	log      *zap.Logger
	sessions *sessions
	limiter  *loginLimiter
	pages    map[string]*template.Template
	mux      *http.ServeMux
	started  time.Time
	rates    *rateSampler
}

// Limits.
const (
	// maxFormBytes bounds every form body; uploads are streamed instead.
	maxFormBytes = 64 << 10
	// maxLoginFailures failed logins from one source within
	// loginFailureWindow lock that source out for the rest of the window.
	maxLoginFailures   = 5
	loginFailureWindow = 5 * time.Minute
	// actionTimeout bounds a page's requests to the gateway; uploads and
	// downloads are bounded by the idle deadlines instead.
	actionTimeout = 30 * time.Second
	// pageSize is how many entries the objects page shows at once (each is
	// a HEAD for its encryption).
	pageSize = 100
)

// New returns a Console for cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Gateway == nil {
		return nil, errors.New("console: a gateway handler is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key := cfg.SessionKey
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	// Cookies are always Secure: browsers keep them over plain http only
	// for loopback addresses, so a console without TLS serves the machine
	// it runs on and nobody across a network.
	sess, err := newSessions(key, cfg.SessionTTL, true, cfg.Now)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	c := &Console{
		cfg: cfg, log: log.Named("console"), sessions: sess,
		limiter: newLoginLimiter(maxLoginFailures, loginFailureWindow, cfg.Now),
		started: cfg.Now(), rates: &rateSampler{},
	}
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{"bytes": humanBytes, "join": strings.Join}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "buckets", "objects", "object", "keys", "key", "users", "health", "error"} {
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name+".html")
		}
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// routes declares the console's pages. Every route but login and the
// static files needs a session; every state change is a POST or PUT that
// needs the session's CSRF token.
func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.login)
	m.Handle("POST /logout", c.authed(c.logout))
	m.Handle("GET /{$}", c.authed(func(w http.ResponseWriter, r *http.Request, _ *session, _ *api) {
		http.Redirect(w, r, "/buckets", http.StatusSeeOther)
	}))
	m.Handle("GET /buckets", c.authed(c.bucketsPage))
	m.Handle("POST /buckets", c.authed(c.createBucket))
	m.Handle("POST /buckets/{bucket}/encryption", c.authed(c.setBucketEncryption))
	m.Handle("GET /buckets/{bucket}/objects", c.authed(c.objectsPage))
	m.Handle("GET /buckets/{bucket}/object", c.authed(c.objectPage))
	m.Handle("GET /buckets/{bucket}/download", c.authed(c.download))
	m.Handle("PUT /buckets/{bucket}/upload", c.authed(c.upload))
	m.Handle("POST /buckets/{bucket}/delete", c.authed(c.deleteObject))
	m.Handle("GET /keys", c.authed(c.keysPage))
	m.Handle("POST /keys", c.authed(c.createKey))
	m.Handle("GET /keys/{key}", c.authed(c.keyPage))
	m.Handle("POST /keys/{key}/rotate", c.authed(c.rotateKey))
	m.Handle("GET /users", c.authed(c.usersPage))
	m.Handle("POST /users", c.authed(c.createUser))
	m.Handle("POST /users/status", c.authed(c.setUserStatus))
	m.Handle("POST /users/remove", c.authed(c.removeUser))
	m.Handle("POST /users/policy", c.authed(c.userPolicy))
	m.Handle("GET /health", c.authed(c.healthPage))
	c.mux = m
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if r.Method != http.MethodPut {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	// The gateway's idle deadlines reach this connection through the
	// in-process transport; one left by an earlier request on a keep-alive
	// connection must not cut this one short.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	c.mux.ServeHTTP(w, r)
}

type authedHandler func(w http.ResponseWriter, r *http.Request, sess *session, a *api)

// authed requires a session and, for anything but GET, its CSRF token (form
// field csrf or header X-CSRF-Token) and a same-origin request. It hands
// the handler an api signed as the session's user.
func (c *Console) authed(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := c.sessions.open(r)
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, http.StatusUnauthorized, "your session has ended; log in again")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			token := r.Header.Get("X-CSRF-Token")
			if token == "" && r.Method == http.MethodPost {
				token = r.PostFormValue("csrf")
			}
			if !sameOrigin(r) || !sess.validCSRF(token) {
				c.log.Warn("refused a console request with a missing or wrong CSRF token",
					zap.String("path", r.URL.Path), zap.String("source", sourceOf(r.RemoteAddr)), zap.String("access_key", sess.AccessKey))
				c.fail(w, r, sess, http.StatusForbidden, "Forbidden: the request's CSRF token is missing or wrong; reload the page and try again")
				return
			}
		}
		a, err := newAPI(c.cfg.Gateway, c.cfg.Region, sess.AccessKey, sess.SecretKey)
		if err != nil {
			c.fail(w, r, sess, http.StatusInternalServerError, "the console could not prepare its gateway client")
			return
		}
		h(w, r.WithContext(withClient(r.Context(), r, w)), sess, a)
	})
}

// sameOrigin refuses requests a browser marks as coming from another site:
// Sec-Fetch-Site, else Origin when present. Requests with neither (not from
// a browser) are left to the CSRF token.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}

// page is what every template gets.
type page struct {
	Title  string
	Nav    string // the current section: buckets, keys, users, health
	User   string // the logged-in access key; empty on the login page
	CSRF   string
	Error  string // an S3/KMS error in words
	Notice string // what an action did
	Data   any
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.pages[name].ExecuteTemplate(w, "layout.html", p); err != nil {
		c.log.Error("render a console page", zap.String("page", name), zap.Error(err))
	}
}

// fail renders the error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, sess *session, status int, msg string) {
	p := page{Title: http.StatusText(status), Error: msg}
	if sess != nil {
		p.User, p.CSRF = sess.AccessKey, sess.CSRF
	}
	c.render(w, status, "error", p)
}

// statusOf is the HTTP status the gateway answered err with, for the page
// that reports it.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status != 0 {
		return ae.Status
	}
	if s := minio.ToErrorResponse(err).StatusCode; s != 0 {
		return s
	}
	return http.StatusBadGateway
}

func newPage(sess *session, nav, title string) page {
	return page{Title: title, Nav: nav, User: sess.AccessKey, CSRF: sess.CSRF}
}

func actionContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), actionTimeout)
}

// humanBytes is n in B, KiB, MiB, ...
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}
