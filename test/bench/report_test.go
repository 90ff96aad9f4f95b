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
	compared []comparison // the s3seal SSE-KMS rows of the summary
	perByte  perByteCPU   // from the crypto section; zero if it did not run
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
	r.summary = append(r.summary, summaryRow{section, []string{measurement,
		fmt.Sprintf("%.2f× (MinIO SSE-KMS %.2f×, bare forwarder %.2f×; s3seal / forwarder %.2f×)", c.ratio(), c.minioRatio(), c.fwdRatio(), c.vsForwarder()),
		fmt.Sprintf("%.2f× (MinIO SSE-KMS %.2f×)", c.cpuRatio(), c.minioCPURatio()),
		c.targetText(), c.result()}})
	r.compared = append(r.compared, c)
}

// tally says how the s3seal rows of the summary stand: met, missed where
// even the bare forwarder misses (the floor of any gateway here), or
// missed above that floor.
func (r *report) tally() string {
	var pass, floor, above int
	for _, c := range r.compared {
		switch {
		case c.pass():
			pass++
		case c.belowFloor():
			floor++
		default:
			above++
		}
	}
	return fmt.Sprintf("Of the %d s3seal rows with a time target: %d met; %d missed where the bare forwarder alone, a second "+
		"hop that does no work, already misses the same bound (no gateway in its own process can meet it on this machine; "+
		"\"s3seal / forwarder\" is then what s3seal adds to that floor); %d missed above that floor.", len(r.compared), pass, floor, above)
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
	p("client on four paths, each over plain http and over https: plain MinIO (no encryption), MinIO with its own\n")
	p("SSE-KMS (an in-process key, MINIO_KMS_SECRET_KEY, and a bucket with default SSE-KMS), a bare forwarder in front\n")
	p("of plain MinIO (test/bench/forwarder: a reverse proxy that passes requests and answers through unchanged, with\n")
	p("no authentication and no crypto, so its ratio is what a second hop alone costs on this machine: the floor of\n")
	p("any gateway), and s3seal in front of plain MinIO (buckets with default SSE-KMS and SSE-S3), plus s3seal SSE-KMS\n")
	p("in front of a MinIO started with --no-compat, which then skips the MD5 of the ciphertext it stores (MinIO's own\n")
	p("SSE-KMS skips that MD5 too: its ETags are random; s3seal never uses the backend's MD5), with a bare forwarder\n")
	p("in front of that MinIO as its floor. The forwarder is not the floor of PUTs over http: clients sign those with\n")
	p("streaming SigV4, whose chunk signatures MinIO verifies behind the forwarder and s3seal instead of MinIO behind\n")
	p("s3seal. A miss whose\n")
	p("floor is already above the target says so (\"floor: forwarder alone\"). Rounds alternate the order of the paths (first to last\n")
	p("in even rounds, last to first in odd ones). A ratio is time on a path / time on plain MinIO over the same\n")
	p("transport in the same round, and each figure is the median of those per-round ratios, so 1.00× is free and\n")
	p("lower is better; the crypto pipeline's ratio is its throughput / bare AES-GCM's instead. The CPU-time ratio is\n")
	p("the CPU the client, s3seal (if on the path) and the MinIO serving it used together / the client and plain\n")
	p("MinIO: what encryption costs, nearly independent of what else the machine runs. An s3seal row passes when its\n")
	p("time ratio meets its absolute target and is no higher than MinIO SSE-KMS's (s3seal / MinIO SSE ≤ 1.00×).\n\n")
	p("Command: `%s`, which runs\n\n```\n%s\n```\n\n", makeCommand, benchCommand)

	p("## Machine\n\n")
	writeTable(&b, table{header: []string{"", ""}, rows: pairs(r.machine)})

	p("## Summary\n\n")
	slices.SortStableFunc(r.summary, func(a, b summaryRow) int { return a.section - b.section })
	summary := table{header: []string{"Measurement", "Result (time ratio)", "CPU-time ratio", "Target", ""}}
	for _, row := range r.summary {
		summary.rows = append(summary.rows, row.cells)
	}
	writeTable(&b, summary)
	if len(r.compared) > 0 {
		p("%s\n\n", r.tally())
	}

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

// cpuHeader and cpuRow show where the time of a run goes: the CPU each
// process used in an average run and how busy that kept the machine.
var cpuHeader = []string{"Operation", "Path", "Wall (median)", "Client CPU", "s3seal or forwarder CPU", "MinIO CPU", "Cores busy: these three", "Cores busy: whole machine"}

func cpuRow(op string, tg target, s *series) []string {
	cpu := s.meanCPU()
	gw := fmt.Sprintf("%.2f s", cpu.gateway.Seconds())
	if tg.procs.gateway == 0 {
		gw = "–"
	}
	return []string{
		op, tg.label(),
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
