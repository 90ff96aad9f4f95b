package harness

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ProcessStats are a gateway's runtime figures as its /metrics endpoint
// reports them (the Prometheus Go and process collectors).
type ProcessStats struct {
	Goroutines int   // go_goroutines
	OpenFDs    int   // process_open_fds
	RSS        int64 // process_resident_memory_bytes
}

func (s ProcessStats) String() string {
	return fmt.Sprintf("%d goroutines, %d open fds, %.1f MiB RSS", s.Goroutines, s.OpenFDs, float64(s.RSS)/(1<<20))
}

// statsClient scrapes without keep-alive, so every scrape costs the gateway
// the same one connection and leaves none behind.
var statsClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// ReadStats scrapes the gateway's /metrics once.
func (g *Gateway) ReadStats(ctx context.Context) (ProcessStats, error) {
	return ReadProcessStats(ctx, g.Endpoint+"/metrics")
}

// ReadProcessStats scrapes a Prometheus text endpoint at url for the Go
// and process collectors' figures; each must be present.
func ReadProcessStats(ctx context.Context, url string) (ProcessStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ProcessStats{}, err
	}
	resp, err := statsClient.Do(req)
	if err != nil {
		return ProcessStats{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ProcessStats{}, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	want := map[string]float64{"go_goroutines": -1, "process_open_fds": -1, "process_resident_memory_bytes": -1}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if _, wanted := want[name]; !ok || !wanted {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return ProcessStats{}, fmt.Errorf("scrape %s: %s: %w", url, name, err)
		}
		want[name] = v
	}
	if err := sc.Err(); err != nil {
		return ProcessStats{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	for name, v := range want {
		if v < 0 {
			return ProcessStats{}, fmt.Errorf("scrape %s: no %s", url, name)
		}
	}
	return ProcessStats{
		Goroutines: int(want["go_goroutines"]),
		OpenFDs:    int(want["process_open_fds"]),
		RSS:        int64(want["process_resident_memory_bytes"]),
	}, nil
}

// Stats scrapes the gateway's /metrics and fails the test on error.
func (g *Gateway) Stats(t testing.TB) ProcessStats {
	t.Helper()
	s, err := g.ReadStats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// WaitStatsNear polls the gateway's /metrics until its goroutines and open
// file descriptors are at most base plus the given slack, and fails the
// test (naming the last figures) if they are not within timeout. It
// returns the figures that passed.
func (g *Gateway) WaitStatsNear(t testing.TB, base ProcessStats, goroutineSlack, fdSlack int, timeout time.Duration) ProcessStats {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s, err := g.ReadStats(t.Context())
		if err == nil && s.Goroutines <= base.Goroutines+goroutineSlack && s.OpenFDs <= base.OpenFDs+fdSlack {
			return s
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("gateway stats after %v: %v", timeout, err)
			}
			t.Fatalf("gateway stats did not return to baseline within %v: got %v, want at most %d goroutines and %d open fds (baseline %v)",
				timeout, s, base.Goroutines+goroutineSlack, base.OpenFDs+fdSlack, base)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(4 * pollInterval):
		}
	}
}
