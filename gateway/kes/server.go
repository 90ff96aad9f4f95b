package kes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/kmsclient"
)

// KMS is what the server serves: the embedded KMS (*kmsclient.KMS) has
// these methods. Errors are matched with errors.Is against kmsclient's
// sentinels (ErrKeyNotFound, ErrKeyExists, ErrDecrypt, ErrInvalidKeyName,
// ErrUnavailable).
type KMS interface {
	CreateKey(ctx context.Context, name string) error
	GenerateKey(ctx context.Context, name string, context []byte) (kmsclient.DEK, error)
	Decrypt(ctx context.Context, name string, ciphertext, context []byte) ([]byte, error)
	ListKeys(ctx context.Context, pattern string) ([]kmsclient.KeyInfo, error)
	DescribeKey(ctx context.Context, name string) (kmsclient.KeyInfo, error)
	DeleteKey(ctx context.Context, name string) error
	Status(ctx context.Context) (kmsclient.Status, error)
}

var _ KMS = (*kmsclient.KMS)(nil)

// Config configures a Server.
type Config struct {
	// KMS holds the keys. Required.
	KMS KMS

	// AdminIdentity may call every API. Empty means no identity is admin:
	// access is by policy only.
	AdminIdentity string

	// Policies, by name, decide what other identities may do. Nil or
	// empty: only the admin has access.
	Policies map[string]Policy

	// Logger receives request failures in detail. Nil means no logging.
	Logger *zap.Logger

	// Version is reported by /version and /v1/status.
	Version string

	// Commit is reported by /version. Empty is fine.
	Commit string

	// Now returns the current time, for uptime. Nil means time.Now.
	Now func() time.Time
}

// Server is the KES API over a KMS. Serve its Handler over TLS with a
// configuration from TLSConfig; without TLS every request that needs an
// identity fails. It is safe for concurrent use.
type Server struct {
	kms        KMS
	admin      string
	byIdentity map[string]*policy
	log        *zap.Logger
	version    string
	commit     string
	now        func() time.Time
	started    time.Time
	routes     []route
	metrics    *serverMetrics
}

