package harness

import (
	"testing"

	"github.com/minio/minio-go/v7"
)

// Backend is an S3 store s3seal runs in front of, started for one test:
// MinIO (StartMinIO) or versitygw (StartVersityGW). StartGateway takes any
// Backend; tests that run over every backend get them from Backends.
type Backend interface {
	// Name names the backend in subtests and messages: "minio",
	// "versitygw".
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
	// scan it for plaintext.
	StorageDir() string
	// Features lists what the store supports that some tests need.
	Features() BackendFeatures
	// Stop stops the store now; the cleanup registered at start then does
	// nothing.
	Stop(t testing.TB)
}

// BackendFeatures lists what a backend supports among what some tests
// need.
type BackendFeatures struct {
	// Versioning: PutBucketVersioning, versionId on GET, HEAD, DELETE and
	// copy sources, ListObjectVersions.
	Versioning bool
}

// BackendKind names a backend the harness can start.
type BackendKind string

// The backends the harness starts. AllBackends is every one, in the order
// tests run them.
const (
	KindMinIO     BackendKind = "minio"
	KindVersityGW BackendKind = "versitygw"
)

// AllBackends is every backend kind `make test` runs the backend-
// parameterised tests over.
var AllBackends = []BackendKind{KindMinIO, KindVersityGW}

// StartBackend starts a backend of kind with its defaults.
func StartBackend(t testing.TB, kind BackendKind) Backend {
	t.Helper()
	switch kind {
	case KindMinIO:
		return StartMinIO(t)
	case KindVersityGW:
		return StartVersityGW(t)
	}
	t.Fatalf("unknown backend kind %q", kind)
	return nil
}

// Name implements Backend.
func (m *MinIO) Name() string { return string(KindMinIO) }

// URL implements Backend: Endpoint.
func (m *MinIO) URL() string { return m.Endpoint }

// Keys implements Backend: the root user and password.
func (m *MinIO) Keys() (accessKey, secretKey string) { return m.AccessKey, m.SecretKey }

// StorageDir implements Backend: DataDir.
func (m *MinIO) StorageDir() string { return m.DataDir }

// Features implements Backend: MinIO supports everything the tests need.
func (m *MinIO) Features() BackendFeatures { return BackendFeatures{Versioning: true} }
