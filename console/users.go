package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/s3seal/s3seal/internal/madmincrypt"
)

// The users page: MinIO's admin IAM API (/minio/admin/v3/...) as the
// logged-in user. The bodies that carry secrets (a new user, the user
// listing, policy attachments) are encrypted under the user's own secret
// key, as mc does (internal/madmincrypt).

const adminV3 = "/minio/admin/v3/"

// iamUser is one user as list-users describes it.
type iamUser struct {
	PolicyName string   `json:"policyName"`
	Status     string   `json:"status"`
	MemberOf   []string `json:"memberOf"`
}

// adminEncrypted sends an admin request whose body (if any) is encrypted
// under the user's secret key and decrypts the answer into out (nil:
// ignore it).
func (a *api) adminEncrypted(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		plain, err := json.Marshal(in)
		if err != nil {
			return err
		}
		if body, err = madmincrypt.Encrypt(a.secretKey, plain); err != nil {
			return err
		}
	}
	data, err := a.adminRequest(ctx, method, adminV3+path, query, body)
	if err != nil || out == nil {
		return err
	}
	plain, err := madmincrypt.Decrypt(a.secretKey, data)
	if err != nil {
		return &apiError{Status: http.StatusBadGateway, Code: "BadGateway", Message: "the gateway's answer is not encrypted under your secret key, or was altered"}
	}
	return json.Unmarshal(plain, out)
}

func (a *api) listUsers(ctx context.Context) (map[string]iamUser, error) {
	users := map[string]iamUser{}
	err := a.adminEncrypted(ctx, http.MethodGet, "list-users", nil, nil, &users)
	return users, err
}

func (a *api) listPolicies(ctx context.Context) ([]string, error) {
	data, err := a.adminRequest(ctx, http.MethodGet, adminV3+"list-canned-policies", nil, nil)
	if err != nil {
		return nil, err
	}
	var docs map[string]json.RawMessage
	if err := json.Unmarshal(data, &docs); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (a *api) addUser(ctx context.Context, accessKey, secretKey, policy string) error {
	req := struct {
		SecretKey string `json:"secretKey"`
		Policy    string `json:"policy,omitempty"`
		Status    string `json:"status"`
	}{secretKey, policy, "enabled"}
	return a.adminEncrypted(ctx, http.MethodPut, "add-user", url.Values{"accessKey": {accessKey}}, req, nil)
}

func (a *api) setUserStatus(ctx context.Context, accessKey, status string) error {
	_, err := a.adminRequest(ctx, http.MethodPut, adminV3+"set-user-status", url.Values{"accessKey": {accessKey}, "status": {status}}, nil)
	return err
}

func (a *api) removeUser(ctx context.Context, accessKey string) error {
	_, err := a.adminRequest(ctx, http.MethodDelete, adminV3+"remove-user", url.Values{"accessKey": {accessKey}}, nil)
	return err
}

// attachPolicy attaches (attach) or detaches policy to or from user.
func (a *api) attachPolicy(ctx context.Context, user, policy string, attach bool) error {
	path := "idp/builtin/policy/detach"
	if attach {
		path = "idp/builtin/policy/attach"
	}
	req := struct {
		Policies []string `json:"policies"`
		User     string   `json:"user"`
	}{[]string{policy}, user}
	var out json.RawMessage
	return a.adminEncrypted(ctx, http.MethodPost, path, nil, req, &out)
}

// userRow is one user on the page. Secrets are never in it.
type userRow struct {
	Name     string
	Enabled  bool
	Policies []string
	Groups   []string
}

type usersData struct {
	Users       []userRow
	Policies    []string
	PolicyError string // why the policies could not be listed
	// Form keeps what a failed create-user form held, but its secret.
	FormAccessKey, FormPolicy string
}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	c.renderUsers(w, r, sess, a, http.StatusOK, "", "", usersData{})
}

func (c *Console) renderUsers(w http.ResponseWriter, r *http.Request, sess *session, a *api, status int, notice, errMsg string, data usersData) {
	ctx, cancel := actionContext(r)
	defer cancel()
	p := newPage(sess, "users", "Users")
	p.Notice, p.Error = notice, errMsg
	users, err := a.listUsers(ctx)
	if err != nil {
		p.Error = joinErrors(p.Error, "ListUsers: "+describe(err))
		if status == http.StatusOK {
			status = statusOf(err)
		}
	}
	for name, u := range users {
		data.Users = append(data.Users, userRow{
			Name: name, Enabled: u.Status == "enabled",
			Policies: splitList(u.PolicyName), Groups: u.MemberOf,
		})
	}
	sort.Slice(data.Users, func(i, j int) bool { return data.Users[i].Name < data.Users[j].Name })
	if data.Policies, err = a.listPolicies(ctx); err != nil {
		data.PolicyError = "ListCannedPolicies: " + describe(err)
	}
	p.Data = data
	c.render(w, status, "users", p)
}

func splitList(s string) []string {
	var out []string
	for n := range strings.SplitSeq(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	ak := r.PostFormValue("accessKey")
	sk := r.PostFormValue("secretKey")
	policy := r.PostFormValue("policy")
	ctx, cancel := actionContext(r)
	defer cancel()
	if err := a.addUser(ctx, ak, sk, policy); err != nil {
		c.renderUsers(w, r, sess, a, statusOf(err), "", "AddUser "+ak+": "+describe(err), usersData{FormAccessKey: ak, FormPolicy: policy})
		return
	}
	notice := "Created user " + ak + "."
	if policy != "" {
		notice = "Created user " + ak + " with policy " + policy + "."
	}
	c.renderUsers(w, r, sess, a, http.StatusOK, notice, "", usersData{})
}

func (c *Console) setUserStatus(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	user := r.PostFormValue("user")
	status := r.PostFormValue("status")
	ctx, cancel := actionContext(r)
	defer cancel()
	if err := a.setUserStatus(ctx, user, status); err != nil {
		c.renderUsers(w, r, sess, a, statusOf(err), "", "SetUserStatus "+user+": "+describe(err), usersData{})
		return
	}
	c.renderUsers(w, r, sess, a, http.StatusOK, "User "+user+" is "+status+".", "", usersData{})
}

func (c *Console) removeUser(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	user := r.PostFormValue("user")
	ctx, cancel := actionContext(r)
	defer cancel()
	if err := a.removeUser(ctx, user); err != nil {
		c.renderUsers(w, r, sess, a, statusOf(err), "", "RemoveUser "+user+": "+describe(err), usersData{})
		return
	}
	c.renderUsers(w, r, sess, a, http.StatusOK, "Removed user "+user+".", "", usersData{})
}

func (c *Console) userPolicy(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	user := r.PostFormValue("user")
	policy := r.PostFormValue("policy")
	attach := r.PostFormValue("action") != "detach"
	op, verb := "AttachPolicy", "Attached policy "+policy+" to "
	if !attach {
		op, verb = "DetachPolicy", "Detached policy "+policy+" from "
	}
	ctx, cancel := actionContext(r)
	defer cancel()
	if err := a.attachPolicy(ctx, user, policy, attach); err != nil {
		c.renderUsers(w, r, sess, a, statusOf(err), "", op+" "+policy+" for "+user+": "+describe(err), usersData{})
		return
	}
	c.renderUsers(w, r, sess, a, http.StatusOK, verb+user+".", "", usersData{})
}
