//go:build bench

package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

const (
	memorySize = 1 << 30
	// memoryPartSize and memoryThreads are the multipart upload's: 16 MiB
	// parts, four uploading at once (minio-go's ConcurrentStreamParts).
	memoryPartSize = 16 << 20
	memoryThreads  = 4
	rssInterval    = 50 * time.Millisecond
	// memoryTarget is the most the gateway's resident memory may grow,
	// over its post-warm-up baseline, while it streams 1 GiB.
	memoryTarget = 64 << 10 // KiB
)

// pseudoRandom is a stream of n pseudo-random bytes generated as they are
// read, so a 1 GiB object never sits in the client's memory. A seed always
// gives the same bytes.
type pseudoRandom struct {
	rng  *rand.ChaCha8
	left int64
}

func newPseudoRandom(seed uint64, n int64) *pseudoRandom {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &pseudoRandom{rng: rand.NewChaCha8(s), left: n}
}

func (p *pseudoRandom) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.left)]
	p.rng.Read(b)
	p.left -= int64(len(b))
	return len(b), nil
}

func pseudoRandomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	newPseudoRandom(seed, int64(n)).Read(b)
	return b
}

// readStatusKiB reads a "kB" field such as VmRSS or VmHWM of
// /proc/<pid>/status.
func readStatusKiB(pid int, field string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	var kib int64
	if _, err := fmt.Sscanf(statusField(status, field), "%d kB", &kib); err != nil {
		return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
	}
	return kib, nil
}

