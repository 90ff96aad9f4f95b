package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// TestWrapKeyStoreCountsStoreCalls runs the embedded KMS over a counted
// in-memory store: creating a key and the first use of it reach the
// store, later data keys and decryptions come from the KMS's cache and
// make no store call.
func TestWrapKeyStoreCountsStoreCalls(t *testing.T) {
	m := New()
	store := m.WrapKeyStore(&mem.Store{})
	if _, ok := store.(kmsclient.KeyUpdater); !ok {
		t.Fatal("the wrapper of a store with Update does not implement kmsclient.KeyUpdater")
	}
	k := kmsclient.New(store, kmsclient.Config{})
	t.Cleanup(func() { k.Close() })
	ctx := t.Context()
	calls := func() float64 {
		var n float64
		for _, call := range []string{"Create", "Get", "Delete", "List", "Status", "Update"} {
			for _, result := range []string{"ok", "key_exists", "key_not_found"} {
				n += testutil.ToFloat64(m.keystoreRequests.WithLabelValues(call, result))
			}
		}
		return n
	}

	if err := k.CreateKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.keystoreRequests.WithLabelValues("Create", "ok")); got != 1 {
		t.Errorf(`s3seal_keystore_requests_total{call="Create",result="ok"} = %v, want 1`, got)
	}
	if err := k.CreateKey(ctx, "k"); err == nil {
		t.Fatal("second CreateKey succeeded")
	}
	if got := testutil.ToFloat64(m.keystoreRequests.WithLabelValues("Create", "key_exists")); got != 1 {
		t.Errorf(`s3seal_keystore_requests_total{call="Create",result="key_exists"} = %v, want 1`, got)
	}
	dek, err := k.GenerateKey(ctx, "k", []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	warm := calls()
	for range 10 {
		if _, err := k.GenerateKey(ctx, "k", []byte("ctx")); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Decrypt(ctx, "k", dek.Ciphertext, []byte("ctx")); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls(); got != warm {
		t.Errorf("store calls after warm-up: %v more, want 0 (the KMS caches the key)", got-warm)
	}
	if _, err := k.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.keystoreRequests.WithLabelValues("Status", "ok")); got != 1 {
		t.Errorf(`s3seal_keystore_requests_total{call="Status",result="ok"} = %v, want 1`, got)
	}
	st, _ := k.Status(ctx)
	if _, ok := st.Endpoints["memory"]; !ok {
		t.Errorf("Status endpoints = %v, want the store's own name, memory", st.Endpoints)
	}
}
