//go:build bench

package bench

import (
	"bufio"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/sse"

	"github.com/s3seal/s3seal/test/harness"
)

// target is one way to reach a MinIO under test: plain, MinIO with its
// own SSE-KMS, or through the gateway into a bucket with a default
// encryption; over http or https.
type target struct {
	name      string // "plain MinIO", "MinIO SSE-KMS", "bare forwarder", "s3seal"
	sse       string // the gateway bucket's default encryption; "" otherwise
	variant   string // how the path differs from the default one, e.g. its backend's flags; usually ""
	scheme    string // "http" or "https"; "" is http
	endpoint  string
	accessKey string
	secretKey string
	bucket    string
	roots     *x509.CertPool // what clients trust over https
	procs     processes      // the processes a run is charged to
}

// client returns a new minio-go client, with its own connection pool
// (minio-go's default transport), for the target. The region is given so
// that no GET ?location precedes the first request on either path. Over
// https minio-go signs every request UNSIGNED-PAYLOAD: no SHA-256 of the
// body, no streaming signature.
func (tg target) client(t testing.TB) *minio.Client {
	return harness.MinioGoClientWithTransport(t, tg.endpoint, tg.accessKey, tg.secretKey, "us-east-1", tg.transport(t))
}

func (tg target) transport(t testing.TB) *http.Transport {
	tr, err := minio.DefaultTransport(tg.https())
	if err != nil {
		t.Fatal(err)
	}
	if tg.https() {
		tr.TLSClientConfig.RootCAs = tg.roots
	}
	return tr
}

func (tg target) https() bool { return tg.scheme == "https" }

func (tg target) clients(t testing.TB, n int) []*minio.Client {
	c := make([]*minio.Client, n)
	for i := range c {
		c[i] = tg.client(t)
	}
	return c
}

// path names the target without its transport: "plain MinIO",
// "MinIO SSE-KMS", "s3seal SSE-KMS".
func (tg target) path() string {
	p := tg.name
	if tg.sse != "" {
		p += " " + tg.sse
	}
	if tg.variant != "" {
		p += " (" + tg.variant + ")"
	}
	return p
}

func (tg target) label() string {
	if tg.scheme == "" {
		return tg.path()
	}
	return tg.path() + ", " + tg.scheme
}

// isGateway tells an s3seal path from the others (the bare forwarder has
// a process between client and MinIO too, but no gateway's metrics).
func (tg target) isGateway() bool { return tg.name == "s3seal" }

// stack is everything one transport (http or https) needs: a plain MinIO,
// a MinIO with its own SSE-KMS, a bare forwarder in front of the plain one
// (the floor of any gateway: a second hop and nothing else) and the
// gateway in front of it too. Over https every hop is TLS, the
// forwarder's and the gateway's to the backend included.
type stack struct {
	scheme   string
	minio    *harness.MinIO
	minioSSE *harness.MinIO
	gw       *harness.Gateway
	// The same gateway again over a MinIO started with --no-compat, which
	// then skips the MD5 of every body it stores (it answers with a random
	// ETag, as its own SSE-KMS does): s3seal never uses the backend's
	// MD5, so an operator may spare MinIO that work.
	minioLoose *harness.MinIO
	gwLoose    *harness.Gateway

	plain    target // bucket on the plain MinIO, no gateway
	minioKMS target // bucket with default SSE-KMS on MinIO with MINIO_KMS_SECRET_KEY
	fwd      target // the plain bucket through the bare forwarder
	fwdLoose target // a plain bucket on minioLoose through a bare forwarder of its own
	kms      target // gateway bucket with default SSE-KMS
	s3       target // gateway bucket with default SSE-S3
	kmsLoose target // as kms, through gwLoose to minioLoose
}

// targets are the stack's paths in report order; the first is the
// baseline of every ratio, the second the one s3seal must not be slower
// than, the third and fourth the floors of any gateway over the plain
// MinIO and over the --no-compat one (see stackPaths and floorOf).
func (st *stack) targets() []target {
	return []target{st.plain, st.minioKMS, st.fwd, st.fwdLoose, st.kms, st.s3, st.kmsLoose}
}

// floorOf is the index in a stack's targets of the bare forwarder in
// front of the same MinIO as tg.
func floorOf(tg target) int {
	if tg.variant != "" {
		return 3
	}
	return 2
}

// stackPaths is how many targets a stack has, and the index of the first
// s3seal one: matrix tables split their targets by stack with them.
const (
	stackPaths       = 7
	firstGateway     = 4
	gatewaysPerStack = 2 // gw and gwLoose
)

// servers are the http and the https stack.
type servers struct {
	stacks []*stack // http, https

	// The http stack's gateway: the memory section measures it.
	gw         *harness.Gateway
	kms        target
	idleRSSKiB int64 // the gateway's VmRSS before its first request
}

