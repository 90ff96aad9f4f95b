package test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/test/harness"
)

// TestCompatibility is the compatibility matrix of docs/COMPATIBILITY.md:
// one subtest per (client, operation family) cell, each running the real
// client against one gateway (TLS, as SSE-C requires) over a real MinIO.
// With S3SEAL_COMPAT_OUT set it writes every cell's outcome there;
// `make compat` renders the file with test/compatgen. The rows are in
// compat_cli_test.go (mc, the AWS CLIs, rclone, s3cmd) and
// compat_sdk_test.go (boto3, aws-sdk-go-v2, minio-go).
func TestCompatibility(t *testing.T) {
	t.Parallel()
	e := newCompatEnv(t)
	m := &compatMatrix{versions: map[string]string{}}
	start := time.Now()
	t.Cleanup(func() {
		if out := os.Getenv("S3SEAL_COMPAT_OUT"); out != "" {
			m.write(t, out, time.Since(start))
		}
	})
	for _, row := range compatRows {
		t.Run(row.client, func(t *testing.T) {
			t.Parallel()
			cl := row.setup(t, e)
			m.setVersion(row.client, cl.version)
			for _, f := range compatFamilies {
				cell, ok := cl.cells[f.ID]
				switch {
				case !ok:
					t.Errorf("row %s has no cell for %s: every cell is a test or n/a with a reason", row.client, f.ID)
				case cell.na != "":
					m.record(harness.CompatCell{Client: row.client, Family: f.ID, Outcome: harness.CompatNA, Detail: cell.na})
				default:
					t.Run(f.ID, func(t *testing.T) {
						t.Parallel()
						m.run(t, row.client, f.ID, cell.run)
					})
				}
			}
		})
	}
}

// compatFamilies are the columns of the matrix.
var compatFamilies = []harness.CompatFamily{
	{ID: "put-get-range", Title: "put / get / range", Check: "a 200 KiB object uploaded and downloaded whole and by a range across DARE's 64 KiB packages; same bytes, ciphertext on the backend"},
	{ID: "multipart-checksums", Title: "multipart + checksums", Check: "an object above the client's multipart threshold, uploaded with the checksums the client sends (CRC32/CRC32C where it can, else Content-MD5) and read back by the client; the gateway lists it as multipart"},
	{ID: "copy", Title: "copy", Check: "a server-side copy by the client; the copy reads back the same"},
	{ID: "metadata", Title: "metadata round trip", Check: "user metadata and Content-Type set on upload come back as set"},
	{ID: "presign", Title: "presign", Check: "a presigned GET URL the client made, fetched without credentials, gives the object"},
	{ID: "post-policy", Title: "POST policy", Check: "a browser-form POST upload with a policy the client signed; the object reads back, sealed"},
	{ID: "sse-kms", Title: "SSE-KMS", Check: "an upload naming a KMS key; the gateway reports aws:kms with that key and the client reads it back"},
	{ID: "sse-s3", Title: "SSE-S3", Check: "an upload asking for SSE-S3 (AES256); reported as such, read back"},
	{ID: "sse-c", Title: "SSE-C", Check: "an upload with a customer key, read back with it; a read without the key is refused"},
	{ID: "listing-sizes", Title: "listing sizes", Check: "objects of 0, 1, 64 KiB-1, 64 KiB+1 and 1 MiB+17 bytes are listed by the client with their plaintext sizes"},
	{ID: "sync-twice", Title: "sync twice moves nothing", Check: "the client's sync/mirror of a small tree up, then again: the second run transfers nothing (listed sizes and times match)"},
}

// compatRow is one client: setup runs in the row's subtest and returns
// the client's version and its cells.
type compatRow struct {
	client string
	setup  func(t *testing.T, e *compatEnv) compatClient
}

// compatRows are the rows of the matrix, in the document's order.
var compatRows = []compatRow{
	{"mc", compatMC},
	{"aws-cli-v1", compatAWSCLIv1},
	{"aws-cli-v2", compatAWSCLIv2},
	{"boto3", compatBoto3},
	{"aws-sdk-go-v2", compatAWSSDK},
	{"minio-go", compatMinioGo},
	{"rclone", compatRclone},
	{"s3cmd", compatS3cmd},
	{"s3cmd-sigv2", compatS3cmdV2},
}

