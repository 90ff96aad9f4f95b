package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Secret values the tests hand to the loader; none may ever appear in what
// s3seal prints.
const (
	secretRootPassword  = "root-pw-SECRET-7f3a9c"
	secretBackendKey    = "backend-sk-SECRET-41d2e8"
	secretAWSSecretKey  = "aws-sk-SECRET-b95c10"
	secretAWSToken      = "aws-token-SECRET-03ee7d"
	secretKESAPIKey     = "kes:v1:AD8fK2m9Rz1xYc0TQm9s5eC0cHtqLr4WbVv7nJkP3aUe"
	secretMetricsToken  = "metrics-SECRET-6a1b"
	exampleBackendURL   = "http://127.0.0.1:9000"
	exampleBackendAK    = "backend-access"
	exampleRootUser     = "s3seal-root"
	exampleKESEndpoint  = "https://127.0.0.1:7373"
	exampleKMSDirectory = "/var/lib/s3seal/kms"
)

var allSecrets = []string{secretRootPassword, secretBackendKey, secretAWSSecretKey, secretAWSToken, secretKESAPIKey, secretMetricsToken}

// validEnv is a complete configuration by environment alone.
func validEnv() map[string]string {
	return map[string]string{
		"S3SEAL_BACKEND_URL":        exampleBackendURL,
		"S3SEAL_BACKEND_ACCESS_KEY": exampleBackendAK,
		"S3SEAL_BACKEND_SECRET_KEY": secretBackendKey,
		"S3SEAL_ROOT_USER":          exampleRootUser,
		"S3SEAL_ROOT_PASSWORD":      secretRootPassword,
		"S3SEAL_KMS_DIR":            exampleKMSDirectory,
	}
}

func getenvOf(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

// writeConfig writes text to a config file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s3seal.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLI runs the command line with env as the whole environment.
func runCLI(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, getenvOf(env), &out, &errOut)
	return code, out.String(), errOut.String()
}

// without returns a copy of env without the named variables.
func without(env map[string]string, names ...string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		if !slices.Contains(names, k) {
			out[k] = v
		}
	}
	return out
}

// with returns a copy of env with kv ("NAME", "value", ...) set.
func with(env map[string]string, kv ...string) map[string]string {
	out := without(env)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// assertNoSecrets fails if any secret value appears in outputs.
func assertNoSecrets(t *testing.T, outputs ...string) {
	t.Helper()
	for _, out := range outputs {
		for _, s := range allSecrets {
			if strings.Contains(out, s) {
				t.Errorf("output contains the secret value %q:\n%s", s, out)
			}
		}
	}
}

func TestVersionFlagPrintsTheVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr := runCLI(nil, arg)
			if code != 0 {
				t.Errorf("s3seal %s exit code = %d, want 0 (stderr %q)", arg, code, stderr)
			}
			if got, want := strings.TrimSpace(stdout), "s3seal "+version; got != want {
				t.Errorf("s3seal %s printed %q, want %q", arg, got, want)
			}
		})
	}
}

func TestServerWithoutARequiredSettingExitsTwoNamingIt(t *testing.T) {
	tests := []struct {
		drop string
		want string
	}{
		{"S3SEAL_BACKEND_URL", "S3SEAL_BACKEND_URL (backend.url) is required"},
		// Both unset means AWS's default credential chain; one alone is a mistake.
		{"S3SEAL_BACKEND_ACCESS_KEY", "S3SEAL_BACKEND_ACCESS_KEY and S3SEAL_BACKEND_SECRET_KEY (backend.access_key, backend.secret_key) go together; leave both unset for AWS's default credential chain"},
		{"S3SEAL_BACKEND_SECRET_KEY", "S3SEAL_BACKEND_ACCESS_KEY and S3SEAL_BACKEND_SECRET_KEY (backend.access_key, backend.secret_key) go together; leave both unset for AWS's default credential chain"},
		{"S3SEAL_ROOT_USER", "S3SEAL_ROOT_USER (root.user) is required"},
		{"S3SEAL_ROOT_PASSWORD", "S3SEAL_ROOT_PASSWORD (root.password) is required"},
		{"S3SEAL_KMS_DIR", "a key store is required: S3SEAL_KMS_DIR or kms.keystore in the config file"},
	}
	for _, tt := range tests {
		t.Run("without "+tt.drop, func(t *testing.T) {
			code, stdout, stderr := runCLI(without(validEnv(), tt.drop), "server")
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if !slices.Contains(strings.Split(strings.TrimSpace(stderr), "\n"), "s3seal: "+tt.want) {
				t.Errorf("stderr = %q, want the line %q", stderr, "s3seal: "+tt.want)
			}
			assertNoSecrets(t, stdout, stderr)
		})
	}
}

