package policy

import (
	"encoding/json"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Condition is one key under one operator of a statement's Condition
// block.
type Condition struct {
	// Operator is as written, "ForAnyValue:StringNotLikeIfExists".
	Operator string
	// Key is the condition key, lower case ("s3:x-amz-server-side-encryption").
	Key    string
	Values []string

	base     string // the operator without qualifier and IfExists: StringLike
	negated  bool   // StringNotLike, NotIpAddress, ...
	set      string // "", "ForAnyValue" or "ForAllValues"
	ifExists bool
	nets     []*net.IPNet
	nums     []float64
	times    []time.Time
}

// operators maps each operator to its positive form: negated operators
// evaluate their positive form per value and invert it.
var operators = map[string]struct {
	base    string
	negated bool
}{
	"StringEquals": {"StringEquals", false}, "StringNotEquals": {"StringEquals", true},
	"StringEqualsIgnoreCase": {"StringEqualsIgnoreCase", false}, "StringNotEqualsIgnoreCase": {"StringEqualsIgnoreCase", true},
	"StringLike": {"StringLike", false}, "StringNotLike": {"StringLike", true},
	"ArnEquals": {"StringEquals", false}, "ArnNotEquals": {"StringEquals", true},
	"ArnLike": {"StringLike", false}, "ArnNotLike": {"StringLike", true},
	"NumericEquals": {"NumericEquals", false}, "NumericNotEquals": {"NumericEquals", true},
	"NumericLessThan": {"NumericLessThan", false}, "NumericLessThanEquals": {"NumericLessThanEquals", false},
	"NumericGreaterThan": {"NumericGreaterThan", false}, "NumericGreaterThanEquals": {"NumericGreaterThanEquals", false},
	"DateEquals": {"DateEquals", false}, "DateNotEquals": {"DateEquals", true},
	"DateLessThan": {"DateLessThan", false}, "DateLessThanEquals": {"DateLessThanEquals", false},
	"DateGreaterThan": {"DateGreaterThan", false}, "DateGreaterThanEquals": {"DateGreaterThanEquals", false},
	"Bool": {"Bool", false}, "IpAddress": {"IpAddress", false}, "NotIpAddress": {"IpAddress", true},
	"Null": {"Null", false},
}

// keyPrefixes are the condition-key namespaces the gateway can fill or
// MinIO knows; a key outside them is a typo that would silently never
// match, so it is refused.
var keyPrefixes = []string{"aws:", "s3:", "jwt:", "ldap:", "sts:", "svc:"}

func newCondition(op, key string, raw json.RawMessage) (Condition, error) {
	c := Condition{Operator: op, Key: strings.ToLower(key)}
	rest := op
	for _, q := range []string{"ForAnyValue:", "ForAllValues:"} {
		if r, ok := strings.CutPrefix(op, q); ok {
			c.set, rest = strings.TrimSuffix(q, ":"), r
		}
	}
	if r, ok := strings.CutSuffix(rest, "IfExists"); ok && r != "Null" {
		c.ifExists, rest = true, r
	}
	o, ok := operators[rest]
	if !ok || (rest == "Null" && (c.set != "" || c.ifExists)) {
		return c, malformed("invalid condition operator %q", op)
	}
	c.base, c.negated = o.base, o.negated
	if !slices.ContainsFunc(keyPrefixes, func(p string) bool { return strings.HasPrefix(c.Key, p) && len(c.Key) > len(p) }) {
		return c, malformed("invalid condition key %q", key)
	}
	vals, err := conditionValues(raw)
	if err != nil {
		return c, malformed("condition %s %s: %v", op, key, err)
	}
	c.Values = vals
	for _, v := range vals {
		if err := c.compile(v); err != nil {
			return c, malformed("condition %s %s: %v", op, key, err)
		}
	}
	return c, nil
}

// conditionValues reads a value or a list of values (strings, numbers,
// booleans), as JSON policies write them.
func conditionValues(raw json.RawMessage) ([]string, error) {
	var one any
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, err
	}
	list, ok := one.([]any)
	if !ok {
		list = []any{one}
	}
	if len(list) == 0 {
		return nil, errNoValues
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case bool:
			out = append(out, strconv.FormatBool(v))
		case float64:
			out = append(out, strconv.FormatFloat(v, 'f', -1, 64))
		default:
			return nil, errBadValue
		}
	}
	return out, nil
}

type valueError string

func (e valueError) Error() string { return string(e) }

