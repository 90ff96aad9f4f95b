package kmsclient

import "time"

// EndpointState is the reachability of one KMS endpoint as MinIO's admin
// API reports it.
type EndpointState string

// Endpoint states.
const (
	EndpointOnline  EndpointState = "online"
	EndpointOffline EndpointState = "offline"
)

// Status describes a KMS. Its JSON encoding is the body of MinIO's
// GET /minio/kms/v1/status (madmin.KMSStatus).
type Status struct {
	// Name names the kind of KMS, e.g. "embedded" or "KES".
	Name string `json:"name"`
	// DefaultKeyID is the key used when a request names none. The KMS
	// does not know it and leaves it empty; the caller fills it in.
	DefaultKeyID string `json:"default-key-id"`
	// Endpoints maps each key store or server endpoint to its state.
	Endpoints map[string]EndpointState `json:"endpoints"`
	// State is a snapshot of the KMS.
	State State `json:"state"`
}

// State is a KMS snapshot. Field names and types follow madmin.KMSState,
// which has no JSON tags, so this encodes the same way.
type State struct {
	Version           string
	KeyStoreLatency   time.Duration
	KeyStoreReachable bool
	KeystoreAvailable bool

	OS         string
	Arch       string
	UpTime     time.Duration
	CPUs       int
	UsableCPUs int
	HeapAlloc  uint64
	StackAlloc uint64
}
