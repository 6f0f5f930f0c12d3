package attacks

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// receiptsPolicy is admission trusting the gate key's receipts. prod
// (images[0]) and dev (images[1]) need the release signature; prod's
// release-* tags (images[2]) also need a QA attestation. EXTRA goes into
// the receipts section.
const receiptsPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
metadata: {name: admission}
images:
  - pattern: "REG/prod/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "REG/dev/**"
    signers: [{name: release, key: release.pub}]
  - pattern: "REG/prod/app:release-*"
    signers: [{name: release, key: release.pub}]
    attestations: [{name: qa, predicateType: "https://example.com/qa/v1"}]
receipts:
  gates: [{name: push-gate, key: gate.pub}]
  maxAge: 24h
EXTRA`

func receiptsDoc(extra string) string { return strings.ReplaceAll(receiptsPolicy, "EXTRA", extra) }

// auditPolicy is a gate adopting Signet: everything allowed, recorded.
const auditPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
defaultAction: allow
images:
  - pattern: "**"
    mode: audit
    signers: [{name: release, key: release.pub}]
`

// lenientPolicy allows what no rule matches; warn and audit rules.
const lenientPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
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

// vsa is a verification summary as a gate writes it; empty fields are as
// the gate would write them for the image.
type vsa struct {
	result, resource, subject, policy, uri, timeVerified string
	at                                                   time.Time
}

// receipt signs s about img with who's key and attaches the same bundle to
// img and to each of also (copying a referrer is attaching the same bundle).
func (w *world) receipt(who string, img name.Digest, policyHash string, s vsa, also ...name.Digest) {
	w.t.Helper()
	repo := img.Context().Name()
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	if s.at.IsZero() {
		s.at = time.Now()
	}
	def(&s.result, "PASSED")
	def(&s.resource, "oci://"+repo+"@"+img.DigestStr())
	def(&s.subject, repo)
	def(&s.policy, policyHash)
	def(&s.uri, "signet-policy:admission#/images/0")
	def(&s.timeVerified, s.at.UTC().Format(time.RFC3339Nano))
	pred, _ := json.Marshal(map[string]any{"verifier": map[string]any{"id": "https://signet.dev/gate"}, "timeVerified": s.timeVerified,
		"resourceUri": s.resource, "policy": map[string]any{"uri": s.uri, "digest": map[string]string{"sha256": s.policy}},
		"verificationResult": s.result, "verifiedLevels": []string{}})
	stmt, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": policy.VSAPredicateType,
		"subject":   []any{map[string]any{"name": s.subject, "digest": map[string]string{"sha256": strings.TrimPrefix(img.DigestStr(), "sha256:")}}},
		"predicate": json.RawMessage(pred)})
	b, _, err := w.signers[who].SignStatement(w.ctx, stmt)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, d := range append([]name.Digest{img}, also...) {
		w.attachBundle(d.String(), b, policy.VSAPredicateType)
	}
}

// twins pushes one image to prod/app:TAG and dev/app:TAG (the same digest).
func (w *world) twins(tag string) (prod, dev name.Digest) {
	w.t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.reg.Push(w.t, "prod/app:"+tag, img), w.reg.Push(w.t, "dev/app:"+tag, img)
}

// onReceipt decides image with e; the verdict's reason carries the
// receipt check's message after the deciding failure. For a control,
// needReceipt makes "allowed" mean "allowed on a receipt".
func onReceipt(w *world, e *verify.Engine, image string, needReceipt bool) verdict {
	w.t.Helper()
	d := e.Decide(w.ctx, image)
	v := decision(d)
	for _, c := range d.Checks {
		if c.Name == "receipt" {
			v.reason += " | receipt: " + c.Message
			if needReceipt && c.Outcome != verify.Pass {
				v.allowed = false
			}
		}
	}
	return v
}

// gateOn starts a push gate deciding with dec (an engine that may honour
// receipts), signing with the gate key under policyHash.
func (w *world) gateOn(dec gate.Decider, policyHash string) *gateRun {
	w.t.Helper()
	g, err := gate.New(gate.Config{Registry: w.reg.Host, Client: w.client, Decider: dec, Attester: attest.New(w.signers["gate"], w.client),
		Secret: gateSecret, State: w.t.TempDir(), Grace: 300 * time.Millisecond, Recheck: 100 * time.Millisecond,
		PolicyName: "rows", PolicyHash: policyHash})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	srv := httptest.NewServer(g.Handler())
	w.t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return &gateRun{w: w, g: g, srv: srv}
}

// Receipts, gate side: only a verdict as strict as admission's own check
// is signed PASSED.
func init() {
	register(
		row{name: "gate: unsigned push under an audit rule is no PASSED receipt", entry: entryGate,
			run:  func(w *world) verdict { g := w.gate(lenientPolicy); return g.settled(g.push("audit/app", "v1")) },
			want: refusedAs(gate.StateUnverified, "no signatures found (rule in audit mode")},
		row{name: "gate: unsigned push under a warn rule is no PASSED receipt", entry: entryGate,
			run:  func(w *world) verdict { g := w.gate(lenientPolicy); return g.settled(g.push("warn/app", "v1")) },
			want: refusedAs(gate.StateUnverified, "no signatures found (rule in warn mode")},
		row{name: "gate: push signed by an untrusted key under an audit rule is no PASSED receipt", entry: entryGate,
			run: func(w *world) verdict {
				g := w.gate(lenientPolicy)
				d := w.image("audit/app:v1")
				w.sign("attacker", d.String())
				g.notify("audit/app", d.DigestStr(), "v1", "")
				return g.settled(d)
			},
			want: refusedAs(gate.StateFailed, "does not verify with any trusted key")},
		row{name: "gate: push no rule matches, defaultAction allow, is no PASSED receipt", entry: entryGate,
			run:  func(w *world) verdict { g := w.gate(lenientPolicy); return g.settled(g.push("other/app", "v1")) },
			want: refusedAs(gate.StateAllowed, "nothing was verified")},
		row{name: "gate: signed push under an audit rule is no PASSED receipt (only enforce rules are)", entry: entryGate,
			run: func(w *world) verdict {
				g := w.gate(lenientPolicy)
				d := w.image("audit/ok:v1")
				w.sign("release", d.String())
				g.notify("audit/ok", d.DigestStr(), "v1", "")
				return g.settled(d)
			},
			want: refusedAs(gate.StateAllowed, "audit mode")},
		row{name: "gate: a verdict that rested on a receipt is not signed again as PASSED", entry: entryGate,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				g := w.gateOn(e, e.PolicyHash())
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{at: time.Now().Add(-23 * time.Hour)})
				g.notify("prod/app", d.DigestStr(), "v1", "")
				return g.settled(d)
			},
			want: refusedAs(gate.StateAllowed, "allowed on a receipt")},
	)
}

// Receipts, admission side: a receipt stands in only for the same decision.
func init() {
	register(
		row{name: "receipt: audit-mode gate, receipts admission, unsigned image", entry: entryReceipt,
			run: func(w *world) verdict {
				g := w.gate(auditPolicy)
				d := g.push("prod/app", "v1")
				g.settled(d)
				return onReceipt(w, w.engine(receiptsDoc("")), d.String(), false)
			},
			want: refused(verify.ClassNotFound, "no signatures found")},
		row{name: "receipt: default-allow gate, image no gate rule matches", entry: entryReceipt,
			run: func(w *world) verdict {
				g := w.gate(lenientPolicy)
				d := g.push("prod/app", "v1")
				g.settled(d)
				return onReceipt(w, w.engine(receiptsDoc("")), d.String(), false)
			},
			want: refused(verify.ClassNotFound, "no receipt from a trusted gate")},
		row{name: "control: receipt, gate and admission on the same policy", entry: entryReceipt,
			run: func(w *world) verdict {
				g := w.gate(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.sign("release", d.String())
				g.notify("prod/app", d.DigestStr(), "v1", "")
				g.settled(d)
				return onReceipt(w, w.engine(receiptsDoc("")), d.String(), true)
			},
			want: allowed()},
		row{name: "receipt: the gate's FAILED summary under the same policy", entry: entryReceipt,
			run: func(w *world) verdict {
				g := w.gate(receiptsDoc(""))
				d := g.push("prod/app", "v1")
				g.settled(d)
				return onReceipt(w, w.engine(receiptsDoc("")), d.String(), false)
			},
			want: refused(verify.ClassNotFound, `says "FAILED"`)},
		row{name: "receipt: PASSED for dev/app copied onto prod/app (same digest)", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				prod, dev := w.twins("v1")
				w.receipt("gate", dev, e.PolicyHash(), vsa{uri: "signet-policy:admission#/images/1"}, prod)
				return onReceipt(w, e, prod.String(), false)
			},
			want: refused(verify.ClassNotFound, "receipt from gate push-gate refused: it names ")},
		row{name: "control: receipt, dev/app's own PASSED on dev/app", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				prod, dev := w.twins("v1")
				w.receipt("gate", dev, e.PolicyHash(), vsa{uri: "signet-policy:admission#/images/1"}, prod)
				return onReceipt(w, e, dev.String(), true)
			},
			want: allowed()},
		row{name: "receipt: resourceUri names prod/app, the signed subject dev/app", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				prod, dev := w.twins("v1")
				w.receipt("gate", prod, e.PolicyHash(), vsa{subject: dev.Context().Name()})
				return onReceipt(w, e, prod.String(), false)
			},
			want: refused(verify.ClassNotFound, "its subject names")},
		row{name: "receipt: resourceUri names another digest", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{resource: "oci://" + w.ref("prod/app@sha256:"+strings.Repeat("ab", 32))})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "it is about sha256:abababababab")},
		row{name: "receipt: resourceUri is not an OCI reference", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{resource: "https://example.com/anything"})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "is not oci://REGISTRY/REPOSITORY@DIGEST")},
		row{name: "receipt: the gate's newer FAILED revokes its older PASSED", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{at: time.Now().Add(-2 * time.Hour)})
				w.receipt("gate", d, e.PolicyHash(), vsa{result: "FAILED", at: time.Now().Add(-time.Hour)})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "this revokes its earlier PASSED summaries")},
		row{name: "receipt: a FAILED and a PASSED with the same timeVerified", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				at := time.Now().Add(-time.Hour)
				w.receipt("gate", d, e.PolicyHash(), vsa{result: "FAILED", at: at})
				w.receipt("gate", d, e.PolicyHash(), vsa{at: at})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, `says "FAILED"`)},
		row{name: "control: receipt, a newer PASSED after an older FAILED (signed later)", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{result: "FAILED", at: time.Now().Add(-2 * time.Hour)})
				w.receipt("gate", d, e.PolicyHash(), vsa{at: time.Now().Add(-time.Hour)})
				return onReceipt(w, e, d.String(), true)
			},
			want: allowed()},
		row{name: "control: receipt, a FAILED copied from dev/app does not revoke prod/app's PASSED", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				prod, dev := w.twins("v1")
				w.receipt("gate", prod, e.PolicyHash(), vsa{at: time.Now().Add(-2 * time.Hour)})
				w.receipt("gate", dev, e.PolicyHash(), vsa{result: "FAILED", uri: "signet-policy:admission#/images/1", at: time.Now().Add(-time.Hour)}, prod)
				return onReceipt(w, e, prod.String(), true)
			},
			want: allowed()},
		row{name: "receipt: an undated summary from the gate next to its PASSED", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{at: time.Now().Add(-time.Hour)})
				w.receipt("gate", d, e.PolicyHash(), vsa{result: "FAILED", timeVerified: "not a time"})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "its timeVerified cannot be read")},
		row{name: "receipt: PASSED dated in the future (to outlive a later FAILED)", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{at: time.Now().Add(30 * 24 * time.Hour)})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "in the future")},
		row{name: "control: receipt dated within the clock skew", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{at: time.Now().Add(time.Minute)})
				return onReceipt(w, e, d.String(), true)
			},
			want: allowed()},
		row{name: "receipt: PASSED older than maxAge", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{at: time.Now().Add(-25 * time.Hour)})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "too old")},
		row{name: "receipt: PASSED signed by the attacker's key", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("attacker", d, e.PolicyHash(), vsa{})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "does not verify with any trusted key")},
		row{name: "receipt: PASSED decided under another policy, not listed", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, strings.Repeat("0", 64), vsa{})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "list that digest in receipts.policyDigests")},
		row{name: "control: receipt decided under another policy listed in policyDigests", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc("  policyDigests: [" + strings.Repeat("0", 64) + "]\n"))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, strings.Repeat("0", 64), vsa{uri: "signet-policy:gate#/images/7"})
				return onReceipt(w, e, d.String(), true)
			},
			want: allowed()},
		row{name: "receipt: key file replaced next to the unchanged policy", entry: entryReceipt,
			run: func(w *world) verdict {
				before := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, before.PolicyHash(), vsa{})
				w.write("release.pub", w.pubs["attacker"])
				return onReceipt(w, w.engine(receiptsDoc("")), d.String(), false)
			},
			want: refused(verify.ClassNotFound, "it was decided under policy")},
		row{name: "receipt: the digest rule's PASSED used for a stricter tag rule", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:release-1")
				w.sign("release", d.String()) // enough for images[0], not for images[2]
				w.receipt("gate", d, e.PolicyHash(), vsa{})
				return onReceipt(w, e, w.ref("prod/app:release-1"), false)
			},
			want: refused(verify.ClassNotFound, "decided under rule images[0], not images[2]")},
		row{name: "receipt: PASSED that names no rule", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(receiptsDoc(""))
				d := w.image("prod/app:v1")
				w.receipt("gate", d, e.PolicyHash(), vsa{uri: "signet-policy:admission"})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "does not say which rule")},
	)
}