func TestServerRejectsAnInvalidBackendURL(t *testing.T) {
	for _, u := range []string{"ftp://127.0.0.1:9000", "127.0.0.1:9000", "http://", "://no-scheme", "minio"} {
		t.Run(u, func(t *testing.T) {
			code, stdout, stderr := runCLI(with(validEnv(), "S3SEAL_BACKEND_URL", u), "server")
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if want := "s3seal: S3SEAL_BACKEND_URL (backend.url) must be an http:// or https:// URL"; !strings.Contains(stderr, want) {
				t.Errorf("stderr = %q, want %q", stderr, want)
			}
			assertNoSecrets(t, stdout, stderr)
		})
	}
}

func TestServerRejectsAShortRootPasswordWithoutEchoingIt(t *testing.T) {
	const short = "Sh0rt!x"
	code, stdout, stderr := runCLI(with(validEnv(), "S3SEAL_ROOT_PASSWORD", short), "server")
	if code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if want := "S3SEAL_ROOT_PASSWORD (root.password) must be at least 8 characters"; !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if strings.Contains(stdout+stderr, short) {
		t.Errorf("output echoes the password: stdout %q, stderr %q", stdout, stderr)
	}
}

func TestConfigFileSubstitutesWholeEnvironmentValues(t *testing.T) {
	path := writeConfig(t, `version: v1
root:
  user: ${ROOT_USER}
  password: "${ROOT_PASSWORD}"
backend:
  url: ${BACKEND_URL}
  access_key: literal-${NOT_SUBSTITUTED}
  secret_key: ${BACKEND_SECRET}
allow_insecure_ssec: ${INSECURE}
kms:
  default_key: ${DEFAULT_KEY}
  keys:
  - name: ${FIRST_KEY}
  - name: second-key
  cache:
    expiry:
      any: ${EXPIRY_ANY}
      unused: 30s
      offline: ${EXPIRY_OFFLINE}
  keystore:
    aws:
      secretsmanager:
        endpoint: ${AWS_ENDPOINT}
        region: ${AWS_REGION}
        kmskey: ${AWS_KMS_KEY}
        credentials:
          accesskey: ${AWS_ACCESS_KEY_ID}
          secretkey: ${AWS_SECRET_ACCESS_KEY}
          token: ${AWS_SESSION_TOKEN}
`)
	env := map[string]string{
		"ROOT_USER":             exampleRootUser,
		"ROOT_PASSWORD":         secretRootPassword,
		"BACKEND_URL":           exampleBackendURL,
		"BACKEND_SECRET":        secretBackendKey,
		"INSECURE":              "true",
		"DEFAULT_KEY":           "sse-s3-key",
		"FIRST_KEY":             "first-key",
		"EXPIRY_ANY":            "1h",
		"EXPIRY_OFFLINE":        "15m",
		"AWS_ENDPOINT":          "http://127.0.0.1:5000",
		"AWS_REGION":            "eu-central-1",
		"AWS_KMS_KEY":           "alias/s3seal",
		"AWS_ACCESS_KEY_ID":     "AKIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": secretAWSSecretKey,
		"AWS_SESSION_TOKEN":     secretAWSToken,
		"NOT_SUBSTITUTED":       "must-not-appear",
	}
	cfg, err := loadConfig(path, getenvOf(env))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	sm := cfg.KMS.Keystore.AWS.SecretsManager
	checks := []struct {
		what      string
		got, want any
	}{
		{"root.user", cfg.Root.User, exampleRootUser},
		{"root.password (quoted reference)", cfg.Root.Password, secretRootPassword},
		{"backend.url", cfg.Backend.URL, exampleBackendURL},
		{"backend.access_key (a reference inside a value stays literal)", cfg.Backend.AccessKey, "literal-${NOT_SUBSTITUTED}"},
		{"backend.secret_key", cfg.Backend.SecretKey, secretBackendKey},
		{"allow_insecure_ssec (a bool from a variable)", cfg.AllowInsecureSSEC, true},
		{"kms.default_key", cfg.KMS.DefaultKey, "sse-s3-key"},
		{"kms.keys", len(cfg.KMS.Keys), 2},
		{"kms.cache.expiry.any (a duration from a variable)", cfg.KMS.Cache.Expiry.Any, time.Hour},
		{"kms.cache.expiry.unused", cfg.KMS.Cache.Expiry.Unused, 30 * time.Second},
		{"kms.cache.expiry.offline", cfg.KMS.Cache.Expiry.Offline, 15 * time.Minute},
		{"secretsmanager.endpoint", sm.Endpoint, "http://127.0.0.1:5000"},
		{"secretsmanager.region", sm.Region, "eu-central-1"},
		{"secretsmanager.kmskey", sm.KMSKey, "alias/s3seal"},
		{"secretsmanager.credentials.accesskey", sm.Credentials.AccessKey, "AKIAEXAMPLE"},
		{"secretsmanager.credentials.secretkey", sm.Credentials.SecretKey, secretAWSSecretKey},
		{"secretsmanager.credentials.token", sm.Credentials.SessionToken, secretAWSToken},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if len(cfg.KMS.Keys) == 2 {
		if got := []string{cfg.KMS.Keys[0].Name, cfg.KMS.Keys[1].Name}; !slices.Equal(got, []string{"first-key", "second-key"}) {
			t.Errorf("kms.keys names = %v, want [first-key second-key]", got)
		}
	}
}

func TestConfigFileUnsetVariableNamesTheVariableAndLine(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{
			name: "root password",
			text: "version: v1\nroot:\n  user: admin\n  password: ${S3SEAL_TEST_UNSET_PASSWORD}\n",
			want: "line 4: environment variable S3SEAL_TEST_UNSET_PASSWORD is not set",
		},
		{
			name: "aws secret key deep in the key store",
			text: `version: v1
kms:
  keystore:
    aws:
      secretsmanager:
        region: us-east-1
        credentials:
          accesskey: AKIAEXAMPLE
          secretkey: ${AWS_SECRET_ACCESS_KEY}
`,
			want: "line 9: environment variable AWS_SECRET_ACCESS_KEY is not set",
		},
		{
			name: "kes api key",
			text: "kms:\n  keystore:\n    kes:\n      endpoint: [" + exampleKESEndpoint + "]\n      apikey: ${KES_API_KEY}\n",
			want: "line 5: environment variable KES_API_KEY is not set",
		},
		{
			name: "set but empty counts as unset",
			text: "backend:\n  secret_key: ${EMPTY_VAR}\n",
			want: "line 2: environment variable EMPTY_VAR is not set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			env := with(validEnv(), "EMPTY_VAR", "")
			code, stdout, stderr := runCLI(env, "server", "--config", path)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			if !strings.Contains(stderr, path) {
				t.Errorf("stderr = %q, want it to name the file %s", stderr, path)
			}
			assertNoSecrets(t, stdout, stderr)
		})
	}
}

