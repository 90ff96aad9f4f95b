package harness

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Gateway is an s3seal gateway process started for one test.
type Gateway struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string // S3SEAL_ROOT_USER, the client credentials
	SecretKey string // S3SEAL_ROOT_PASSWORD
	KMSDir    string // S3SEAL_KMS_DIR
	Backend   Backend

	roots *x509.CertPool // trusted for https; nil for http

	env  []string
	proc *Process

	mu       sync.Mutex
	signaled bool // the test sent SIGTERM (Terminate or Stop)
	stopped  bool // Stop ran and reported
}

// DefaultKeyName is the S3SEAL_KMS_DEFAULT_KEY the harness configures.
const DefaultKeyName = "s3seal-test-key"

// GatewayOption configures StartGateway.
type GatewayOption func(*gatewayConfig)

type gatewayConfig struct {
	env       []string
	config    string         // the config file's text; empty: none
	tlsCert   string         // S3SEAL_TLS_CERT; empty: plain http
	tlsKey    string         // S3SEAL_TLS_KEY
	roots     *x509.CertPool // what the readiness probe trusts over https
	readyPath string         // polled until it answers 200
}

// WithGatewayEnv sets an environment variable of the gateway; it overrides
// the harness's own value of the same variable.
func WithGatewayEnv(key, value string) GatewayOption {
	return func(c *gatewayConfig) { c.env = append(c.env, key+"="+value) }
}

// WithGatewayConfig writes config to a file of the test and points
// S3SEAL_CONFIG at it. The harness's S3SEAL_KMS_DIR stays set unless
// WithGatewayEnv("S3SEAL_KMS_DIR", "") clears it, so a file that names its
// own key store should go with that.
func WithGatewayConfig(config string) GatewayOption {
	return func(c *gatewayConfig) { c.config = config }
}

// WithGatewayTLS makes the gateway serve https with the certificate in
// certFile and keyFile (S3SEAL_TLS_CERT, S3SEAL_TLS_KEY); roots is what
// the harness's readiness probe and Client trust.
func WithGatewayTLS(certFile, keyFile string, roots *x509.CertPool) GatewayOption {
	return func(c *gatewayConfig) { c.tlsCert, c.tlsKey, c.roots = certFile, keyFile, roots }
}

// WithGatewayReadyPath makes StartGateway wait until path answers 200
// instead of /minio/health/ready: /minio/health/live for a gateway that
// is expected never to become ready.
func WithGatewayReadyPath(path string) GatewayOption {
	return func(c *gatewayConfig) { c.readyPath = path }
}

// WithPlaintextBuckets sets S3SEAL_PLAINTEXT_BUCKETS: buckets the gateway
// stores without encryption.
func WithPlaintextBuckets(buckets ...string) GatewayOption {
	return WithGatewayEnv("S3SEAL_PLAINTEXT_BUCKETS", strings.Join(buckets, ","))
}

// StartGateway starts bin/s3seal in front of backend (MinIO, versitygw) with a fresh key store
// directory and generated root credentials, waits until
// /minio/health/ready answers 200, and in t.Cleanup stops it with SIGTERM
// and fails the test unless it exits 0 within the grace period.
//
// The binary is built once per test binary from ./cmd/s3seal, unless
// S3SEAL_BIN names one (absolute, or relative to the repository root).
func StartGateway(t testing.TB, backend Backend, opts ...GatewayOption) *Gateway {
	t.Helper()
	bin := GatewayBinary(t)
	cfg := gatewayConfig{readyPath: "/minio/health/ready"}
	for _, o := range opts {
		o(&cfg)
	}
	dir := t.TempDir()
	scheme, probe := "http", &http.Client{Timeout: 2 * time.Second}
	if cfg.tlsCert != "" {
		scheme = "https"
		probe.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cfg.roots, MinVersion: tls.VersionTLS12}}
		cfg.env = append([]string{"S3SEAL_TLS_CERT=" + cfg.tlsCert, "S3SEAL_TLS_KEY=" + cfg.tlsKey}, cfg.env...)
	}
	if cfg.config != "" {
		path := filepath.Join(dir, "s3seal.yaml")
		if err := os.WriteFile(path, []byte(cfg.config), 0o600); err != nil {
			t.Fatalf("write the gateway config: %v", err)
		}
		cfg.env = append([]string{"S3SEAL_CONFIG=" + path}, cfg.env...)
	}
	g := &Gateway{
		roots:     cfg.roots,
		AccessKey: "s3seal-" + randomHex(t, 6),
		SecretKey: randomHex(t, 20),
		KMSDir:    filepath.Join(dir, "kms"),
		Backend:   backend,
	}
	for _, sub := range []string{g.KMSDir, filepath.Join(dir, "home")} {
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatalf("create %s: %v", sub, err)
		}
	}

	accessKey, secretKey := backend.Keys()
	const attempts = 3
	for attempt := 1; ; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
		g.Endpoint = scheme + "://" + addr
		g.env = mergeEnv(BaseEnv(filepath.Join(dir, "home")), []string{
			"S3SEAL_ADDRESS=" + addr,
			"S3SEAL_BACKEND_URL=" + backend.URL(),
			"S3SEAL_BACKEND_ACCESS_KEY=" + accessKey,
			"S3SEAL_BACKEND_SECRET_KEY=" + secretKey,
			"S3SEAL_BACKEND_REGION=us-east-1",
			"S3SEAL_ROOT_USER=" + g.AccessKey,
			"S3SEAL_ROOT_PASSWORD=" + g.SecretKey,
			"S3SEAL_KMS_DIR=" + g.KMSDir,
			"S3SEAL_KMS_DEFAULT_KEY=" + DefaultKeyName,
		}, cfg.env)
		logPath := filepath.Join(dir, fmt.Sprintf("s3seal-%d.log", attempt))
		p, err := StartProcess("s3seal", bin, []string{"server"}, g.env, dir, logPath)
		if err != nil {
			t.Fatal(err)
		}
		g.proc = p
		err = p.WaitHTTP(t.Context(), probe, g.Endpoint+cfg.readyPath, http.StatusOK)
		if err == nil {
			break
		}
		exitedEarly := p.Exited()
		_ = p.Stop()
		if exitedEarly && attempt < attempts && strings.Contains(p.Output(), "address already in use") {
			t.Logf("s3seal attempt %d: %v; retrying on another port", attempt, err)
			continue
		}
		t.Fatalf("start s3seal: %v\n--- s3seal output ---\n%s", err, p.LogTail(100))
	}
	t.Cleanup(func() {
		g.Stop(t)
		if t.Failed() {
			t.Logf("--- s3seal output (%s) ---\n%s", g.Endpoint, g.proc.LogTail(60))
		}
	})
	return g
}

