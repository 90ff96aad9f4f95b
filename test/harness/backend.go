package harness

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// Backend is an S3 store s3seal runs in front of, started for one test:
// MinIO (StartMinIO), versitygw (StartVersityGW), SeaweedFS
// (StartSeaweedFS), moto's S3 (StartMotoS3) or Ceph's RADOS Gateway
// (StartCephRGW). StartGateway takes any
// Backend; tests that run over every backend get them from AllBackends.
type Backend interface {
	// Name names the backend in subtests and messages: its BackendKind.
	Name() string
	// URL is the S3 endpoint, http://127.0.0.1:PORT.
	URL() string
	// Keys returns the credentials with full access to the store.
	Keys() (accessKey, secretKey string)
	// Host returns the host:port of URL.
	Host() string
	// Client returns a minio-go client that talks to the store directly,
	// bypassing the gateway: use it to inspect what was stored.
	Client(t testing.TB) *minio.Client
	// StorageDir is the directory the store keeps its data in; a test may
	// scan it for plaintext (how: Features().Storage). Empty for a store
	// that keeps objects in memory.
	StorageDir() string
	// Features lists what the store supports that some tests need.
	Features() BackendFeatures
	// Version is the store's version: the pinned module version of a
	// built peer, the package version of a system one.
	Version() string
	// Stop stops the store now; the cleanup registered at start then does
	// nothing.
	Stop(t testing.TB)
}

// S3Endpoint is where a started store answers S3 over http and the
// credentials with full access to it: the part of Backend that versitygw,
// SeaweedFS and Ceph RGW share, embedded in each.
type S3Endpoint struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
}

// URL implements Backend: Endpoint.
func (e *S3Endpoint) URL() string { return e.Endpoint }

// Keys implements Backend.
func (e *S3Endpoint) Keys() (accessKey, secretKey string) { return e.AccessKey, e.SecretKey }

// Host implements Backend: the host:port of Endpoint.
func (e *S3Endpoint) Host() string { return hostOf(e.Endpoint) }

// Client implements Backend: a minio-go client for the store with those
// credentials.
func (e *S3Endpoint) Client(t testing.TB) *minio.Client {
	t.Helper()
	return MinioGoClient(t, e.Endpoint, e.AccessKey, e.SecretKey, "us-east-1")
}

// BackendFeatures lists what a backend supports among what some tests
// need.
type BackendFeatures struct {
	// Versioning: PutBucketVersioning, versionId on GET, HEAD, DELETE and
	// copy sources, ListObjectVersions.
	Versioning bool
	// Storage says how objects are laid out under StorageDir.
	Storage StorageLayout
	// MetadataLimit: the store refuses more than AWS's 2 KiB of user
	// metadata with 400 MetadataTooLarge (MinIO, versitygw); s3seal's
	// sealed metadata counts against it. Without it (SeaweedFS, moto, Ceph
	// RGW) only the store's header limits apply.
	MetadataLimit bool
}

// StorageLayout says where a backend keeps an object's bytes, for the tests
// that scan the store's own files for plaintext.
type StorageLayout int

const (
	// StorageObjectFiles: the files of bucket/key are at or under
	// StorageDir/bucket/key (MinIO's xl.meta and part files, versitygw's
	// one file with extended attributes).
	StorageObjectFiles StorageLayout = iota
	// StorageVolumes: objects are records inside shared volume files
	// anywhere under StorageDir (SeaweedFS's needles in NNN.dat, its
	// metadata in the filer's leveldb); a scan reads every file.
	StorageVolumes
	// StorageMemory: nothing on disk to scan (moto keeps objects in
	// memory, Ceph's memstore OSD too); only what the store serves can be
	// checked.
	StorageMemory
)

// BackendKind names a backend the harness can start.
type BackendKind string

// The backends the harness starts, in the order tests run them.
const (
	KindMinIO BackendKind = "minio"
	// KindMinIONoCompat is MinIO started with --no-compat: it skips the
	// MD5 of stored bodies and answers random ETags, which spares it work
	// behind s3seal (OPERATIONS.md); s3seal must not notice.
	KindMinIONoCompat BackendKind = "minio-nocompat"
	KindVersityGW     BackendKind = "versitygw"
	KindSeaweedFS     BackendKind = "seaweedfs"
	KindMoto          BackendKind = "moto"
	KindCephRGW       BackendKind = "ceph"
)

