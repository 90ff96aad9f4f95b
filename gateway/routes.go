package gateway

import (
	"mime"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// route is one S3 operation: how it is matched, its handler, and what of
// the client's request may reach the backend. The table is in MinIO's route
// precedence (cmd/api-router.go), so a request that s3seal classifies as one
// operation is the operation MinIO would execute; and because only the
// parameters and headers named here are forwarded, any other backend sees
// nothing that could make it execute another.
type route struct {
	name    string
	method  string
	path    string   // rootPath, bucketPath or objectPath
	queries []string // "key" must be present, "key=value" must match exactly
	// when, if set, must hold too (a header the operation is known by);
	// sample is a request header or query key (prefixed "?") for which it
	// does, for Operations.
	when    func(r *http.Request) bool
	sample  []string
	handler s3Handler
	// params are the further query parameters the operation takes; the
	// query sent to the backend holds the matched keys and these, nothing else.
	params []string
	// headers are the request headers a passed-through operation forwards
	// (lower case; a trailing '*' matches a prefix). Handlers that transform
	// a request build their backend headers themselves.
	headers []string
	// maxBody bounds the body the operation takes (a passed-through one
	// forwards; a handler that parses it reads); zero means it takes none,
	// dataBody any size.
	maxBody int64
	// strictBucketName applies S3's rules for new buckets (CreateBucket).
	strictBucketName bool
	// objectChecksums: the request's x-amz-checksum-* headers describe the
	// object it completes, not its body (CompleteMultipartUpload).
	objectChecksums bool
	// direct, if set, serves the request itself, authenticating it its own
	// way (browser forms sign a policy, not the request).
	direct http.Handler
}

// Route paths: the service ("/"), a bucket ("/b" or "/b/") or an object
// ("/b/key"), told apart by matchers rather than path templates (no regexp
// per request).
const (
	rootPath   = "root"
	bucketPath = "bucket"
	objectPath = "object"
)

// Body limits of passed-through operations.
const (
	dataBody       = -1
	configBody     = 2 << 20 // XML and JSON configuration documents
	deleteListBody = 4 << 20 // DeleteObjects: 1000 keys of up to 1 KiB
)

var pathMatchers = map[string]mux.MatcherFunc{rootPath: isRootPath, bucketPath: isBucketPath, objectPath: isObjectPath}

func isRootPath(r *http.Request, _ *mux.RouteMatch) bool { return r.URL.Path == "/" }

func isBucketPath(r *http.Request, _ *mux.RouteMatch) bool {
	b, o := bucketObject(r)
	return b != "" && o == "" && !reservedBucket(b)
}

func isObjectPath(r *http.Request, _ *mux.RouteMatch) bool {
	b, o := bucketObject(r)
	return b != "" && o != "" && !reservedBucket(b)
}

// reservedBucket reports bucket names that are never S3 buckets: under
// /minio/ a MinIO backend serves its admin and vendor APIs, which must
// never be signed with the backend's credentials. s3seal's own endpoints
// there are matched before any S3 route.
func reservedBucket(b string) bool { return b == "minio" }

// Header groups of passed-through operations.
var (
	readForward   = []string{"range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "x-amz-checksum-mode"}
	objectHeaders = []string{
		"cache-control", "content-disposition", "content-encoding", "content-language", "content-type", "expires",
		"x-amz-meta-*", "x-amz-tagging", "x-amz-storage-class", "x-amz-acl", "x-amz-grant-*",
		"x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
		"x-amz-website-redirect-location", "if-match", "if-none-match", "x-amz-checksum-algorithm", "x-amz-checksum-type",
	}
	copyHeaders = append([]string{
		"x-amz-copy-source", "x-amz-copy-source-if-*", "x-amz-copy-source-range",
		"x-amz-metadata-directive", "x-amz-tagging-directive",
	}, objectHeaders...)
	aclHeaders    = []string{"content-type", "x-amz-acl", "x-amz-grant-*"}
	configHeaders = []string{"content-type"}
)

// Query parameter groups.
var (
	readParams = []string{
		"versionId", "partNumber", "response-cache-control", "response-content-disposition",
		"response-content-encoding", "response-content-language", "response-content-type", "response-expires",
	}
	versionParam = []string{"versionId"}
	listV2Params = []string{"prefix", "delimiter", "max-keys", "continuation-token", "start-after", "fetch-owner", "encoding-type"}
	listV1Params = []string{"prefix", "delimiter", "max-keys", "marker", "encoding-type"}
	versionsList = []string{"prefix", "delimiter", "max-keys", "key-marker", "version-id-marker", "encoding-type"}
)

// hasCopySource matches x-amz-copy-source as MinIO does: a value naming a
// bucket and an object.
func hasCopySource(r *http.Request) bool {
	v := r.Header.Get("X-Amz-Copy-Source")
	return strings.Contains(v, "/") || strings.Contains(strings.ToUpper(v), "%2F")
}

// bucketSubresources are the query keys that name a bucket configuration
// in S3 or MinIO. Those without a route of their own for a method are
// refused for it.
var bucketSubresources = []string{
	"accelerate", "acl", "analytics", "cors", "encryption", "events", "intelligent-tiering", "inventory",
	"lifecycle", "location", "logging", "metadataTable", "metrics", "notification", "object-lock",
	"ownershipControls", "policy", "policyStatus", "publicAccessBlock", "replication", "replication-check",
	"replication-metrics", "replication-reset", "replication-reset-status", "requestPayment", "tagging",
	"torrent", "uploads", "versioning", "versions", "website", "quota", "delete", "select", "restore",
}

// hasUnsupportedSubresource reports a request naming a bucket
// subresource; routes placed after those serving the supported ones.
func hasUnsupportedSubresource(r *http.Request) bool {
	for _, sub := range bucketSubresources {
		if hasQueryKey(r.URL.RawQuery, sub) {
			return true
		}
	}
	return false
}

var copySample = []string{"X-Amz-Copy-Source", "/source-bucket/source-key"}

func isPostForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

func (s *Server) routeTable() []route {
	pass, none := s.passthrough, s.notImplemented
	var (
		get, put, post, del, head = http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead
	)
	q := func(keys ...string) []string { return keys }
	return []route{
		// Objects.
		{name: "GetObjectTorrent", method: get, path: objectPath, queries: q("torrent"), handler: none},
		{name: "PutObjectTorrent", method: put, path: objectPath, queries: q("torrent"), handler: none},
		{name: "DeleteObjectTorrent", method: del, path: objectPath, queries: q("torrent"), handler: none},
		{name: "DeleteObjectAcl", method: del, path: objectPath, queries: q("acl"), handler: none},
		{name: "HeadObject", method: head, path: objectPath, handler: s.headObject, params: readParams, headers: readForward},
		{name: "GetObjectAttributes", method: get, path: objectPath, queries: q("attributes"), handler: s.getObjectAttributes, params: versionParam,
			headers: []string{"x-amz-object-attributes", "x-amz-max-parts", "x-amz-part-number-marker"}},
		{name: "UploadPartCopy", method: put, path: objectPath, queries: q("partNumber", "uploadId"), when: hasCopySource, sample: copySample, handler: s.uploadPartCopy, headers: copyHeaders},
		{name: "UploadPart", method: put, path: objectPath, queries: q("partNumber", "uploadId"), handler: s.uploadPart, maxBody: dataBody},
		{name: "ListParts", method: get, path: objectPath, queries: q("uploadId"), handler: s.listParts, params: []string{"max-parts", "part-number-marker", "encoding-type"}},
		{name: "CompleteMultipartUpload", method: post, path: objectPath, queries: q("uploadId"), handler: s.completeMultipartUpload, objectChecksums: true,
			headers: []string{"content-type", "if-match", "if-none-match"}, maxBody: maxCompleteBody},
		{name: "CreateMultipartUpload", method: post, path: objectPath, queries: q("uploads"), handler: s.createMultipartUpload, headers: objectHeaders},
		{name: "AbortMultipartUpload", method: del, path: objectPath, queries: q("uploadId"), handler: s.abortMultipartUpload},
		{name: "GetObjectAcl", method: get, path: objectPath, queries: q("acl"), handler: pass, params: versionParam},
		{name: "PutObjectAcl", method: put, path: objectPath, queries: q("acl"), handler: pass, params: versionParam, headers: aclHeaders, maxBody: configBody},
		{name: "GetObjectTagging", method: get, path: objectPath, queries: q("tagging"), handler: pass, params: versionParam},
		{name: "PutObjectTagging", method: put, path: objectPath, queries: q("tagging"), handler: pass, params: versionParam, headers: configHeaders, maxBody: configBody},
		{name: "DeleteObjectTagging", method: del, path: objectPath, queries: q("tagging"), handler: pass, params: versionParam},
		{name: "SelectObjectContent", method: post, path: objectPath, queries: q("select", "select-type=2"), handler: s.refuseOnEncrypted, params: versionParam,
			headers: configHeaders, maxBody: configBody},
		{name: "GetObjectRetention", method: get, path: objectPath, queries: q("retention"), handler: pass, params: versionParam},
		{name: "GetObjectLegalHold", method: get, path: objectPath, queries: q("legal-hold"), handler: pass, params: versionParam},
		{name: "GetObjectLambda", method: get, path: objectPath, queries: q("lambdaArn"), handler: none},
		{name: "GetObject", method: get, path: objectPath, handler: s.getObject, params: readParams, headers: readForward},
		{name: "CopyObject", method: put, path: objectPath, when: hasCopySource, sample: copySample, handler: s.copyObject, headers: copyHeaders},
		{name: "PutObjectRetention", method: put, path: objectPath, queries: q("retention"), handler: pass, params: versionParam,
			headers: []string{"content-type", "x-amz-bypass-governance-retention"}, maxBody: configBody},
		{name: "PutObjectLegalHold", method: put, path: objectPath, queries: q("legal-hold"), handler: pass, params: versionParam, headers: configHeaders, maxBody: configBody},
		// MinIO extracts such uploads as archives, and appends at an offset:
		// neither could ever see plaintext.
		{name: "PutObjectExtract", method: put, path: objectPath, handler: none, sample: []string{"X-Amz-Meta-Snowball-Auto-Extract", "true"},
			when: func(r *http.Request) bool {
				return strings.Contains(r.Header.Get("X-Amz-Meta-Snowball-Auto-Extract"), "true")
			}},
		{name: "AppendObject", method: put, path: objectPath, handler: none, sample: []string{"X-Amz-Write-Offset-Bytes", "0"},
			when: func(r *http.Request) bool { return r.Header.Values("X-Amz-Write-Offset-Bytes") != nil }},
		{name: "PutObject", method: put, path: objectPath, handler: s.putObject, headers: objectHeaders, maxBody: dataBody},
		{name: "DeleteObject", method: del, path: objectPath, handler: pass, params: versionParam,
			headers: []string{"x-amz-bypass-governance-retention", "x-amz-mfa", "if-match"}},
		{name: "RestoreObject", method: post, path: objectPath, queries: q("restore"), handler: pass, params: versionParam, headers: configHeaders, maxBody: configBody},

		// Buckets.
		{name: "GetBucketLocation", method: get, path: bucketPath, queries: q("location"), handler: pass},
		{name: "GetBucketPolicy", method: get, path: bucketPath, queries: q("policy"), handler: s.getBucketPolicy},
		{name: "GetBucketLifecycle", method: get, path: bucketPath, queries: q("lifecycle"), handler: pass},
		{name: "GetBucketEncryption", method: get, path: bucketPath, queries: q("encryption"), handler: s.getBucketEncryption},
		{name: "GetBucketObjectLockConfig", method: get, path: bucketPath, queries: q("object-lock"), handler: pass},
		{name: "GetBucketReplication", method: get, path: bucketPath, queries: q("replication"), handler: pass},
		{name: "GetBucketVersioning", method: get, path: bucketPath, queries: q("versioning"), handler: pass},
		{name: "GetBucketNotification", method: get, path: bucketPath, queries: q("notification"), handler: pass},
		{name: "ListenBucketNotification", method: get, path: bucketPath, queries: q("events"), handler: none},
		{name: "ResetBucketReplicationStatus", method: get, path: bucketPath, queries: q("replication-reset-status"), handler: none},
		{name: "GetBucketAcl", method: get, path: bucketPath, queries: q("acl"), handler: pass},
		{name: "PutBucketAcl", method: put, path: bucketPath, queries: q("acl"), handler: pass, headers: aclHeaders, maxBody: configBody},
		{name: "GetBucketCors", method: get, path: bucketPath, queries: q("cors"), handler: pass},
		{name: "PutBucketCors", method: put, path: bucketPath, queries: q("cors"), handler: pass, headers: configHeaders, maxBody: configBody},
		{name: "DeleteBucketCors", method: del, path: bucketPath, queries: q("cors"), handler: pass},
		{name: "GetBucketWebsite", method: get, path: bucketPath, queries: q("website"), handler: pass},
		{name: "GetBucketAccelerate", method: get, path: bucketPath, queries: q("accelerate"), handler: pass},
		{name: "GetBucketRequestPayment", method: get, path: bucketPath, queries: q("requestPayment"), handler: pass},
		{name: "GetBucketLogging", method: get, path: bucketPath, queries: q("logging"), handler: pass},
		{name: "GetBucketTagging", method: get, path: bucketPath, queries: q("tagging"), handler: pass},
		{name: "DeleteBucketWebsite", method: del, path: bucketPath, queries: q("website"), handler: pass},
		{name: "DeleteBucketTagging", method: del, path: bucketPath, queries: q("tagging"), handler: pass},
		{name: "ListMultipartUploads", method: get, path: bucketPath, queries: q("uploads"), handler: pass,
			params: []string{"prefix", "delimiter", "key-marker", "upload-id-marker", "max-uploads", "encoding-type"}},
		{name: "ListObjectsV2M", method: get, path: bucketPath, queries: q("list-type=2", "metadata=true"), handler: s.listObjects, params: listV2Params},
		{name: "ListObjectsV2", method: get, path: bucketPath, queries: q("list-type=2"), handler: s.listObjects, params: listV2Params},
		{name: "ListObjectVersionsM", method: get, path: bucketPath, queries: q("versions", "metadata=true"), handler: s.listObjects, params: versionsList},
		{name: "ListObjectVersions", method: get, path: bucketPath, queries: q("versions"), handler: s.listObjects, params: versionsList},
		{name: "GetBucketPolicyStatus", method: get, path: bucketPath, queries: q("policyStatus"), handler: s.getBucketPolicyStatus},
		{name: "PutBucketLifecycle", method: put, path: bucketPath, queries: q("lifecycle"), handler: pass, headers: configHeaders, maxBody: configBody},
		{name: "PutBucketReplication", method: put, path: bucketPath, queries: q("replication"), handler: pass, headers: configHeaders, maxBody: configBody},
		{name: "PutBucketEncryption", method: put, path: bucketPath, queries: q("encryption"), handler: s.putBucketEncryption, maxBody: maxXMLBody},
		{name: "PutBucketPolicy", method: put, path: bucketPath, queries: q("policy"), handler: s.putBucketPolicy, maxBody: configBody},
		{name: "PutBucketObjectLockConfig", method: put, path: bucketPath, queries: q("object-lock"), handler: pass,
			headers: []string{"content-type", "x-amz-bucket-object-lock-token"}, maxBody: configBody},
		{name: "PutBucketTagging", method: put, path: bucketPath, queries: q("tagging"), handler: pass, headers: configHeaders, maxBody: configBody},
		{name: "PutBucketVersioning", method: put, path: bucketPath, queries: q("versioning"), handler: pass,
			headers: []string{"content-type", "x-amz-mfa"}, maxBody: configBody},
		{name: "PutBucketNotification", method: put, path: bucketPath, queries: q("notification"), handler: pass, headers: configHeaders, maxBody: configBody},
		{name: "ResetBucketReplication", method: put, path: bucketPath, queries: q("replication-reset"), handler: none},
		// Stricter than MinIO, which takes these for CreateBucket and
		// DeleteBucket: a client that asked for a configuration s3seal does
		// not serve must not create or delete a bucket instead.
		{name: "UnsupportedBucketSubresource", method: put, path: bucketPath, when: hasUnsupportedSubresource, sample: []string{"?inventory"}, handler: none},
		{name: "CreateBucket", method: put, path: bucketPath, handler: pass, maxBody: configBody, strictBucketName: true,
			headers: []string{"content-type", "x-amz-acl", "x-amz-grant-*", "x-amz-bucket-object-lock-enabled", "x-amz-object-ownership"}},
		{name: "HeadBucket", method: head, path: bucketPath, handler: pass},
		// PostObject authenticates by the form's policy signature.
		{name: "PostObject", method: post, path: bucketPath, when: isPostForm, sample: []string{"Content-Type", "multipart/form-data; boundary=x"},
			direct: s.handlePostPolicy()},
		{name: "DeleteObjects", method: post, path: bucketPath, queries: q("delete"), handler: pass,
			headers: []string{"x-amz-bypass-governance-retention", "x-amz-mfa"}, maxBody: deleteListBody},
		{name: "DeleteBucketPolicy", method: del, path: bucketPath, queries: q("policy"), handler: s.deleteBucketPolicy},
		{name: "DeleteBucketReplication", method: del, path: bucketPath, queries: q("replication"), handler: pass},
		{name: "DeleteBucketLifecycle", method: del, path: bucketPath, queries: q("lifecycle"), handler: pass},
		{name: "DeleteBucketEncryption", method: del, path: bucketPath, queries: q("encryption"), handler: s.deleteBucketEncryption},
		{name: "UnsupportedBucketSubresource", method: del, path: bucketPath, when: hasUnsupportedSubresource, sample: []string{"?inventory"}, handler: none},
		{name: "DeleteBucket", method: del, path: bucketPath, handler: s.deleteBucket},
		{name: "GetBucketReplicationMetrics", method: get, path: bucketPath, queries: q("replication-metrics"), handler: none},
		{name: "ValidateBucketReplicationCreds", method: get, path: bucketPath, queries: q("replication-check"), handler: none},
		{name: "UnsupportedBucketSubresource", method: get, path: bucketPath, when: hasUnsupportedSubresource, sample: []string{"?inventory"}, handler: none},
		{name: "ListObjects", method: get, path: bucketPath, handler: s.listObjects, params: listV1Params},

		// The service.
		{name: "ListenNotification", method: get, path: rootPath, queries: q("events"), handler: none},
		{name: "ListBuckets", method: get, path: rootPath, handler: s.listBuckets,
			params: []string{"prefix", "continuation-token", "max-buckets", "bucket-region"}},
	}
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter().SkipClean(true).UseEncodedPath()

	r.Handle("/minio/health/live", http.HandlerFunc(s.healthLive)).Methods(http.MethodGet, http.MethodHead).Name("HealthLive")
	r.Handle("/minio/health/ready", http.HandlerFunc(s.healthReady)).Methods(http.MethodGet, http.MethodHead).Name("HealthReady")
	s.adminRoutes(r)
	// STS AssumeRole, matched as MinIO matches it, before any S3 route.
	r.NewRoute().Name("AssumeRole").MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool { return stsRequest(r) }).Handler(s.serveSTS())
	if s.cfg.Metrics != nil {
		// "metrics" is also a valid bucket name: only requests that are not
		// S3 requests (no SigV4 in header or query) are scrapes.
		r.Handle("/metrics", s.cfg.Metrics).Methods(http.MethodGet).Name("Metrics").
			MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool { return !isSigned(r) })
	}

	for _, rt := range s.routeTable() {
		m := r.NewRoute().Name(rt.name).MatcherFunc(pathMatchers[rt.path]).Methods(rt.method)
		if len(rt.queries) > 0 {
			queries := rt.queries
			m.MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool { return hasQuery(r.URL.RawQuery, queries) })
		}
		if rt.when != nil {
			when := rt.when
			m.MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool { return when(r) })
		}
		if rt.direct != nil {
			m.Handler(rt.direct)
			continue
		}
		m.Handler(s.serveRoute(rt))
	}
	// Everything else is refused once authenticated: an operation s3seal
	// does not know is never signed for the backend.
	unknown := s.serveRoute(route{name: "NotImplemented", handler: s.notImplemented})
	r.NotFoundHandler = unknown
	r.MethodNotAllowedHandler = unknown
	return r
}

