package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/gateway/sigv4"
	"github.com/s3seal/s3seal/kmsclient"
)

// KMS is what the gateway needs from a key management service. Both the
// embedded KMS (kmsclient.KMS) and the external KES client satisfy it.
// Errors: kmsclient.ErrKeyNotFound, kmsclient.ErrKeyExists,
// kmsclient.ErrDecrypt, kmsclient.ErrInvalidKeyName; anything else is
// treated as the KMS being unavailable.
type KMS interface {
	CreateKey(ctx context.Context, name string) error
	GenerateKey(ctx context.Context, name string, context []byte) (kmsclient.DEK, error)
	Decrypt(ctx context.Context, name string, ciphertext, context []byte) ([]byte, error)
	ListKeys(ctx context.Context, pattern string) ([]kmsclient.KeyInfo, error)
	Status(ctx context.Context) (kmsclient.Status, error)
	// RotateKey adds a key version (kmsclient.KMS.RotateKey); a KMS
	// without versions returns kmsclient.ErrRotationUnsupported.
	RotateKey(ctx context.Context, name string) (int, error)
}

// Config is the gateway's runtime configuration.
type Config struct {
	Backend BackendConfig
	// Region is the region clients must sign for; requests signed for the
	// empty region (mc admin) are accepted too. Zero: any region.
	Region string
	// RootUser and RootPassword are the root credentials: root may do
	// everything its buckets' policies do not deny.
	RootUser, RootPassword string
	// Credentials holds the other access keys clients sign with and their
	// policies. nil: only root.
	Credentials CredentialStore
	// Domain enables virtual-hosted-style requests (bucket.Domain).
	Domain string
	KMS    KMS
	// RemoteKMS: every data-key decryption is a network round trip (an
	// external KES server), so listings keep reading client ETags from
	// listing-index entries rather than opening one sealed in each listed
	// object's metadata (listmeta.go).
	RemoteKMS bool
	// DefaultKey is the KMS key for SSE-S3 and for requests that ask for no
	// encryption in buckets without a default configuration.
	DefaultKey string
	// PlaintextBuckets are stored without encryption. Nothing else is.
	PlaintextBuckets []string
	// LegacyPlaintextReadBuckets are encrypted buckets in which reads of
	// objects without s3seal metadata (written to the backend before
	// s3seal, during a migration) return the object as stored. Writes are
	// encrypted as in any other bucket. Elsewhere such objects are refused.
	LegacyPlaintextReadBuckets []string
	// SystemBucket holds s3seal's own records on the backend. Zero: s3seal-system.
	SystemBucket string
	// BucketConfigTTL bounds how long a replica caches a bucket's encryption
	// configuration and bucket policy. Zero: 5s.
	BucketConfigTTL time.Duration
	// IAMRefreshInterval is how often a replica checks the system bucket
	// for IAM changes (users, access keys, groups, policies) made through
	// another replica; a change is in force everywhere within it plus one
	// round trip. Zero: 2s; negative: never (tests).
	IAMRefreshInterval time.Duration
	// BodyReadIdleTimeout fails a request whose body sends no byte for
	// this long with 400 RequestTimeout; a body that keeps arriving, however
	// slowly, is never cut off. Zero: 60s; negative: no limit.
	BodyReadIdleTimeout time.Duration
	// WriteIdleTimeout ends a response to which no byte could be written
	// for this long (a client that stopped reading). Zero: 2m; negative: no
	// limit.
	WriteIdleTimeout time.Duration
	// DisableMD5ETags turns off the MD5 of the plaintext as the ETag of
	// single-part SSE-S3 objects (etag.go): every object then shows the
	// backend's ETag of its ciphertext, and conditional requests are
	// evaluated by the backend. Zero: MD5 ETags on.
	DisableMD5ETags bool
	// AllowInsecureSSEC accepts SSE-C keys over plain http (development only).
	AllowInsecureSSEC bool
	Logger            *zap.Logger // nil: no logging
	Version           string
	// Observe, if set, is called once per S3 request after it completes.
	Observe func(RequestInfo)
	// ObserveBackend, if set, is called once per backend request with the
	// backend's status (0 when it could not be reached) and the duration.
	ObserveBackend func(method string, status int, err error, d time.Duration)
	// ObserveUnsealedRead, if set, is called once for every read of an
	// object without s3seal metadata in an encrypted bucket: refused (the
	// default) or served (a LegacyPlaintextReadBuckets bucket). operation
	// is the route name (GetObject, HeadObject, CopyObject, ...).
	ObserveUnsealedRead func(operation string, refused bool)
	// Metrics, if set, is served at /metrics (outside S3 authentication;
	// the handler does its own access control).
	Metrics http.Handler
}

