package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SeaweedFS is a single-node SeaweedFS (github.com/seaweedfs/seaweedfs):
// `weed server` running a master, a volume server, a filer and the S3
// gateway in one process, started for one test. Object data lives in the
// volume files (NNN.dat) under DataDir, object metadata in the filer's
// leveldb store beside them.
type SeaweedFS struct {
	S3Endpoint        // the S3 gateway, the admin identity's keys
	DataDir    string // volumes, the filer store and the master's metadata

	proc *Process
}

// StartSeaweedFS starts the pinned weed (test/install-peers.sh seaweedfs)
// as `weed server -filer -s3` on free 127.0.0.1 ports (every HTTP and gRPC
// listener chosen, none left at its default) with its data in a directory
// of the test and one static S3 identity with every action, waits until a
// signed ListBuckets succeeds, and stops it in t.Cleanup. Telemetry is off.
func StartSeaweedFS(t testing.TB) *SeaweedFS {
	t.Helper()
	bin := Tools(t, "seaweedfs").SeaweedFS
	dir := t.TempDir()
	s := &SeaweedFS{
		S3Endpoint: S3Endpoint{AccessKey: "swfs-" + randomHex(t, 6), SecretKey: randomHex(t, 20)},
		DataDir:    filepath.Join(dir, "data"),
	}
	logDir := filepath.Join(dir, "logs")
	for _, sub := range []string{s.DataDir, logDir, filepath.Join(dir, "home")} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatalf("create %s: %v", sub, err)
		}
	}
	s3Config := filepath.Join(dir, "s3.json")
	writeSeaweedS3Config(t, s3Config, s.AccessKey, s.SecretKey)
	env := BaseEnv(filepath.Join(dir, "home"))

	const attempts = 3
	for attempt := 1; ; attempt++ {
		port := func() string { return strconv.Itoa(FreePort(t)) }
		s3Port := port()
		s.Endpoint = "http://127.0.0.1:" + s3Port
		args := []string{
			"-logdir=" + logDir,
			"server",
			"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
			"-dir=" + s.DataDir,
			"-master.port=" + port(), "-master.port.grpc=" + port(),
			"-master.telemetry=false",
			// Small volumes, as many as the disk holds: every bucket is a
			// collection with volumes of its own.
			"-master.volumeSizeLimitMB=64", "-volume.max=0",
			"-volume.port=" + port(), "-volume.port.grpc=" + port(),
			"-filer", "-filer.port=" + port(), "-filer.port.grpc=" + port(),
			"-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
			"-s3", "-s3.port=" + s3Port, "-s3.port.grpc=" + port(),
			"-s3.port.iceberg=0", "-s3.port.lance=0",
			"-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
			"-s3.config=" + s3Config,
		}
		logPath := filepath.Join(dir, fmt.Sprintf("weed-%d.log", attempt))
		p, err := StartProcess("weed", bin, args, env, dir, logPath)
		if err != nil {
			t.Fatal(err)
		}
		s.proc = p
		err = s.waitSignedListBuckets(t)
		if err == nil {
			break
		}
		exitedEarly := p.Exited()
		_ = p.Stop()
		if exitedEarly && attempt < attempts && strings.Contains(p.Output(), "address already in use") {
			t.Logf("weed attempt %d: %v; retrying on other ports", attempt, err)
			continue
		}
		t.Fatalf("start SeaweedFS: %v\n--- weed output ---\n%s", err, p.LogTail(100))
	}
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			t.Logf("--- weed output (%s) ---\n%s", s.Endpoint, s.proc.LogTail(60))
		}
	})
	return s
}

// waitSignedListBuckets polls until a signed ListBuckets succeeds: the S3
// gateway answers only once the master, a volume server and the filer are
// up and it has read its identities.
func (s *SeaweedFS) waitSignedListBuckets(t testing.TB) error {
	ctx, cancel := context.WithTimeout(t.Context(), startDeadline)
	defer cancel()
	c := s.Client(t)
	for {
		_, err := c.ListBuckets(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || s.proc.Exited() {
			return fmt.Errorf("SeaweedFS at %s does not serve signed requests: %w", s.Endpoint, err)
		}
		select {
		case <-s.proc.Done():
		case <-time.After(4 * pollInterval):
		}
	}
}

// writeSeaweedS3Config writes the S3 gateway's static identities: one
// admin with the given keys.
func writeSeaweedS3Config(t testing.TB, path, accessKey, secretKey string) {
	t.Helper()
	cfg := map[string]any{
		"identities": []any{map[string]any{
			"name":        "s3seal-test",
			"credentials": []any{map[string]string{"accessKey": accessKey, "secretKey": secretKey}},
			"actions":     []string{"Admin", "Read", "List", "Tagging", "Write"},
		}},
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Name implements Backend.
func (s *SeaweedFS) Name() string { return string(KindSeaweedFS) }

// StorageDir implements Backend: DataDir. Objects are needles inside
// volume files, not files of their own.
func (s *SeaweedFS) StorageDir() string { return s.DataDir }

// Version implements Backend: the pinned module version.
func (s *SeaweedFS) Version() string { return pinnedVersion("seaweedfs") }

// Features implements Backend.
func (s *SeaweedFS) Features() BackendFeatures {
	return BackendFeatures{Versioning: true, Storage: StorageVolumes}
}

// Stop implements Backend: SIGTERM, then SIGKILL after 5 s. weed server
// often takes longer than the harness's 15 s grace to stop its master,
// volume server, filer and S3 gateway; a store whose data the test throws
// away need not stop cleanly, so that is not an error.
func (s *SeaweedFS) Stop(t testing.TB) {
	t.Helper()
	if err := s.proc.Terminate(); err != nil {
		t.Logf("stop SeaweedFS: %v", err)
	}
	if !s.proc.WaitExit(5 * time.Second) {
		s.proc.Kill()
	}
}