// dispatch serves the handler router matches, as mux.Router.ServeHTTP does,
// but without recording the route and its variables in the request's
// context, which nothing reads (every handler takes bucket and object from
// the path): that cost each request two copies of the http.Request and
// two context values.
type dispatch struct{ router *mux.Router }

func (d dispatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var match mux.RouteMatch
	switch {
	case d.router.Match(r, &match) && match.Handler != nil:
		match.Handler.ServeHTTP(w, r)
	case match.MatchErr == mux.ErrMethodMismatch:
		// mux's answers when no NotFoundHandler or MethodNotAllowedHandler
		// is set (routes sets both).
		w.WriteHeader(http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, r)
	}
}

// Operation describes one S3 operation s3seal routes, for tests that must
// cover every one (the differential test against MinIO): a new route is
// covered without anyone remembering to add it.
type Operation struct {
	Name   string
	Method string
	Path   string      // "root", "bucket" or "object"
	Query  []string    // "key", or "key=value", a request needs
	Header http.Header // headers a request needs (a copy source, …)
	// MaxBody is the largest body the operation takes: 0 none, -1 any size.
	MaxBody int64
	// Headers are the request headers the operation reads or forwards
	// (lower case; a trailing '*' is a prefix): conditions, ranges, copy
	// sources.
	Headers []string
	// Params are its further query parameters (versionId, …).
	Params []string
}

