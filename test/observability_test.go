package test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/signer"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/s3seal/s3seal/test/harness"
)

// This file covers what operators see and configure around the S3 API:
// /metrics, the audit log, client-facing TLS with certificate rotation, and
// TLS to the backend under a private CA. The harness starts plain-http
// servers only, so the TLS servers here are started by local helpers
// (obsStartGateway, obsStartTLSMinIO) in the harness's manner: free
// 127.0.0.1 ports, readiness by polling, SIGTERM in cleanup.

// obsMetricsPath is where the gateway serves Prometheus metrics.
const obsMetricsPath = "/metrics"

func TestObservabilityMetrics(t *testing.T) {
	t.Run("open by default, they count operations, plaintext bytes and KMS calls", func(t *testing.T) {
		backend := harness.StartMinIO(t)
		gw := harness.StartGateway(t, backend)
		c := gw.Client(t)
		ctx := t.Context()
		const bucket, object = "observed", "payload.bin"
		data := harness.RandomBytes(t, 300_001)

		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket: %v", err)
		}
		if _, err := c.PutObject(ctx, bucket, object, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		obsGetObject(t, c, bucket, object, minio.GetObjectOptions{}, data)
		if _, err := c.StatObject(ctx, bucket, object, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("StatObject (HEAD): %v", err)
		}

		// The gateway counts a request after its response is sent, so the
		// client can be a moment ahead of the counters.
		size := float64(len(data))
		obsEventually(t, 10*time.Second, func(ctx context.Context) error {
			status, fams, err := obsScrape(ctx, http.DefaultClient, gw.Endpoint+obsMetricsPath, "")
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("GET /metrics without credentials: status %d, want 200", status)
			}
			var errs []error
			for _, op := range []string{"PutObject", "GetObject", "HeadObject"} {
				if got := obsSum(fams, "s3seal_requests_total", "operation", op, "code", "200"); got < 1 {
					errs = append(errs, fmt.Errorf("s3seal_requests_total{operation=%q,code=\"200\"} = %v, want ≥ 1", op, got))
				}
				if err := obsCheckHistogram(fams, "s3seal_request_duration_seconds", "operation", op); err != nil {
					errs = append(errs, err)
				}
			}
			for _, c := range []struct {
				name   string
				labels []string
				min    float64
			}{
				{"s3seal_bytes_encrypted_total", nil, size},
				{"s3seal_bytes_decrypted_total", nil, size},
				{"s3seal_kms_requests_total", []string{"call", "GenerateKey", "result", "ok"}, 1},
				{"s3seal_kms_requests_total", []string{"call", "Decrypt", "result", "ok"}, 1},
				{"s3seal_backend_requests_total", []string{"method", "PUT", "status_class", "2xx"}, 1},
				{"s3seal_backend_requests_total", []string{"method", "GET", "status_class", "2xx"}, 1},
				{"go_goroutines", nil, 1},
			} {
				if got := obsSum(fams, c.name, c.labels...); got < c.min {
					errs = append(errs, fmt.Errorf("%s%v = %v, want ≥ %v", c.name, c.labels, got, c.min))
				}
			}
			for _, name := range []string{"s3seal_kms_request_duration_seconds", "s3seal_backend_request_duration_seconds"} {
				if _, ok := fams[name]; !ok {
					errs = append(errs, fmt.Errorf("%s is missing", name))
				}
			}
			if got := obsSum(fams, "s3seal_kms_errors_total"); got != 0 {
				errs = append(errs, fmt.Errorf("s3seal_kms_errors_total = %v, want 0", got))
			}
			return errors.Join(errs...)
		})
	})

	t.Run("with a token, a scrape must present it", func(t *testing.T) {
		backend := harness.StartMinIO(t)
		token := obsRandomHex(t, 16)
		gw := harness.StartGateway(t, backend, harness.WithGatewayEnv("S3SEAL_METRICS_TOKEN", token))
		url := gw.Endpoint + obsMetricsPath

		for _, tc := range []struct {
			name, auth string
			want       int
		}{
			{"no Authorization header", "", http.StatusUnauthorized},
			{"a wrong token", "Bearer " + token[:len(token)-1] + "x", http.StatusUnauthorized},
			{"the token without the Bearer scheme", token, http.StatusUnauthorized},
			{"the token", "Bearer " + token, http.StatusOK},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, fams, err := obsScrape(t.Context(), http.DefaultClient, url, tc.auth)
				if err != nil {
					t.Fatal(err)
				}
				if status != tc.want {
					t.Fatalf("GET /metrics status = %d, want %d", status, tc.want)
				}
				if status == http.StatusOK && fams["s3seal_requests_total"] == nil && fams["s3seal_kms_requests_total"] == nil {
					t.Errorf("authorised scrape has no s3seal metrics; families: %v", obsFamilyNames(fams))
				}
			})
		}

		// A SigV4-signed GET /metrics is an S3 request (ListObjects on a
		// bucket named "metrics"), never a scrape: it must not see metrics.
		t.Run("S3 credentials are not a substitute", func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			req = signer.SignV4(*req, gw.AccessKey, gw.SecretKey, "", "us-east-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got, want := resp.StatusCode, http.StatusNotFound; got != want || !strings.Contains(string(body), "NoSuchBucket") {
				t.Errorf("GET /metrics signed with the root S3 credentials: status = %d, body %.200q; want %d NoSuchBucket (an S3 request)", got, body, want)
			}
			if strings.Contains(string(body), "s3seal_requests_total") {
				t.Errorf("a signed S3 request was answered with metrics")
			}
		})
	})
}

