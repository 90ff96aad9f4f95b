package deploy_test

import (
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// gatewayConfig mirrors the part of s3seal's config file the examples use:
// the `kms:` section in KES vocabulary. Decoding strictly into it catches a
// misspelt or misplaced field in an example.
type gatewayConfig struct {
	Version string `json:"version"`
	KMS     struct {
		DefaultKey string      `json:"default_key"`
		Keys       []configKey `json:"keys"`
		KeyStore   struct {
			FS *struct {
				Path string `json:"path"`
			} `json:"fs"`
			AWS *struct {
				SecretsManager *struct {
					Endpoint    string `json:"endpoint"`
					Region      string `json:"region"`
					KMSKey      string `json:"kmskey"`
					Credentials struct {
						AccessKey string `json:"accesskey"`
						SecretKey string `json:"secretkey"`
						Token     string `json:"token"`
					} `json:"credentials"`
				} `json:"secretsmanager"`
			} `json:"aws"`
			KES *struct {
				Endpoint []string `json:"endpoint"`
				APIKey   string   `json:"apikey"`
				TLS      struct {
					CA string `json:"ca"`
				} `json:"tls"`
			} `json:"kes"`
			KMIP *struct {
				Endpoint string `json:"endpoint"`
				TLS      struct {
					Client struct {
						Key  string `json:"key"`
						Cert string `json:"cert"`
					} `json:"client"`
					CA string `json:"ca"`
				} `json:"tls"`
			} `json:"kmip"`
		} `json:"keystore"`
		Cache struct {
			Expiry struct {
				Any     string `json:"any"`
				Unused  string `json:"unused"`
				Offline string `json:"offline"`
			} `json:"expiry"`
		} `json:"cache"`
	} `json:"kms"`
}

type configKey struct {
	Name string `json:"name"`
}

var (
	// keyName is KES's rule for key names.
	keyName = regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)
	// envValue is the only substitution form: the whole value is ${VAR}.
	envValue = regexp.MustCompile(`^\$\{[A-Z_][A-Z0-9_]*\}$`)
)

func decodeGatewayConfig(t *testing.T, name string, data []byte) *gatewayConfig {
	t.Helper()
	var cfg gatewayConfig
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &cfg
}

// checkGatewayConfig checks what holds for every s3seal config: one key
// store, valid key names, parsable cache durations, whole-value ${VAR}s.
func checkGatewayConfig(t *testing.T, name string, cfg *gatewayConfig) {
	t.Helper()
	ks := cfg.KMS.KeyStore
	stores := 0
	for _, set := range []bool{ks.FS != nil, ks.AWS != nil, ks.KES != nil, ks.KMIP != nil} {
		if set {
			stores++
		}
	}
	if stores != 1 {
		t.Errorf("%s: %d key stores configured, want exactly 1", name, stores)
	}
	if cfg.Version != "v1" {
		t.Errorf("%s: version = %q, want v1", name, cfg.Version)
	}
	if cfg.KMS.DefaultKey == "" {
		t.Errorf("%s: kms.default_key is not set", name)
	}
	names := []string{cfg.KMS.DefaultKey}
	for _, k := range cfg.KMS.Keys {
		names = append(names, k.Name)
	}
	for _, n := range names {
		if !keyName.MatchString(n) {
			t.Errorf("%s: key name %q is not a valid KES key name", name, n)
		}
	}
	exp := cfg.KMS.Cache.Expiry
	for field, v := range map[string]string{"any": exp.Any, "unused": exp.Unused, "offline": exp.Offline} {
		if _, err := time.ParseDuration(v); err != nil {
			t.Errorf("%s: kms.cache.expiry.%s = %q: %v", name, field, v, err)
		}
	}
	var values []string
	if ks.AWS != nil && ks.AWS.SecretsManager != nil {
		c := ks.AWS.SecretsManager.Credentials
		values = append(values, c.AccessKey, c.SecretKey, c.Token)
	}
	if ks.KES != nil {
		values = append(values, ks.KES.APIKey)
	}
	for _, v := range values {
		if strings.Contains(v, "${") && !envValue.MatchString(v) {
			t.Errorf("%s: %q: ${VAR} is substituted only when it is the whole value", name, v)
		}
	}
}

