package gateway

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// access is what an operation needs: actions on the request's resource,
// and for copies s3:GetObject on the source.
type access struct {
	actions []string
	// copySource: also s3:GetObject on x-amz-copy-source.
	copySource bool
	// perKey: the actions apply to every key a DeleteObjects body names
	// rather than to the bucket.
	perKey bool
	// kmsKey: the resource is the key-id parameter (admin KMS API).
	kmsKey bool
	// selfService: without the action, a user may still act on its own
	// access keys unless a policy explicitly denies the action (MinIO's
	// DenyOnly check); the handler then sees s3Request.selfOnly.
	selfService bool
}

func act(actions ...string) access { return access{actions: actions} }

// s3 reports an S3 operation (not the admin API's).
func (a access) s3() bool { return policy.Namespace(a.actions[0]) == "s3" }

// operationAccess maps every operation s3seal serves (route names, admin
// endpoint names) to the actions it needs, as MinIO's handlers check them.
// A test fails for any route missing here, so no operation can skip
// authorisation.
var operationAccess = map[string]access{
	// Objects.
	"GetObjectTorrent":        act("s3:GetObject"),
	"PutObjectTorrent":        act("s3:PutObject"),
	"DeleteObjectTorrent":     act("s3:DeleteObject"),
	"DeleteObjectAcl":         act("s3:PutObject"),
	"HeadObject":              act("s3:GetObject"),
	"GetObjectAttributes":     act("s3:GetObjectAttributes"),
	"UploadPartCopy":          {actions: []string{"s3:PutObject"}, copySource: true},
	"UploadPart":              act("s3:PutObject"),
	"ListParts":               act("s3:ListMultipartUploadParts"),
	"CompleteMultipartUpload": act("s3:PutObject"),
	"CreateMultipartUpload":   act("s3:PutObject"),
	"AbortMultipartUpload":    act("s3:AbortMultipartUpload"),
	"GetObjectAcl":            act("s3:GetObject"), // MinIO's ACL handlers check the object action
	"PutObjectAcl":            act("s3:PutObject"),
	"GetObjectTagging":        act("s3:GetObjectTagging"),
	"PutObjectTagging":        act("s3:PutObjectTagging"),
	"DeleteObjectTagging":     act("s3:DeleteObjectTagging"),
	"SelectObjectContent":     act("s3:GetObject"),
	"GetObjectRetention":      act("s3:GetObjectRetention"),
	"GetObjectLegalHold":      act("s3:GetObjectLegalHold"),
	"GetObjectLambda":         act("s3:GetObject"),
	"GetObject":               act("s3:GetObject"),
	"CopyObject":              {actions: []string{"s3:PutObject"}, copySource: true},
	"PutObjectRetention":      act("s3:PutObjectRetention"),
	"PutObjectLegalHold":      act("s3:PutObjectLegalHold"),
	"PutObjectExtract":        act("s3:PutObject"),
	"AppendObject":            act("s3:PutObject"),
	"PutObject":               act("s3:PutObject"),
	"PostObject":              act("s3:PutObject"),
	"DeleteObject":            act("s3:DeleteObject"),
	"RestoreObject":           act("s3:RestoreObject"),

	// Buckets.
	"GetBucketLocation":              act("s3:GetBucketLocation"),
	"GetBucketPolicy":                act("s3:GetBucketPolicy"),
	"GetBucketLifecycle":             act("s3:GetLifecycleConfiguration"),
	"GetBucketEncryption":            act("s3:GetEncryptionConfiguration"),
	"GetBucketObjectLockConfig":      act("s3:GetBucketObjectLockConfiguration"),
	"GetBucketReplication":           act("s3:GetReplicationConfiguration"),
	"GetBucketVersioning":            act("s3:GetBucketVersioning"),
	"GetBucketNotification":          act("s3:GetBucketNotification"),
	"ListenBucketNotification":       act("s3:ListenBucketNotification"),
	"ResetBucketReplicationStatus":   act("s3:ResetBucketReplicationState"),
	"GetBucketAcl":                   act("s3:GetBucketPolicy"), // as MinIO's ACL handlers
	"PutBucketAcl":                   act("s3:PutBucketPolicy"),
	"GetBucketCors":                  act("s3:GetBucketCors"),
	"PutBucketCors":                  act("s3:PutBucketCors"),
	"DeleteBucketCors":               act("s3:DeleteBucketCors"),
	"GetBucketWebsite":               act("s3:GetBucketPolicy"), // configurations with no action of their own
	"GetBucketAccelerate":            act("s3:GetBucketPolicy"),
	"GetBucketRequestPayment":        act("s3:GetBucketPolicy"),
	"GetBucketLogging":               act("s3:GetBucketPolicy"),
	"DeleteBucketWebsite":            act("s3:DeleteBucketPolicy"),
	"GetBucketTagging":               act("s3:GetBucketTagging"),
	"DeleteBucketTagging":            act("s3:PutBucketTagging"),
	"ListMultipartUploads":           act("s3:ListBucketMultipartUploads"),
	"ListObjectsV2M":                 act("s3:ListBucket"),
	"ListObjectsV2":                  act("s3:ListBucket"),
	"ListObjectVersionsM":            act("s3:ListBucketVersions"),
	"ListObjectVersions":             act("s3:ListBucketVersions"),
	"ListObjects":                    act("s3:ListBucket"),
	"GetBucketPolicyStatus":          act("s3:GetBucketPolicyStatus"),
	"PutBucketLifecycle":             act("s3:PutLifecycleConfiguration"),
	"PutBucketReplication":           act("s3:PutReplicationConfiguration"),
	"PutBucketEncryption":            act("s3:PutEncryptionConfiguration"),
	"PutBucketPolicy":                act("s3:PutBucketPolicy"),
	"PutBucketObjectLockConfig":      act("s3:PutBucketObjectLockConfiguration"),
	"PutBucketTagging":               act("s3:PutBucketTagging"),
	"PutBucketVersioning":            act("s3:PutBucketVersioning"),
	"PutBucketNotification":          act("s3:PutBucketNotification"),
	"ResetBucketReplication":         act("s3:ResetBucketReplicationState"),
	"UnsupportedBucketSubresource":   act("s3:PutBucketPolicy"), // refused anyway; only an administrator learns so
	"CreateBucket":                   act("s3:CreateBucket"),
	"HeadBucket":                     act("s3:ListBucket"),
	"DeleteObjects":                  {actions: []string{"s3:DeleteObject"}, perKey: true},
	"DeleteBucketPolicy":             act("s3:DeleteBucketPolicy"),
	"DeleteBucketReplication":        act("s3:PutReplicationConfiguration"),
	"DeleteBucketLifecycle":          act("s3:PutLifecycleConfiguration"),
	"DeleteBucketEncryption":         act("s3:PutEncryptionConfiguration"),
	"DeleteBucket":                   act("s3:DeleteBucket"),
	"GetBucketReplicationMetrics":    act("s3:GetReplicationConfiguration"),
	"ValidateBucketReplicationCreds": act("s3:GetReplicationConfiguration"),

	// The service.
	"ListenNotification": act("s3:ListenNotification"),
	"ListBuckets":        act("s3:ListAllMyBuckets"),

	// The admin KMS API.
	"KMSCreateKey": {actions: []string{"kms:CreateKey"}, kmsKey: true},
	"KMSRotateKey": {actions: []string{"kms:KeyRotate"}, kmsKey: true},
	"KMSKeyStatus": {actions: []string{"kms:KeyStatus"}, kmsKey: true},
	"KMSListKeys":  act("kms:ListKeys"),
	"KMSStatus":    act("kms:Status"),

	// The admin IAM API (admin_iam.go), with MinIO's actions.
	"AddUser":                 act("admin:CreateUser"),
	"RemoveUser":              act("admin:DeleteUser"),
	"ListUsers":               act("admin:ListUsers"),
	"GetUserInfo":             act("admin:GetUser"),
	"SetUserStatus":           act("admin:EnableUser"),
	"AddServiceAccount":       {actions: []string{"admin:CreateServiceAccount"}, selfService: true},
	"UpdateServiceAccount":    act("admin:UpdateServiceAccount"),
	"InfoServiceAccount":      {actions: []string{"admin:ListServiceAccounts"}, selfService: true},
	"ListServiceAccounts":     {actions: []string{"admin:ListServiceAccounts"}, selfService: true},
	"DeleteServiceAccount":    {actions: []string{"admin:RemoveServiceAccount"}, selfService: true},
	"ListAccessKeysBulk":      {actions: []string{"admin:ListServiceAccounts"}, selfService: true},
	"AddCannedPolicy":         act("admin:CreatePolicy"),
	"InfoCannedPolicy":        act("admin:GetPolicy"),
	"ListCannedPolicies":      act("admin:ListUserPolicies"),
	"RemoveCannedPolicy":      act("admin:DeletePolicy"),
	"SetPolicyForUserOrGroup": act("admin:AttachUserOrGroupPolicy"),
	"AttachPolicy":            act("admin:AttachUserOrGroupPolicy"),
	"DetachPolicy":            act("admin:AttachUserOrGroupPolicy"),
	"UpdateGroupMembers":      act("admin:AddUserToGroup"),
	"GetGroup":                act("admin:GetGroup"),
	"ListGroups":              act("admin:ListGroups"),
	"SetGroupStatus":          act("admin:EnableGroup"),
}

