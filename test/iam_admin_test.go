package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// Users, access keys, policies and groups managed with the real mc through
// s3seal's MinIO-compatible admin API, enforced on S3 requests from mc and
// aws-sdk-go-v2, stored only sealed in the backend's system bucket.

// iamBoto3Script GETs public.txt and PUTs new.txt with boto3 (credentials
// from the environment) and prints what happened.
const iamBoto3Script = `import sys, boto3, botocore
endpoint, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
got = s3.get_object(Bucket=bucket, Key="public.txt")["Body"].read().decode()
try:
    s3.put_object(Bucket=bucket, Key="new.txt", Body=b"x")
    put = "ok"
except botocore.exceptions.ClientError as e:
    put = e.response["Error"]["Code"]
print("get=" + got + " put=" + put)
`

func s3ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// canGet reports whether accessKey can GET bucket/key through endpoint
// with aws-sdk-go-v2, and the S3 error code if not.
func sdkGet(ctx context.Context, endpoint, accessKey, secret, bucket, key string) (string, error) {
	c := harness.S3Client(endpoint, accessKey, secret)
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(out.Body)
	return b.String(), err
}

func sdkPut(ctx context.Context, endpoint, accessKey, secret, bucket, key string) error {
	c := harness.S3Client(endpoint, accessKey, secret)
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("written by " + accessKey)})
	return err
}

