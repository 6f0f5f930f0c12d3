package attacks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/verify"
)

// reviewFile answers every object of a file (YAML documents or JSON
// values; manifests, Lists or AdmissionReviews) as 'signet admission
// review' does: refused when any object is denied (the registry's host
// reads REG in the reasons).
func (w *world) reviewFile(doc, file string, mutate bool) verdict {
	w.t.Helper()
	objs, err := admission.ParseManifests([]byte(strings.ReplaceAll(file, "REG", w.reg.Host)))
	if err != nil {
		return verdict{class: "bad-request", reason: err.Error()}
	}
	hook := admission.New(w.engine(doc, verify.WithCache(100, time.Minute, time.Minute)))
	var reasons []string
	for _, o := range objs {
		if resp := hook.Review(w.ctx, o.Request, mutate); !resp.Allowed {
			at := strings.TrimSpace(fmt.Sprintf("document %d %s", o.Document, o.Path))
			reasons = append(reasons, at+": "+strings.ReplaceAll(resp.Result.Message, w.reg.Host, "REG"))
		}
	}
	if len(reasons) > 0 {
		return verdict{class: "denied", reason: strings.Join(reasons, "; ")}
	}
	return verdict{allowed: true}
}

// reviewRequest posts to /mutate the AdmissionReview the API server would
// send for apiVersion/kind carrying obj (a manifest; "" for none).
func (w *world) reviewRequest(doc, apiVersion, kind string, op admissionv1.Operation, obj string) verdict {
	w.t.Helper()
	gv := strings.SplitN(apiVersion, "/", 2)
	if len(gv) == 1 {
		gv = []string{"", gv[0]}
	}
	req := &admissionv1.AdmissionRequest{UID: "u", Operation: op, Kind: metav1.GroupVersionKind{Group: gv[0], Version: gv[1], Kind: kind}}
	if obj != "" {
		req.Object = runtime.RawExtension{Raw: toJSON(w.t, strings.ReplaceAll(obj, "REG", w.reg.Host))}
	}
	body, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	rec := httptest.NewRecorder()
	admission.New(w.engine(doc)).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body)))
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		return verdict{class: "bad-request", reason: rec.Body.String()}
	}
	if out.Response.Allowed {
		return verdict{allowed: true}
	}
	return verdict{class: "denied", reason: strings.ReplaceAll(out.Response.Result.Message, w.reg.Host, "REG")}
}

// signedAndEvil pushes team/app:v1 signed by release and team/app:evil
// unsigned.
func signedAndEvil(w *world) {
	w.sign("release", w.image("team/app:v1").String())
	w.image("team/app:evil")
}

// pod and deployment are manifests running image (REG is the registry).
func pod(name, image string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers: [{name: c, image: %q}]\n", name, image)
}

func deployment(name, image string) string {
	return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: %q}]\n", name, image)
}

// item indents a manifest as an item of a YAML list.
func item(manifest string) string {
	return "  - " + strings.ReplaceAll(strings.TrimSpace(manifest), "\n", "\n    ") + "\n"
}

func list(items ...string) string {
	return "apiVersion: v1\nkind: List\nitems:\n" + strings.Join(items, "")
}

// onlyDigest allows every image as if it had verified digest (a signed
// tag head, say): what the webhook does with the reference is on trial.
type onlyDigest string

func (d onlyDigest) DecideAll(_ context.Context, imgs []string) []*verify.Decision {
	out := make([]*verify.Decision, len(imgs))
	for i, img := range imgs {
		out[i] = &verify.Decision{Allowed: true, Mode: "enforce", Image: img, Digest: string(d), Rule: "REG/**"}
	}
	return out
}

func (d onlyDigest) Fallback(image, reason string, _, _ bool) *verify.Decision {
	return &verify.Decision{Mode: "enforce", Image: image, Class: verify.ClassTransient, Reason: reason}
}