// bucketPolicyActions are what root may always do despite a bucket
// policy's Deny, so it cannot lock itself out (as AWS's account root).
var bucketPolicyActions = map[string]bool{"s3:GetBucketPolicy": true, "s3:PutBucketPolicy": true, "s3:DeleteBucketPolicy": true}

// errAccessDenied is MinIO's answer to a request its policies refuse.
func errAccessDenied() error { return s3err.New(s3err.AccessDenied, "") }

// principal is the caller of one request.
type principal struct {
	// accessKey is the key the request is signed with; empty for
	// anonymous requests.
	accessKey string
	// user is whose rights the request has: accessKey, or the parent of
	// temporary credentials (bucket policies' principals and aws:username
	// name it, as MinIO's do). Empty for anonymous requests.
	user      string
	root      bool // root, or temporary credentials of root
	anonymous bool
	temporary bool      // STS credentials; sessionPolicy narrows them
	identity  *Identity // the user's identity; nil for root and anonymous
	// sessionPolicy, if set, must allow every request too.
	sessionPolicy *policy.Policy
}

// lookupSecret is the verifier's credential lookup: root first, then the
// credential store.
func (s *Server) lookupSecret(accessKey string) (string, bool) {
	if accessKey == s.cfg.RootUser {
		return s.cfg.RootPassword, true
	}
	if s.cfg.Credentials == nil {
		return "", false
	}
	id, ok := s.cfg.Credentials.Lookup(accessKey)
	if !ok {
		return "", false
	}
	return id.SecretKey, true
}

