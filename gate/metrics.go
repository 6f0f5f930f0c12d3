package gate

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gate's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	reg      *prometheus.Registry
	events   *prometheus.CounterVec
	verdicts *prometheus.CounterVec
	seconds  prometheus.Histogram
}

// NewMetrics registers the gate's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_gate_events_total",
			Help: "Notification events by result: accepted, duplicate, ignored (not a manifest push, or malformed), signature (a re-check trigger), unauthorized, malformed, queue-full, store-error (the database could not be written: answered 503).",
		}, []string{"result"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_gate_verdicts_total",
			Help: "Verdicts recorded, by state: passed, allowed (no rule, or a warn/audit rule: no summary), pending, unverified, failed, error.",
		}, []string{"state"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "signet_gate_verification_seconds",
			Help:    "Time to verify one pushed manifest against the policy.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	m.reg.MustRegister(m.events, m.verdicts, m.seconds)
	return m
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

func (m *Metrics) queue(depth func() int) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "signet_gate_queue_depth", Help: "Accepted events not yet processed."},
		func() float64 { return float64(depth()) }))
}

func (m *Metrics) event(result string) {
	if m != nil {
		m.events.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) verdict(state string) {
	if m != nil {
		m.verdicts.WithLabelValues(state).Inc()
	}
}

func (m *Metrics) latency(d time.Duration) {
	if m != nil {
		m.seconds.Observe(d.Seconds())
	}
}
