package fleet_test

import (
	"context"
	"slices"
	"testing"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/fleet"
	"github.com/signet-dev/signet/verify"
)

// table decides by a table: image -> decision; images not in it get no
// decision (a decider that answered short).
type table map[string]*verify.Decision

func (tb table) DecideAll(_ context.Context, images []string) []*verify.Decision {
	var out []*verify.Decision
	for _, img := range images {
		if d, ok := tb[img]; ok {
			out = append(out, d)
		}
	}
	return out
}

var (
	allowed   = &verify.Decision{Allowed: true, Mode: "enforce"}
	denied    = &verify.Decision{Allowed: false, Mode: "enforce", Class: verify.ClassInvalid, Reason: "signatures [invalid]: forged"}
	warned    = &verify.Decision{Allowed: true, Mode: "warn", Class: verify.ClassNotFound, Reason: "signatures [not-found]: none"}
	transient = &verify.Decision{Allowed: true, Mode: "warn", Class: verify.ClassTransient, Reason: "resolve [transient]: 503"}
)

func TestChanges(t *testing.T) {
	for _, tt := range []struct {
		name          string
		current, next *verify.Decision
		change        fleet.Change
		gate          bool
	}{
		{"allowed, then denied", allowed, denied, fleet.NewlyDenied, true},
		{"warned, then denied: admitted today", warned, denied, fleet.NewlyDenied, true},
		{"allowed, then warned: still admitted", allowed, warned, fleet.Unchanged, false},
		{"denied, then warned", denied, warned, fleet.NewlyAllowed, false},
		{"denied twice", denied, denied, fleet.StillDenied, false},
		{"a registry failure in warn mode is not allowed", allowed, transient, fleet.ChangeUnknown, false},
		{"a registry failure today is not allowed either", transient, denied, fleet.ChangeUnknown, false},
		{"no decision is not allowed", allowed, nil, fleet.ChangeUnknown, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := table{}
			if tt.next != nil {
				next["app:1"] = tt.next
			}
			r := fleet.Check(context.Background(), fleet.Images([]string{"app:1"}), next, fleet.WithCurrent(table{"app:1": tt.current}))
			if got := r.Results[0].Change; got != tt.change || r.Gate() != tt.gate {
				t.Errorf("change %s, gate %v; want %s, %v", got, r.Gate(), tt.change, tt.gate)
			}
			if tt.change == fleet.ChangeUnknown && !r.Incomplete() {
				t.Error("an image that could not be checked leaves the report complete")
			}
		})
	}
}

// A check whose context has ended decides nothing, and says so: every
// image is unknown, none allowed.
func TestCheckCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := fleet.Check(ctx, fleet.Images([]string{"a:1", "b:1"}), table{"a:1": allowed, "b:1": allowed})
	if r.Summary.Unknown != 2 || r.Summary.Allowed != 0 {
		t.Errorf("summary %+v, want 2 unknown", r.Summary)
	}
}

// Progress comes after every batch of decisions and at the end, never
// going back, whatever order the workers finish in.
func TestCheckProgress(t *testing.T) {
	var seen [][2]int
	imgs := []string{"a:1", "b:1", "c:1", "a:1"}
	d := table{"a:1": allowed, "b:1": allowed, "c:1": denied}
	fleet.Check(context.Background(), fleet.Images(imgs), d, fleet.WithCurrent(d), fleet.WithBatch(3), fleet.WithWorkers(2),
		fleet.WithProgress(func(done, total int) { seen = append(seen, [2]int{done, total}) }))
	if want := [][2]int{{4, 6}, {6, 6}}; !slices.Equal(seen, want) {
		t.Errorf("progress %v, want %v (3 distinct images, 2 policies each, reported past every 3 decisions and at the end)", seen, want)
	}
}

// byNamespace is a decider whose verdicts depend on the namespace, as the
// webhook's is with policy resources (a SignetPolicy narrows its namespace).
type byNamespace map[string]table

func (b byNamespace) DecideAll(ctx context.Context, images []string) []*verify.Decision {
	return b[""].DecideAll(ctx, images)
}

func (b byNamespace) In(ns string) admission.Decider { return nsTable{b[ns]} }

func (b byNamespace) Fallback(image, reason string, receipts, pin bool) *verify.Decision {
	return nsTable{}.Fallback(image, reason, receipts, pin)
}

type nsTable struct{ table }

func (nsTable) Fallback(image, reason string, _, _ bool) *verify.Decision {
	return &verify.Decision{Image: image, Reason: reason}
}

// A namespace's own policy denies there what the cluster's admits
// elsewhere: the check (and the background audit) asks per namespace, so
// the narrowed namespace's workload is reported denied.
func TestCheckAsksPerNamespace(t *testing.T) {
	ws := []fleet.Workload{
		{Namespace: "team", Kind: "Pod", Name: "a", Images: []fleet.Image{{Container: "c", Ref: "app:1"}}},
		{Namespace: "other", Kind: "Pod", Name: "b", Images: []fleet.Image{{Container: "c", Ref: "app:1"}}},
	}
	d := byNamespace{"": table{"app:1": allowed}, "team": table{"app:1": denied}, "other": table{"app:1": allowed}}
	r := fleet.Check(context.Background(), ws, d)
	got := map[string]fleet.Verdict{}
	for _, res := range r.Results {
		got[res.Namespace] = res.New.Verdict
	}
	if got["team"] != fleet.Denied || got["other"] != fleet.Allowed {
		t.Errorf("verdicts by namespace %v; want team denied (its own policy), other allowed", got)
	}
	if r.Summary.Denied != 1 || r.Summary.Allowed != 1 {
		t.Errorf("summary %+v; want one image denied (in team) and one allowed (in other)", r.Summary)
	}
}
