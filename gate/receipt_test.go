package gate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// examplePolicy is examples/policies/FILE with registry.example.com
// replaced by the test registry, and its key files (keys/release.pub,
// keys/gate.pub) holding the test's keys, in e.dir.
func (e *env) examplePolicy(file string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "policies", file))
	if err != nil {
		e.t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(e.dir, "keys"), 0o755)
	os.WriteFile(filepath.Join(e.dir, "keys", "release.pub"), e.relPub, 0o644)
	os.WriteFile(filepath.Join(e.dir, "keys", "gate.pub"), e.gatePub, 0o644)
	return strings.ReplaceAll(string(b), "registry.example.com", e.reg.Host)
}

// admission is an engine for the example policy file, as admission runs it.
func (e *env) admission(file string) *verify.Engine {
	e.t.Helper()
	c, err := policy.Compile([]byte(e.examplePolicy(file)), e.dir, keys.Loader{})
	if err != nil {
		e.t.Fatal(err)
	}
	eng, err := verify.NewEngine(e.client, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return eng
}

// settled waits until the gate has recorded a verdict for d that is no
// longer pending.
func (e *env) settled(d name.Digest) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r, ok := e.record(d); ok && r.State != gate.StatePending && (r.VSAResult != "" || r.State == gate.StateAllowed) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r, _ := e.record(d)
	e.t.Fatalf("%s never settled: %+v", d, r)
}

// TestExampleAuditGateReceiptsAdmission: the example policies used together
// — a gate adopting Signet in audit mode (audit.yaml), admission accepting
// its receipts (receipts.yaml) — must not admit an unsigned image: an
// audit verdict whose checks failed is no PASSED receipt, and a receipt
// decided under another policy does not count.
func TestExampleAuditGateReceiptsAdmission(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, 300*time.Millisecond, func(e *env) string { return e.examplePolicy("audit.yaml") })
	unsigned := e.push("prod/app", "v1")
	e.settled(unsigned)
	if r, _ := e.record(unsigned); r.VSAResult == "PASSED" {
		t.Fatalf("the audit-mode gate wrote PASSED for an unsigned image: %+v", r)
	}
	d := e.admission("receipts.yaml").Decide(context.Background(), unsigned.String())
	if d.Allowed || d.Class != verify.ClassNotFound || !strings.HasPrefix(d.Reason, "signatures [not-found]") {
		t.Fatalf("receipts.yaml admitted an unsigned image the audit gate saw: allowed=%v reason=%q receipt=%q", d.Allowed, d.Reason, receiptMsg(d))
	}
}

// TestExampleReceiptsDeployment: the documented deployment — the gate runs
// the same policy as admission (receipts.yaml on both) — admits a signed
// image on the gate's receipt, and refuses an unsigned one.
func TestExampleReceiptsDeployment(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, 300*time.Millisecond, func(e *env) string { return e.examplePolicy("receipts.yaml") })
	adm := e.admission("receipts.yaml")
	if adm.PolicyHash() != e.policy.Hash {
		t.Fatalf("the same policy file and keys: admission digest %s, gate digest %s", adm.PolicyHash(), e.policy.Hash)
	}
	signed := e.reg.PushImage(t, "prod/app:v1")
	e.release.SignImage(context.Background(), signed.String(), sign.Request{})
	e.notify(ev{"prod/app", signed.DigestStr(), "v1", ""})
	e.waitState(signed, gate.StatePassed)
	d := adm.Decide(context.Background(), signed.String())
	if c := receiptOf(d); !d.Allowed || c.Outcome != verify.Pass || !strings.Contains(c.Message, "gate push-gate verified") {
		t.Fatalf("the gate's PASSED receipt under the same policy: allowed=%v receipt=%+v reason=%q", d.Allowed, c, d.Reason)
	}

	unsigned := e.push("prod/app", "v2")
	e.waitState(unsigned, gate.StateUnverified)
	d = adm.Decide(context.Background(), unsigned.String())
	if d.Allowed || !strings.Contains(receiptMsg(d), "FAILED") || !strings.HasPrefix(d.Reason, "signatures [not-found]") {
		t.Fatalf("an unsigned image with the gate's FAILED summary: allowed=%v receipt=%q reason=%q", d.Allowed, receiptMsg(d), d.Reason)
	}
}

const lenientPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
metadata: {name: lenient}
defaultAction: allow
images:
  - pattern: "REG/team/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "REG/audit/**"
    mode: audit
    signers: [{name: release, key: release.pub}]
  - pattern: "REG/warn/**"
    mode: warn
    signers: [{name: release, key: release.pub}]
`

// TestLenientVerdictsAreNotPassed: only an enforce rule whose checks all
// passed earns a PASSED summary. An image no rule matches (defaultAction
// allow) gets none; a warn or audit rule whose checks failed gets FAILED
// with the reason once the grace period is over.
func TestLenientVerdictsAreNotPassed(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, 300*time.Millisecond, func(e *env) string {
		os.WriteFile(filepath.Join(e.dir, "release.pub"), e.relPub, 0o644)
		return strings.ReplaceAll(lenientPolicy, "REG", e.reg.Host)
	})
	signedPush := func(repo string) name.Digest {
		d := e.reg.PushImage(t, repo+":v1")
		e.release.SignImage(context.Background(), d.String(), sign.Request{})
		e.notify(ev{repo, d.DigestStr(), "v1", ""})
		return d
	}
	cases := []struct {
		name    string
		push    func() name.Digest
		state   string
		summary string // "" for none
		reason  string
	}{
		{"control: enforce rule, signed", func() name.Digest { return signedPush("team/app") }, gate.StatePassed, "PASSED", ""},
		{"no rule matches, defaultAction allow", func() name.Digest { return e.push("other/app", "v1") }, gate.StateAllowed, "", "no rule matches"},
		{"audit rule, unsigned", func() name.Digest { return e.push("audit/app", "v1") }, gate.StateUnverified, "FAILED", "no signatures found (rule in audit mode"},
		{"warn rule, unsigned", func() name.Digest { return e.push("warn/app", "v1") }, gate.StateUnverified, "FAILED", "no signatures found (rule in warn mode"},
		{"audit rule, signed", func() name.Digest { return signedPush("audit/ok") }, gate.StateAllowed, "", "audit mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.push()
			e.settled(d)
			r, _ := e.record(d)
			if r.State != tc.state || r.VSAResult != tc.summary || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("want state %q, summary %q, reason with %q; got %+v", tc.state, tc.summary, tc.reason, r)
			}
			found, _ := attest.Statements(context.Background(), e.client, d.String(), policy.VSAPredicateType)
			for _, f := range found {
				if strings.Contains(string(f.Statement), `"PASSED"`) && tc.summary != "PASSED" {
					t.Fatalf("a PASSED summary is attached: %s", f.Statement)
				}
			}
		})
	}
}

// onReceipt decides every image allowed because a receipt stood in.
type onReceipt struct{ hash string }

func (o onReceipt) Decide(_ context.Context, image string) *verify.Decision {
	return &verify.Decision{Allowed: true, Mode: "enforce", Image: image, Rule: "**", PolicyHash: o.hash,
		Checks: []verify.PolicyCheck{{Name: "match", Outcome: verify.Pass}, {Name: "receipt", Outcome: verify.Pass, Message: "gate push-gate verified this digest"}}}
}

// TestNoPassedOnReceipt: a decision that rested on a receipt is not
// re-signed as the gate's own PASSED (it would renew the receipt's time
// without verifying anything).
func TestNoPassedOnReceipt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300*time.Millisecond)
	e.stop()
	e.startWith(onReceipt{hash: e.policy.Hash})
	d := e.push("team/app", "v1")
	e.settled(d)
	if r, _ := e.record(d); r.VSAResult != "" || r.State != gate.StateAllowed || !strings.Contains(r.Reason, "allowed on a receipt") {
		t.Fatalf("a decision on a receipt must be recorded as allowed with no summary of the gate's own: %+v", r)
	}
}

func receiptOf(d *verify.Decision) verify.PolicyCheck {
	for _, c := range d.Checks {
		if c.Name == "receipt" {
			return c
		}
	}
	return verify.PolicyCheck{}
}
