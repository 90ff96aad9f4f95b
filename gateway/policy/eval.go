package policy

import (
	"slices"
	"strings"
)

// Evaluate returns the policy's decision for the request.
func (p *Policy) Evaluate(args Args) Decision {
	if p == nil {
		return NotApplicable
	}
	d := NotApplicable
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.applies(&args) {
			continue
		}
		if st.Effect == Deny {
			return Denied
		}
		d = Allowed
	}
	return d
}

// GrantsEveryone reports whether a statement allows something to the
// principal "*" (anonymous callers included): what GetBucketPolicyStatus
// calls public.
func (p *Policy) GrantsEveryone() bool {
	if p == nil {
		return false
	}
	for _, st := range p.Statements {
		if st.Effect == Allow && slices.Contains(st.Principals, "*") {
			return true
		}
	}
	return false
}

// UsesConditionKey reports whether a condition of the policy names a key
// with the given lower-case prefix ("s3:existingobjecttag/"), so callers
// fetch what fills it only when a policy needs it.
func (p *Policy) UsesConditionKey(prefix string) bool {
	if p == nil {
		return false
	}
	for _, st := range p.Statements {
		for _, c := range st.Conditions {
			if strings.HasPrefix(c.Key, prefix) {
				return true
			}
		}
	}
	return false
}

// IsAllowed reports whether the policy alone allows the request.
func (p *Policy) IsAllowed(args Args) bool { return p.Evaluate(args) == Allowed }

func (st *Statement) applies(args *Args) bool {
	if st.Principals != nil && !slices.ContainsFunc(st.Principals, func(pr string) bool { return matchPrincipal(pr, args.Account) }) {
		return false
	}
	if len(st.Actions) > 0 && !slices.ContainsFunc(st.Actions, func(a string) bool { return matchAction(a, args.Action) }) {
		return false
	}
	if slices.ContainsFunc(st.NotActions, func(a string) bool { return matchAction(a, args.Action) }) {
		return false
	}
	if !st.resourceApplies(args) {
		return false
	}
	for i := range st.Conditions {
		if !st.Conditions[i].evaluate(args.Conditions) {
			return false
		}
	}
	return true
}

func matchAction(pattern, action string) bool {
	if pattern == "*" {
		pattern = "s3:*"
	}
	return matchWildcard(pattern, action)
}

// matchPrincipal matches a bucket policy's principal: "*" (everyone,
// anonymous included), an access key, or an IAM user ARN whose last
// element names the access key.
func matchPrincipal(pattern, account string) bool {
	if pattern == "*" {
		return true
	}
	if account == "" {
		return false
	}
	if _, user, ok := strings.Cut(pattern, ":user/"); ok && strings.HasPrefix(pattern, "arn:aws:iam::") {
		pattern = user
	}
	return matchWildcard(pattern, account)
}

// resourceApplies matches the request's resource (MinIO's form: BUCKET/
// for bucket-level requests, BUCKET/OBJECT for objects, the key name for
// kms: actions).
func (st *Statement) resourceApplies(args *Args) bool {
	prefix := s3ARN
	resource := args.Bucket + "/" + strings.TrimPrefix(args.Object, "/")
	switch Namespace(args.Action) {
	case nsAdmin, nsSTS:
		return true
	case nsKMS:
		if len(st.Resources) == 0 && len(st.NotResources) == 0 || args.Bucket == "" {
			return true
		}
		prefix, resource = kmsARN, args.Bucket
	}
	if len(st.Resources) > 0 && !slices.ContainsFunc(st.Resources, func(r string) bool { return matchResource(r, prefix, resource, args.Conditions) }) {
		return false
	}
	return !slices.ContainsFunc(st.NotResources, func(r string) bool { return matchResource(r, prefix, resource, args.Conditions) })
}

func matchResource(r, prefix, resource string, values map[string][]string) bool {
	pattern, ok := strings.CutPrefix(r, prefix)
	if r == "*" {
		pattern, ok = "*", true
	}
	if !ok {
		return false
	}
	pattern, ok = substitute(pattern, values)
	if !ok {
		return false
	}
	return pattern == strings.TrimSuffix(resource, "/") || matchWildcard(pattern, resource)
}

// substitute replaces ${key} policy variables with the request's (single)
// value of the key; ${*}, ${?} and ${$} are the literal characters. A
// variable the request has no value for makes the pattern unmatchable.
func substitute(s string, values map[string][]string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			// A literal wildcard character cannot be expressed in the
			// matcher's pattern language; it matches itself only
			// through the fallback exact comparison.
			b.WriteString(name)
		default:
			v := values[strings.ToLower(name)]
			if len(v) != 1 {
				return "", false
			}
			b.WriteString(v[0])
		}
		s = s[i+j+1:]
	}
}

// matchWildcard reports whether s matches pattern, in which '*' matches
// any run of characters and '?' exactly one. Linear backtracking: at most
// len(pattern)*len(s) steps.
func matchWildcard(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