func TestObservabilityAuditLog(t *testing.T) {
	backend := harness.StartMinIO(t)
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	gw := harness.StartGateway(t, backend,
		harness.WithGatewayEnv("S3SEAL_AUDIT_LOG", auditPath),
		// The SSE-C request below goes over plain http; TestTLSClientFacing
		// covers SSE-C over https.
		harness.WithGatewayEnv("S3SEAL_ALLOW_INSECURE_SSEC", "true"),
	)
	c := gw.Client(t)
	ctx := t.Context()
	const bucket, kmsKey = "audited", "audit-tenant"
	kmsData := harness.RandomBytes(t, 70_000)
	ssecData := harness.RandomBytes(t, 5_000)
	ssecKey := harness.RandomBytes(t, 32)

	obsCreateKMSKey(t, gw.Endpoint, http.DefaultClient, gw.AccessKey, gw.SecretKey, kmsKey)
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	sseKMS, err := encrypt.NewSSEKMS(kmsKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, bucket, "kms.bin", bytes.NewReader(kmsData), int64(len(kmsData)), minio.PutObjectOptions{ServerSideEncryption: sseKMS}); err != nil {
		t.Fatalf("PutObject SSE-KMS: %v", err)
	}
	obsGetObject(t, c, bucket, "kms.bin", minio.GetObjectOptions{}, kmsData)
	if _, err := c.StatObject(ctx, bucket, "kms.bin", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	sseC, err := encrypt.NewSSEC(ssecKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, bucket, "ssec.bin", bytes.NewReader(ssecData), int64(len(ssecData)), minio.PutObjectOptions{ServerSideEncryption: sseC}); err != nil {
		t.Fatalf("PutObject SSE-C: %v", err)
	}
	obsGetObject(t, c, bucket, "ssec.bin", minio.GetObjectOptions{ServerSideEncryption: sseC}, ssecData)
	if _, err := c.PutObject(ctx, bucket, "default.txt", strings.NewReader("default"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if err := c.RemoveObject(ctx, bucket, "default.txt", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("RemoveObject: %v", err)
	}
	// Shutting down finishes in-flight requests and then closes the log,
	// so every request above has its line.
	gw.Stop(t)

	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	if info, err := os.Stat(auditPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode = %v (%v), want 0600", info.Mode().Perm(), err)
	}

	t.Run("every line is a JSON object with the audit fields", func(t *testing.T) {
		if len(raw) == 0 || raw[len(raw)-1] != '\n' {
			t.Fatalf("audit log is empty or ends in a partial line:\n%s", raw)
		}
		want := []string{"access_key", "bucket", "bytes_in", "bytes_out", "duration_ms", "key_id", "object", "operation", "request_id", "status", "time"}
		ids := map[string]bool{}
		for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
			}
			for _, f := range want {
				if _, ok := rec[f]; !ok {
					t.Errorf("line %d lacks %q: %s", i+1, f, line)
				}
			}
			if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["time"])); err != nil {
				t.Errorf("line %d: time %v is not RFC 3339: %v", i+1, rec["time"], err)
			}
			id := fmt.Sprint(rec["request_id"])
			if id == "" || ids[id] {
				t.Errorf("line %d: request_id %q is empty or repeated", i+1, id)
			}
			ids[id] = true
		}
	})

	t.Run("the lines name the operation, bucket, object and KMS key", func(t *testing.T) {
		recs := obsAuditRecords(t, raw)
		for _, w := range []obsAuditRecord{
			{Operation: "PutObject", Bucket: bucket, Object: "kms.bin", KeyID: kmsKey, Status: 200, BytesIn: int64(len(kmsData))},
			{Operation: "GetObject", Bucket: bucket, Object: "kms.bin", KeyID: kmsKey, Status: 200, BytesOut: int64(len(kmsData))},
			{Operation: "HeadObject", Bucket: bucket, Object: "kms.bin", KeyID: kmsKey, Status: 200},
			{Operation: "PutObject", Bucket: bucket, Object: "ssec.bin", KeyID: "", Status: 200, BytesIn: int64(len(ssecData))},
			{Operation: "GetObject", Bucket: bucket, Object: "ssec.bin", KeyID: "", Status: 200, BytesOut: int64(len(ssecData))},
			{Operation: "PutObject", Bucket: bucket, Object: "default.txt", KeyID: harness.DefaultKeyName, Status: 200, BytesIn: 7},
			{Operation: "DeleteObject", Bucket: bucket, Object: "default.txt", Status: 204},
			{Operation: "CreateBucket", Bucket: bucket, Status: 200},
		} {
			found := slices.ContainsFunc(recs, func(r obsAuditRecord) bool {
				return r.Operation == w.Operation && r.Bucket == w.Bucket && r.Object == w.Object &&
					r.KeyID == w.KeyID && r.Status == w.Status &&
					r.BytesIn >= w.BytesIn && r.BytesOut >= w.BytesOut && r.AccessKey == gw.AccessKey
			})
			if !found {
				t.Errorf("no audit line matches %+v (access_key %s); lines:\n%s", w, gw.AccessKey, raw)
			}
		}
	})

	t.Run("no secret reaches the log", func(t *testing.T) {
		keyMD5 := md5.Sum(ssecKey)
		forbidden := map[string]string{
			"root secret key":       gw.SecretKey,
			"backend secret key":    backend.SecretKey,
			"SSE-C key, raw":        string(ssecKey),
			"SSE-C key, base64":     base64.StdEncoding.EncodeToString(ssecKey),
			"SSE-C key, hex":        hex.EncodeToString(ssecKey),
			"SSE-C key MD5, base64": base64.StdEncoding.EncodeToString(keyMD5[:]),
			"a signature":           "Signature=",
			"a SigV4 credential":    "AWS4-HMAC-SHA256",
		}
		for what, s := range forbidden {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("audit log contains %s", what)
			}
		}
		if bytes.Contains(bytes.ToLower(raw), []byte("authorization")) {
			t.Error("audit log mentions an Authorization header")
		}
	})
}

