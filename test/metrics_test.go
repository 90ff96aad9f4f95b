package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/s3seal/s3seal/test/harness"
)

// What operators scrape: /metrics, open by default or behind a bearer
// token. The audit log is in auditlog_test.go, TLS in tls_test.go.

// metricsPath is where the gateway serves Prometheus metrics.
const metricsPath = "/metrics"

func TestObservabilityMetrics(t *testing.T) {
	t.Run("open by default, they count operations, plaintext bytes and KMS calls", func(t *testing.T) {
		backend := harness.StartMinIO(t)
		gw := harness.StartGateway(t, backend)
		c := gw.Client(t)
		ctx := t.Context()
		const bucket, object = "observed", "payload.bin"
		data := harness.RandomBytes(t, 300_001)

		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket: %v", err)
		}
		if _, err := c.PutObject(ctx, bucket, object, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		assertObjectReads(t, c, bucket, object, minio.GetObjectOptions{}, data)
		if _, err := c.StatObject(ctx, bucket, object, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("StatObject (HEAD): %v", err)
		}

		// The gateway counts a request after its response is sent, so the
		// client can be a moment ahead of the counters.
		size := float64(len(data))
		harness.Eventually(t, 10*time.Second, func(ctx context.Context) error {
			status, fams, err := scrapeMetrics(ctx, http.DefaultClient, gw.Endpoint+metricsPath, "")
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("GET /metrics without credentials: status %d, want 200", status)
			}
			var errs []error
			for _, op := range []string{"PutObject", "GetObject", "HeadObject"} {
				if got := metricSum(fams, "s3seal_requests_total", "operation", op, "code", "200"); got < 1 {
					errs = append(errs, fmt.Errorf("s3seal_requests_total{operation=%q,code=\"200\"} = %v, want ≥ 1", op, got))
				}
				if err := checkHistogram(fams, "s3seal_request_duration_seconds", "operation", op); err != nil {
					errs = append(errs, err)
				}
			}
			for _, c := range []struct {
				name   string
				labels []string
				min    float64
			}{
				{"s3seal_bytes_encrypted_total", nil, size},
				{"s3seal_bytes_decrypted_total", nil, size},
				{"s3seal_kms_requests_total", []string{"call", "GenerateKey", "result", "ok"}, 1},
				{"s3seal_kms_requests_total", []string{"call", "Decrypt", "result", "ok"}, 1},
				{"s3seal_backend_requests_total", []string{"method", "PUT", "status_class", "2xx"}, 1},
				{"s3seal_backend_requests_total", []string{"method", "GET", "status_class", "2xx"}, 1},
				{"go_goroutines", nil, 1},
			} {
				if got := metricSum(fams, c.name, c.labels...); got < c.min {
					errs = append(errs, fmt.Errorf("%s%v = %v, want ≥ %v", c.name, c.labels, got, c.min))
				}
			}
			for _, name := range []string{"s3seal_kms_request_duration_seconds", "s3seal_backend_request_duration_seconds"} {
				if _, ok := fams[name]; !ok {
					errs = append(errs, fmt.Errorf("%s is missing", name))
				}
			}
			if got := metricSum(fams, "s3seal_kms_errors_total"); got != 0 {
				errs = append(errs, fmt.Errorf("s3seal_kms_errors_total = %v, want 0", got))
			}
			return errors.Join(errs...)
		})
	})

	t.Run("with a token, a scrape must present it", func(t *testing.T) {
		backend := harness.StartMinIO(t)
		token := harness.RandomHex(t, 16)
		gw := harness.StartGateway(t, backend, harness.WithGatewayEnv("S3SEAL_METRICS_TOKEN", token))
		url := gw.Endpoint + metricsPath

		for _, tc := range []struct {
			name, auth string
			want       int
		}{
			{"no Authorization header", "", http.StatusUnauthorized},
			{"a wrong token", "Bearer " + token[:len(token)-1] + "x", http.StatusUnauthorized},
			{"the token without the Bearer scheme", token, http.StatusUnauthorized},
			{"the token", "Bearer " + token, http.StatusOK},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, fams, err := scrapeMetrics(t.Context(), http.DefaultClient, url, tc.auth)
				if err != nil {
					t.Fatal(err)
				}
				if status != tc.want {
					t.Fatalf("GET /metrics status = %d, want %d", status, tc.want)
				}
				if status == http.StatusOK && fams["s3seal_requests_total"] == nil && fams["s3seal_kms_requests_total"] == nil {
					t.Errorf("authorised scrape has no s3seal metrics; families: %v", familyNames(fams))
				}
			})
		}

		// A SigV4-signed GET /metrics is an S3 request (ListObjects on a
		// bucket named "metrics"), never a scrape: it must not see metrics.
		t.Run("S3 credentials are not a substitute", func(t *testing.T) {
			req := gw.SignedRequest(t, url)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got, want := resp.StatusCode, http.StatusNotFound; got != want || !strings.Contains(string(body), "NoSuchBucket") {
				t.Errorf("GET /metrics signed with the root S3 credentials: status = %d, body %.200q; want %d NoSuchBucket (an S3 request)", got, body, want)
			}
			if strings.Contains(string(body), "s3seal_requests_total") {
				t.Errorf("a signed S3 request was answered with metrics")
			}
		})
	})
}

