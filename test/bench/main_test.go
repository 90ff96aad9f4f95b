//go:build bench

package bench

import (
	"flag"
	"testing"

	"github.com/s3seal/s3seal/test/harness"
)

var (
	outPath = flag.String("out", "", "write the Markdown report to this file, replacing it; empty: only log it")
	rounds  = flag.Int("rounds", 5, "timed rounds of every gateway-vs-direct comparison")
	onDisk  = flag.Bool("backend-on-disk", false, "keep MinIO's data on disk under TMPDIR instead of in tmpfs (/dev/shm)")
)

func TestMain(m *testing.M) { harness.Main(m) }
