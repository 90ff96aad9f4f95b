//go:build bench

package bench

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// md5Section is the title of the report section TestBenchmarksMD5ETags
// writes and TestBenchmarks keeps.
const md5Section = "MD5 ETags: what the MD5 pass costs a PUT"

// TestBenchmarksMD5ETags measures what the MD5 of the plaintext (the
// client ETag of single-part SSE-S3 objects) costs a PUT: two gateways
// over one MinIO and one key store, one with S3SEAL_MD5_ETAGS=off, both
// writing SSE-S3 (the default), timed in alternating rounds. With -out it
// replaces its section of the report and leaves the rest as it is.
func TestBenchmarksMD5ETags(t *testing.T) {
	started := time.Now()
	useTmpfs(t)
	binary := privateGatewayCopy(t)
	loadBefore := loadAverage()
	m := harness.StartMinIO(t)
	on := harness.StartGateway(t, m)
	off := harness.StartGateway(t, m, harness.WithGatewayEnv("S3SEAL_MD5_ETAGS", "off"), harness.WithGatewayEnv("S3SEAL_KMS_DIR", on.KMSDir))
	minioPID := childPID(m.DataDir)
	type side struct {
		tg    target
		procs processes
	}
	sides := []side{
		{target{name: "MD5 off", sse: "SSE-S3", endpoint: off.Endpoint, accessKey: off.AccessKey, secretKey: off.SecretKey, bucket: "bench-md5-off"},
			processes{client: os.Getpid(), gateway: off.PID(), minio: minioPID}},
		{target{name: "MD5 on", sse: "SSE-S3", endpoint: on.Endpoint, accessKey: on.AccessKey, secretKey: on.SecretKey, bucket: "bench-md5-on"},
			processes{client: os.Getpid(), gateway: on.PID(), minio: minioPID}},
	}
	ctx := t.Context()
	so := &smallOperations{payload: pseudoRandomBytes(4, smallSize), clients: map[string][]*minio.Client{}}
	lt := &largeTransfers{payload: pseudoRandomBytes(1, largeSize), clients: map[string][]*minio.Client{}}
	for _, sd := range sides {
		if err := sd.tg.client(t).MakeBucket(ctx, sd.tg.bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket %s: %v", sd.tg.bucket, err)
		}
		so.clients[sd.tg.label()] = sd.tg.clients(t, smallWorkers)
		lt.clients[sd.tg.label()] = sd.tg.clients(t, 1)
	}
	putLarge := largeOp{put: true, streams: 1}
	ops := []struct {
		name       string
		count      int // requests per run
		work       float64
		unit       string
		scale      float64
		run        func(context.Context, target) error
		checkETags bool
	}{
		{fmt.Sprintf("SSE-S3 MD5 ETag cost, PUT 4 KiB × %d, %d clients", smallOps, smallWorkers), smallOps, smallOps, "ops/s", 1,
			func(ctx context.Context, tg target) error { return so.run(ctx, tg, true) }, false},
		{"SSE-S3 MD5 ETag cost, " + putLarge.String(), 1, largeSize, "MB/s", 1e6,
			func(ctx context.Context, tg target) error { return lt.run(ctx, tg, putLarge) }, true},
	}
	results := make([][]*series, len(ops))
	perPut := make([][]float64, len(ops)) // backend requests per PUT, by side
	for i, op := range ops {
		results[i] = []*series{{}, {}}
		for _, sd := range sides { // warm-up
			if err := op.run(ctx, sd.tg); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
		}
		backendBefore := make([]float64, len(sides))
		for j, sd := range sides {
			backendBefore[j] = scrapeSum(t, sd.tg, "s3seal_backend_requests_total")
		}
		for round := range *rounds {
			for _, j := range order(round, len(sides)) {
				r, err := sides[j].procs.timed(func() error { return op.run(ctx, sides[j].tg) })
				if err != nil {
					t.Fatalf("%s round %d: %v", op.name, round, err)
				}
				results[i][j].add(r)
			}
		}
		for j, sd := range sides {
			n := scrapeSum(t, sd.tg, "s3seal_backend_requests_total") - backendBefore[j]
			perPut[i] = append(perPut[i], n/float64(*rounds*op.count))
		}
		t.Logf("%s done", op.name)
	}
	// The measurement is only worth something if the switch did switch.
	sum := md5.Sum(lt.payload)
	want := hex.EncodeToString(sum[:])
	for _, sd := range sides {
		st, err := sd.tg.client(t).StatObject(ctx, sd.tg.bucket, "large/0-of-1", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Trim(st.ETag, `"`) == want; got != (sd.tg.name == "MD5 on") {
			t.Fatalf("%s: ETag %s, MD5 of the plaintext %s", sd.tg.name, st.ETag, want)
		}
	}

	var b strings.Builder
	b.WriteString("## " + md5Section + "\n\n")
	fmt.Fprintf(&b, "Generated %s by TestBenchmarksMD5ETags in %s. Two gateways over one MinIO (in RAM) and one key store, "+
		"one started with `S3SEAL_MD5_ETAGS=off`, both writing SSE-S3 (the default); the same minio-go clients and payloads as "+
		"sections 1 and 2, one untimed warm-up run, then %d timed rounds alternating which gateway goes first; each figure is "+
		"the median round. A ratio is MD5 on / MD5 off, so 1.00× is free. With MD5 ETags on, a 4 KiB body is read before the "+
		"backend PUT and its MD5 sealed into the object's metadata, which listings read (MinIO's metadata=true listings): one "+
		"backend request, as with MD5 off; a 64 MiB body is hashed as it streams (the MD5 is known only after the backend "+
		"PUT has begun), and the PUT then writes one empty index entry into the system bucket, which listings need. Backend "+
		"requests per PUT are counted by each gateway (s3seal_backend_requests_total) over the timed rounds; they include "+
		"the gateway's re-reads of the bucket's encryption and policy (two requests per BucketConfigTTL, 5 s), which only "+
		"the few, long 64 MiB PUTs show. s3seal %s; load average %s before, %s after, on a machine other jobs shared: the time ratios are "+
		"noisy, the CPU columns the steadier guide.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), time.Since(started).Round(time.Second), *rounds, binary, loadBefore, loadAverage())
	b.WriteString("Command:\n\n```\nmake build && cd test && S3SEAL_BIN=$PWD/../bin/s3seal go test -tags bench -run TestBenchmarksMD5ETags -count=1 -timeout 20m -v ./bench -args -out $PWD/../BENCHMARKS.md\n```\n\n")
	writeTable(&b, table{
		header: []string{"Operation", "MD5 off", "MD5 on", "Ratio (time)", "Per-round ratios", "s3seal CPU off → on", "CPU-time ratio (client + s3seal + MinIO)", "Backend requests per PUT, off → on"},
		rows: func() [][]string {
			var rows [][]string
			for i, op := range ops {
				offS, onS := results[i][0], results[i][1]
				var per []float64
				for k := range min(len(offS.runs), len(onS.runs)) {
					per = append(per, onS.runs[k].wall.Seconds()/offS.runs[k].wall.Seconds())
				}
				rows = append(rows, []string{
					op.name,
					fmt.Sprintf("%.1f %s", op.work/offS.median().Seconds()/op.scale, op.unit),
					fmt.Sprintf("%.1f %s", op.work/onS.median().Seconds()/op.scale, op.unit),
					fmt.Sprintf("%.2f×", onS.median().Seconds()/offS.median().Seconds()),
					spread(per),
					fmt.Sprintf("%.2f s → %.2f s", offS.meanCPU().gateway.Seconds(), onS.meanCPU().gateway.Seconds()),
					fmt.Sprintf("%.2f×", onS.meanCPU().total().Seconds()/offS.meanCPU().total().Seconds()),
					fmt.Sprintf("%.2f → %.2f", perPut[i][0], perPut[i][1]),
				})
			}
			return rows
		}(),
	})
	md := b.String()
	t.Log("\n" + md)
	if *outPath == "" {
		return
	}
	old, err := os.ReadFile(*outPath)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	doc := harness.ReplaceMarkdownSection(string(old), md5Section, md)
	if err := os.WriteFile(*outPath, []byte(doc), 0o644); err != nil {
		t.Fatalf("write report: %v", err)
	}
	t.Logf("wrote the %q section of %s", md5Section, *outPath)
}
