package console

import (
	"testing"

	"go.uber.org/goleak"
)

// No test may leave a gateway handler goroutine of the in-process transport
// behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
