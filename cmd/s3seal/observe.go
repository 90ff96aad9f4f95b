package main

import (
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway"
	"github.com/s3seal/s3seal/gateway/audit"
	"github.com/s3seal/s3seal/gateway/metrics"
	"github.com/s3seal/s3seal/kmsclient"
)

// observability is what the gateway reports to: Prometheus metrics, served
// at /metrics, and the optional audit log. serve builds one per process and
// closes it after the HTTP server has shut down.
type observability struct {
	log     *zap.Logger
	metrics *metrics.Metrics
	token   string        // metrics.token; empty: /metrics is open
	audit   *audit.Logger // nil: audit.path is unset
}

// newObservability builds the metrics registry and opens the audit log that
// cfg names (S3SEAL_AUDIT_LOG, S3SEAL_METRICS_TOKEN).
func newObservability(cfg *fileConfig, log *zap.Logger) (*observability, error) {
	o := &observability{log: log, metrics: metrics.New(), token: cfg.Metrics.Token}
	if cfg.Audit.Path != "" {
		a, err := audit.Open(cfg.Audit.Path)
		if err != nil {
			return nil, fmt.Errorf("S3SEAL_AUDIT_LOG (audit.path): %w", err)
		}
		o.audit = a
	}
	return o, nil
}

// WrapKeyStore returns s instrumented with key-store call metrics.
func (o *observability) WrapKeyStore(s kmsclient.KeyStore) kmsclient.KeyStore {
	return o.metrics.WrapKeyStore(s)
}

// WrapKMS returns k instrumented with KMS call metrics.
func (o *observability) WrapKMS(k gateway.KMS) gateway.KMS { return o.metrics.WrapKMS(k) }

// Observe is the gateway.Config.Observe hook: it counts the request and
// writes its audit line.
func (o *observability) Observe(info gateway.RequestInfo) {
	o.metrics.ObserveRequest(info)
	if o.audit == nil {
		return
	}
	if err := o.audit.Log(info); err != nil {
		o.log.Error("write audit record", zap.String("request_id", info.RequestID), zap.Error(err))
	}
}

// ObserveBackend is the gateway.Config.ObserveBackend hook.
func (o *observability) ObserveBackend(method string, status int, err error, d time.Duration) {
	o.metrics.ObserveBackend(method, status, err, d)
}

// ObserveUnsealedRead is the gateway.Config.ObserveUnsealedRead hook.
func (o *observability) ObserveUnsealedRead(operation string, refused bool) {
	o.metrics.ObserveUnsealedRead(operation, refused)
}

// MetricsHandler is the gateway.Config.Metrics handler: it requires the
// bearer token when one is configured.
func (o *observability) MetricsHandler() http.Handler { return o.metrics.Handler(o.token) }

// Close closes the audit log; requests finishing later are not audited and
// each logs an error.
func (o *observability) Close() {
	if o.audit == nil {
		return
	}
	if err := o.audit.Close(); err != nil {
		o.log.Error("close audit log", zap.Error(err))
	}
}