// NewServer validates cfg and returns a Server. Identities must be 64 hex
// digits (case is ignored); a policy may not name the admin identity, and
// an identity may have only one policy. Policy names follow the key name
// rule; patterns start with '/' (or are "*") and hold a '*' only at the end.
func NewServer(cfg Config) (*Server, error) {
	if cfg.KMS == nil {
		return nil, errors.New("kes: no KMS")
	}
	s := &Server{
		kms:     cfg.KMS,
		log:     cfg.Logger,
		version: cfg.Version,
		commit:  cfg.Commit,
		now:     cfg.Now,
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.version == "" {
		s.version = "dev"
	}
	if cfg.AdminIdentity != "" {
		admin, err := normalizeIdentity(cfg.AdminIdentity)
		if err != nil {
			return nil, fmt.Errorf("kes: admin: %w", err)
		}
		s.admin = admin
	}
	byIdentity, err := buildPolicies(cfg.Policies, s.admin)
	if err != nil {
		return nil, fmt.Errorf("kes: %w", err)
	}
	s.byIdentity = byIdentity
	s.started = s.now()
	s.routes = s.routeTable()
	s.metrics = newServerMetrics(s)
	return s, nil
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// authMode says how a route checks the caller.
type authMode int

const (
	// authPolicy: the admin, or an identity whose policy allows the path.
	authPolicy authMode = iota
	// authIdentify: any client certificate; the identity is only noted.
	authIdentify
	// authNone: nothing is checked.
	authNone
)

// route is one API: requests whose path is Path (or, when Path ends in
// '/', starts with it — the rest is the resource, a key name or pattern),
// with one of Methods, a body of at most MaxBody bytes, answered within
// Timeout.
type route struct {
	Path    string
	Methods []string
	MaxBody int64
	Timeout time.Duration
	Auth    authMode
	Handler func(w http.ResponseWriter, req *request) error
}

// KES's limits: 1 MiB for bodies that carry keys, 15 s per key operation.
const (
	maxKeyBody     = 1 << 20
	defaultTimeout = 15 * time.Second
)

func (s *Server) routeTable() []route {
	get := []string{http.MethodGet}
	// KES declares these PUT and accepts POST for them too; MinIO's
	// client sends POST.
	put := []string{http.MethodPut, http.MethodPost}
	return []route{
		{Path: "/version", Methods: get, Timeout: 10 * time.Second, Auth: authNone, Handler: s.handleVersion},
		{Path: "/v1/status", Methods: get, Timeout: defaultTimeout, Handler: s.handleStatus},
		{Path: "/v1/ready", Methods: get, Timeout: defaultTimeout, Handler: s.handleReady},
		{Path: "/v1/metrics", Methods: get, Timeout: defaultTimeout, Handler: s.handleMetrics},
		{Path: "/v1/api", Methods: get, Timeout: 10 * time.Second, Handler: s.handleListAPIs},
		{Path: "/v1/identity/self/describe", Methods: get, Timeout: defaultTimeout, Auth: authIdentify, Handler: s.handleSelfDescribe},
		{Path: "/v1/key/create/", Methods: put, Timeout: defaultTimeout, Handler: s.handleCreateKey},
		{Path: "/v1/key/generate/", Methods: put, MaxBody: maxKeyBody, Timeout: defaultTimeout, Handler: s.handleGenerateKey},
		{Path: "/v1/key/decrypt/", Methods: put, MaxBody: maxKeyBody, Timeout: defaultTimeout, Handler: s.handleDecryptKey},
		{Path: "/v1/key/describe/", Methods: get, Timeout: defaultTimeout, Handler: s.handleDescribeKey},
		{Path: "/v1/key/list/", Methods: get, Timeout: defaultTimeout, Handler: s.handleListKeys},
		{Path: "/v1/key/delete/", Methods: []string{http.MethodDelete}, Timeout: defaultTimeout, Handler: s.handleDeleteKey},
	}
}

// match returns the route for a request path and the resource after the
// route's path.
func (s *Server) match(p string) (*route, string, bool) {
	for i := range s.routes {
		rt := &s.routes[i]
		if !strings.HasSuffix(rt.Path, "/") {
			if p == rt.Path {
				return rt, "", true
			}
			continue
		}
		if resource, ok := strings.CutPrefix(p, rt.Path); ok {
			return rt, resource, true
		}
		if p == strings.TrimSuffix(rt.Path, "/") {
			return rt, "", true
		}
	}
	return nil, "", false
}

// request is an API request with its route and, once authorised, the
// caller's identity.
type request struct {
	*http.Request
	route    *route
	identity string // empty for authNone routes
	resource string
}

// serveHTTP runs a request through its route: path check, method, body
// limit, timeout, authorisation, handler. Handlers return errors; fail
// writes them.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	s.metrics.active.Inc()
	defer func() {
		s.metrics.active.Dec()
		s.metrics.observe(rec.status, time.Since(start))
	}()

	req := &request{Request: r}
	if err := s.route(rec, req); err != nil {
		s.fail(rec, req, err)
		return
	}
	if t := req.route.Timeout; t > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), t)
		defer cancel()
		req.Request = r.WithContext(ctx)
	}
	if err := s.authorize(req); err != nil {
		s.fail(rec, req, err)
		return
	}
	if err := req.route.Handler(rec, req); err != nil {
		s.fail(rec, req, err)
		return
	}
	if ce := s.log.Check(zap.DebugLevel, "kes request"); ce != nil {
		ce.Write(zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("identity", req.identity),
			zap.Int("status", rec.statusOrOK()), zap.Duration("duration", time.Since(start)))
	}
}

// route finds req's route and checks its method and body size; the body is
// limited to the route's MaxBody from now on.
func (s *Server) route(w http.ResponseWriter, req *request) error {
	r := req.Request
	if !isCleanPath(r.URL.Path) {
		return &apiError{status: http.StatusBadRequest, message: "invalid request path"}
	}
	rt, resource, ok := s.match(r.URL.Path)
	if !ok {
		return &apiError{status: http.StatusNotFound, message: "not found"}
	}
	req.route, req.resource = rt, resource
	if !slices.Contains(rt.Methods, r.Method) {
		w.Header().Set("Allow", strings.Join(rt.Methods, ", "))
		return &apiError{status: http.StatusMethodNotAllowed, message: fmt.Sprintf("received method '%s' expected '%s'", r.Method, rt.Methods[0])}
	}
	// Routes without a body ignore one, as KES does; the others refuse
	// one that is declared too large before reading it.
	if rt.MaxBody > 0 && r.ContentLength > rt.MaxBody {
		return &apiError{status: http.StatusRequestEntityTooLarge, message: "request body too large"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, rt.MaxBody)
	return nil
}

// authorize identifies the caller of req as its route requires and checks
// it against the admin identity and its policy.
func (s *Server) authorize(req *request) error {
	if req.route.Auth == authNone {
		return nil
	}
	identity, apiErr := identifyRequest(req.TLS)
	if apiErr != nil {
		return apiErr
	}
	req.identity = identity
	if req.route.Auth == authIdentify || (s.admin != "" && identity == s.admin) {
		return nil
	}
	p, ok := s.byIdentity[identity]
	if !ok {
		return &apiError{status: http.StatusForbidden, message: kmsclient.ErrNotAllowed.Error(), cause: errors.New("identity has no policy")}
	}
	if !p.allows(req.URL.Path) {
		return &apiError{status: http.StatusForbidden, message: kmsclient.ErrNotAllowed.Error(), cause: fmt.Errorf("refused by policy %q", p.name)}
	}
	return nil
}

// isCleanPath reports whether p is absolute and has no empty, "." or ".."
// segments (a trailing slash is fine), so that what the policy matches is
// what the router routes.
func isCleanPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	clean := path.Clean(p)
	return p == clean || p == clean+"/"
}

