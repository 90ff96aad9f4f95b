package deploy_test

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

const composeFile = "deploy/docker-compose.yml"

// composeProject is the part of the Compose file model the checks read.
type composeProject struct {
	Services map[string]composeService `json:"services"`
	Volumes  map[string]any            `json:"volumes"`
}

type composeService struct {
	Image       string            `json:"image"`
	Build       *composeBuild     `json:"build"`
	Environment map[string]string `json:"environment"`
	Volumes     []string          `json:"volumes"`
	Healthcheck *composeHealth    `json:"healthcheck"`
	DependsOn   json.RawMessage   `json:"depends_on"`
	Restart     string            `json:"restart"`
	ReadOnly    bool              `json:"read_only"`
	CapDrop     []string          `json:"cap_drop"`
	SecurityOpt []string          `json:"security_opt"`
	Entrypoint  []string          `json:"entrypoint"`
	Command     []string          `json:"command"`
	Tmpfs       []string          `json:"tmpfs"`
}

type composeBuild struct {
	Context    string            `json:"context"`
	Dockerfile string            `json:"dockerfile"`
	Args       map[string]string `json:"args"`
}

type composeHealth struct {
	Test    []string `json:"test"`
	Disable bool     `json:"disable"`
}

type composeDependency struct {
	Condition string `json:"condition"`
}

