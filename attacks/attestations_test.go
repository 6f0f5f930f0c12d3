package attacks

import (
	"encoding/json"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/verify"
)

// reviewType is a predicate type the rows invent: a signed code review.
const reviewType = "https://example.com/review/v1"

// reviewPolicy needs a review by release that says approved.
const reviewPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/**"
    signers: [{name: release, key: release.pub}]
    attestations:
      - {name: review, predicateType: "https://example.com/review/v1", condition: "predicate.approved == true"}
`

// Attestations: who signed them, what they name, what they say.
func init() {
	approved := []byte(`{"reviewer":"alice","approved":true}`)
	rejected := []byte(`{"reviewer":"alice","approved":false}`)
	signedAndReviewed := func(w *world, reviewer string, predicate []byte) string {
		d := w.image("team/app:v1")
		w.sign("release", d.String())
		w.attest(reviewer, d.String(), reviewType, predicate)
		return d.String()
	}
	cond, _ := verify.CompileCondition("predicate.approved == true")
	req := verify.AttestationRequest{PredicateType: reviewType, Condition: cond}
	register(
		row{name: "control: attestation by the trusted key, condition holds", entry: entryAttestation,
			run: func(w *world) verdict {
				return w.verifyAttestation(signedAndReviewed(w, "release", approved), req)
			},
			want: allowed()},
		row{name: "attestation by an untrusted key", entry: entryAttestation,
			run: func(w *world) verdict {
				return w.verifyAttestation(signedAndReviewed(w, "attacker", approved), req)
			},
			want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
		row{name: "attestation whose condition is false", entry: entryAttestation,
			run: func(w *world) verdict {
				return w.verifyAttestation(signedAndReviewed(w, "release", rejected), req)
			},
			want: refused(verify.ClassInvalid, "condition")},
		row{name: "no attestation of the type asked for", entry: entryAttestation,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.attest("release", d.String(), "https://example.com/other/v1", approved)
				return w.verifyAttestation(d.String(), req)
			},
			want: refused(verify.ClassNotFound, "no attestations of this type found")},
		row{name: "attestation copied from another image", entry: entryAttestation,
			run: func(w *world) verdict {
				good, evil := w.image("team/app:v1"), w.image("team/app:evil")
				st, err := attest.NewStatement(good.Context().Name(), good.DigestStr(), reviewType, approved)
				if err != nil {
					w.t.Fatal(err)
				}
				raw, _ := json.Marshal(st)
				bundle, _, err := w.signers["release"].SignStatement(w.ctx, raw)
				if err != nil {
					w.t.Fatal(err)
				}
				w.attachBundle(evil.String(), bundle, reviewType)
				return w.verifyAttestation(evil.String(), req)
			},
			want: refused(verify.ClassInvalid, "another image digest")},
		row{name: "referrer claims the review type, the signed statement is another type", entry: entryAttestation,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				st, _ := attest.NewStatement(d.Context().Name(), d.DigestStr(), "https://example.com/other/v1", approved)
				raw, _ := json.Marshal(st)
				bundle, _, err := w.signers["release"].SignStatement(w.ctx, raw)
				if err != nil {
					w.t.Fatal(err)
				}
				w.attachBundle(d.String(), bundle, reviewType)
				return w.verifyAttestation(d.String(), req)
			},
			want: refused(verify.ClassInvalid, "predicate type mismatch")},
		row{name: "a signed image signature offered as the attestation", entry: entryAttestation,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.attachBundle(d.String(), w.bundle("release", d.Context().Name(), d.DigestStr(), nil), reviewType)
				return w.verifyAttestation(d.String(), req)
			},
			want: refused(verify.ClassInvalid, "predicate type mismatch")},
		row{name: "control: policy, review attestation approved", entry: entryPolicy,
			run: func(w *world) verdict {
				return w.decide(reviewPolicy, signedAndReviewed(w, "release", approved))
			},
			want: allowed()},
		row{name: "policy: review attestation missing", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				return w.decide(reviewPolicy, d.String())
			},
			want: refused(verify.ClassNotFound, "no https://example.com/review/v1 attestation found")},
		row{name: "policy: review attestation signed by an untrusted key", entry: entryPolicy,
			run: func(w *world) verdict {
				return w.decide(reviewPolicy, signedAndReviewed(w, "attacker", approved))
			},
			want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
		row{name: "policy: review attestation says not approved", entry: entryPolicy,
			run: func(w *world) verdict {
				return w.decide(reviewPolicy, signedAndReviewed(w, "release", rejected))
			},
			want: refused(verify.ClassPolicyDenied, "condition")},
		row{name: "policy: an approved and a rejected review side by side (the attacker adds the approval, unsigned)", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.attest("release", d.String(), reviewType, rejected)
				w.attest("attacker", d.String(), reviewType, approved)
				return w.decide(reviewPolicy, d.String())
			},
			want: refused(verify.ClassPolicyDenied, "condition is false")},
		row{name: "policy: attestation signer outside the requirement's signers", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.attest("second", d.String(), reviewType, approved)
				doc := `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/**"
    signers: [{name: release, key: release.pub}, {name: second, key: second.pub}]
    attestations:
      - {name: review, predicateType: "https://example.com/review/v1", signers: [release]}
`
				return w.decide(doc, d.String())
			},
			want: refused(verify.ClassInvalid, "does not verify with any trusted key")},
	)
}
