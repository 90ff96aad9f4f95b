package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/s3seal/s3seal/gateway/sigv4"
)

// fileConfig is the versioned YAML configuration file. Its kms section
// speaks KES's configuration vocabulary. Environment variables (envVars)
// override it.
type fileConfig struct {
	Version string     `yaml:"version"`
	Address string     `yaml:"address"`
	Domain  string     `yaml:"domain"`
	Region  string     `yaml:"region"`
	Root    rootConfig `yaml:"root"`
	// Users are static users besides root; Policies are custom policies
	// (JSON documents) by name, for users to name beside MinIO's canned
	// ones.
	Users            []userConfig      `yaml:"users"`
	Policies         map[string]string `yaml:"policies"`
	Backend          backendConfig     `yaml:"backend"`
	PlaintextBuckets []string          `yaml:"plaintext_buckets"`
	// LegacyPlaintextReadBuckets serve objects without s3seal metadata as
	// stored (a migration); writes are still encrypted.
	LegacyPlaintextReadBuckets []string       `yaml:"legacy_plaintext_read_buckets"`
	SystemBucket               string         `yaml:"system_bucket"`
	TLS                        tlsConfig      `yaml:"tls"`
	KMS                        kmsConfig      `yaml:"kms"`
	Log                        logConfig      `yaml:"log"`
	Audit                      auditConfig    `yaml:"audit"`
	Metrics                    metricsConfig  `yaml:"metrics"`
	Timeouts                   timeoutsConfig `yaml:"timeouts"`
	Console                    consoleConfig  `yaml:"console"`
	// AllowInsecureSSEC accepts SSE-C keys over plain http. Development only.
	AllowInsecureSSEC bool `yaml:"allow_insecure_ssec"`
	// MD5ETags shows the MD5 of the plaintext as the ETag of single-part
	// SSE-S3 objects, as AWS does. nil: on.
	MD5ETags *bool `yaml:"md5_etags"`
}

// timeoutsConfig bounds how long a client connection may make no progress.
// Zero values take the defaults loadConfig sets.
type timeoutsConfig struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration `yaml:"read_header"`
	// Idle bounds how long a keep-alive connection waits for its next
	// request.
	Idle time.Duration `yaml:"idle"`
	// BodyReadIdle fails an upload (400 RequestTimeout) that sends no byte
	// for this long.
	BodyReadIdle time.Duration `yaml:"body_read_idle"`
	// WriteIdle ends a response the client stopped reading for this long.
	WriteIdle time.Duration `yaml:"write_idle"`
}

// Timeout defaults. The idle ones bound silence, not duration: slow
// multi-GiB transfers that keep moving are never cut off.
const (
	defaultReadHeaderTimeout   = 30 * time.Second
	defaultIdleTimeout         = 2 * time.Minute
	defaultBodyReadIdleTimeout = time.Minute
	defaultWriteIdleTimeout    = 2 * time.Minute
)

// consoleConfig is the operators' web console (package console).
type consoleConfig struct {
	// Address is the console's own listener; empty: no console. It
	// serves https when tls is configured.
	Address string `yaml:"address"`
	// SessionKey (64 hex digits) seals session cookies; replicas behind
	// one load balancer share it. Empty: a random key per process.
	SessionKey string `yaml:"session_key"`
	// SessionTTL is how long a login lasts. Zero: 1h.
	SessionTTL time.Duration `yaml:"session_ttl"`
}

type rootConfig struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

type backendConfig struct {
	URL string `yaml:"url"`
	// AccessKey and SecretKey (and SessionToken for temporary ones) sign
	// backend requests; both empty: AWS's default credential chain.
	AccessKey    string `yaml:"access_key"`
	SecretKey    string `yaml:"secret_key"`
	SessionToken string `yaml:"session_token"`
	Region       string `yaml:"region"`
	CAFile       string `yaml:"ca_file"`
}

type tlsConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	CA   string `yaml:"ca"`
}

type logConfig struct {
	Level string `yaml:"level"`
}

