package main

import (
	"strings"
	"testing"

	"github.com/s3seal/s3seal/gateway/policy"
)

const secretUserKey = "alice-secret-never-echoed"

func TestConfigFileUsersAndPolicies(t *testing.T) {
	path := writeConfig(t, `version: v1
users:
- access_key: alice
  secret_key: ${ALICE_SECRET}
  policies: [readonly, home]
- access_key: ci-bot
  secret_key: ci-secret-123
  policies: [readwrite]
policies:
  home: |
    {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}
`)
	env := validEnv()
	env["ALICE_SECRET"] = secretUserKey
	cfg, err := loadConfig(path, getenvOf(env))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := staticCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	alice, ok := creds.Lookup("alice")
	if !ok || alice.SecretKey != secretUserKey || len(alice.Policies) != 2 {
		t.Fatalf("alice: got %+v, %v; want her secret and 2 policies", alice, ok)
	}
	args := policy.Args{Action: "s3:PutObject", Bucket: "home", Object: "alice/x", Conditions: map[string][]string{"aws:username": {"alice"}}}
	if !alice.Policies[1].IsAllowed(args) {
		t.Error("alice's custom policy does not allow her home prefix")
	}
	if _, ok := creds.Lookup("bob"); ok {
		t.Error("an unconfigured user was found")
	}
}

func TestConfigFileUserErrorsNameTheUserNotTheSecret(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown policy": {`users:
- access_key: alice
  secret_key: ` + secretUserKey + `
  policies: [superuser]
`, `unknown policy "superuser"`},
		"no policies": {`users:
- access_key: alice
  secret_key: ` + secretUserKey + `
`, `user "alice": no policies`},
		"short secret": {`users:
- access_key: alice
  secret_key: short
  policies: [readonly]
`, "secret key must be at least 8 characters"},
		"duplicate": {`users:
- {access_key: alice, secret_key: ` + secretUserKey + `, policies: [readonly]}
- {access_key: alice, secret_key: ` + secretUserKey + `, policies: [readonly]}
`, "defined twice"},
		"malformed custom policy": {`users:
- {access_key: alice, secret_key: ` + secretUserKey + `, policies: [mine]}
policies:
  mine: '{"Statement":[{"Effect":"Allow","Action":"s3:Nope","Resource":"*"}]}'
`, `policies.mine: statement 1: malformed policy: invalid action "s3:Nope"`},
		"shadowing a canned policy": {`policies:
  readonly: '{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
`, "policies.readonly: the name of a built-in policy"},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeConfig(t, "version: v1\n"+tc.yaml)
			_, err := loadConfig(path, getenvOf(validEnv()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadConfig: error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secretUserKey) {
				t.Fatalf("the error echoes a secret: %v", err)
			}
		})
	}
}
