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
	"unicode"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// MinIO's admin IAM API as madmin-go (v3, which mc uses) speaks it: users,
// access keys (service accounts), canned policies and their mappings, and
// groups. Paths, parameters, JSON documents, which bodies are encrypted
// (adminenc.go) and the error codes follow MinIO's cmd/admin-router.go and
// cmd/admin-handlers-users.go. Every endpoint needs its admin: action
// (operationAccess); the state lives in iamStore.

func (s *Server) adminIAMRoutes(r *mux.Router) {
	const v3 = "/minio/admin/v3"
	get, put, post, del := http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete
	for _, rt := range []struct {
		name, method, path string
		h                  s3Handler
	}{
		{"AddUser", put, "/add-user", s.adminAddUser},
		{"RemoveUser", del, "/remove-user", s.adminRemoveUser},
		{"ListUsers", get, "/list-users", s.adminListUsers},
		{"GetUserInfo", get, "/user-info", s.adminUserInfo},
		{"SetUserStatus", put, "/set-user-status", s.adminSetUserStatus},
		{"AddServiceAccount", put, "/add-service-account", s.adminAddServiceAccount},
		{"UpdateServiceAccount", post, "/update-service-account", s.adminUpdateServiceAccount},
		{"InfoServiceAccount", get, "/info-service-account", s.adminInfoServiceAccount},
		{"ListServiceAccounts", get, "/list-service-accounts", s.adminListServiceAccounts},
		{"DeleteServiceAccount", del, "/delete-service-account", s.adminDeleteServiceAccount},
		{"ListAccessKeysBulk", get, "/list-access-keys-bulk", s.adminListAccessKeysBulk},
		{"AddCannedPolicy", put, "/add-canned-policy", s.adminAddCannedPolicy},
		{"InfoCannedPolicy", get, "/info-canned-policy", s.adminInfoCannedPolicy},
		{"ListCannedPolicies", get, "/list-canned-policies", s.adminListCannedPolicies},
		{"RemoveCannedPolicy", del, "/remove-canned-policy", s.adminRemoveCannedPolicy},
		{"SetPolicyForUserOrGroup", put, "/set-user-or-group-policy", s.adminSetPolicy},
		{"AttachPolicy", post, "/idp/builtin/policy/attach", s.adminAttachPolicy},
		{"DetachPolicy", post, "/idp/builtin/policy/detach", s.adminDetachPolicy},
		{"UpdateGroupMembers", put, "/update-group-members", s.adminUpdateGroupMembers},
		{"GetGroup", get, "/group", s.adminGetGroup},
		{"ListGroups", get, "/groups", s.adminListGroups},
		{"SetGroupStatus", put, "/set-group-status", s.adminSetGroupStatus},
	} {
		r.Handle(v3+rt.path, s.serveAdmin(rt.name, rt.h)).Methods(rt.method).Name(rt.name)
	}
}

// The admin API's error answers, as MinIO's.
func adminErr(code string, status int, msg string) error {
	return &s3err.Error{Code: s3err.Code{Name: code, Status: status}, Message: msg}
}

