package policy

import (
	"errors"
	"testing"
)

func TestParseRefusesMalformedPolicies(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":                  `{`,
		"no statements":             `{"Version":"2012-10-17","Statement":[]}`,
		"bad version":               `{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		"bad effect":                `{"Statement":[{"Effect":"allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		"unknown field":             `{"Statement":[{"Effect":"Allow","Actions":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		"unknown action":            `{"Statement":[{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"arn:aws:s3:::b/*"}]}`,
		"action case":               `{"Statement":[{"Effect":"Allow","Action":"s3:getobject","Resource":"arn:aws:s3:::b/*"}]}`,
		"action and notaction":      `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","NotAction":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}`,
		"no action":                 `{"Statement":[{"Effect":"Allow","Resource":"arn:aws:s3:::b/*"}]}`,
		"mixed namespaces":          `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","kms:CreateKey"],"Resource":"arn:aws:s3:::b/*"}]}`,
		"s3 without resource":       `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`,
		"bad resource":              `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"b/*"}]}`,
		"resource and notresource":  `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","NotResource":"arn:aws:s3:::c/*"}]}`,
		"principal in identity":     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		"duplicate sid":             `{"Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Sid":"a","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		"unknown operator":          `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringSortOf":{"s3:prefix":"a"}}}]}`,
		"unknown key namespace":     `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"prefix":"a"}}}]}`,
		"bad cidr":                  `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}]}`,
		"bad number":                `{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}]}`,
		"bad date":                  `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}]}`,
		"bad bool":                  `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}]}`,
		"null with qualifier":       `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAnyValue:Null":{"s3:prefix":"true"}}}]}`,
		"empty value list":          `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"s3:prefix":[]}}}]}`,
		"object value":              `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"s3:prefix":{"a":1}}}}]}`,
		"trailing document":         `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]} {}`,
		"kms resource on s3 action": `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:minio:kms:::k"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse: got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseBucketPolicyChecksPrincipalAndBucket(t *testing.T) {
	for name, tc := range map[string]struct {
		doc string
		ok  bool
	}{
		"star principal":       {`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}`, true},
		"aws principal list":   {`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["alice","arn:aws:iam::*:user/bob"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, true},
		"bucket resource":      {`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}`, true},
		"no principal":         {`{"Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}`, false},
		"other bucket":         {`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::c/*"}]}`, false},
		"principal string":     {`{"Statement":[{"Effect":"Deny","Principal":"alice","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}`, false},
		"service principal":    {`{"Statement":[{"Effect":"Deny","Principal":{"Service":"x"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}`, false},
		"not principal":        {`{"Statement":[{"Effect":"Deny","NotPrincipal":"*","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}`, false},
		"resource star bucket": {`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"*"}]}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseBucketPolicy([]byte(tc.doc), "b")
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseBucketPolicy: got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestBuiltinPoliciesGrantWhatMinIOs_Do(t *testing.T) {
	for _, tc := range []struct {
		policy, action, bucket, object string
		want                           Decision
	}{
		{"readwrite", "s3:PutObject", "b", "k", Allowed},
		{"readwrite", "s3:DeleteBucket", "b", "", Allowed},
		{"readwrite", "kms:CreateKey", "k", "", NotApplicable},
		{"readwrite", "admin:CreateUser", "", "", NotApplicable},
		{"readonly", "s3:GetObject", "b", "k", Allowed},
		{"readonly", "s3:GetBucketLocation", "b", "", Allowed},
		{"readonly", "s3:ListBucket", "b", "", NotApplicable},
		{"readonly", "s3:PutObject", "b", "k", NotApplicable},
		{"readonly", "admin:CreateUser", "", "", Denied},
		{"writeonly", "s3:PutObject", "b", "k", Allowed},
		{"writeonly", "s3:GetObject", "b", "k", NotApplicable},
		{"diagnostics", "admin:ServerTrace", "", "", Allowed},
		{"diagnostics", "s3:GetObject", "b", "k", NotApplicable},
		{"consoleAdmin", "admin:CreateUser", "", "", Allowed},
		{"consoleAdmin", "kms:CreateKey", "k", "", Allowed},
		{"consoleAdmin", "s3:DeleteObject", "b", "k", Allowed},
	} {
		p, ok := Builtin(tc.policy)
		if !ok {
			t.Fatalf("no builtin %s", tc.policy)
		}
		if got := p.Evaluate(Args{Action: tc.action, Bucket: tc.bucket, Object: tc.object}); got != tc.want {
			t.Errorf("%s %s %s/%s: got %v, want %v", tc.policy, tc.action, tc.bucket, tc.object, got, tc.want)
		}
	}
	if got := BuiltinNames(); len(got) != 5 {
		t.Errorf("BuiltinNames: got %v, want the 5 canned policies", got)
	}
}

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

type evalCase struct {
	name string
	args Args
	want Decision
}

func runEval(t *testing.T, p *Policy, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Evaluate(tc.args); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPrefixScopedPolicyWithUsernameVariable(t *testing.T) {
	// The AWS documentation's home-directory example.
	p := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home",
		 "Condition":{"StringLike":{"s3:prefix":["","${aws:username}/*"]}}},
		{"Sid":"RW","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`)
	alice := func(action, bucket, object string, cond map[string][]string) Args {
		if cond == nil {
			cond = map[string][]string{}
		}
		cond["aws:username"] = []string{"alice"}
		return Args{Account: "alice", Action: action, Bucket: bucket, Object: object, Conditions: cond}
	}
	runEval(t, p, []evalCase{
		{"get own object", alice("s3:GetObject", "home", "alice/a.txt", nil), Allowed},
		{"get other's object", alice("s3:GetObject", "home", "bob/a.txt", nil), NotApplicable},
		{"get in other bucket", alice("s3:GetObject", "other", "alice/a.txt", nil), NotApplicable},
		{"list own prefix", alice("s3:ListBucket", "home", "", map[string][]string{"s3:prefix": {"alice/"}}), Allowed},
		{"list root", alice("s3:ListBucket", "home", "", map[string][]string{"s3:prefix": {""}}), Allowed},
		{"list other prefix", alice("s3:ListBucket", "home", "", map[string][]string{"s3:prefix": {"bob/"}}), NotApplicable},
		{"list without prefix key", alice("s3:ListBucket", "home", "", nil), NotApplicable},
		{"no username", Args{Action: "s3:GetObject", Bucket: "home", Object: "alice/a"}, NotApplicable},
	})
}

func TestExplicitDenyWinsAndNotActionNotResource(t *testing.T) {
	p := mustParse(t, `{"Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*"},
		{"Effect":"Deny","NotAction":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::archive/*"},
		{"Effect":"Deny","Action":"s3:DeleteObject","NotResource":"arn:aws:s3:::scratch/*"}]}`)
	runEval(t, p, []evalCase{
		{"read archive", Args{Action: "s3:GetObject", Bucket: "archive", Object: "x"}, Allowed},
		{"write archive", Args{Action: "s3:PutObject", Bucket: "archive", Object: "x"}, Denied},
		{"write elsewhere", Args{Action: "s3:PutObject", Bucket: "data", Object: "x"}, Allowed},
		{"delete in scratch", Args{Action: "s3:DeleteObject", Bucket: "scratch", Object: "x"}, Allowed},
		{"delete elsewhere", Args{Action: "s3:DeleteObject", Bucket: "data", Object: "x"}, Denied},
		{"bucket-level resource", Args{Action: "s3:ListBucket", Bucket: "data"}, Allowed},
	})
}

func TestResourceWildcards(t *testing.T) {
	p := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/reports/202?/*","arn:aws:s3:::logs-*/*"]},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}`)
	runEval(t, p, []evalCase{
		{"question mark", Args{Action: "s3:GetObject", Bucket: "b", Object: "reports/2024/q1.csv"}, Allowed},
		{"question mark is one char", Args{Action: "s3:GetObject", Bucket: "b", Object: "reports/20245/q1.csv"}, NotApplicable},
		{"star spans slashes", Args{Action: "s3:GetObject", Bucket: "logs-eu", Object: "a/b/c"}, Allowed},
		{"case-sensitive", Args{Action: "s3:GetObject", Bucket: "b", Object: "Reports/2024/x"}, NotApplicable},
		{"bucket resource matches bucket request", Args{Action: "s3:ListBucket", Bucket: "b"}, Allowed},
		{"bucket resource is not its objects", Args{Action: "s3:ListBucket", Bucket: "bb"}, NotApplicable},
	})
}

func TestSSEConditionBucketPolicy(t *testing.T) {
	// The classic: refuse PUTs not encrypted with SSE-KMS under one key.
	p, err := ParseBucketPolicy([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"DenyNotKMS","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
		{"Sid":"DenyOtherKey","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*",
		 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"tenant-key"},
		              "Null":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"false"}}}]}`), "b")
	if err != nil {
		t.Fatal(err)
	}
	put := func(sse, key string) Args {
		c := map[string][]string{}
		if sse != "" {
			c["s3:x-amz-server-side-encryption"] = []string{sse}
		}
		if key != "" {
			c["s3:x-amz-server-side-encryption-aws-kms-key-id"] = []string{key}
		}
		return Args{Account: "alice", Action: "s3:PutObject", Bucket: "b", Object: "k", Conditions: c}
	}
	runEval(t, p, []evalCase{
		{"unencrypted", put("", ""), Denied},
		{"sse-s3", put("AES256", ""), Denied},
		{"kms right key", put("aws:kms", "tenant-key"), NotApplicable},
		{"kms default key", put("aws:kms", ""), NotApplicable},
		{"kms wrong key", put("aws:kms", "other"), Denied},
		{"get is not concerned", Args{Account: "alice", Action: "s3:GetObject", Bucket: "b", Object: "k"}, NotApplicable},
	})
	// ...IfExists makes an absent key satisfy the condition, so a Deny
	// with it applies to requests without the key (AWS's reading).
	ifExists, err := ParseBucketPolicy([]byte(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*",
		"Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"tenant-key"}}}]}`), "b")
	if err != nil {
		t.Fatal(err)
	}
	runEval(t, ifExists, []evalCase{{"absent key", put("aws:kms", ""), Denied}, {"right key", put("aws:kms", "tenant-key"), NotApplicable}})
}

