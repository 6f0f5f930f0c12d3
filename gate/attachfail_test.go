package gate_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/registrytest"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// TestSummaryAttachRetried: the registry refuses the gate's FAILED summary
// for a few seconds (a hiccup, longer than the client's own retries). The gate must try again rather than drop it: the FAILED
// summary is what revokes the gate's earlier PASSED one, and without it
// admission keeps admitting the image on that receipt although its full
// verification now fails.
func TestSummaryAttachRetried(t *testing.T) {
	t.Parallel()
	var until atomic.Int64   // manifest pushes are refused until then (Unix nanoseconds)
	var refused atomic.Int32 // and counted
	reg := registrytest.NewWrapped(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && time.Now().UnixNano() < until.Load() {
				refused.Add(1)
				http.Error(w, "storage hiccup", http.StatusInternalServerError)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	e := newEnvOnWith(t, reg, time.Millisecond, releasePolicy)
	d := e.reg.PushImage(t, "hiccup/app:v1") // not signed: its full verification fails
	// An hour ago the gate passed it (its signature since removed).
	cfg := gate.Config{Registry: e.reg.Host, VerifierID: "https://signet.dev/gate", PolicyName: e.policy.Source.Metadata.Name, PolicyHash: e.policy.Hash}
	stmt, err := gate.Summary(cfg, gate.Record{Repository: "hiccup/app", Digest: d.DigestStr()}, &verify.Decision{Rule: "**", RuleIndex: 0}, "PASSED", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	gs, _ := sign.New(e.gateKey, e.client)
	b, _, err := gs.SignStatement(context.Background(), stmt)
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := e.client.Resolve(context.Background(), d.String())
	if _, err := e.client.AttachBundle(context.Background(), tg, b, nil); err != nil {
		t.Fatal(err)
	}
	admission := e.receiptEngine(e.gatePub, 0, "  policyDigests: ["+e.policy.Hash+"]\n")
	if dec := admission.Decide(context.Background(), d.String()); !dec.Allowed {
		t.Fatalf("before the FAILED verdict the gate's PASSED summary should stand in: %s / %s", receiptMsg(dec), dec.Reason)
	}

	until.Store(time.Now().Add(3 * time.Second).UnixNano())
	if code := e.notify(ev{"hiccup/app", d.DigestStr(), "v1", ""}); code != http.StatusOK {
		t.Fatalf("notifying: %d", code)
	}
	r := e.waitState(d, gate.StateUnverified) // with its FAILED summary
	if refused.Load() == 0 {
		t.Fatal("the registry refused no push: the test did not test")
	}
	if dec := admission.Decide(context.Background(), d.String()); dec.Allowed {
		t.Fatalf("admission admits an unsigned image on a PASSED receipt the gate's FAILED verdict (%s) should revoke: %s", r.VSA, receiptMsg(dec))
	}
}