// Operations lists the S3 operations of the route table, in precedence.
func Operations() []Operation {
	var ops []Operation
	for _, rt := range (&Server{}).routeTable() {
		op := Operation{Name: rt.name, Method: rt.method, Path: rt.path, Query: rt.queries, Header: http.Header{},
			MaxBody: rt.maxBody, Headers: rt.headers, Params: rt.params}
		for i := 0; i < len(rt.sample); i++ {
			if k, ok := strings.CutPrefix(rt.sample[i], "?"); ok {
				op.Query = append(append([]string(nil), op.Query...), k)
				continue
			}
			op.Header.Set(rt.sample[i], rt.sample[i+1])
			i++
		}
		ops = append(ops, op)
	}
	return ops
}

// errNotServed answers operations s3seal does not serve. Its document
// names no bucket or object, as MinIO's for the operations it does not
// serve.
var errNotServed = s3err.New(s3err.NotImplemented, "")

// notImplemented answers operations s3seal does not serve.
func (s *Server) notImplemented(http.ResponseWriter, *http.Request, *s3Request) error {
	return errNotServed
}

// refuseOnEncrypted answers operations that would expose ciphertext
// (object attributes with checksums, S3 Select) for encrypted buckets.
func (s *Server) refuseOnEncrypted(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if s.plaintext[req.bucket] {
		return s.passthrough(w, r, req)
	}
	return s3err.New(s3err.NotImplemented, "%s is not supported on encrypted buckets.", req.operation)
}