func TestTLSClientFacing(t *testing.T) {
	ca := obsNewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "public.crt"), filepath.Join(dir, "private.key")
	first := ca.issue(t, certFile, keyFile)
	backend := harness.StartMinIO(t)
	auditPath := filepath.Join(dir, "audit.log")
	gw := obsStartGateway(t, backend, ca.client(), "https", "/minio/health/ready",
		"S3SEAL_TLS_CERT="+certFile,
		"S3SEAL_TLS_KEY="+keyFile,
		"S3SEAL_AUDIT_LOG="+auditPath,
	)
	c := gw.minioClient(t, ca.transport())
	ctx := t.Context()
	const bucket = "tls"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket over https: %v", err)
	}

	// Over https minio-go sends UNSIGNED-PAYLOAD bodies (with Content-MD5)
	// instead of signed streaming chunks: a payload mode http tests miss.
	t.Run("PUT and GET round trip", func(t *testing.T) {
		data := harness.RandomBytes(t, 1<<20+17)
		if _, err := c.PutObject(t.Context(), bucket, "object.bin", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject over https: %v", err)
		}
		obsGetObject(t, c, bucket, "object.bin", minio.GetObjectOptions{}, data)
	})

	t.Run("SSE-C round trip without the insecure override, key absent from logs", func(t *testing.T) {
		key := harness.RandomBytes(t, 32)
		sse, err := encrypt.NewSSEC(key)
		if err != nil {
			t.Fatal(err)
		}
		data := harness.RandomBytes(t, 10_000)
		if _, err := c.PutObject(t.Context(), bucket, "ssec.bin", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: sse}); err != nil {
			t.Fatalf("PutObject SSE-C over https: %v", err)
		}
		obsGetObject(t, c, bucket, "ssec.bin", minio.GetObjectOptions{ServerSideEncryption: sse}, data)

		sum := md5.Sum(key)
		secrets := []string{string(key), base64.StdEncoding.EncodeToString(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(sum[:])}
		// The audit line is written after the response: wait for it.
		obsEventually(t, 5*time.Second, func(context.Context) error {
			raw, err := os.ReadFile(auditPath)
			if err != nil {
				return err
			}
			// Only whole lines: the next may be being written.
			recs := obsAuditRecords(t, raw[:bytes.LastIndexByte(raw, '\n')+1])
			if !slices.ContainsFunc(recs, func(r obsAuditRecord) bool { return r.Operation == "GetObject" && r.Object == "ssec.bin" }) {
				return errors.New("audit log has no GetObject line for ssec.bin yet")
			}
			return nil
		})
		raw, err := os.ReadFile(auditPath)
		if err != nil {
			t.Fatal(err)
		}
		for name, text := range map[string]string{"audit log": string(raw), "gateway log": gw.proc.output.String()} {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%s contains the SSE-C key (or its MD5)", name)
				}
			}
		}
	})

	t.Run("a certificate replaced on disk is served to new connections", func(t *testing.T) {
		if got := obsPeerSerial(t, gw.addr, ca.pool); got.Cmp(first.SerialNumber) != 0 {
			t.Fatalf("serial before rotation = %x, want the first certificate's %x", got, first.SerialNumber)
		}
		second := ca.issue(t, certFile, keyFile)
		if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
			t.Fatal("the new certificate has the old serial")
		}
		// Files are checked at most once a second, on handshakes.
		obsEventually(t, 10*time.Second, func(context.Context) error {
			if got := obsPeerSerial(t, gw.addr, ca.pool); got.Cmp(second.SerialNumber) != 0 {
				return fmt.Errorf("serial = %x, want the new certificate's %x", got, second.SerialNumber)
			}
			return nil
		})
		// A fresh client (new connections) still round-trips.
		fresh := gw.minioClient(t, ca.transport())
		data := harness.RandomBytes(t, 4096)
		if _, err := fresh.PutObject(t.Context(), bucket, "after-rotation.bin", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject after rotation: %v", err)
		}
		obsGetObject(t, fresh, bucket, "after-rotation.bin", minio.GetObjectOptions{}, data)
	})
}

