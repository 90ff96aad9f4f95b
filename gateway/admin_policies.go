package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// The admin API's canned policies, their mappings to users and groups,
// and groups.

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
