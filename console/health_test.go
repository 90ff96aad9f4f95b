package console

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The health page's rates are over the last minute or so of page views,
// from the gateway's request counters, split by status class.
func TestHealthRatesComeFromTheRequestCounters(t *testing.T) {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s3seal_requests_total"}, []string{"operation", "code"})
	reg.MustRegister(requests)
	now := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	c, err := New(Config{Gateway: &fakeGateway{}, Metrics: reg, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	requests.WithLabelValues("GetObject", "200").Add(100)
	requests.WithLabelValues("GetObject", "404").Add(10)
	now = now.Add(10 * time.Second)
	first := c.rateSnapshot() // since start: 10s
	if first.Requests != 110 || first.ClientErrors != 10 || first.ServerErrors != 0 || first.RequestRate != "11.00/s" {
		t.Errorf("first view = %+v, want 110 requests, 10 4xx, 11.00/s", first)
	}
	requests.WithLabelValues("PutObject", "503").Add(60)
	requests.WithLabelValues("PutObject", "200").Add(60)
	now = now.Add(time.Minute)
	second := c.rateSnapshot() // over the minute since the first view
	if second.Window != "1m0s" || second.RequestRate != "2.00/s" || second.ServerErrorRate != "1.00/s" || second.ClientErrorRate != "0.00/s" {
		t.Errorf("second view = %+v, want 2.00/s overall and 1.00/s of 5xx over 1m0s", second)
	}
}
