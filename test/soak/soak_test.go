//go:build soak

package soak

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3seal/s3seal/test/harness"
)

// sample is the gateway's figures at one moment of the run.
type sample struct {
	at    time.Duration // since the load started
	stats harness.ProcessStats
}

// Flatness bounds. Under load the gateway's goroutines and fds follow the
// requests in flight, so the test compares peaks: the peak of the second
// half of the steady phase against the first half's, plus a margin for
// scheduling noise. A leak of one goroutine per request, over thousands of
// requests, outgrows them by far.
const (
	warmUpShare         = 0.25 // of the duration; samples before it are warm-up
	goroutineGrowth     = 1.25 // allowed factor, late peak / early peak
	goroutineMargin     = 20
	fdGrowth            = 1.25
	fdMargin            = 10
	rssGrowth           = 1.5
	rssMargin           = 32 << 20
	idleGoroutinesPerFD = 3 // an idle keep-alive connection: one fd, two or three goroutines
	idleMargin          = 10
	// idleFDsPerClient bounds the backend keep-alive connections the
	// gateway may keep after the load (it keeps them for 90 s): a request
	// can hold two or three backend connections at once (object, record,
	// listing index). A leak of one fd per request, over thousands of
	// requests, is far beyond it.
	idleFDsPerClient = 4
)

// TestSoak runs the mixed load for -duration and fails on any corruption,
// any failed request, or gateway figures that grow instead of staying flat.
func TestSoak(t *testing.T) {
	binary := privateGatewayCopy(t)
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	transport := &http.Transport{MaxIdleConns: 2 * *clients, MaxIdleConnsPerHost: 2 * *clients, DisableCompression: true}
	t.Cleanup(transport.CloseIdleConnections)
	l := &load{
		bucket: "soak",
		// One attempt per call: a failed request is counted, not retried away.
		s3: gw.S3(t, func(o *s3.Options) {
			o.RetryMaxAttempts = 1
			o.HTTPClient = &http.Client{Transport: harness.CheckedTransport(t, gw.SystemBucket(), transport)}
		}),
	}
	if _, err := l.s3.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(l.bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	idleBefore := gw.Stats(t)
	t.Logf("gateway idle before the load: %v", idleBefore)

	start := time.Now()
	end := start.Add(*duration)
	var samples []sample
	var samplesMu sync.Mutex
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		ticker := time.NewTicker(*interval)
		defer ticker.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-ticker.C:
			}
			s, err := gw.ReadStats(t.Context())
			if err != nil {
				t.Errorf("sample gateway: %v", err)
				continue
			}
			samplesMu.Lock()
			samples = append(samples, sample{at: time.Since(start), stats: s})
			samplesMu.Unlock()
		}
	}()

	var wg sync.WaitGroup
	for id := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(l, id)
			// In-flight operations finish with the test's context; only
			// new ones stop at the deadline.
			for time.Now().Before(end) && (*maxOps == 0 || l.total.Add(1) <= int64(*maxOps)) {
				c.run(t.Context(), c.pick())
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	<-sampled

	// The clients are done: close their connections and let the gateway
	// wind down to idle keep-alive connections to the backend.
	transport.CloseIdleConnections()
	idleAfter := waitIdle(t, gw, idleBefore)

	rows, total := l.summaries()
	verdicts := judge(samples, idleBefore, idleAfter)
	for _, p := range l.problems {
		t.Log(p)
	}
	if total.corruptions > 0 {
		t.Errorf("%d corruptions in %d operations, want 0", total.corruptions, total.ops)
	}
	if total.errors > 0 {
		t.Errorf("%d failed requests in %d operations, want 0", total.errors, total.ops)
	}
	for _, v := range verdicts {
		if !v.pass {
			t.Errorf("%s: %s", v.what, v.detail)
		}
	}

	md := soakMarkdown(soakRun{
		started: start, elapsed: elapsed, binary: binary, rows: rows, total: total,
		samples: samples, idleBefore: idleBefore, idleAfter: idleAfter, verdicts: verdicts,
		problems: l.problems, failed: t.Failed(),
	})
	t.Log("\n" + md)
	if *outPath == "" {
		return
	}
	old, err := os.ReadFile(*outPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("read %s: %v", *outPath, err)
	}
	if err := os.WriteFile(*outPath, []byte(harness.ReplaceMarkdownSection(string(old), "Soak", md)), 0o644); err != nil {
		t.Fatalf("write %s: %v", *outPath, err)
	}
	t.Logf("replaced the Soak section of %s", *outPath)
}