// composeDefault matches ${VAR:-default} and ${VAR-default}.
var composeDefault = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}`)

// interpolateDefaults replaces each ${VAR:-default} by its default, as
// Compose does when VAR is unset.
func interpolateDefaults(s string) string {
	return composeDefault.ReplaceAllString(s, "$1")
}

func loadCompose(t *testing.T) *composeProject {
	t.Helper()
	var p composeProject
	if err := yaml.Unmarshal(readRepoFile(t, composeFile), &p); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	if len(p.Services) == 0 {
		t.Fatalf("%s: no services", composeFile)
	}
	return &p
}

// loadComposeSpec loads, interpolates and validates a compose file the way
// docker compose does (compose-go is its loader), with exactly env as the
// environment and deploy/ as the project directory, and returns the
// resolved project. Nothing from the caller's environment takes part.
func loadComposeSpec(t *testing.T, name string, content []byte, env map[string]string) *types.Project {
	t.Helper()
	deployDir := filepath.Join(repoRoot(t), "deploy")
	details := types.ConfigDetails{
		WorkingDir:  deployDir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(deployDir, "docker-compose.yml"), Content: content}},
		Environment: types.Mapping(env),
	}
	p, err := loader.LoadWithContext(t.Context(), details, func(o *loader.Options) {
		o.SetProjectName("s3seal", true)
	})
	if err != nil {
		t.Fatalf("compose-go loads %s: %v", name, err)
	}
	return p
}

func TestComposeFileIsValidForDockerCompose(t *testing.T) {
	p := loadComposeSpec(t, composeFile, readRepoFile(t, composeFile), nil)
	for _, name := range []string{"minio", "s3seal", "s3seal-init"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("resolved project has no service %s", name)
		}
	}
}

func TestComposeServicesArePinnedHealthyAndOrdered(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"minio", "s3seal", "s3seal-init"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("no service %s", name)
		}
	}
	for name, svc := range p.Services {
		t.Run(name, func(t *testing.T) {
			checkImagePinned(t, "service "+name, interpolateDefaults(svc.Image))

			oneShot := svc.Restart == "no"
			if !oneShot {
				if svc.Healthcheck == nil || svc.Healthcheck.Disable || len(svc.Healthcheck.Test) < 2 || svc.Healthcheck.Test[0] != "CMD" {
					t.Errorf("long-running service has no exec-form healthcheck: %+v", svc.Healthcheck)
				}
			}

			if len(svc.DependsOn) == 0 {
				return
			}
			var deps map[string]composeDependency
			if err := json.Unmarshal(svc.DependsOn, &deps); err != nil {
				t.Fatalf("depends_on must use the long form with a condition: %v", err)
			}
			for dep, d := range deps {
				if d.Condition != "service_healthy" {
					t.Errorf("depends_on %s: condition %q, want service_healthy", dep, d.Condition)
				}
				if target, ok := p.Services[dep]; !ok || target.Healthcheck == nil {
					t.Errorf("depends_on %s: no such service with a healthcheck", dep)
				}
			}
		})
	}
}

func TestComposeGatewayServiceMatchesTheImage(t *testing.T) {
	p := loadCompose(t)
	svc, ok := p.Services["s3seal"]
	if !ok {
		t.Fatal("no service s3seal")
	}
	if svc.Build == nil {
		t.Fatal("s3seal has no build section")
	}
	ctx := filepath.Join(repoRoot(t), "deploy", filepath.FromSlash(svc.Build.Context))
	if _, err := os.Stat(filepath.Join(ctx, "go.mod")); err != nil {
		t.Errorf("build context %s is not the repository root: %v", svc.Build.Context, err)
	}
	if _, err := os.Stat(filepath.Join(ctx, filepath.FromSlash(svc.Build.Dockerfile))); err != nil {
		t.Errorf("build dockerfile %s: %v", svc.Build.Dockerfile, err)
	}
	if v := interpolateDefaults(svc.Build.Args["VERSION"]); v == "" || parseImageRef(interpolateDefaults(svc.Image)).Tag != v {
		t.Errorf("build arg VERSION %q differs from the image tag of %q", v, svc.Image)
	}
	_, port, err := net.SplitHostPort(svc.Environment["S3SEAL_ADDRESS"])
	if err != nil || port != "9010" {
		t.Fatalf("S3SEAL_ADDRESS = %q, want HOST:9010", svc.Environment["S3SEAL_ADDRESS"])
	}
	ready := "http://127.0.0.1:" + port + "/minio/health/ready"
	if want := []string{"CMD", "/s3seal", "healthcheck", "--url", ready}; !slices.Equal(svc.Healthcheck.Test, want) {
		t.Errorf("healthcheck = %v, want %v: the binary's own probe (the image has no shell) of readiness, so dependants start when requests can succeed", svc.Healthcheck.Test, want)
	}
	if !svc.ReadOnly || !slices.Contains(svc.CapDrop, "ALL") || !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") || !slices.Contains(svc.Tmpfs, "/tmp") {
		t.Error("s3seal must run read_only with a /tmp tmpfs, cap_drop ALL and no-new-privileges")
	}
	known := contractEnv(t)
	for k := range svc.Environment {
		if !slices.Contains(known, k) {
			t.Errorf("environment %s is not part of the s3seal contract (typo?)", k)
		}
	}

	t.Run("fs key store on a named volume", func(t *testing.T) {
		dir := svc.Environment["S3SEAL_KMS_DIR"]
		if dir == "" {
			t.Fatal("S3SEAL_KMS_DIR is not set")
		}
		found := false
		for _, v := range svc.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			dst, _, _ = strings.Cut(dst, ":")
			if dst == dir {
				found = true
				if _, ok := p.Volumes[src]; !ok {
					t.Errorf("key store volume %q is not a declared named volume", src)
				}
			}
		}
		if !found {
			t.Errorf("no volume mounted at S3SEAL_KMS_DIR %s", dir)
		}
	})

	t.Run("init creates a key and a bucket encrypted with it", func(t *testing.T) {
		init := p.Services["s3seal-init"]
		script := strings.Join(append(slices.Clone(init.Entrypoint), init.Command...), " ")
		for _, want := range []string{"mc alias set", "mc admin kms key create", "mc mb", "mc encrypt set sse-kms"} {
			if !strings.Contains(script, want) {
				t.Errorf("s3seal-init does not run %q", want)
			}
		}
		if key := svc.Environment["S3SEAL_KMS_DEFAULT_KEY"]; key == "" {
			t.Error("S3SEAL_KMS_DEFAULT_KEY is not set")
		}
	})
}

// variantMarker starts a block of commented lines that belong to a variant.
var variantMarker = regexp.MustCompile(`^\s*# --- (.+?) variant\b`)