func TestConfigFileUnknownFieldNamesTheFieldAndLine(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"top level", "version: v1\nadress: 127.0.0.1:9000\n", "line 2: unknown field adress"},
		{"backend", "backend:\n  url: " + exampleBackendURL + "\n  secret: " + secretBackendKey + "\n", "line 3: unknown field backend.secret"},
		{"kms.keys element", "kms:\n  keys:\n  - name: a\n  - nmae: b\n", "line 4: unknown field kms.keys[].nmae"},
		{"cache expiry", "kms:\n  cache:\n    expiry:\n      idle: 1m\n", "line 4: unknown field kms.cache.expiry.idle"},
		{
			"aws credentials",
			"kms:\n  keystore:\n    aws:\n      secretsmanager:\n        region: us-east-1\n        credentials:\n          accesskey: AKIAEXAMPLE\n          secret_key: " + secretAWSSecretKey + "\n",
			"line 8: unknown field kms.keystore.aws.secretsmanager.credentials.secret_key",
		},
		{
			"kes tls",
			"kms:\n  keystore:\n    kes:\n      endpoint: [" + exampleKESEndpoint + "]\n      apikey: " + secretKESAPIKey + "\n      tls:\n        ca_file: /etc/ca.pem\n",
			"line 7: unknown field kms.keystore.kes.tls.ca_file",
		},
		{"unsupported key store", "kms:\n  keystore:\n    vault:\n      endpoint: https://vault:8200\n", "line 3: unknown field kms.keystore.vault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			code, stdout, stderr := runCLI(validEnv(), "server", "--config", path)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			assertNoSecrets(t, stdout, stderr)
		})
	}
}