var (
	verifiedDigest = "sha256:" + strings.Repeat("a", 64)
	otherDigest    = "sha256:" + strings.Repeat("b", 64)
)

const notKnown = "but Signet does not know how Kubernetes runs it"

// Admission review reads everything it is given: every document, every
// List item, every kind that carries a pod spec; what it cannot vouch for
// (an unknown kind carrying images, a request whose object is of another
// kind, a reference it cannot make run the verified digest) is denied.
func init() {
	evil, signed := "REG/team/app:evil", "REG/team/app:v1"
	file := func(name, f string, want expect) row {
		return row{name: name, entry: entryReview, want: want,
			run: func(w *world) verdict { signedAndEvil(w); return w.reviewFile(releasePolicy, f, true) }}
	}
	register(
		file("admission review: unsigned image in the second YAML document", deployment("a", signed)+"---\n"+pod("b", evil),
			refusedAs("denied", "document 2: image "+evil)),
		file("admission review: unsigned image after an empty YAML document", pod("a", signed)+"---\n# nothing\n---\n"+pod("b", evil),
			refusedAs("denied", "document 3: image "+evil)),
		file("admission review: unsigned image in the second JSON value",
			fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":%q}]}}
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":%q}]}}`, signed, evil),
			refusedAs("denied", "document 2: image "+evil)),
		file("admission review: unsigned Pod in a List", list(item(pod("a", signed)), item(pod("b", evil))),
			refusedAs("denied", "document 1 /items/1: image "+evil)),
		file("admission review: unsigned Pod in a List in a List", list(item(list(item(pod("b", evil))))),
			refusedAs("denied", "document 1 /items/0/items/0: image "+evil)),
		file("admission review: unsigned Pod in a PodList whose items have no kind",
			"apiVersion: v1\nkind: PodList\nitems:\n  - metadata: {name: b}\n    spec: {containers: [{name: c, image: "+evil+"}]}\n",
			refusedAs("denied", "document 1 /items/0: image "+evil)),
		file("admission review: a Pod with items (kubectl applies them as a List)", pod("a", signed)+"items:\n"+item(pod("b", evil)),
			refusedAs("denied", "document 1 /items/0: image "+evil)),
		file("admission review: unsigned image in a ReplicationController",
			"apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  replicas: 0\n  template:\n    spec:\n      containers: [{name: c, image: "+evil+"}]\n",
			refusedAs("denied", "image "+evil+" denied by signet rule")),
		file("admission review: unsigned image in a PodTemplate",
			"apiVersion: v1\nkind: PodTemplate\nmetadata: {name: pt}\ntemplate:\n  spec:\n    containers: [{name: c, image: "+evil+"}]\n",
			refusedAs("denied", "image "+evil+" denied by signet rule")),
		file("admission review: unsigned image in a ControllerRevision",
			"apiVersion: apps/v1\nkind: ControllerRevision\nmetadata: {name: cr}\nrevision: 2\ndata:\n  spec:\n    template:\n      spec:\n        containers: [{name: c, image: "+evil+"}]\n",
			refusedAs("denied", "image "+evil+" denied by signet rule")),
		file("admission review: unsigned image in EphemeralContainers (before Kubernetes 1.22)",
			"apiVersion: v1\nkind: EphemeralContainers\nmetadata: {name: p}\nephemeralContainers: [{name: debug, image: "+evil+"}]\n",
			refusedAs("denied", "image "+evil+" denied by signet rule")),
		file("admission review: a custom kind with a pod template, signed image",
			"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: "+signed+"}]\n",
			refusedAs("denied", "kind Rollout (argoproj.io/v1alpha1) carries container images at /spec/template/spec/containers, "+notKnown)),
		file("admission review: a custom kind named Deployment whose controller also runs spec.sidecarImage",
			"apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  sidecarImage: "+evil+"\n  template:\n    spec:\n      containers: [{name: c, image: "+signed+"}]\n",
			refusedAs("denied", "kind Deployment (example.com/v1) carries container images at /spec/template/spec/containers, "+notKnown)),
		file("admission review: init containers deep in a custom kind",
			"apiVersion: example.com/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  stages:\n    - run:\n        initContainers: [{name: c, image: "+evil+"}]\n",
			refusedAs("denied", "at /spec/stages/0/run/initContainers, "+notKnown)),
		file("control: admission review, signed images in every document and List item",
			deployment("a", signed)+"---\n"+list(item(pod("b", signed)), item(deployment("c", signed)))+"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata: {image: x}\n",
			allowed()),
		file("control: admission review, a signed PodList whose items have no kind",
			"apiVersion: v1\nkind: PodList\nitems:\n  - metadata: {name: b}\n    spec: {containers: [{name: c, image: "+signed+"}]}\n", allowed()),
		file("control: admission review, a signed ReplicationController",
			"apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: "+signed+"}]\n", allowed()),
		file("control: admission review, a custom kind without container images",
			"apiVersion: example.com/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  containers: [a, b]\n", allowed()),
	)
	request := func(name, apiVersion, kind string, op admissionv1.Operation, obj string, want expect) row {
		return row{name: name, entry: entryWebhook, want: want,
			run: func(w *world) verdict {
				signedAndEvil(w)
				return w.reviewRequest(releasePolicy, apiVersion, kind, op, obj)
			}}
	}
	register(
		request("admission webhook: a Deployment request carrying a Pod", "apps/v1", "Deployment", admissionv1.Create,
			pod("p", evil)+"  template: {spec: {}}\n", refusedAs("denied", "the request is for kind Deployment (apps/v1) but its object is kind Pod (v1)")),
		request("admission webhook: a Pod request carrying a Deployment", "v1", "Pod", admissionv1.Create,
			deployment("d", evil), refusedAs("denied", "the request is for kind Pod (v1) but its object is kind Deployment (apps/v1)")),
		request("admission webhook: a ConfigMap request carrying a Pod", "v1", "ConfigMap", admissionv1.Update,
			pod("p", evil), refusedAs("denied", "the request is for kind ConfigMap (v1) but its object is kind Pod (v1)")),
		request("admission webhook: a List request", "v1", "List", admissionv1.Create,
			list(item(pod("a", evil))), refusedAs("denied", "kind List (v1) carries container images at /items/0/spec/containers, "+notKnown)),
		request("control: admission webhook, DELETE runs nothing", "v1", "Pod", admissionv1.Delete, "", allowed()),
		request("control: admission webhook, deployments/scale carries no image", "autoscaling/v1", "Scale", admissionv1.Update,
			"apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: d}\nspec: {replicas: 3}\n", allowed()),
	)
	pin := func(name, image string, want expect) row {
		return row{name: name, entry: entryReview, want: want,
			run: func(w *world) verdict { return w.reviewWith(onlyDigest(verifiedDigest), podWith(image), true) }}
	}
	register(
		pin("admission pin: a digest reference naming another digest than the one verified", "REG/team/app@"+otherDigest,
			refusedAs("denied", "pin [policy-denied]: the reference names "+otherDigest+" but "+verifiedDigest+" was verified")),
		pin("admission pin: name:tag@digest naming another digest than the one verified", "REG/team/app:v1@"+otherDigest,
			refusedAs("denied", "the reference names "+otherDigest+" but "+verifiedDigest+" was verified")),
		pin("admission pin: a tag the mutating webhook cannot pin", "REG/team/App:v1",
			refusedAs("denied", "pin [policy-denied]: the reference cannot be pinned to the verified digest "+verifiedDigest)),
		pin("control: admission pin, a tag pinned to the verified digest", "REG/team/app:v1", allowed()),
		pin("control: admission pin, name:tag@ the verified digest", "REG/team/app:v1@"+verifiedDigest, allowed()),
	)
}