// allTargets are the targets of every stack, stack by stack.
func (s *servers) allTargets() []target {
	var all []target
	for _, st := range s.stacks {
		all = append(all, st.targets()...)
	}
	return all
}

const (
	plainBucket    = "bench-plain"
	minioKMSBucket = "bench-minio-sse-kms"
	kmsBucket      = "bench-sse-kms"
	s3Bucket       = "bench-sse-s3"
	// minioKeyName is the one key of MinIO's in-process KMS
	// (MINIO_KMS_SECRET_KEY=name:base64).
	minioKeyName = "bench-minio-key"
)

func startServers(t *testing.T) *servers {
	t.Helper()
	s := &servers{}
	for _, scheme := range []string{"http", "https"} {
		s.stacks = append(s.stacks, startStack(t, scheme))
	}
	s.gw, s.kms = s.stacks[0].gw, s.stacks[0].kms
	rss, err := readStatusKiB(s.gw.PID(), "VmRSS")
	if err != nil {
		t.Fatalf("gateway RSS: %v", err)
	}
	s.idleRSSKiB = rss
	return s
}

func startStack(t *testing.T, scheme string, extra ...harness.GatewayOption) *stack {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	kmsEnv := harness.WithMinIOEnv("MINIO_KMS_SECRET_KEY", minioKeyName+":"+base64.StdEncoding.EncodeToString(key))
	var (
		minioOpts []harness.MinIOOption
		gwOpts    []harness.GatewayOption
		roots     *x509.CertPool
		tlsFiles  forwarderTLS
	)
	if scheme == "https" {
		ca := harness.NewCA(t)
		roots = ca.Pool
		dir := t.TempDir()
		cert, certKey := filepath.Join(dir, "gateway.crt"), filepath.Join(dir, "gateway.key")
		ca.Issue(t, cert, certKey)
		tlsFiles = forwarderTLS{cert: cert, key: certKey, ca: ca.WriteCAFile(t, dir, "ca.crt")}
		minioOpts = append(minioOpts, harness.WithMinIOTLS(ca))
		gwOpts = append(gwOpts, harness.WithGatewayTLS(cert, certKey, ca.Pool),
			harness.WithGatewayEnv("S3SEAL_BACKEND_CA", tlsFiles.ca))
	}
	st := &stack{scheme: scheme}
	st.minio = harness.StartMinIO(t, minioOpts...)
	st.minioSSE = harness.StartMinIO(t, append(minioOpts, kmsEnv)...)
	st.gw = harness.StartGateway(t, st.minio, append(gwOpts, extra...)...)
	fwd, fwdEndpoint := startForwarder(t, st.minio.Endpoint, tlsFiles)
	st.minioLoose = harness.StartMinIO(t, append(minioOpts, harness.WithMinIOArgs("--no-compat"))...)
	st.gwLoose = harness.StartGateway(t, st.minioLoose, append(gwOpts, extra...)...)
	fwdLoose, fwdLooseEndpoint := startForwarder(t, st.minioLoose.Endpoint, tlsFiles)
	for _, m := range []*harness.MinIO{st.minio, st.minioSSE, st.minioLoose} {
		watchTrash(t, m.DataDir)
	}

	self := os.Getpid()
	plainPID, ssePID := childPID(st.minio.DataDir), childPID(st.minioSSE.DataDir)
	if plainPID == 0 || ssePID == 0 {
		t.Logf("a MinIO PID was not found under /proc; its CPU time is reported as 0")
	}
	st.plain = target{name: "plain MinIO", scheme: scheme, endpoint: st.minio.Endpoint, accessKey: st.minio.AccessKey,
		secretKey: st.minio.SecretKey, bucket: plainBucket, roots: roots, procs: processes{client: self, minio: plainPID}}
	st.minioKMS = target{name: "MinIO SSE-KMS", scheme: scheme, endpoint: st.minioSSE.Endpoint, accessKey: st.minioSSE.AccessKey,
		secretKey: st.minioSSE.SecretKey, bucket: minioKMSBucket, roots: roots, procs: processes{client: self, minio: ssePID}}
	st.fwd = target{name: "bare forwarder", scheme: scheme, endpoint: fwdEndpoint, accessKey: st.minio.AccessKey,
		secretKey: st.minio.SecretKey, bucket: plainBucket, roots: roots, procs: processes{client: self, gateway: fwd.PID(), minio: plainPID}}
	through := target{name: "s3seal", scheme: scheme, endpoint: st.gw.Endpoint, accessKey: st.gw.AccessKey, secretKey: st.gw.SecretKey,
		roots: roots, procs: processes{client: self, gateway: st.gw.PID(), minio: plainPID}}
	st.kms, st.s3 = through, through
	st.kms.sse, st.kms.bucket = "SSE-KMS", kmsBucket
	st.s3.sse, st.s3.bucket = "SSE-S3", s3Bucket
	st.fwdLoose = target{name: "bare forwarder", variant: "backend MinIO --no-compat", scheme: scheme, endpoint: fwdLooseEndpoint,
		accessKey: st.minioLoose.AccessKey, secretKey: st.minioLoose.SecretKey, bucket: plainBucket, roots: roots,
		procs: processes{client: self, gateway: fwdLoose.PID(), minio: childPID(st.minioLoose.DataDir)}}
	st.kmsLoose = target{name: "s3seal", sse: "SSE-KMS", variant: "backend MinIO --no-compat", scheme: scheme,
		endpoint: st.gwLoose.Endpoint, accessKey: st.gwLoose.AccessKey, secretKey: st.gwLoose.SecretKey, bucket: kmsBucket,
		roots: roots, procs: processes{client: self, gateway: st.gwLoose.PID(), minio: childPID(st.minioLoose.DataDir)}}

	ctx := t.Context()
	for _, b := range []struct {
		tg  target
		cfg *sse.Configuration
	}{
		{st.plain, nil},
		{st.minioKMS, sse.NewConfigurationSSEKMS(minioKeyName)},
		{st.kms, sse.NewConfigurationSSEKMS(harness.DefaultKeyName)},
		{st.s3, sse.NewConfigurationSSES3()},
		{st.fwdLoose, nil},
		{st.kmsLoose, sse.NewConfigurationSSEKMS(harness.DefaultKeyName)},
	} {
		c := b.tg.client(t)
		if err := c.MakeBucket(ctx, b.tg.bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket %s (%s): %v", b.tg.bucket, b.tg.label(), err)
		}
		if b.cfg == nil {
			continue
		}
		if err := c.SetBucketEncryption(ctx, b.tg.bucket, b.cfg); err != nil {
			t.Fatalf("SetBucketEncryption %s (%s): %v", b.tg.bucket, b.tg.label(), err)
		}
	}
	return st
}

