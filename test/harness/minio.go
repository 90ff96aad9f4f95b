package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a MinIO server started for one test.
type MinIO struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string // root user
	SecretKey string // root password
	DataDir   string

	kind BackendKind // KindMinIO, or KindMinIONoCompat with --no-compat
	ca   *CA         // signs the server certificate over https; nil for http
	proc *Process
}

// MinIOOption configures StartMinIO.
type MinIOOption func(*minioConfig)

type minioConfig struct {
	env  []string
	args []string
	ca   *CA
}

// WithMinIOArgs adds command-line arguments after the server's own, e.g.
// --no-compat.
func WithMinIOArgs(args ...string) MinIOOption {
	return func(c *minioConfig) { c.args = append(c.args, args...) }
}

// WithMinIOEnv adds an environment variable to the server, e.g.
// MINIO_KMS_SECRET_KEY to turn on MinIO's own SSE-KMS.
func WithMinIOEnv(key, value string) MinIOOption {
	return func(c *minioConfig) { c.env = append(c.env, key+"="+value) }
}

// WithMinIOTLS makes the server speak https with a certificate for
// 127.0.0.1 that ca issues; Client and the readiness probe trust ca.
func WithMinIOTLS(ca *CA) MinIOOption {
	return func(c *minioConfig) { c.ca = ca }
}

// StartMinIO starts the pinned MinIO server with its own data directory on
// free 127.0.0.1 ports, waits until /minio/health/ready answers 200 and
// stops it in t.Cleanup. On failure the test log shows the server's output.
func StartMinIO(t testing.TB, opts ...MinIOOption) *MinIO {
	t.Helper()
	bin := Tools(t, "minio").MinIO
	var cfg minioConfig
	for _, o := range opts {
		o(&cfg)
	}
	dir := t.TempDir()
	m := &MinIO{
		AccessKey: "minio-" + randomHex(t, 6),
		SecretKey: randomHex(t, 20),
		DataDir:   filepath.Join(dir, "data"),
		kind:      KindMinIO,
		ca:        cfg.ca,
	}
	if slices.Contains(cfg.args, "--no-compat") {
		m.kind = KindMinIONoCompat
	}
	for _, sub := range []string{m.DataDir, filepath.Join(dir, "certs"), filepath.Join(dir, "home")} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatalf("create %s: %v", sub, err)
		}
	}
	scheme, probe := "http", &http.Client{Timeout: 2 * time.Second}
	if m.ca != nil {
		scheme = "https"
		probe = m.ca.Client()
		m.ca.Issue(t, filepath.Join(dir, "certs", "public.crt"), filepath.Join(dir, "certs", "private.key"))
	}
	env := append(BaseEnv(filepath.Join(dir, "home")),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
	)
	env = append(env, cfg.env...)

	// A free port can be taken between FreePort and MinIO's bind; a server
	// that exits before it is ready gets new ports.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		apiPort, consolePort := FreePort(t), FreePort(t)
		m.Endpoint = scheme + "://127.0.0.1:" + strconv.Itoa(apiPort)
		args := []string{"server", m.DataDir,
			"--address", "127.0.0.1:" + strconv.Itoa(apiPort),
			"--console-address", "127.0.0.1:" + strconv.Itoa(consolePort),
			"--certs-dir", filepath.Join(dir, "certs"),
		}
		args = append(args, cfg.args...)
		logPath := filepath.Join(dir, fmt.Sprintf("minio-%d.log", attempt))
		p, err := StartProcess("minio", bin, args, env, dir, logPath)
		if err != nil {
			t.Fatal(err)
		}
		m.proc = p
		err = p.WaitHTTP(t.Context(), probe, m.Endpoint+"/minio/health/ready", http.StatusOK)
		if err == nil {
			break
		}
		exitedEarly := p.Exited()
		_ = p.Stop()
		if exitedEarly && attempt < attempts {
			t.Logf("minio attempt %d: %v; retrying on other ports", attempt, err)
			continue
		}
		t.Fatalf("start minio: %v\n--- minio output ---\n%s", err, p.LogTail(100))
	}
	// /minio/health/ready answers 200 before MinIO has loaded its IAM
	// subsystem; until then signed requests get 503 (server not
	// initialized), which a loaded machine stretches to seconds. Ready means
	// a signed request succeeds.
	ctx, cancel := context.WithTimeout(t.Context(), startDeadline)
	defer cancel()
	for c := m.Client(t); ; {
		_, err := c.ListBuckets(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil || m.proc.Exited() {
			_ = m.proc.Stop()
			t.Fatalf("minio at %s does not serve signed requests: %v\n--- minio output ---\n%s", m.Endpoint, err, m.proc.LogTail(100))
		}
		select {
		case <-m.proc.Done():
		case <-time.After(pollInterval):
		}
	}
	t.Cleanup(func() {
		if err := m.proc.Stop(); err != nil {
			t.Errorf("stop minio: %v", err)
		}
		if t.Failed() {
			t.Logf("--- minio output (%s) ---\n%s", m.Endpoint, m.proc.LogTail(60))
		}
	})
	return m
}

// Stop stops the server now (SIGTERM, then SIGKILL after a grace period).
// The cleanup registered by StartMinIO then does nothing.
func (m *MinIO) Stop(t testing.TB) {
	t.Helper()
	if err := m.proc.Stop(); err != nil {
		t.Errorf("stop minio: %v", err)
	}
}

// Host returns the host:port of Endpoint.
func (m *MinIO) Host() string { return hostOf(m.Endpoint) }

// Client returns a minio-go client that talks to the backend directly, as
// root. It bypasses the gateway: use it to inspect what was stored.
func (m *MinIO) Client(t testing.TB) *minio.Client {
	t.Helper()
	var tr http.RoundTripper
	if m.ca != nil {
		tr = m.ca.Transport()
	}
	return MinioGoClientWithTransport(t, m.Endpoint, m.AccessKey, m.SecretKey, "us-east-1", tr)
}

// MinioGoClient returns a minio-go/v7 client for endpoint (http://host:port)
// with static SigV4 credentials. An empty region makes minio-go ask the
// server with GET ?location first, as mc does; a non-empty one skips that.
func MinioGoClient(t testing.TB, endpoint, accessKey, secretKey, region string) *minio.Client {
	t.Helper()
	return MinioGoClientWithTransport(t, endpoint, accessKey, secretKey, region, nil)
}

// MinioGoClientWithTransport is MinioGoClient over transport; nil means
// minio-go's default.
func MinioGoClientWithTransport(t testing.TB, endpoint, accessKey, secretKey, region string, transport http.RoundTripper) *minio.Client {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("parse endpoint %q: %v", endpoint, err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:     credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure:    u.Scheme == "https",
		Region:    region,
		Transport: transport,
	})
	if err != nil {
		t.Fatalf("minio-go client for %s: %v", endpoint, err)
	}
	return c
}

func hostOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	return u.Host
}

// randomHex returns 2n random hex characters.
func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}

// ReadObject reads bucket/key through c and fails the test on error.
func ReadObject(t testing.TB, c *minio.Client, bucket, key string, opts minio.GetObjectOptions) []byte {
	t.Helper()
	obj, err := c.GetObject(t.Context(), bucket, key, opts)
	if err != nil {
		t.Fatalf("GetObject %s/%s from %s: %v", bucket, key, c.EndpointURL().Host, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s/%s from %s: %v", bucket, key, c.EndpointURL().Host, err)
	}
	return data
}
