package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/internal/madmincrypt"
)

// MinIO's admin IAM API as madmin-go (v3, which mc uses) speaks it: users,
// access keys (service accounts), canned policies and their mappings, and
// groups. Paths, parameters, JSON documents, which bodies are encrypted
// (internal/madmincrypt) and the error codes follow MinIO's cmd/admin-router.go and
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

// validAccessKey applies MinIO's rules for new access keys and users.
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
		return nil, adminErr("XMinioAdminConfigTooLarge", http.StatusBadRequest, "Configuration data provided exceeds the allowed maximum of 1 MiB")
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
	plain, err := madmincrypt.Decrypt(secret, data)
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
	enc, err := madmincrypt.Encrypt(secret, data)
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
