package admission

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signet-dev/signet/verify"
)

// Metrics are the webhook's Prometheus metrics, in a registry of their own.
// A nil *Metrics records nothing.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	reloads   *prometheus.CounterVec
	registry  *prometheus.CounterVec
	sheds     prometheus.Counter
}

// NewMetrics registers the webhook's metrics, reading the engine counters
// (cache hits and misses, verifications) from stats.
func NewMetrics(stats *verify.EngineStats) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_admission_requests_total",
			Help: "AdmissionReview requests by webhook (validate, mutate) and result (allowed, denied, malformed).",
		}, []string{"webhook", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "signet_admission_request_duration_seconds",
			Help:    "Time to answer an AdmissionReview, by webhook.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 8, 10},
		}, []string{"webhook"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_admission_decisions_total",
			Help: "Per-image decisions by outcome (allowed, denied, warned) and failure class (empty when allowed cleanly).",
		}, []string{"outcome", "class"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_admission_fallbacks_total",
			Help: "Images decided by the failure mode (budget spent or registry failed), by mode and outcome.",
		}, []string{"mode", "outcome"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_admission_policy_reloads_total",
			Help: "Policy reloads by result (ok, error).",
		}, []string{"result"}),
		registry: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_registry_requests_total",
			Help: "HTTP requests to registries by method and status code (0: no response).",
		}, []string{"method", "code"}),
	}
	m.sheds = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "signet_admission_shed_total",
		Help: "Reviews answered by the failure mode without verifying because too many were verifying (--max-in-flight).",
	})
	m.reg.MustRegister(m.requests, m.latency, m.decisions, m.fallbacks, m.reloads, m.registry, m.sheds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		counter := func(name, help string, f func() int64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
		}
		m.reg.MustRegister(
			counter("signet_verify_cache_hits_total", "Digest verdicts answered from the cache.", stats.CacheHits.Load),
			counter("signet_verify_cache_misses_total", "Digest verdicts not in the cache.", stats.CacheMisses.Load),
			counter("signet_verify_verifications_total", "Digest verdicts computed from the registry (coalesced requests count once).", stats.Verifications.Load),
		)
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registerer is the registry /metrics serves, for metrics the webhook's
// companions record (the background audit); nil for a nil *Metrics. What is
// registered must keep /metrics' promise: counts by outcome and class,
// never image, repository or namespace names.
func (m *Metrics) Registerer() prometheus.Registerer {
	if m == nil {
		return nil
	}
	return m.reg
}

// Transport counts every registry request made through rt.
func (m *Metrics) Transport(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		code := "0"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		m.registry.WithLabelValues(r.Method, code).Inc()
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Reload records a policy reload.
func (m *Metrics) Reload(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.reloads.WithLabelValues(result).Inc()
}

func (m *Metrics) request(webhook, result string, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(webhook, result).Inc()
	m.latency.WithLabelValues(webhook).Observe(took.Seconds())
}

func (m *Metrics) decision(d *verify.Decision) {
	if m == nil {
		return
	}
	outcome := "allowed"
	switch {
	case !d.Allowed:
		outcome = "denied"
	case d.Failed():
		outcome = "warned"
	}
	m.decisions.WithLabelValues(outcome, string(d.Class)).Inc()
}

func (m *Metrics) fallback(mode FailureMode, allowed bool) {
	if m == nil {
		return
	}
	outcome := "denied"
	if allowed {
		outcome = "allowed"
	}
	m.fallbacks.WithLabelValues(string(mode), outcome).Inc()
}

func (m *Metrics) shed() {
	if m != nil {
		m.sheds.Inc()
	}
}
