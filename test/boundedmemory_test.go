package test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// The gateway streams: a 200 MiB object moves through it with bounded
// resident memory.

// clientsMaxRSSGrowth bounds how much the gateway's resident memory may grow
// while it streams a 200 MiB object: it must stream with bounded buffers,
// not hold objects or parts in memory.
const clientsMaxRSSGrowth = 128 * mib

// clientsBigBucket holds the 200 MiB object and its copies, clientsBigKeys.
const clientsBigBucket = "clients-big"

var clientsBigKeys = []string{"big200", "big200-copy", "big200-swapped"}

// clientsBigObject uploads, downloads and copies (CopyObject through mc,
// UploadPartCopy through minio-go's ComposeObject) a 200 MiB object while
// sampling the gateway's resident memory. The file it uploads is dir/big200.
func clientsBigObject(t *testing.T, s *stack, mc *harness.MCClient, dir string) {
	const (
		bucket = clientsBigBucket
		size   = 200 * mib
		half   = size / 2
	)
	src := filepath.Join(dir, "big200")
	wantSum := clientsWriteFile(t, src, "big200", size)
	mc.Must(t, "mb", "gw/"+bucket)
	gwc := s.gw.Client(t)
	pid := s.gw.PID()

	t.Run("mc cp up", func(t *testing.T) {
		growth := clientsRSSGrowth(t, pid, func() { mc.Must(t, "cp", src, "gw/"+bucket+"/big200") })
		clientsAssertRSSGrowth(t, "mc cp of 200 MiB to the gateway", growth)
		clientsAssertListed(t, gwc, bucket, map[string]int64{"big200": size}, false)
	})

	t.Run("mc cp down", func(t *testing.T) {
		dst := filepath.Join(dir, "big200.down")
		growth := clientsRSSGrowth(t, pid, func() { mc.Must(t, "cp", "gw/"+bucket+"/big200", dst) })
		clientsAssertRSSGrowth(t, "mc cp of 200 MiB from the gateway", growth)
		clientsAssertFileSum(t, dst, size, wantSum)
	})

	t.Run("mc cp server-side copy", func(t *testing.T) {
		var r harness.Result
		growth := clientsRSSGrowth(t, pid, func() {
			r = mc.Must(t, "--debug", "cp", "gw/"+bucket+"/big200", "gw/"+bucket+"/big200-copy")
		})
		// Without X-Amz-Copy-Source mc would have copied through itself and
		// the gateway's memory would not have been tested on the copy path.
		if !strings.Contains(r.Stderr, "X-Amz-Copy-Source: "+bucket+"/big200") {
			t.Errorf("mc --debug trace lacks X-Amz-Copy-Source: %s/big200, want a server-side copy", bucket)
		}
		clientsAssertRSSGrowth(t, "server-side copy of 200 MiB", growth)
		if got, n := clientsObjectSum(t, gwc, bucket, "big200-copy"); got != wantSum || n != size {
			t.Errorf("copy big200-copy: got %d bytes, sha256 %s; want %d bytes, sha256 %s", n, got, size, wantSum)
		}
	})

	t.Run("ComposeObject from two 100 MiB part copies", func(t *testing.T) {
		// The halves are composed in swapped order, so a gateway that
		// ignored x-amz-copy-source-range could not produce the content.
		srcs := []minio.CopySrcOptions{
			{Bucket: bucket, Object: "big200", MatchRange: true, Start: half, End: size - 1},
			{Bucket: bucket, Object: "big200", MatchRange: true, Start: 0, End: half - 1},
		}
		var info minio.UploadInfo
		var err error
		growth := clientsRSSGrowth(t, pid, func() {
			info, err = gwc.ComposeObject(t.Context(), minio.CopyDestOptions{Bucket: bucket, Object: "big200-swapped"}, srcs...)
		})
		if err != nil {
			t.Fatalf("ComposeObject: %v", err)
		}
		clientsAssertRSSGrowth(t, "UploadPartCopy of 2 × 100 MiB", growth)
		if !strings.HasSuffix(strings.Trim(info.ETag, `"`), "-2") {
			t.Errorf("ComposeObject ETag = %q, want a 2-part multipart ETag", info.ETag)
		}
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, io.MultiReader(io.NewSectionReader(f, half, half), io.NewSectionReader(f, 0, half))); err != nil {
			t.Fatal(err)
		}
		want := hex.EncodeToString(h.Sum(nil))
		if got, n := clientsObjectSum(t, gwc, bucket, "big200-swapped"); got != want || n != size {
			t.Errorf("composed big200-swapped: got %d bytes, sha256 %s; want %d bytes, sha256 %s", n, got, size, want)
		}
	})

	t.Run("listing", func(t *testing.T) {
		want := map[string]int64{}
		for _, key := range clientsBigKeys {
			want[key] = size
		}
		clientsAssertListed(t, gwc, bucket, want, true)
		clientsAssertSizes(t, "mc ls", mcListSizes(t, mc, "gw/"+bucket+"/"), want)
	})
}

// clientsRSSGrowth runs op while sampling the resident set size of process
// pid every 50 ms and returns the peak growth over the size just before op.
func clientsRSSGrowth(t *testing.T, pid int, op func()) int64 {
	t.Helper()
	baseline, err := clientsRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		peak    = baseline
		samples int
		sampErr error
	)
	sample := func() {
		rss, err := clientsRSS(pid)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			sampErr = err
			return
		}
		samples++
		peak = max(peak, rss)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				sample()
			}
		}
	}()
	start := time.Now()
	func() {
		// op may end the test's goroutine (t.Fatal): stop sampling anyway.
		defer func() { close(done); <-stopped }()
		op()
	}()
	sample()
	mu.Lock()
	defer mu.Unlock()
	if sampErr != nil {
		t.Errorf("sample gateway RSS: %v", sampErr)
	}
	t.Logf("gateway RSS: baseline %.1f MiB, peak %.1f MiB, growth %.1f MiB over %d samples in %v",
		float64(baseline)/mib, float64(peak)/mib, float64(peak-baseline)/mib, samples, time.Since(start).Round(time.Millisecond))
	return peak - baseline
}

func clientsAssertRSSGrowth(t *testing.T, what string, growth int64) {
	t.Helper()
	if growth >= clientsMaxRSSGrowth {
		t.Errorf("%s: gateway RSS grew by %.1f MiB, want less than %d MiB", what, float64(growth)/mib, clientsMaxRSSGrowth/mib)
	}
}

// clientsRSS returns VmRSS of process pid in bytes.
func clientsRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS of pid %d: %q: %w", pid, line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
