package main

import (
	"errors"
	"fmt"

	"github.com/s3seal/s3seal/gateway"
	"github.com/s3seal/s3seal/gateway/policy"
)

// userConfig is one static user of the configuration file's users
// section: an access key, its secret (best written as ${ENV}) and the
// names of its policies (MinIO's canned ones or the policies section's).
type userConfig struct {
	AccessKey string   `yaml:"access_key"`
	SecretKey string   `yaml:"secret_key"`
	Policies  []string `yaml:"policies"`
}

// staticCredentials resolves the users section against the canned and
// the configured policies. Errors name users and policies, never secrets.
func staticCredentials(c *fileConfig) (gateway.StaticCredentials, error) {
	custom := map[string]*policy.Policy{}
	for name, doc := range c.Policies {
		if _, ok := policy.Builtin(name); ok {
			return nil, fmt.Errorf("policies.%s: the name of a built-in policy", name)
		}
		p, err := policy.Parse([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("policies.%s: %w", name, err)
		}
		custom[name] = p
	}
	ids := make([]*gateway.Identity, 0, len(c.Users))
	for i, u := range c.Users {
		if u.AccessKey == "" {
			return nil, fmt.Errorf("users[%d]: access_key is required", i)
		}
		if u.AccessKey == c.Root.User {
			return nil, fmt.Errorf("users[%d]: access key %q is the root user's", i, u.AccessKey)
		}
		id := &gateway.Identity{AccessKey: u.AccessKey, SecretKey: u.SecretKey, PolicyNames: u.Policies}
		if len(u.Policies) == 0 {
			return nil, fmt.Errorf("user %q: no policies (it could do nothing)", u.AccessKey)
		}
		for _, name := range u.Policies {
			p, ok := policy.Builtin(name)
			if !ok {
				p, ok = custom[name]
			}
			if !ok {
				return nil, fmt.Errorf("user %q: unknown policy %q (built-in: %v, or one of the policies section)", u.AccessKey, name, policy.BuiltinNames())
			}
			id.Policies = append(id.Policies, p)
		}
		ids = append(ids, id)
	}
	creds, err := gateway.NewStaticCredentials(ids)
	if err != nil {
		return nil, errors.New("users: " + err.Error())
	}
	return creds, nil
}