var (
	errNoSuchUser           = adminErr("XMinioAdminNoSuchUser", http.StatusNotFound, "The specified user does not exist.")
	errNoSuchGroup          = adminErr("XMinioAdminNoSuchGroup", http.StatusNotFound, "The specified group does not exist.")
	errNoSuchPolicy         = adminErr("XMinioAdminNoSuchPolicy", http.StatusNotFound, "The canned policy does not exist.")
	errNoSuchServiceAccount = adminErr("XMinioInvalidIAMCredentials", http.StatusNotFound, "The specified service account is not found")
	errGroupNotEmpty        = adminErr("XMinioAdminGroupNotEmpty", http.StatusBadRequest, "The specified group is not empty - cannot remove it.")
	errPolicyInUse          = adminErr("XMinioIAMPolicyInUse", http.StatusBadRequest, "The policy cannot be removed, as it is in use")
	errPolicyAlreadyApplied = adminErr("XMinioAdminPolicyChangeAlreadyApplied", http.StatusBadRequest, "The specified policy change is already in effect.")
	errRootCredential       = adminErr("XMinioInvalidIAMCredentials", http.StatusForbidden, "Credential is not allowed to be same as admin access key")
	errAdminInvalidArgument = adminErr("XMinioAdminInvalidArgument", http.StatusBadRequest, "Invalid arguments specified.")
	errAdminBadJSON         = adminErr("XMinioAdminConfigBadJSON", http.StatusBadRequest, "JSON configuration provided is of incorrect format")
	errAdminSpaceInName     = adminErr("XMinioInvalidResource", http.StatusBadRequest, "Policy, user or group names are not allowed to begin or end with space characters")
	errInvalidAccessKey     = adminErr("XMinioAdminInvalidAccessKey", http.StatusBadRequest, "The access key is invalid.")
	errInvalidSecretKey     = adminErr("XMinioAdminInvalidSecretKey", http.StatusBadRequest, "The secret key is invalid.")
)

func errIAMNotAllowed(msg string) error {
	return adminErr("XMinioIAMActionNotAllowed", http.StatusForbidden, msg)
}

func errStaticUser(name string) error {
	return errIAMNotAllowed("user " + name + " is defined in s3seal's configuration file; change it there")
}

const (
	maxAdminBody = 1 << 20
	statusOn     = "on" // an access key's status, as MinIO writes it
	statusOff    = "off"
)

func hasSpaceBE(s string) bool {
	return strings.TrimSpace(s) != s
}

// validUserName applies MinIO's rules for new access keys and users.
func validAccessKey(ak string) error {
	switch {
	case hasSpaceBE(ak):
		return errAdminSpaceInName
	case len(ak) < 3, strings.ContainsAny(ak, "=,/"), strings.ContainsFunc(ak, unicode.IsControl):
		return errInvalidAccessKey
	}
	return nil
}

func validSecretKey(sk string) error {
	if len(sk) < 8 || len(sk) > 40 {
		return errInvalidSecretKey
	}
	return nil
}

// readAdminBody reads a plain admin request body.
func readAdminBody(req *s3Request) ([]byte, error) {
	data, err := readXMLBody(req, maxAdminBody)
	if s3err.HasCode(err, s3err.MaxMessageLengthExceeded) {
		return nil, adminErr("XMinioAdminConfigTooLarge", http.StatusBadRequest, "Configuration data provided exceeds the allowed maximum of 256KiB")
	}
	return data, err
}

// decryptAdminJSON reads a body encrypted under the requester's secret
// key and decodes it into v.
func (s *Server) decryptAdminJSON(req *s3Request, v any) error {
	data, err := readAdminBody(req)
	if err != nil {
		return err
	}
	secret, _ := s.lookupSecret(req.accessKey)
	plain, err := decryptAdminData(secret, data)
	if err != nil {
		return &s3err.Error{Code: s3err.Code{Name: "XMinioAdminConfigBadJSON", Status: http.StatusBadRequest}, Message: "JSON configuration provided is of incorrect format", Err: err}
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return &s3err.Error{Code: s3err.Code{Name: "XMinioAdminConfigBadJSON", Status: http.StatusBadRequest}, Message: "JSON configuration provided is of incorrect format", Err: err}
	}
	return nil
}

// writeEncryptedJSON answers v encrypted under the requester's secret key.
func (s *Server) writeEncryptedJSON(w http.ResponseWriter, req *s3Request, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	secret, _ := s.lookupSecret(req.accessKey)
	enc, err := encryptAdminData(secret, data)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(enc)
	return err
}

func queryParam(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", errAdminInvalidArgument
	}
	return v, nil
}