// resetPeakRSS sets pid's VmHWM to its current VmRSS (Linux ≥ 4.0), so
// VmHWM afterwards is the peak of one phase.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// rssSampler polls a process's VmRSS and keeps the highest value.
type rssSampler struct {
	stop    chan struct{}
	done    sync.WaitGroup
	peak    int64
	samples int
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.done.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if kib, err := readStatusKiB(pid, "VmRSS"); err == nil {
				s.peak = max(s.peak, kib)
				s.samples++
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

// finish stops sampling and returns the highest VmRSS seen.
func (s *rssSampler) finish() (peakKiB int64, samples int) {
	close(s.stop)
	s.done.Wait()
	return s.peak, s.samples
}

// memoryPhase is one 1 GiB transfer through the gateway.
type memoryPhase struct {
	name string
	run  func(ctx context.Context) error
}

type memoryResult struct {
	name              string
	before, peak, hwm int64 // KiB
	samples           int
	wall              time.Duration
	hwmReset          bool
}

// measureMemory streams 1 GiB through the gateway's SSE-KMS bucket four
// times (single PUT, its GET, a multipart PUT, its GET) and records the
// gateway's resident memory meanwhile. GETs hash what they read and must
// match what was sent.
func measureMemory(t *testing.T, s *servers, rep *report) {
	ctx := t.Context()
	tg := s.kms
	c := tg.client(t)
	pid := s.gw.PID()
	buf := make([]byte, copyBufferSize)

	put := func(object string, seed uint64, size int64, opts minio.PutObjectOptions) func(context.Context) ([]byte, error) {
		return func(ctx context.Context) ([]byte, error) {
			h := sha256.New()
			src := io.TeeReader(newPseudoRandom(seed, size), h)
			putSize := size
			if !opts.DisableMultipart {
				putSize = -1 // unknown length: minio-go streams parts as it reads
			}
			if _, err := c.PutObject(ctx, tg.bucket, object, src, putSize, opts); err != nil {
				return nil, fmt.Errorf("PUT %s/%s: %w", tg.bucket, object, err)
			}
			return h.Sum(nil), nil
		}
	}
	get := func(object string, size int64, want *[]byte) func(context.Context) error {
		return func(ctx context.Context) error {
			h := sha256.New()
			if err := getInto(ctx, c, tg, object, h, buf, size); err != nil {
				return err
			}
			if got := h.Sum(nil); !bytes.Equal(got, *want) {
				return fmt.Errorf("GET %s/%s: SHA-256 %x, want %x (what was PUT)", tg.bucket, object, got, *want)
			}
			return nil
		}
	}
	single := minio.PutObjectOptions{DisableMultipart: true}
	multipart := minio.PutObjectOptions{PartSize: memoryPartSize, NumThreads: memoryThreads, ConcurrentStreamParts: true}

	// Warm-up: the same four kinds of transfer, small, so that connections,
	// caches and buffer pools exist before the baseline is read.
	var warmSingle, warmMultipart []byte
	var err error
	if warmSingle, err = put("memory/warm-single", 10, 4<<20, single)(ctx); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	if err := get("memory/warm-single", 4<<20, &warmSingle)(ctx); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	warmMultipartOpts := multipart
	warmMultipartOpts.PartSize = 5 << 20
	if warmMultipart, err = put("memory/warm-multipart", 11, 12<<20, warmMultipartOpts)(ctx); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	if err := get("memory/warm-multipart", 12<<20, &warmMultipart)(ctx); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	baseline, err := readStatusKiB(pid, "VmRSS")
	if err != nil {
		t.Fatalf("gateway RSS: %v", err)
	}

	var singleSum, multipartSum []byte
	phases := []memoryPhase{
		{"PUT 1 GiB, single request", func(ctx context.Context) (err error) {
			singleSum, err = put("memory/single", 1, memorySize, single)(ctx)
			return err
		}},
		{"GET 1 GiB (single-request object)", get("memory/single", memorySize, &singleSum)},
		{fmt.Sprintf("PUT 1 GiB, multipart (%d MiB parts, %d threads)", memoryPartSize>>20, memoryThreads), func(ctx context.Context) (err error) {
			multipartSum, err = put("memory/multipart", 2, memorySize, multipart)(ctx)
			return err
		}},
		{"GET 1 GiB (multipart object)", get("memory/multipart", memorySize, &multipartSum)},
	}
	var results []memoryResult
	for _, ph := range phases {
		r := memoryResult{name: ph.name}
		r.hwmReset = resetPeakRSS(pid) == nil
		if r.before, err = readStatusKiB(pid, "VmRSS"); err != nil {
			t.Fatalf("gateway RSS: %v", err)
		}
		sampler := sampleRSS(pid, rssInterval)
		start := time.Now()
		err := ph.run(ctx)
		r.wall = time.Since(start)
		r.peak, r.samples = sampler.finish()
		if err != nil {
			t.Fatalf("%s: %v", ph.name, err)
		}
		if r.hwm, err = readStatusKiB(pid, "VmHWM"); err != nil {
			t.Fatalf("gateway VmHWM: %v", err)
		}
		t.Logf("%s: RSS before %s, peak %s, VmHWM %s, %v", r.name, mib(r.before), mib(r.peak), mib(r.hwm), r.wall.Round(time.Millisecond))
		results = append(results, r)
	}

	// The backend may live in RAM (tmpfs); 2 GiB of it is not needed again.
	for _, object := range []string{"memory/single", "memory/multipart", "memory/warm-single", "memory/warm-multipart"} {
		if err := c.RemoveObject(ctx, tg.bucket, object, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("DELETE %s/%s: %v", tg.bucket, object, err)
		}
	}
	emptyTrash(t)

	tbl := table{header: []string{"Phase", "MB/s", "RSS before", "Peak RSS (sampled)", "VmHWM of phase", "Growth over baseline", "Target", "Result"}}
	allReset := true
	for _, r := range results {
		peak := r.peak
		hwm := "n/a (clear_refs refused)"
		if r.hwmReset {
			peak = max(peak, r.hwm)
			hwm = mib(r.hwm)
		}
		allReset = allReset && r.hwmReset
		growth := peak - baseline
		pass := growth <= memoryTarget
		tbl.rows = append(tbl.rows, []string{
			r.name, fmt.Sprintf("%.0f", memorySize/r.wall.Seconds()/1e6),
			mib(r.before), mib(r.peak), hwm, mib(growth), fmt.Sprintf("≤ %s", mib(memoryTarget)), verdict(pass),
		})
		rep.addSummary(4, "Gateway memory growth, "+r.name, mib(growth), "–", fmt.Sprintf("≤ %s", mib(memoryTarget)), pass)
	}
	rep.addInfo(4, "Gateway RSS at idle (fresh start)", mib(s.idleRSSKiB))

	hwmNote := "VmHWM is reset before each phase (`echo 5 > /proc/<pid>/clear_refs`), so it is that phase's true peak, which the 50 ms samples can miss."
	if !allReset {
		hwmNote = "The kernel refused to reset VmHWM (/proc/<pid>/clear_refs), so growth uses the 50 ms samples only."
	}
	rep.sections = append(rep.sections, section{
		number: 4,
		title:  "Gateway memory while streaming 1 GiB (SSE-KMS)",
		text: []string{
			fmt.Sprintf("The gateway's resident memory, from /proc/<pid>/status VmRSS sampled every %v during each phase, and VmHWM. "+
				"Bodies are generated on the fly from a seeded ChaCha8 stream and never held by the client; GETs hash what they "+
				"read and check it against the hash of what was PUT. The single PUT is one 1 GiB request; the multipart PUT is "+
				"minio-go with unknown length, `PartSize` %d MiB, `NumThreads` %d, `ConcurrentStreamParts`, so %d parts "+
				"stream through the gateway at once.", rssInterval, memoryPartSize>>20, memoryThreads, memoryThreads),
			fmt.Sprintf("Gateway RSS at idle, before its first request: **%s**. Baseline after a small warm-up of each kind of "+
				"transfer: **%s**. Growth = max(peak sample, VmHWM) − that baseline; the target is %s (\"a few tens of MiB\").",
				mib(s.idleRSSKiB), mib(baseline), mib(memoryTarget)),
		},
		tables: []table{tbl},
		notes:  []string{hwmNote, "Each phase runs once: memory, unlike time, does not need a median. MB/s is for orientation only."},
	})
}

// getInto reads object whole into w through buf and checks its length.
func getInto(ctx context.Context, c *minio.Client, tg target, object string, w io.Writer, buf []byte, want int64) error {
	obj, err := c.GetObject(ctx, tg.bucket, object, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("%s: GET %s/%s: %w", tg.label(), tg.bucket, object, err)
	}
	defer obj.Close()
	n, err := io.CopyBuffer(w, obj, buf)
	if err != nil {
		return fmt.Errorf("%s: GET %s/%s: read: %w", tg.label(), tg.bucket, object, err)
	}
	if n != want {
		return fmt.Errorf("%s: GET %s/%s: got %d bytes, want %d", tg.label(), tg.bucket, object, n, want)
	}
	return nil
}

// getRangeInto reads object from offset to its end (size bytes long) into
// w through buf and checks the length.
func getRangeInto(ctx context.Context, c *minio.Client, tg target, object string, w io.Writer, buf []byte, offset, size int64) error {
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(offset, 0); err != nil {
		return err
	}
	obj, err := c.GetObject(ctx, tg.bucket, object, opts)
	if err != nil {
		return fmt.Errorf("%s: GET %s/%s bytes=%d-: %w", tg.label(), tg.bucket, object, offset, err)
	}
	defer obj.Close()
	n, err := io.CopyBuffer(w, obj, buf)
	if err != nil {
		return fmt.Errorf("%s: GET %s/%s bytes=%d-: read: %w", tg.label(), tg.bucket, object, offset, err)
	}
	if want := size - offset; n != want {
		return fmt.Errorf("%s: GET %s/%s bytes=%d-: got %d bytes, want %d", tg.label(), tg.bucket, object, offset, n, want)
	}
	return nil
}
