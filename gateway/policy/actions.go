package policy

import (
	"maps"
	"slices"
	"strings"
)

// Action namespaces: a statement's actions all belong to one (MinIO
// refuses a statement that mixes them).
const (
	nsS3    = "s3"
	nsAdmin = "admin"
	nsKMS   = "kms"
	nsSTS   = "sts"
)

// knownActions are the actions of MinIO's policy language; an action
// pattern is valid when it matches at least one of them.
var knownActions = map[string][]string{
	nsS3: {
		"s3:AbortMultipartUpload", "s3:BypassGovernanceRetention", "s3:CreateBucket", "s3:DeleteBucket",
		"s3:DeleteBucketCors", "s3:DeleteBucketPolicy", "s3:DeleteObject", "s3:DeleteObjectTagging",
		"s3:DeleteObjectVersion", "s3:DeleteObjectVersionTagging", "s3:ForceDeleteBucket", "s3:GetBucketCors",
		"s3:GetBucketLocation", "s3:GetBucketNotification", "s3:GetBucketObjectLockConfiguration",
		"s3:GetBucketPolicy", "s3:GetBucketPolicyStatus", "s3:GetBucketQOS", "s3:GetBucketTagging",
		"s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetInventoryConfiguration",
		"s3:GetLifecycleConfiguration", "s3:GetObject", "s3:GetObjectAttributes", "s3:GetObjectLegalHold",
		"s3:GetObjectRetention", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionAttributes",
		"s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging", "s3:GetReplicationConfiguration",
		"s3:HeadBucket", "s3:ListAllMyBuckets", "s3:ListBucket", "s3:ListBucketMultipartUploads",
		"s3:ListBucketVersions", "s3:ListMultipartUploadParts", "s3:ListenBucketNotification",
		"s3:ListenNotification", "s3:PutBucketCors", "s3:PutBucketNotification",
		"s3:PutBucketObjectLockConfiguration", "s3:PutBucketPolicy", "s3:PutBucketQOS", "s3:PutBucketTagging",
		"s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutInventoryConfiguration",
		"s3:PutLifecycleConfiguration", "s3:PutObject", "s3:PutObjectFanOut", "s3:PutObjectLegalHold",
		"s3:PutObjectRetention", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
		"s3:PutReplicationConfiguration", "s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags",
		"s3:ResetBucketReplicationState", "s3:RestoreObject",
	},
	nsAdmin: {
		"admin:AddUserToGroup", "admin:AttachUserOrGroupPolicy", "admin:BandwidthMonitor", "admin:ConfigUpdate",
		"admin:ConsoleLog", "admin:CreatePolicy", "admin:CreateServiceAccount", "admin:CreateUser",
		"admin:DataUsageInfo", "admin:Decommission", "admin:DeletePolicy", "admin:DeleteUser",
		"admin:DisableGroup", "admin:DisableUser", "admin:EnableGroup", "admin:EnableUser", "admin:ExportIAM",
		"admin:ForceUnlock", "admin:GetBucketQuota", "admin:GetBucketTarget", "admin:GetGroup", "admin:GetPolicy",
		"admin:GetUser", "admin:Heal", "admin:ImportIAM", "admin:KMSCreateKey", "admin:KMSKeyStatus",
		"admin:ListGroups", "admin:ListServiceAccounts", "admin:ListTemporaryAccounts", "admin:ListTier",
		"admin:ListUserPolicies", "admin:ListUsers", "admin:OBDInfo", "admin:Profiling", "admin:Prometheus",
		"admin:Rebalance", "admin:RemoveServiceAccount", "admin:RemoveUserFromGroup", "admin:ServerInfo",
		"admin:ServerTrace", "admin:ServerUpdate", "admin:ServiceRestart", "admin:ServiceStop",
		"admin:SetBucketQuota", "admin:SetBucketTarget", "admin:SetTier", "admin:StorageInfo",
		"admin:TopLocksInfo", "admin:UpdateServiceAccount",
	},
	nsKMS: {
		"kms:API", "kms:AssignPolicy", "kms:AuditLog", "kms:CreateKey", "kms:DeleteIdentity", "kms:DeleteKey",
		"kms:DeletePolicy", "kms:DescribeIdentity", "kms:DescribePolicy", "kms:DescribeSelfIdentity",
		"kms:Enable", "kms:ErrorLog", "kms:GetPolicy", "kms:ImportKey", "kms:KeyRotate", "kms:KeyStatus",
		"kms:ListIdentities", "kms:ListKeys", "kms:ListPolicies", "kms:Metrics", "kms:SetPolicy", "kms:Status",
		"kms:Version",
	},
	nsSTS: {"sts:AssumeRole", "sts:AssumeRoleWithClientGrants", "sts:AssumeRoleWithCustomToken",
		"sts:AssumeRoleWithLDAPIdentity", "sts:AssumeRoleWithWebIdentity"},
}

// actionNamespace validates an action pattern and returns its namespace.
// "*" alone is S3's s3:* (MinIO's reading).
func actionNamespace(a string) (string, error) {
	if a == "*" {
		return nsS3, nil
	}
	ns, _, ok := strings.Cut(a, ":")
	if known, found := knownActions[ns]; ok && found {
		for _, k := range known {
			if matchWildcard(a, k) {
				return ns, nil
			}
		}
	}
	return "", malformed("invalid action %q", a)
}

// Namespace returns the namespace of a concrete action ("s3", "kms", ...).
func Namespace(action string) string {
	ns, _, _ := strings.Cut(action, ":")
	return ns
}

// IsKnownAction reports whether action is a concrete action of the
// language (no wildcards).
func IsKnownAction(action string) bool {
	return slices.Contains(knownActions[Namespace(action)], action)
}

// builtinDocuments are MinIO's canned policies, by name.
var builtinDocuments = map[string]string{
	"readwrite": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}`,
	"readonly": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetBucketLocation","s3:GetObject"],"Resource":["arn:aws:s3:::*"]},
		{"Effect":"Deny","Action":["admin:CreateUser"],"Resource":["arn:aws:s3:::*"]}]}`,
	"writeonly": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::*"]}]}`,
	"diagnostics": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["admin:Profiling","admin:ServerTrace",
		"admin:ConsoleLog","admin:ServerInfo","admin:TopLocksInfo","admin:OBDInfo","admin:BandwidthMonitor","admin:Prometheus"],
		"Resource":["arn:aws:s3:::*"]}]}`,
	"consoleAdmin": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["admin:*"]},
		{"Effect":"Allow","Action":["kms:*"]},
		{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}`,
}

var builtins = func() map[string]*Policy {
	m := map[string]*Policy{}
	for name, doc := range builtinDocuments {
		p, err := Parse([]byte(doc))
		if err != nil {
			panic("builtin policy " + name + ": " + err.Error())
		}
		m[name] = p
	}
	return m
}()

// Builtin returns MinIO's canned policy of that name (readwrite, readonly,
// writeonly, diagnostics, consoleAdmin), or false.
func Builtin(name string) (*Policy, bool) {
	p, ok := builtins[name]
	return p, ok
}

// BuiltinDocument returns the JSON document of MinIO's canned policy of
// that name, or false.
func BuiltinDocument(name string) ([]byte, bool) {
	doc, ok := builtinDocuments[name]
	return []byte(doc), ok
}

// BuiltinNames lists the canned policies.
func BuiltinNames() []string {
	return slices.Sorted(maps.Keys(builtins))
}
