package gate_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/dbtest"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/verify"
)

// scriptedDecider answers with a fixed decision; with started and release
// set, its first decision says when it has begun (what it read of the
// registry is then fixed) and waits until released, as with a slow
// registry, and the later ones answer then (the registry as it is now).
type scriptedDecider struct {
	d, then          *verify.Decision
	started, release chan struct{}
	calls            atomic.Int32
}

func (s *scriptedDecider) Decide(ctx context.Context, _ string) *verify.Decision {
	d := *s.d
	if s.started == nil {
		return &d
	}
	if s.calls.Add(1) > 1 {
		d = *s.then
		return &d
	}
	s.started <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return &d
}

// phasedDecider decides by calling f.
type phasedDecider func() *verify.Decision

func (f phasedDecider) Decide(context.Context, string) *verify.Decision { return f() }

// TestStaleVerdictLoses: two replicas judge one image at once. The first
// begins (the image then passes) and is slow; the second begins later (the
// image's signature removed by then: it fails) and records FAILED first.
// The first's PASSED, decided from older registry contents, must not
// overwrite the newer FAILED, nor attach a PASSED summary after the
// FAILED one: it is decided again, from the registry as it is now.
func TestStaleVerdictLoses(t *testing.T) {
	t.Parallel()
	srv := dbtest.Postgres(t)
	e := newEnvSetup(t, time.Millisecond, func(e *env) { e.state = srv.NewDatabase(t, "stale") })
	e.stop()
	pass := &verify.Decision{Allowed: true, Mode: "enforce", Rule: "**", RuleIndex: 0}
	fail := &verify.Decision{Allowed: false, Mode: "enforce", Rule: "**", RuleIndex: 0, Class: verify.ClassInvalid, Reason: "no signature verifies"}
	slow := &scriptedDecider{d: pass, then: fail, started: make(chan struct{}, 1), release: make(chan struct{})}
	e.startWith(slow)

	d := e.reg.PushImage(t, "stale/app:v1")
	if code := e.post(envelope(ev{"stale/app", d.DigestStr(), "v1", ""}), "Bearer "+secret); code != http.StatusOK {
		t.Fatalf("notifying the first replica: %d", code)
	}
	select {
	case <-slow.started:
	case <-time.After(20 * time.Second):
		t.Fatal("the first replica never began its verification")
	}
	// The second replica starts once the first holds the job: the queue is
	// shared, and started earlier it could claim the first event itself.
	// Whichever replica takes the second event decides FAILED (the slow
	// decider's later calls fail too).
	other := e.replicaWith(&scriptedDecider{d: fail})
	if code := postTo(t, other, envelope(ev{"stale/app", d.DigestStr(), "latest", ""}), "Bearer "+secret); code != http.StatusOK {
		t.Fatalf("notifying the second replica: %d", code)
	}
	e.waitState(d, gate.StateFailed)
	close(slow.release)
	e.drained()
	r, _ := e.record(d)
	if r.State != gate.StateFailed || r.VSAResult != "FAILED" {
		t.Errorf("after the slow replica's stale PASSED: state %s, summary %s, want failed with the FAILED summary", r.State, r.VSAResult)
	}
	if r.Checks != 2 {
		t.Errorf("verified %d times, want 2 (the second replica's, and the first's decided again; the stale verdict is not recorded)", r.Checks)
	}
	if n := e.summaries(t, d); n != 1 {
		t.Errorf("%d summaries on the image, want 1 (the FAILED one)", n)
	}
}

// TestSummaryOfNewerVerdict: a replica records PASSED for an image whose
// summary says FAILED and begins attaching a PASSED summary (slowly);
// meanwhile another replica, deciding later, records FAILED again. The
// newer FAILED verdict needs a summary dated after the PASSED one being
// attached — the FAILED summary already there is older than it — or the
// PASSED summary becomes the newest and admission admits the image on it.
func TestSummaryOfNewerVerdict(t *testing.T) {
	t.Parallel()
	var armed atomic.Bool
	blocked, unblock := make(chan struct{}, 1), make(chan struct{})
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && armed.CompareAndSwap(true, false) {
				blocked <- struct{}{}
				select {
				case <-unblock:
				case <-r.Context().Done():
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	srv := dbtest.Postgres(t)
	e := newEnvOnWith(t, reg, time.Millisecond, releasePolicy, func(e *env) { e.state = srv.NewDatabase(t, "newer") })
	e.stop()
	pass := &verify.Decision{Allowed: true, Mode: "enforce", Rule: "**", RuleIndex: 0}
	fail := &verify.Decision{Allowed: false, Mode: "enforce", Rule: "**", RuleIndex: 0, Class: verify.ClassInvalid, Reason: "no signature verifies"}
	// The replicas share one queue, so either may take any event: both
	// decide by the phase the test sets, not by which one was notified.
	var passing atomic.Bool
	phased := phasedDecider(func() *verify.Decision {
		if passing.Load() {
			d := *pass
			return &d
		}
		d := *fail
		return &d
	})
	e.startWith(phased)
	failing := e.replicaWith(phased)
	d := e.reg.PushImage(t, "newer/app:v1") // not signed: its full verification fails
	send := func(url, tag string) {
		t.Helper()
		if code := postTo(t, url, envelope(ev{"newer/app", d.DigestStr(), tag, ""}), "Bearer "+secret); code != http.StatusOK {
			t.Fatalf("notifying (%s): %d", tag, code)
		}
	}
	send(failing, "v1")
	e.waitState(d, gate.StateFailed)
	e.drained()

	armed.Store(true)
	passing.Store(true)
	send(e.srv.URL, "v2") // PASSED, its summary held at the registry
	select {
	case <-blocked:
	case <-time.After(20 * time.Second):
		t.Fatal("the PASSED summary was never attached")
	}
	passing.Store(false)
	send(failing, "v3") // FAILED again, decided after the PASSED verdict was recorded
	deadline := time.Now().Add(20 * time.Second)
	for r, _ := e.record(d); (r.State != gate.StateFailed || r.Checks != 3) && time.Now().Before(deadline); r, _ = e.record(d) {
		time.Sleep(20 * time.Millisecond)
	}
	close(unblock)
	e.drained()
	r, _ := e.record(d)
	if r.State != gate.StateFailed || r.VSAResult != "FAILED" || r.Checks != 3 {
		t.Errorf("record: %s verified %d times, summary %s; want failed, 3, FAILED", r.State, r.Checks, r.VSAResult)
	}
	admission := e.receiptEngine(e.gatePub, 0, "  policyDigests: ["+e.policy.Hash+"]\n")
	if dec := admission.Decide(context.Background(), d.String()); dec.Allowed {
		t.Fatalf("admission admits an unsigned image on the PASSED summary of a verdict a newer FAILED one replaced: %s", receiptMsg(dec))
	}
}
