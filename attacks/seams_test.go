package attacks

import (
	"fmt"
	"strings"
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
