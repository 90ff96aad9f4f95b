package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The deployment artefacts rely on the s3seal binary's contract: the
// Dockerfile stamps main.version and probes with `s3seal healthcheck`, and
// the example configs must load with the real config loader. These tests
// build cmd/s3seal the way the Dockerfile does and check that contract.

const stampedVersion = "0.0.0-deploytest"

var (
	binDirOnce sync.Once
	binDir     string
	binDirErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// dockerfileLDFlags returns the -ldflags value of the Dockerfile's go build,
// with ${VERSION} replaced by version.
func dockerfileLDFlags(t *testing.T, version string) string {
	t.Helper()
	m := regexp.MustCompile(`-ldflags "([^"]+)"`).FindStringSubmatch(string(readRepoFile(t, dockerfile)))
	if m == nil {
		t.Fatalf("%s: no -ldflags \"...\" in the go build", dockerfile)
	}
	return strings.ReplaceAll(m[1], "${VERSION}", version)
}

// gatewayBinary builds cmd/s3seal once, with the Dockerfile's flags: static
// (CGO_ENABLED=0), -trimpath, and its -ldflags stamping stampedVersion.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	// Resolved outside Do: a t.Fatal inside it would leave the Once done
	// with no binary and no error.
	ldflags, root := dockerfileLDFlags(t, stampedVersion), repoRoot(t)
	binDirOnce.Do(func() {
		binDir, binDirErr = os.MkdirTemp("", "s3seal-deploy-test-")
		if binDirErr != nil {
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			binDirErr = err
			return
		}
		out := filepath.Join(binDir, "s3seal")
		cmd := exec.Command(goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "./cmd/s3seal")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
		if msg, err := cmd.CombinedOutput(); err != nil {
			binDirErr = fmt.Errorf("go build ./cmd/s3seal: %w\n%s", err, msg)
		}
	})
	if binDirErr != nil {
		t.Fatalf("build s3seal: %v", binDirErr)
	}
	return filepath.Join(binDir, "s3seal")
}

// runGateway runs the binary with exactly env (nothing inherited) and
// returns its exit code and combined output.
func runGateway(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), gatewayBinary(t), args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	default:
		t.Fatalf("run s3seal %v: %v", args, err)
		return -1, ""
	}
}

func TestImageBuildStampsTheVersion(t *testing.T) {
	code, out := runGateway(t, nil, "--version")
	if code != 0 || !strings.Contains(out, stampedVersion) {
		t.Errorf("s3seal --version = %d %q, want exit 0 and %q: the Dockerfile's -X main.version must name the binary's version variable", code, out, stampedVersion)
	}
}

func TestHealthcheckSubcommandProbesLiveness(t *testing.T) {
	serve := func(status int) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/minio/health/live" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	t.Run("exits 0 when liveness answers 200", func(t *testing.T) {
		srv := serve(http.StatusOK)
		if code, out := runGateway(t, nil, "healthcheck", "--url", srv.URL+"/minio/health/live"); code != 0 {
			t.Errorf("healthcheck = %d (%s), want 0", code, out)
		}
	})
	t.Run("exits non-zero otherwise", func(t *testing.T) {
		srv := serve(http.StatusServiceUnavailable)
		if code, _ := runGateway(t, nil, "healthcheck", "--url", srv.URL+"/minio/health/live"); code == 0 {
			t.Error("healthcheck = 0 for a 503, want non-zero")
		}
	})
	t.Run("without --url it probes S3SEAL_ADDRESS as the image sets it", func(t *testing.T) {
		// The image's HEALTHCHECK passes no URL and sets S3SEAL_ADDRESS to
		// 0.0.0.0:9010; the probe must reach the local listener.
		srv := serve(http.StatusOK)
		_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if code, out := runGateway(t, []string{"S3SEAL_ADDRESS=0.0.0.0:" + port}, "healthcheck"); code != 0 {
			t.Errorf("healthcheck with S3SEAL_ADDRESS=0.0.0.0:%s = %d (%s), want 0", port, code, out)
		}
	})
}

// TestConfigsLoadWithTheRealLoader runs `s3seal server --config FILE` with no
// S3SEAL_* environment: the loader must accept the file (its errors name the
// file) and stop at the missing backend settings instead, exiting 2 before
// anything listens.
func TestConfigsLoadWithTheRealLoader(t *testing.T) {
	placeholders := []string{"AWS_ACCESS_KEY_ID=placeholder", "AWS_SECRET_ACCESS_KEY=placeholder", "KES_API_KEY=kes:v1:placeholder"}
	files := map[string]string{}
	for _, f := range []string{"deploy/config/s3seal-fs.yaml", "deploy/config/s3seal-aws.yaml", "deploy/config/s3seal-kes.yaml", "deploy/config/s3seal-kmip.yaml"} {
		files[f] = filepath.Join(repoRoot(t), filepath.FromSlash(f))
	}
	set := loadManifests(t)
	cm := set.configMap("s3seal-config")
	if cm == nil {
		t.Fatal("no ConfigMap s3seal-config")
	}
	cmFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cmFile, []byte(cm.Data["config.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	files["ConfigMap s3seal-config config.yaml"] = cmFile

	for name, path := range files {
		t.Run(name, func(t *testing.T) {
			env := placeholders
			if strings.HasPrefix(name, "ConfigMap") {
				env = nil // the Deployment provides no variables for it
			}
			code, out := runGateway(t, env, "server", "--config", path)
			if code != 2 || strings.Contains(out, path) {
				t.Errorf("s3seal server --config %s = exit %d:\n%s\nwant exit 2 for the missing backend settings, not an error about the file", name, code, out)
			}
		})
	}

	t.Run("a misspelt field is reported against the file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte("version: v1\nkms:\n  keystore:\n    fs:\n      pth: /keys\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out := runGateway(t, nil, "server", "--config", bad)
		if code == 0 || !strings.Contains(out, bad) {
			t.Errorf("s3seal server --config bad.yaml = exit %d:\n%s\nwant a failure naming the file", code, out)
		}
	})
}
