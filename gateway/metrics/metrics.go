package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/s3seal/s3seal/gateway"
)

// Metrics holds s3seal's collectors and the registry they are served from.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	userRequests    *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	bytesEncrypted  prometheus.Counter
	bytesDecrypted  prometheus.Counter

	kmsRequests *prometheus.CounterVec
	kmsDuration *prometheus.HistogramVec
	kmsErrors   *prometheus.CounterVec

	keystoreRequests *prometheus.CounterVec
	keystoreDuration *prometheus.HistogramVec

	backendRequests *prometheus.CounterVec
	backendErrors   *prometheus.CounterVec
	backendDuration *prometheus.HistogramVec

	unsealedRefusals *prometheus.CounterVec
	legacyReads      *prometheus.CounterVec
}

// Latency buckets: S3 requests and backend requests span milliseconds (HEAD)
// to minutes (large uploads); KMS calls are usually sub-millisecond cache
// hits, with key-store round trips in the milliseconds.
var (
	requestBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 14)  // 1ms … ~2.5min
	kmsBuckets     = prometheus.ExponentialBuckets(0.0001, 2.5, 12) // 0.1ms … ~2.4s
)

// New returns Metrics registered in a new registry, together with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_requests_total",
			Help: "Requests served, by operation (route name) and HTTP status code.",
		}, []string{"operation", "code"}),
		userRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_user_requests_total",
			Help: "Requests by the long-term access key that made them (the parent of temporary credentials), \"anonymous\" or \"unauthenticated\", and HTTP status code.",
		}, []string{"user", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "s3seal_request_duration_seconds",
			Help:    "Time from receiving a request to finishing its response, by operation.",
			Buckets: requestBuckets,
		}, []string{"operation"}),
		bytesEncrypted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "s3seal_bytes_encrypted_total",
			Help: "Plaintext bytes received from clients and encrypted (PutObject, UploadPart).",
		}),
		bytesDecrypted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "s3seal_bytes_decrypted_total",
			Help: "Plaintext bytes decrypted and sent to clients (GetObject).",
		}),
		kmsRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_kms_requests_total",
			Help: "KMS calls, by method and result.",
		}, []string{"call", "result"}),
		kmsDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "s3seal_kms_request_duration_seconds",
			Help:    "Latency of KMS calls, by method.",
			Buckets: kmsBuckets,
		}, []string{"call"}),
		kmsErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_kms_errors_total",
			Help: "KMS calls that failed other than with an expected answer (key exists, key not found, invalid name, canceled).",
		}, []string{"call"}),
		keystoreRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_keystore_requests_total",
			Help: "Calls of the embedded KMS to its key store (file system, Secrets Manager), by method and result; 0 for an external KES server.",
		}, []string{"call", "result"}),
		keystoreDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "s3seal_keystore_request_duration_seconds",
			Help:    "Latency of key-store calls, by method.",
			Buckets: kmsBuckets,
		}, []string{"call"}),
		backendRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_backend_requests_total",
			Help: "Requests to the backend, by HTTP method and status class (unreachable: no response).",
		}, []string{"method", "status_class"}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_backend_errors_total",
			Help: "Backend requests that failed in transport or were answered with a 5xx status.",
		}, []string{"method"}),
		backendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "s3seal_backend_request_duration_seconds",
			Help:    "Time until the backend's response headers, by HTTP method.",
			Buckets: requestBuckets,
		}, []string{"method"}),
		unsealedRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_unencrypted_object_refusals_total",
			Help: "Reads refused because the object in an encrypted bucket has no s3seal metadata (written to the backend directly, or stripped), by operation.",
		}, []string{"operation"}),
		legacyReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s3seal_legacy_plaintext_reads_total",
			Help: "Objects without s3seal metadata served as stored from a legacy plaintext read bucket, by operation.",
		}, []string{"operation"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.userRequests, m.requestDuration, m.bytesEncrypted, m.bytesDecrypted,
		m.kmsRequests, m.kmsDuration, m.kmsErrors,
		m.keystoreRequests, m.keystoreDuration,
		m.backendRequests, m.backendErrors, m.backendDuration,
		m.unsealedRefusals, m.legacyReads,
	)
	return m
}

// Registry returns the registry the metrics are registered in, for
// registering more collectors or gathering in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Operations whose byte counts are plaintext that went through the crypto
// pipeline. Copies also encrypt and decrypt, but the bytes they move never
// cross the client connection, so RequestInfo does not report them.
var (
	encryptingOps = map[string]bool{"PutObject": true, "UploadPart": true}
	decryptingOps = map[string]bool{"GetObject": true}
)

// ObserveRequest records one finished request. It has the signature of
// gateway.Config.Observe.
func (m *Metrics) ObserveRequest(info gateway.RequestInfo) {
	m.requests.WithLabelValues(info.Operation, strconv.Itoa(info.Status)).Inc()
	m.userRequests.WithLabelValues(requestUser(info), strconv.Itoa(info.Status)).Inc()
	m.requestDuration.WithLabelValues(info.Operation).Observe(info.Duration.Seconds())
	if !info.Encrypted {
		return
	}
	switch {
	case encryptingOps[info.Operation]:
		m.bytesEncrypted.Add(float64(info.BytesIn))
	case decryptingOps[info.Operation]:
		m.bytesDecrypted.Add(float64(info.BytesOut))
	}
}

// requestUser is the user label of a request: temporary credentials count
// for their parent, so the label's values are bounded by the number of
// long-term keys (each AssumeRole mints a new access key, which the audit
// log names). Requests refused before authentication name no user: their
// access key is whatever the client claimed.
func requestUser(info gateway.RequestInfo) string {
	switch {
	case info.Anonymous:
		return "anonymous"
	case info.ParentUser != "":
		return info.ParentUser
	case info.AccessKey != "":
		return info.AccessKey
	}
	return "unauthenticated"
}

// ObserveBackend records one backend request. It has the signature of
// gateway.Config.ObserveBackend: status is 0 when the backend could not be
// reached, and err is the transport error, if any.
func (m *Metrics) ObserveBackend(method string, status int, err error, d time.Duration) {
	m.backendRequests.WithLabelValues(method, statusClass(status)).Inc()
	m.backendDuration.WithLabelValues(method).Observe(d.Seconds())
	if err != nil || status >= 500 {
		m.backendErrors.WithLabelValues(method).Inc()
	}
}

// ObserveUnsealedRead records a read of an object without s3seal metadata
// in an encrypted bucket. It has the signature of
// gateway.Config.ObserveUnsealedRead.
func (m *Metrics) ObserveUnsealedRead(operation string, refused bool) {
	if refused {
		m.unsealedRefusals.WithLabelValues(operation).Inc()
		return
	}
	m.legacyReads.WithLabelValues(operation).Inc()
}

func statusClass(status int) string {
	switch {
	case status >= 100 && status < 600:
		return strconv.Itoa(status/100) + "xx"
	default:
		return "unreachable"
	}
}

// Handler serves the metrics in the Prometheus exposition format. With a
// non-empty token, requests must carry "Authorization: Bearer TOKEN" and are
// answered 401 otherwise; an empty token serves everyone.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Comparing digests keeps the comparison constant-time regardless
		// of the presented value's length.
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="s3seal metrics"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
