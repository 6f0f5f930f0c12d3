package attacks

import (
	"fmt"
	"strings"
	"time"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/verify"
)

// workload is a manifest of kind whose pod spec runs images (REG is the
// registry); the pod spec sits where kind keeps it.
func workload(kind string, containers string) string {
	spec := "spec:\n" + indent(containers, "  ")
	switch kind {
	case "Pod":
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n" + spec
	case "CronJob":
		return "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n" + indent(spec, "        ")
	case "Job":
		return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n" + indent(spec, "    ")
	}
	return fmt.Sprintf("apiVersion: apps/v1\nkind: %s\nmetadata: {name: d}\nspec:\n  template:\n", kind) + indent(spec, "    ")
}

func indent(s, pre string) string {
	out := ""
	for _, l := range splitLines(s) {
		out += pre + l + "\n"
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func containers(field string, images ...string) string {
	s := field + ":\n"
	for i, img := range images {
		s += fmt.Sprintf("  - {name: c%d, image: %q}\n", i, img)
	}
	return s
}

// Admission: every image a workload runs is judged, whatever the kind and
// wherever the container sits.
func init() {
	for _, kind := range []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"} {
		register(
			row{name: "admission: unsigned image in a " + kind, entry: entryReview,
				run: func(w *world) verdict {
					signed := w.image("team/app:v1")
					w.sign("release", signed.String())
					w.image("team/app:evil")
					return w.review(releasePolicy, workload(kind, containers("containers", w.ref("team/app:v1"), w.ref("team/app:evil"))), true)
				},
				want: refusedAs("denied", "team/app:evil")},
			row{name: "control: admission, signed image in a " + kind, entry: entryReview,
				run: func(w *world) verdict {
					signed := w.image("team/app:v1")
					w.sign("release", signed.String())
					return w.review(releasePolicy, workload(kind, containers("containers", w.ref("team/app:v1"))), true)
				},
				want: allowed()},
		)
	}
	for _, field := range []string{"initContainers", "ephemeralContainers"} {
		register(row{name: "admission: unsigned image in a Pod's " + field, entry: entryReview,
			run: func(w *world) verdict {
				signed := w.image("team/app:v1")
				w.sign("release", signed.String())
				w.image("team/app:evil")
				c := containers("containers", w.ref("team/app:v1")) + containers(field, w.ref("team/app:evil"))
				return w.review(releasePolicy, workload("Pod", c), false)
			},
			want: refusedAs("denied", "team/app:evil")})
	}
	// Portieris #508: workloads scaled to zero (or suspended) were not
	// judged, and run their images as soon as they are scaled up.
	for _, tc := range []struct{ name, manifest string }{
		{"Deployment with 0 replicas", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 0\n  template:\n    spec:\n      containers: [{name: c, image: EVIL}]\n"},
		{"StatefulSet with 0 replicas", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n  replicas: 0\n  template:\n    spec:\n      containers: [{name: c, image: EVIL}]\n"},
		{"suspended CronJob", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  suspend: true\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: EVIL}]\n"},
		{"suspended Job", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  suspend: true\n  template:\n    spec:\n      containers: [{name: c, image: EVIL}]\n"},
	} {
		register(row{name: "admission: unsigned image in a " + tc.name + " (Portieris #508)", entry: entryReview,
			run: func(w *world) verdict {
				w.image("team/app:evil")
				return w.review(releasePolicy, strings.ReplaceAll(tc.manifest, "EVIL", w.ref("team/app:evil")), true)
			},
			want: refusedAs("denied", "team/app:evil")})
	}
	register(
		row{name: "admission failure mode closed: registry outage denies", entry: entryFallback,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				e := w.engine(releasePolicy, verify.WithCache(100, time.Hour, time.Minute))
				w.outage.Store(true)
				return w.reviewWith(e, podWith(d.String()), true)
			},
			want: refusedAs("denied", "failure mode closed")},
		row{name: "admission failure mode receipt: outage, a digest never verified", entry: entryFallback,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				e := w.engine(releasePolicy, verify.WithCache(100, time.Hour, time.Minute))
				w.outage.Store(true)
				return w.reviewWith(e, podWith(d.String()), true, admission.WithFailureMode(admission.FailReceipt))
			},
			want: refusedAs("denied", "no verdict for")},
		row{name: "control: admission failure mode receipt, outage, digest verified before", entry: entryFallback,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				e := w.engine(releasePolicy, verify.WithCache(100, time.Hour, time.Minute))
				if v := w.reviewWith(e, podWith(d.String()), true); !v.allowed {
					w.t.Fatalf("setup: %s", v.reason)
				}
				w.outage.Store(true)
				return w.reviewWith(e, podWith(d.String()), true, admission.WithFailureMode(admission.FailReceipt))
			},
			want: allowed()},
		row{name: "admission failure mode receipt: outage, a tag in the validating webhook", entry: entryFallback,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				e := w.engine(releasePolicy, verify.WithCache(100, time.Hour, time.Minute))
				if v := w.reviewWith(e, podWith(w.ref("team/app:v1")), true); !v.allowed {
					w.t.Fatalf("setup: %s", v.reason)
				}
				w.outage.Store(true)
				return w.reviewWith(e, podWith(w.ref("team/app:v1")), false, admission.WithFailureMode(admission.FailReceipt))
			},
			want: refusedAs("denied", "a tag reference cannot be admitted on a receipt")},
		row{name: "admission failure mode receipt: a cached failure is not a receipt", entry: entryFallback,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("attacker", d.String())
				e := w.engine(releasePolicy, verify.WithCache(100, time.Hour, time.Hour))
				w.reviewWith(e, podWith(d.String()), true)
				w.outage.Store(true)
				return w.reviewWith(e, podWith(d.String()), true, admission.WithFailureMode(admission.FailReceipt))
			},
			want: refusedAs("denied", "does not verify with any trusted key")},
	)
}
