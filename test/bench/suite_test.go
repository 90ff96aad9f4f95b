//go:build bench

package bench

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/s3seal/s3seal/test/harness"
)

// TestBenchmarks runs every measurement in one go, against one MinIO and
// one gateway, and writes the report to -out. A missed target is reported,
// not failed: the figures depend on the machine. A failed request or a
// corrupted round trip fails the test.
func TestBenchmarks(t *testing.T) {
	rep := &report{started: time.Now()}
	backendStorage := useTmpfs(t)
	binary := privateGatewayCopy(t)
	loadBefore := loadAverage()

	// The crypto pipeline runs first, while no server is competing for
	// the CPU.
	t.Run("crypto pipeline", func(t *testing.T) { measureCryptoPipeline(t, rep) })

	s := startServers(t)
	rep.machine = [][2]string{
		{"CPUs (nproc)", fmt.Sprint(numCPU())},
		{"CPU model", cpuModel()},
		{"Memory", memTotal()},
		{"Go", fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)},
		{"s3seal", "`" + harness.Version(t) + "`, " + binary},
		{"MinIO", "pinned in test/install-peers.sh, one drive each, " + backendStorage + ", same machine: per transport one plain " +
			"(reached directly, through the bare forwarder and through s3seal), one with MINIO_KMS_SECRET_KEY (its own SSE-KMS), " +
			"one started with --no-compat (reached through a second forwarder and a second s3seal)"},
		{"Client", "minio-go v7 in the test process on 127.0.0.1, over http and over https (TLS 1.3, ECDSA P-256 certificates)"},
		{"Suite settings", fmt.Sprintf("-rounds %d, -backend-on-disk=%v", *rounds, *onDisk)},
	}

	// Memory first: the gateway is fresh, so its idle RSS is what a newly
	// started gateway holds.
	t.Run("memory", func(t *testing.T) { measureMemory(t, s, rep) })
	t.Run("64 MiB objects", func(t *testing.T) { measureLargeObjects(t, s, rep) })
	t.Run("4 KiB objects", func(t *testing.T) { measureSmallObjects(t, s, rep) })
	t.Run("scale", func(t *testing.T) { measureScale(t, s, rep) })

	rep.duration = time.Since(rep.started)
	loadAfter := loadAverage()
	rep.machine = append(rep.machine, [2]string{"Load average (1/5/15 min) before → after", loadBefore + " → " + loadAfter})
	rep.noise = []string{
		fmt.Sprintf("This is a shared %d-core machine: other jobs ran alongside (load average %s before, %s after). "+
			"Medians of alternating rounds absorb short disturbances; the per-round ratio ranges show how far single rounds strayed.",
			numCPU(), loadBefore, loadAfter),
		"The client, s3seal and MinIO run on the same cores, and fourteen servers (per transport three MinIOs, two gateways and " +
			"two bare forwarders) share them, idle ones included. Through s3seal every byte is handled by one more process " +
			"(over http it verifies the client's streaming SigV4 chunk signatures; it runs AES-256-GCM and makes a second HTTP request, to " +
			"MinIO, which then hashes nothing as it is sent UNSIGNED-PAYLOAD), and that CPU " +
			"comes out of the same budget MinIO and the client use: when \"Cores busy: whole machine\" is near 100%, a ratio measures CPU " +
			"contention on this machine as much as the gateway's own latency; the CPU-time ratio is then the better guide to what " +
			"the gateway costs. A gateway on cores of its own would likely show lower time ratios; one 2-core machine cannot show it.",
		"MinIO's drive is " + backendStorage + ". In RAM, PUT costs CPU only and no disk shared with other jobs adds " +
			"its own noise (`-args -backend-on-disk` puts it on disk instead).",
		"MinIO keeps what an overwrite or a delete replaces in its trash (.minio.sys/tmp/.trash) and empties it first five " +
			"minutes after it starts; on drives in RAM the rewritten 64 MiB objects of six MinIOs then filled the machine's memory " +
			"until the kernel's OOM killer ended a MinIO in the scale section (the failures of earlier runs). The suite empties " +
			"the trash itself between timed runs, outside the timing.",
		"The gateway runs from a byte-identical copy of the binary, named bench-gateway, so that a `pkill -f bin/s3seal` " +
			"by another job on a shared machine cannot stop it mid-run (that happened twice while the suite was written).",
	}
	if t.Failed() {
		rep.noise = append(rep.noise, "**The run failed; the report is incomplete.**")
	}

	md := rep.markdown()
	t.Log("\n" + md)
	if *outPath == "" {
		return
	}
	// The Soak section belongs to make soak (test/soak), the MD5 ETags
	// one to TestBenchmarksMD5ETags; keep them.
	if old, err := os.ReadFile(*outPath); err == nil {
		for _, title := range []string{"Soak", md5Section} {
			if sec := harness.MarkdownSection(string(old), title); sec != "" {
				md = harness.ReplaceMarkdownSection(md, title, sec)
			}
		}
	}
	if err := os.WriteFile(*outPath, []byte(md), 0o644); err != nil {
		t.Fatalf("write report: %v", err)
	}
	t.Logf("wrote %s (%d bytes)", *outPath, len(md))
	if misses := strings.Count(md, verdict(false)); misses > 0 {
		t.Logf("%d rows miss their target; see the report", misses)
	}
}

// privateGatewayCopy runs the gateway from a private copy of S3SEAL_BIN:
// another job's `pkill -f bin/s3seal` on this shared machine once ended a
// run in the middle of a measurement, twice. A byte-identical copy under
// another name was not hit again.
func privateGatewayCopy(t *testing.T) string {
	t.Helper()
	if src := harness.PrivateGatewayCopy(t, "bench-gateway"); src != "" {
		return fmt.Sprintf("%s (run from a private copy, see Noise)", src)
	}
	return "built by the harness from ./cmd/s3seal"
}

// useTmpfs points TMPDIR, and so the temporary directories of the test and
// of the servers the harness starts, at a fresh directory in /dev/shm,
// unless -backend-on-disk is set or /dev/shm is unusable. It returns where
// MinIO's drive is, for the report. It must run before the test's first
// TempDir call, which fixes the test's temporary root.
func useTmpfs(t *testing.T) string {
	t.Helper()
	if *onDisk {
		return "on local disk (" + os.TempDir() + ")"
	}
	dir, err := os.MkdirTemp("/dev/shm", "s3seal-bench-")
	if err != nil {
		t.Logf("tmpfs unusable (%v); MinIO keeps its data on disk", err)
		return "on local disk (" + os.TempDir() + ", /dev/shm unusable)"
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("TMPDIR", dir)
	return "in RAM (tmpfs, /dev/shm)"
}