// splitPolicies splits MinIO's comma-separated policy list.
func splitPolicies(list string) []string {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

func (st *iamState) checkPoliciesExist(names []string) error {
	for _, n := range names {
		if _, ok := st.policyDocument(n); !ok {
			return errNoSuchPolicy
		}
	}
	return nil
}

// Users.

type addOrUpdateUserReq struct {
	SecretKey string `json:"secretKey,omitempty"`
	Policy    string `json:"policy,omitempty"`
	Status    string `json:"status"`
}

type userInfo struct {
	SecretKey  string    `json:"secretKey,omitempty"`
	PolicyName string    `json:"policyName,omitempty"`
	Status     string    `json:"status"`
	MemberOf   []string  `json:"memberOf,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero"`
}

func accountStatus(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

func (s *Server) adminAddUser(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ak, err := queryParam(r, "accessKey")
	if err != nil {
		return err
	}
	switch {
	case ak == s.cfg.RootUser:
		return errRootCredential
	case s.iam.isStatic(ak):
		return errStaticUser(ak)
	}
	if _, ok := s.iam.state().ServiceAccounts[ak]; ok {
		return errRootCredential // MinIO's answer: not a user this API changes
	}
	var ureq addOrUpdateUserReq
	if err := s.decryptAdminJSON(req, &ureq); err != nil {
		return err
	}
	if ureq.Status != "" && ureq.Status != "enabled" && ureq.Status != "disabled" {
		return errAdminInvalidArgument
	}
	err = s.iam.update(r.Context(), func(st *iamState) error {
		if _, ok := st.ServiceAccounts[ak]; ok {
			return errRootCredential
		}
		u, exists := st.Users[ak]
		if !exists {
			if err := validAccessKey(ak); err != nil {
				return err
			}
			u = &iamUser{Enabled: true}
		}
		if ureq.SecretKey != "" || !exists {
			if err := validSecretKey(ureq.SecretKey); err != nil {
				return err
			}
			u.SecretKey = ureq.SecretKey
		}
		if ureq.Status != "" {
			u.Enabled = ureq.Status == "enabled"
		}
		if ureq.Policy != "" {
			names := splitPolicies(ureq.Policy)
			if err := st.checkPoliciesExist(names); err != nil {
				return err
			}
			u.Policies = names
		}
		u.UpdatedAt = time.Now().UTC()
		st.Users[ak] = u
		return nil
	})
	if err == nil {
		s.log.Info("IAM user added or changed", zap.String("user", ak), zap.String("by", req.accessKey), zap.String("request_id", req.id))
	}
	return err
}

func (s *Server) adminRemoveUser(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ak, err := queryParam(r, "accessKey")
	if err != nil {
		return err
	}
	switch {
	case ak == s.cfg.RootUser, ak == req.accessKey:
		return errIAMNotAllowed("root and the requester itself cannot be removed")
	case s.iam.isStatic(ak):
		return errStaticUser(ak)
	}
	err = s.iam.update(r.Context(), func(st *iamState) error {
		if _, ok := st.ServiceAccounts[ak]; ok {
			return errIAMNotAllowed("this API removes users, not access keys")
		}
		if _, ok := st.Users[ak]; !ok {
			return errNoSuchUser
		}
		delete(st.Users, ak)
		// Its access keys and memberships go with it.
		for key, sa := range st.ServiceAccounts {
			if sa.Parent == ak {
				delete(st.ServiceAccounts, key)
			}
		}
		for _, g := range st.Groups {
			g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == ak })
		}
		return nil
	})
	if err == nil {
		s.log.Info("IAM user removed", zap.String("user", ak), zap.String("by", req.accessKey), zap.String("request_id", req.id))
	}
	return err
}

