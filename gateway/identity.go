package gateway

import (
	"fmt"

	"github.com/s3seal/s3seal/gateway/policy"
)

// Identity is a principal clients sign as: an access key, its secret and
// the policies that say what it may do.
type Identity struct {
	AccessKey string
	SecretKey string
	// Policies are the identity policies in force for the key; a key
	// without any may do nothing (default deny).
	Policies []*policy.Policy
	// PolicyNames name them, for logs and audit.
	PolicyNames []string
	// SessionPolicy, if set, narrows the identity: a request must be
	// allowed by it as well (STS session policies, access keys that
	// narrow their user's rights). nil: no narrowing.
	SessionPolicy *policy.Policy
}

// CredentialStore looks up the access keys clients sign with, other than
// the root user's. Implementations must be safe for concurrent use and
// fast: Lookup runs on every request. The static store from the
// configuration file is one; a store in the system bucket managed through
// MinIO's admin API (users, service accounts, groups, STS) plugs in here.
type CredentialStore interface {
	// Lookup returns the identity of accessKey, or false for an unknown,
	// disabled or expired key.
	Lookup(accessKey string) (*Identity, bool)
}

// StaticCredentials is a fixed set of identities by access key.
type StaticCredentials map[string]*Identity

// Lookup implements CredentialStore.
func (c StaticCredentials) Lookup(accessKey string) (*Identity, bool) {
	id, ok := c[accessKey]
	return id, ok
}

// NewStaticCredentials checks identities and indexes them by access key.
// Policies are resolved by the caller (policy.Builtin or a parsed custom
// policy).
func NewStaticCredentials(ids []*Identity) (StaticCredentials, error) {
	c := StaticCredentials{}
	for _, id := range ids {
		switch {
		case len(id.AccessKey) < 3:
			return nil, fmt.Errorf("user %q: access key must be at least 3 characters", id.AccessKey)
		case len(id.SecretKey) < 8:
			return nil, fmt.Errorf("user %q: secret key must be at least 8 characters", id.AccessKey)
		case c[id.AccessKey] != nil:
			return nil, fmt.Errorf("user %q is defined twice", id.AccessKey)
		}
		c[id.AccessKey] = id
	}
	return c, nil
}
