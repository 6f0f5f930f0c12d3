package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signet-dev/signet/fleet"
)

// auditLines are the audit's log lines about workloads.
func auditLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if strings.HasPrefix(m["msg"].(string), "audit: workload") {
			out = append(out, m)
		}
	}
	buf.Reset()
	return out
}

// gauges reads the audit gauges as "name{outcome} value", and fails on any
// label other than outcome and result: /metrics names no namespace,
// workload or image.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() != "outcome" && l.GetName() != "result" {
					t.Errorf("%s has label %s=%q: the audit's metrics carry outcome and result only", f.GetName(), l.GetName(), l.GetValue())
				}
				key += "{" + l.GetValue() + "}"
			}
			switch {
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestAuditPass(t *testing.T) {
	w := newWorld(t)
	c := client(false)
	next, current := w.engine(t, c, nextPolicy), w.engine(t, c, currentPolicy)
	var decider atomic.Pointer[fleet.Decider]
	use := func(d fleet.Decider) { decider.Store(&d) }
	use(next)
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	a, err := fleet.NewAuditor(fakeCluster(t, w.shop(), fleet.WithoutNamespaces("kube-system")), func() fleet.Decider { return *decider.Load() },
		fleet.WithAuditLogger(slog.New(slog.NewJSONHandler(&logs, nil))), fleet.WithAuditMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	type line struct{ ns, kind, name, image, verdict string }
	lines := func() []line {
		var out []line
		for _, m := range auditLines(t, &logs) {
			if m["reason"] == "" {
				t.Errorf("log line without a reason: %v", m)
			}
			out = append(out, line{m["namespace"].(string), m["kind"].(string), m["name"].(string), m["image"].(string), m["verdict"].(string)})
		}
		return out
	}

	if _, err := a.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []line{
		{"data", "StatefulSet", "db", w.image("vendor/db:1"), "denied"},
		{"shop", "Deployment", "web", w.image("team/app:unsigned"), "denied"},
		{"shop", "Pod", "debug", w.image("flaky/x:1"), "unknown"},
	}
	if got := lines(); !slices.Equal(got, want) {
		t.Errorf("log lines under the new policy:\n got %v\nwant %v", got, want)
	}
	g := gauges(t, reg)
	for k, v := range map[string]float64{"signet_admission_audit_workloads{denied}": 2, "signet_admission_audit_workloads{unknown}": 1,
		"signet_admission_audit_workloads{allowed}": 1, "signet_admission_audit_images{denied}": 2, "signet_admission_audit_images{unknown}": 1,
		"signet_admission_audit_images{allowed}": 2, "signet_admission_audit_passes_total{ok}": 1} {
		if g[k] != v {
			t.Errorf("%s = %v, want %v", k, g[k], v)
		}
	}

	// A policy reload applies from the next pass.
	use(current)
	if _, err := a.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	want = []line{
		{"shop", "CronJob", "report", w.image("team/legacy:1"), "denied"},
		{"shop", "Deployment", "web", w.image("team/app:unsigned"), "denied"},
		{"shop", "Pod", "debug", w.image("flaky/x:1"), "unknown"},
	}
	if got := lines(); !slices.Equal(got, want) {
		t.Errorf("log lines after the reload:\n got %v\nwant %v", got, want)
	}
}

type failingSource struct{}

func (failingSource) Workloads(context.Context) ([]fleet.Workload, error) {
	return nil, errors.New("deployments.apps is forbidden")
}

// A pass that cannot list the cluster is logged and counted; the last
// counts stay.
func TestAuditListingFails(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	a, err := fleet.NewAuditor(failingSource{}, func() fleet.Decider { return nil },
		fleet.WithAuditLogger(slog.New(slog.NewJSONHandler(&logs, nil))), fleet.WithAuditMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Pass(context.Background()); err == nil {
		t.Fatal("a pass that could not list the workloads succeeded")
	}
	if g := gauges(t, reg); g["signet_admission_audit_passes_total{error}"] != 1 {
		t.Errorf("passes: %v, want one error", g)
	}
	if !strings.Contains(logs.String(), `"error":"deployments.apps is forbidden"`) {
		t.Errorf("log %q does not say why the pass failed", logs.String())
	}
}

// countingSource counts passes and ends the run at the second.
type countingSource struct {
	n      atomic.Int32
	cancel context.CancelFunc
}

func (s *countingSource) Workloads(context.Context) ([]fleet.Workload, error) {
	if s.n.Add(1) == 2 {
		s.cancel()
	}
	return nil, nil
}

func TestAuditRunStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &countingSource{cancel: cancel}
	a, err := fleet.NewAuditor(src, func() fleet.Decider { return nil })
	if err != nil {
		t.Fatal(err)
	}
	a.Run(ctx, time.Millisecond)
	if n := src.n.Load(); n != 2 {
		t.Errorf("%d passes, want 2: the first at once, then one more until the context ended", n)
	}
}