func (st *iamState) userInfo(name string) (userInfo, bool) {
	u, ok := st.Users[name]
	if !ok {
		return userInfo{}, false
	}
	return userInfo{PolicyName: strings.Join(u.Policies, ","), Status: accountStatus(u.Enabled), MemberOf: st.groupsOf(name), UpdatedAt: u.UpdatedAt}, true
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	st := s.iam.state()
	users := make(map[string]userInfo, len(st.Users))
	for name := range st.Users {
		users[name], _ = st.userInfo(name)
	}
	return s.writeEncryptedJSON(w, req, users)
}

func (s *Server) adminUserInfo(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ak, err := queryParam(r, "accessKey")
	if err != nil {
		return err
	}
	info, ok := s.iam.state().userInfo(ak)
	if !ok {
		id, static := lookupStatic(s.iam.static, ak)
		if !static {
			return errNoSuchUser
		}
		info = userInfo{PolicyName: strings.Join(id.PolicyNames, ","), Status: "enabled"}
	}
	return writeJSON(w, info)
}

func (s *Server) adminSetUserStatus(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ak, err := queryParam(r, "accessKey")
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	if ak == req.accessKey || status != "enabled" && status != "disabled" {
		return errAdminInvalidArgument
	}
	if s.iam.isStatic(ak) {
		return errStaticUser(ak)
	}
	return s.iam.update(r.Context(), func(st *iamState) error {
		u, ok := st.Users[ak]
		if !ok {
			return errNoSuchUser
		}
		u.Enabled = status == "enabled"
		u.UpdatedAt = time.Now().UTC()
		return nil
	})
}

// Access keys (MinIO's service accounts).

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

// Policies.

func (s *Server) adminAddCannedPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	name, err := queryParam(r, "name")
	if err != nil {
		return err
	}
	switch {
	case hasSpaceBE(name):
		return errAdminSpaceInName
	case strings.Contains(name, ","):
		return adminErr("PolicyInvalidName", http.StatusBadRequest, "Policy name may not contain comma")
	}
	if _, ok := policy.Builtin(name); ok {
		return errIAMNotAllowed("policy " + name + " is one of MinIO's canned policies, which s3seal does not let change")
	}
	if req.payload == nil || req.payload.Size == 0 {
		return s3err.New(s3err.MissingContentLength, "")
	}
	if req.payload.Size > policy.MaxSize {
		return s3err.New(s3err.EntityTooLarge, "")
	}
	doc, err := readXMLBody(req, policy.MaxSize)
	if s3err.HasCode(err, s3err.MaxMessageLengthExceeded) {
		return s3err.New(s3err.EntityTooLarge, "")
	}
	if err != nil {
		return err
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return &s3err.Error{Code: s3err.MalformedPolicy, Message: err.Error(), Err: err}
	}
	if p.Version == "" {
		return s3err.New(s3err.MalformedPolicy, "The policy must contain a valid version string")
	}
	return s.iam.update(r.Context(), func(st *iamState) error {
		now := time.Now().UTC()
		created := now
		if old, ok := st.Policies[name]; ok {
			created = old.CreateDate
		}
		st.Policies[name] = &iamPolicy{Document: doc, CreateDate: created, UpdateDate: now}
		return nil
	})
}

func (s *Server) adminInfoCannedPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	name, err := queryParam(r, "name")
	if err != nil {
		return err
	}
	st := s.iam.state()
	doc, ok := st.policyDocument(name)
	if !ok {
		return errNoSuchPolicy
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, doc, "", " "); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Query().Get("v") {
	case "":
		_, err = w.Write(indented.Bytes())
		return err
	case "2":
		info := struct {
			PolicyName string
			Policy     json.RawMessage
			CreateDate time.Time `json:",omitzero"`
			UpdateDate time.Time `json:",omitzero"`
		}{PolicyName: name, Policy: doc}
		if p, ok := st.Policies[name]; ok {
			info.CreateDate, info.UpdateDate = p.CreateDate, p.UpdateDate
		}
		return json.NewEncoder(w).Encode(info)
	default:
		return adminErr("XMinioAdminInvalidArgument", http.StatusBadRequest, "invalid version parameter 'v' supplied")
	}
}