// checkEncryption fails the test unless object, written into every
// encrypted target's bucket, reports the bucket's default encryption, and
// the plain one reports none.
func checkEncryption(t *testing.T, s *servers, object string) {
	t.Helper()
	for _, st := range s.stacks {
		for _, c := range []struct {
			tg   target
			want string
		}{{st.plain, ""}, {st.minioKMS, "aws:kms"}, {st.fwd, ""}, {st.fwdLoose, ""}, {st.kms, "aws:kms"}, {st.s3, "AES256"}, {st.kmsLoose, "aws:kms"}} {
			info, err := c.tg.client(t).StatObject(t.Context(), c.tg.bucket, object, minio.StatObjectOptions{})
			if err != nil {
				t.Fatalf("%s: HEAD %s/%s: %v", c.tg.label(), c.tg.bucket, object, err)
			}
			if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != c.want {
				t.Fatalf("%s: HEAD %s/%s: X-Amz-Server-Side-Encryption = %q, want %q", c.tg.label(), c.tg.bucket, object, got, c.want)
			}
		}
	}
}

// keyStoreCalls is the sum of s3seal_keystore_requests_total over every
// gateway of s: the embedded KMS's calls to its key store so far.
func keyStoreCalls(t *testing.T, s *servers) float64 {
	t.Helper()
	var sum float64
	for _, st := range s.stacks {
		sum += scrapeSum(t, st.kms, "s3seal_keystore_requests_total") + scrapeSum(t, st.kmsLoose, "s3seal_keystore_requests_total")
	}
	return sum
}

// scrapeSum sums every series of the counter name on the gateway's
// /metrics.
func scrapeSum(t *testing.T, gw target, name string) float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, gw.endpoint+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: gw.transport(t)}).Do(req)
	if err != nil {
		t.Fatalf("scrape %s/metrics: %v", gw.endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s/metrics: %s", gw.endpoint, resp.Status)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("scrape %s/metrics: %q: %v", gw.endpoint, line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s/metrics: %v", gw.endpoint, err)
	}
	if !found {
		t.Fatalf("scrape %s/metrics: no %s series (the gateway has made no key-store call yet, or does not count them)", gw.endpoint, name)
	}
	return sum
}

// keyStoreRefreshes is how many key-store calls gateways may make in d
// without any request needing one: the embedded KMS re-reads a cached key
// from its store once it is kmsclient.DefaultCacheExpiryAny (5 minutes)
// old, so that a deleted or rotated key takes effect, and each gateway
// here uses one key.
func keyStoreRefreshes(gateways int, d time.Duration) float64 {
	const cacheExpiryAny = 5 * time.Minute
	return float64(gateways * (int(d/cacheExpiryAny) + 1))
}

// describeCalls formats a count of key-store calls for the report.
func describeCalls(n, allowed float64) string {
	return fmt.Sprintf("%.0f (at most %.0f allowed: one re-read of each gateway's cached key per 5 minutes of the run, "+
		"none per request)", n, allowed)
}