// RequestInfo describes one finished request, for metrics and audit logs.
type RequestInfo struct {
	RequestID string
	Operation string
	// AccessKey is the key the request was signed with (temporary
	// credentials' own key included); empty for anonymous requests and
	// for those refused before authentication. Never a secret or token.
	AccessKey string
	// ParentUser is the long-term access key temporary credentials were
	// issued to; empty otherwise.
	ParentUser string
	// Anonymous: the request carried no authentication; the bucket's
	// policy decided it.
	Anonymous bool
	Bucket    string
	Object    string
	KeyID     string
	Encrypted bool // the object data was encrypted (write) or decrypted (read)
	Status    int
	BytesIn   int64
	BytesOut  int64
	Duration  time.Duration
	Time      time.Time
}

// Server is the s3seal S3 endpoint.
type Server struct {
	cfg       Config
	log       *zap.Logger
	backend   *backend
	verifier  *sigv4.Verifier
	handler   http.Handler // the router behind the idle deadlines and the virtual-host rewrite
	plaintext map[string]bool
	legacy    map[string]bool // LegacyPlaintextReadBuckets
	records   *records        // s3seal's own state on the backend
	iam       *iamStore       // users, access keys, groups, policies of the admin API
	ready     atomic.Bool
	initErr   atomic.Pointer[RecordKeyError] // why Init last failed, when the key store cannot open the records
	sessions  atomic.Pointer[sessionSealer]  // seals STS session tokens; set by Init
	// openedSessions caches opened session tokens by access key.
	openedSessions *ttlCache[*openedSession]
	// stsVerifier authenticates AssumeRole (service sts).
	stsVerifier *sigv4.Verifier
	// now is the clock of session expiry (tests move it).
	now       func() time.Time
	readiness readinessProbe // caches Ready's backend and KMS checks
}

// New returns a Server for cfg. It does not contact the backend; call Init
// before serving to prepare the system bucket and default key.
func New(cfg Config) (*Server, error) {
	if cfg.RootUser == "" || cfg.RootPassword == "" {
		return nil, errors.New("root user and password are required")
	}
	if cfg.KMS == nil {
		return nil, errors.New("a KMS is required")
	}
	if cfg.DefaultKey == "" {
		return nil, errors.New("a default KMS key is required")
	}
	if cfg.SystemBucket == "" {
		cfg.SystemBucket = "s3seal-system"
	}
	if cfg.BucketConfigTTL == 0 {
		cfg.BucketConfigTTL = 5 * time.Second
	}
	if cfg.IAMRefreshInterval == 0 {
		cfg.IAMRefreshInterval = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	be, err := newBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	be.observe = cfg.ObserveBackend
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		backend:   be,
		plaintext: map[string]bool{},
		legacy:    map[string]bool{},
		now:       time.Now,
		// Tokens are at most a few KiB: a few MiB at most.
		openedSessions: newTTLCache[*openedSession](1024, time.Minute),
	}
	s.records = &records{
		bucket:  cfg.SystemBucket,
		backend: be,
		store: func(ctx context.Context, name string, h http.Header, data []byte) (*http.Response, error) {
			enc := &encryption{domain: crypto.DomainS3, keyID: cfg.DefaultKey}
			resp, _, err := s.storeEncrypted(ctx, enc, cfg.SystemBucket, name, "", h, bytes.NewReader(data), int64(len(data)), nil, nil)
			return resp, err
		},
		unseal: func(ctx context.Context, meta *crypto.Metadata, name string) (crypto.ObjectKey, error) {
			return s.unsealObject(ctx, meta, cfg.SystemBucket, name, nil)
		},
		sse:      newTTLCache[*bucketSSEConfig](4096, cfg.BucketConfigTTL),
		policies: newTTLCache[*policy.Policy](4096, cfg.BucketConfigTTL),
		layouts:  newTTLCache[partLayout](4096, time.Hour),
		uploads:  newTTLCache[*uploadState](1024, 10*time.Minute),
		// A part record is about 200 bytes: at most a few MiB.
		partCache: newTTLCache[*partRecord](16384, time.Hour),
	}
	// Static users first: the API can neither shadow nor change them.
	s.iam = newIAMStore(s.records, cfg.RootUser, cfg.Credentials, cfg.IAMRefreshInterval, cfg.Logger)
	s.cfg.Credentials = credentialChain{cfg.Credentials, s.iam}
	for _, b := range cfg.PlaintextBuckets {
		s.plaintext[b] = true
	}
	for _, b := range cfg.LegacyPlaintextReadBuckets {
		s.legacy[b] = true
	}
	s.verifier = &sigv4.Verifier{
		Region:        cfg.Region,
		Secret:        s.lookupSecret,
		SessionSecret: s.sessionSecret,
	}
	s.stsVerifier = stsVerifierFor(s)
	// Virtual-hosted-style requests are rewritten before routing: mux
	// middlewares only run after a route matched.
	s.handler = s.idleDeadlines(s.virtualHost(dispatch{s.routes()}))
	return s, nil
}

