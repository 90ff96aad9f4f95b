package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/s3seal/s3seal/gateway"
	"github.com/s3seal/s3seal/kmsclient"
)

// instrumentedKMS counts and times the calls it passes to a gateway.KMS.
type instrumentedKMS struct {
	next gateway.KMS
	m    *Metrics
}

var _ gateway.KMS = (*instrumentedKMS)(nil)

// WrapKMS returns a gateway.KMS that forwards every call to k unchanged
// (results and errors included) and records it in
// s3seal_kms_requests_total{call,result}, s3seal_kms_request_duration_seconds
// and, unless the error is an expected answer (kmsclient.ErrKeyExists,
// ErrKeyNotFound, ErrInvalidKeyName, or a canceled context),
// s3seal_kms_errors_total. The call label is the method name.
func (m *Metrics) WrapKMS(k gateway.KMS) gateway.KMS {
	return &instrumentedKMS{next: k, m: m}
}

func (k *instrumentedKMS) observe(call string, start time.Time, err error) {
	result := kmsResult(err)
	k.m.kmsRequests.WithLabelValues(call, result).Inc()
	k.m.kmsDuration.WithLabelValues(call).Observe(time.Since(start).Seconds())
	switch result {
	case "ok", "key_exists", "key_not_found", "invalid_key_name", "canceled":
	default:
		k.m.kmsErrors.WithLabelValues(call).Inc()
	}
}

// kmsResult names the outcome of a KMS call; the set is fixed so the label
// stays low-cardinality.
func kmsResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, kmsclient.ErrKeyExists):
		return "key_exists"
	case errors.Is(err, kmsclient.ErrKeyNotFound):
		return "key_not_found"
	case errors.Is(err, kmsclient.ErrInvalidKeyName):
		return "invalid_key_name"
	case errors.Is(err, kmsclient.ErrDecrypt):
		return "decrypt_failed"
	case errors.Is(err, kmsclient.ErrNotAllowed):
		return "not_allowed"
	case errors.Is(err, kmsclient.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "error"
	}
}

func (k *instrumentedKMS) CreateKey(ctx context.Context, name string) error {
	start := time.Now()
	err := k.next.CreateKey(ctx, name)
	k.observe("CreateKey", start, err)
	return err
}

func (k *instrumentedKMS) GenerateKey(ctx context.Context, name string, keyContext []byte) (kmsclient.DEK, error) {
	start := time.Now()
	dek, err := k.next.GenerateKey(ctx, name, keyContext)
	k.observe("GenerateKey", start, err)
	return dek, err
}

func (k *instrumentedKMS) Decrypt(ctx context.Context, name string, ciphertext, keyContext []byte) ([]byte, error) {
	start := time.Now()
	plaintext, err := k.next.Decrypt(ctx, name, ciphertext, keyContext)
	k.observe("Decrypt", start, err)
	return plaintext, err
}

func (k *instrumentedKMS) ListKeys(ctx context.Context, pattern string) ([]kmsclient.KeyInfo, error) {
	start := time.Now()
	keys, err := k.next.ListKeys(ctx, pattern)
	k.observe("ListKeys", start, err)
	return keys, err
}

func (k *instrumentedKMS) Status(ctx context.Context) (kmsclient.Status, error) {
	start := time.Now()
	st, err := k.next.Status(ctx)
	k.observe("Status", start, err)
	return st, err
}

func (k *instrumentedKMS) RotateKey(ctx context.Context, name string) (int, error) {
	start := time.Now()
	version, err := k.next.RotateKey(ctx, name)
	k.observe("RotateKey", start, err)
	return version, err
}