func (s *Server) adminListCannedPolicies(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	st := s.iam.state()
	out := map[string]json.RawMessage{}
	for _, name := range policy.BuiltinNames() {
		out[name], _ = policy.BuiltinDocument(name)
	}
	for name, p := range st.Policies {
		out[name] = p.Document
	}
	return writeJSON(w, out)
}

func (s *Server) adminRemoveCannedPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	name, err := queryParam(r, "name")
	if err != nil {
		return err
	}
	if _, ok := policy.Builtin(name); ok {
		return errIAMNotAllowed("policy " + name + " is one of MinIO's canned policies, which s3seal does not let remove")
	}
	return s.iam.update(r.Context(), func(st *iamState) error {
		if _, ok := st.Policies[name]; !ok {
			return errNoSuchPolicy
		}
		if st.policyInUse(name) {
			return errPolicyInUse
		}
		delete(st.Policies, name)
		return nil
	})
}

// entityPolicies returns the policy list of a user or group to change.
func (s *Server) entityPolicies(st *iamState, user, group string) (*[]string, error) {
	if group != "" {
		g, ok := st.Groups[group]
		if !ok {
			return nil, errNoSuchGroup
		}
		return &g.Policies, nil
	}
	switch {
	case user == s.cfg.RootUser:
		return nil, errIAMNotAllowed("root has every right; it takes no policies")
	case s.iam.isStatic(user):
		return nil, errStaticUser(user)
	}
	u, ok := st.Users[user]
	if !ok {
		return nil, errNoSuchUser
	}
	return &u.Policies, nil
}

// adminSetPolicy is MinIO's older set-user-or-group-policy: the mapping
// becomes exactly the named policies.
func (s *Server) adminSetPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	q := r.URL.Query()
	entity := q.Get("userOrGroup")
	if entity == "" {
		return errAdminInvalidArgument
	}
	names := splitPolicies(q.Get("policyName"))
	user, group := entity, ""
	if q.Get("isGroup") == "true" {
		user, group = "", entity
	}
	return s.iam.update(r.Context(), func(st *iamState) error {
		list, err := s.entityPolicies(st, user, group)
		if err != nil {
			return err
		}
		if err := st.checkPoliciesExist(names); err != nil {
			return err
		}
		*list = names
		return nil
	})
}

type policyAssociationReq struct {
	Policies []string `json:"policies"`
	User     string   `json:"user,omitempty"`
	Group    string   `json:"group,omitempty"`
}

func (s *Server) adminAttachPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	return s.attachDetachPolicy(w, r, req, true)
}

func (s *Server) adminDetachPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	return s.attachDetachPolicy(w, r, req, false)
}

func (s *Server) attachDetachPolicy(w http.ResponseWriter, r *http.Request, req *s3Request, attach bool) error {
	// The body must be opaque, so that nothing parsed it as a form.
	if r.Header.Get("Content-Type") != "application/octet-stream" {
		return adminErr("BadRequest", http.StatusBadRequest, "400 BadRequest")
	}
	var par policyAssociationReq
	if err := s.decryptAdminJSON(req, &par); err != nil {
		return err
	}
	if len(par.Policies) == 0 || (par.User == "") == (par.Group == "") {
		return errAdminInvalidArgument
	}
	var changed []string
	err := s.iam.update(r.Context(), func(st *iamState) error {
		changed = nil
		list, err := s.entityPolicies(st, par.User, par.Group)
		if err != nil {
			return err
		}
		for _, n := range par.Policies {
			switch has := slices.Contains(*list, n); {
			case attach && !has:
				if _, ok := st.policyDocument(n); !ok {
					return errNoSuchPolicy
				}
				*list = append(*list, n)
				changed = append(changed, n)
			case !attach && has:
				*list = slices.DeleteFunc(*list, func(p string) bool { return p == n })
				changed = append(changed, n)
			}
		}
		if len(changed) == 0 {
			return errPolicyAlreadyApplied
		}
		return nil
	})
	if err != nil {
		return err
	}
	resp := struct {
		PoliciesAttached []string  `json:"policiesAttached,omitempty"`
		PoliciesDetached []string  `json:"policiesDetached,omitempty"`
		UpdatedAt        time.Time `json:"updatedAt"`
	}{UpdatedAt: time.Now().UTC()}
	if attach {
		resp.PoliciesAttached = changed
	} else {
		resp.PoliciesDetached = changed
	}
	return s.writeEncryptedJSON(w, req, resp)
}