// Init prepares the backend for serving: the system bucket exists and the
// default key exists in the KMS (created if absent).
func (s *Server) Init(ctx context.Context) error {
	if err := s.cfg.KMS.CreateKey(ctx, s.cfg.DefaultKey); err != nil && !errors.Is(err, kmsclient.ErrKeyExists) {
		return fmt.Errorf("create default key %q: %w", s.cfg.DefaultKey, err)
	}
	if _, err := s.cfg.KMS.GenerateKey(ctx, s.cfg.DefaultKey, []byte("{}")); err != nil {
		return fmt.Errorf("use default key %q: %w", s.cfg.DefaultKey, err)
	}
	if err := s.records.ensureBucket(ctx); err != nil {
		return fmt.Errorf("system bucket %q: %w", s.cfg.SystemBucket, err)
	}
	key, err := s.records.loadKey(ctx, indexKeyRecord)
	if rke, ok := errors.AsType[*RecordKeyError](err); ok {
		s.initErr.Store(rke)
		return err
	}
	if err != nil {
		return fmt.Errorf("listing index key: %w", err)
	}
	if err := s.iam.refresh(ctx); err != nil {
		if rke, ok := errors.AsType[*RecordKeyError](err); ok {
			s.initErr.Store(rke)
		}
		return fmt.Errorf("IAM state: %w", err)
	}
	stsKey, err := s.records.loadKey(ctx, stsKeyRecord)
	if err != nil {
		return fmt.Errorf("session token key: %w", err)
	}
	sealer, err := newSessionSealer(stsKey)
	if err != nil {
		return fmt.Errorf("session token key: %w", err)
	}
	lists, err := s.records.probeListingMetadata(ctx)
	if err != nil {
		return fmt.Errorf("probe listing metadata: %w", err)
	}
	// Opening a sealed ETag from a listing costs one data-key decryption
	// per entry: local crypto with the embedded KMS, but a round trip per
	// entry with an external KES server, where index entries stay cheaper.
	s.records.listsMetadata.Store(lists && !s.cfg.RemoteKMS)
	s.initErr.Store(nil)
	s.records.indexKey = key
	s.sessions.Store(sealer)
	s.ready.Store(true)
	go s.iam.run(ctx)
	return nil
}

// ServeHTTP implements http.Handler. The query is put in its canonical
// form before anything reads it, so that authentication, routing and the
// request forwarded to the backend all see the same parameters.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q, err := sigv4.CanonicalQuery(r.URL.RawQuery)
	if err != nil {
		// Refused before routing, but answered, logged and audited as
		// any other request, under the id the client sees.
		start := time.Now()
		req := &s3Request{id: newRequestID(), operation: "MalformedQuery"}
		req.bucket, req.object = bucketObject(r)
		rec := &recorder{ResponseWriter: w}
		rec.Header().Set("X-Amz-Request-Id", req.id)
		rec.Header().Set("Server", "s3seal")
		s3err.WriteXML(rec, r, req.id, err)
		s.finish(rec, r, req, start, nil)
		return
	}
	r.URL.RawQuery = q
	r.URL.ForceQuery = false
	s.handler.ServeHTTP(w, r)
}