func TestExampleConfigsConfigureTheKeyStoreTheyName(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, cfg *gatewayConfig)
	}{
		{"deploy/config/s3seal-fs.yaml", func(t *testing.T, cfg *gatewayConfig) {
			fs := cfg.KMS.KeyStore.FS
			if fs == nil || !strings.HasPrefix(fs.Path, "/") {
				t.Errorf("keystore.fs = %+v, want an absolute path", fs)
			}
		}},
		{"deploy/config/s3seal-aws.yaml", func(t *testing.T, cfg *gatewayConfig) {
			aws := cfg.KMS.KeyStore.AWS
			if aws == nil || aws.SecretsManager == nil {
				t.Fatal("no keystore.aws.secretsmanager")
			}
			sm := aws.SecretsManager
			if sm.Region == "" || !strings.Contains(sm.Endpoint, sm.Region) {
				t.Errorf("secretsmanager endpoint %q and region %q disagree", sm.Endpoint, sm.Region)
			}
			c := sm.Credentials
			if c.AccessKey != "${AWS_ACCESS_KEY_ID}" || c.SecretKey != "${AWS_SECRET_ACCESS_KEY}" {
				t.Errorf("credentials = %+v, want them from the environment, never literal", c)
			}
		}},
		{"deploy/config/s3seal-kes.yaml", func(t *testing.T, cfg *gatewayConfig) {
			kes := cfg.KMS.KeyStore.KES
			if kes == nil {
				t.Fatal("no keystore.kes")
			}
			if len(kes.Endpoint) == 0 {
				t.Error("keystore.kes.endpoint is empty")
			}
			for _, e := range kes.Endpoint {
				if !strings.HasPrefix(e, "https://") {
					t.Errorf("KES endpoint %q is not https", e)
				}
			}
			if kes.APIKey != "${KES_API_KEY}" {
				t.Errorf("apikey = %q, want it from the environment, never literal", kes.APIKey)
			}
		}},
		{"deploy/config/s3seal-kmip.yaml", func(t *testing.T, cfg *gatewayConfig) {
			k := cfg.KMS.KeyStore.KMIP
			if k == nil {
				t.Fatal("no keystore.kmip")
			}
			if _, port, err := net.SplitHostPort(k.Endpoint); err != nil || port == "" {
				t.Errorf("kmip endpoint %q is not host:port", k.Endpoint)
			}
			for field, path := range map[string]string{"tls.client.key": k.TLS.Client.Key, "tls.client.cert": k.TLS.Client.Cert, "tls.ca": k.TLS.CA} {
				if !strings.HasPrefix(path, "/") {
					t.Errorf("keystore.kmip.%s = %q, want an absolute path", field, path)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg := decodeGatewayConfig(t, tt.file, readRepoFile(t, tt.file))
			checkGatewayConfig(t, tt.file, cfg)
			tt.check(t, cfg)
		})
	}
}

func TestStrictConfigDecodingRejectsMisplacedFields(t *testing.T) {
	// keystore placed beside kms instead of inside it.
	const bad = "kms:\n  keys: [{name: k}]\nkeystore:\n  fs: {path: /keys}\n"
	var cfg gatewayConfig
	if err := yaml.UnmarshalStrict([]byte(bad), &cfg); err == nil {
		t.Fatal("UnmarshalStrict accepted a top-level keystore, want an error")
	}
}

// kesServerConfig is the part of a KES server config the example uses.
type kesServerConfig struct {
	Version string `json:"version"`
	Address string `json:"address"`
	Admin   struct {
		Identity string `json:"identity"`
	} `json:"admin"`
	TLS struct {
		Key  string `json:"key"`
		Cert string `json:"cert"`
	} `json:"tls"`
	Policy map[string]struct {
		Allow      []string `json:"allow"`
		Deny       []string `json:"deny"`
		Identities []string `json:"identities"`
	} `json:"policy"`
	KeyStore struct {
		FS *struct {
			Path string `json:"path"`
		} `json:"fs"`
	} `json:"keystore"`
}

func TestKESServerExampleGrantsWhatTheGatewayCalls(t *testing.T) {
	const file = "deploy/config/kes-server.yaml"
	var cfg kesServerConfig
	if err := yaml.UnmarshalStrict(readRepoFile(t, file), &cfg); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if cfg.Version != "v1" || cfg.TLS.Key == "" || cfg.TLS.Cert == "" || cfg.KeyStore.FS == nil {
		t.Errorf("%s: want version v1, a TLS key and certificate, and an fs key store", file)
	}
	p, ok := cfg.Policy["s3seal"]
	if !ok {
		t.Fatalf("%s: no policy s3seal", file)
	}
	for _, want := range []string{"/v1/key/create/*", "/v1/key/generate/*", "/v1/key/decrypt/*", "/v1/key/list/*", "/v1/status"} {
		if !strings.Contains(strings.Join(p.Allow, " "), want) {
			t.Errorf("%s: policy s3seal does not allow %s", file, want)
		}
	}
	if len(p.Identities) != 1 || !envValue.MatchString(p.Identities[0]) {
		t.Errorf("%s: policy identities = %v, want one ${VAR}", file, p.Identities)
	}
}
