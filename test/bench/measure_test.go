//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// userHZ is the kernel's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat; it is 100 on every Linux architecture Go supports.
const userHZ = 100

// processes are the PIDs a timed run charges CPU time to: the benchmark
// process itself (the S3 clients), the gateway and MinIO. A zero PID is
// not measured.
type processes struct {
	client, gateway, minio int
}

// cpuTimes is user plus system CPU time, per process.
type cpuTimes struct {
	client, gateway, minio time.Duration
}

func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{c.client - o.client, c.gateway - o.gateway, c.minio - o.minio}
}

func (c cpuTimes) add(o cpuTimes) cpuTimes {
	return cpuTimes{c.client + o.client, c.gateway + o.gateway, c.minio + o.minio}
}

func (c cpuTimes) total() time.Duration { return c.client + c.gateway + c.minio }

// cpu reads the CPU time each process has used so far.
func (p processes) cpu() cpuTimes {
	return cpuTimes{client: procCPU(p.client), gateway: procCPU(p.gateway), minio: procCPU(p.minio)}
}

// procCPU returns utime+stime of pid from /proc/<pid>/stat, or 0 when pid
// is 0 or the file cannot be read. Its resolution is 10 ms.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after its closing
	// parenthesis start with field 3, state.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+1:]))
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0
	}
	u, err1 := strconv.ParseInt(fields[utime], 10, 64)
	s, err2 := strconv.ParseInt(fields[stime], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+s) * time.Second / userHZ
}

// run is one timed execution of one operation against one target.
type run struct {
	wall time.Duration
	cpu  cpuTimes
	// machine is the CPU time of the whole machine, all processes
	// included, meanwhile: busy and total (busy plus idle) ticks.
	machineBusy, machineTotal uint64
}

// timed runs fn and returns how long it took and the CPU time each
// process, and the whole machine, spent meanwhile.
func (p processes) timed(fn func() error) (run, error) {
	busy0, total0 := machineCPU()
	cpu0 := p.cpu()
	start := time.Now()
	err := fn()
	wall := time.Since(start)
	cpu := p.cpu().sub(cpu0)
	busy1, total1 := machineCPU()
	return run{wall: wall, cpu: cpu, machineBusy: busy1 - busy0, machineTotal: total1 - total0}, err
}

// machineCPU returns the busy and total ticks of all CPUs from the first
// line of /proc/stat; iowait counts as idle.
func machineCPU() (busy, total uint64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, 0
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice],
	// guest time being already part of user.
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, total
}

// series is the timed rounds of one operation against one target, in round
// order.
type series struct {
	runs []run
}

func (s *series) add(r run) { s.runs = append(s.runs, r) }

func (s *series) walls() []time.Duration {
	w := make([]time.Duration, len(s.runs))
	for i, r := range s.runs {
		w[i] = r.wall
	}
	return w
}

// median is the median wall time; the mean of the middle two for an even
// count.
func (s *series) median() time.Duration { return medianDuration(s.walls()) }

// meanCPU is the CPU time of an average run.
func (s *series) meanCPU() cpuTimes {
	var sum cpuTimes
	for _, r := range s.runs {
		sum = sum.add(r.cpu)
	}
	n := time.Duration(max(len(s.runs), 1))
	return cpuTimes{sum.client / n, sum.gateway / n, sum.minio / n}
}

// busy is the share of the machine's CPUs the three processes kept busy
// over all runs: 1 means every core was working for them the whole time.
func (s *series) busy() float64 {
	var cpu, wall time.Duration
	for _, r := range s.runs {
		cpu += r.cpu.total()
		wall += r.wall
	}
	if wall == 0 {
		return 0
	}
	return cpu.Seconds() / wall.Seconds() / float64(numCPU())
}

// machineBusy is the share of the machine's CPU time that any process,
// ours or not, used over all runs.
func (s *series) machineBusy() float64 {
	var busy, total uint64
	for _, r := range s.runs {
		busy += r.machineBusy
		total += r.machineTotal
	}
	if total == 0 {
		return 0
	}
	return float64(busy) / float64(total)
}

func medianDuration(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

func medianFloat(f []float64) float64 {
	if len(f) == 0 {
		return 0
	}
	f = slices.Clone(f)
	slices.Sort(f)
	if len(f)%2 == 1 {
		return f[len(f)/2]
	}
	return (f[len(f)/2-1] + f[len(f)/2]) / 2
}

// order is the order in which round visits n targets: first to last in
// even rounds, last to first in odd ones, so a drift in the machine's
// background load falls on every target alike.
func order(round, n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if round%2 == 1 {
		slices.Reverse(idx)
	}
	return idx
}

// childPID returns the PID of a child of this process whose command line
// contains needle, or 0. The harness does not expose MinIO's PID; its data
// directory is unique to the test and names it.
func childPID(needle string) int {
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(needle)) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(dir, "status"))
		if err != nil || statusField(status, "PPid") != self {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err == nil {
			return pid
		}
	}
	return 0
}

// statusField returns the value of a "Name:\tvalue" line of a
// /proc/<pid>/status file, or "".
func statusField(status []byte, name string) string {
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