// Logs returns what the gateway has written to stderr so far: its JSON log
// lines.
//
// The gateway buffers its log lines for up to 100 ms (cmd/s3seal's
// logFlushInterval), so Logs first waits longer than that: a line the
// gateway wrote before the call is then in what it returns.
func (g *Gateway) Logs() string {
	time.Sleep(logSettle)
	return g.proc.Stderr()
}

// logSettle exceeds the gateway's log flush interval.
const logSettle = 300 * time.Millisecond

// Output returns everything the gateway has written so far, stdout and
// stderr interleaved.
// Like Logs, it first waits out the gateway's log buffering.
func (g *Gateway) Output() string {
	time.Sleep(logSettle)
	return g.proc.Output()
}

// LogTail returns the last n lines the gateway wrote, for failure messages.
func (g *Gateway) LogTail(n int) string { return g.proc.LogTail(n) }

// Addr returns the host:port the gateway listens on.
func (g *Gateway) Addr() string { return hostOf(g.Endpoint) }

// Env returns the environment the gateway was started with.
func (g *Gateway) Env() []string { return append([]string(nil), g.env...) }

// PID returns the gateway's process id.
func (g *Gateway) PID() int { return g.proc.PID() }

// Terminate sends SIGTERM and returns at once.
func (g *Gateway) Terminate(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	g.signaled = true
	g.mu.Unlock()
	if err := g.proc.Terminate(); err != nil {
		t.Fatal(err)
	}
}

// Exited reports whether the gateway process has exited.
func (g *Gateway) Exited() bool { return g.proc.Exited() }

// WaitExit waits up to timeout for the process to exit and returns its exit
// code (-1 when a signal ended it); ok is false when it is still running.
func (g *Gateway) WaitExit(timeout time.Duration) (code int, ok bool) {
	if !g.proc.WaitExit(timeout) {
		return 0, false
	}
	return g.proc.ExitCode(), true
}

// Stop sends SIGTERM and fails the test unless the gateway exits 0 within
// the grace period (it is killed otherwise). It also fails the test if the
// gateway had exited without being signalled. Calling it again does nothing.
func (g *Gateway) Stop(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return
	}
	g.stopped = true
	signaled := g.signaled
	g.signaled = true
	g.mu.Unlock()

	if g.proc.Exited() && !signaled {
		t.Errorf("s3seal exited on its own (exit code %d, %v) before the test stopped it", g.proc.ExitCode(), g.proc.Err())
		return
	}
	if err := g.proc.Stop(); err != nil {
		t.Errorf("stop s3seal: %v", err)
		return
	}
	if code := g.proc.ExitCode(); code != 0 {
		t.Errorf("s3seal exit code after SIGTERM = %d (%v), want 0", code, g.proc.Err())
	}
}

// Client returns a minio-go client for the gateway with the root
// credentials and no region, so it asks GET ?location first as mc does.
// Over https it trusts what WithGatewayTLS named. Every response is
// checked for leaks (invariant.go).
func (g *Gateway) Client(t testing.TB) *minio.Client {
	t.Helper()
	return MinioGoClientWithTransport(t, g.Endpoint, g.AccessKey, g.SecretKey, "", g.checkedTransport(t))
}