func TestTLSBackendWithPrivateCA(t *testing.T) {
	ca := obsNewCA(t)
	backend := obsStartTLSMinIO(t, ca)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "backend-ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("trusting the CA, objects round-trip and are stored encrypted", func(t *testing.T) {
		gw := harness.StartGateway(t, backend, harness.WithGatewayEnv("S3SEAL_BACKEND_CA", caFile))
		c := gw.Client(t)
		ctx := t.Context()
		data := harness.RandomBytes(t, 200_000)
		if err := c.MakeBucket(ctx, "tls-backend", minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket: %v", err)
		}
		if _, err := c.PutObject(ctx, "tls-backend", "object.bin", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		obsGetObject(t, c, "tls-backend", "object.bin", minio.GetObjectOptions{}, data)

		direct := obsMinioClient(t, backend.Endpoint, backend.AccessKey, backend.SecretKey, ca.transport())
		obj, err := direct.GetObject(ctx, "tls-backend", "object.bin", minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("backend GetObject: %v", err)
		}
		stored, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatalf("backend read: %v", err)
		}
		if _, _, found := harness.FindPlaintextRun(stored, data); found || bytes.Equal(stored, data) {
			t.Error("the backend holds plaintext, want ciphertext")
		}
	})

	t.Run("with a CA that did not sign the backend's certificate, the gateway never becomes ready", func(t *testing.T) {
		other := obsNewCA(t)
		wrongCA := filepath.Join(dir, "other-ca.pem")
		if err := os.WriteFile(wrongCA, other.pem, 0o600); err != nil {
			t.Fatal(err)
		}
		gw := obsStartGateway(t, backend, http.DefaultClient, "http", "/minio/health/live", "S3SEAL_BACKEND_CA="+wrongCA)

		// Init retries every two seconds; watch readiness across several
		// attempts, and until the log explains why.
		const watch = 6 * time.Second
		deadline := time.Now().Add(watch)
		polls := 0
		for time.Now().Before(deadline) || !strings.Contains(gw.proc.output.String(), "certificate signed by unknown authority") {
			if time.Now().After(deadline.Add(30 * time.Second)) {
				t.Fatalf("the gateway log never mentions the unknown authority:\n%s", gw.proc.tail(40))
			}
			status, err := obsStatus(t.Context(), http.DefaultClient, gw.endpoint+"/minio/health/ready", "")
			if err != nil {
				t.Fatalf("readiness probe: %v", err)
			}
			if status != http.StatusServiceUnavailable {
				t.Fatalf("readiness with a wrong backend CA = %d, want %d\n%s", status, http.StatusServiceUnavailable, gw.proc.tail(40))
			}
			polls++
			obsPause(t, 100*time.Millisecond)
		}
		t.Logf("readiness answered 503 to %d probes over %v", polls, watch)

		// S3 requests are refused while not ready. (Signed by hand: minio-go
		// would retry a 503 for seconds.)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, gw.endpoint+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		req = signer.SignV4(*req, gw.accessKey, gw.secretKey, "", "us-east-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("ListBuckets: %v", err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
			t.Errorf("ListBuckets while not ready: status %d, want %d", got, want)
		}
	})
}

