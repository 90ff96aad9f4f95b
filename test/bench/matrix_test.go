//go:build bench

package bench

import (
	"context"
	"fmt"
	"testing"
)

// matrix is the timed rounds of one section: every operation on every
// target.
type matrix struct {
	targets []target
	results [][]*series // [op][target]
}

// runMatrix warms every target up with one untimed run of every
// operation, then runs *rounds rounds; a round runs each operation on every
// target, in order(round) (so a drift in the machine's load falls on every
// path alike), before the next operation. warm, if not nil, runs after the
// warm-up.
func runMatrix(t *testing.T, targets []target, ops int, run func(ctx context.Context, tg target, op int) error, warm func()) *matrix {
	t.Helper()
	ctx := t.Context()
	for _, tg := range targets {
		for op := range ops {
			if err := run(ctx, tg, op); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
		}
	}
	if warm != nil {
		warm()
	}
	m := &matrix{targets: targets, results: make([][]*series, ops)}
	for i := range m.results {
		m.results[i] = make([]*series, len(targets))
		for j := range m.results[i] {
			m.results[i][j] = &series{}
		}
	}
	for round := range *rounds {
		for op := range ops {
			for _, j := range order(round, len(targets)) {
				r, err := targets[j].procs.timed(func() error { return run(ctx, targets[j], op) })
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				m.results[op][j].add(r)
			}
		}
		t.Logf("round %d of %d done", round+1, *rounds)
	}
	return m
}

// comparison is one operation on one encrypted path, timed in the same
// rounds as plain MinIO and MinIO SSE-KMS over the same transport.
type comparison struct {
	op       string
	tg       target
	work     float64 // bytes or operations one run moves
	unit     string  // "MB/s" or "ops/s"
	scale    float64 // work per second / scale = the figure in unit
	plain    *series
	minioSSE *series
	s        *series
	target   float64 // highest acceptable time ratio of an s3seal path; 0 for MinIO's own
}

func roundRatios(a, b *series) []float64 {
	n := min(len(a.runs), len(b.runs))
	r := make([]float64, n)
	for i := range n {
		r[i] = a.runs[i].wall.Seconds() / b.runs[i].wall.Seconds()
	}
	return r
}

func cpuRatio(a, b *series) float64 {
	return a.meanCPU().total().Seconds() / b.meanCPU().total().Seconds()
}

// ratio is the median of the per-round time ratios path / plain MinIO.
func (c comparison) ratio() float64         { return medianFloat(roundRatios(c.s, c.plain)) }
func (c comparison) minioRatio() float64    { return medianFloat(roundRatios(c.minioSSE, c.plain)) }
func (c comparison) vsMinIO() float64       { return medianFloat(roundRatios(c.s, c.minioSSE)) }
func (c comparison) cpuRatio() float64      { return cpuRatio(c.s, c.plain) }
func (c comparison) minioCPURatio() float64 { return cpuRatio(c.minioSSE, c.plain) }

func (c comparison) pass() bool { return c.ratio() <= c.target && c.vsMinIO() <= 1 }

func (c comparison) targetText() string {
	return fmt.Sprintf("≤ %.2f× and ≤ MinIO SSE", c.target)
}

func rate(work, scale float64, s *series) float64 { return work / s.median().Seconds() / scale }

var comparisonHeader = []string{"Operation", "Transport", "Path", "Throughput", "Ratio (time)", "Per-round ratios",
	"CPU-time ratio", "s3seal / MinIO SSE (time)", "Per-round", "Target", "Result"}

// rows are the comparison table's rows of one operation over one
// transport: plain MinIO, MinIO SSE-KMS, then each s3seal path.
func comparisonRows(op, scheme string, work float64, unit string, scale float64, plain, minioSSE *series, gw []comparison) [][]string {
	rows := [][]string{
		{op, scheme, "plain MinIO", fmt.Sprintf("%.1f %s", rate(work, scale, plain), unit), "1.00×", "–", "1.00×", "–", "–", "–", "–"},
		{op, scheme, "MinIO SSE-KMS", fmt.Sprintf("%.1f %s", rate(work, scale, minioSSE), unit),
			fmt.Sprintf("%.2f×", medianFloat(roundRatios(minioSSE, plain))), spread(roundRatios(minioSSE, plain)),
			fmt.Sprintf("%.2f×", cpuRatio(minioSSE, plain)), "–", "–", "–", "–"},
	}
	for _, c := range gw {
		rows = append(rows, []string{
			op, scheme, c.tg.path(), fmt.Sprintf("%.1f %s", rate(work, scale, c.s), unit),
			fmt.Sprintf("%.2f×", c.ratio()), spread(roundRatios(c.s, c.plain)),
			fmt.Sprintf("%.2f×", c.cpuRatio()),
			fmt.Sprintf("%.2f×", c.vsMinIO()), spread(roundRatios(c.s, c.minioSSE)),
			c.targetText(), verdict(c.pass()),
		})
	}
	return rows
}

// addTables renders a matrix into sec: the comparison table, then where
// the CPU time went. Targets are grouped by stack (plain, MinIO SSE-KMS,
// s3seal SSE-KMS, s3seal SSE-S3 per transport); name and target describe
// operation i, short its summary name.
func (m *matrix) addTables(rep *report, sec *section, ops int, name, short func(int) string, work func(int) float64,
	unit string, scale float64, target func(int) float64) {
	comparisons := table{header: comparisonHeader}
	cpu := table{header: cpuHeader}
	const perStack = 4
	for i := range ops {
		for base := 0; base < len(m.targets); base += perStack {
			tgs := m.targets[base : base+perStack]
			res := m.results[i][base : base+perStack]
			var gw []comparison
			for k := 2; k < perStack; k++ {
				c := comparison{op: name(i), tg: tgs[k], work: work(i), unit: unit, scale: scale,
					plain: res[0], minioSSE: res[1], s: res[k], target: target(i)}
				gw = append(gw, c)
				if tgs[k].sse == "SSE-KMS" {
					rep.addComparison(sec.number, fmt.Sprintf("%s, %s (s3seal SSE-KMS)", short(i), tgs[k].scheme), c)
				}
			}
			comparisons.rows = append(comparisons.rows, comparisonRows(name(i), tgs[0].scheme, work(i), unit, scale, res[0], res[1], gw)...)
			for k := range perStack {
				cpu.rows = append(cpu.rows, cpuRow(name(i), tgs[k], res[k]))
			}
		}
	}
	sec.tables = append(sec.tables, comparisons)
	sec.notes = append(sec.notes, "Where the time goes: the CPU time of an average run per process (/proc/<pid>/stat, 10 ms "+
		"resolution); the share of both cores the client, s3seal (if on the path) and the MinIO serving the path used together; "+
		"and the share any process used (/proc/stat). When the whole machine is near 100%, the run was bound by CPU that the "+
		"processes share with each other and with every other job on the machine, and the time ratio approaches the ratio "+
		"of total CPU spent.")
	sec.tables = append(sec.tables, cpu)
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