// longTermPrincipal is root or a user of the credential store: the
// principal of a request signed without a session token, and the parent
// of temporary credentials.
func (s *Server) longTermPrincipal(accessKey string) (principal, bool) {
	if accessKey == s.cfg.RootUser {
		return principal{accessKey: accessKey, user: accessKey, root: true}, true
	}
	if s.cfg.Credentials == nil {
		return principal{}, false
	}
	id, ok := s.cfg.Credentials.Lookup(accessKey)
	return principal{accessKey: accessKey, user: accessKey, identity: id}, ok
}

// principal resolves the authenticated (or anonymous) caller of req.
func (s *Server) principal(req *s3Request) (principal, bool) {
	switch {
	case req.anonymous:
		return principal{anonymous: true}, true
	case req.sessionToken != "":
		_, p, err := s.session(req.accessKey, req.sessionToken)
		return p, err == nil
	}
	return s.longTermPrincipal(req.accessKey)
}

// identityDecision is what the caller's own rights say about a request:
// root may do anything, a user what its policies allow; a session policy
// (STS) and the identity's narrowing policy must allow it as well, or the
// decision is Denied. Anonymous callers have no rights of their own.
func (p principal) identityDecision(args policy.Args) policy.Decision {
	d := policy.NotApplicable
	switch {
	case p.anonymous:
		return d
	case p.root:
		d = policy.Allowed
	default:
		for _, pol := range p.identity.Policies {
			switch pol.Evaluate(args) {
			case policy.Denied:
				return policy.Denied
			case policy.Allowed:
				d = policy.Allowed
			}
		}
		if sp := p.identity.SessionPolicy; sp != nil && sp.Evaluate(args) != policy.Allowed {
			return policy.Denied
		}
	}
	if p.sessionPolicy != nil && p.sessionPolicy.Evaluate(args) != policy.Allowed {
		return policy.Denied
	}
	return d
}

