package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// RepoRoot returns the root of the s3seal repository: the nearest directory
// at or above the working directory (the test's package directory under
// go test) whose go.mod declares module github.com/s3seal/s3seal.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("find repository root: %v", err)
	}
	return root
}

var repoRootOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/s3seal/s3seal\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/s3seal/s3seal above the working directory")
		}
		dir = parent
	}
})

func repoRoot() (string, error) { return repoRootOnce() }

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process can take it before the caller binds it; starters that use
// it retry when their server fails to bind.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Toolset holds the paths of the pinned peer binaries in <repo>/.tools/bin.
type Toolset struct {
	Dir    string // <repo>/.tools/bin
	MinIO  string // minio server
	MC     string // mc client
	KES    string // kes server
	RClone string // rclone client (local and s3 backends)
	// VersityGW is the versitygw server, a second backend.
	VersityGW string
	// SeaweedFS is weed, SeaweedFS's all-in-one binary; not among the
	// default peers (make test-backends installs it).
	SeaweedFS string
}

// Tools locates the pinned peers that test/install-peers.sh installs. With
// no names it requires all of them (minio, mc, kes, rclone, versitygw); otherwise only the
// named ones, and the paths of the others are left empty. A peer that is
// missing or was installed at another version than the script pins fails
// the test with the command that installs it.
func Tools(t testing.TB, names ...string) Toolset {
	t.Helper()
	ts, err := locateTools(RepoRoot(t), names)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// locateTools is Tools for the repository at root.
func locateTools(root string, names []string) (Toolset, error) {
	ts := Toolset{Dir: filepath.Join(root, ".tools", "bin")}
	if len(names) == 0 {
		names = []string{"minio", "mc", "kes", "rclone", "versitygw"}
	}
	pins, err := pinnedVersions(root)
	if err != nil {
		return ts, fmt.Errorf("read pinned peer versions: %w", err)
	}
	for _, name := range names {
		want, ok := pins[name]
		if !ok {
			return ts, fmt.Errorf("peer %s has no pinned version in test/install-peers.sh", name)
		}
		path := filepath.Join(ts.Dir, name)
		hint := "install it with: " + filepath.Join(root, "test", "install-peers.sh") + " " + name
		if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return ts, fmt.Errorf("peer %s is not installed at %s; %s", name, path, hint)
		}
		stamp, err := os.ReadFile(filepath.Join(ts.Dir, "."+name+".version"))
		// A stamp is the pinned version, or the version and a build recipe
		// after a '+' (rclone's linked commands).
		if got := strings.TrimSpace(string(stamp)); err != nil || (got != want && !strings.HasPrefix(got, want+"+")) {
			return ts, fmt.Errorf("peer %s at %s is version %q, want pinned %q; %s", name, path, got, want, hint)
		}
		switch name {
		case "minio":
			ts.MinIO = path
		case "mc":
			ts.MC = path
		case "kes":
			ts.KES = path
		case "rclone":
			ts.RClone = path
		case "versitygw":
			ts.VersityGW = path
		case "seaweedfs":
			ts.SeaweedFS = path
		}
	}
	return ts, nil
}

var pinLine = regexp.MustCompile(`^([A-Z]+)_VERSION=(\S+)$`)

// pinnedVersions reads NAME_VERSION=... lines from test/install-peers.sh, so
// the script stays the one place where versions are pinned.
func pinnedVersions(root string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(root, "test", "install-peers.sh"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pins := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := pinLine.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			pins[strings.ToLower(m[1])] = m[2]
		}
	}
	return pins, sc.Err()
}

// PinnedVersion returns the version test/install-peers.sh pins for peer
// name (minio, mc, kes, rclone, versitygw).
func PinnedVersion(t testing.TB, name string) string {
	t.Helper()
	pins, err := pinnedVersions(RepoRoot(t))
	if err != nil {
		t.Fatalf("read pinned peer versions: %v", err)
	}
	v, ok := pins[name]
	if !ok {
		t.Fatalf("peer %s has no pinned version in test/install-peers.sh", name)
	}
	return v
}