func TestConfigFileUnsupportedVersionIsAnError(t *testing.T) {
	path := writeConfig(t, "version: v2\n")
	_, err := loadConfig(path, getenvOf(validEnv()))
	if err == nil || !strings.Contains(err.Error(), `version "v2" is not supported`) {
		t.Errorf("loadConfig of version v2: error %v, want one saying v2 is not supported", err)
	}
}

const (
	awsKeystoreYAML = `
    aws:
      secretsmanager:
        endpoint: http://127.0.0.1:5000
        region: us-east-1
        credentials:
          accesskey: AKIAEXAMPLE
          secretkey: ` + secretAWSSecretKey + "\n"
	kesKeystoreYAML = `
    kes:
      endpoint: [` + exampleKESEndpoint + `]
      apikey: ` + secretKESAPIKey + "\n"
	fsKeystoreYAML = `
    fs:
      path: /var/lib/s3seal/kms-from-file
`
)

func TestExactlyOneKeyStore(t *testing.T) {
	const want = "kms.keystore: configure exactly one key store"
	tests := []struct {
		name     string
		keystore string // YAML under kms.keystore
		kmsDir   bool   // also set S3SEAL_KMS_DIR
	}{
		{"fs and aws in the file", fsKeystoreYAML + awsKeystoreYAML, false},
		{"aws and kes in the file", awsKeystoreYAML + kesKeystoreYAML, false},
		{"fs and kes in the file", fsKeystoreYAML + kesKeystoreYAML, false},
		{"fs and kmip in the file", fsKeystoreYAML + "\n    kmip:\n      endpoint: 127.0.0.1:5696\n      tls:\n        client:\n          key: /k\n          cert: /c\n", false},
		{"S3SEAL_KMS_DIR and an aws key store", awsKeystoreYAML, true},
		{"S3SEAL_KMS_DIR and a kes key store", kesKeystoreYAML, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "kms:\n  keystore:"+tt.keystore)
			env := validEnv()
			if !tt.kmsDir {
				env = without(env, "S3SEAL_KMS_DIR")
			}
			code, stdout, stderr := runCLI(env, "server", "--config", path)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, want)
			}
			assertNoSecrets(t, stdout, stderr)
		})
	}
}

