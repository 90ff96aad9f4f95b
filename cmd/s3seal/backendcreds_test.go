package main

import (
	"strings"
	"testing"
)

// TestBackendCredentialsFromAWSDefaultChain: without static backend keys
// the gateway signs with what AWS's default chain finds, session token
// included; with static keys it uses them.
func TestBackendCredentialsFromAWSDefaultChain(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "chain-ak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "chain-sk")
	t.Setenv("AWS_SESSION_TOKEN", "chain-token")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_CA_BUNDLE", "")
	creds, err := backendCredentials(t.Context(), backendConfig{Region: "eu-west-1"})
	if err != nil || creds == nil {
		t.Fatalf("backendCredentials: provider %v, %v", creds != nil, err)
	}
	ak, sk, token, err := creds(t.Context())
	if err != nil || ak != "chain-ak" || sk != "chain-sk" || token != "chain-token" {
		t.Errorf("the default chain gave %q %q %q %v, want the environment's", ak, sk, token, err)
	}
	if creds, err := backendCredentials(t.Context(), backendConfig{AccessKey: "static", SecretKey: "static-secret"}); err != nil || creds != nil {
		t.Errorf("with static keys: %v, %v; want no provider", creds != nil, err)
	}
}

func TestBackendSessionTokenNeedsKeys(t *testing.T) {
	env := without(validEnv(), "S3SEAL_BACKEND_ACCESS_KEY", "S3SEAL_BACKEND_SECRET_KEY")
	env["S3SEAL_BACKEND_SESSION_TOKEN"] = "tok"
	code, _, stderr := runCLI(env, "server")
	if code != 2 || !strings.Contains(stderr, "S3SEAL_BACKEND_SESSION_TOKEN (backend.session_token) needs") {
		t.Errorf("a session token without keys: exit %d, %q", code, stderr)
	}
}