// authorize decides whether the authenticated request may run the named
// operation: explicit Deny in the caller's policies or the bucket's
// policy refuses; otherwise an Allow in either permits; otherwise it is
// refused (default deny). Root is allowed everything its buckets'
// policies do not deny, and may always manage bucket policies.
func (s *Server) authorize(r *http.Request, req *s3Request, operation string) error {
	acc, ok := operationAccess[operation]
	if !ok {
		// Operations s3seal refuses anyway (NotImplemented); anonymous
		// callers learn nothing about them.
		if req.anonymous {
			return errAccessDenied()
		}
		return nil
	}
	p, ok := s.principal(req)
	if !ok {
		// The key was valid when its signature was checked and is gone
		// now (a store that changed in between).
		return errAccessDenied()
	}
	if p.temporary {
		req.parentUser = p.user
	}
	ctx := r.Context()
	if p.anonymous {
		// Bucket policies grant anonymous access to buckets and objects
		// only, as MinIO's do; and without a policy nothing can allow
		// the request, which is refused before its body is read.
		if !acc.s3() || req.bucket == "" {
			return errAccessDenied()
		}
		bp, err := s.records.bucketPolicy(ctx, req.bucket)
		if err != nil {
			return err
		}
		if bp == nil {
			return errAccessDenied()
		}
	}
	if p.root && p.sessionPolicy == nil {
		// Root is bound only by bucket policies: nothing to evaluate
		// (no body to parse, no condition values) without one.
		bound, err := s.rootBound(r, req, acc)
		if err != nil || !bound {
			return err
		}
	}
	type target struct{ bucket, object string }
	var targets []target
	switch {
	case acc.kmsKey:
		targets = []target{{r.URL.Query().Get("key-id"), ""}}
	case !acc.s3():
		// Admin endpoints that are not about one key.
		targets = []target{{}}
	case acc.perKey:
		keys, err := deleteObjectsKeys(req)
		if err != nil {
			return err
		}
		for _, k := range keys {
			targets = append(targets, target{req.bucket, k})
		}
	default:
		targets = []target{{req.bucket, req.object}}
	}
	conditions := s.conditionValues(ctx, r, req, p)
	if existingTagOperations[operation] {
		if err := s.addExistingObjectTags(ctx, r, req, p, conditions); err != nil {
			return err
		}
	}
	for _, action := range acc.actions {
		for _, t := range targets {
			err := s.authorizeOne(ctx, p, action, t.bucket, t.object, conditions)
			if err != nil && acc.selfService && !p.temporary && !s.explicitlyDenied(p, action, conditions) {
				// Temporary credentials get no self-service: a session
				// narrowed by its policy must not mint unnarrowed access
				// keys for its parent.
				req.selfOnly = true
				return nil
			}
			if err != nil && p.anonymous && action == "s3:ListBucketVersions" {
				// As MinIO: for anonymous callers s3:ListBucket grants
				// version listings too.
				err = s.authorizeOne(ctx, p, "s3:ListBucket", t.bucket, t.object, conditions)
			}
			if err != nil && operation == "ListBuckets" {
				// As MinIO: without s3:ListAllMyBuckets a user sees the
				// buckets its policies let it list or locate.
				req.bucketFilter = s.bucketFilter(p, conditions)
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	if acc.copySource {
		src, _, err := parseCopySource(r)
		if err != nil {
			return err
		}
		// The source's conditions are the request's, but the
		// encryption keys describe the destination.
		srcCond := make(map[string][]string, len(conditions))
		for k, v := range conditions {
			if !strings.HasPrefix(k, "s3:x-amz-server-side-encryption") {
				srcCond[k] = v
			}
		}
		if src.versionID != "" {
			srcCond["s3:versionid"] = []string{src.versionID}
		}
		if err := s.authorizeOne(ctx, p, "s3:GetObject", src.bucket, src.object, srcCond); err != nil {
			return err
		}
	}
	return nil
}

// bucketFilter reports the buckets a user may see in ListBuckets: those
// its identity policies allow s3:ListBucket (for the prefix "" and the
// delimiter "/") or s3:GetBucketLocation on, as MinIO filters them.
func (s *Server) bucketFilter(p principal, conditions map[string][]string) func(bucket string) bool {
	c := make(map[string][]string, len(conditions)+2)
	for k, v := range conditions {
		c[k] = v
	}
	c["s3:prefix"], c["s3:delimiter"] = []string{""}, []string{"/"}
	return func(bucket string) bool {
		for _, action := range []string{"s3:ListBucket", "s3:GetBucketLocation"} {
			args := policy.Args{Account: p.user, Action: action, Bucket: bucket, Conditions: c}
			if p.identityDecision(args) == policy.Allowed {
				return true
			}
		}
		return false
	}
}

// explicitlyDenied reports whether one of the caller's policies denies
// the (admin) action outright, rather than just not allowing it.
func (s *Server) explicitlyDenied(p principal, action string, conditions map[string][]string) bool {
	if p.root {
		return false
	}
	args := policy.Args{Account: p.user, Action: action, Conditions: conditions}
	for _, pol := range p.identity.Policies {
		if pol.Evaluate(args) == policy.Denied {
			return true
		}
	}
	return p.identity.SessionPolicy != nil && p.identity.SessionPolicy.Evaluate(args) == policy.Denied
}

// rootBound reports whether a bucket policy could refuse root this
// request: the request's bucket, or a copy's source bucket, has one.
func (s *Server) rootBound(r *http.Request, req *s3Request, acc access) (bool, error) {
	if !acc.s3() || req.bucket == "" {
		return false, nil
	}
	buckets := []string{req.bucket}
	if acc.copySource {
		if src, _, err := parseCopySource(r); err == nil && src.bucket != req.bucket {
			buckets = append(buckets, src.bucket)
		}
	}
	for _, b := range buckets {
		bp, err := s.records.bucketPolicy(r.Context(), b)
		if err != nil || bp != nil {
			return true, err
		}
	}
	return false, nil
}

func (s *Server) authorizeOne(ctx context.Context, p principal, action, bucket, object string, conditions map[string][]string) error {
	args := policy.Args{Account: p.user, Action: action, Bucket: bucket, Object: object, Conditions: conditions}
	decision := p.identityDecision(args)
	if decision == policy.Denied {
		return errAccessDenied()
	}
	if bucket != "" && policy.Namespace(action) == "s3" && !(p.root && bucketPolicyActions[action]) {
		bp, err := s.records.bucketPolicy(ctx, bucket)
		if err != nil {
			return err
		}
		switch bp.Evaluate(args) {
		case policy.Denied:
			return errAccessDenied()
		case policy.Allowed:
			decision = policy.Allowed
		}
	}
	if decision != policy.Allowed {
		return errAccessDenied()
	}
	return nil
}

// principalType is aws:PrincipalType, as MinIO fills it.
func (p principal) principalType() string {
	switch {
	case p.anonymous:
		return "Anonymous"
	case p.root:
		return "Account"
	case p.temporary:
		return "AssumedRole"
	}
	return "User"
}

// conditionValues are the request's condition keys. The SSE keys are the
// request's headers, as AWS evaluates them: a bucket's default encryption
// does not fill them. Parts and completions of a multipart upload carry
// the upload's encryption, which their requests do not repeat.
func (s *Server) conditionValues(ctx context.Context, r *http.Request, req *s3Request, p principal) map[string][]string {
	now := time.Now().UTC()
	c := map[string][]string{
		"aws:currenttime":     {now.Format(time.RFC3339)},
		"aws:epochtime":       {strconv.FormatInt(now.Unix(), 10)},
		"aws:securetransport": {strconv.FormatBool(r.TLS != nil)},
		"aws:username":        {p.user},
		"aws:userid":          {p.user},
		"aws:principaltype":   {p.principalType()},
	}
	// The TCP peer: s3seal does not trust X-Forwarded-For.
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c["aws:sourceip"] = []string{host}
	}
	for header, key := range map[string]string{
		"Referer": "aws:referer", "User-Agent": "aws:useragent",
		"X-Amz-Server-Side-Encryption":                    "s3:x-amz-server-side-encryption",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id":     "s3:x-amz-server-side-encryption-aws-kms-key-id",
		"X-Amz-Server-Side-Encryption-Customer-Algorithm": "s3:x-amz-server-side-encryption-customer-algorithm",
		"X-Amz-Copy-Source":                               "s3:x-amz-copy-source",
		"X-Amz-Metadata-Directive":                        "s3:x-amz-metadata-directive",
		"X-Amz-Storage-Class":                             "s3:x-amz-storage-class",
		"X-Amz-Acl":                                       "s3:x-amz-acl",
		"X-Amz-Object-Lock-Mode":                          "s3:object-lock-mode",
		"X-Amz-Object-Lock-Legal-Hold":                    "s3:object-lock-legal-hold",
	} {
		if v, ok := r.Header[http.CanonicalHeaderKey(header)]; ok {
			c[key] = v
		}
	}
	q := r.URL.Query()
	if q.Has("versionId") {
		c["s3:versionid"] = []string{q.Get("versionId")}
	}
	switch req.operation {
	case "ListObjects", "ListObjectsV2", "ListObjectsV2M", "ListObjectVersions", "ListObjectVersionsM", "ListMultipartUploads":
		// An absent prefix is the empty prefix (AWS's home-directory
		// policies list "" among the allowed prefixes).
		c["s3:prefix"] = []string{q.Get("prefix")}
		if q.Has("delimiter") {
			c["s3:delimiter"] = []string{q.Get("delimiter")}
		}
		if q.Has("max-keys") {
			c["s3:max-keys"] = []string{q.Get("max-keys")}
		}
	case "UploadPart", "UploadPartCopy", "CompleteMultipartUpload":
		if st, err := s.upload(ctx, req.bucket, req.object, q.Get("uploadId")); err == nil && st != nil && st.meta != nil {
			switch st.meta.Domain {
			case crypto.DomainKMS:
				c["s3:x-amz-server-side-encryption"] = []string{sseKMS}
				c["s3:x-amz-server-side-encryption-aws-kms-key-id"] = []string{st.meta.KeyID}
			case crypto.DomainS3:
				c["s3:x-amz-server-side-encryption"] = []string{sseAES256}
			case crypto.DomainC:
				c["s3:x-amz-server-side-encryption-customer-algorithm"] = []string{sseAES256}
			}
		}
	}
	return c
}

// existingTagOperations are those for which s3:ExistingObjectTag/<key>
// holds the object's tags: AWS's list (reads and changes of an existing
// object's data, tags and ACL) and HeadObject, as MinIO.
var existingTagOperations = map[string]bool{
	"GetObject": true, "HeadObject": true, "GetObjectTagging": true, "PutObjectTagging": true,
	"DeleteObjectTagging": true, "GetObjectAcl": true, "PutObjectAcl": true,
}

const existingObjectTagKey = "s3:existingobjecttag/"

// addExistingObjectTags fills s3:ExistingObjectTag/<key> with the object's
// tags, read from the backend only when a policy that decides the request
// names such a key. A missing object has no tags (the handler answers
// NoSuchKey if the request is allowed at all); any other failure to read
// them refuses the request.
func (s *Server) addExistingObjectTags(ctx context.Context, r *http.Request, req *s3Request, p principal, conditions map[string][]string) error {
	bp, err := s.records.bucketPolicy(ctx, req.bucket)
	if err != nil {
		return err
	}
	used := bp.UsesConditionKey(existingObjectTagKey) || p.sessionPolicy.UsesConditionKey(existingObjectTagKey)
	if id := p.identity; id != nil {
		used = used || id.SessionPolicy.UsesConditionKey(existingObjectTagKey)
		for _, pol := range id.Policies {
			used = used || pol.UsesConditionKey(existingObjectTagKey)
		}
	}
	if !used {
		return nil
	}
	q := url.Values{"tagging": {""}}
	if v := r.URL.Query().Get("versionId"); v != "" {
		q.Set("versionId", v)
	}
	resp, err := s.backend.do(ctx, backendRequest{Method: http.MethodGet, Bucket: req.bucket, Object: req.object, RawQuery: q.Encode()})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil
	default:
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("read tags of %s/%s for a policy: backend answered %s", req.bucket, req.object, resp.Status))
	}
	var doc struct {
		Tags []struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		} `xml:"TagSet>Tag"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("read tags of %s/%s for a policy: %w", req.bucket, req.object, err))
	}
	for _, t := range doc.Tags {
		conditions[existingObjectTagKey+strings.ToLower(t.Key)] = []string{t.Value}
	}
	return nil
}

// deleteObjectsKeys reads the keys a DeleteObjects body names and puts
// the body back for the handler. The route bounds the body.
func deleteObjectsKeys(req *s3Request) ([]string, error) {
	data, err := readXMLBody(req, deleteListBody)
	if err != nil {
		return nil, err
	}
	req.payload.Body = io.NopCloser(bytes.NewReader(data))
	var doc struct {
		Objects []struct {
			Key string `xml:"Key"`
		} `xml:"Object"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, s3err.New(s3err.MalformedXML, "")
	}
	keys := make([]string, 0, len(doc.Objects))
	for _, o := range doc.Objects {
		keys = append(keys, o.Key)
	}
	return keys, nil
}
