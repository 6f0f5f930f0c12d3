package attacks

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/inspect"
	"github.com/signet-dev/signet/internal/rekorv1test"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

// recallList writes recalls.yaml recalling digest for reason.
func (w *world) recallList(digest, reason string) {
	w.t.Helper()
	w.write("recalls.yaml", []byte(fmt.Sprintf("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\ndigests:\n  - digest: %s\n    reason: %q\n", digest, reason)))
}

// loadRecalls reads the world's recalls.yaml.
func (w *world) loadRecalls() *policy.Recalls {
	w.t.Helper()
	r, err := policy.LoadRecalls(filepath.Join(w.dir, "recalls.yaml"))
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// withRecalls adds the world's recalls.yaml to a policy document.
func withRecalls(doc string) string {
	return strings.TrimRight(doc, "\n") + "\nrecalls: recalls.yaml\n"
}

// windowPolicy trusts the time kit's scanner key within WINDOW.
const windowPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
images:
  - pattern: "REG/**"
    signers: [{name: scanner, key: scanner.pub, WINDOW}]
`

// Key windows: a key counts only for signatures a trusted time places in
// its window; a retired key's new signatures do not count.
func init() {
	signedAt := func(how, window string) func(w *world) verdict {
		return func(w *world) verdict {
			k := w.timeKit()
			d := w.image("team/app:v1")
			if _, err := k.signers[how].SignImage(w.ctx, d.String(), sign.Request{}); err != nil {
				w.t.Fatal(err)
			}
			doc := strings.ReplaceAll(windowPolicy, "WINDOW", window)
			return w.decide(doc, d.String(), verify.WithEngineTrustedRoot(k.root))
		}
	}
	at := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
	register(
		row{name: "retired key's new signature, logged in Rekor v1", entry: entryPolicy,
			run: signedAt("rekor v1", "validUntil: "+at(-time.Hour)), want: refused(verify.ClassPolicyDenied, "a retired key's new signatures do not count")},
		row{name: "retired key's new signature, timestamped by a TSA", entry: entryPolicy,
			run: signedAt("tsa", "validUntil: "+at(-time.Hour)), want: refused(verify.ClassPolicyDenied, "a retired key's new signatures do not count")},
		row{name: "key with a window, signature with no trusted time", entry: entryPolicy,
			run: signedAt("none", "validUntil: "+at(time.Hour)), want: refused(verify.ClassPolicyDenied, "carries no trusted time")},
		row{name: "key with a window, signature logged in Rekor v2 (no signed time)", entry: entryPolicy,
			run: signedAt("rekor v2", "validUntil: "+at(time.Hour)), want: refused(verify.ClassPolicyDenied, "carries no trusted time")},
		row{name: "signature made before the key's validFrom", entry: entryPolicy,
			run: signedAt("rekor v1", "validFrom: "+at(time.Hour)), want: refused(verify.ClassPolicyDenied, "before that")},
		row{name: "revoked key's signature logged after the revocation", entry: entryPolicy,
			run: func(w *world) verdict {
				k := w.timeKit()
				d := w.image("team/app:v1")
				if _, err := k.signers["rekor v1"].SignImage(w.ctx, d.String(), sign.Request{}); err != nil {
					w.t.Fatal(err)
				}
				pem := "      " + strings.ReplaceAll(strings.TrimSpace(string(k.pub)), "\n", "\n      ")
				w.write("recalls.yaml", []byte("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 2\nkeys:\n  - publicKey: |\n"+pem+
					"\n    revokedFrom: "+at(-time.Hour)+"\n    reason: scanner key leaked\n"))
				doc := withRecalls(strings.ReplaceAll(windowPolicy, ", WINDOW", ""))
				return w.decide(doc, d.String(), verify.WithEngineTrustedRoot(k.root))
			},
			want: refused(verify.ClassRevoked, "scanner key leaked")},
		row{name: "control: key retired after the signature was logged", entry: entryPolicy,
			run: signedAt("rekor v1", "validUntil: "+at(time.Hour)), want: allowed()},
	)
}

// Recalls: a recalled digest is refused (class revoked, with the recall's
// reason) wherever it comes in, and nothing that stands in for
// verification — a gate's receipt, a cached verdict, the failure mode —
// admits it.
func init() {
	const reason = "CVE-2026-0001 in the base image"
	register(
		row{name: "recalled digest, validly signed", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.recallList(d.DigestStr(), reason)
				return w.decide(withRecalls(releasePolicy), w.ref("team/app:v1"))
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "recalled digest under a warn-mode rule", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("warn/app:v1")
				w.sign("release", d.String())
				w.recallList(d.DigestStr(), reason)
				return w.decide(withRecalls(lenientPolicy), d.String())
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "recalled digest no rule covers, defaultAction allow, by tag", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("other/app:v1")
				w.recallList(d.DigestStr(), reason)
				return w.decide(withRecalls(lenientPolicy), w.ref("other/app:v1"))
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "recalled platform manifest under its index", entry: entryPolicy,
			run: func(w *world) verdict {
				amd, arm := w.pushImg("team/app", "amd64", w.randomImage()), w.pushImg("team/app", "arm64", w.randomImage())
				idx := w.rawIndex("team/app", "v1", w.descriptorOf(amd.String()), w.descriptorOf(arm.String()))
				w.sign("release", idx.String())
				w.recallList(arm.DigestStr(), reason)
				return w.decide(withRecalls(releasePolicy), w.ref("team/app:v1"))
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "recalled digest via a gate receipt", entry: entryReceipt,
			run: func(w *world) verdict {
				d := w.image("prod/app:v1")
				w.recallList(d.DigestStr(), reason)
				e := w.engine(withRecalls(receiptsDoc("")))
				// The gate ran this very policy, recall list and all.
				w.receipt("gate", d, e.PolicyHash(), vsa{})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "revoked key's signature via a gate receipt (recall list given to admission only)", entry: entryReceipt,
			run: func(w *world) verdict {
				d := w.image("prod/app:v1")
				w.sign("release", d.String())
				pub, _ := keys.ParsePublicKey(w.pubs["release"])
				id, _ := keys.ID(pub)
				w.write("recalls.yaml", []byte("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 1\nkeys:\n  - {keyId: \""+id+
					"\", revokedFrom: "+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+", reason: release key exposed}\n"))
				e := w.engine(receiptsDoc(""), verify.WithEngineRecalls(w.loadRecalls()))
				// The gate ran this very policy, without the recall list.
				w.receipt("gate", d, e.PolicyHash(), vsa{})
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassRevoked, "release key exposed")},
		row{name: "recalled digest via the admission cache (recall loaded after a cached allow)", entry: entryReview,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				wh := admission.New(w.engine(releasePolicy, verify.WithCache(100, time.Hour, time.Hour)))
				if v := review(w, wh, d); !v.allowed {
					w.t.Fatalf("setup: %s", v.reason)
				}
				// The recall arrives: the policy reload swaps the engine.
				w.recallList(d.DigestStr(), reason)
				wh.SetDecider(w.engine(withRecalls(releasePolicy), verify.WithCache(100, time.Hour, time.Hour)))
				return review(w, wh, d)
			},
			want: refusedAs("denied", reason)},
		row{name: "recalled digest, registry outage, failure mode receipt", entry: entryFallback,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.recallList(d.DigestStr(), reason)
				e := w.engine(withRecalls(releasePolicy), verify.WithCache(100, time.Hour, time.Hour))
				w.outage.Store(true)
				return w.reviewWith(e, podWith(d.String()), true, admission.WithFailureMode(admission.FailReceipt))
			},
			want: refusedAs("denied", reason)},
		row{name: "recall list given to the engine besides the policy", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.recallList(d.DigestStr(), reason)
				r := w.loadRecalls()
				return w.decide(releasePolicy, d.String(), verify.WithEngineRecalls(r))
			},
			want: refused(verify.ClassRevoked, reason)},
		row{name: "recalled digest shown by inspect, with and without a policy", entry: entryInspect,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.recallList(d.DigestStr(), reason)
				plain, err := inspect.Inspect(w.ctx, w.client, d.String(), inspect.Options{Recalls: []*policy.Recalls{w.loadRecalls()}})
				if err != nil {
					w.t.Fatal(err)
				}
				var text bytes.Buffer
				inspect.WriteText(&text, plain, inspect.TextOptions{})
				var html bytes.Buffer
				if err := inspect.WriteHTML(&html, plain); err != nil {
					w.t.Fatal(err)
				}
				if !strings.Contains(text.String(), "recalled") || !strings.Contains(plain.Subject.Recalled, reason) || !strings.Contains(html.String(), reason) {
					return verdict{allowed: true, reason: "inspect does not show the recall: " + text.String()}
				}
				judged, err := inspect.Inspect(w.ctx, w.client, d.String(), inspect.Options{Engine: w.engine(withRecalls(releasePolicy))})
				if err != nil {
					w.t.Fatal(err)
				}
				v := judged.Subject.Verdict
				if v == nil || v.Outcome == "allowed" {
					return verdict{allowed: true, reason: "inspect --policy shows the recalled image allowed"}
				}
				return verdict{class: string(verify.ClassRevoked), reason: v.Check + " | " + judged.Subject.Recalled}
			},
			want: refused(verify.ClassRevoked, "recall [revoked]")},
		row{name: "control: a recall list naming another digest", entry: entryPolicy,
			run: func(w *world) verdict {
				d, other := w.image("team/app:v1"), w.image("team/other:v1")
				w.sign("release", d.String())
				w.recallList(other.DigestStr(), reason)
				return w.decide(withRecalls(releasePolicy), d.String())
			},
			want: allowed()},
	)
}

// review asks the webhook about a pod running d.
func review(w *world, wh *admission.Webhook, d name.Digest) verdict {
	w.t.Helper()
	req, err := admission.ReviewObject(toJSON(w.t, podWith(d.String())))
	if err != nil {
		w.t.Fatal(err)
	}
	resp := wh.Review(w.ctx, req, true)
	v := verdict{allowed: resp.Allowed}
	if resp.Result != nil {
		v.reason, v.class = resp.Result.Message, "denied"
	}
	return v
}

// Key windows on cosign v2's legacy .sig layers: the entry's integrated
// time counts once its signed entry timestamp verifies with the trusted log.
func init() {
	legacyWindow := func(until time.Duration) func(w *world) verdict {
		return func(w *world) verdict {
			rk := rekorv1test.Start(w.t)
			d := w.image("team/app:v1")
			w.signLegacy(d, rk)
			tr, err := tlog.TrustedRoot(tlog.LogInfo{URL: rk.URL, PublicKey: rk.Key.Public(), APIVersion: 1})
			if err != nil {
				w.t.Fatal(err)
			}
			pub, _ := keys.ParsePublicKey(w.pubs["release"])
			v, err := verify.New(w.client, []verify.Key{{Name: "release.pub", PublicKey: pub, ValidUntil: time.Now().Add(until)}}, verify.WithTrustedRoot(tr))
			if err != nil {
				w.t.Fatal(err)
			}
			_, err = v.Verify(w.ctx, d.String(), verify.Request{})
			return verifyVerdict(err)
		}
	}
	register(
		row{name: "retired key's new legacy .sig signature, logged in Rekor v1", entry: entryVerify,
			run: legacyWindow(-time.Hour), want: refused(verify.ClassInvalid, "a retired key's new signatures do not count")},
		row{name: "control: legacy .sig signature logged before the key was retired", entry: entryVerify,
			run: legacyWindow(time.Hour), want: allowed()},
	)
}
