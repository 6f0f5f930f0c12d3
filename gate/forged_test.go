package gate_test

import (
	"context"
	"encoding/json"
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

// TestForgedSummaryNotAdopted: someone who can push to the image attaches
// a summary that looks like the one a dead replica claimed (same verifier,
// result and time verified) but is signed with another key. The job's
// re-run must not record it as the gate's summary: it attaches its own,
// signed with the gate's key. Here the claimed result is FAILED, which
// revokes the gate's earlier PASSED summary; had the forged one been
// adopted, the earlier PASSED would stay the newest valid receipt and
// admission would admit an image its full verification denies.
func TestForgedSummaryNotAdopted(t *testing.T) {
	t.Parallel()
	e := newEnvSetup(t, time.Minute, func(e *env) { e.lease = time.Second })
	e.stop()
	d := e.reg.PushImage(t, "forge/app:v1") // not signed: its full verification fails
	cfg := gate.Config{Registry: e.reg.Host, VerifierID: "https://signet.dev/gate", PolicyName: e.policy.Source.Metadata.Name, PolicyHash: e.policy.Hash}
	rec := gate.Record{Repository: "forge/app", Digest: d.DigestStr()}
	attach := func(sv *sign.Signer, result string, dec *verify.Decision, at time.Time) string {
		t.Helper()
		stmt, err := gate.Summary(cfg, rec, dec, result, at)
		if err != nil {
			t.Fatal(err)
		}
		out, err := attest.New(sv, e.client).AttestImage(context.Background(), d.String(), attest.Request{Statement: stmt})
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Attached.Digest.String()
	}
	gs, _ := sign.New(e.gateKey, e.client)
	// An hour ago the image passed (its signature since removed).
	attach(gs, "PASSED", &verify.Decision{Rule: "**", RuleIndex: 0}, time.Now().Add(-time.Hour))
	admission := e.receiptEngine(e.gatePub, 0, "  policyDigests: ["+e.policy.Hash+"]\n")
	if dec := admission.Decide(context.Background(), d.String()); !dec.Allowed || receiptOf(dec).Outcome != verify.Pass {
		t.Fatalf("before the FAILED verdict the gate's PASSED summary should stand in: %s / %s", receiptMsg(dec), dec.Reason)
	}
	// Now it fails; the replica that claimed the FAILED summary dies
	// before attaching it, and the attacker attaches a look-alike.
	at := time.Now()
	if err := gate.CrashBeforeSummary(e.stateOrDir(), "ev-forge", "forge/app", d.DigestStr(), "v1", gate.StateUnverified, at, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	ak, _ := keys.Generate(keys.ECDSAP256)
	asv, _ := keys.SignerVerifier(ak)
	as, _ := sign.New(asv, e.client)
	forged := attach(as, "FAILED", &verify.Decision{}, at)

	e.start()
	r := e.waitState(d, gate.StateUnverified)
	e.drained()
	if r.VSA == forged {
		t.Errorf("the gate recorded the forged summary %s (signed with another key) as its own", forged)
	}
	if n := e.summaries(t, d); n != 3 {
		t.Errorf("%d summaries on the image, want 3: the old PASSED, the forged one and the gate's FAILED", n)
	}
	mine := gateSigned(t, e, d)
	if mine[r.VSA] != "FAILED" {
		t.Errorf("the recorded summary %s is not the gate's FAILED one (the gate signed %v)", r.VSA, mine)
	}
	if dec := admission.Decide(context.Background(), d.String()); dec.Allowed {
		t.Fatalf("admission admits an unsigned image on a receipt the gate's FAILED verdict should have revoked: %s / %s", receiptMsg(dec), dec.Reason)
	}
}

// gateSigned is the result of each summary on d that verifies with the
// gate's key, by manifest digest.
func gateSigned(t *testing.T, e *env, d name.Digest) map[string]string {
	t.Helper()
	pub, err := keys.ParsePublicKey(e.gatePub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(e.client, []verify.Key{{Name: "gate", PublicKey: pub}})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := v.VerifyAttestations(context.Background(), d.String(), verify.AttestationRequest{
		PredicateType: policy.VSAPredicateType, TransparencyLog: verify.TlogSkip})
	out := map[string]string{}
	for _, s := range res.Signatures {
		if s.Verified {
			var st struct {
				Predicate struct {
					VerificationResult string `json:"verificationResult"`
				} `json:"predicate"`
			}
			if err := json.Unmarshal(s.Statement, &st); err != nil {
				t.Fatalf("reading the summary %s: %v", s.Manifest, err)
			}
			out[s.Manifest] = st.Predicate.VerificationResult
		}
	}
	return out
}