// --- helpers -------------------------------------------------------------

// obsCA is a private certificate authority for one test.
type obsCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func obsNewCA(t *testing.T) *obsCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          obsSerial(t),
		Subject:               pkix.Name{CommonName: "s3seal test CA " + obsRandomHex(t, 4)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &obsCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: pool}
}

// issue writes a new server certificate for 127.0.0.1 and localhost, with
// a fresh random serial, to certFile and keyFile, replacing them
// atomically, and returns it.
func (ca *obsCA) issue(t *testing.T, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: obsSerial(t),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	obsWriteAtomically(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	obsWriteAtomically(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	// A reader that looked between the two renames saw a mismatched pair
	// and remembered that moment; stamping both files now makes the
	// completed pair newer than anything it saw, even on file systems with
	// coarse timestamps.
	now := time.Now().Add(10 * time.Millisecond)
	for _, f := range []string{keyFile, certFile} {
		if err := os.Chtimes(f, now, now); err != nil {
			t.Fatal(err)
		}
	}
	return cert
}

// transport returns an http.Transport that trusts only the CA.
func (ca *obsCA) transport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}}
}

func (ca *obsCA) client() *http.Client {
	return &http.Client{Transport: ca.transport(), Timeout: 5 * time.Second}
}

func obsSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}

