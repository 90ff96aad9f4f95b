package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway/policy"
)

// The IAM store: users, groups, access keys (MinIO's service accounts),
// policies and policy mappings managed through MinIO's admin API (mc
// admin user|accesskey|policy|group). All of it is one document, the
// sealed record iamRecord in the system bucket, so the state is always
// consistent and a replica learns of any change from one HEAD:
//
//   - every replica keeps the document, and the identities built from it,
//     in memory; Lookup (every request) is a map read;
//   - every IAMRefreshInterval (2 s) it HEADs the record and reads it
//     again only when the backend's ETag changed; a replica that wrote
//     applies its own change at once. A change is therefore in force on
//     every replica within IAMRefreshInterval plus one HEAD and GET;
//   - writes are compare-and-swap: read, change, PUT with If-Match on the
//     ETag read (If-None-Match: * for the first), retried when another
//     replica won, so concurrent changes are never lost (on backends that
//     honour conditional PUTs: MinIO, AWS S3).
//
// The record is encrypted and authenticated like every record (SSE-S3
// under the default key, sealed to its name): the backend never sees a
// secret, and backend access can neither read nor forge a user. The
// document is bounded by maxRecordSize (1 MiB: thousands of users).

const iamRecord = "iam/state.json"

// iamState is the stored document.
type iamState struct {
	Version         int                           `json:"v"`
	Users           map[string]*iamUser           `json:"users,omitempty"`
	Groups          map[string]*iamGroup          `json:"groups,omitempty"`
	ServiceAccounts map[string]*iamServiceAccount `json:"serviceAccounts,omitempty"`
	Policies        map[string]*iamPolicy         `json:"policies,omitempty"`
}

type iamUser struct {
	SecretKey string    `json:"secretKey"`
	Enabled   bool      `json:"enabled"`
	Policies  []string  `json:"policies,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type iamGroup struct {
	Members   []string  `json:"members,omitempty"`
	Enabled   bool      `json:"enabled"`
	Policies  []string  `json:"policies,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// iamServiceAccount is an access key with a parent user, whose rights it
// has, narrowed by SessionPolicy if set.
type iamServiceAccount struct {
	Parent        string          `json:"parent"`
	SecretKey     string          `json:"secretKey"`
	Enabled       bool            `json:"enabled"`
	SessionPolicy json.RawMessage `json:"sessionPolicy,omitempty"`
	Name          string          `json:"name,omitempty"`
	Description   string          `json:"description,omitempty"`
	Expiration    time.Time       `json:"expiration,omitzero"` // zero: never
	UpdatedAt     time.Time       `json:"updatedAt"`
}

type iamPolicy struct {
	Document   json.RawMessage `json:"document"`
	CreateDate time.Time       `json:"createDate"`
	UpdateDate time.Time       `json:"updateDate"`
}

func newIAMState() *iamState {
	return &iamState{Version: 1, Users: map[string]*iamUser{}, Groups: map[string]*iamGroup{},
		ServiceAccounts: map[string]*iamServiceAccount{}, Policies: map[string]*iamPolicy{}}
}

func decodeIAMState(data []byte) (*iamState, error) {
	st := newIAMState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("IAM record is malformed: %w", err)
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("IAM record version %d is not supported", st.Version)
	}
	if st.Users == nil {
		st.Users = map[string]*iamUser{}
	}
	if st.Groups == nil {
		st.Groups = map[string]*iamGroup{}
	}
	if st.ServiceAccounts == nil {
		st.ServiceAccounts = map[string]*iamServiceAccount{}
	}
	if st.Policies == nil {
		st.Policies = map[string]*iamPolicy{}
	}
	return st, nil
}

// policyDocument returns the document of a canned or stored policy.
func (st *iamState) policyDocument(name string) ([]byte, bool) {
	if doc, ok := policy.BuiltinDocument(name); ok {
		return doc, true
	}
	p, ok := st.Policies[name]
	if !ok {
		return nil, false
	}
	return p.Document, true
}

// groupsOf lists the groups user is a member of, sorted.
func (st *iamState) groupsOf(user string) []string {
	var groups []string
	for name, g := range st.Groups {
		if slices.Contains(g.Members, user) {
			groups = append(groups, name)
		}
	}
	slices.Sort(groups)
	return groups
}

// policiesInUse reports whether any user or group is mapped to name.
func (st *iamState) policyInUse(name string) bool {
	for _, u := range st.Users {
		if slices.Contains(u.Policies, name) {
			return true
		}
	}
	for _, g := range st.Groups {
		if slices.Contains(g.Policies, name) {
			return true
		}
	}
	return false
}