func TestMCAdminManagesUsersAccessKeysPoliciesAndGroups(t *testing.T) {
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	ctx := t.Context()
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "gw", gw.Endpoint, gw.AccessKey, gw.SecretKey)
	root := gw.Client(t)
	const bucket = "team"
	if err := root.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"public.txt", "bob/b.txt", "other/o.txt"} {
		if _, err := root.PutObject(ctx, bucket, k, strings.NewReader("content of "+k), -1, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("root PUT %s: %v", k, err)
		}
	}
	upload := writeFile(t, "upload.txt", "uploaded")
	secrets := map[string]string{} // every secret the test makes; none may reach the backend in clear
	addUser := func(t *testing.T, name, secret string, policies ...string) {
		t.Helper()
		secrets[name] = secret
		mc.Must(t, "admin", "user", "add", "gw", name, secret)
		if len(policies) > 0 {
			mc.Must(t, append([]string{"admin", "policy", "attach", "gw"}, append(policies, "--user", name)...)...)
		}
	}

	t.Run("a readonly user lists buckets and reads, and its PUT is AccessDenied (mc and aws-sdk-go-v2)", func(t *testing.T) {
		addUser(t, "alice", "alice-secret-0001", "readonly")
		u := harness.MC(t, t.TempDir())
		u.AliasSet(t, "alice", gw.Endpoint, "alice", "alice-secret-0001")
		if r := u.Must(t, "ls", "alice/"); !strings.Contains(string(r.Stdout), bucket) {
			t.Errorf("mc ls as alice: %q, want %s listed", r.Stdout, bucket)
		}
		if r := u.Must(t, "cat", "alice/team/public.txt"); string(r.Stdout) != "content of public.txt" {
			t.Errorf("mc cat as alice: %q", r.Stdout)
		}
		if r := u.Run(t, "cp", upload, "alice/team/new.txt"); r.ExitCode == 0 {
			t.Errorf("mc cp as alice: %v, want a failure", r)
		}
		if got, err := sdkGet(ctx, gw.Endpoint, "alice", "alice-secret-0001", bucket, "public.txt"); err != nil || got != "content of public.txt" {
			t.Errorf("sdk GET as alice: %q, %v", got, err)
		}
		if err := sdkPut(ctx, gw.Endpoint, "alice", "alice-secret-0001", bucket, "new.txt"); !isAccessDenied(err) {
			t.Errorf("sdk PUT as alice: %v, want AccessDenied", err)
		}
		// boto3 too.
		script := writeFile(t, "readonly.py", iamBoto3Script)
		env := harness.AWS(t, gw.Endpoint, "alice", "alice-secret-0001").Env()
		r := harness.MustRun(t, clientsPythonWithBoto3(t), []string{script, gw.Endpoint, bucket}, env, t.TempDir())
		if got := strings.TrimSpace(string(r.Stdout)); got != "get=content of public.txt put=AccessDenied" {
			t.Errorf("boto3 as alice: %q, want the GET to work and the PUT to be AccessDenied", got)
		}
		if _, err := root.StatObject(ctx, bucket, "new.txt", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("new.txt after the refused PUTs: %v, want NoSuchKey", err)
		}
		var info struct {
			Status     string `json:"userStatus"`
			PolicyName string `json:"policyName"`
		}
		harness.DecodeJSON(t, mc.JSON(t, "admin", "user", "info", "gw", "alice"), &info)
		if info.Status != "enabled" || info.PolicyName != "readonly" {
			t.Errorf("mc admin user info alice: %+v, want enabled with readonly", info)
		}
		if r := mc.Must(t, "admin", "user", "list", "gw"); !strings.Contains(string(r.Stdout), "alice") {
			t.Errorf("mc admin user list: %q lacks alice", r.Stdout)
		}
	})

	t.Run("a user with a custom policy on one prefix cannot list or read outside it", func(t *testing.T) {
		doc := `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::team"],"Condition":{"StringLike":{"s3:prefix":["bob/*"]}}},
			{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::team/bob/*"]}]}`
		mc.Must(t, "admin", "policy", "create", "gw", "bob-home", writeFile(t, "bob.json", doc))
		addUser(t, "bob", "bob-secret-00002", "bob-home")
		c := harness.S3Client(gw.Endpoint, "bob", "bob-secret-00002")
		if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("bob/")}); err != nil {
			t.Errorf("list bob/: %v", err)
		}
		for _, prefix := range []string{"", "other/"} {
			if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}); !isAccessDenied(err) {
				t.Errorf("list %q: %v, want AccessDenied", prefix, err)
			}
		}
		if got, err := sdkGet(ctx, gw.Endpoint, "bob", "bob-secret-00002", bucket, "bob/b.txt"); err != nil || got != "content of bob/b.txt" {
			t.Errorf("GET bob/b.txt: %q, %v", got, err)
		}
		for _, k := range []string{"other/o.txt", "public.txt"} {
			if _, err := sdkGet(ctx, gw.Endpoint, "bob", "bob-secret-00002", bucket, k); !isAccessDenied(err) {
				t.Errorf("GET %s: %v, want AccessDenied", k, err)
			}
		}
		if err := sdkPut(ctx, gw.Endpoint, "bob", "bob-secret-00002", bucket, "bob/new.txt"); err != nil {
			t.Errorf("PUT bob/new.txt: %v", err)
		}
	})

	t.Run("a disabled user is refused until enabled again", func(t *testing.T) {
		mc.Must(t, "admin", "user", "disable", "gw", "alice")
		_, err := sdkGet(ctx, gw.Endpoint, "alice", "alice-secret-0001", bucket, "public.txt")
		if code := s3ErrorCode(err); code != "InvalidAccessKeyId" {
			t.Errorf("GET as disabled alice: %v, want InvalidAccessKeyId", err)
		}
		mc.Must(t, "admin", "user", "enable", "gw", "alice")
		if _, err := sdkGet(ctx, gw.Endpoint, "alice", "alice-secret-0001", bucket, "public.txt"); err != nil {
			t.Errorf("GET as enabled alice: %v", err)
		}
	})

	t.Run("policy list, info, detach and attach round-trip", func(t *testing.T) {
		r := mc.Must(t, "admin", "policy", "list", "gw")
		for _, want := range []string{"bob-home", "readonly", "readwrite", "consoleAdmin"} {
			if !strings.Contains(string(r.Stdout), want) {
				t.Errorf("mc admin policy list: %q lacks %s", r.Stdout, want)
			}
		}
		var info struct {
			Policy     string `json:"policy"`
			PolicyInfo struct {
				PolicyName string
				Policy     json.RawMessage
			} `json:"policyInfo"`
		}
		harness.DecodeJSON(t, mc.JSON(t, "admin", "policy", "info", "gw", "bob-home"), &info)
		if info.PolicyInfo.PolicyName != "bob-home" || !strings.Contains(string(info.PolicyInfo.Policy), "arn:aws:s3:::team/bob/*") {
			t.Errorf("mc admin policy info bob-home: %+v", info)
		}
		mc.Must(t, "admin", "policy", "detach", "gw", "readonly", "--user", "alice")
		if _, err := sdkGet(ctx, gw.Endpoint, "alice", "alice-secret-0001", bucket, "public.txt"); !isAccessDenied(err) {
			t.Errorf("GET as alice without a policy: %v, want AccessDenied", err)
		}
		// mc takes XMinioAdminPolicyChangeAlreadyApplied as success.
		mc.Must(t, "admin", "policy", "detach", "gw", "readonly", "--user", "alice")
		mc.Must(t, "admin", "policy", "attach", "gw", "readonly", "--user", "alice")
		if _, err := sdkGet(ctx, gw.Endpoint, "alice", "alice-secret-0001", bucket, "public.txt"); err != nil {
			t.Errorf("GET as alice after attach: %v", err)
		}
		if r := mc.Run(t, "admin", "policy", "remove", "gw", "bob-home"); r.ExitCode == 0 {
			t.Errorf("removing a policy in use: %v, want XMinioIAMPolicyInUse", r)
		}
		if r := mc.Run(t, "admin", "policy", "attach", "gw", "no-such-policy", "--user", "alice"); r.ExitCode == 0 {
			t.Errorf("attaching a missing policy: %v, want a failure", r)
		}
		mc.Must(t, "admin", "policy", "create", "gw", "scratch", writeFile(t, "s.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::x/*"]}]}`))
		mc.Must(t, "admin", "policy", "remove", "gw", "scratch")
		if r := mc.Must(t, "admin", "policy", "list", "gw"); strings.Contains(string(r.Stdout), "scratch") {
			t.Errorf("removed policy still listed: %q", r.Stdout)
		}
	})

	t.Run("groups grant their policies to their members while enabled", func(t *testing.T) {
		addUser(t, "dave", "dave-secret-0004")
		if err := sdkPut(ctx, gw.Endpoint, "dave", "dave-secret-0004", bucket, "dave.txt"); !isAccessDenied(err) {
			t.Fatalf("PUT as dave without policies: %v, want AccessDenied", err)
		}
		mc.Must(t, "admin", "group", "add", "gw", "devs", "dave")
		mc.Must(t, "admin", "policy", "attach", "gw", "readwrite", "--group", "devs")
		if err := sdkPut(ctx, gw.Endpoint, "dave", "dave-secret-0004", bucket, "dave.txt"); err != nil {
			t.Errorf("PUT as dave in devs: %v", err)
		}
		var g struct {
			Members []string `json:"members"`
			Policy  string   `json:"groupPolicy"`
			Status  string   `json:"groupStatus"`
		}
		harness.DecodeJSON(t, mc.JSON(t, "admin", "group", "info", "gw", "devs"), &g)
		if len(g.Members) != 1 || g.Members[0] != "dave" || g.Policy != "readwrite" || g.Status != "enabled" {
			t.Errorf("mc admin group info devs: %+v", g)
		}
		if r := mc.Must(t, "admin", "group", "ls", "gw"); !strings.Contains(string(r.Stdout), "devs") {
			t.Errorf("mc admin group ls: %q", r.Stdout)
		}
		mc.Must(t, "admin", "group", "disable", "gw", "devs")
		if err := sdkPut(ctx, gw.Endpoint, "dave", "dave-secret-0004", bucket, "dave.txt"); !isAccessDenied(err) {
			t.Errorf("PUT as dave in a disabled group: %v, want AccessDenied", err)
		}
		mc.Must(t, "admin", "group", "enable", "gw", "devs")
		if r := mc.Run(t, "admin", "group", "rm", "gw", "devs"); r.ExitCode == 0 {
			t.Errorf("removing a group with members: %v, want XMinioAdminGroupNotEmpty", r)
		}
		mc.Must(t, "admin", "group", "rm", "gw", "devs", "dave")
		if err := sdkPut(ctx, gw.Endpoint, "dave", "dave-secret-0004", bucket, "dave.txt"); !isAccessDenied(err) {
			t.Errorf("PUT as dave after leaving devs: %v, want AccessDenied", err)
		}
		mc.Must(t, "admin", "group", "rm", "gw", "devs")
	})

	t.Run("a narrowed access key cannot do what its parent can", func(t *testing.T) {
		addUser(t, "carol", "carol-secret-0003", "readwrite")
		narrow := writeFile(t, "narrow.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::team/*"]}]}`)
		mc.Must(t, "admin", "user", "svcacct", "add", "gw", "carol", "--access-key", "carol-narrow", "--secret-key", "carol-narrow-secret", "--policy", narrow)
		secrets["carol-narrow"] = "carol-narrow-secret"
		if err := sdkPut(ctx, gw.Endpoint, "carol", "carol-secret-0003", bucket, "carol.txt"); err != nil {
			t.Errorf("PUT as carol: %v", err)
		}
		if _, err := sdkGet(ctx, gw.Endpoint, "carol-narrow", "carol-narrow-secret", bucket, "public.txt"); err != nil {
			t.Errorf("GET with the narrowed key: %v", err)
		}
		if err := sdkPut(ctx, gw.Endpoint, "carol-narrow", "carol-narrow-secret", bucket, "narrow.txt"); !isAccessDenied(err) {
			t.Errorf("PUT with the narrowed key: %v, want AccessDenied", err)
		}
		var info struct {
			ParentUser    string `json:"parentUser"`
			ImpliedPolicy bool   `json:"impliedPolicy"`
			AccountStatus string `json:"accountStatus"`
		}
		harness.DecodeJSON(t, mc.JSON(t, "admin", "user", "svcacct", "info", "gw", "carol-narrow"), &info)
		if info.ParentUser != "carol" || info.ImpliedPolicy || info.AccountStatus != "on" {
			t.Errorf("mc admin user svcacct info: %+v", info)
		}
		if r := mc.Must(t, "admin", "user", "svcacct", "ls", "gw", "carol"); !strings.Contains(string(r.Stdout), "carol-narrow") {
			t.Errorf("mc admin user svcacct ls: %q", r.Stdout)
		}
		mc.Must(t, "admin", "user", "svcacct", "disable", "gw", "carol-narrow")
		if _, err := sdkGet(ctx, gw.Endpoint, "carol-narrow", "carol-narrow-secret", bucket, "public.txt"); s3ErrorCode(err) != "InvalidAccessKeyId" {
			t.Errorf("GET with the disabled key: %v, want InvalidAccessKeyId", err)
		}
		mc.Must(t, "admin", "user", "svcacct", "enable", "gw", "carol-narrow")
		// An inheriting key, made with mc admin accesskey create.
		mc.Must(t, "admin", "accesskey", "create", "gw", "carol", "--access-key", "carol-full", "--secret-key", "carol-full-secret")
		secrets["carol-full"] = "carol-full-secret"
		if err := sdkPut(ctx, gw.Endpoint, "carol-full", "carol-full-secret", bucket, "full.txt"); err != nil {
			t.Errorf("PUT with the inheriting key: %v", err)
		}
		if r := mc.Must(t, "admin", "accesskey", "ls", "gw", "carol"); !strings.Contains(string(r.Stdout), "carol-full") {
			t.Errorf("mc admin accesskey ls: %q", r.Stdout)
		}
		if r := mc.Must(t, "admin", "accesskey", "info", "gw", "carol-full"); !strings.Contains(string(r.Stdout), "carol") {
			t.Errorf("mc admin accesskey info: %q", r.Stdout)
		}
		mc.Must(t, "admin", "accesskey", "rm", "gw", "carol-full")
		if err := sdkPut(ctx, gw.Endpoint, "carol-full", "carol-full-secret", bucket, "full.txt"); s3ErrorCode(err) != "InvalidAccessKeyId" {
			t.Errorf("PUT with the removed key: %v, want InvalidAccessKeyId", err)
		}
		// Removing the user removes its keys.
		mc.Must(t, "admin", "user", "remove", "gw", "carol")
		if _, err := sdkGet(ctx, gw.Endpoint, "carol-narrow", "carol-narrow-secret", bucket, "public.txt"); s3ErrorCode(err) != "InvalidAccessKeyId" {
			t.Errorf("GET with the key of a removed user: %v, want InvalidAccessKeyId", err)
		}
	})

	t.Run("an access key with an expiry works until it, then is refused", func(t *testing.T) {
		// Long enough for mc (Argon2id of the body) on a loaded 2-core machine.
		expiry := time.Now().Add(20 * time.Second).UTC()
		mc.Must(t, "admin", "accesskey", "create", "gw", "alice", "--access-key", "alice-brief", "--secret-key", "alice-brief-secret",
			"--expiry", expiry.Format(time.RFC3339))
		secrets["alice-brief"] = "alice-brief-secret"
		if _, err := sdkGet(ctx, gw.Endpoint, "alice-brief", "alice-brief-secret", bucket, "public.txt"); err != nil {
			t.Fatalf("GET before the expiry: %v", err)
		}
		time.Sleep(time.Until(expiry) + 100*time.Millisecond) // the behaviour under test is a deadline
		if _, err := sdkGet(ctx, gw.Endpoint, "alice-brief", "alice-brief-secret", bucket, "public.txt"); s3ErrorCode(err) != "InvalidAccessKeyId" {
			t.Errorf("GET after the expiry: %v, want InvalidAccessKeyId", err)
		}
	})

	t.Run("only administrators manage IAM", func(t *testing.T) {
		u := harness.MC(t, t.TempDir())
		u.AliasSet(t, "bob", gw.Endpoint, "bob", "bob-secret-00002")
		if r := u.Run(t, "admin", "user", "add", "bob", "mallory", "mallory-secret"); r.ExitCode == 0 || !strings.Contains(string(r.Stdout)+r.Stderr, "Access Denied") {
			t.Errorf("mc admin user add as bob: %v, want Access Denied", r)
		}
		// ...except for a user's own access keys, as in MinIO.
		u.Must(t, "admin", "accesskey", "create", "bob", "--access-key", "bob-own", "--secret-key", "bob-own-secret")
		secrets["bob-own"] = "bob-own-secret"
		if got, err := sdkGet(ctx, gw.Endpoint, "bob-own", "bob-own-secret", bucket, "bob/b.txt"); err != nil || got != "content of bob/b.txt" {
			t.Errorf("GET with bob's own key: %q, %v", got, err)
		}
		if r := u.Run(t, "admin", "accesskey", "create", "bob", "alice", "--access-key", "bob-for-alice", "--secret-key", "bob-for-alice-secret"); r.ExitCode == 0 {
			t.Errorf("bob creating a key for alice: %v, want a failure", r)
		}
		addUser(t, "erin", "erin-secret-0005", "consoleAdmin")
		e := harness.MC(t, t.TempDir())
		e.AliasSet(t, "erin", gw.Endpoint, "erin", "erin-secret-0005")
		e.Must(t, "admin", "user", "add", "erin", "frank", "frank-secret-0006")
		secrets["frank"] = "frank-secret-0006"
	})

	t.Run("the system bucket holds no secret in clear", func(t *testing.T) {
		raw := backend.Client(t)
		n := 0
		for o := range raw.ListObjects(ctx, "s3seal-system", minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			data := harness.ReadObject(t, raw, "s3seal-system", o.Key, minio.GetObjectOptions{})
			n++
			for user, secret := range secrets {
				if bytes.Contains(data, []byte(secret)) || strings.Contains(o.Key, secret) {
					t.Errorf("system object %s holds %s's secret in clear", o.Key, user)
				}
			}
			if strings.HasPrefix(o.Key, "iam/") && bytes.Contains(data, []byte(`"secretKey"`)) {
				t.Errorf("system object %s is readable JSON", o.Key)
			}
		}
		if n == 0 {
			t.Fatal("the system bucket is empty: nothing was checked")
		}
	})
}

