package kmip

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/s3seal/s3seal/internal/testcert"
	"github.com/s3seal/s3seal/internal/testproc"
)

// pykmip is a running pykmip-server and the files a client needs to talk
// to it.
type pykmip struct {
	endpoint string
	caFile   string
	certFile string // client certificate, CN "s3seal"
	keyFile  string
	cmd      *exec.Cmd
	exited   chan struct{}
	out      *testproc.Output
}

// pykmipServer is the one pykmip-server of this test binary, started by
// the first test that needs it and stopped by TestMain: starting one takes
// about a second, and tests empty it instead.
var pykmipServer struct {
	once sync.Once
	s    *pykmip
	err  error
}

// startPyKMIP returns the shared pykmip-server. It fails the test if
// pykmip-server (Debian's python3-pykmip) is not installed or does not
// start.
func startPyKMIP(t *testing.T) *pykmip {
	t.Helper()
	pykmipServer.once.Do(func() { pykmipServer.s, pykmipServer.err = launchPyKMIP(t) })
	if pykmipServer.err != nil {
		t.Fatal(pykmipServer.err)
	}
	return pykmipServer.s
}

func launchPyKMIP(t *testing.T) (*pykmip, error) {
	bin, err := exec.LookPath("pykmip-server")
	if err != nil {
		return nil, fmt.Errorf("pykmip-server is required for the KMIP key store tests (apt-get install python3-pykmip, or test/install-host-tools.sh): %w", err)
	}
	// Not t.TempDir: the server outlives the test that starts it.
	dir, err := os.MkdirTemp("", "s3seal-pykmip-")
	if err != nil {
		return nil, err
	}
	ca := testcert.NewCA(t, "s3seal test KMIP CA")
	server := ca.Issue(t, testcert.ServerTemplate("localhost"))
	client := ca.Issue(t, testcert.ClientTemplate("s3seal"))
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		return nil, err
	}
	serverCert, serverKey := server.Write(t, dir, "server")
	certFile, keyFile := client.Write(t, dir, "client")
	if err := os.Mkdir(filepath.Join(dir, "policies"), 0o700); err != nil {
		return nil, err
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "server.conf")
	err = os.WriteFile(conf, fmt.Appendf(nil, `[server]
hostname=127.0.0.1
port=%d
certificate_path=%s
key_path=%s
ca_path=%s
auth_suite=TLS1.2
policy_path=%s
enable_tls_client_auth=True
logging_level=INFO
database_path=%s
`, port, serverCert, serverKey, caFile, filepath.Join(dir, "policies"), filepath.Join(dir, "pykmip.db")), 0o600)
	if err != nil {
		return nil, err
	}

	s := &pykmip{
		endpoint: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		caFile:   caFile, certFile: certFile, keyFile: keyFile,
		exited: make(chan struct{}),
		out:    &testproc.Output{},
	}
	s.cmd = exec.Command(bin, "-f", conf, "-l", filepath.Join(dir, "server.log"))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pykmip-server: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()

	tlsCfg := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client.TLS()}, ServerName: "localhost"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", s.endpoint, tlsCfg)
		if err == nil {
			err = conn.Handshake()
			conn.Close()
			if err == nil {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return nil, fmt.Errorf("pykmip-server exited: %s\n%s", s.out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("pykmip-server not ready after 30s (last: %v): %s", err, s.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop kills the server's process group and waits for it.
func (s *pykmip) stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
}

// config returns a Config for the server with the client certificate.
func (s *pykmip) config() Config {
	return Config{Endpoint: s.endpoint, CertFile: s.certFile, KeyFile: s.keyFile, CAFile: s.caFile, Timeout: 5 * time.Second}
}
