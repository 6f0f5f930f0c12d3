package attacks

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signet-dev/signet/verify"
)

// Seams: where one mechanism hands over to another (a workload's image
// volumes, a file's documents read before the workload parser).

// podWithImageVolume is a Pod running container and mounting volume, an
// image volume (KEP-4639: the kubelet pulls the OCI image and mounts its
// files into the container).
func podWithImageVolume(container, volume string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: c
      image: %q
      volumeMounts: [{name: tools, mountPath: /opt/tools}]
  volumes:
    - name: tools
      image: {reference: %q, pullPolicy: IfNotPresent}
`, container, volume)
}

// disguisedAsReview is a Pod running REG/team/app:evil that Go's
// case-insensitive JSON decoding would read as an AdmissionReview about a
// ConfigMap: KIND, APIVERSION and REQUEST are fields Kubernetes, which
// matches names exactly, drops (kubectl apply --validate=warn or ignore,
// or a client without field validation), creating the Pod.
const disguisedAsReview = `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
 "spec": {"containers": [{"name": "c", "image": "REG/team/app:evil"}]},
 "KIND": "AdmissionReview", "APIVERSION": "admission.k8s.io/v1",
 "REQUEST": {"uid": "u", "kind": {"version": "v1", "kind": "ConfigMap"}, "operation": "CREATE",
  "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}}}
`

func init() {
	register(
		row{name: "seams: unsigned image mounted as a Pod's image volume", entry: entryReview,
			run: func(w *world) verdict {
				signedAndEvil(w)
				return w.review(releasePolicy, podWithImageVolume(w.ref("team/app:v1"), w.ref("team/app:evil")), true)
			},
			want: refusedAs("denied", "team/app:evil")},
		row{name: "seams: unsigned image volume in a Deployment's pod template", entry: entryReview,
			run: func(w *world) verdict {
				signedAndEvil(w)
				spec := strings.SplitN(podWithImageVolume(w.ref("team/app:v1"), w.ref("team/app:evil")), "spec:\n", 2)[1]
				return w.review(releasePolicy, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n"+indent(spec, "    "), true)
			},
			want: refusedAs("denied", "team/app:evil")},
		row{name: "seams: image volume of a custom kind", entry: entryReview,
			run: func(w *world) verdict {
				w.image("team/app:evil")
				return w.review(releasePolicy, "apiVersion: example.com/v1\nkind: Runner\nmetadata: {name: r}\nspec:\n  volumes:\n    - {name: v, image: {reference: \"REG/team/app:evil\"}}\n", true)
			},
			want: refusedAs("denied", "Runner")},
		row{name: "seams: image volume naming a digest other than the one verified", entry: entryReview,
			run: func(w *world) verdict {
				signed := w.image("team/app:v1")
				w.sign("release", signed.String())
				evil := w.image("team/app:evil")
				return w.review(releasePolicy, podWithImageVolume(signed.String(), w.ref("team/app:v1@"+evil.DigestStr())), true)
			},
			want: refusedAs("denied", "team/app:v1@")},
		row{name: "control: seams, signed image volume (pinned to its digest)", entry: entryReview,
			run: func(w *world) verdict {
				signed := w.image("team/app:v1")
				w.sign("release", signed.String())
				return w.review(releasePolicy, podWithImageVolume(w.ref("team/app:v1"), w.ref("team/app:v1")), true)
			},
			want: allowed()},
		row{name: "control: seams, a Pod's other volumes carry no image", entry: entryReview,
			run: func(w *world) verdict {
				signed := w.image("team/app:v1")
				w.sign("release", signed.String())
				return w.review(releasePolicy, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"REG/team/app:v1\"}]\n"+
					"  volumes: [{name: a, emptyDir: {}}, {name: b, configMap: {name: image}}]\n", true)
			},
			want: allowed()},
		row{name: "seams: a Pod whose upper-case fields read as an AdmissionReview to a case-insensitive decoder", entry: entryReview,
			run: func(w *world) verdict {
				signedAndEvil(w)
				return w.reviewFile(releasePolicy, disguisedAsReview, true)
			},
			want: refusedAs("denied", "team/app:evil")},
		row{name: "seams: a YAML Pod whose Unicode-folded fields read as an AdmissionReview", entry: entryReview,
			run: func(w *world) verdict {
				// U+212A KELVIN SIGN folds to k, U+017F LONG S to s: the
				// keys sort after kind and apiVersion, so they are read last.
				signedAndEvil(w)
				return w.reviewFile(releasePolicy, "apiVersion: v1\nkind: Pod\n\u212aind: AdmissionReview\napiVer\u017fion: admission.k8s.io/v1\nmetadata: {name: p}\n"+
					"spec: {containers: [{name: c, image: REG/team/app:evil}]}\n"+
					"request: {uid: u, kind: {version: v1, kind: ConfigMap}, operation: CREATE, object: {apiVersion: v1, kind: ConfigMap}}\n", true)
			},
			want: refusedAs("denied", "team/app:evil")},
	)
}

// freshScanPolicy: signed by release, with a scan by release at most an
// hour old.
const freshScanPolicy = `apiVersion: signet.dev/v1alpha1
kind: Policy
metadata: {name: admission}
images:
  - pattern: "REG/**"
    signers: [{name: release, key: release.pub}]
    attestations:
      - {name: scan, predicateType: vuln, maxAge: 1h}
`

// scanReceiptsPolicy is freshScanPolicy trusting the gate's receipts for
// a day.
const scanReceiptsPolicy = freshScanPolicy + `receipts:
  gates: [{name: push-gate, key: gate.pub}]
  maxAge: 24h
`

// clock is a clock a row moves on.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// scannedImage pushes team/app:v1 signed by release, with a scan by release
// finished at scanned.
func scannedImage(w *world, scanned time.Time) string {
	w.t.Helper()
	d := w.image("team/app:v1")
	w.sign("release", d.String())
	w.attestStatement("release", d.String(), scanStatement(w, d.String(), scanned))
	return d.String()
}

// Times across shortcuts: a verdict cached (or a receipt) stands in only
// while every time limit of the checks it replaces still holds.
func init() {
	const ttl = time.Hour // a long cache TTL, as a deployment may choose
	register(
		row{name: "seams: a cached pass outliving its attestation's maxAge", entry: entryPolicy,
			run: func(w *world) verdict {
				var c clock
				e := w.engine(freshScanPolicy, verify.WithCache(100, ttl, time.Minute), verify.WithEngineClock(c.now))
				img := scannedImage(w, time.Now().Add(-50*time.Minute))
				if d := e.Decide(w.ctx, img); !d.Allowed {
					w.t.Fatalf("the scan is fresh: %s", d.Reason)
				}
				c.advance(20 * time.Minute) // the scan is 70 minutes old
				return decision(e.Decide(w.ctx, img))
			},
			want: refused(verify.ClassPolicyDenied, "attestation too old")},
		row{name: "seams: failure mode receipt on a cached pass whose attestation expired", entry: entryFallback,
			run: func(w *world) verdict {
				var c clock
				e := w.engine(freshScanPolicy, verify.WithCache(100, ttl, time.Minute), verify.WithEngineClock(c.now))
				img := scannedImage(w, time.Now().Add(-50*time.Minute))
				if d := e.Decide(w.ctx, img); !d.Allowed {
					w.t.Fatalf("the scan is fresh: %s", d.Reason)
				}
				c.advance(20 * time.Minute)
				return decision(e.Fallback(img, "the registry is down (the row's)", true, true))
			},
			want: refused(verify.ClassTransient, "no verdict for")},
		row{name: "control: seams, a cached pass within its attestation's maxAge", entry: entryPolicy,
			run: func(w *world) verdict {
				var c clock
				e := w.engine(freshScanPolicy, verify.WithCache(100, ttl, time.Minute), verify.WithEngineClock(c.now))
				img := scannedImage(w, time.Now().Add(-20*time.Minute))
				e.Decide(w.ctx, img)
				c.advance(20 * time.Minute)
				d := e.Decide(w.ctx, img)
				if !d.Cached {
					return verdict{class: "not cached", reason: "the second decision did not come from the cache"}
				}
				return decision(d)
			},
			want: allowed()},
		row{name: "seams: a cached receipt outliving the receipt's maxAge", entry: entryReceipt,
			run: func(w *world) verdict {
				var c clock
				e := w.engine(receiptsDoc(""), verify.WithCache(100, ttl, time.Minute), verify.WithEngineClock(c.now))
				d := w.image("prod/app:v1") // no signature of its own
				w.receipt("gate", d, e.PolicyHash(), vsa{at: time.Now().Add(-23*time.Hour - 50*time.Minute)})
				if v := onReceipt(w, e, d.String(), true); !v.allowed {
					w.t.Fatalf("the receipt is within its maxAge: %s", v.reason)
				}
				c.advance(20 * time.Minute)
				return onReceipt(w, e, d.String(), false)
			},
			want: refused(verify.ClassNotFound, "too old")},
		row{name: "seams: a receipt standing in for an attestation past its maxAge", entry: entryReceipt,
			run: func(w *world) verdict {
				e := w.engine(scanReceiptsPolicy)
				// The gate passed it three hours ago, when its scan was fresh.
				img := w.image("team/app:v1")
				w.sign("release", img.String())
				w.attestStatement("release", img.String(), scanStatement(w, img.String(), time.Now().Add(-3*time.Hour-30*time.Minute)))
				w.receipt("gate", img, e.PolicyHash(), vsa{at: time.Now().Add(-3 * time.Hour)})
				return onReceipt(w, e, img.String(), false)
			},
			want: refused(verify.ClassPolicyDenied, "attestation too old")},
	)
}
