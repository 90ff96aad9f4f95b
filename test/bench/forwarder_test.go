//go:build bench

package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
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