func TestAWSKeystoreValidation(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string // under kms.keystore.aws
		wantErr string // "" = valid
	}{
		{
			name: "static credentials and a KMS key",
			yaml: "      secretsmanager:\n        endpoint: http://127.0.0.1:5000\n        region: us-east-1\n        kmskey: 1234abcd-12ab-34cd-56ef-1234567890ab\n        credentials:\n          accesskey: AKIAEXAMPLE\n          secretkey: " + secretAWSSecretKey + "\n          token: " + secretAWSToken + "\n",
		},
		{
			name: "no credentials: the SDK's default chain",
			yaml: "      secretsmanager:\n        region: eu-west-1\n",
		},
		{
			name:    "no secretsmanager section",
			yaml:    "      {}\n",
			wantErr: "kms.keystore.aws: secretsmanager is required",
		},
		{
			name:    "no region",
			yaml:    "      secretsmanager:\n        endpoint: http://127.0.0.1:5000\n",
			wantErr: "kms.keystore.aws.secretsmanager.region is required",
		},
		{
			name:    "access key without secret key",
			yaml:    "      secretsmanager:\n        region: us-east-1\n        credentials:\n          accesskey: AKIAEXAMPLE\n",
			wantErr: "kms.keystore.aws.secretsmanager.credentials: accesskey and secretkey must be set together",
		},
		{
			name:    "secret key without access key",
			yaml:    "      secretsmanager:\n        region: us-east-1\n        credentials:\n          secretkey: " + secretAWSSecretKey + "\n",
			wantErr: "kms.keystore.aws.secretsmanager.credentials: accesskey and secretkey must be set together",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "kms:\n  keystore:\n    aws:\n"+tt.yaml)
			cfg, err := loadConfig(path, getenvOf(without(validEnv(), "S3SEAL_KMS_DIR")))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("loadConfig: %v, want no error", err)
				}
				if cfg.KMS.Keystore.AWS == nil || cfg.KMS.Keystore.AWS.SecretsManager == nil {
					t.Fatalf("kms.keystore.aws.secretsmanager = nil, want the parsed section")
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("loadConfig error = %v, want %q", err, tt.wantErr)
			}
			if err != nil {
				assertNoSecrets(t, err.Error())
			}
		})
	}
}

func TestKMIPKeystoreValidation(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string // under kms.keystore.kmip
		wantErr string // "" = valid
	}{
		{
			name: "endpoint, client certificate and CA",
			yaml: "      endpoint: kmip.example.com:5696\n      tls:\n        client:\n          key: /etc/s3seal/kmip.key\n          cert: /etc/s3seal/kmip.crt\n        ca: /etc/s3seal/kmip-ca.crt\n",
		},
		{
			name:    "no endpoint",
			yaml:    "      tls:\n        client:\n          key: /k\n          cert: /c\n",
			wantErr: "kms.keystore.kmip.endpoint is required",
		},
		{
			name:    "no client certificate",
			yaml:    "      endpoint: kmip.example.com:5696\n      tls:\n        ca: /etc/s3seal/kmip-ca.crt\n",
			wantErr: "kms.keystore.kmip.tls.client: cert and key are required (KMIP uses mutual TLS)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "kms:\n  keystore:\n    kmip:\n"+tt.yaml)
			cfg, err := loadConfig(path, getenvOf(without(validEnv(), "S3SEAL_KMS_DIR")))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("loadConfig: %v, want no error", err)
				}
				k := cfg.KMS.Keystore.KMIP
				if k == nil || k.Endpoint != "kmip.example.com:5696" || k.TLS.Client.Key != "/etc/s3seal/kmip.key" ||
					k.TLS.Client.Cert != "/etc/s3seal/kmip.crt" || k.TLS.CA != "/etc/s3seal/kmip-ca.crt" {
					t.Fatalf("kms.keystore.kmip = %+v, want the parsed section", k)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("loadConfig error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestKESKeystoreValidation(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string // under kms.keystore.kes
		wantErr string // "" = valid
	}{
		{
			name: "api key and CA",
			yaml: "      endpoint: [" + exampleKESEndpoint + ", https://127.0.0.2:7373]\n      apikey: " + secretKESAPIKey + "\n      tls:\n        ca: /etc/kes/ca.pem\n",
		},
		{
			name: "client certificate",
			yaml: "      endpoint: [" + exampleKESEndpoint + "]\n      tls:\n        cert: /etc/kes/client.crt\n        key: /etc/kes/client.key\n",
		},
		{
			name:    "no endpoint",
			yaml:    "      apikey: " + secretKESAPIKey + "\n",
			wantErr: "kms.keystore.kes.endpoint is required",
		},
		{
			name:    "empty endpoint list",
			yaml:    "      endpoint: []\n      apikey: " + secretKESAPIKey + "\n",
			wantErr: "kms.keystore.kes.endpoint is required",
		},
		{
			name:    "no credentials",
			yaml:    "      endpoint: [" + exampleKESEndpoint + "]\n",
			wantErr: "kms.keystore.kes: apikey or tls.cert and tls.key are required",
		},
		{
			name:    "certificate without key",
			yaml:    "      endpoint: [" + exampleKESEndpoint + "]\n      tls:\n        cert: /etc/kes/client.crt\n",
			wantErr: "kms.keystore.kes: apikey or tls.cert and tls.key are required",
		},
		{
			name:    "api key and certificate",
			yaml:    "      endpoint: [" + exampleKESEndpoint + "]\n      apikey: " + secretKESAPIKey + "\n      tls:\n        cert: /etc/kes/client.crt\n        key: /etc/kes/client.key\n",
			wantErr: "kms.keystore.kes: set apikey or tls.cert/tls.key, not both",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "kms:\n  keystore:\n    kes:\n"+tt.yaml)
			cfg, err := loadConfig(path, getenvOf(without(validEnv(), "S3SEAL_KMS_DIR")))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("loadConfig: %v, want no error", err)
				}
				if cfg.KMS.Keystore.KES == nil || len(cfg.KMS.Keystore.KES.Endpoint) == 0 {
					t.Fatalf("kms.keystore.kes = %+v, want the parsed section", cfg.KMS.Keystore.KES)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("loadConfig error = %v, want %q", err, tt.wantErr)
			}
			if err != nil {
				assertNoSecrets(t, err.Error())
			}
		})
	}
}