// composeVariant returns the compose file with the commented lines of one
// variant switched on, as its comments tell a user to do: uncomment the
// comment lines that directly follow each "--- NAME variant" marker and
// delete S3SEAL_KMS_DIR.
func composeVariant(src, name string) (string, int) {
	commented := regexp.MustCompile(`^(\s*)# (.*)$`)
	var out []string
	active, uncommented := false, 0
	for line := range strings.SplitSeq(src, "\n") {
		if m := variantMarker.FindStringSubmatch(line); m != nil {
			active = m[1] == name
			out = append(out, line)
			continue
		}
		if m := commented.FindStringSubmatch(line); active && m != nil {
			out = append(out, m[1]+m[2])
			uncommented++
			continue
		}
		active = false
		if strings.HasPrefix(strings.TrimSpace(line), "S3SEAL_KMS_DIR:") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"), uncommented
}

func TestComposeVariantsAreValid(t *testing.T) {
	src := string(readRepoFile(t, composeFile))
	env := map[string]string{
		"KES_API_KEY": "kes:v1:placeholder", "S3SEAL_KES_IDENTITY": "placeholder",
		"AWS_ACCESS_KEY_ID": "placeholder", "AWS_SECRET_ACCESS_KEY": "placeholder",
	}
	tests := []struct {
		variant  string
		keystore func(*gatewayConfig) bool
		service  string // an extra service the variant adds, if any
	}{
		{"KES", func(c *gatewayConfig) bool { return c.KMS.KeyStore.KES != nil }, "kes"},
		{"AWS Secrets Manager", func(c *gatewayConfig) bool { return c.KMS.KeyStore.AWS != nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			text, n := composeVariant(src, tt.variant)
			if n == 0 {
				t.Fatalf("no commented lines follow a %q variant marker", tt.variant)
			}
			p := loadComposeSpec(t, tt.variant+" variant of "+composeFile, []byte(text), env)
			gw, ok := p.Services["s3seal"]
			if !ok {
				t.Fatalf("no service s3seal in the resolved variant:\n%s", text)
			}
			if _, ok := gw.Environment["S3SEAL_KMS_DIR"]; ok {
				t.Error("S3SEAL_KMS_DIR is still set and would override the config file")
			}
			var configPath string
			if v := gw.Environment["S3SEAL_CONFIG"]; v != nil {
				configPath = *v
			}
			if configPath == "" {
				t.Fatal("S3SEAL_CONFIG is not set")
			}
			var hostConfig string
			for _, v := range gw.Volumes {
				if v.Target == configPath {
					hostConfig = v.Source
				}
			}
			if hostConfig == "" {
				t.Fatalf("nothing is mounted at S3SEAL_CONFIG %s", configPath)
			}
			data, err := os.ReadFile(hostConfig)
			if err != nil {
				t.Fatalf("mounted config: %v", err)
			}
			if cfg := decodeGatewayConfig(t, hostConfig, data); !tt.keystore(cfg) {
				t.Errorf("%s mounts %s, which does not configure the %s key store", tt.variant, hostConfig, tt.variant)
			}
			if tt.service != "" {
				svc, ok := p.Services[tt.service]
				if !ok {
					t.Fatalf("variant adds no service %s", tt.service)
				}
				checkImagePinned(t, "service "+tt.service, svc.Image)
				configDir := filepath.Join(repoRoot(t), "deploy", "config")
				for _, v := range svc.Volumes {
					if strings.HasPrefix(v.Source, configDir) {
						if _, err := os.Stat(v.Source); err != nil {
							t.Errorf("service %s mounts %s: %v", tt.service, v.Source, err)
						}
					}
				}
				if gw.DependsOn[tt.service].Condition == "" {
					t.Errorf("s3seal does not depend on %s", tt.service)
				}
			}
		})
	}
}

func TestInterpolateDefaults(t *testing.T) {
	tests := map[string]string{
		"s3seal/s3seal:${S3SEAL_VERSION:-0.1.0}": "s3seal/s3seal:0.1.0",
		"${A-x}/${B:-y}":                         "x/y",
		"quay.io/minio/mc:RELEASE.2025":          "quay.io/minio/mc:RELEASE.2025",
		"${NO_DEFAULT}":                          "${NO_DEFAULT}",
	}
	for in, want := range tests {
		if got := interpolateDefaults(in); got != want {
			t.Errorf("interpolateDefaults(%q) = %q, want %q", in, got, want)
		}
	}
}
