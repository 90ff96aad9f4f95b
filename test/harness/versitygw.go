package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// VersityGW is a versitygw server (github.com/versity/versitygw) with its
// posix backend, started for one test: a non-MinIO S3 store that keeps
// every object as a plain file under DataDir, its metadata in extended
// attributes.
type VersityGW struct {
	S3Endpoint        // the root access and secret key
	DataDir    string // the posix backend's root: one directory per bucket

	versioning bool
	proc       *Process
}

// VersityGWOption configures StartVersityGW.
type VersityGWOption func(*versityConfig)

type versityConfig struct {
	noVersioning bool
}

// WithoutVersioning starts versitygw without a versioning directory, so it
// refuses bucket versioning as a store that lacks it does.
func WithoutVersioning() VersityGWOption {
	return func(c *versityConfig) { c.noVersioning = true }
}

// versityHealthPath is the path versitygw's --health serves.
const versityHealthPath = "/s3seal-test-health"

// StartVersityGW starts the pinned versitygw with the posix backend in a
// directory of the test (and a versioning directory beside it, unless
// WithoutVersioning) on a free 127.0.0.1 port, waits until its health path
// answers 200 and a signed ListBuckets succeeds, and stops it in
// t.Cleanup. On failure the test log shows the server's output.
func StartVersityGW(t testing.TB, opts ...VersityGWOption) *VersityGW {
	t.Helper()
	bin := Tools(t, "versitygw").VersityGW
	var cfg versityConfig
	for _, o := range opts {
		o(&cfg)
	}
	dir := t.TempDir()
	v := &VersityGW{
		S3Endpoint: S3Endpoint{AccessKey: "vgw-" + randomHex(t, 6), SecretKey: randomHex(t, 20)},
		DataDir:    filepath.Join(dir, "posix"),
		versioning: !cfg.noVersioning,
	}
	versionsDir := filepath.Join(dir, "versions")
	for _, sub := range []string{v.DataDir, versionsDir, filepath.Join(dir, "home")} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatalf("create %s: %v", sub, err)
		}
	}
	// BaseEnv: no AWS_* settings (AWS_CA_BUNDLE) and no VGW_* ones reach it.
	env := BaseEnv(filepath.Join(dir, "home"))

	const attempts = 3
	for attempt := 1; ; attempt++ {
		port := FreePort(t)
		v.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		args := []string{
			"--access", v.AccessKey, "--secret", v.SecretKey,
			"--port", "127.0.0.1:" + strconv.Itoa(port),
			"--region", "us-east-1",
			"--health", versityHealthPath,
			"--quiet",
			"posix",
		}
		if v.versioning {
			args = append(args, "--versioning-dir", versionsDir)
		}
		args = append(args, v.DataDir)
		logPath := filepath.Join(dir, fmt.Sprintf("versitygw-%d.log", attempt))
		p, err := StartProcess("versitygw", bin, args, env, dir, logPath)
		if err != nil {
			t.Fatal(err)
		}
		v.proc = p
		err = p.WaitHTTP(t.Context(), nil, v.Endpoint+versityHealthPath, http.StatusOK)
		if err == nil {
			break
		}
		exitedEarly := p.Exited()
		_ = p.Stop()
		if exitedEarly && attempt < attempts && strings.Contains(p.Output(), "address already in use") {
			t.Logf("versitygw attempt %d: %v; retrying on another port", attempt, err)
			continue
		}
		t.Fatalf("start versitygw: %v\n--- versitygw output ---\n%s", err, p.LogTail(100))
	}
	ctx, cancel := context.WithTimeout(t.Context(), startDeadline)
	defer cancel()
	for c := v.Client(t); ; {
		_, err := c.ListBuckets(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil || v.proc.Exited() {
			_ = v.proc.Stop()
			t.Fatalf("versitygw at %s does not serve signed requests: %v\n--- versitygw output ---\n%s", v.Endpoint, err, v.proc.LogTail(100))
		}
		select {
		case <-v.proc.Done():
		case <-time.After(pollInterval):
		}
	}
	t.Cleanup(func() {
		v.Stop(t)
		if t.Failed() {
			t.Logf("--- versitygw output (%s) ---\n%s", v.Endpoint, v.proc.LogTail(60))
		}
	})
	return v
}

// Name implements Backend.
func (v *VersityGW) Name() string { return string(KindVersityGW) }

// StorageDir implements Backend: DataDir, where each object is a file.
func (v *VersityGW) StorageDir() string { return v.DataDir }

// Version implements Backend: the pinned module version.
func (v *VersityGW) Version() string { return pinnedVersion("versitygw") }

// Features implements Backend.
func (v *VersityGW) Features() BackendFeatures {
	return BackendFeatures{Versioning: v.versioning, Storage: StorageObjectFiles, MetadataLimit: true}
}

// Stop implements Backend: SIGTERM, then SIGKILL after a grace period.
func (v *VersityGW) Stop(t testing.TB) {
	t.Helper()
	if err := v.proc.Stop(); err != nil {
		t.Errorf("stop versitygw: %v", err)
	}
}
