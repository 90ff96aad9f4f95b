//go:build bench

package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/s3seal/s3seal/test/harness"
)

// forwarderTLS are the files an https forwarder serves with and checks its
// backend against; all empty over http.
type forwarderTLS struct{ cert, key, ca string }

var buildForwarder = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "s3seal-bench-forwarder-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "forwarder")
	gotool, err := exec.LookPath("go")
	if err != nil {
		gotool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gotool, "build", "-o", out, "./forwarder")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err, string(msg)}
	}
	return out, nil
})

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build ./forwarder: " + e.err.Error() + "\n" + e.out }

var listeningOn = regexp.MustCompile(`listening on (\S+)`)

// startForwarder starts the bare forwarder (test/bench/forwarder) in front
// of the MinIO at backend, serving https when files name a certificate,
// and returns it with its endpoint.
func startForwarder(t *testing.T, backend string, files forwarderTLS) (*harness.Process, string) {
	t.Helper()
	bin, err := buildForwarder()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-listen", "127.0.0.1:0", "-backend", backend}
	scheme := "http"
	if files.cert != "" {
		args = append(args, "-cert", files.cert, "-key", files.key, "-ca", files.ca)
		scheme = "https"
	}
	p := harness.RunProcess(t, "forwarder", bin, args, os.Environ())
	addr := p.WaitOutput(t, listeningOn)[1]
	return p, scheme + "://" + addr
}

// trashDirs are the trash folders of the suite's MinIOs. MinIO moves what
// an overwrite or a delete replaces into .minio.sys/tmp/.trash and empties
// it first 5 minutes after it starts (MINIO_API_DELETE_CLEANUP_INTERVAL
// takes effect only from the second time). The suite rewrites the same
// 64 MiB objects for minutes on drives in RAM (/dev/shm): by the scale
// section the trash of six MinIOs held most of the machine's memory, and
// the kernel's OOM killer ended the MinIO behind s3seal (dmesg: "Out of
// memory: Killed process … (minio)"), twice. emptyTrash removes it between
// timed runs, so the drives hold only live objects.
var (
	trashMu   sync.Mutex
	trashDirs []string
)

// watchTrash registers the trash folder of a MinIO whose drive is dataDir.
func watchTrash(t *testing.T, dataDir string) {
	dir := filepath.Join(dataDir, ".minio.sys", "tmp", ".trash")
	trashMu.Lock()
	trashDirs = append(trashDirs, dir)
	trashMu.Unlock()
	t.Cleanup(func() {
		trashMu.Lock()
		defer trashMu.Unlock()
		trashDirs = slices.DeleteFunc(trashDirs, func(d string) bool { return d == dir })
	})
}

// emptyTrash deletes what every registered MinIO has put in its trash:
// objects already deleted or overwritten, which no request can reach.
func emptyTrash(t testing.TB) {
	trashMu.Lock()
	defer trashMu.Unlock()
	for _, dir := range trashDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // not created yet, or the MinIO is gone
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				t.Logf("empty MinIO trash: %v", err)
			}
		}
	}
}