// s3Request is what every S3 handler gets besides the HTTP request.
type s3Request struct {
	id        string
	operation string
	bucket    string
	object    string
	accessKey string
	// sessionToken is the security token of temporary credentials; a
	// credential, never logged.
	sessionToken string
	anonymous    bool           // no authentication: bucket policies decide
	parentUser   string         // temporary credentials' parent, for audit
	route        *route         // nil for s3seal's own (admin) endpoints
	payload      *sigv4.Payload // nil: no body
	// copySource is the source object of a copy once it is parsed; error
	// documents name it.
	copySource string
	keyID      string // KMS key used, for audit
	// bucketFilter, if set, is the buckets a ListBuckets may show (a
	// user without s3:ListAllMyBuckets).
	bucketFilter func(bucket string) bool
	encrypted    bool // object data went through the crypto pipeline
	// selfOnly: the caller lacks the admin action and may act on its own
	// access keys only (access.selfService).
	selfOnly bool
}

type s3Handler func(w http.ResponseWriter, r *http.Request, req *s3Request) error

// recorder counts what a handler wrote, for logs and metrics.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(p)
	rw.bytes += int64(n)
	return n, err
}

func (rw *recorder) Flush() {
	if f, ok := rw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// countingReader counts the bytes a handler consumed from the client.
type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
func (c *countingReader) Close() error { return c.r.Close() }

// serveRoute wraps the handler of an S3 operation: request id,
// authentication, S3 XML error responses, one log line. Once the request is
// authenticated, its query holds only what the operation takes, so nothing
// else can reach the backend.
func (s *Server) serveRoute(rt route) http.Handler {
	return s.handle(&rt, rt.name, rt.handler, s3err.WriteXML)
}

type errorWriter func(w http.ResponseWriter, r *http.Request, requestID string, err error)

// begin starts serving a request of operation name: its id, the
// recorder the log line and metrics read, and the headers every answer
// carries. finish ends it.
func begin(hw http.ResponseWriter, name string) (*s3Request, *recorder) {
	req := &s3Request{id: newRequestID(), operation: name}
	w := &recorder{ResponseWriter: hw}
	w.Header().Set("X-Amz-Request-Id", req.id)
	w.Header().Set("Server", "s3seal")
	return req, w
}

func (s *Server) handle(rt *route, name string, h s3Handler, writeErr errorWriter) http.Handler {
	return http.HandlerFunc(func(hw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req, w := begin(hw, name)
		req.route = rt
		req.bucket, req.object = bucketObject(r)
		var counted *countingReader
		err := func() error {
			// S3 operations only: anonymous requests never reach the
			// admin and KMS endpoints, whose verification refuses them.
			req.anonymous = rt != nil && sigv4.IsAnonymous(r)
			res, err := s.verify(r, rt, req.anonymous)
			if err != nil {
				return err
			}
			req.accessKey, req.sessionToken = res.AccessKey, res.SessionToken
			req.payload = res.Payload
			if req.payload != nil {
				counted = &countingReader{r: req.payload.Body}
				req.payload.Body = counted
			}
			if !s.ready.Load() {
				return s3err.New(s3err.ServiceUnavailable, "s3seal is starting: the backend or the KMS is not ready yet.")
			}
			if err := s.refuseInsecureSSEC(r); err != nil {
				return err
			}
			if req.bucket == s.cfg.SystemBucket {
				return s3err.New(s3err.AccessDenied, "The bucket %s is reserved for s3seal.", req.bucket)
			}
			if rt != nil {
				if err := checkNames(req.bucket, req.object, rt.strictBucketName); err != nil {
					return err
				}
			}
			if err := s.authorize(r, req, name); err != nil {
				return err
			}
			if rt != nil {
				r.URL.RawQuery = rt.backendQuery(r.URL.RawQuery)
			}
			return h(w, r, req)
		}()
		abort := false
		if err != nil {
			abort = s.writeError(w, r, req, err, writeErr)
		}
		if req.payload != nil {
			_ = req.payload.Body.Close()
		}
		s.finish(w, r, req, start, counted)
		if abort {
			// Headers are gone: the only honest signal left is to break
			// the connection so the client sees a truncated response.
			panic(http.ErrAbortHandler)
		}
	})
}

// writeError answers err as S3 XML. It reports true when the response had
// already started, so the connection must be aborted instead.
func (s *Server) writeError(w *recorder, r *http.Request, req *s3Request, err error, writeErr errorWriter) bool {
	e := s3err.From(err)
	if e.Code.Status >= 500 {
		s.log.Error("request failed", zap.String("request_id", req.id), zap.String("operation", req.operation), zap.Error(err))
	} else if e.Err != nil {
		s.log.Debug("request refused", zap.String("request_id", req.id), zap.String("operation", req.operation), zap.Error(err))
	}
	if w.status != 0 {
		return true
	}
	if e.Bucket == "" && e.Key == "" && !unattributed(err) {
		c := *e
		c.Bucket, c.Key = req.bucket, errorKey(req)
		e = &c
	}
	writeErr(w, r, req.id, e)
	return false
}

// unattributed reports errors MinIO answers before it looks at the
// request's bucket and object (a clock out of step, SSE-C over plain http,
// an operation it does not serve), whose documents name neither.
func unattributed(err error) bool {
	return err == errNotServed || s3err.HasCode(err, s3err.RequestTimeTooSkewed) || s3err.HasCode(err, s3err.InsecureSSECustomerRequest)
}

// errorKey is the Key an error document names: the request's object, or,
// once a copy has read its source, the source object, as MinIO's do.
func errorKey(req *s3Request) string {
	if req.copySource != "" {
		return req.copySource
	}
	return req.object
}

func (s *Server) finish(w *recorder, r *http.Request, req *s3Request, start time.Time, counted *countingReader) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	var in int64
	if counted != nil {
		in = counted.n
	}
	d := time.Since(start)
	s.log.Info("request",
		zap.String("request_id", req.id),
		zap.String("operation", req.operation),
		zap.String("method", r.Method),
		zap.String("bucket", req.bucket),
		zap.String("object", req.object),
		zap.Int("status", status),
		zap.Int64("bytes_in", in),
		zap.Int64("bytes_out", w.bytes),
		zap.Duration("duration", d),
	)
	if s.cfg.Observe != nil {
		s.cfg.Observe(RequestInfo{
			RequestID: req.id, Operation: req.operation, AccessKey: req.accessKey,
			ParentUser: req.parentUser, Anonymous: req.anonymous,
			Bucket: req.bucket, Object: req.object, KeyID: req.keyID, Encrypted: req.encrypted, Status: status,
			BytesIn: in, BytesOut: w.bytes, Duration: d, Time: start,
		})
	}
}

