package fleet

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Source lists the workloads to audit; *Cluster is one.
type Source interface {
	Workloads(ctx context.Context) ([]Workload, error)
}

// Auditor runs the fleet check periodically under the admission webhook's
// own policy (whatever decider it has at the start of a pass, so a policy
// reload applies from the next pass), logging one line per failing
// workload image and recording counts as metrics.
type Auditor struct {
	source  Source
	decider func() Decider
	log     *slog.Logger
	batch   int
	metrics *auditMetrics
}

// AuditOption configures NewAuditor.
type AuditOption func(*Auditor) error

// WithAuditLogger logs each failing workload image and each pass to l.
// Default: no logging.
func WithAuditLogger(l *slog.Logger) AuditOption {
	return func(a *Auditor) error {
		if l != nil {
			a.log = l
		}
		return nil
	}
}

// WithAuditMetrics registers the audit's metrics in reg (nil: none, the
// default). They count workloads and images by outcome only — never a
// namespace, workload or image name.
func WithAuditMetrics(reg prometheus.Registerer) AuditOption {
	return func(a *Auditor) error {
		if reg == nil {
			return nil
		}
		m, err := newAuditMetrics(reg)
		a.metrics = m
		return err
	}
}

// WithAuditBatch sets how many images a pass decides at once (default 8,
// the webhook engine's own bound).
func WithAuditBatch(n int) AuditOption {
	return func(a *Auditor) error {
		a.batch = max(1, n)
		return nil
	}
}

// NewAuditor returns an auditor of the workloads src lists, asking decider
// for the decider of each pass.
func NewAuditor(src Source, decider func() Decider, opts ...AuditOption) (*Auditor, error) {
	if src == nil || decider == nil {
		return nil, errors.New("an auditor needs a source of workloads and a decider")
	}
	a := &Auditor{source: src, decider: decider, log: slog.New(slog.DiscardHandler), batch: 8}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Run audits at once, then again every interval after the previous pass
// finished, until ctx ends: one pass at a time, never back to back.
func (a *Auditor) Run(ctx context.Context, every time.Duration) {
	for {
		a.Pass(ctx)
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Pass audits once: lists the workloads, decides their images, logs each
// workload image that fails (denied, could not be checked, or admitted
// only by a warn or audit rule) and records the counts. A listing that
// fails is logged and counted, and leaves the previous counts.
func (a *Auditor) Pass(ctx context.Context) (*Report, error) {
	start := time.Now()
	ws, err := a.source.Workloads(ctx)
	if err != nil {
		a.log.Error("audit pass failed: the workloads could not be listed", "error", err.Error(), "duration_ms", time.Since(start).Milliseconds())
		a.metrics.failed()
		return nil, err
	}
	d := a.decider()
	r := Check(ctx, ws, d, WithWorkers(a.batch))
	counts := map[Verdict]int{}
	worst := map[string]Verdict{}
	for _, res := range r.Results {
		key := res.Namespace + "/" + res.Kind + "/" + res.Name
		worst[key] = worse(worst[key], res.New.Verdict)
		a.logResult(res)
	}
	for _, v := range worst {
		counts[v]++
	}
	took := time.Since(start)
	attrs := []any{"workloads", len(worst), "images", r.Summary.Images, "denied", counts[Denied], "unknown", counts[Unknown],
		"warned", counts[Warned], "duration_ms", took.Milliseconds()}
	if p, ok := d.(interface{ PolicyHash() string }); ok {
		attrs = append(attrs, "policy", p.PolicyHash())
	}
	a.log.Info("audit pass finished (counts of workloads)", attrs...)
	a.metrics.passed(r, counts, took)
	return r, nil
}

// logResult logs one workload image that does not pass cleanly.
func (a *Auditor) logResult(res Result) {
	level, msg := slog.LevelWarn, "audit: workload would be denied"
	switch res.New.Verdict {
	case Allowed:
		return
	case Unknown:
		msg = "audit: workload could not be checked"
	case Warned:
		level, msg = slog.LevelInfo, "audit: workload fails the policy; its rule's mode admits it"
	}
	attrs := []any{"namespace", res.Namespace, "kind", res.Kind, "name", res.Name, "container", res.Container, "image", res.Image,
		"verdict", string(res.New.Verdict), "class", res.New.Class, "rule", res.New.Rule, "reason", res.New.Reason}
	if res.Object != "" {
		attrs = append(attrs, "object", res.Object)
	}
	a.log.Log(context.Background(), level, msg, attrs...)
}

// verdictRank orders verdicts for a workload's outcome: its worst image.
var verdictRank = map[Verdict]int{"": 0, Allowed: 1, Warned: 2, Unknown: 3, Denied: 4}

func worse(a, b Verdict) Verdict {
	if verdictRank[b] > verdictRank[a] {
		return b
	}
	return a
}

// auditMetrics are the audit's Prometheus metrics. A nil *auditMetrics
// records nothing.
type auditMetrics struct {
	passes    *prometheus.CounterVec
	workloads *prometheus.GaugeVec
	images    *prometheus.GaugeVec
	duration  prometheus.Gauge
	last      prometheus.Gauge
}

func newAuditMetrics(reg prometheus.Registerer) (*auditMetrics, error) {
	m := &auditMetrics{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_admission_audit_passes_total",
			Help: "Background audit passes by result (ok; error: the workloads could not be listed)."}, []string{"result"}),
		workloads: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "signet_admission_audit_workloads",
			Help: "Workloads in the last audit pass by outcome, the worst of their images' (allowed, warned, unknown: could not be checked, denied)."},
			[]string{"outcome"}),
		images: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "signet_admission_audit_images",
			Help: "Distinct image references in the last audit pass by outcome (allowed, warned, unknown, denied)."}, []string{"outcome"}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "signet_admission_audit_pass_duration_seconds",
			Help: "How long the last audit pass took."}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{Name: "signet_admission_audit_last_pass_timestamp_seconds",
			Help: "When the last audit pass that listed the workloads finished (Unix time)."}),
	}
	for _, c := range []prometheus.Collector{m.passes, m.workloads, m.images, m.duration, m.last} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *auditMetrics) failed() {
	if m != nil {
		m.passes.WithLabelValues("error").Inc()
	}
}

func (m *auditMetrics) passed(r *Report, workloads map[Verdict]int, took time.Duration) {
	if m == nil {
		return
	}
	images := map[Verdict]int{}
	seen := map[string]bool{}
	for _, res := range r.Results {
		if !seen[res.Image] {
			seen[res.Image] = true
			images[res.New.Verdict]++
		}
	}
	for _, v := range []Verdict{Allowed, Warned, Unknown, Denied} {
		m.workloads.WithLabelValues(string(v)).Set(float64(workloads[v]))
		m.images.WithLabelValues(string(v)).Set(float64(images[v]))
	}
	m.passes.WithLabelValues("ok").Inc()
	m.duration.Set(took.Seconds())
	m.last.SetToCurrentTime()
}