func TestIAMChangeReachesEveryReplicaWithinTheRefreshBound(t *testing.T) {
	backend := harness.StartMinIO(t)
	a := harness.StartGateway(t, backend)
	b := harness.StartGateway(t, backend,
		harness.WithGatewayEnv("S3SEAL_KMS_DIR", a.KMSDir),
		harness.WithGatewayEnv("S3SEAL_ROOT_USER", a.AccessKey),
		harness.WithGatewayEnv("S3SEAL_ROOT_PASSWORD", a.SecretKey))
	ctx := t.Context()
	if err := a.Client(t).MakeBucket(ctx, "shared", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, "a", a.Endpoint, a.AccessKey, a.SecretKey)
	propagation := func(t *testing.T, what string, holds func() error) time.Duration {
		t.Helper()
		start := time.Now()
		harness.Eventually(t, 10*time.Second, func(context.Context) error { return holds() })
		took := time.Since(start)
		t.Logf("%s reached replica B after %v", what, took.Round(10*time.Millisecond))
		// The documented bound: the refresh interval (2 s) plus one HEAD
		// and GET, with polling slack.
		if took > 3*time.Second {
			t.Errorf("%s took %v on replica B, more than the documented 2 s bound", what, took)
		}
		return took
	}

	mc.Must(t, "admin", "user", "add", "a", "rita", "rita-secret-0001")
	mc.Must(t, "admin", "policy", "attach", "a", "readwrite", "--user", "rita")
	propagation(t, "a new user", func() error {
		return sdkPut(ctx, b.Endpoint, "rita", "rita-secret-0001", "shared", "rita.txt")
	})
	// Disable and enable a few times (set-user-status has no encrypted
	// body, so mc returns fast): the delays sample the refresh phase.
	var worst, total time.Duration
	const rounds = 4
	for i := range rounds {
		status, want := "disable", "InvalidAccessKeyId"
		if i%2 == 1 {
			status, want = "enable", ""
		}
		mc.Must(t, "admin", "user", status, "a", "rita")
		if err := sdkPut(ctx, a.Endpoint, "rita", "rita-secret-0001", "shared", "rita.txt"); s3ErrorCode(err) != want {
			t.Errorf("replica A right after %s: %v, want %q", status, err, want)
		}
		took := propagation(t, status+" the user", func() error {
			if err := sdkPut(ctx, b.Endpoint, "rita", "rita-secret-0001", "shared", "rita.txt"); s3ErrorCode(err) != want {
				return fmt.Errorf("replica B answers %v, want %q", err, want)
			}
			return nil
		})
		worst, total = max(worst, took), total+took
	}
	t.Logf("status changes reached replica B after %v on average, %v at worst (%d changes)", (total / rounds).Round(10*time.Millisecond), worst.Round(10*time.Millisecond), rounds)
	// Replica B writes too: both replicas' changes survive (compare-and-swap).
	mcB := harness.MC(t, t.TempDir())
	mcB.AliasSet(t, "b", b.Endpoint, a.AccessKey, a.SecretKey)
	mcB.Must(t, "admin", "user", "add", "b", "sam", "sam-secret-00002")
	mc.Must(t, "admin", "user", "add", "a", "tom", "tom-secret-00003")
	for _, m := range []*harness.MCClient{mc, mcB} {
		alias := map[*harness.MCClient]string{mc: "a", mcB: "b"}[m]
		harness.Eventually(t, 5*time.Second, func(context.Context) error {
			r := m.Run(t, "admin", "user", "list", alias)
			for _, u := range []string{"rita", "sam", "tom"} {
				if !strings.Contains(string(r.Stdout), u) {
					return fmt.Errorf("replica %s lists %q, lacking %s", alias, r.Stdout, u)
				}
			}
			return nil
		})
	}
}
