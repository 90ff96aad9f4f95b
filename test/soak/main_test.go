//go:build soak

package soak

import (
	"flag"
	"testing"
	"time"

	"github.com/s3seal/s3seal/test/harness"
)

var (
	duration = flag.Duration("duration", 150*time.Second, "how long the clients keep starting operations")
	clients  = flag.Int("clients", 32, "concurrent clients, each in its own key space")
	maxOps   = flag.Int("ops", 0, "stop after this many operations in all; 0: only -duration bounds the run")
	interval = flag.Duration("sample", 5*time.Second, "how often the gateway's goroutines, fds and RSS are sampled")
	outPath  = flag.String("out", "", "replace the Soak section of this Markdown file (BENCHMARKS.md); empty: only log it")
)

func TestMain(m *testing.M) { harness.Main(m) }
