package gateway

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// route is one S3 operation: its name (the log and metrics label), how it
// is matched, and its handler. Order matters: most specific first.
type route struct {
	name    string
	method  string
	path    string   // bucketPath or objectPath
	queries []string // query keys that must be present
	header  string   // header that must be present
	handler s3Handler
}

// Route paths: a bucket ("/b" or "/b/") or an object ("/b/key"), told
// apart by matchers rather than path templates (no regexp per request).
const (
	bucketPath = "bucket"
	objectPath = "object"
)

var pathMatchers = map[string]mux.MatcherFunc{bucketPath: isBucketPath, objectPath: isObjectPath}

func isBucketPath(r *http.Request, _ *mux.RouteMatch) bool {
	b, o := bucketObject(r)
	return b != "" && o == ""
}

func isObjectPath(r *http.Request, _ *mux.RouteMatch) bool {
	b, o := bucketObject(r)
	return b != "" && o != ""
}

func (s *Server) routeTable() []route {
	pass := s.passthrough
	return []route{
		// Objects.
		{name: "CreateMultipartUpload", method: http.MethodPost, path: objectPath, queries: []string{"uploads"}, handler: s.createMultipartUpload},
		{name: "UploadPartCopy", method: http.MethodPut, path: objectPath, queries: []string{"partNumber", "uploadId"}, header: "X-Amz-Copy-Source", handler: s.uploadPartCopy},
		{name: "UploadPart", method: http.MethodPut, path: objectPath, queries: []string{"partNumber", "uploadId"}, handler: s.uploadPart},
		{name: "CompleteMultipartUpload", method: http.MethodPost, path: objectPath, queries: []string{"uploadId"}, handler: s.completeMultipartUpload},
		{name: "AbortMultipartUpload", method: http.MethodDelete, path: objectPath, queries: []string{"uploadId"}, handler: s.abortMultipartUpload},
		{name: "ListParts", method: http.MethodGet, path: objectPath, queries: []string{"uploadId"}, handler: s.listParts},
		{name: "GetObjectTagging", method: http.MethodGet, path: objectPath, queries: []string{"tagging"}, handler: pass},
		{name: "PutObjectTagging", method: http.MethodPut, path: objectPath, queries: []string{"tagging"}, handler: pass},
		{name: "DeleteObjectTagging", method: http.MethodDelete, path: objectPath, queries: []string{"tagging"}, handler: pass},
		{name: "GetObjectAcl", method: http.MethodGet, path: objectPath, queries: []string{"acl"}, handler: pass},
		{name: "PutObjectAcl", method: http.MethodPut, path: objectPath, queries: []string{"acl"}, handler: pass},
		{name: "GetObjectRetention", method: http.MethodGet, path: objectPath, queries: []string{"retention"}, handler: pass},
		{name: "PutObjectRetention", method: http.MethodPut, path: objectPath, queries: []string{"retention"}, handler: pass},
		{name: "GetObjectLegalHold", method: http.MethodGet, path: objectPath, queries: []string{"legal-hold"}, handler: pass},
		{name: "PutObjectLegalHold", method: http.MethodPut, path: objectPath, queries: []string{"legal-hold"}, handler: pass},
		{name: "GetObjectAttributes", method: http.MethodGet, path: objectPath, queries: []string{"attributes"}, handler: s.refuseOnEncrypted},
		{name: "SelectObjectContent", method: http.MethodPost, path: objectPath, queries: []string{"select"}, handler: s.refuseOnEncrypted},
		{name: "RestoreObject", method: http.MethodPost, path: objectPath, queries: []string{"restore"}, handler: pass},
		{name: "CopyObject", method: http.MethodPut, path: objectPath, header: "X-Amz-Copy-Source", handler: s.copyObject},
		{name: "PutObject", method: http.MethodPut, path: objectPath, handler: s.putObject},
		{name: "GetObject", method: http.MethodGet, path: objectPath, handler: s.getObject},
		{name: "HeadObject", method: http.MethodHead, path: objectPath, handler: s.headObject},
		{name: "DeleteObject", method: http.MethodDelete, path: objectPath, handler: pass},

		// Buckets.
		{name: "GetBucketEncryption", method: http.MethodGet, path: bucketPath, queries: []string{"encryption"}, handler: s.getBucketEncryption},
		{name: "PutBucketEncryption", method: http.MethodPut, path: bucketPath, queries: []string{"encryption"}, handler: s.putBucketEncryption},
		{name: "DeleteBucketEncryption", method: http.MethodDelete, path: bucketPath, queries: []string{"encryption"}, handler: s.deleteBucketEncryption},
		{name: "ListMultipartUploads", method: http.MethodGet, path: bucketPath, queries: []string{"uploads"}, handler: pass},
		{name: "ListObjectVersions", method: http.MethodGet, path: bucketPath, queries: []string{"versions"}, handler: s.listObjects},
		{name: "ListObjectsV2", method: http.MethodGet, path: bucketPath, queries: []string{"list-type"}, handler: s.listObjects},
		{name: "DeleteObjects", method: http.MethodPost, path: bucketPath, queries: []string{"delete"}, handler: pass},
		{name: "GetBucketLocation", method: http.MethodGet, path: bucketPath, queries: []string{"location"}, handler: pass},
	}
}

