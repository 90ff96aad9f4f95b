package kes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/s3seal/s3seal/kmsclient"
)

// Policy grants the identities it lists access to API paths. A request is
// allowed when no Deny pattern and at least one Allow pattern matches its
// path. A pattern ending in '*' matches every path that starts with the
// pattern without the '*'; any other pattern matches only itself. An empty
// Policy allows nothing.
type Policy struct {
	Allow      []string
	Deny       []string
	Identities []string
}

// policy is a validated Policy.
type policy struct {
	name        string
	allow, deny []string
}

// allows reports whether the policy lets a request for path through.
func (p *policy) allows(path string) bool {
	for _, pattern := range p.deny {
		if matchPattern(pattern, path) {
			return false
		}
	}
	for _, pattern := range p.allow {
		if matchPattern(pattern, path) {
			return true
		}
	}
	return false
}

// matchPattern is KES's policy matching: a trailing '*' makes the rest a
// prefix; otherwise the path must equal the pattern.
func matchPattern(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, prefix)
	}
	return pattern != "" && path == pattern
}

// validatePattern refuses patterns that could never match a request path:
// empty, not starting with '/', or with a '*' before the end (KES would
// compare it literally).
func validatePattern(pattern string) error {
	switch {
	case pattern == "":
		return fmt.Errorf("empty path pattern")
	case !strings.HasPrefix(pattern, "/") && pattern != "*":
		return fmt.Errorf("path pattern %q does not start with '/'", pattern)
	case strings.Contains(strings.TrimSuffix(pattern, "*"), "*"):
		return fmt.Errorf("path pattern %q has a '*' before its end", pattern)
	}
	return nil
}

// buildPolicies validates policies and returns the policy of each identity.
// As in KES, policy names follow the key name rule, an identity may have
// only one policy, and the admin identity none.
func buildPolicies(policies map[string]Policy, admin string) (map[string]*policy, error) {
	byIdentity := make(map[string]*policy)
	names := make([]string, 0, len(policies))
	for name := range policies {
		names = append(names, name)
	}
	slices.Sort(names) // deterministic errors
	for _, name := range names {
		if kmsclient.ValidateKeyName(name) != nil {
			return nil, fmt.Errorf("policy name %q is empty, too long or contains invalid characters", name)
		}
		src := policies[name]
		p := &policy{name: name, allow: slices.Clone(src.Allow), deny: slices.Clone(src.Deny)}
		for _, pattern := range slices.Concat(p.allow, p.deny) {
			if err := validatePattern(pattern); err != nil {
				return nil, fmt.Errorf("policy %q: %w", name, err)
			}
		}
		for _, raw := range src.Identities {
			id, err := normalizeIdentity(raw)
			if err != nil {
				return nil, fmt.Errorf("policy %q: %w", name, err)
			}
			if id == admin {
				return nil, fmt.Errorf("policy %q: identity %s is the admin identity", name, id)
			}
			if other, ok := byIdentity[id]; ok {
				return nil, fmt.Errorf("policy %q: identity %s already has policy %q", name, id, other.name)
			}
			byIdentity[id] = p
		}
	}
	return byIdentity, nil
}

// validListPattern is KES's rule for listing patterns: key-name characters,
// optionally ending in '*'; empty means every key.
func validListPattern(pattern string) bool {
	if pattern == "*" || pattern == "" {
		return true
	}
	prefix, _ := strings.CutSuffix(pattern, "*")
	if pattern == "_" || len(pattern) > kmsclient.MaxKeyNameLength || strings.HasPrefix(prefix, "-") {
		return false
	}
	// A hyphen may end the prefix only when a '*' follows, as in KES.
	if strings.HasSuffix(pattern, "-") {
		return false
	}
	return kmsclient.ValidateKeyPrefix(prefix) == nil
}