type auditConfig struct {
	// Path is a file to append JSON lines to, or "stdout"; empty: off.
	Path string `yaml:"path"`
}

type metricsConfig struct {
	// Token, if set, must be presented as "Authorization: Bearer TOKEN".
	Token string `yaml:"token"`
}

// kmsConfig is KES's server configuration, as far as it applies.
type kmsConfig struct {
	// DefaultKey is s3seal's own: the key for SSE-S3 and auto-encryption.
	DefaultKey string `yaml:"default_key"`
	// Address, when set, serves the KES API (s3seal as a KES server).
	Address  string               `yaml:"address"`
	Admin    kesAdminConfig       `yaml:"admin"`
	Root     string               `yaml:"root"` // older KES spelling of admin.identity
	TLS      tlsConfig            `yaml:"tls"`
	Policy   map[string]kesPolicy `yaml:"policy"`
	Keys     []kesKey             `yaml:"keys"`
	Cache    kesCache             `yaml:"cache"`
	Keystore keystoreConfig       `yaml:"keystore"`
}

type kesAdminConfig struct {
	Identity string `yaml:"identity"`
}

type kesPolicy struct {
	Allow      []string `yaml:"allow"`
	Deny       []string `yaml:"deny"`
	Identities []string `yaml:"identities"`
}

type kesKey struct {
	Name string `yaml:"name"`
}

type kesCache struct {
	Expiry struct {
		Any     time.Duration `yaml:"any"`
		Unused  time.Duration `yaml:"unused"`
		Offline time.Duration `yaml:"offline"`
	} `yaml:"expiry"`
}

// keystoreConfig is kms.keystore: exactly one of its sections is set.
// Each section opens the KMS it configures (keystore.go).
type keystoreConfig struct {
	FS   *fsKeystoreConfig   `yaml:"fs"`
	AWS  *awsKeystoreConfig  `yaml:"aws"`
	KES  *kesKeystoreConfig  `yaml:"kes"`
	KMIP *kmipKeystoreConfig `yaml:"kmip"`
}

type fsKeystoreConfig struct {
	Path string `yaml:"path"`
}

type awsKeystoreConfig struct {
	SecretsManager *awsSecretsManagerConfig `yaml:"secretsmanager"`
}

type awsSecretsManagerConfig struct {
	Endpoint    string `yaml:"endpoint"`
	Region      string `yaml:"region"`
	KMSKey      string `yaml:"kmskey"`
	Credentials struct {
		AccessKey    string `yaml:"accesskey"`
		SecretKey    string `yaml:"secretkey"`
		SessionToken string `yaml:"token"`
	} `yaml:"credentials"`
}

// kmipKeystoreConfig is kms.keystore.kmip, in KES's shape: a KMIP server
// reached over mutual TLS.
type kmipKeystoreConfig struct {
	Endpoint string `yaml:"endpoint"`
	TLS      struct {
		Client struct {
			Key  string `yaml:"key"`
			Cert string `yaml:"cert"`
		} `yaml:"client"`
		CA string `yaml:"ca"`
	} `yaml:"tls"`
}

type kesKeystoreConfig struct {
	Endpoint []string  `yaml:"endpoint"`
	APIKey   string    `yaml:"apikey"`
	TLS      tlsConfig `yaml:"tls"`
}

var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// loadConfigFile reads path: ${VAR} values (a whole value only) are taken
// from the environment; an unset variable, an unknown field or a bad value
// is an error naming the line.
func loadConfigFile(path string, getenv func(string) string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg := &fileConfig{}
	if len(root.Content) == 0 {
		return cfg, nil
	}
	if err := substituteEnv(&root, getenv); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := checkKnownFields(root.Content[0], reflect.TypeOf(cfg).Elem(), ""); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := root.Content[0].Decode(cfg); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.Version != "" && cfg.Version != "v1" {
		return nil, fmt.Errorf("config %s: version %q is not supported (want v1)", path, cfg.Version)
	}
	return cfg, nil
}