func TestKESKeystoreEndpointsAreParsedInOrder(t *testing.T) {
	path := writeConfig(t, "kms:\n  keystore:\n    kes:\n      endpoint:\n      - https://kes-1:7373\n      - https://kes-2:7373\n      apikey: ${KES_API_KEY}\n      tls:\n        ca: /etc/kes/ca.pem\n")
	cfg, err := loadConfig(path, getenvOf(with(without(validEnv(), "S3SEAL_KMS_DIR"), "KES_API_KEY", secretKESAPIKey)))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	kes := cfg.KMS.Keystore.KES
	if got, want := kes.Endpoint, []string{"https://kes-1:7373", "https://kes-2:7373"}; !slices.Equal(got, want) {
		t.Errorf("endpoint = %v, want %v", got, want)
	}
	if kes.APIKey != secretKESAPIKey {
		t.Errorf("apikey = %q, want the value of KES_API_KEY", kes.APIKey)
	}
	if got, want := kes.TLS.CA, "/etc/kes/ca.pem"; got != want {
		t.Errorf("tls.ca = %q, want %q", got, want)
	}
}

// TestErrorsNeverEchoSecrets feeds configurations full of secrets that fail
// in different places and checks that nothing s3seal prints contains one.
func TestErrorsNeverEchoSecrets(t *testing.T) {
	secretsInFile := `version: v1
root:
  user: ` + exampleRootUser + `
  password: ` + secretRootPassword + `
backend:
  url: %s
  access_key: ` + exampleBackendAK + `
  secret_key: ` + secretBackendKey + `
metrics:
  token: ` + secretMetricsToken + `
kms:
  keystore:%s
`
	tests := []struct {
		name string
		text string
		env  map[string]string
	}{
		{"invalid backend URL", fmt.Sprintf(secretsInFile, "ftp://backend", awsKeystoreYAML), nil},
		{"two key stores", fmt.Sprintf(secretsInFile, exampleBackendURL, awsKeystoreYAML+kesKeystoreYAML), nil},
		{"aws credentials half set", fmt.Sprintf(secretsInFile, exampleBackendURL, "\n    aws:\n      secretsmanager:\n        region: us-east-1\n        credentials:\n          secretkey: "+secretAWSSecretKey+"\n"), nil},
		{"kes api key and certificate", fmt.Sprintf(secretsInFile, exampleBackendURL, "\n    kes:\n      endpoint: ["+exampleKESEndpoint+"]\n      apikey: "+secretKESAPIKey+"\n      tls:\n        cert: c.pem\n        key: k.pem\n"), nil},
		{"bad log level", fmt.Sprintf(secretsInFile, exampleBackendURL, kesKeystoreYAML) + "log:\n  level: loud\n", nil},
		{"secrets from the environment, then an unset variable", `root:
  user: admin
  password: ${ROOT_PASSWORD}
backend:
  url: ` + exampleBackendURL + `
  access_key: ak
  secret_key: ${BACKEND_SECRET}
kms:
  keystore:
    kes:
      endpoint: [` + exampleKESEndpoint + `]
      apikey: ${KES_API_KEY}
      tls:
        ca: ${KES_CA}
`, map[string]string{"ROOT_PASSWORD": secretRootPassword, "BACKEND_SECRET": secretBackendKey, "KES_API_KEY": secretKESAPIKey}},
		{"malformed YAML after the secrets", fmt.Sprintf(secretsInFile, exampleBackendURL, kesKeystoreYAML) + "address: [unclosed\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			code, stdout, stderr := runCLI(env, "server", "--config", path)
			if code != 2 {
				t.Errorf("exit code = %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.TrimSpace(stderr) == "" {
				t.Errorf("stderr is empty, want an error message")
			}
			assertNoSecrets(t, stdout, stderr)
		})
	}

	t.Run("secrets set by environment, other setting missing", func(t *testing.T) {
		env := with(without(validEnv(), "S3SEAL_BACKEND_URL"), "S3SEAL_METRICS_TOKEN", secretMetricsToken)
		code, stdout, stderr := runCLI(env, "server")
		if code != 2 {
			t.Errorf("exit code = %d, want 2", code)
		}
		assertNoSecrets(t, stdout, stderr)
	})
}