// apiError is an answer to send instead of the handler's: status and the
// message the client sees. cause, when set, is logged and never sent.
type apiError struct {
	status  int
	message string
	cause   error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.message + ": " + e.cause.Error()
	}
	return e.message
}

func (e *apiError) Unwrap() error { return e.cause }

// Texts KES clients match on, with their statuses.
var (
	errKeyNotFound = &apiError{status: http.StatusNotFound, message: kmsclient.ErrKeyNotFound.Error()}
	errKeyExists   = &apiError{status: http.StatusBadRequest, message: kmsclient.ErrKeyExists.Error()}
	errDecrypt     = &apiError{status: http.StatusBadRequest, message: kmsclient.ErrDecrypt.Error()}
)

// kmsFailure translates a KMS error, once, into the answer: KES's statuses
// and texts for the errors clients act on, and otherwise a generic message
// (what the operation failed to do) with the error kept for the log.
func kmsFailure(err error, generic string) error {
	switch {
	case errors.Is(err, kmsclient.ErrKeyNotFound):
		return errKeyNotFound
	case errors.Is(err, kmsclient.ErrKeyExists):
		return errKeyExists
	case errors.Is(err, kmsclient.ErrDecrypt):
		return errDecrypt
	case errors.Is(err, kmsclient.ErrInvalidKeyName):
		return &apiError{status: http.StatusBadRequest, message: "invalid key name", cause: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusGatewayTimeout, message: generic + ": timed out", cause: err}
	case errors.Is(err, context.Canceled):
		return &apiError{status: http.StatusServiceUnavailable, message: generic + ": request canceled", cause: err}
	default:
		// Key store unreachable or failing: KES answers 502 with what it
		// failed to do.
		return &apiError{status: http.StatusBadGateway, message: generic, cause: err}
	}
}

// fail writes err as KES does, {"message": TEXT}, and logs it: server-side
// failures with their cause at error level, refusals at info, client
// mistakes at debug.
func (s *Server) fail(w *statusRecorder, req *request, err error) {
	apiErr, ok := errors.AsType[*apiError](err)
	if !ok {
		apiErr = &apiError{status: http.StatusInternalServerError, message: "internal error", cause: err}
	}
	level := zap.DebugLevel
	switch {
	case apiErr.status >= 500:
		level = zap.ErrorLevel
		if errors.Is(err, context.Canceled) {
			level = zap.DebugLevel
		}
	case apiErr.status == http.StatusForbidden:
		level = zap.InfoLevel
	}
	if ce := s.log.Check(level, "kes request failed"); ce != nil {
		fields := []zap.Field{
			zap.String("method", req.Method), zap.String("path", req.URL.Path),
			zap.String("remote", req.RemoteAddr), zap.Int("status", apiErr.status),
		}
		if req.identity != "" {
			fields = append(fields, zap.String("identity", req.identity))
		}
		if apiErr.cause != nil {
			fields = append(fields, zap.Error(apiErr.cause))
		} else {
			fields = append(fields, zap.String("error", apiErr.message))
		}
		ce.Write(fields...)
	}
	if w.wroteHeader {
		return // the handler had started its answer; nothing more to say
	}
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{apiErr.message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(apiErr.status)
	w.Write(body)
}

// replyJSON answers 200 with v as JSON.
func replyJSON(w http.ResponseWriter, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// replyOK answers 200 with an empty body.
func replyOK(w http.ResponseWriter) error {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) statusOrOK() int {
	if !r.wroteHeader {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