type compatClient struct {
	version string
	cells   map[string]compatCell
}

// compatCell is a test (run) or, for a family the client cannot express,
// the reason (na).
type compatCell struct {
	run func(t testing.TB)
	na  string
}

func na(reason string) compatCell { return compatCell{na: reason} }

// compatEnv is what every cell shares: one gateway over TLS, its CA, a KMS
// key and an SSE-C key.
type compatEnv struct {
	s       *stack
	ca      *harness.CA
	caFile  string
	http    *http.Client // trusts the CA
	gw      *minio.Client
	kmsKey  string
	ssecKey []byte
}

func newCompatEnv(t *testing.T) *compatEnv {
	ca := harness.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "public.crt"), filepath.Join(dir, "private.key")
	ca.Issue(t, certFile, keyFile)
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend, harness.WithGatewayTLS(certFile, keyFile, ca.Pool))
	e := &compatEnv{
		s:       &stack{backend: backend, gw: gw, direct: backend.Client(t), written: map[string][]byte{}},
		ca:      ca,
		caFile:  ca.WriteCAFile(t, dir, "ca.crt"),
		http:    &http.Client{Transport: ca.Transport(), Timeout: time.Minute},
		gw:      gw.Client(t),
		kmsKey:  "compat-kms-key",
		ssecKey: make([]byte, 32),
	}
	if _, err := rand.Read(e.ssecKey); err != nil {
		t.Fatal(err)
	}
	gw.CreateKMSKey(t, e.kmsKey)
	return e
}

// bucket creates the row's bucket through the gateway.
func (e *compatEnv) bucket(t testing.TB, client string) string {
	t.Helper()
	name := "compat-" + client
	if err := e.gw.MakeBucket(t.Context(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket %s: %v", name, err)
	}
	return name
}

// file writes size random bytes to a new file and returns its path and
// the bytes.
func (e *compatEnv) file(t testing.TB, name string, size int) (string, []byte) {
	t.Helper()
	data := harness.RandomBytes(t, size)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// readFile returns the content of a file the client wrote.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read what the client wrote: %v", err)
	}
	return data
}

// The SSE an object must carry; "" for the gateway's default (SSE-S3).
const (
	wantSSES3  = "AES256"
	wantSSEKMS = "aws:kms"
	wantSSEC   = "SSE-C"
)

// assertStored checks bucket/key as an independent client sees it: the
// gateway (minio-go) returns plaintext and reports the SSE wanted, and the
// backend holds ciphertext of it.
func (e *compatEnv) assertStored(t testing.TB, bucket, key string, plaintext []byte, sse string) {
	t.Helper()
	var opts minio.GetObjectOptions
	if sse == wantSSEC {
		sk, err := encrypt.NewSSEC(e.ssecKey)
		if err != nil {
			t.Fatal(err)
		}
		opts.ServerSideEncryption = sk
	}
	obj, err := e.gw.GetObject(t.Context(), bucket, key, opts)
	if err != nil {
		t.Fatalf("GetObject %s/%s through the gateway: %v", bucket, key, err)
	}
	defer obj.Close()
	assertSameBytes(t, "gateway GetObject "+key, readAllOrFatal(t, "GetObject "+key, obj), plaintext)
	info, err := obj.Stat()
	if err != nil {
		t.Fatalf("stat %s: %v", key, err)
	}
	switch sse {
	case wantSSEC:
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm"); got != "AES256" {
			t.Errorf("%s: SSE-C algorithm %q, want AES256", key, got)
		}
		if _, err := e.gw.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{}); err == nil {
			t.Errorf("HEAD %s without the customer key succeeded, want it refused", key)
		}
	case wantSSEKMS:
		gotSSE, gotKey := info.Metadata.Get("X-Amz-Server-Side-Encryption"), info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
		if gotSSE != wantSSEKMS || (gotKey != e.kmsKey && gotKey != "arn:aws:kms:"+e.kmsKey) {
			t.Errorf("%s: SSE %q with key %q, want %q with key %q", key, gotSSE, gotKey, wantSSEKMS, e.kmsKey)
		}
	default:
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != wantSSES3 {
			t.Errorf("%s: SSE %q, want %q", key, got, wantSSES3)
		}
	}
	clientsAssertStored(t, e.s, bucket, key, e.s.backendObject(t, bucket, key), plaintext)
}