func TestEnvironmentOverridesTheConfigFile(t *testing.T) {
	path := writeConfig(t, `version: v1
address: 127.0.0.1:9100
region: eu-west-1
root:
  user: file-user
  password: file-password
backend:
  url: http://file-backend:9000
  access_key: file-access
  secret_key: file-secret
  region: eu-west-1
plaintext_buckets: [from-file]
legacy_plaintext_read_buckets: [old-file]
md5_etags: true
log:
  level: debug
kms:
  default_key: file-default-key
  keystore:
    fs:
      path: /from/file
`)
	env := map[string]string{
		"S3SEAL_ADDRESS":                       "127.0.0.1:9200",
		"S3SEAL_ROOT_USER":                     exampleRootUser,
		"S3SEAL_ROOT_PASSWORD":                 secretRootPassword,
		"S3SEAL_BACKEND_URL":                   exampleBackendURL,
		"S3SEAL_BACKEND_SECRET_KEY":            secretBackendKey,
		"S3SEAL_PLAINTEXT_BUCKETS":             "public, logs",
		"S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS": "migrating,archive ",
		"S3SEAL_KMS_DEFAULT_KEY":               "env-default-key",
		"S3SEAL_LOG_LEVEL":                     "warn",
		"S3SEAL_MD5_ETAGS":                     "off",
	}
	cfg, err := loadConfig(path, getenvOf(env))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"address (env)", cfg.Address, "127.0.0.1:9200"},
		{"region (file, no env)", cfg.Region, "eu-west-1"},
		{"root.user (env)", cfg.Root.User, exampleRootUser},
		{"root.password (env)", cfg.Root.Password, secretRootPassword},
		{"backend.url (env)", cfg.Backend.URL, exampleBackendURL},
		{"backend.access_key (file, no env)", cfg.Backend.AccessKey, "file-access"},
		{"backend.secret_key (env)", cfg.Backend.SecretKey, secretBackendKey},
		{"backend.region (file, no env)", cfg.Backend.Region, "eu-west-1"},
		{"plaintext_buckets (env)", strings.Join(cfg.PlaintextBuckets, ","), "public,logs"},
		{"legacy_plaintext_read_buckets (env)", strings.Join(cfg.LegacyPlaintextReadBuckets, ","), "migrating,archive"},
		{"kms.default_key (env)", cfg.KMS.DefaultKey, "env-default-key"},
		{"log.level (env)", cfg.Log.Level, "warn"},
		{"kms.keystore.fs.path (file, no env)", cfg.KMS.Keystore.FS.Path, "/from/file"},
		{"md5_etags (env over file)", cfg.MD5ETags != nil && !*cfg.MD5ETags, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestDefaultsApplyWhenUnset(t *testing.T) {
	cfg, err := loadConfig("", getenvOf(validEnv()))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	checks := []struct {
		what, got, want string
	}{
		{"address", cfg.Address, "127.0.0.1:9010"},
		{"region (any, as MinIO without one)", cfg.Region, ""},
		{"backend.region", cfg.Backend.Region, "us-east-1"},
		{"kms.default_key", cfg.KMS.DefaultKey, "s3seal-default-key"},
		{"kms.keystore.fs.path", cfg.KMS.Keystore.FS.Path, exampleKMSDirectory},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg, err := loadConfig("", getenvOf(validEnv()))
		if err != nil {
			t.Fatal(err)
		}
		want := timeoutsConfig{ReadHeader: 30 * time.Second, Idle: 2 * time.Minute, BodyReadIdle: time.Minute, WriteIdle: 2 * time.Minute}
		if cfg.Timeouts != want {
			t.Errorf("timeouts = %+v, want %+v", cfg.Timeouts, want)
		}
	})
	t.Run("file, overridden by the environment", func(t *testing.T) {
		path := writeConfig(t, "timeouts:\n  read_header: 10s\n  idle: 5m\n  body_read_idle: 90s\n  write_idle: 3m\n")
		cfg, err := loadConfig(path, getenvOf(with(validEnv(), "S3SEAL_WRITE_IDLE_TIMEOUT", "45s")))
		if err != nil {
			t.Fatal(err)
		}
		want := timeoutsConfig{ReadHeader: 10 * time.Second, Idle: 5 * time.Minute, BodyReadIdle: 90 * time.Second, WriteIdle: 45 * time.Second}
		if cfg.Timeouts != want {
			t.Errorf("timeouts = %+v, want %+v", cfg.Timeouts, want)
		}
	})
	for _, tc := range []struct{ name, value, want string }{
		{"S3SEAL_BODY_READ_IDLE_TIMEOUT", "soon", "is not a duration"},
		{"S3SEAL_READ_HEADER_TIMEOUT", "10ms", "must be at least 1s"},
		{"S3SEAL_IDLE_TIMEOUT", "-1m", "must be at least 1s"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := loadConfig("", getenvOf(with(validEnv(), tc.name, tc.value)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("got %v, want an error naming %s: %s", err, tc.name, tc.want)
			}
		})
	}
}

