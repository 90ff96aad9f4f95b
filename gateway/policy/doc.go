// Package policy is the AWS access-policy language as MinIO implements it:
// identity policies (attached to users) and bucket policies (with a
// Principal), parsed and validated by Parse and ParseBucketPolicy, and
// evaluated against one request (Args) by Policy.Evaluate.
//
// Evaluation: a statement applies when its Action (or NotAction), Resource
// (or NotResource), Principal (bucket policies) and every Condition match
// the request. Any applicable Deny makes the decision Deny; otherwise any
// applicable Allow makes it Allow; otherwise the policy says nothing
// (NotApplicable), which callers treat as a deny unless another policy
// allows. Actions and resources match with MinIO's wildcards, '*' any run
// of characters and '?' one character, case-sensitively; condition keys
// are case-insensitive. ${aws:username} and every other condition key may
// be used as a variable in resources and condition values.
//
// Like MinIO, admin: and sts: statements ignore resources, kms: statements
// match arn:minio:kms:::KEY resources when they have any, and s3:
// statements match arn:aws:s3:::BUCKET[/OBJECT] resources; a bucket-level
// request (ListBucket, ...) is the resource "BUCKET/", which
// arn:aws:s3:::BUCKET matches.
//
// Every parse error wraps ErrMalformed; the gateway answers it as S3's
// MalformedPolicy.
package policy