// KnownBackends is every backend kind the harness can start.
var KnownBackends = []BackendKind{KindMinIO, KindMinIONoCompat, KindVersityGW, KindSeaweedFS, KindMoto, KindCephRGW}

// DefaultBackends are the kinds `make test` runs the backend-parameterised
// tests over: the two whose peers install-peers.sh builds by default.
var DefaultBackends = []BackendKind{KindMinIO, KindVersityGW}

// BackendsEnv names the environment variable that selects the backends
// the backend-parameterised tests run over: a comma-separated list of
// kinds ("minio,minio-nocompat,versitygw,seaweedfs,moto,ceph"), or "all". Unset or empty:
// DefaultBackends. `make test-backends` sets it to all.
const BackendsEnv = "S3SEAL_BACKENDS"

// AllBackends is what the backend-parameterised tests loop over: the kinds
// S3SEAL_BACKENDS selects, else DefaultBackends. An unknown name in it
// makes StartBackend fail the test that asks for it.
var AllBackends = selectBackends(os.Getenv(BackendsEnv))

// selectBackends parses the value of S3SEAL_BACKENDS.
func selectBackends(v string) []BackendKind {
	v = strings.TrimSpace(v)
	switch v {
	case "":
		return DefaultBackends
	case "all":
		return KnownBackends
	}
	var kinds []BackendKind
	for name := range strings.SplitSeq(v, ",") {
		k := BackendKind(strings.ToLower(strings.TrimSpace(name)))
		if k != "" && !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// StartBackend starts a backend of kind with its defaults.
func StartBackend(t testing.TB, kind BackendKind) Backend {
	t.Helper()
	switch kind {
	case KindMinIO:
		return StartMinIO(t)
	case KindMinIONoCompat:
		return StartMinIO(t, WithMinIOArgs("--no-compat"))
	case KindVersityGW:
		return StartVersityGW(t)
	case KindSeaweedFS:
		return StartSeaweedFS(t)
	case KindMoto:
		return StartMotoS3(t)
	case KindCephRGW:
		return StartCephRGW(t)
	}
	t.Fatalf("unknown backend kind %q in %s (known: %s)", kind, BackendsEnv, fmt.Sprint(KnownBackends))
	return nil
}

// Name implements Backend.
func (m *MinIO) Name() string { return string(m.kind) }

// URL implements Backend: Endpoint.
func (m *MinIO) URL() string { return m.Endpoint }

// Keys implements Backend: the root user and password.
func (m *MinIO) Keys() (accessKey, secretKey string) { return m.AccessKey, m.SecretKey }

// StorageDir implements Backend: DataDir.
func (m *MinIO) StorageDir() string { return m.DataDir }

// Version implements Backend: the pinned module version.
func (m *MinIO) Version() string { return pinnedVersion("minio") }

// Features implements Backend: MinIO supports everything the tests need.
func (m *MinIO) Features() BackendFeatures {
	return BackendFeatures{Versioning: true, Storage: StorageObjectFiles, MetadataLimit: true}
}

// pinnedVersion is the version install-peers.sh pins for name, or why it
// is unknown.
func pinnedVersion(name string) string {
	root, err := repoRoot()
	if err != nil {
		return "unknown: " + err.Error()
	}
	pins, err := pinnedVersions(root)
	if err != nil {
		return "unknown: " + err.Error()
	}
	return pins[name]
}

// LogBackend logs the backend's name and version in a line the backend
// table's generator (test/compatgen -backends) reads from go test -json.
func LogBackend(t testing.TB, b Backend) {
	t.Helper()
	t.Logf("%s%s %s", backendLogPrefix, b.Name(), b.Version())
}

// Unsupported logs that the backend lacks feature and answers err, which
// the test has checked reaches the client as the backend's own error; the
// backend table shows the cell as unsupported with that error.
func Unsupported(t testing.TB, feature string, err error) {
	t.Helper()
	t.Logf("%s%s: %v", unsupportedLogPrefix, feature, err)
}

const (
	backendLogPrefix     = "s3seal-backend: "
	unsupportedLogPrefix = "s3seal-backend-unsupported: "
)
