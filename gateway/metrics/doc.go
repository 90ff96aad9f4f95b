// Package metrics exposes s3seal's Prometheus metrics.
//
// A Metrics owns a dedicated prometheus.Registry (never the global default
// one) with the Go runtime and process collectors and these s3seal metrics:
//
//	s3seal_requests_total{operation,code}            S3 and admin requests by route name and HTTP status
//	s3seal_user_requests_total{user,code}            requests by long-term access key (temporary credentials count
//	                                                 for their parent), "anonymous" or "unauthenticated"
//	s3seal_request_duration_seconds{operation}       their latency (histogram)
//	s3seal_bytes_encrypted_total                     plaintext bytes received and encrypted (PutObject, UploadPart)
//	s3seal_bytes_decrypted_total                     plaintext bytes decrypted and sent (GetObject)
//	s3seal_kms_requests_total{call,result}           KMS calls by method and outcome
//	s3seal_kms_request_duration_seconds{call}        their latency (histogram)
//	s3seal_kms_errors_total{call}                    KMS calls that failed unexpectedly (see WrapKMS)
//	s3seal_keystore_requests_total{call,result}      calls of the embedded KMS to its key store (see WrapKeyStore)
//	s3seal_keystore_request_duration_seconds{call}   their latency (histogram)
//	s3seal_backend_requests_total{method,status_class} backend requests by HTTP method and 2xx…5xx, or "unreachable"
//	s3seal_backend_errors_total{method}              backend transport errors and 5xx answers
//	s3seal_backend_request_duration_seconds{method}  their latency (histogram)
//	s3seal_unencrypted_object_refusals_total{operation} reads refused: object without s3seal metadata in an encrypted bucket
//	s3seal_legacy_plaintext_reads_total{operation}   such objects served from a legacy plaintext read bucket
//
// The gateway feeds it through its hooks: ObserveRequest is a
// gateway.Config.Observe, ObserveBackend a gateway.Config.ObserveBackend,
// ObserveUnsealedRead a gateway.Config.ObserveUnsealedRead,
// Handler a gateway.Config.Metrics, WrapKMS decorates the gateway's KMS and
// WrapKeyStore the embedded KMS's key store.
// This package imports gateway, never the other way round.
package metrics
