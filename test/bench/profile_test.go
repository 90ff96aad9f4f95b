//go:build bench

package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

var (
	profileDir     = flag.String("profile-dir", "", "TestProfileGateway: write the gateway's profiles here")
	profileScheme  = flag.String("profile-scheme", "http", "TestProfileGateway: http or https")
	profileSeconds = flag.Int("profile-seconds", 15, "TestProfileGateway: CPU profile length per operation")
	profileOnly    = flag.String("profile-only", "", "TestProfileGateway: run only the loads whose names match this regular expression (e.g. get-64mib)")
	profileSize    = flag.String("profile-size", "4KiB", "TestProfileGateway: 4KiB (the small-object load) or 64MiB (one stream of 64 MiB PUTs to an SSE-KMS and an SSE-S3 bucket, GETs and range GETs)")
)

// profiledLoad is one load a CPU profile is taken under: run performs one
// round of it and returns how many operations the round made.
type profiledLoad struct {
	name string
	run  func(ctx context.Context) (int, error)
	// forwarder: the load goes through the bare forwarder, which serves
	// no profile; only its CPU time per operation is measured, for
	// comparison.
	forwarder bool
}

// TestProfileGateway profiles the gateway under the 4 KiB load of section
// 2 (SSE-KMS): a CPU profile while PUTs run, one while GETs run, and the
// allocation profile after both. With -profile-size 64MiB it profiles one
// stream of the 64 MiB transfers of section 1 instead: PUT to an SSE-KMS
// and to an SSE-S3 bucket, GET, and the range GET, one profile each, and
// then the same PUT, GET and range GET through the bare forwarder, whose
// CPU time per operation (no profile) is the floor to compare with. The
// gateway must be built with -tags pprof (S3SEAL_BIN), which serves
// net/http/pprof on S3SEAL_PPROF_ADDR:
//
//	go build -tags pprof -o /tmp/s3seal-pprof ./cmd/s3seal
//	cd test && S3SEAL_BIN=/tmp/s3seal-pprof go test -tags bench -run TestProfileGateway -v ./bench -args -profile-dir /tmp/prof
//	go tool pprof -top /tmp/prof/cpu-get.pprof
//
// make profile does the first two steps.
func TestProfileGateway(t *testing.T) {
	if *profileDir == "" {
		t.Fatal("TestProfileGateway writes profiles: run it with -args -profile-dir DIR (make profile)")
	}
	useTmpfs(t)
	pprofAddr := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	st := startStack(t, *profileScheme, harness.WithGatewayEnv("S3SEAL_PPROF_ADDR", pprofAddr))
	loads := profiledLoads(t, st)
	ctx := t.Context()
	for _, l := range loads { // warm-up; the 64 MiB PUTs also write what the GETs read
		if _, err := l.run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if *profileOnly != "" {
		only, err := regexp.Compile(*profileOnly)
		if err != nil {
			t.Fatalf("-profile-only: %v", err)
		}
		loads = slices.DeleteFunc(loads, func(l profiledLoad) bool { return !only.MatchString(l.name) })
	}
	fetch := func(path, file string) {
		resp, err := http.Get("http://" + pprofAddr + path)
		if err != nil {
			t.Fatalf("%s: %v (is S3SEAL_BIN built with -tags pprof?)", path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		f, err := os.Create(filepath.Join(*profileDir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(*profileDir, 0o755); err != nil {
		t.Fatal(err)
	}
	fetch("/debug/pprof/allocs", "allocs-before.pprof")
	for _, l := range loads {
		stop := make(chan struct{})
		done := make(chan int)
		go func() {
			ops := 0
			for {
				select {
				case <-stop:
					done <- ops
					return
				default:
				}
				n, err := l.run(context.WithoutCancel(ctx))
				if err != nil {
					t.Error(err)
					done <- ops
					return
				}
				ops += n
			}
		}()
		pid := st.kms.procs.gateway
		if l.forwarder {
			pid = st.fwd.procs.gateway
		}
		start := time.Now()
		cpu0 := procCPU(pid)
		if l.forwarder {
			time.Sleep(time.Duration(*profileSeconds) * time.Second)
		} else {
			fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", *profileSeconds), "cpu-"+l.name+".pprof")
		}
		close(stop)
		ops := <-done
		cpu := procCPU(pid) - cpu0
		wall := time.Since(start)
		t.Logf("%s: %d ops in %s, gateway CPU %s = %.0f µs per operation", l.name, ops, wall.Round(time.Millisecond), cpu, float64(cpu.Microseconds())/float64(ops))
	}
	fetch("/debug/pprof/allocs", "allocs-after.pprof")
}

// profiledLoads are the loads of -profile-size on st's gateway.
func profiledLoads(t *testing.T, st *stack) []profiledLoad {
	t.Helper()
	switch *profileSize {
	case "4KiB":
		tg := st.kms
		so := &smallOperations{payload: pseudoRandomBytes(4, smallSize), clients: map[string][]*minio.Client{tg.label(): tg.clients(t, smallWorkers)}}
		for range smallWorkers {
			so.buffers = append(so.buffers, make([]byte, 64<<10))
		}
		load := func(put bool) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) { return smallOps, so.run(ctx, tg, put) }
		}
		return []profiledLoad{{name: "put", run: load(true)}, {name: "get", run: load(false)}}
	case "64MiB":
		lt := &largeTransfers{
			payload: pseudoRandomBytes(64, largeSize),
			clients: map[string][]*minio.Client{},
			buffers: [][]byte{make([]byte, copyBufferSize)},
		}
		for _, tg := range []target{st.kms, st.s3, st.fwd} {
			lt.clients[tg.label()] = tg.clients(t, 1)
		}
		load := func(tg target, op largeOp) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) { return 1, lt.run(ctx, tg, op) }
		}
		return []profiledLoad{
			{name: "put-64mib-sse-kms", run: load(st.kms, largeOp{put: true, streams: 1})},
			{name: "put-64mib-sse-s3", run: load(st.s3, largeOp{put: true, streams: 1})},
			{name: "get-64mib", run: load(st.kms, largeOp{streams: 1})},
			{name: "range-get-64mib", run: load(st.kms, largeOp{rangeRead: true, streams: 1})},
			{name: "put-64mib-forwarder", run: load(st.fwd, largeOp{put: true, streams: 1}), forwarder: true},
			{name: "get-64mib-forwarder", run: load(st.fwd, largeOp{streams: 1}), forwarder: true},
			{name: "range-get-64mib-forwarder", run: load(st.fwd, largeOp{rangeRead: true, streams: 1}), forwarder: true},
		}
	}
	t.Fatalf("-profile-size %q: want 4KiB or 64MiB", *profileSize)
	return nil
}