// waitIdle polls until the gateway's goroutines are explained by its open
// fds (idle keep-alive connections to the backend, which it keeps for 90
// s) and returns the figures; it gives up after a minute and returns the
// last ones, which judge then fails.
func waitIdle(t *testing.T, gw *harness.Gateway, before harness.ProcessStats) harness.ProcessStats {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s := gw.Stats(t)
		if idleExplained(before, s) || time.Now().After(deadline) {
			return s
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func idleExplained(before, after harness.ProcessStats) bool {
	extraFDs := max(after.OpenFDs-before.OpenFDs, 0)
	return after.Goroutines <= before.Goroutines+idleGoroutinesPerFD*extraFDs+idleMargin &&
		extraFDs <= idleFDsPerClient**clients+idleMargin
}

// verdict is one flatness check.
type verdict struct {
	what, detail string
	pass         bool
}

// judge checks the samples for growth after the warm-up and the idle
// figures after the load.
func judge(samples []sample, before, after harness.ProcessStats) []verdict {
	var steady []sample
	for _, s := range samples {
		if s.at >= time.Duration(warmUpShare*float64(*duration)) {
			steady = append(steady, s)
		}
	}
	var out []verdict
	if len(steady) < 4 {
		return append(out, verdict{"samples", fmt.Sprintf("%d samples after the warm-up, want at least 4 (raise -duration or lower -sample)", len(steady)), false})
	}
	early, late := steady[:len(steady)/2], steady[len(steady)/2:]
	peak := func(ss []sample, f func(harness.ProcessStats) float64) float64 {
		m := 0.0
		for _, s := range ss {
			m = max(m, f(s.stats))
		}
		return m
	}
	check := func(what string, f func(harness.ProcessStats) float64, growth, margin float64, unit func(float64) string) {
		e, l := peak(early, f), peak(late, f)
		limit := e*growth + margin
		out = append(out, verdict{
			what:   what + " stays flat",
			detail: fmt.Sprintf("late peak %s, early peak %s, limit %s", unit(l), unit(e), unit(limit)),
			pass:   l <= limit,
		})
	}
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	check("goroutines", func(s harness.ProcessStats) float64 { return float64(s.Goroutines) }, goroutineGrowth, goroutineMargin, count)
	check("open fds", func(s harness.ProcessStats) float64 { return float64(s.OpenFDs) }, fdGrowth, fdMargin, count)
	check("RSS", func(s harness.ProcessStats) float64 { return float64(s.RSS) }, rssGrowth, rssMargin, mib)
	out = append(out, verdict{
		what: "idle after the load",
		detail: fmt.Sprintf("%d goroutines and %d fds, before the load %d and %d; allowed: %d goroutines per extra fd (idle backend keep-alives) + %d, at most %d extra fds",
			after.Goroutines, after.OpenFDs, before.Goroutines, before.OpenFDs, idleGoroutinesPerFD, idleMargin, idleFDsPerClient**clients+idleMargin),
		pass: idleExplained(before, after),
	})
	return out
}

func mib(v float64) string { return fmt.Sprintf("%.1f MiB", v/(1<<20)) }

// privateGatewayCopy runs the gateway from a copy whose path does not
// contain "s3seal", as the benchmarks do.
func privateGatewayCopy(t *testing.T) string {
	t.Helper()
	if src := harness.PrivateGatewayCopy(t, "soak-gateway"); src != "" {
		return src + " (run from a private copy)"
	}
	return "built by the harness from ./cmd/s3seal"
}