// denyAll stands in for a policy a user is mapped to that does not exist
// (removed by another replica in between): fail closed.
var denyAll = func() *policy.Policy {
	p, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]},
		{"Effect":"Deny","Action":["admin:*"]},
		{"Effect":"Deny","Action":["kms:*"]},
		{"Effect":"Deny","Action":["sts:*"]}]}`))
	if err != nil {
		panic(err)
	}
	return p
}()

// iamEntry is one access key of the view.
type iamEntry struct {
	id      *Identity
	expires time.Time // zero: never
}

// iamView is an immutable snapshot: the state and the identities built
// from it.
type iamView struct {
	state *iamState
	etag  string // the backend's ETag of the record it was read from; "" none
	keys  map[string]iamEntry
}

// buildView resolves every enabled user's and access key's policies.
// rootUser is the parent of root's access keys, which get root's rights
// as consoleAdmin (everything) expresses them.
// Access keys of the configuration file's users (static) inherit theirs.
func buildView(st *iamState, etag, rootUser string, static CredentialStore, log *zap.Logger) *iamView {
	v := &iamView{state: st, etag: etag, keys: map[string]iamEntry{}}
	parsed := map[string]*policy.Policy{}
	resolve := func(name string) *policy.Policy {
		if p, ok := parsed[name]; ok {
			return p
		}
		p, ok := policy.Builtin(name)
		if !ok {
			if stored, found := st.Policies[name]; found {
				var err error
				if p, err = policy.Parse(stored.Document); err != nil {
					log.Error("IAM policy no longer parses; users mapped to it are denied everything", zap.String("policy", name), zap.Error(err))
					p = nil
				}
			}
		}
		if p == nil {
			p = denyAll
		}
		parsed[name] = p
		return p
	}
	userIdentity := func(name string) (*Identity, bool) {
		u, ok := st.Users[name]
		if !ok || !u.Enabled {
			return nil, false
		}
		id := &Identity{AccessKey: name, SecretKey: u.SecretKey}
		names := slices.Clone(u.Policies)
		for _, g := range st.groupsOf(name) {
			if grp := st.Groups[g]; grp.Enabled {
				names = append(names, grp.Policies...)
			}
		}
		slices.Sort(names)
		for _, n := range slices.Compact(names) {
			id.PolicyNames = append(id.PolicyNames, n)
			id.Policies = append(id.Policies, resolve(n))
		}
		return id, true
	}
	for name := range st.Users {
		if id, ok := userIdentity(name); ok {
			v.keys[name] = iamEntry{id: id}
		}
	}
	for ak, sa := range st.ServiceAccounts {
		if !sa.Enabled {
			continue
		}
		var parent *Identity
		if sa.Parent == rootUser {
			admin, _ := policy.Builtin("consoleAdmin")
			parent = &Identity{PolicyNames: []string{"consoleAdmin"}, Policies: []*policy.Policy{admin}}
		} else if p, ok := v.keys[sa.Parent]; ok && p.id.AccessKey == sa.Parent {
			parent = p.id
		} else if p, ok := lookupStatic(static, sa.Parent); ok {
			parent = p
		} else {
			continue // the parent is disabled or gone
		}
		id := &Identity{AccessKey: ak, SecretKey: sa.SecretKey, Policies: parent.Policies, PolicyNames: parent.PolicyNames}
		if len(sa.SessionPolicy) > 0 {
			sp, err := policy.Parse(sa.SessionPolicy)
			if err != nil {
				log.Error("access key's policy no longer parses; the key is refused", zap.String("access_key", ak), zap.Error(err))
				continue
			}
			id.SessionPolicy = sp
		}
		v.keys[ak] = iamEntry{id: id, expires: sa.Expiration}
	}
	return v
}

// iamStore is the IAM state as one replica sees it. It implements
// CredentialStore.
type iamStore struct {
	records  *records
	rootUser string
	// static are the configuration file's users, which the store never
	// shadows and the API cannot change; nil: none.
	static   CredentialStore
	interval time.Duration
	log      *zap.Logger
	now      func() time.Time

	view atomic.Pointer[iamView]
	// writeMu orders this replica's writes and refreshes (other replicas'
	// writes lose the compare-and-swap and retry).
	writeMu sync.Mutex
	started atomic.Bool
}

var _ CredentialStore = (*iamStore)(nil)

func newIAMStore(rc *records, rootUser string, static CredentialStore, interval time.Duration, log *zap.Logger) *iamStore {
	st := &iamStore{records: rc, rootUser: rootUser, static: static, interval: interval, log: log, now: time.Now}
	st.view.Store(buildView(newIAMState(), "", rootUser, static, log))
	return st
}

// Lookup implements CredentialStore: an enabled user, or an enabled,
// unexpired access key of an enabled user.
func (st *iamStore) Lookup(accessKey string) (*Identity, bool) {
	e, ok := st.view.Load().keys[accessKey]
	if !ok || !e.expires.IsZero() && !st.now().Before(e.expires) {
		return nil, false
	}
	return e.id, true
}

// isStatic reports a user of the configuration file.
func (st *iamStore) isStatic(accessKey string) bool {
	_, ok := lookupStatic(st.static, accessKey)
	return ok
}

func lookupStatic(static CredentialStore, accessKey string) (*Identity, bool) {
	if static == nil {
		return nil, false
	}
	return static.Lookup(accessKey)
}

// refresh reads the record again if the backend's ETag changed. It holds
// the write lock, so a refresh that read an older state cannot install it
// over a newer one this replica just wrote.
func (st *iamStore) refresh(ctx context.Context) error {
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	etag, err := st.records.etag(ctx, iamRecord)
	if err != nil {
		return err
	}
	if etag == st.view.Load().etag {
		return nil
	}
	state, etag, err := st.load(ctx)
	if err != nil {
		return err
	}
	st.install(state, etag)
	return nil
}

// load reads the stored state; an absent record is the empty state.
func (st *iamStore) load(ctx context.Context) (*iamState, string, error) {
	data, etag, err := st.records.getWithETag(ctx, iamRecord)
	if errors.Is(err, errRecordNotFound) {
		return newIAMState(), "", nil
	}
	if err != nil {
		return nil, "", err
	}
	state, err := decodeIAMState(data)
	if err != nil {
		return nil, "", err
	}
	return state, etag, nil
}

func (st *iamStore) install(state *iamState, etag string) {
	st.view.Store(buildView(state, etag, st.rootUser, st.static, st.log))
}

// run refreshes the view every interval until ctx ends. Errors are
// logged: the replica keeps its last view (fail closed for new keys, and
// removed keys live on for at most the outage).
func (st *iamStore) run(ctx context.Context) {
	if st.interval <= 0 || !st.started.CompareAndSwap(false, true) {
		return
	}
	t := time.NewTicker(st.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := st.refresh(ctx); err != nil && ctx.Err() == nil {
				st.log.Warn("IAM refresh failed; keeping the last state", zap.Error(err))
			}
		}
	}
}

// state returns the current state, read-only.
func (st *iamStore) state() *iamState { return st.view.Load().state }

// update applies change to the latest stored state and stores it
// (compare-and-swap, retried when another replica wrote in between). The
// new state is in force on this replica when update returns.
func (st *iamStore) update(ctx context.Context, change func(*iamState) error) error {
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	for range 8 {
		state, etag, err := st.load(ctx)
		if err != nil {
			return err
		}
		if err := change(state); err != nil {
			st.install(state, etag) // at least as new as what we had
			return err
		}
		data, err := json.Marshal(state)
		if err != nil {
			return err
		}
		if len(data) > maxRecordSize {
			return errIAMFull
		}
		newETag, err := st.records.replace(ctx, iamRecord, data, etag)
		if errors.Is(err, errRecordChanged) {
			continue
		}
		if err != nil {
			return err
		}
		// Decode what was stored, so the view never shares maps with a
		// state a later change mutates.
		stored, err := decodeIAMState(data)
		if err != nil {
			return err
		}
		st.install(stored, newETag)
		return nil
	}
	return errors.New("IAM record: too many concurrent changes, retry")
}

// errIAMFull refuses a change that would make the IAM record exceed
// maxRecordSize.
var errIAMFull = adminErr("XMinioAdminConfigTooLarge", 400, "the IAM state would exceed s3seal's 1 MiB limit; remove unused users, keys or policies")

// credentialChain looks a key up in each store in turn.
type credentialChain []CredentialStore

func (c credentialChain) Lookup(accessKey string) (*Identity, bool) {
	for _, store := range c {
		if store == nil {
			continue
		}
		if id, ok := store.Lookup(accessKey); ok {
			return id, true
		}
	}
	return nil, false
}