// assertMultipart fails unless the gateway reports bucket/key as a
// multipart object (an ETag "…-N", N > 1).
func (e *compatEnv) assertMultipart(t testing.TB, bucket, key string) {
	t.Helper()
	info, err := e.gw.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject %s: %v", key, err)
	}
	if n := clientsETagParts(info.ETag); n < 2 {
		t.Errorf("%s: ETag %q, want a multipart ETag (the client did not upload in parts)", key, info.ETag)
	}
}

// compatListingFiles are the sizes the listing-sizes cells upload: empty,
// one byte, both sides of DARE's 64 KiB package, and more than a MiB.
var compatListingFiles = []treeFile{
	{"listing/empty", 0},
	{"listing/one", 1},
	{"listing/page-minus-1", 64<<10 - 1},
	{"listing/page-plus-1", 64<<10 + 1},
	{"listing/mib-plus-17", mib + 17},
}

func compatListingSizes() map[string]int64 {
	m := map[string]int64{}
	for _, f := range compatListingFiles {
		m[f.path] = f.size
	}
	return m
}

// compatSyncTree is the tree the sync-twice cells carry: nested
// directories, an empty file, a package boundary, awkward names.
var compatSyncTree = []treeFile{
	{"empty", 0},
	{"a/one", 1},
	{"a/b/page-plus-1", 64<<10 + 1},
	{"a/b/c/deep.bin", 4097},
	{"c/name with spaces.bin", 2048},
	{"c/ünïcödé.txt", 333},
	{"d/mib-plus-17", mib + 17},
}

// compatMatrix collects the outcomes of the cells.
type compatMatrix struct {
	mu       sync.Mutex
	versions map[string]string
	cells    []harness.CompatCell
}

func (m *compatMatrix) setVersion(client, version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.versions[client] = version
}

func (m *compatMatrix) record(c harness.CompatCell) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cells = append(m.cells, c)
}

// run runs a cell's test and records its outcome with the first error it
// reported.
func (m *compatMatrix) run(t *testing.T, client, family string, body func(t testing.TB)) {
	rt := &recordingTB{TB: t}
	t.Cleanup(func() {
		c := harness.CompatCell{Client: client, Family: family, Outcome: harness.CompatPass}
		if t.Failed() {
			c.Outcome, c.Detail = harness.CompatFail, rt.firstError()
			if c.Detail == "" {
				c.Detail = "failed (see the test log)"
			}
		}
		m.record(c)
	})
	body(rt)
}

// write stores the results file at path.
func (m *compatMatrix) write(t *testing.T, path string, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res := harness.CompatResults{Families: compatFamilies, Versions: m.versions, Cells: m.cells, Duration: took.Round(time.Second).String()}
	for _, row := range compatRows {
		res.Clients = append(res.Clients, row.client)
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Errorf("write compatibility results: %v", err)
	}
}

// recordingTB is a testing.TB that remembers the first error reported
// through it, for the cell's entry in the matrix.
type recordingTB struct {
	testing.TB
	mu    sync.Mutex
	first string
}

func (r *recordingTB) note(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == "" {
		r.first = harness.CompatErrorSummary(msg)
	}
}

func (r *recordingTB) firstError() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

func (r *recordingTB) Error(args ...any) {
	r.Helper()
	r.note(fmt.Sprint(args...))
	r.TB.Error(args...)
}
func (r *recordingTB) Fatal(args ...any) {
	r.Helper()
	r.note(fmt.Sprint(args...))
	r.TB.Fatal(args...)
}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.Helper()
	r.note(fmt.Sprintf(format, args...))
	r.TB.Errorf(format, args...)
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.Helper()
	r.note(fmt.Sprintf(format, args...))
	r.TB.Fatalf(format, args...)
}

// fetch GETs url (a presigned URL) with no credentials and returns the
// body; anything but 200 fails.
func (e *compatEnv) fetch(t testing.TB, url string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("presigned URL %q: %v", url, err)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("GET presigned URL: %v", err)
	}
	defer resp.Body.Close()
	body := readAllOrFatal(t, "presigned GET", resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned URL: status %d, want 200: %s", resp.StatusCode, body)
	}
	return body
}

// firstLine returns the first line of a command's output.
func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(line)
}