// bucketObject splits a path-style request path into bucket and object.
func bucketObject(r *http.Request) (bucket, object string) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucket, object, _ = strings.Cut(p, "/")
	return bucket, object
}

// virtualHost rewrites bucket.Domain requests to path style after the
// signature over the original request has been checked.
func (s *Server) virtualHost(next http.Handler) http.Handler {
	if s.cfg.Domain == "" {
		return next
	}
	suffix := "." + strings.ToLower(s.cfg.Domain)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if bucket, ok := strings.CutSuffix(host, suffix); ok && bucket != "" {
			orig := *r.URL
			r = r.WithContext(context.WithValue(r.Context(), originalURLKey{}, &orig))
			u := *r.URL
			u.Path = "/" + bucket + r.URL.Path
			u.RawPath = ""
			if r.URL.RawPath != "" {
				u.RawPath = "/" + bucket + r.URL.RawPath
			}
			r.URL = &u
		}
		next.ServeHTTP(w, r)
	})
}

type originalURLKey struct{}

// verify authenticates r against the URL the client signed, which differs
// from the routed one for virtual-hosted-style requests; an anonymous
// request only gets its payload prepared. The checksum headers of a
// CompleteMultipartUpload describe the object, not the body.
func (s *Server) verify(r *http.Request, rt *route, anonymous bool) (*sigv4.Result, error) {
	if anonymous {
		return s.verifier.VerifyAnonymous(r, !rt.objectChecksums)
	}
	verify := s.verifier.Verify
	if rt != nil && rt.objectChecksums {
		verify = s.verifier.VerifyObjectChecksums
	}
	orig, ok := r.Context().Value(originalURLKey{}).(*url.URL)
	if !ok || sigv4.IsV2(r) {
		// Signature Version 2 signs the path-style resource, /bucket/key.
		return verify(r)
	}
	routed := r.URL
	r.URL = orig
	res, err := verify(r)
	routed.RawQuery = orig.RawQuery
	r.URL = routed
	return res, err
}

var errNotInitialised = errors.New("gateway not initialised")

func zapErr(err error) zap.Field { return zap.Error(err) }
func zapKey(k string) zap.Field  { return zap.String("key_id", k) }