func TestConsoleSettings(t *testing.T) {
	t.Run("file, overridden by the environment", func(t *testing.T) {
		key := strings.Repeat("ab", 32)
		path := writeConfig(t, "console:\n  address: 127.0.0.1:9011\n  session_key: "+key+"\n  session_ttl: 30m\n")
		cfg, err := loadConfig(path, getenvOf(with(validEnv(), "S3SEAL_CONSOLE_ADDRESS", "127.0.0.1:9999")))
		if err != nil {
			t.Fatal(err)
		}
		want := consoleConfig{Address: "127.0.0.1:9999", SessionKey: key, SessionTTL: 30 * time.Minute}
		if cfg.Console != want {
			t.Errorf("console = %+v, want %+v", cfg.Console, want)
		}
	})
	for _, tc := range []struct{ name, value, want string }{
		{"S3SEAL_CONSOLE_SESSION_KEY", "not-hex-and-secret", "must be 64 hex digits"},
		{"S3SEAL_CONSOLE_SESSION_KEY", strings.Repeat("ab", 16), "must be 64 hex digits"},
		{"S3SEAL_CONSOLE_SESSION_TTL", "10s", "must be at least 1m"},
		{"S3SEAL_CONSOLE_SESSION_TTL", "a while", "is not a duration"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := loadConfig("", getenvOf(with(validEnv(), tc.name, tc.value)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("got %v, want an error naming %s: %s", err, tc.name, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), tc.value) && tc.name == "S3SEAL_CONSOLE_SESSION_KEY" {
				t.Errorf("the error echoes the session key: %v", err)
			}
		})
	}
}
