//go:build bench

package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// makeCommand is what produces the report; the Makefile's bench target
// expands to benchCommand.
const (
	makeCommand  = "make bench"
	benchCommand = "cd test && S3SEAL_BIN=$(CURDIR)/bin/s3seal go test -tags bench -run TestBenchmarks -count=1 -timeout 40m -v ./bench -args -out $(CURDIR)/BENCHMARKS.md"
)

// report is BENCHMARKS.md: what ran where, a summary of every target, and
// one section per measurement.
type report struct {
	started  time.Time
	duration time.Duration
	machine  [][2]string
	summary  []summaryRow
	sections []section
	noise    []string
}

type section struct {
	number int // sections and summary rows are shown in this order
	title  string
	text   []string // paragraphs before the tables
	tables []table
	notes  []string // paragraphs after the tables
}

type table struct {
	header []string
	rows   [][]string
}

type summaryRow struct {
	section int
	cells   []string // measurement, figure, CPU-time ratio, target, result
}

func (r *report) addSummary(section int, measurement, figure, cpuRatio, target string, pass bool) {
	r.summary = append(r.summary, summaryRow{section, []string{measurement, figure, cpuRatio, target, verdict(pass)}})
}

func (r *report) addComparison(section int, measurement string, c comparison) {
	r.addSummary(section, measurement, fmt.Sprintf("%.2f×", c.ratio()), fmt.Sprintf("%.2f×", c.cpuRatio()),
		fmt.Sprintf("≤ %.2f×", c.target), c.pass())
}

// addInfo adds a summary row that has no target.
func (r *report) addInfo(section int, measurement, figure string) {
	r.summary = append(r.summary, summaryRow{section, []string{measurement, figure, "–", "report only", "–"}})
}

func verdict(pass bool) string {
	if pass {
		return "pass"
	}
	return "**miss**"
}

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# s3seal benchmarks\n\n")
	p("Generated %s by TestBenchmarks (`%s`) in %s. Every figure compares the same operation with the same\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), makeCommand, r.duration.Round(time.Second))
	p("client against one MinIO, once directly and once through s3seal, in alternating\n")
	p("rounds (direct first in even rounds, last in odd ones); each figure is the median\n")
	p("round. A ratio is time through s3seal / time direct, so 1.00× is free and lower is better,\n")
	p("except for the crypto pipeline, whose ratio is its throughput / bare AES-GCM's. The CPU-time ratio\n")
	p("is the CPU the client, s3seal and MinIO used together through s3seal / the client and MinIO direct:\n")
	p("what the gateway costs, nearly independent of what else the machine runs. Targets apply to the time ratio.\n\n")
	p("Command: `%s`, which runs\n\n```\n%s\n```\n\n", makeCommand, benchCommand)

	p("## Machine\n\n")
	writeTable(&b, table{header: []string{"", ""}, rows: pairs(r.machine)})

	p("## Summary\n\n")
	slices.SortStableFunc(r.summary, func(a, b summaryRow) int { return a.section - b.section })
	summary := table{header: []string{"Measurement", "Result", "CPU-time ratio", "Target", ""}}
	for _, row := range r.summary {
		summary.rows = append(summary.rows, row.cells)
	}
	writeTable(&b, summary)

	slices.SortStableFunc(r.sections, func(a, b section) int { return a.number - b.number })
	for _, s := range r.sections {
		p("## %d. %s\n\n", s.number, s.title)
		for _, t := range s.text {
			p("%s\n\n", t)
		}
		for _, t := range s.tables {
			writeTable(&b, t)
		}
		for _, t := range s.notes {
			p("%s\n\n", t)
		}
	}
	if len(r.noise) > 0 {
		p("## Noise\n\n")
		for _, n := range r.noise {
			p("- %s\n", n)
		}
		p("\n")
	}
	return b.String()
}

func pairs(kv [][2]string) [][]string {
	rows := make([][]string, len(kv))
	for i, p := range kv {
		rows[i] = []string{p[0], p[1]}
	}
	return rows
}

func writeTable(b *strings.Builder, t table) {
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	line(t.header)
	sep := make([]string, len(t.header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	b.WriteString("\n")
}

// comparison is one operation, timed directly against MinIO and through
// the gateway in the same rounds.
type comparison struct {
	op      string  // e.g. "PUT 64 MiB, 1 stream"
	sse     string  // default encryption of the gateway's bucket
	work    float64 // bytes or operations one run moves
	unit    string  // "MB/s" or "ops/s"
	scale   float64 // work per second / scale = the figure in unit
	direct  *series
	gateway *series
	target  float64 // highest acceptable ratio of times
}

// ratio is the gateway's median time over the direct median time.
func (c comparison) ratio() float64 {
	return c.gateway.median().Seconds() / c.direct.median().Seconds()
}

// cpuRatio is the CPU time client, gateway and MinIO spent together on an
// average run through the gateway over the same for a direct run. Unlike
// time, it hardly depends on what else the machine is doing.
func (c comparison) cpuRatio() float64 {
	return c.gateway.meanCPU().total().Seconds() / c.direct.meanCPU().total().Seconds()
}

func (c comparison) pass() bool { return c.ratio() <= c.target }

func (c comparison) rate(s *series) float64 { return c.work / s.median().Seconds() / c.scale }

// roundRatios are the time ratios of the runs of each round.
func (c comparison) roundRatios() []float64 {
	n := min(len(c.direct.runs), len(c.gateway.runs))
	r := make([]float64, n)
	for i := range n {
		r[i] = c.gateway.runs[i].wall.Seconds() / c.direct.runs[i].wall.Seconds()
	}
	return r
}

func spread(f []float64) string {
	if len(f) == 0 {
		return "–"
	}
	lo, hi := f[0], f[0]
	for _, v := range f {
		lo, hi = min(lo, v), max(hi, v)
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

var comparisonHeader = []string{"Operation", "Encryption", "Direct", "Through s3seal", "Ratio (time)", "Per-round ratios", "CPU-time ratio", "Target", "Result"}

func (c comparison) row() []string {
	return []string{
		c.op, c.sse,
		fmt.Sprintf("%.1f %s", c.rate(c.direct), c.unit),
		fmt.Sprintf("%.1f %s", c.rate(c.gateway), c.unit),
		fmt.Sprintf("%.2f×", c.ratio()),
		spread(c.roundRatios()),
		fmt.Sprintf("%.2f×", c.cpuRatio()),
		fmt.Sprintf("≤ %.2f×", c.target),
		verdict(c.pass()),
	}
}

// cpuHeader and cpuRow show where the time of a run goes: the CPU each
// process used in an average run and how busy that kept the machine.
var cpuHeader = []string{"Operation", "Path", "Wall (median)", "Client CPU", "s3seal CPU", "MinIO CPU", "Cores busy: these three", "Cores busy: whole machine"}

func cpuRow(op, path string, s *series) []string {
	cpu := s.meanCPU()
	gw := fmt.Sprintf("%.2f s", cpu.gateway.Seconds())
	if path == "direct" {
		gw = "–"
	}
	return []string{
		op, path,
		fmt.Sprintf("%.2f s", s.median().Seconds()),
		fmt.Sprintf("%.2f s", cpu.client.Seconds()),
		gw,
		fmt.Sprintf("%.2f s", cpu.minio.Seconds()),
		fmt.Sprintf("%.0f%%", 100*s.busy()),
		fmt.Sprintf("%.0f%%", 100*s.machineBusy()),
	}
}

func numCPU() int { return runtime.NumCPU() }

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	var kib int64
	if _, err := fmt.Sscanf(statusField(data, "MemTotal"), "%d kB", &kib); err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