func substituteEnv(n *yaml.Node, getenv func(string) string) error {
	if n.Kind == yaml.ScalarNode {
		if m := envRef.FindStringSubmatch(n.Value); m != nil {
			v := getenv(m[1])
			if v == "" {
				return fmt.Errorf("line %d: environment variable %s is not set", n.Line, m[1])
			}
			n.Value = v
			n.Tag = "" // let the target type decide
			n.Style = 0
		}
		return nil
	}
	for _, c := range n.Content {
		if err := substituteEnv(c, getenv); err != nil {
			return err
		}
	}
	return nil
}

// checkKnownFields reports mapping keys that name no field of t.
func checkKnownFields(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				return fmt.Errorf("line %d: unknown field %s", k.Line, strings.TrimPrefix(path+"."+k.Value, "."))
			}
			if err := checkKnownFields(v, f.Type, path+"."+k.Value); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			if err := checkKnownFields(c, t.Elem(), path+"[]"); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKnownFields(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// envVars are the environment variables and the settings they override.
// This table is the one place they are documented (README repeats it).
var envVars = []struct {
	name string
	set  func(c *fileConfig, v string) error
}{
	{"S3SEAL_ADDRESS", func(c *fileConfig, v string) error { c.Address = v; return nil }},
	{"S3SEAL_DOMAIN", func(c *fileConfig, v string) error { c.Domain = v; return nil }},
	{"S3SEAL_REGION", func(c *fileConfig, v string) error { c.Region = v; return nil }},
	{"S3SEAL_ROOT_USER", func(c *fileConfig, v string) error { c.Root.User = v; return nil }},
	{"S3SEAL_ROOT_PASSWORD", func(c *fileConfig, v string) error { c.Root.Password = v; return nil }},
	{"S3SEAL_BACKEND_URL", func(c *fileConfig, v string) error { c.Backend.URL = v; return nil }},
	{"S3SEAL_BACKEND_ACCESS_KEY", func(c *fileConfig, v string) error { c.Backend.AccessKey = v; return nil }},
	{"S3SEAL_BACKEND_SECRET_KEY", func(c *fileConfig, v string) error { c.Backend.SecretKey = v; return nil }},
	{"S3SEAL_BACKEND_SESSION_TOKEN", func(c *fileConfig, v string) error { c.Backend.SessionToken = v; return nil }},
	{"S3SEAL_BACKEND_REGION", func(c *fileConfig, v string) error { c.Backend.Region = v; return nil }},
	{"S3SEAL_BACKEND_CA", func(c *fileConfig, v string) error { c.Backend.CAFile = v; return nil }},
	{"S3SEAL_PLAINTEXT_BUCKETS", func(c *fileConfig, v string) error { c.PlaintextBuckets = splitList(v); return nil }},
	{"S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS", func(c *fileConfig, v string) error { c.LegacyPlaintextReadBuckets = splitList(v); return nil }},
	{"S3SEAL_SYSTEM_BUCKET", func(c *fileConfig, v string) error { c.SystemBucket = v; return nil }},
	{"S3SEAL_TLS_CERT", func(c *fileConfig, v string) error { c.TLS.Cert = v; return nil }},
	{"S3SEAL_TLS_KEY", func(c *fileConfig, v string) error { c.TLS.Key = v; return nil }},
	{"S3SEAL_KMS_DIR", func(c *fileConfig, v string) error {
		c.KMS.Keystore.FS = &fsKeystoreConfig{Path: v}
		return nil
	}},
	{"S3SEAL_KMS_DEFAULT_KEY", func(c *fileConfig, v string) error { c.KMS.DefaultKey = v; return nil }},
	{"S3SEAL_LOG_LEVEL", func(c *fileConfig, v string) error { c.Log.Level = v; return nil }},
	{"S3SEAL_AUDIT_LOG", func(c *fileConfig, v string) error { c.Audit.Path = v; return nil }},
	{"S3SEAL_METRICS_TOKEN", func(c *fileConfig, v string) error { c.Metrics.Token = v; return nil }},
	{"S3SEAL_CONSOLE_ADDRESS", func(c *fileConfig, v string) error { c.Console.Address = v; return nil }},
	{"S3SEAL_CONSOLE_SESSION_KEY", func(c *fileConfig, v string) error { c.Console.SessionKey = v; return nil }},
	{"S3SEAL_CONSOLE_SESSION_TTL", durationVar("S3SEAL_CONSOLE_SESSION_TTL", func(c *fileConfig) *time.Duration { return &c.Console.SessionTTL })},
	{"S3SEAL_READ_HEADER_TIMEOUT", durationVar("S3SEAL_READ_HEADER_TIMEOUT", func(c *fileConfig) *time.Duration { return &c.Timeouts.ReadHeader })},
	{"S3SEAL_IDLE_TIMEOUT", durationVar("S3SEAL_IDLE_TIMEOUT", func(c *fileConfig) *time.Duration { return &c.Timeouts.Idle })},
	{"S3SEAL_BODY_READ_IDLE_TIMEOUT", durationVar("S3SEAL_BODY_READ_IDLE_TIMEOUT", func(c *fileConfig) *time.Duration { return &c.Timeouts.BodyReadIdle })},
	{"S3SEAL_WRITE_IDLE_TIMEOUT", durationVar("S3SEAL_WRITE_IDLE_TIMEOUT", func(c *fileConfig) *time.Duration { return &c.Timeouts.WriteIdle })},
	{"S3SEAL_ALLOW_INSECURE_SSEC", func(c *fileConfig, v string) error {
		b, err := parseSwitch("S3SEAL_ALLOW_INSECURE_SSEC", v)
		c.AllowInsecureSSEC = b
		return err
	}},
	{"S3SEAL_MD5_ETAGS", func(c *fileConfig, v string) error {
		b, err := parseSwitch("S3SEAL_MD5_ETAGS", v)
		c.MD5ETags = &b
		return err
	}},
}

// parseSwitch reads an on/off environment variable.
func parseSwitch(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "on", "yes":
		return true, nil
	case "0", "false", "off", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is not a boolean", name, v)
}

// durationVar returns a setter of the field that field selects, from a Go
// duration such as "90s".
func durationVar(name string, field func(*fileConfig) *time.Duration) func(*fileConfig, string) error {
	return func(c *fileConfig, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a duration such as 30s or 2m", name, v)
		}
		*field(c) = d
		return nil
	}
}