func getStatus(ctx context.Context, client *http.Client, url, auth string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// scrapeMetrics fetches url with the given Authorization header and, on 200,
// parses the Prometheus text format.
func scrapeMetrics(ctx context.Context, client *http.Client, url, auth string) (int, map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("parse %s: %w", url, err)
	}
	return resp.StatusCode, fams, nil
}

// metricSum adds the counter, gauge or untyped values of the series of family
// name whose labels include the given name/value pairs.
func metricSum(fams map[string]*dto.MetricFamily, name string, labelPairs ...string) float64 {
	var sum float64
	for _, m := range metricSeries(fams, name, labelPairs...) {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

func metricSeries(fams map[string]*dto.MetricFamily, name string, labelPairs ...string) []*dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, lp := range m.Label {
			labels[lp.GetName()] = lp.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labelPairs); i += 2 {
			if labels[labelPairs[i]] != labelPairs[i+1] {
				match = false
			}
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}

// checkHistogram requires one histogram series with observations and
// finite buckets.
func checkHistogram(fams map[string]*dto.MetricFamily, name string, labelPairs ...string) error {
	series := metricSeries(fams, name, labelPairs...)
	if len(series) != 1 || series[0].Histogram == nil {
		return fmt.Errorf("%s%v: %d series, want one histogram", name, labelPairs, len(series))
	}
	h := series[0].Histogram
	if h.GetSampleCount() < 1 {
		return fmt.Errorf("%s%v count = %d, want ≥ 1", name, labelPairs, h.GetSampleCount())
	}
	if len(h.Bucket) < 5 {
		return fmt.Errorf("%s%v has %d buckets, want ≥ 5", name, labelPairs, len(h.Bucket))
	}
	if last := h.Bucket[len(h.Bucket)-1]; last.GetCumulativeCount() < 1 {
		return fmt.Errorf("%s%v largest finite bucket (le=%v) holds %d, want ≥ 1", name, labelPairs, last.GetUpperBound(), last.GetCumulativeCount())
	}
	return nil
}

func familyNames(fams map[string]*dto.MetricFamily) []string {
	var names []string
	for n := range fams {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func assertObjectReads(t *testing.T, c *minio.Client, bucket, object string, opts minio.GetObjectOptions, want []byte) {
	t.Helper()
	if got := harness.ReadObject(t, c, bucket, object, opts); !bytes.Equal(got, want) {
		t.Fatalf("GetObject %s/%s: got %d bytes (sha256 %s), want %d bytes (sha256 %s)",
			bucket, object, len(got), harness.SHA256Hex(got), len(want), harness.SHA256Hex(want))
	}
}
