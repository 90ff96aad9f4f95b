package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// The admin API's access keys (MinIO's service accounts): a parent user's
// rights, optionally narrowed by an embedded policy, with an optional expiry.

type addServiceAccountReq struct {
	Policy      json.RawMessage `json:"policy,omitempty"`
	TargetUser  string          `json:"targetUser,omitempty"`
	AccessKey   string          `json:"accessKey,omitempty"`
	SecretKey   string          `json:"secretKey,omitempty"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Expiration  *time.Time      `json:"expiration,omitempty"`
	Comment     string          `json:"comment,omitempty"`
}

type adminCredentials struct {
	AccessKey    string    `json:"accessKey,omitempty"`
	SecretKey    string    `json:"secretKey,omitempty"`
	SessionToken string    `json:"sessionToken,omitempty"`
	Expiration   time.Time `json:"expiration,omitzero"`
}

type updateServiceAccountReq struct {
	NewPolicy      json.RawMessage `json:"newPolicy,omitempty"`
	NewSecretKey   string          `json:"newSecretKey,omitempty"`
	NewStatus      string          `json:"newStatus,omitempty"`
	NewName        string          `json:"newName,omitempty"`
	NewDescription string          `json:"newDescription,omitempty"`
	NewExpiration  *time.Time      `json:"newExpiration,omitempty"`
}

type serviceAccountInfo struct {
	ParentUser    string     `json:"parentUser"`
	AccountStatus string     `json:"accountStatus"`
	ImpliedPolicy bool       `json:"impliedPolicy"`
	AccessKey     string     `json:"accessKey,omitempty"`
	Policy        string     `json:"policy,omitempty"` // info only
	Name          string     `json:"name,omitempty"`
	Description   string     `json:"description,omitempty"`
	Expiration    *time.Time `json:"expiration,omitempty"`
}

// expiration turns madmin-go's optional expiry (nil, zero or the Unix
// epoch mean none) into s3seal's (zero: none).
func expiration(t *time.Time) (time.Time, error) {
	if t == nil || t.IsZero() || t.Equal(noExpiry) {
		return time.Time{}, nil
	}
	if !t.After(time.Now()) {
		return time.Time{}, adminErr("XMinioAdminInvalidArgument", http.StatusBadRequest, "the expiration time should be in the future")
	}
	return t.UTC(), nil
}

// sessionPolicy validates an access key's embedded policy; an empty one
// (nil, "null", "{}") means the parent's rights.
func sessionPolicy(doc json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || string(trimmed) == "null" || string(trimmed) == "{}" {
		return nil, nil
	}
	if len(trimmed) > policy.MaxSize {
		return nil, adminErr("XMinioAdminResourceInvalidArgument", http.StatusBadRequest, "the access key's policy is too large")
	}
	if _, err := policy.Parse(trimmed); err != nil {
		return nil, &s3err.Error{Code: s3err.MalformedPolicy, Message: err.Error(), Err: err}
	}
	return slices.Clone(trimmed), nil
}

// randomCredentials makes an access key and secret as mc does: 20 and 40
// characters.
func randomCredentials() (string, string) {
	b := make([]byte, 45)
	_, _ = rand.Read(b)
	ak := strings.ToUpper(base64.RawURLEncoding.EncodeToString(b[:15]))[:20]
	ak = strings.NewReplacer("-", "0", "_", "1").Replace(ak)
	sk := strings.NewReplacer("-", "+", "_", "/").Replace(base64.RawURLEncoding.EncodeToString(b[15:]))[:40]
	return ak, sk
}

// requesterUser is the user an access key request is for when it names
// none: the requester, or the parent of the requester's access key.
func (s *Server) requesterUser(req *s3Request) string {
	if req.parentUser != "" { // temporary credentials act as their parent
		return req.parentUser
	}
	if sa, ok := s.iam.state().ServiceAccounts[req.accessKey]; ok {
		return sa.Parent
	}
	return req.accessKey
}

// refuseKeySelfService refuses self-service (access.selfService) to
// access keys: a narrowed key must not mint an unnarrowed one for its
// parent, nor manage its siblings. Users themselves, and administrators'
// keys, may.
func (s *Server) refuseKeySelfService(req *s3Request) error {
	if _, isKey := s.iam.state().ServiceAccounts[req.accessKey]; isKey && req.selfOnly {
		return errAccessDenied()
	}
	return nil
}

func (s *Server) adminAddServiceAccount(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := s.refuseKeySelfService(req); err != nil {
		return err
	}
	var areq addServiceAccountReq
	if err := s.decryptAdminJSON(req, &areq); err != nil {
		return err
	}
	target := areq.TargetUser
	if target == "" || req.selfOnly && target == req.accessKey {
		target = s.requesterUser(req)
	}
	if req.selfOnly && target != s.requesterUser(req) {
		return errAccessDenied()
	}
	exp, err := expiration(areq.Expiration)
	if err != nil {
		return err
	}
	sp, err := sessionPolicy(areq.Policy)
	if err != nil {
		return err
	}
	ak, sk := areq.AccessKey, areq.SecretKey
	if ak == "" || sk == "" {
		rak, rsk := randomCredentials()
		if ak == "" {
			ak = rak
		}
		if sk == "" {
			sk = rsk
		}
	}
	if ak == s.cfg.RootUser {
		return errRootCredential
	}
	if err := validAccessKey(ak); err != nil {
		return err
	}
	if err := validSecretKey(sk); err != nil {
		return err
	}
	if s.iam.isStatic(ak) {
		return errIAMNotAllowed("access key " + ak + " is taken")
	}
	desc := areq.Description
	if desc == "" {
		desc = areq.Comment
	}
	err = s.iam.update(r.Context(), func(st *iamState) error {
		if target != s.cfg.RootUser && !s.iam.isStatic(target) {
			if _, ok := st.Users[target]; !ok {
				return adminErr("XMinioAdminNoSuchUser", http.StatusNotFound, "Specified target user "+target+" does not exist")
			}
		}
		if _, ok := st.Users[ak]; ok {
			return errIAMNotAllowed("access key " + ak + " is taken")
		}
		if _, ok := st.ServiceAccounts[ak]; ok {
			return errIAMNotAllowed("access key " + ak + " is taken")
		}
		st.ServiceAccounts[ak] = &iamServiceAccount{
			Parent: target, SecretKey: sk, Enabled: true, SessionPolicy: sp,
			Name: areq.Name, Description: desc, Expiration: exp, UpdatedAt: time.Now().UTC(),
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("IAM access key created", zap.String("access_key", ak), zap.String("parent", target), zap.String("by", req.accessKey), zap.String("request_id", req.id))
	return s.writeEncryptedJSON(w, req, struct {
		Credentials adminCredentials `json:"credentials"`
	}{adminCredentials{AccessKey: ak, SecretKey: sk, Expiration: exp}})
}

func (s *Server) adminUpdateServiceAccount(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ak, err := queryParam(r, "accessKey")
	if err != nil {
		return err
	}
	if _, ok := s.iam.state().ServiceAccounts[ak]; !ok {
		return errNoSuchServiceAccount
	}
	var ureq updateServiceAccountReq
	if err := s.decryptAdminJSON(req, &ureq); err != nil {
		return err
	}
	var (
		sp  json.RawMessage
		exp time.Time
	)
	if len(ureq.NewPolicy) > 0 {
		if sp, err = sessionPolicy(ureq.NewPolicy); err != nil {
			return err
		}
	}
	if ureq.NewExpiration != nil {
		if exp, err = expiration(ureq.NewExpiration); err != nil {
			return err
		}
	}
	if ureq.NewSecretKey != "" {
		if err := validSecretKey(ureq.NewSecretKey); err != nil {
			return err
		}
	}
	switch ureq.NewStatus {
	case "", statusOn, statusOff, "enabled", "disabled":
	default:
		return errAdminInvalidArgument
	}
	err = s.iam.update(r.Context(), func(st *iamState) error {
		sa, ok := st.ServiceAccounts[ak]
		if !ok {
			return errNoSuchServiceAccount
		}
		if ureq.NewSecretKey != "" {
			sa.SecretKey = ureq.NewSecretKey
		}
		switch ureq.NewStatus {
		case statusOn, "enabled":
			sa.Enabled = true
		case statusOff, "disabled":
			sa.Enabled = false
		}
		if len(ureq.NewPolicy) > 0 {
			sa.SessionPolicy = sp
		}
		if ureq.NewExpiration != nil {
			sa.Expiration = exp
		}
		if ureq.NewName != "" {
			sa.Name = ureq.NewName
		}
		if ureq.NewDescription != "" {
			sa.Description = ureq.NewDescription
		}
		sa.UpdatedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (sa *iamServiceAccount) info(accessKey string) serviceAccountInfo {
	status := statusOn
	if !sa.Enabled {
		status = statusOff
	}
	info := serviceAccountInfo{ParentUser: sa.Parent, AccountStatus: status, ImpliedPolicy: len(sa.SessionPolicy) == 0,
		AccessKey: accessKey, Name: sa.Name, Description: sa.Description}
	if !sa.Expiration.IsZero() {
		e := sa.Expiration
		info.Expiration = &e
	}
	return info
}

// combinedPolicy is one document with the statements of every named
// policy, as MinIO shows an access key's inherited rights.
func (st *iamState) combinedPolicy(names []string) string {
	var statements []json.RawMessage
	for _, n := range names {
		doc, ok := st.policyDocument(n)
		if !ok {
			continue
		}
		var p struct {
			Statement json.RawMessage
		}
		if json.Unmarshal(doc, &p) != nil {
			continue
		}
		var list []json.RawMessage
		if json.Unmarshal(p.Statement, &list) != nil {
			list = []json.RawMessage{p.Statement}
		}
		statements = append(statements, list...)
	}
	out, _ := json.MarshalIndent(struct {
		Version   string
		Statement []json.RawMessage
	}{"2012-10-17", statements}, "", " ")
	return string(out)
}

func (s *Server) adminInfoServiceAccount(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := s.refuseKeySelfService(req); err != nil {
		return err
	}
	ak, err := queryParam(r, "accessKey")
	if err != nil {
		return err
	}
	st := s.iam.state()
	sa, ok := st.ServiceAccounts[ak]
	if !ok {
		return errNoSuchServiceAccount
	}
	if req.selfOnly && sa.Parent != s.requesterUser(req) {
		return errAccessDenied()
	}
	info := sa.info("")
	switch {
	case !info.ImpliedPolicy:
		info.Policy = string(sa.SessionPolicy)
	case sa.Parent == s.cfg.RootUser:
		info.Policy = st.combinedPolicy([]string{"consoleAdmin"})
	default:
		if id, ok := lookupStatic(s.iam.static, sa.Parent); ok {
			info.Policy = st.combinedPolicy(id.PolicyNames)
		} else if u, ok := st.Users[sa.Parent]; ok {
			names := slices.Clone(u.Policies)
			for _, g := range st.groupsOf(sa.Parent) {
				if st.Groups[g].Enabled {
					names = append(names, st.Groups[g].Policies...)
				}
			}
			info.Policy = st.combinedPolicy(names)
		}
	}
	return s.writeEncryptedJSON(w, req, info)
}

// noExpiry is what MinIO's listings show for a key without an expiry (mc
// dereferences the field).
var noExpiry = time.Unix(0, 0).UTC()

// serviceAccountsOf lists user's access keys, sorted.
func (st *iamState) serviceAccountsOf(user string) []serviceAccountInfo {
	var out []serviceAccountInfo
	for ak, sa := range st.ServiceAccounts {
		if sa.Parent == user {
			info := sa.info(ak)
			if info.Expiration == nil {
				info.Expiration = &noExpiry
			}
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b serviceAccountInfo) int { return strings.Compare(a.AccessKey, b.AccessKey) })
	return out
}

func (s *Server) adminListServiceAccounts(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := s.refuseKeySelfService(req); err != nil {
		return err
	}
	user := r.URL.Query().Get("user")
	if user == "" || req.selfOnly && user == req.accessKey {
		user = s.requesterUser(req)
	}
	if req.selfOnly && user != s.requesterUser(req) {
		return errAccessDenied()
	}
	return s.writeEncryptedJSON(w, req, struct {
		Accounts []serviceAccountInfo `json:"accounts"`
	}{s.iam.state().serviceAccountsOf(user)})
}

func (s *Server) adminDeleteServiceAccount(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := s.refuseKeySelfService(req); err != nil {
		return err
	}
	ak, err := queryParam(r, "accessKey")
	if err != nil {
		return err
	}
	self := s.requesterUser(req)
	err = s.iam.update(r.Context(), func(st *iamState) error {
		sa, ok := st.ServiceAccounts[ak]
		// Another user's key looks missing to one who may only manage its
		// own, as in MinIO (no probing for names).
		if !ok || req.selfOnly && sa.Parent != self {
			return errNoSuchServiceAccount
		}
		delete(st.ServiceAccounts, ak)
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("IAM access key removed", zap.String("access_key", ak), zap.String("by", req.accessKey), zap.String("request_id", req.id))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminListAccessKeysBulk(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if err := s.refuseKeySelfService(req); err != nil {
		return err
	}
	q := r.URL.Query()
	users, all := q["users"], q.Get("all") == "true"
	if all && len(users) > 0 {
		return errAdminInvalidArgument
	}
	var listKeys bool
	switch q.Get("listType") {
	case "users-only", "sts-only":
	case "svcacc-only", "all":
		listKeys = true
	default:
		return adminErr("XMinioAdminInvalidArgument", http.StatusBadRequest, "invalid list type")
	}
	self := s.requesterUser(req)
	if req.selfOnly && (all || len(users) > 1 || len(users) == 1 && users[0] != self && users[0] != req.accessKey) {
		return errAccessDenied()
	}
	st := s.iam.state()
	switch {
	case req.selfOnly:
		users = []string{self}
	case all:
		users = slices.Sorted(func(yield func(string) bool) {
			for u := range st.Users {
				if !yield(u) {
					return
				}
			}
		})
		users = append(users, s.cfg.RootUser)
	case len(users) == 0:
		users = []string{s.requesterUser(req)}
	}
	type accessKeys struct {
		ServiceAccounts []serviceAccountInfo `json:"serviceAccounts"`
		STSKeys         []serviceAccountInfo `json:"stsKeys"`
	}
	out := map[string]accessKeys{}
	for _, u := range users {
		if _, ok := st.Users[u]; !ok && u != s.cfg.RootUser && !s.iam.isStatic(u) {
			continue
		}
		var keys accessKeys
		if listKeys {
			for _, sa := range st.serviceAccountsOf(u) {
				keys.ServiceAccounts = append(keys.ServiceAccounts, serviceAccountInfo{AccessKey: sa.AccessKey, Expiration: sa.Expiration})
			}
			if len(keys.ServiceAccounts) == 0 && q.Get("listType") == "svcacc-only" {
				continue
			}
		}
		out[u] = keys
	}
	return s.writeEncryptedJSON(w, req, out)
}