func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// loadConfig combines the optional config file with the environment and
// validates the result. Errors name the setting, never its value.
func loadConfig(path string, getenv func(string) string) (*fileConfig, error) {
	cfg := &fileConfig{}
	if path != "" {
		var err error
		if cfg, err = loadConfigFile(path, getenv); err != nil {
			return nil, err
		}
	}
	for _, e := range envVars {
		if v := getenv(e.name); v != "" {
			if err := e.set(cfg, v); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:9010"
	}
	if cfg.Backend.Region == "" {
		cfg.Backend.Region = sigv4.DefaultRegion
	}
	if cfg.KMS.DefaultKey == "" {
		cfg.KMS.DefaultKey = "s3seal-default-key"
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.Timeouts.ReadHeader, defaultReadHeaderTimeout},
		{&cfg.Timeouts.Idle, defaultIdleTimeout},
		{&cfg.Timeouts.BodyReadIdle, defaultBodyReadIdleTimeout},
		{&cfg.Timeouts.WriteIdle, defaultWriteIdleTimeout},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return cfg, validate(cfg)
}

func validate(c *fileConfig) error {
	required := []struct{ name, value string }{
		{"S3SEAL_BACKEND_URL (backend.url)", c.Backend.URL},
		{"S3SEAL_ROOT_USER (root.user)", c.Root.User},
		{"S3SEAL_ROOT_PASSWORD (root.password)", c.Root.Password},
	}
	for _, r := range required {
		if r.value == "" {
			return fmt.Errorf("%s is required", r.name)
		}
	}
	if (c.Backend.AccessKey == "") != (c.Backend.SecretKey == "") {
		return errors.New("S3SEAL_BACKEND_ACCESS_KEY and S3SEAL_BACKEND_SECRET_KEY (backend.access_key, backend.secret_key) go together; " +
			"leave both unset for AWS's default credential chain")
	}
	if c.Backend.SessionToken != "" && c.Backend.AccessKey == "" {
		return errors.New("S3SEAL_BACKEND_SESSION_TOKEN (backend.session_token) needs S3SEAL_BACKEND_ACCESS_KEY and S3SEAL_BACKEND_SECRET_KEY")
	}
	if _, err := staticCredentials(c); err != nil {
		return err
	}
	u, err := url.Parse(c.Backend.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("S3SEAL_BACKEND_URL (backend.url) must be an http:// or https:// URL")
	}
	if len(c.Root.Password) < 8 {
		return errors.New("S3SEAL_ROOT_PASSWORD (root.password) must be at least 8 characters")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"S3SEAL_READ_HEADER_TIMEOUT (timeouts.read_header)", c.Timeouts.ReadHeader},
		{"S3SEAL_IDLE_TIMEOUT (timeouts.idle)", c.Timeouts.Idle},
		{"S3SEAL_BODY_READ_IDLE_TIMEOUT (timeouts.body_read_idle)", c.Timeouts.BodyReadIdle},
		{"S3SEAL_WRITE_IDLE_TIMEOUT (timeouts.write_idle)", c.Timeouts.WriteIdle},
	} {
		if d.v < time.Second {
			return fmt.Errorf("%s must be at least 1s", d.name)
		}
	}
	if k := c.Console.SessionKey; k != "" {
		if b, err := hex.DecodeString(k); err != nil || len(b) != 32 {
			return errors.New("S3SEAL_CONSOLE_SESSION_KEY (console.session_key) must be 64 hex digits (32 bytes), e.g. from openssl rand -hex 32")
		}
	}
	if c.Console.SessionTTL < 0 || (c.Console.SessionTTL > 0 && c.Console.SessionTTL < time.Minute) {
		return errors.New("S3SEAL_CONSOLE_SESSION_TTL (console.session_ttl) must be at least 1m")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("S3SEAL_TLS_CERT and S3SEAL_TLS_KEY (tls.cert, tls.key) must be set together")
	}
	ks := c.KMS.Keystore
	switch n := len(ks.sections()); {
	case n == 0:
		return errors.New("a key store is required: S3SEAL_KMS_DIR or kms.keystore in the config file")
	case n > 1:
		return errors.New("kms.keystore: configure exactly one key store")
	}
	if ks.FS != nil && ks.FS.Path == "" {
		return errors.New("S3SEAL_KMS_DIR (kms.keystore.fs.path) must not be empty")
	}
	if ks.AWS != nil {
		sm := ks.AWS.SecretsManager
		switch {
		case sm == nil:
			return errors.New("kms.keystore.aws: secretsmanager is required")
		case sm.Region == "":
			return errors.New("kms.keystore.aws.secretsmanager.region is required")
		case (sm.Credentials.AccessKey == "") != (sm.Credentials.SecretKey == ""):
			return errors.New("kms.keystore.aws.secretsmanager.credentials: accesskey and secretkey must be set together")
		}
	}
	if ks.KMIP != nil {
		switch {
		case ks.KMIP.Endpoint == "":
			return errors.New("kms.keystore.kmip.endpoint is required")
		case ks.KMIP.TLS.Client.Cert == "" || ks.KMIP.TLS.Client.Key == "":
			return errors.New("kms.keystore.kmip.tls.client: cert and key are required (KMIP uses mutual TLS)")
		}
	}
	if ks.KES != nil {
		switch {
		case len(ks.KES.Endpoint) == 0:
			return errors.New("kms.keystore.kes.endpoint is required")
		case ks.KES.APIKey == "" && (ks.KES.TLS.Cert == "" || ks.KES.TLS.Key == ""):
			return errors.New("kms.keystore.kes: apikey or tls.cert and tls.key are required")
		case ks.KES.APIKey != "" && ks.KES.TLS.Cert != "":
			return errors.New("kms.keystore.kes: set apikey or tls.cert/tls.key, not both")
		}
	}
	return nil
}
