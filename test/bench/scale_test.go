//go:build bench

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

const (
	scaleStreams   = 64
	scaleRSSTarget = 256 << 10 // KiB
	latencyOps     = 1000      // sequential 4 KiB operations per path and operation
)

// TestScaleSection runs only the scale section against the http stack,
// and prints it: for working on it without the whole suite (its name does
// not match make bench's -run TestBenchmarks).
func TestScaleSection(t *testing.T) {
	useTmpfs(t)
	privateGatewayCopy(t)
	st := startStack(t, "http")
	rep := &report{}
	measureScale(t, &servers{stacks: []*stack{st}, gw: st.gw, kms: st.kms}, rep)
	rep.started = time.Now()
	t.Log("\n" + rep.markdown())
}

// measureScale adds section 5: many concurrent large streams and the
// gateway's peak memory meanwhile, the latency the gateway adds to single
// small requests, and two gateway replicas against one.
func measureScale(t *testing.T, s *servers, rep *report) {
	sec := section{number: 5, title: "Scale: concurrent streams, added latency, replicas"}
	measureConcurrentStreams(t, s, rep, &sec)
	measureAddedLatency(t, s, rep, &sec)
	measureReplicas(t, s, rep, &sec)
	rep.sections = append(rep.sections, sec)
}

// measureConcurrentStreams PUTs and then GETs scaleStreams objects of
// largeSize at once through the http gateway (SSE-KMS), one client each,
// bodies generated on the fly, and samples the gateway's RSS.
func measureConcurrentStreams(t *testing.T, s *servers, rep *report, sec *section) {
	ctx := t.Context()
	tg := s.kms
	pid := s.gw.PID()
	clients := tg.clients(t, scaleStreams)
	object := func(i int) string { return fmt.Sprintf("scale/%02d", i) }
	all := func(fn func(i int) error) error {
		errs := make([]error, scaleStreams)
		var wg sync.WaitGroup
		for i := range scaleStreams {
			wg.Go(func() { errs[i] = fn(i) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	phases := []struct {
		name string
		run  func(i int) error
	}{
		{fmt.Sprintf("PUT %d × 64 MiB at once", scaleStreams), func(i int) error {
			_, err := clients[i].PutObject(ctx, tg.bucket, object(i), newPseudoRandom(uint64(100+i), largeSize), largeSize,
				minio.PutObjectOptions{DisableMultipart: true})
			return err
		}},
		{fmt.Sprintf("GET %d × 64 MiB at once", scaleStreams), func(i int) error {
			return getInto(ctx, clients[i], tg, object(i), discard{}, make([]byte, 256<<10), largeSize)
		}},
	}
	tbl := table{header: []string{"Phase", "MB/s (all streams)", "Gateway RSS before", "Peak RSS (sampled)", "VmHWM of phase", "Target", "Result"}}
	for _, ph := range phases {
		emptyTrash(t) // 4 GiB more go into MinIO's drive in RAM
		hwmReset := resetPeakRSS(pid) == nil
		before, err := readStatusKiB(pid, "VmRSS")
		if err != nil {
			t.Fatalf("gateway RSS: %v", err)
		}
		sampler := sampleRSS(pid, rssInterval)
		start := time.Now()
		err = all(ph.run)
		wall := time.Since(start)
		peak, _ := sampler.finish()
		if err != nil {
			// Reported, not fatal, so the other figures are kept. (The
			// earlier failures here were MinIO killed by the OOM killer
			// while its trash filled /dev/shm; see emptyTrash.)
			t.Errorf("%s: %v", ph.name, err)
			tbl.rows = append(tbl.rows, []string{ph.name, "failed: " + err.Error(), mib(before), mib(peak), "–", "≤ " + mib(scaleRSSTarget), verdict(false)})
			continue
		}
		hwm := "n/a (clear_refs refused)"
		if hwmReset {
			if v, err := readStatusKiB(pid, "VmHWM"); err == nil {
				peak = max(peak, v)
				hwm = mib(v)
			}
		}
		pass := peak <= scaleRSSTarget
		tbl.rows = append(tbl.rows, []string{ph.name, fmt.Sprintf("%.0f", scaleStreams*largeSize/wall.Seconds()/1e6),
			mib(before), mib(peak), hwm, "≤ " + mib(scaleRSSTarget), verdict(pass)})
		rep.addSummary(5, "Gateway peak RSS, "+ph.name, mib(peak), "–", "≤ "+mib(scaleRSSTarget), pass)
		t.Logf("%s: %v, peak RSS %s", ph.name, wall.Round(time.Millisecond), mib(peak))
	}
	for i := range scaleStreams {
		if err := clients[0].RemoveObject(ctx, tg.bucket, object(i), minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("DELETE %s: %v", object(i), err)
		}
	}
	emptyTrash(t)
	sec.text = append(sec.text, fmt.Sprintf("**Concurrent streams.** %d minio-go clients each PUT (one request, bodies "+
		"generated on the fly) and then GET a 64 MiB object at once through the http gateway's SSE-KMS bucket; the gateway's "+
		"RSS is sampled every %v and VmHWM reset before each phase. Peak RSS is the gateway's whole resident memory, not "+
		"growth; the target is %s.", scaleStreams, rssInterval, mib(scaleRSSTarget)))
	sec.tables = append(sec.tables, tbl)
}

// measureAddedLatency times latencyOps sequential 4 KiB PUTs and then GETs
// by one client on plain MinIO and through the gateway (http), so nothing
// queues: the difference of the percentiles is what the gateway adds to a
// request.
func measureAddedLatency(t *testing.T, s *servers, rep *report, sec *section) {
	ctx := t.Context()
	st := s.stacks[0]
	payload := pseudoRandomBytes(7, smallSize)
	buf := make([]byte, 64<<10)
	type result struct{ put, get []time.Duration }
	results := map[string]*result{}
	paths := []target{st.plain, st.fwd, st.kms, st.s3}
	clients := make([]*minio.Client, len(paths))
	for j, tg := range paths {
		clients[j] = tg.client(t)
		results[tg.label()] = &result{}
	}
	// Request i goes to every path in turn (the order alternating), so a
	// disturbance of the shared machine hits the paths alike.
	for _, put := range []bool{true, false} {
		for i := range latencyOps + 50 { // the first 50 warm up
			object := fmt.Sprintf("latency/%04d", i%latencyOps)
			for _, j := range order(i, len(paths)) {
				tg, r := paths[j], results[paths[j].label()]
				start := time.Now()
				if put {
					if _, err := clients[j].PutObject(ctx, tg.bucket, object, bytes.NewReader(payload), smallSize, minio.PutObjectOptions{}); err != nil {
						t.Fatalf("%s: PUT: %v", tg.label(), err)
					}
				} else if err := getInto(ctx, clients[j], tg, object, io.Discard, buf, smallSize); err != nil {
					t.Fatalf("%s: %v", tg.label(), err)
				}
				if d := time.Since(start); i >= 50 && put {
					r.put = append(r.put, d)
				} else if i >= 50 {
					r.get = append(r.get, d)
				}
			}
		}
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		d = slices.Clone(d)
		slices.Sort(d)
		return d[min(len(d)-1, int(float64(len(d))*p))]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
	tbl := table{header: []string{"Operation", "Path", "p50", "p99", "Added p50 (minus plain MinIO)", "Added p99"}}
	base := results[st.plain.label()]
	for _, op := range []string{"PUT", "GET"} {
		pick := func(r *result) []time.Duration {
			if op == "PUT" {
				return r.put
			}
			return r.get
		}
		for _, tg := range paths {
			r := results[tg.label()]
			added50, added99 := "–", "–"
			if tg.procs.gateway != 0 {
				a50 := pct(pick(r), .50) - pct(pick(base), .50)
				a99 := pct(pick(r), .99) - pct(pick(base), .99)
				added50, added99 = ms(a50), ms(a99)
			}
			if tg.isGateway() {
				rep.addInfo(5, fmt.Sprintf("Added latency, 4 KiB %s, 1 client, http (%s)", op, tg.path()),
					fmt.Sprintf("p50 %s, p99 %s", added50, added99))
			}
			tbl.rows = append(tbl.rows, []string{"4 KiB " + op, tg.label(), ms(pct(pick(r), .50)), ms(pct(pick(r), .99)), added50, added99})
		}
	}
	sec.text = append(sec.text, fmt.Sprintf("**Added latency.** One minio-go client per path, one request at a time, %d 4 KiB "+
		"PUTs and then %d GETs per path over http after 50 untimed ones, each object to every path in turn (alternating the "+
		"order) so that the shared machine's disturbances hit all paths alike; the percentiles of the per-request times, and "+
		"the gateway's (or the bare forwarder's) minus plain MinIO's: the forwarder's is what a second hop alone adds. With one request in flight nothing queues, so this is the gateway's own latency "+
		"(plus the scheduling noise of a shared machine, which p99 shows most: a difference of p99s can be negative).",
		latencyOps, latencyOps))
	sec.tables = append(sec.tables, tbl)
}

// measureReplicas runs the 4 KiB GET and PUT load (smallOps, smallWorkers
// clients) against one gateway, and against two replicas over the same
// MinIO and key store with the clients spread round-robin over them.
func measureReplicas(t *testing.T, s *servers, rep *report, sec *section) {
	ctx := t.Context()
	st := s.stacks[0]
	second := harness.StartGateway(t, st.minio, harness.WithGatewayEnv("S3SEAL_KMS_DIR", st.gw.KMSDir))
	replica := st.kms
	replica.endpoint, replica.accessKey, replica.secretKey = second.Endpoint, second.AccessKey, second.SecretKey
	replica.procs.gateway = second.PID()
	payload := pseudoRandomBytes(8, smallSize)
	run := func(tgs []target, put bool) (time.Duration, error) {
		clients := make([]*minio.Client, smallWorkers)
		for w := range clients {
			clients[w] = tgs[w%len(tgs)].client(t) // round-robin
		}
		var next atomic.Int64
		errs := make([]error, smallWorkers)
		buf := make([][]byte, smallWorkers)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range smallWorkers {
			buf[w] = make([]byte, 64<<10)
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= smallOps {
						return
					}
					object := fmt.Sprintf("replicas/%04d", i)
					if put {
						if _, err := clients[w].PutObject(ctx, st.kms.bucket, object, bytes.NewReader(payload), smallSize, minio.PutObjectOptions{}); err != nil {
							errs[w] = err
							return
						}
						continue
					}
					if err := getInto(ctx, clients[w], st.kms, object, discard{}, buf[w], smallSize); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start), errors.Join(errs...)
	}
	setups := []struct {
		name string
		tgs  []target
	}{{"one gateway", []target{st.kms}}, {"two replicas, round-robin", []target{st.kms, replica}}}
	cpuOf := func() cpuTimes {
		return cpuTimes{gateway: procCPU(st.gw.PID()) + procCPU(second.PID()), minio: procCPU(st.kms.procs.minio), client: procCPU(st.kms.procs.client)}
	}
	storeBefore := scrapeSum(t, st.kms, "s3seal_keystore_requests_total") + scrapeSum(t, replica, "s3seal_keystore_requests_total")
	timedFrom := time.Now()
	tbl := table{header: []string{"Operation", "Setup", "Throughput (median)", "Ratio to one gateway", "Gateway CPU (all replicas)", "MinIO CPU", "Client CPU"}}
	for _, put := range []bool{true, false} {
		op := "GET"
		if put {
			op = "PUT"
		}
		walls := make([][]time.Duration, len(setups))
		cpus := make([]cpuTimes, len(setups))
		for _, su := range setups { // warm-up
			if _, err := run(su.tgs, put); err != nil {
				t.Fatalf("%s %s warm-up: %v", op, su.name, err)
			}
		}
		for round := range *rounds {
			for _, i := range order(round, len(setups)) {
				before := cpuOf()
				d, err := run(setups[i].tgs, put)
				if err != nil {
					t.Fatalf("%s %s: %v", op, setups[i].name, err)
				}
				walls[i] = append(walls[i], d)
				cpus[i] = cpus[i].add(cpuOf().sub(before))
			}
		}
		one := medianDuration(walls[0])
		for i, su := range setups {
			m := medianDuration(walls[i])
			n := time.Duration(len(walls[i]))
			tbl.rows = append(tbl.rows, []string{fmt.Sprintf("4 KiB %s × %d, %d clients", op, smallOps, smallWorkers), su.name,
				fmt.Sprintf("%.0f ops/s", smallOps/m.Seconds()), fmt.Sprintf("%.2f×", one.Seconds()/m.Seconds()),
				fmt.Sprintf("%.2f s", (cpus[i].gateway / n).Seconds()), fmt.Sprintf("%.2f s", (cpus[i].minio / n).Seconds()),
				fmt.Sprintf("%.2f s", (cpus[i].client / n).Seconds())})
			if i > 0 {
				rep.addInfo(5, fmt.Sprintf("4 KiB %s throughput, two replicas / one (http, SSE-KMS)", op), fmt.Sprintf("%.2f×", one.Seconds()/m.Seconds()))
			}
		}
	}
	storeCalls := scrapeSum(t, st.kms, "s3seal_keystore_requests_total") + scrapeSum(t, replica, "s3seal_keystore_requests_total") - storeBefore
	allowed := keyStoreRefreshes(2, time.Since(timedFrom))
	if storeCalls > allowed {
		t.Errorf("the replicas made %v key-store calls after warm-up, want at most %v", storeCalls, allowed)
	}
	sec.text = append(sec.text, fmt.Sprintf("**Replicas.** A second gateway over the same MinIO and key store (nothing else "+
		"shared: each replica has its own caches), the %d clients of section 2 spread round-robin over the two, against all "+
		"on one; %d 4 KiB PUTs and then GETs per run, one warm-up run, %d timed rounds alternating the order; the ratio is "+
		"throughput over one gateway's. Both replicas answer every request alike (the objects the PUTs wrote through both are "+
		"read back through both). Key-store calls after warm-up, both replicas: %s.",
		smallWorkers, smallOps, *rounds, describeCalls(storeCalls, allowed)))
	sec.tables = append(sec.tables, tbl)
	sec.notes = append(sec.notes, fmt.Sprintf("Both replicas run on the same %d cores as MinIO and the client, so a second "+
		"replica brings no CPU with it: throughput cannot scale on this machine, and the rows show what a second process "+
		"costs (the CPU columns are per run, summed over the replicas). That the replicas share nothing but the backend and "+
		"the key store shows in the answers (every object written through one is read through the other) and in the key-store "+
		"count; scaling out needs a replica per host.", numCPU()))
}
