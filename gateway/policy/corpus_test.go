package policy

import "testing"

// corpusEntry is one published policy document (AWS's S3 and IAM user
// guides, MinIO's documentation and mc's canned bucket policies) with
// requests and the decision each must get.
type corpusEntry struct {
	name   string
	bucket string // bucket policy for this bucket; "" identity policy
	doc    string
	cases  []evalCase
}

// req builds Args; conditions are key, value pairs.
func req(account, action, bucket, object string, conditions ...string) Args {
	c := map[string][]string{}
	for i := 0; i+1 < len(conditions); i += 2 {
		c[conditions[i]] = append(c[conditions[i]], conditions[i+1])
	}
	return Args{Account: account, Action: action, Bucket: bucket, Object: object, Conditions: c}
}

var policyCorpus = []corpusEntry{
	{
		name: "AWS: grant read-only permission to anonymous users", bucket: "examplebucket",
		doc: `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*",
			"Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":["arn:aws:s3:::examplebucket/*"]}]}`,
		cases: []evalCase{
			{"anonymous GET", req("", "s3:GetObject", "examplebucket", "photo.jpg"), Allowed},
			{"anonymous PUT", req("", "s3:PutObject", "examplebucket", "photo.jpg"), NotApplicable},
			{"anonymous list", req("", "s3:ListBucket", "examplebucket", ""), NotApplicable},
		},
	},
	{
		name: "AWS: restrict access to specific IP addresses", bucket: "examplebucket",
		doc: `{"Version":"2012-10-17","Id":"S3PolicyId1","Statement":[{"Sid":"IPAllow","Effect":"Deny","Principal":"*","Action":"s3:*",
			"Resource":["arn:aws:s3:::examplebucket","arn:aws:s3:::examplebucket/*"],
			"Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}`,
		cases: []evalCase{
			{"from inside the range", req("alice", "s3:GetObject", "examplebucket", "k", "aws:sourceip", "192.0.2.7"), NotApplicable},
			{"from outside", req("alice", "s3:GetObject", "examplebucket", "k", "aws:sourceip", "198.51.100.1"), Denied},
			{"bucket-level from outside", req("alice", "s3:ListBucket", "examplebucket", "", "aws:sourceip", "198.51.100.1"), Denied},
			{"IPv6 peer is outside", req("alice", "s3:GetObject", "examplebucket", "k", "aws:sourceip", "2001:db8::1"), Denied},
		},
	},
	{
		name: "AWS: deny requests not over HTTPS (aws:SecureTransport)", bucket: "examplebucket",
		doc: `{"Version":"2012-10-17","Statement":[{"Sid":"RestrictToTLSRequestsOnly","Action":"s3:*","Effect":"Deny",
			"Resource":["arn:aws:s3:::examplebucket","arn:aws:s3:::examplebucket/*"],
			"Condition":{"Bool":{"aws:SecureTransport":"false"}},"Principal":"*"}]}`,
		cases: []evalCase{
			{"plain http", req("alice", "s3:GetObject", "examplebucket", "k", "aws:securetransport", "false"), Denied},
			{"https", req("alice", "s3:GetObject", "examplebucket", "k", "aws:securetransport", "true"), NotApplicable},
		},
	},
	{
		name: "AWS: allow everything but deleting (NotAction with Allow)",
		doc:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["s3:DeleteObject","s3:DeleteBucket*"],"Resource":"*"}]}`,
		cases: []evalCase{
			{"GET", req("u", "s3:GetObject", "b", "k"), Allowed},
			{"PUT", req("u", "s3:PutObject", "b", "k"), Allowed},
			{"DELETE object", req("u", "s3:DeleteObject", "b", "k"), NotApplicable},
			{"DELETE bucket policy", req("u", "s3:DeleteBucketPolicy", "b", ""), NotApplicable},
			{"create bucket", req("u", "s3:CreateBucket", "b", ""), Allowed},
		},
	},
	{
		name: "AWS: deny everything but reads of one bucket (NotAction and NotResource with Deny)",
		doc: `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"s3:*","Resource":"*"},
			{"Effect":"Deny","NotAction":["s3:GetObject","s3:ListBucket"],"NotResource":["arn:aws:s3:::scratch","arn:aws:s3:::scratch/*"]}]}`,
		cases: []evalCase{
			{"read outside scratch", req("u", "s3:GetObject", "data", "k"), Allowed},
			{"write outside scratch", req("u", "s3:PutObject", "data", "k"), Denied},
			{"write in scratch", req("u", "s3:PutObject", "scratch", "k"), Allowed},
			{"list outside scratch", req("u", "s3:ListBucket", "data", ""), Allowed},
		},
	},
	{
		name: "AWS: list only with delimiter / and up to 10 keys (s3:delimiter, s3:max-keys)",
		doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::examplebucket",
			"Condition":{"StringEquals":{"s3:delimiter":"/"},"NumericLessThanEquals":{"s3:max-keys":"10"}}}]}`,
		cases: []evalCase{
			{"delimiter and 10 keys", req("u", "s3:ListBucket", "examplebucket", "", "s3:delimiter", "/", "s3:max-keys", "10"), Allowed},
			{"delimiter and 1000 keys", req("u", "s3:ListBucket", "examplebucket", "", "s3:delimiter", "/", "s3:max-keys", "1000"), NotApplicable},
			{"no delimiter", req("u", "s3:ListBucket", "examplebucket", "", "s3:max-keys", "5"), NotApplicable},
		},
	},
	{
		name: "AWS: home folders with ${aws:username} and s3:prefix",
		doc: `{"Version":"2012-10-17","Statement":[
			{"Sid":"AllowRootAndHomeListingOfCompanyBucket","Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::amzn-s3-demo-bucket"],
			 "Condition":{"StringEquals":{"s3:prefix":["","home/","home/${aws:username}/"],"s3:delimiter":["/"]}}},
			{"Sid":"AllowListingOfUserFolder","Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::amzn-s3-demo-bucket"],
			 "Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}},
			{"Sid":"AllowAllS3ActionsInUserFolder","Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"]}]}`,
		cases: []evalCase{
			{"list the root", req("bob", "s3:ListBucket", "amzn-s3-demo-bucket", "", "aws:username", "bob", "s3:prefix", "", "s3:delimiter", "/"), Allowed},
			{"list home/", req("bob", "s3:ListBucket", "amzn-s3-demo-bucket", "", "aws:username", "bob", "s3:prefix", "home/", "s3:delimiter", "/"), Allowed},
			{"list own folder deep", req("bob", "s3:ListBucket", "amzn-s3-demo-bucket", "", "aws:username", "bob", "s3:prefix", "home/bob/docs/"), Allowed},
			{"list another's folder", req("bob", "s3:ListBucket", "amzn-s3-demo-bucket", "", "aws:username", "bob", "s3:prefix", "home/alice/", "s3:delimiter", "/"), NotApplicable},
			{"write own folder", req("bob", "s3:PutObject", "amzn-s3-demo-bucket", "home/bob/a.txt", "aws:username", "bob"), Allowed},
			{"write another's folder", req("bob", "s3:PutObject", "amzn-s3-demo-bucket", "home/alice/a.txt", "aws:username", "bob"), NotApplicable},
		},
	},
	{
		name: "AWS: require SSE-KMS with a given key, deny other keys", bucket: "examplebucket",
		doc: `{"Version":"2012-10-17","Statement":[
			{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::examplebucket/*",
			 "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"arn:aws:kms:us-east-1:111122223333:key/k1"}}}]}`,
		cases: []evalCase{
			{"the key", req("u", "s3:PutObject", "examplebucket", "k", "s3:x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:111122223333:key/k1"), NotApplicable},
			{"another key", req("u", "s3:PutObject", "examplebucket", "k", "s3:x-amz-server-side-encryption-aws-kms-key-id", "k2"), Denied},
			{"no key: StringNotEquals holds for an absent key", req("u", "s3:PutObject", "examplebucket", "k"), Denied},
		},
	},
	{
		name: "MinIO: read objects tagged security=public (s3:ExistingObjectTag)",
		doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::data/*"],
			"Condition":{"StringEquals":{"s3:ExistingObjectTag/security":["public"]}}}]}`,
		cases: []evalCase{
			{"public object", req("u", "s3:GetObject", "data", "k", "s3:existingobjecttag/security", "public"), Allowed},
			{"private object", req("u", "s3:GetObject", "data", "k", "s3:existingobjecttag/security", "private"), NotApplicable},
			{"untagged object", req("u", "s3:GetObject", "data", "k"), NotApplicable},
		},
	},
	{
		name: "mc anonymous set upload", bucket: "b",
		doc: `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucketMultipartUploads"],"Resource":["arn:aws:s3:::b"]},
			{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:AbortMultipartUpload","s3:DeleteObject","s3:ListMultipartUploadParts","s3:PutObject"],"Resource":["arn:aws:s3:::b/*"]}]}`,
		cases: []evalCase{
			{"anonymous PUT", req("", "s3:PutObject", "b", "k"), Allowed},
			{"anonymous GET", req("", "s3:GetObject", "b", "k"), NotApplicable},
			{"anonymous list uploads", req("", "s3:ListBucketMultipartUploads", "b", ""), Allowed},
			{"anonymous list objects", req("", "s3:ListBucket", "b", ""), NotApplicable},
		},
	},
	{
		name: "AWS: allow only until a date (aws:CurrentTime)",
		doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
			"Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}}]}`,
		cases: []evalCase{
			{"before", req("u", "s3:GetObject", "b", "k", "aws:currenttime", "2026-12-04T01:00:00Z"), Allowed},
			{"after", req("u", "s3:GetObject", "b", "k", "aws:currenttime", "2027-01-02T00:00:00Z"), NotApplicable},
		},
	},
	{
		name: "AWS: a bucket policy for one IAM user", bucket: "b",
		doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},
			"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		cases: []evalCase{
			{"alice", req("alice", "s3:GetObject", "b", "k"), Allowed},
			{"bob", req("bob", "s3:GetObject", "b", "k"), NotApplicable},
			{"anonymous", req("", "s3:GetObject", "b", "k"), NotApplicable},
		},
	},
}

func TestPolicyCorpus(t *testing.T) {
	for _, e := range policyCorpus {
		t.Run(e.name, func(t *testing.T) {
			var p *Policy
			var err error
			if e.bucket != "" {
				p, err = ParseBucketPolicy([]byte(e.doc), e.bucket)
			} else {
				p, err = Parse([]byte(e.doc))
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			runEval(t, p, e.cases)
		})
	}
}

func FuzzEvaluateCorpus(f *testing.F) {
	for _, e := range policyCorpus {
		f.Add([]byte(e.doc), "s3:GetObject", "b", "k", "192.0.2.1")
	}
	f.Fuzz(func(t *testing.T, doc []byte, action, bucket, object, ip string) {
		p, err := Parse(doc)
		if err != nil {
			return
		}
		args := Args{Account: "u", Action: action, Bucket: bucket, Object: object,
			Conditions: map[string][]string{"aws:sourceip": {ip}, "aws:username": {"u"}, "s3:prefix": {object}}}
		if d1, d2 := p.Evaluate(args), p.Evaluate(args); d1 != d2 {
			t.Fatalf("Evaluate is not deterministic: %v then %v", d1, d2)
		}
	})
}

func TestGrantsEveryoneAndUsesConditionKey(t *testing.T) {
	for _, tc := range []struct {
		doc            string
		public, tagKey bool
	}{
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, true, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, true, false},
		{`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, false, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
			"Condition":{"StringEquals":{"s3:ExistingObjectTag/Team":"x"}}}]}`, false, true},
	} {
		p, err := ParseBucketPolicy([]byte(tc.doc), "b")
		if err != nil {
			t.Fatal(err)
		}
		if got := p.GrantsEveryone(); got != tc.public {
			t.Errorf("GrantsEveryone(%s) = %v, want %v", tc.doc, got, tc.public)
		}
		if got := p.UsesConditionKey("s3:existingobjecttag/"); got != tc.tagKey {
			t.Errorf("UsesConditionKey(%s) = %v, want %v", tc.doc, got, tc.tagKey)
		}
	}
	var none *Policy
	if none.GrantsEveryone() || none.UsesConditionKey("s3:") {
		t.Error("a nil policy grants or uses something")
	}
}
