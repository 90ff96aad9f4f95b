//go:build soak

package soak

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/s3seal/s3seal/test/harness"
)

// makeCommand and soakCommand say what produced the section; the
// Makefile's soak target expands to soakCommand.
const (
	makeCommand = "make soak"
	soakCommand = "cd test && S3SEAL_BIN=$(CURDIR)/bin/s3seal go test -tags soak -run TestSoak -count=1 -timeout 30m -v ./soak -args -duration $(SOAK_DURATION) -out $(CURDIR)/BENCHMARKS.md"
)

type soakRun struct {
	started               time.Time
	elapsed               time.Duration
	binary                string
	rows                  []summary
	total                 summary
	samples               []sample
	idleBefore, idleAfter harness.ProcessStats
	verdicts              []verdict
	problems              []string
	failed                bool
}

// soakMarkdown renders the "Soak" section of BENCHMARKS.md.
func soakMarkdown(r soakRun) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Soak\n\n")
	p("Generated %s by TestSoak (`%s`, `-duration %v -clients %d -sample %v`", r.started.UTC().Format("2006-01-02 15:04 MST"), makeCommand, *duration, *clients, *interval)
	if *maxOps > 0 {
		p(" `-ops %d`", *maxOps)
	}
	p(") in %s, on %d CPUs with %s, against one MinIO on the same machine. Command:\n\n```\n%s\n```\n\n",
		r.elapsed.Round(time.Second), runtime.NumCPU(), runtime.Version(), soakCommand)
	p("%d clients (aws-sdk-go-v2, CRC32 checksums on, one attempt per call) each own %d keys under their own prefix, ", *clients, keysPerClient)
	p("half of them writing SSE-KMS and half relying on the default SSE-S3, and run the mix below until the time is up. ")
	p("Every client knows what each of its keys must hold, so every GET, ranged GET and listing is checked exactly: ")
	p("bytes, ETag, Content-Range, listed sizes and ETags, and that deleted keys are gone. ")
	p("PUT sizes are 0 to 1 MiB, around DARE's 64 KiB package edges; multipart uploads are a 5 MiB part and up to 256 KiB more.\n\n")

	result := "pass"
	if r.failed {
		result = "**fail**"
	}
	p("Result: %s — %d operations, %d errors, %d corruptions.\n\n", result, r.total.ops, r.total.errors, r.total.corruptions)

	p("| Operation | Count | Errors | Corruptions |\n| --- | --- | --- | --- |\n")
	for _, row := range append(r.rows, r.total) {
		name := row.name
		if row == r.total {
			name = "**all**"
		}
		p("| %s | %d | %d | %d |\n", name, row.ops, row.errors, row.corruptions)
	}
	p("\n")

	peak := harness.ProcessStats{}
	for _, s := range r.samples {
		peak.Goroutines = max(peak.Goroutines, s.stats.Goroutines)
		peak.OpenFDs = max(peak.OpenFDs, s.stats.OpenFDs)
		peak.RSS = max(peak.RSS, s.stats.RSS)
	}
	p("Gateway figures from its `/metrics` (start: idle before the load; peak: over the samples taken every %v under load; end: idle after the load, its clients' connections closed):\n\n", *interval)
	p("| Gateway | Start | Peak | End |\n| --- | --- | --- | --- |\n")
	p("| goroutines | %d | %d | %d |\n", r.idleBefore.Goroutines, peak.Goroutines, r.idleAfter.Goroutines)
	p("| open fds | %d | %d | %d |\n", r.idleBefore.OpenFDs, peak.OpenFDs, r.idleAfter.OpenFDs)
	p("| RSS | %s | %s | %s |\n\n", mib(float64(r.idleBefore.RSS)), mib(float64(peak.RSS)), mib(float64(r.idleAfter.RSS)))

	p("Flatness checks (samples before %.0f%% of the duration are warm-up; the rest is split in halves and the later peak must stay within the earlier one's bounds):\n\n", warmUpShare*100)
	p("| Check | Figures | |\n| --- | --- | --- |\n")
	for _, v := range r.verdicts {
		p("| %s | %s | %s |\n", v.what, v.detail, map[bool]string{true: "pass", false: "**fail**"}[v.pass])
	}
	p("\n")

	var series []string
	for _, s := range r.samples {
		series = append(series, fmt.Sprintf("%ds: %d/%d/%.0f", int(s.at.Seconds()), s.stats.Goroutines, s.stats.OpenFDs, float64(s.stats.RSS)/(1<<20)))
	}
	p("Samples (time: goroutines/fds/RSS MiB): %s.\n\n", strings.Join(series, ", "))
	if len(r.problems) > 0 {
		p("First problems seen:\n\n")
		for _, pr := range r.problems {
			p("- %s\n", strings.ReplaceAll(pr, "\n", " "))
		}
		p("\n")
	}
	p("The gateway ran from %s.\n", r.binary)
	return b.String()
}
