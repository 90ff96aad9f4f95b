package console

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
)

type healthData struct {
	Ready      bool
	ReadyKnown bool
	ReadyError string
	KMS        string // the KMS's kind
	KMSError   string
	Endpoints  []header // KMS endpoints and their state
	DefaultKey string
	Version    string
	Uptime     string
	Rates      *rates
}

// rates are request counts from the gateway's metrics.
type rates struct {
	Requests, ClientErrors, ServerErrors float64 // totals since start
	// Over the window: per second.
	Window                                        string
	RequestRate, ClientErrorRate, ServerErrorRate string
	BackendErrors, KMSErrors                      float64
}

// rateSampler keeps the counters seen at earlier health-page views, so that
// a view shows rates over the last minute or so rather than since start.
type rateSampler struct {
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at                time.Time
	total, c4xx, c5xx float64
}

// windowed records s and returns the oldest sample at least a minute old
// and at most ten (or the oldest there is).
func (rs *rateSampler) windowed(s sample) (sample, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	kept := rs.samples[:0]
	for _, o := range rs.samples {
		if s.at.Sub(o.at) <= 10*time.Minute {
			kept = append(kept, o)
		}
	}
	rs.samples = kept
	var base sample
	found := false
	for i := len(rs.samples) - 1; i >= 0; i-- {
		if s.at.Sub(rs.samples[i].at) >= time.Minute {
			base, found = rs.samples[i], true
			break
		}
	}
	if !found && len(rs.samples) > 0 {
		base, found = rs.samples[0], true
	}
	if len(rs.samples) == 0 || s.at.Sub(rs.samples[len(rs.samples)-1].at) >= 5*time.Second {
		rs.samples = append(rs.samples, s)
		if len(rs.samples) > 256 {
			rs.samples = rs.samples[1:]
		}
	}
	return base, found
}

func (c *Console) healthPage(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	ctx, cancel := actionContext(r)
	defer cancel()
	p := newPage(sess, "health", "Health")
	d := healthData{Version: c.cfg.Version, Uptime: c.cfg.Now().Sub(c.started).Round(time.Second).String()}
	if c.cfg.Ready != nil {
		d.ReadyKnown = true
		if err := c.cfg.Ready(ctx); err != nil {
			// The detail (addresses, key store errors) is in the server
			// log; the page says which part is not ready.
			d.ReadyError = "not ready: the backend or the KMS does not answer, or s3seal has not initialised (see the server log)"
			c.log.Info("health page: gateway not ready", zap.Error(err))
		} else {
			d.Ready = true
		}
	}
	if st, err := a.kmsStatus(ctx); err != nil {
		d.KMSError = "KMSStatus: " + describe(err)
	} else {
		d.KMS, d.DefaultKey = st.Name, st.DefaultKeyID
		for ep, state := range st.Endpoints {
			d.Endpoints = append(d.Endpoints, header{ep, string(state)})
		}
		sort.Slice(d.Endpoints, func(i, j int) bool { return d.Endpoints[i].Name < d.Endpoints[j].Name })
	}
	d.Rates = c.rateSnapshot()
	p.Data = d
	c.render(w, http.StatusOK, "health", p)
}

// rateSnapshot reads the gateway's request counters (s3seal_requests_total
// by code, s3seal_backend_errors_total, s3seal_kms_errors_total). Console
// logins and the console's own page requests are counted there too.
func (c *Console) rateSnapshot() *rates {
	if c.cfg.Metrics == nil {
		return nil
	}
	families, err := c.cfg.Metrics.Gather()
	if err != nil {
		c.log.Warn("health page: gather metrics", zap.Error(err))
		return nil
	}
	out := &rates{}
	for _, f := range families {
		switch f.GetName() {
		case "s3seal_requests_total":
			for _, m := range f.GetMetric() {
				v := m.GetCounter().GetValue()
				out.Requests += v
				switch code := label(m, "code"); {
				case strings.HasPrefix(code, "4"):
					out.ClientErrors += v
				case strings.HasPrefix(code, "5"):
					out.ServerErrors += v
				}
			}
		case "s3seal_backend_errors_total":
			out.BackendErrors = sum(f)
		case "s3seal_kms_errors_total":
			out.KMSErrors = sum(f)
		}
	}
	now := c.cfg.Now()
	base, ok := c.rates.windowed(sample{at: now, total: out.Requests, c4xx: out.ClientErrors, c5xx: out.ServerErrors})
	if !ok {
		base = sample{at: c.started}
	}
	span := now.Sub(base.at)
	if span < time.Second {
		span = time.Second
	}
	out.Window = span.Round(time.Second).String()
	per := func(v float64) string { return formatRate(v / span.Seconds()) }
	out.RequestRate = per(out.Requests - base.total)
	out.ClientErrorRate = per(out.ClientErrors - base.c4xx)
	out.ServerErrorRate = per(out.ServerErrors - base.c5xx)
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func sum(f *dto.MetricFamily) float64 {
	var s float64
	for _, m := range f.GetMetric() {
		s += m.GetCounter().GetValue()
	}
	return s
}

func formatRate(v float64) string {
	if v < 0 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "/s"
}