// CreateKMSKey creates a key in the gateway's KMS through its
// MinIO-compatible admin API (POST /minio/kms/v1/key/create), signed as
// mc admin signs: root credentials, empty region.
func (g *Gateway) CreateKMSKey(t testing.TB, name string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.Endpoint+"/minio/kms/v1/key/create?key-id="+url.QueryEscape(name), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") // SHA-256 of nothing
	req = signer.SignV4(*req, g.AccessKey, g.SecretKey, "", "")
	client := &http.Client{Transport: g.transport(), Timeout: 30 * time.Second}
	if client.Transport == nil {
		client.Transport = http.DefaultTransport
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("create KMS key %s: %v", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("create KMS key %s: status %s, want 200: %s", name, resp.Status, body)
	}
}

// SignedRequest returns a GET of url signed with the gateway's root
// credentials (SigV4, region us-east-1, UNSIGNED-PAYLOAD), for requests a
// test sends by hand: an SDK would retry or interpret the answer.
func (g *Gateway) SignedRequest(t testing.TB, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	return signer.SignV4(*req, g.AccessKey, g.SecretKey, "", "us-east-1")
}

// transport returns a new transport that trusts the gateway's roots, or
// nil (minio-go's default) for http.
func (g *Gateway) transport() http.RoundTripper {
	if g.roots == nil {
		return nil
	}
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.roots, MinVersion: tls.VersionTLS12}}
}

// S3 returns an aws-sdk-go-v2 S3 client for the gateway with the root
// credentials (see S3Client). Every response is checked for leaks
// (invariant.go) unless an optFn replaces the HTTP client.
func (g *Gateway) S3(t testing.TB, optFns ...func(*s3.Options)) *s3.Client {
	t.Helper()
	checked := func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: g.checkedTransport(t)} }
	return S3Client(g.Endpoint, g.AccessKey, g.SecretKey, append([]func(*s3.Options){checked}, optFns...)...)
}

// Version runs `s3seal --version` and returns its trimmed output.
func Version(t testing.TB) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), GatewayBinary(t), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("s3seal --version: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// GatewayBinary returns the path of the s3seal binary under test: S3SEAL_BIN
// as it is set now (a test may point it at a private copy for its own
// duration, see PrivateGatewayCopy), or one built on first use.
func GatewayBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("S3SEAL_BIN"); bin != "" {
		if !filepath.IsAbs(bin) {
			bin = filepath.Join(RepoRoot(t), bin)
		}
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("S3SEAL_BIN: %v", err)
		}
		return bin
	}
	path, err := buildGateway()
	if err != nil {
		t.Fatalf("s3seal binary: %v", err)
	}
	return path
}

var (
	buildDirMu sync.Mutex
	buildDir   string // temporary directory of the built binary; removed by Main
)

var buildGateway = sync.OnceValues(func() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "s3seal-e2e-bin-")
	if err != nil {
		return "", err
	}
	buildDirMu.Lock()
	buildDir = dir
	buildDirMu.Unlock()
	out := filepath.Join(dir, "s3seal")
	cmd := exec.Command(goTool(), "build", "-o", out, "./cmd/s3seal")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/s3seal: %w\n%s", err, msg)
	}
	return out, nil
})

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// Main runs the tests of a package that uses the harness and removes what
// the harness built for the whole test binary. Call it from TestMain:
//
//	func TestMain(m *testing.M) { harness.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	buildDirMu.Lock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	buildDirMu.Unlock()
	os.Exit(code)
}

// mergeEnv appends each overrides list to base, replacing earlier entries
// with the same name.
func mergeEnv(base []string, overrides ...[]string) []string {
	index := map[string]int{}
	var out []string
	add := func(kv string) {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := index[name]; ok {
			out[i] = kv
			return
		}
		index[name] = len(out)
		out = append(out, kv)
	}
	for _, kv := range base {
		add(kv)
	}
	for _, list := range overrides {
		for _, kv := range list {
			add(kv)
		}
	}
	return out
}

// LogLines returns the non-empty lines the gateway has written to stderr.
func (g *Gateway) LogLines() []string { return nonEmptyLines(g.Logs()) }

func nonEmptyLines(logs string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// PrivateGatewayCopy copies S3SEAL_BIN to a file named name in a test
// directory and points S3SEAL_BIN at it, so a long run is immune to another
// job's `pkill -f bin/s3seal` on a shared machine. It returns the original
// path, or "" when S3SEAL_BIN is unset (the harness builds the gateway).
func PrivateGatewayCopy(t testing.TB, name string) string {
	t.Helper()
	src := os.Getenv("S3SEAL_BIN")
	if src == "" {
		return ""
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(RepoRoot(t), src)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("S3SEAL_BIN: %v", err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatalf("copy gateway binary: %v", err)
	}
	t.Setenv("S3SEAL_BIN", dst)
	return src
}