func obsWriteAtomically(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// obsPeerSerial opens a new TLS connection to addr, verifying it against
// pool, and returns the serial of the certificate the server presented.
func obsPeerSerial(t *testing.T, addr string, pool *x509.CertPool) *big.Int {
	t.Helper()
	d := &tls.Dialer{Config: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber
}

// obsProcess is a server started by these tests, stopped by its PID.
type obsProcess struct {
	name   string
	cmd    *exec.Cmd
	output *obsBuffer
	done   chan struct{}
	err    error // Wait's result; set before done is closed
	once   sync.Once
}

func obsStartProcess(t *testing.T, name, bin string, args, env []string, dir string) *obsProcess {
	t.Helper()
	p := &obsProcess{name: name, output: &obsBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Dir = dir
	p.cmd.Stdout = p.output
	p.cmd.Stderr = p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

func (p *obsProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to 15s, then kills. It reports the exit
// code (-1: ended by a signal) and whether the process had to be killed.
func (p *obsProcess) stop() (code int, killed bool) {
	p.once.Do(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			killed = true
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	<-p.done
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0, killed
	case errors.As(p.err, &ee):
		return ee.ExitCode(), killed
	default:
		return -1, killed
	}
}

func (p *obsProcess) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.output.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls url until it answers want, failing early when the process
// exits; it gives up after a minute.
func (p *obsProcess) waitFor(ctx context.Context, client *http.Client, url string, want int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	last := "no answer"
	for {
		status, err := obsStatus(ctx, client, url, "")
		switch {
		case err == nil && status == want:
			return nil
		case err == nil:
			last = strconv.Itoa(status)
		default:
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before %s answered %d (%v)", p.name, url, want, p.err)
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer %d: last answer %s", p.name, url, want, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// obsBuffer is a bytes.Buffer safe for concurrent writers and readers.
type obsBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *obsBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *obsBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// obsGateway is a gateway started by obsStartGateway.
type obsGateway struct {
	endpoint, addr       string
	accessKey, secretKey string
	proc                 *obsProcess
}

// obsStartGateway starts the gateway under test in front of backend, as
// harness.StartGateway does, but speaking scheme (http or https, with env
// naming the certificate) and waiting only until path answers 200 through
// client. Cleanup stops it and fails the test unless it exits 0.
func obsStartGateway(t *testing.T, backend *harness.MinIO, client *http.Client, scheme, path string, env ...string) *obsGateway {
	t.Helper()
	bin := harness.GatewayBinary(t)
	dir := t.TempDir()
	g := &obsGateway{accessKey: "s3seal-" + obsRandomHex(t, 6), secretKey: obsRandomHex(t, 20)}
	for attempt := 1; ; attempt++ {
		g.addr = "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
		g.endpoint = scheme + "://" + g.addr
		full := append(obsBaseEnv(t, dir),
			"S3SEAL_ADDRESS="+g.addr,
			"S3SEAL_BACKEND_URL="+backend.Endpoint,
			"S3SEAL_BACKEND_ACCESS_KEY="+backend.AccessKey,
			"S3SEAL_BACKEND_SECRET_KEY="+backend.SecretKey,
			"S3SEAL_ROOT_USER="+g.accessKey,
			"S3SEAL_ROOT_PASSWORD="+g.secretKey,
			"S3SEAL_KMS_DIR="+filepath.Join(dir, "kms"),
			"S3SEAL_KMS_DEFAULT_KEY="+harness.DefaultKeyName,
		)
		g.proc = obsStartProcess(t, "s3seal", bin, []string{"server"}, append(full, env...), dir)
		err := g.proc.waitFor(t.Context(), client, g.endpoint+path, http.StatusOK)
		if err == nil {
			break
		}
		exited := g.proc.exited()
		g.proc.stop()
		if exited && attempt < 3 && strings.Contains(g.proc.output.String(), "address already in use") {
			continue
		}
		t.Fatalf("start s3seal: %v\n%s", err, g.proc.tail(60))
	}
	t.Cleanup(func() {
		exitedEarly := g.proc.exited()
		code, killed := g.proc.stop()
		switch {
		case exitedEarly:
			t.Errorf("s3seal exited before the test stopped it (exit code %d)", code)
		case killed:
			t.Errorf("s3seal did not exit within 15s of SIGTERM and was killed")
		case code != 0:
			t.Errorf("s3seal exit code after SIGTERM = %d, want 0", code)
		}
		if t.Failed() {
			t.Logf("--- s3seal output (%s) ---\n%s", g.endpoint, g.proc.tail(60))
		}
	})
	return g
}

// minioClient returns a minio-go client for the gateway; transport nil
// means minio-go's default.
func (g *obsGateway) minioClient(t *testing.T, transport http.RoundTripper) *minio.Client {
	t.Helper()
	return obsMinioClient(t, g.endpoint, g.accessKey, g.secretKey, transport)
}

func obsMinioClient(t *testing.T, endpoint, accessKey, secretKey string, transport http.RoundTripper) *minio.Client {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:     credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure:    u.Scheme == "https",
		Region:    "us-east-1",
		Transport: transport,
	})
	if err != nil {
		t.Fatalf("minio-go client for %s: %v", endpoint, err)
	}
	return c
}

// obsStartTLSMinIO starts the pinned MinIO server serving https with a
// certificate from ca. The harness's StartMinIO speaks http only.
func obsStartTLSMinIO(t *testing.T, ca *obsCA) *harness.MinIO {
	t.Helper()
	bin := harness.Tools(t, "minio").MinIO
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	m := &harness.MinIO{AccessKey: "minio-" + obsRandomHex(t, 6), SecretKey: obsRandomHex(t, 20), DataDir: filepath.Join(dir, "data")}
	for _, d := range []string{certs, m.DataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ca.issue(t, filepath.Join(certs, "public.crt"), filepath.Join(certs, "private.key"))
	env := append(obsBaseEnv(t, dir),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
	)
	var p *obsProcess
	for attempt := 1; ; attempt++ {
		api, console := harness.FreePort(t), harness.FreePort(t)
		m.Endpoint = "https://127.0.0.1:" + strconv.Itoa(api)
		p = obsStartProcess(t, "minio", bin, []string{"server", m.DataDir,
			"--address", "127.0.0.1:" + strconv.Itoa(api),
			"--console-address", "127.0.0.1:" + strconv.Itoa(console),
			"--certs-dir", certs,
		}, env, dir)
		err := p.waitFor(t.Context(), ca.client(), m.Endpoint+"/minio/health/ready", http.StatusOK)
		if err == nil {
			break
		}
		exited := p.exited()
		p.stop()
		if exited && attempt < 3 {
			continue
		}
		t.Fatalf("start minio with TLS: %v\n%s", err, p.tail(60))
	}
	t.Cleanup(func() {
		if _, killed := p.stop(); killed {
			t.Errorf("minio did not exit within 15s of SIGTERM and was killed")
		}
		if t.Failed() {
			t.Logf("--- minio output (%s) ---\n%s", m.Endpoint, p.tail(60))
		}
	})
	return m
}

// obsBaseEnv is what a started server inherits: a private HOME, and PATH
// and locale, nothing that could change its behaviour.
func obsBaseEnv(t *testing.T, dir string) []string {
	t.Helper()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home}
	for _, k := range []string{"PATH", "LANG", "LC_ALL", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func obsStatus(ctx context.Context, client *http.Client, url, auth string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// obsScrape fetches url with the given Authorization header and, on 200,
// parses the Prometheus text format.
func obsScrape(ctx context.Context, client *http.Client, url, auth string) (int, map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("parse %s: %w", url, err)
	}
	return resp.StatusCode, fams, nil
}

// obsSum adds the counter, gauge or untyped values of the series of family
// name whose labels include the given name/value pairs.
func obsSum(fams map[string]*dto.MetricFamily, name string, labelPairs ...string) float64 {
	var sum float64
	for _, m := range obsSeries(fams, name, labelPairs...) {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

func obsSeries(fams map[string]*dto.MetricFamily, name string, labelPairs ...string) []*dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, lp := range m.Label {
			labels[lp.GetName()] = lp.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labelPairs); i += 2 {
			if labels[labelPairs[i]] != labelPairs[i+1] {
				match = false
			}
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}

// obsCheckHistogram requires one histogram series with observations and
// finite buckets.
func obsCheckHistogram(fams map[string]*dto.MetricFamily, name string, labelPairs ...string) error {
	series := obsSeries(fams, name, labelPairs...)
	if len(series) != 1 || series[0].Histogram == nil {
		return fmt.Errorf("%s%v: %d series, want one histogram", name, labelPairs, len(series))
	}
	h := series[0].Histogram
	if h.GetSampleCount() < 1 {
		return fmt.Errorf("%s%v count = %d, want ≥ 1", name, labelPairs, h.GetSampleCount())
	}
	if len(h.Bucket) < 5 {
		return fmt.Errorf("%s%v has %d buckets, want ≥ 5", name, labelPairs, len(h.Bucket))
	}
	if last := h.Bucket[len(h.Bucket)-1]; last.GetCumulativeCount() < 1 {
		return fmt.Errorf("%s%v largest finite bucket (le=%v) holds %d, want ≥ 1", name, labelPairs, last.GetUpperBound(), last.GetCumulativeCount())
	}
	return nil
}

func obsFamilyNames(fams map[string]*dto.MetricFamily) []string {
	var names []string
	for n := range fams {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// obsAuditRecord is an audit log line as the tests read it.
type obsAuditRecord struct {
	Time      string  `json:"time"`
	RequestID string  `json:"request_id"`
	AccessKey string  `json:"access_key"`
	Operation string  `json:"operation"`
	Bucket    string  `json:"bucket"`
	Object    string  `json:"object"`
	KeyID     string  `json:"key_id"`
	Status    int     `json:"status"`
	BytesIn   int64   `json:"bytes_in"`
	BytesOut  int64   `json:"bytes_out"`
	Duration  float64 `json:"duration_ms"`
}

func obsAuditRecords(t *testing.T, raw []byte) []obsAuditRecord {
	t.Helper()
	var recs []obsAuditRecord
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		var r obsAuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %d is not JSON: %v\n%s", i+1, err, line)
		}
		recs = append(recs, r)
	}
	return recs
}

func obsGetObject(t *testing.T, c *minio.Client, bucket, object string, opts minio.GetObjectOptions, want []byte) {
	t.Helper()
	obj, err := c.GetObject(t.Context(), bucket, object, opts)
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, object, err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, object, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("GetObject %s/%s: got %d bytes (sha256 %s), want %d bytes (sha256 %s)",
			bucket, object, len(got), harness.SHA256Hex(got), len(want), harness.SHA256Hex(want))
	}
}

// obsCreateKMSKey creates a KMS key through the gateway's MinIO-compatible
// admin API.
func obsCreateKMSKey(t *testing.T, endpoint string, client *http.Client, accessKey, secretKey, name string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/minio/kms/v1/key/create?key-id="+url.QueryEscape(name), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	req = signer.SignV4(*req, accessKey, secretKey, "", "")
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

// obsEventually retries check every 100ms until it succeeds, failing the
// test with its last error after timeout.
func obsEventually(t *testing.T, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("still failing after %v: %v", timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// obsPause waits d between polls, or fails the test when it is canceled.
func obsPause(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	case <-time.After(d):
	}
}

func obsRandomHex(t *testing.T, n int) string {
	t.Helper()
	return hex.EncodeToString(harness.RandomBytes(t, n))
}