func TestConditionOperators(t *testing.T) {
	type cc struct {
		name string
		vals map[string][]string
		want bool
	}
	for _, tc := range []struct {
		cond  string
		cases []cc
	}{
		{`{"StringEquals":{"s3:x-amz-server-side-encryption":["aws:kms","AES256"]}}`, []cc{
			{"one of", map[string][]string{"s3:x-amz-server-side-encryption": {"AES256"}}, true},
			{"case matters", map[string][]string{"s3:x-amz-server-side-encryption": {"aes256"}}, false},
			{"absent", nil, false},
		}},
		{`{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}`, []cc{
			{"other", map[string][]string{"s3:x-amz-server-side-encryption": {"AES256"}}, true},
			{"same", map[string][]string{"s3:x-amz-server-side-encryption": {"aws:kms"}}, false},
			{"absent satisfies a negated operator", nil, true},
		}},
		{`{"StringEqualsIgnoreCase":{"aws:UserAgent":"MINIO*"}}`, []cc{
			{"literal star, any case", map[string][]string{"aws:useragent": {"minio*"}}, true},
			{"no wildcards", map[string][]string{"aws:useragent": {"minio (linux)"}}, false},
		}},
		{`{"StringNotEqualsIgnoreCase":{"aws:Referer":"HTTP://A"}}`, []cc{
			{"same but case", map[string][]string{"aws:referer": {"http://a"}}, false},
			{"other", map[string][]string{"aws:referer": {"http://b"}}, true},
		}},
		{`{"StringLike":{"aws:UserAgent":"aws-sdk-go*"}}`, []cc{
			{"prefix", map[string][]string{"aws:useragent": {"aws-sdk-go-v2/1.0"}}, true},
			{"other", map[string][]string{"aws:useragent": {"Boto3/1.0"}}, false},
		}},
		{`{"StringNotLike":{"s3:prefix":"secret/*"}}`, []cc{
			{"outside", map[string][]string{"s3:prefix": {"public/"}}, true},
			{"inside", map[string][]string{"s3:prefix": {"secret/x"}}, false},
		}},
		{`{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32","192.168.1.7"]}}`, []cc{
			{"in v4 range", map[string][]string{"aws:sourceip": {"10.1.2.3"}}, true},
			{"single address", map[string][]string{"aws:sourceip": {"192.168.1.7"}}, true},
			{"in v6 range", map[string][]string{"aws:sourceip": {"2001:db8::1"}}, true},
			{"outside", map[string][]string{"aws:sourceip": {"11.0.0.1"}}, false},
			{"garbage", map[string][]string{"aws:sourceip": {"x"}}, false},
		}},
		{`{"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`, []cc{
			{"loopback", map[string][]string{"aws:sourceip": {"127.0.0.1"}}, false},
			{"other", map[string][]string{"aws:sourceip": {"10.0.0.1"}}, true},
		}},
		{`{"Bool":{"aws:SecureTransport":false}}`, []cc{
			{"plain http", map[string][]string{"aws:securetransport": {"false"}}, true},
			{"tls", map[string][]string{"aws:securetransport": {"true"}}, false},
		}},
		{`{"Null":{"s3:x-amz-server-side-encryption":"true"}}`, []cc{
			{"absent", nil, true},
			{"present", map[string][]string{"s3:x-amz-server-side-encryption": {"AES256"}}, false},
		}},
		{`{"Null":{"s3:x-amz-server-side-encryption":"false"}}`, []cc{
			{"absent", nil, false},
			{"present", map[string][]string{"s3:x-amz-server-side-encryption": {"AES256"}}, true},
		}},
		{`{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, []cc{
			{"less", map[string][]string{"s3:max-keys": {"5"}}, true},
			{"equal", map[string][]string{"s3:max-keys": {"10"}}, true},
			{"more", map[string][]string{"s3:max-keys": {"1000"}}, false},
			{"not a number", map[string][]string{"s3:max-keys": {"x"}}, false},
		}},
		{`{"NumericGreaterThan":{"s3:max-keys":10}}`, []cc{
			{"more", map[string][]string{"s3:max-keys": {"11"}}, true},
			{"equal", map[string][]string{"s3:max-keys": {"10"}}, false},
		}},
		{`{"NumericNotEquals":{"s3:max-keys":"10"}}`, []cc{
			{"other", map[string][]string{"s3:max-keys": {"9"}}, true},
			{"same", map[string][]string{"s3:max-keys": {"10.0"}}, false},
		}},
		{`{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, []cc{
			{"before", map[string][]string{"aws:currenttime": {"2026-12-03T22:00:00Z"}}, true},
			{"after", map[string][]string{"aws:currenttime": {"2031-01-01T00:00:00Z"}}, false},
		}},
		{`{"DateGreaterThanEquals":{"aws:CurrentTime":"1893456000"}}`, []cc{
			{"epoch seconds equal", map[string][]string{"aws:currenttime": {"2030-01-01T00:00:00Z"}}, true},
			{"before", map[string][]string{"aws:currenttime": {"2029-12-31T23:59:59Z"}}, false},
		}},
		{`{"StringEqualsIfExists":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"k1"}}`, []cc{
			{"absent", nil, true},
			{"same", map[string][]string{"s3:x-amz-server-side-encryption-aws-kms-key-id": {"k1"}}, true},
			{"other", map[string][]string{"s3:x-amz-server-side-encryption-aws-kms-key-id": {"k2"}}, false},
		}},
		{`{"ForAllValues:StringLike":{"s3:prefix":["a/*","b/*"]}}`, []cc{
			{"all inside", map[string][]string{"s3:prefix": {"a/1", "b/2"}}, true},
			{"one outside", map[string][]string{"s3:prefix": {"a/1", "c/2"}}, false},
			{"absent is vacuously true", nil, true},
		}},
		{`{"ForAnyValue:StringEquals":{"s3:prefix":["a","b"]}}`, []cc{
			{"one inside", map[string][]string{"s3:prefix": {"x", "b"}}, true},
			{"none", map[string][]string{"s3:prefix": {"x", "y"}}, false},
			{"absent", nil, false},
		}},
		{`{"ForAnyValue:StringNotEquals":{"s3:prefix":["a","b"]}}`, []cc{
			{"one other", map[string][]string{"s3:prefix": {"a", "c"}}, true},
			{"all listed", map[string][]string{"s3:prefix": {"a", "b"}}, false},
		}},
		{`{"StringEquals":{"s3:prefix":"${aws:username}/"}}`, []cc{
			{"variable", map[string][]string{"s3:prefix": {"alice/"}, "aws:username": {"alice"}}, true},
			{"variable other", map[string][]string{"s3:prefix": {"bob/"}, "aws:username": {"alice"}}, false},
			{"variable unknown", map[string][]string{"s3:prefix": {"${aws:username}/"}}, false},
		}},
	} {
		p := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":`+tc.cond+`}]}`)
		for _, c := range tc.cases {
			t.Run(tc.cond+"/"+c.name, func(t *testing.T) {
				got := p.IsAllowed(Args{Action: "s3:ListBucket", Bucket: "b", Conditions: c.vals})
				if got != c.want {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			})
		}
	}
}

func TestKMSStatements(t *testing.T) {
	p := mustParse(t, `{"Statement":[
		{"Effect":"Allow","Action":["kms:CreateKey","kms:KeyStatus"],"Resource":"arn:minio:kms:::tenant-*"},
		{"Effect":"Allow","Action":"kms:ListKeys"}]}`)
	runEval(t, p, []evalCase{
		{"own key", Args{Action: "kms:CreateKey", Bucket: "tenant-a"}, Allowed},
		{"other key", Args{Action: "kms:CreateKey", Bucket: "root-key"}, NotApplicable},
		{"no resources", Args{Action: "kms:ListKeys", Bucket: "anything"}, Allowed},
		{"not granted", Args{Action: "kms:KeyRotate", Bucket: "tenant-a"}, NotApplicable},
		{"s3 not granted", Args{Action: "s3:GetObject", Bucket: "tenant-a", Object: "x"}, NotApplicable},
	})
}

func TestBucketPolicyPrincipals(t *testing.T) {
	p, err := ParseBucketPolicy([]byte(`{"Statement":[
		{"Effect":"Allow","Principal":{"AWS":["alice","arn:aws:iam::123456789012:user/bob"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`), "b")
	if err != nil {
		t.Fatal(err)
	}
	runEval(t, p, []evalCase{
		{"access key", Args{Account: "alice", Action: "s3:GetObject", Bucket: "b", Object: "k"}, Allowed},
		{"user arn", Args{Account: "bob", Action: "s3:GetObject", Bucket: "b", Object: "k"}, Allowed},
		{"someone else", Args{Account: "carol", Action: "s3:GetObject", Bucket: "b", Object: "k"}, NotApplicable},
		{"anonymous", Args{Action: "s3:GetObject", Bucket: "b", Object: "k"}, NotApplicable},
	})
}

func TestMatchWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"", "", true}, {"", "a", false}, {"a*", "a", true}, {"*a", "ba", true},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"?", "", false}, {"a?c", "abc", true},
		{"**", "abc", true}, {"*x*", "aaaa", false},
	} {
		if got := matchWildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("matchWildcard(%q, %q): got %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func BenchmarkEvaluatePrefixPolicy(b *testing.B) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home","Condition":{"StringLike":{"s3:prefix":["","${aws:username}/*"]}}},
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::home/${aws:username}/*"},
		{"Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::home/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}`))
	if err != nil {
		b.Fatal(err)
	}
	args := Args{Account: "alice", Action: "s3:PutObject", Bucket: "home", Object: "alice/reports/2026/q4.csv",
		Conditions: map[string][]string{"aws:username": {"alice"}, "s3:x-amz-server-side-encryption": {"aws:kms"}}}
	b.ReportAllocs()
	for b.Loop() {
		if p.Evaluate(args) != Allowed {
			b.Fatal("not allowed")
		}
	}
}
