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
	emptyTrash(t)
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
			emptyTrash(t) // untimed: between operations, not inside one
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
	fwd      *series // the bare forwarder in front of the same MinIO: the floor of any gateway
	fwdFloor bool    // whether the path does at least the forwarder path's work (see addTables)
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

func (c comparison) fwdRatio() float64    { return medianFloat(roundRatios(c.fwd, c.plain)) }
func (c comparison) vsForwarder() float64 { return medianFloat(roundRatios(c.s, c.fwd)) }

func (c comparison) pass() bool { return c.ratio() <= c.target && c.vsMinIO() <= 1 }

// belowFloor tells whether the bare forwarder alone, a second hop with no
// work at all, already misses what the row asks of s3seal: then no gateway
// in its own process, on this machine, could meet it.
func (c comparison) belowFloor() bool {
	return c.fwdFloor && (c.fwdRatio() > c.target || c.fwdRatio() > c.minioRatio())
}

func (c comparison) targetText() string {
	return fmt.Sprintf("≤ %.2f× and ≤ MinIO SSE", c.target)
}

// result is the verdict, with the floor when the forwarder alone misses.
func (c comparison) result() string {
	switch {
	case c.pass() || !c.belowFloor():
		return verdict(c.pass())
	case c.fwdRatio() > c.target:
		return fmt.Sprintf("%s; floor: forwarder alone %.2f× > %.2f×", verdict(false), c.fwdRatio(), c.target)
	default:
		return fmt.Sprintf("%s; floor: forwarder alone %.2f× > MinIO SSE %.2f×", verdict(false), c.fwdRatio(), c.minioRatio())
	}
}

func rate(work, scale float64, s *series) float64 { return work / s.median().Seconds() / scale }

var comparisonHeader = []string{"Operation", "Transport", "Path", "Throughput", "Ratio (time)", "Per-round ratios",
	"CPU-time ratio", "s3seal / MinIO SSE (time)", "Per-round", "s3seal / forwarder (time)", "Target", "Result"}

// rows are the comparison table's rows of one operation over one
// transport: plain MinIO, MinIO SSE-KMS, the bare forwarder, then each
// s3seal path.
func comparisonRows(op, scheme string, work float64, unit string, scale float64, plain, minioSSE, fwd, fwdLoose *series, gw []comparison) [][]string {
	other := func(path string, s *series) []string {
		return []string{op, scheme, path, fmt.Sprintf("%.1f %s", rate(work, scale, s), unit),
			fmt.Sprintf("%.2f×", medianFloat(roundRatios(s, plain))), spread(roundRatios(s, plain)),
			fmt.Sprintf("%.2f×", cpuRatio(s, plain)), "–", "–", "–", "–", "–"}
	}
	rows := [][]string{
		{op, scheme, "plain MinIO", fmt.Sprintf("%.1f %s", rate(work, scale, plain), unit), "1.00×", "–", "1.00×", "–", "–", "–", "–", "–"},
		other("MinIO SSE-KMS", minioSSE),
		other("bare forwarder", fwd),
		other("bare forwarder (backend MinIO --no-compat)", fwdLoose),
	}
	for _, c := range gw {
		rows = append(rows, []string{
			op, scheme, c.tg.path(), fmt.Sprintf("%.1f %s", rate(work, scale, c.s), unit),
			fmt.Sprintf("%.2f×", c.ratio()), spread(roundRatios(c.s, c.plain)),
			fmt.Sprintf("%.2f×", c.cpuRatio()),
			fmt.Sprintf("%.2f×", c.vsMinIO()), spread(roundRatios(c.s, c.minioSSE)),
			fmt.Sprintf("%.2f×", c.vsForwarder()),
			c.targetText(), c.result(),
		})
	}
	return rows
}

// addTables renders a matrix into sec: the comparison table, then where
// the CPU time went. Targets are grouped by stack (plain, MinIO SSE-KMS,
// s3seal SSE-KMS, s3seal SSE-S3 per transport); name and target describe
// operation i, short its summary name.
//
// fwdFloor tells whether the forwarder's path is the floor of operation
// i's s3seal paths over scheme: whether they do at least its work. It is
// not for PUTs that clients sign with streaming SigV4 (http): through
// the forwarder MinIO verifies the chunk signatures, through s3seal the
// gateway does and MinIO, sent UNSIGNED-PAYLOAD, hashes nothing.
func (m *matrix) addTables(rep *report, sec *section, ops int, name, short func(int) string, work func(int) float64,
	unit string, scale float64, target func(int) float64, fwdFloor func(i int, scheme string) bool) {
	comparisons := table{header: comparisonHeader}
	cpu := table{header: cpuHeader}
	for i := range ops {
		for base := 0; base < len(m.targets); base += stackPaths {
			tgs := m.targets[base : base+stackPaths]
			res := m.results[i][base : base+stackPaths]
			var gw []comparison
			for k := firstGateway; k < stackPaths; k++ {
				c := comparison{op: name(i), tg: tgs[k], work: work(i), unit: unit, scale: scale,
					plain: res[0], minioSSE: res[1], fwd: res[floorOf(tgs[k])], s: res[k], target: target(i),
					fwdFloor: fwdFloor(i, tgs[k].scheme)}
				gw = append(gw, c)
				if tgs[k].sse == "SSE-KMS" {
					rep.addComparison(sec.number, fmt.Sprintf("%s, %s: %s", short(i), tgs[k].scheme, tgs[k].path()), c)
				}
			}
			comparisons.rows = append(comparisons.rows, comparisonRows(name(i), tgs[0].scheme, work(i), unit, scale, res[0], res[1], res[2], res[3], gw)...)
			for k := range stackPaths {
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

// eachGateway calls fn for every s3seal path of operation i, with its
// series and the series of the bare forwarder in front of the same MinIO.
func (m *matrix) eachGateway(i int, fn func(tg target, own, fwd *series)) {
	for base := 0; base < len(m.targets); base += stackPaths {
		for k := firstGateway; k < stackPaths; k++ {
			tg := m.targets[base+k]
			fn(tg, m.results[i][base+k], m.results[i][base+floorOf(tg)])
		}
	}
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
