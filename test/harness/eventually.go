package harness

import (
	"context"
	"testing"
	"time"
)

// Eventually calls check every 100 ms until it returns nil and fails the
// test with check's last error when timeout has passed. check gets a
// context that ends at the timeout.
func Eventually(t testing.TB, timeout time.Duration, check func(ctx context.Context) error) {
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