// Groups.

type groupAddRemove struct {
	Group    string   `json:"group"`
	Members  []string `json:"members"`
	Status   string   `json:"groupStatus"`
	IsRemove bool     `json:"isRemove"`
}

func (s *Server) adminUpdateGroupMembers(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	data, err := readAdminBody(req)
	if err != nil {
		return err
	}
	var g groupAddRemove
	if err := json.Unmarshal(data, &g); err != nil || g.Group == "" {
		return s3err.New(s3err.InvalidRequest, "")
	}
	for _, m := range g.Members {
		if m == s.cfg.RootUser {
			return errIAMNotAllowed("root cannot be a member of a group")
		}
		if s.iam.isStatic(m) {
			return errStaticUser(m)
		}
	}
	return s.iam.update(r.Context(), func(st *iamState) error {
		grp, exists := st.Groups[g.Group]
		if g.IsRemove {
			switch {
			case !exists:
				return errNoSuchGroup
			case len(g.Members) == 0 && len(grp.Members) > 0:
				return errGroupNotEmpty
			case len(g.Members) == 0:
				delete(st.Groups, g.Group)
				return nil
			}
			for _, m := range g.Members {
				if _, ok := st.Users[m]; !ok {
					return errNoSuchUser
				}
			}
			grp.Members = slices.DeleteFunc(grp.Members, func(m string) bool { return slices.Contains(g.Members, m) })
			grp.UpdatedAt = time.Now().UTC()
			return nil
		}
		if !exists {
			if hasSpaceBE(g.Group) {
				return errAdminSpaceInName
			}
			grp = &iamGroup{Enabled: true}
			st.Groups[g.Group] = grp
		}
		for _, m := range g.Members {
			if _, ok := st.Users[m]; !ok {
				return errNoSuchUser
			}
			if !slices.Contains(grp.Members, m) {
				grp.Members = append(grp.Members, m)
			}
		}
		grp.UpdatedAt = time.Now().UTC()
		return nil
	})
}

func (s *Server) adminGetGroup(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	name, err := queryParam(r, "group")
	if err != nil {
		return err
	}
	g, ok := s.iam.state().Groups[name]
	if !ok {
		return errNoSuchGroup
	}
	members := g.Members
	if members == nil {
		members = []string{}
	}
	return writeJSON(w, struct {
		Name      string    `json:"name"`
		Status    string    `json:"status"`
		Members   []string  `json:"members"`
		Policy    string    `json:"policy"`
		UpdatedAt time.Time `json:"updatedAt,omitzero"`
	}{name, accountStatus(g.Enabled), members, strings.Join(g.Policies, ","), g.UpdatedAt})
}

func (s *Server) adminListGroups(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	groups := []string{}
	for name := range s.iam.state().Groups {
		groups = append(groups, name)
	}
	slices.Sort(groups)
	return writeJSON(w, groups)
}

func (s *Server) adminSetGroupStatus(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	name, err := queryParam(r, "group")
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	if status != "enabled" && status != "disabled" {
		return errAdminInvalidArgument
	}
	return s.iam.update(r.Context(), func(st *iamState) error {
		g, ok := st.Groups[name]
		if !ok {
			return errNoSuchGroup
		}
		g.Enabled = status == "enabled"
		g.UpdatedAt = time.Now().UTC()
		return nil
	})
}