// bucketSubresources are the GET /bucket?X operations that are not listings.
var bucketSubresources = []string{
	"acl", "analytics", "cors", "intelligent-tiering", "inventory", "lifecycle", "logging",
	"metrics", "notification", "object-lock", "ownershipControls", "policy", "policyStatus",
	"publicAccessBlock", "replication", "requestPayment", "tagging", "versioning", "website",
	"accelerate", "events", "replication-metrics", "quota",
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter().SkipClean(true).UseEncodedPath()

	r.Handle("/minio/health/live", http.HandlerFunc(s.healthLive)).Methods(http.MethodGet, http.MethodHead).Name("HealthLive")
	r.Handle("/minio/health/ready", http.HandlerFunc(s.healthReady)).Methods(http.MethodGet, http.MethodHead).Name("HealthReady")
	s.adminRoutes(r)
	if s.cfg.Metrics != nil {
		// "metrics" is also a valid bucket name: only requests that are not
		// S3 requests (no SigV4 in header or query) are scrapes.
		r.Handle("/metrics", s.cfg.Metrics).Methods(http.MethodGet).Name("Metrics").
			MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool { return !isSigV4(r) })
	}

	for _, rt := range s.routeTable() {
		m := r.NewRoute().MatcherFunc(pathMatchers[rt.path]).Methods(rt.method).Handler(s.serve(rt.name, rt.handler))
		if len(rt.queries) > 0 {
			queries := rt.queries
			m.MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool {
				for _, q := range queries {
					if !hasQueryKey(r.URL.RawQuery, q) {
						return false
					}
				}
				return true
			})
		}
		if rt.header != "" {
			header := rt.header
			m.MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool { return r.Header.Get(header) != "" })
		}
	}
	bucket := r.NewRoute().MatcherFunc(isBucketPath).Subrouter()
	// Browser-form uploads (PostObject) authenticate by the form's policy
	// signature, not SigV4 headers: their handler bypasses s.serve's.
	bucket.NewRoute().Methods(http.MethodPost).Handler(s.handlePostPolicy())
	// Bucket subresources not named above pass through under their own
	// name: one route that dispatches on the subresource.
	subHandlers := map[string]http.Handler{}
	for _, sub := range bucketSubresources {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			subHandlers[method+" "+sub] = s.serve(method+"Bucket"+sub, s.passthrough)
		}
	}
	bucket.NewRoute().Methods(http.MethodGet, http.MethodPut, http.MethodDelete).
		MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool { return bucketSubresource(r.URL.RawQuery) != "" }).
		HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			subHandlers[r.Method+" "+bucketSubresource(r.URL.RawQuery)].ServeHTTP(w, r)
		})
	bucket.NewRoute().Methods(http.MethodGet).Handler(s.serve("ListObjects", s.listObjects))
	bucket.NewRoute().Methods(http.MethodHead).Handler(s.serve("HeadBucket", s.passthrough))
	bucket.NewRoute().Methods(http.MethodPut).Handler(s.serve("CreateBucket", s.passthrough))
	bucket.NewRoute().Methods(http.MethodDelete).Handler(s.serve("DeleteBucket", s.deleteBucket))
	r.Handle("/", s.serve("ListBuckets", s.listBuckets)).Methods(http.MethodGet)
	// Anything else is authenticated and passed through unchanged.
	r.NotFoundHandler = s.serve("Unknown", s.passthrough)
	r.MethodNotAllowedHandler = s.serve("Unknown", s.passthrough)
	return r
}

// refuseOnEncrypted answers operations that would expose ciphertext
// (object attributes with checksums, S3 Select) for encrypted buckets.
func (s *Server) refuseOnEncrypted(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if s.plaintext[req.bucket] {
		return s.passthrough(w, r, req)
	}
	return s3err.New(s3err.NotImplemented, "%s is not supported on encrypted buckets.", req.operation)
}

// isSigV4 reports whether r carries an AWS signature, in a header or a
// presigned query.
func isSigV4(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-") || r.URL.Query().Get("X-Amz-Signature") != ""
}

// hasQueryKey reports whether the raw query has the key, without parsing
// (and allocating) the whole query for every route tried.
func hasQueryKey(rawQuery, key string) bool {
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, _, _ := strings.Cut(part, "=")
		if k == key {
			return true
		}
	}
	return false
}

// bucketSubresource returns the first known bucket subresource in the raw
// query, "" if none.
func bucketSubresource(rawQuery string) string {
	for _, sub := range bucketSubresources {
		if hasQueryKey(rawQuery, sub) {
			return sub
		}
	}
	return ""
}
