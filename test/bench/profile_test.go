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
)

// TestProfileGateway profiles the gateway under the 4 KiB load of section
// 2 (SSE-KMS): a CPU profile while PUTs run, one while GETs run, and the
// allocation profile after both. The gateway must be built with -tags
// pprof (S3SEAL_BIN), which serves net/http/pprof on S3SEAL_PPROF_ADDR:
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
	tg := st.kms
	so := &smallOperations{payload: pseudoRandomBytes(4, smallSize), clients: map[string][]*minio.Client{tg.label(): tg.clients(t, smallWorkers)}}
	for range smallWorkers {
		so.buffers = append(so.buffers, make([]byte, 64<<10))
	}
	ctx := t.Context()
	for _, put := range []bool{true, false} { // warm-up
		if err := so.run(ctx, tg, put); err != nil {
			t.Fatal(err)
		}
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
	for _, put := range []bool{true, false} {
		name := "get"
		if put {
			name = "put"
		}
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
				if err := so.run(context.WithoutCancel(ctx), tg, put); err != nil {
					t.Error(err)
					done <- ops
					return
				}
				ops += smallOps
			}
		}()
		start := time.Now()
		cpu0 := procCPU(tg.procs.gateway)
		fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", *profileSeconds), "cpu-"+name+".pprof")
		close(stop)
		ops := <-done
		cpu := procCPU(tg.procs.gateway) - cpu0
		wall := time.Since(start)
		t.Logf("%s: %d ops in %s, gateway CPU %s = %.0f µs per operation", name, ops, wall.Round(time.Millisecond), cpu, float64(cpu.Microseconds())/float64(ops))
	}
	fetch("/debug/pprof/allocs", "allocs-after.pprof")
}