const (
	errNoValues = valueError("no values")
	errBadValue = valueError("values must be strings, numbers or booleans")
)

// compile checks one policy value and keeps its parsed form.
func (c *Condition) compile(v string) error {
	switch {
	case c.base == "IpAddress":
		if !strings.Contains(v, "/") {
			v += "/32"
			if strings.Contains(v, ":") {
				v = strings.TrimSuffix(v, "/32") + "/128"
			}
		}
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			return valueError("invalid IP address or CIDR " + strconv.Quote(v))
		}
		c.nets = append(c.nets, n)
	case strings.HasPrefix(c.base, "Numeric"):
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return valueError("invalid number " + strconv.Quote(v))
		}
		c.nums = append(c.nums, f)
	case strings.HasPrefix(c.base, "Date"):
		t, ok := parseDate(v)
		if !ok {
			return valueError("invalid date " + strconv.Quote(v))
		}
		c.times = append(c.times, t)
	case c.base == "Bool" || c.base == "Null":
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return valueError("invalid boolean " + strconv.Quote(v))
		}
	}
	return nil
}

func parseDate(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, true
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func sortConditions(cs []Condition) {
	slices.SortFunc(cs, func(a, b Condition) int {
		return strings.Compare(a.Operator+"\x00"+a.Key, b.Operator+"\x00"+b.Key)
	})
}

// evaluate reports whether the condition holds for the request values.
//
// AWS's rules: a missing key fails a positive operator and satisfies a
// negated one; ...IfExists makes a missing key satisfy any operator;
// ForAllValues holds when every request value matches (trivially when
// there are none), ForAnyValue when at least one does; without a
// qualifier a negated operator holds when no request value matches its
// positive form.
func (c *Condition) evaluate(values map[string][]string) bool {
	rv, present := values[c.Key]
	present = present && len(rv) > 0
	if c.base == "Null" {
		return strings.EqualFold(c.Values[0], "true") != present
	}
	if !present {
		switch {
		case c.ifExists, c.set == "ForAllValues":
			return true
		case c.set == "ForAnyValue":
			return false
		}
		return c.negated
	}
	one := func(v string) bool { return c.matchValue(v, values) != c.negated }
	switch c.set {
	case "ForAllValues":
		for _, v := range rv {
			if !one(v) {
				return false
			}
		}
		return true
	case "ForAnyValue":
		return slices.ContainsFunc(rv, one)
	}
	any := slices.ContainsFunc(rv, func(v string) bool { return c.matchValue(v, values) })
	return any != c.negated
}

// matchValue is the positive operator for one request value against the
// policy's values (any of them).
func (c *Condition) matchValue(v string, values map[string][]string) bool {
	switch c.base {
	case "StringEquals":
		return slices.ContainsFunc(c.Values, func(p string) bool { s, ok := substitute(p, values); return ok && s == v })
	case "StringEqualsIgnoreCase":
		return slices.ContainsFunc(c.Values, func(p string) bool { s, ok := substitute(p, values); return ok && strings.EqualFold(s, v) })
	case "StringLike":
		return slices.ContainsFunc(c.Values, func(p string) bool { s, ok := substitute(p, values); return ok && matchWildcard(s, v) })
	case "Bool":
		b, err := strconv.ParseBool(strings.ToLower(v))
		return err == nil && slices.ContainsFunc(c.Values, func(p string) bool { return strings.EqualFold(p, strconv.FormatBool(b)) })
	case "IpAddress":
		ip := net.ParseIP(v)
		return ip != nil && slices.ContainsFunc(c.nets, func(n *net.IPNet) bool { return n.Contains(ip) })
	}
	if strings.HasPrefix(c.base, "Numeric") {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		return slices.ContainsFunc(c.nums, func(p float64) bool { return compare(c.base, cmpFloat(f, p)) })
	}
	if strings.HasPrefix(c.base, "Date") {
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		return slices.ContainsFunc(c.times, func(p time.Time) bool { return compare(c.base, t.Compare(p)) })
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare applies a Numeric or Date operator to the comparison of the
// request value with the policy value.
func compare(base string, cmp int) bool {
	switch {
	case strings.HasSuffix(base, "LessThanEquals"):
		return cmp <= 0
	case strings.HasSuffix(base, "LessThan"):
		return cmp < 0
	case strings.HasSuffix(base, "GreaterThanEquals"):
		return cmp >= 0
	case strings.HasSuffix(base, "GreaterThan"):
		return cmp > 0
	}
	return cmp == 0
}