// isSigned reports whether r carries an AWS signature (V4 or V2), in a
// header or a presigned query.
func isSigned(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS") ||
		hasQueryKey(r.URL.RawQuery, "X-Amz-Signature") || hasQueryKey(r.URL.RawQuery, "Signature")
}

// hasQuery reports whether the canonical raw query satisfies every
// condition: "key" present, or "key=value" present with that value. Keys
// and values of route conditions are unreserved characters, which the
// canonical encoding leaves as they are.
func hasQuery(rawQuery string, conditions []string) bool {
	for _, c := range conditions {
		key, value, exact := strings.Cut(c, "=")
		v, ok := queryValue(rawQuery, key)
		if !ok || exact && v != value {
			return false
		}
	}
	return true
}

// hasQueryKey reports whether the canonical raw query has the key.
func hasQueryKey(rawQuery, key string) bool {
	_, ok := queryValue(rawQuery, key)
	return ok
}

// queryValue returns the still-encoded value of key in the raw query,
// without parsing (and allocating) the whole query for every route tried.
func queryValue(rawQuery, key string) (string, bool) {
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(part, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

// backendQuery returns the part of the canonical raw query the operation
// takes: its matched keys and its params, in the client's order.
func (rt *route) backendQuery(rawQuery string) string {
	var b strings.Builder
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, _, _ := strings.Cut(part, "=")
		if !rt.takesParam(k) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}

func (rt *route) takesParam(key string) bool {
	for _, c := range rt.queries {
		if k, _, _ := strings.Cut(c, "="); k == key {
			return true
		}
	}
	for _, p := range rt.params {
		if p == key {
			return true
		}
	}
	return false
}
