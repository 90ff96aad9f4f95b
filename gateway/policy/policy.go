package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is wrapped by every error Parse and ParseBucketPolicy return.
var ErrMalformed = errors.New("malformed policy")

// Versions of the policy language; an empty Version is taken as the
// current one, as MinIO does.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// MaxSize bounds a policy document, as AWS bounds bucket policies (20 KiB).
const MaxSize = 20 << 10

// Effect is a statement's Allow or Deny.
type Effect string

// Effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed, validated policy document.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Sid    string
	Effect Effect
	// Principals are the principal patterns of a bucket policy statement
	// ("*" everyone); nil in identity policies.
	Principals   []string
	Actions      []string
	NotActions   []string
	Resources    []string // as written: arn:aws:s3:::..., arn:minio:kms:::... or *
	NotResources []string
	Conditions   []Condition
}

// Decision is what a policy says about a request.
type Decision int

// Decisions.
const (
	NotApplicable Decision = iota // no statement applies
	Allowed                       // an Allow applies and no Deny does
	Denied                        // a Deny applies
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case Denied:
		return "Deny"
	}
	return "NotApplicable"
}

// Args is the request a policy is evaluated for.
type Args struct {
	// Account is the access key (bucket policies match it against
	// Principal); empty for anonymous requests.
	Account string
	// Action is the action the request needs, "s3:GetObject".
	Action string
	// Bucket and Object name the resource; for kms: actions Bucket is the
	// key name (empty: the action is not about one key).
	Bucket, Object string
	// Conditions are the request's condition-key values, by lower-case
	// key ("aws:sourceip", "s3:x-amz-server-side-encryption"). A key
	// absent from the map is absent from the request.
	Conditions map[string][]string
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Parse parses an identity policy (one without Principal).
func Parse(data []byte) (*Policy, error) {
	return parse(data, false)
}

// ParseBucketPolicy parses a bucket policy for bucket: every statement
// has a Principal and its resources lie in the bucket.
func ParseBucketPolicy(data []byte, bucket string) (*Policy, error) {
	p, err := parse(data, true)
	if err != nil {
		return nil, err
	}
	for _, st := range p.Statements {
		for _, r := range append(append([]string(nil), st.Resources...), st.NotResources...) {
			name, ok := strings.CutPrefix(r, s3ARN)
			b, _, _ := strings.Cut(name, "/")
			if !ok || !matchWildcard(b, bucket) {
				return nil, malformed("policy has invalid resource %q (not in bucket %s)", r, bucket)
			}
		}
	}
	return p, nil
}

// Resource ARN prefixes.
const (
	s3ARN  = "arn:aws:s3:::"
	kmsARN = "arn:minio:kms:::"
)

// jsonPolicy and jsonStatement are the document's wire form; fields that
// take a string or a list are decoded by stringList.
type jsonPolicy struct {
	Version   string          `json:"Version"`
	ID        string          `json:"Id"`
	Statement json.RawMessage `json:"Statement"`
}

type jsonStatement struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Principal    json.RawMessage                       `json:"Principal"`
	Action       stringList                            `json:"Action"`
	NotAction    stringList                            `json:"NotAction"`
	Resource     stringList                            `json:"Resource"`
	NotResource  stringList                            `json:"NotResource"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
}

// stringList is a JSON string or array of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = []string{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return errors.New("expected a string or an array of strings")
	}
	*l = ss
	return nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the document")
	}
	return nil
}

func parse(data []byte, bucketPolicy bool) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, malformed("policy is larger than %d bytes", MaxSize)
	}
	var jp jsonPolicy
	if err := decodeStrict(data, &jp); err != nil {
		return nil, malformed("%v", err)
	}
	switch jp.Version {
	case Version2012, Version2008, "":
	default:
		return nil, malformed("invalid version %q", jp.Version)
	}
	var raw []json.RawMessage
	if trimmed := bytes.TrimSpace(jp.Statement); len(trimmed) > 0 && trimmed[0] == '{' {
		raw = []json.RawMessage{jp.Statement}
	} else if err := json.Unmarshal(jp.Statement, &raw); err != nil || len(raw) == 0 {
		return nil, malformed("policy has no statements")
	}
	p := &Policy{Version: jp.Version, ID: jp.ID}
	sids := map[string]bool{}
	for i, r := range raw {
		st, err := parseStatement(r, bucketPolicy)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i+1, err)
		}
		if st.Sid != "" {
			if sids[st.Sid] {
				return nil, malformed("duplicate Sid %q", st.Sid)
			}
			sids[st.Sid] = true
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func parseStatement(raw json.RawMessage, bucketPolicy bool) (Statement, error) {
	var js jsonStatement
	if err := decodeStrict(raw, &js); err != nil {
		return Statement{}, malformed("%v", err)
	}
	st := Statement{Sid: js.Sid, Effect: Effect(js.Effect), Actions: js.Action, NotActions: js.NotAction,
		Resources: js.Resource, NotResources: js.NotResource}
	if st.Effect != Allow && st.Effect != Deny {
		return st, malformed("invalid Effect %q", js.Effect)
	}
	if len(js.NotPrincipal) > 0 {
		return st, malformed("NotPrincipal is not supported")
	}
	switch {
	case bucketPolicy && len(js.Principal) == 0:
		return st, malformed("Principal must not be empty")
	case !bucketPolicy && len(js.Principal) > 0:
		return st, malformed("Principal is only allowed in bucket policies")
	case bucketPolicy:
		ps, err := parsePrincipal(js.Principal)
		if err != nil {
			return st, err
		}
		st.Principals = ps
	}
	if (len(st.Actions) == 0) == (len(st.NotActions) == 0) {
		return st, malformed("a statement needs exactly one of Action and NotAction")
	}
	ns := ""
	for _, a := range append(append([]string(nil), st.Actions...), st.NotActions...) {
		n, err := actionNamespace(a)
		if err != nil {
			return st, err
		}
		if ns != "" && n != ns {
			return st, malformed("mixing action types in the same statement is not allowed")
		}
		ns = n
	}
	if len(st.Resources) > 0 && len(st.NotResources) > 0 {
		return st, malformed("Resource and NotResource cannot be specified in the same statement")
	}
	if ns == nsS3 && len(st.Resources) == 0 && len(st.NotResources) == 0 {
		return st, malformed("Resource must not be empty")
	}
	for _, r := range append(append([]string(nil), st.Resources...), st.NotResources...) {
		if err := validateResource(r, ns); err != nil {
			return st, err
		}
	}
	for op, keys := range js.Condition {
		for key, v := range keys {
			c, err := newCondition(op, key, v)
			if err != nil {
				return st, err
			}
			st.Conditions = append(st.Conditions, c)
		}
	}
	sortConditions(st.Conditions)
	return st, nil
}

func parsePrincipal(raw json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s != "*" {
			return nil, malformed("invalid Principal %q", s)
		}
		return []string{"*"}, nil
	}
	var m map[string]stringList
	if err := decodeStrict(raw, &m); err != nil {
		return nil, malformed("invalid Principal: %v", err)
	}
	aws, ok := m["AWS"]
	if !ok || len(m) != 1 || len(aws) == 0 {
		return nil, malformed("invalid Principal: only {\"AWS\": ...} is supported")
	}
	return aws, nil
}

func validateResource(r, ns string) error {
	switch {
	case r == "*":
		return nil
	case ns == nsKMS && strings.HasPrefix(r, kmsARN):
		return nil
	case (ns == nsS3 || ns == nsAdmin || ns == nsSTS) && strings.HasPrefix(r, s3ARN) && len(r) > len(s3ARN):
		return nil
	}
	return malformed("invalid resource %q", r)
}
