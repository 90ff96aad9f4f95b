package kes

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serverMetrics are the KES server metrics /v1/metrics serves, named as KES
// names them, in a registry of the server's own.
type serverMetrics struct {
	success, clientError, failure prometheus.Counter
	active                        prometheus.Gauge
	responseTime                  prometheus.Histogram
	handler                       http.Handler
}

func newServerMetrics(s *Server) *serverMetrics {
	m := &serverMetrics{
		success: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kes", Subsystem: "http", Name: "request_success",
			Help: "Number of requests that have been served successfully.",
		}),
		clientError: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kes", Subsystem: "http", Name: "request_error",
			Help: "Number of request that failed due to some error. (HTTP 4xx status code)",
		}),
		failure: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kes", Subsystem: "http", Name: "request_failure",
			Help: "Number of request that failed due to some internal failure. (HTTP 5xx status code)",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "kes", Subsystem: "http", Name: "request_active",
			Help: "Number of active requests that are not finished, yet.",
		}),
		responseTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "kes", Subsystem: "http", Name: "response_time",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 3.0, 5.0, 10.0},
			Help:    "Histogram of request response times spawning from 10ms to 10s.",
		}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.success, m.clientError, m.failure, m.active, m.responseTime,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "kes", Subsystem: "system", Name: "up_time",
			Help: "The time the server has been up and running in seconds.",
		}, func() float64 { return s.now().Sub(s.started).Round(time.Second).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "kes", Subsystem: "system", Name: "num_cpu",
			Help: "The number of logical CPUs available on the system. It may be larger than the number of usable CPUs.",
		}, func() float64 { return float64(runtime.NumCPU()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "kes", Subsystem: "system", Name: "num_cpu_used",
			Help: "The number of logical CPUs usable by the server. It may be smaller than the number of available CPUs.",
		}, func() float64 { return float64(runtime.GOMAXPROCS(0)) }),
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// observe counts a finished request by its status class.
func (m *serverMetrics) observe(status int, d time.Duration) {
	switch {
	case status == 0 || status < 400:
		m.success.Inc()
	case status < 500:
		m.clientError.Inc()
	default:
		m.failure.Inc()
	}
	m.responseTime.Observe(d.Seconds())
}
