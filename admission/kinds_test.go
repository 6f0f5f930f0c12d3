package admission_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/verify"
)

// request builds the AdmissionRequest the API server sends for obj (nil:
// no object, as for DELETE).
func request(apiVersion, kind string, op admissionv1.Operation, sub string, obj map[string]any) *admissionv1.AdmissionRequest {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group, version = "", group
	}
	var raw []byte
	if obj != nil {
		raw, _ = json.Marshal(obj)
	}
	return &admissionv1.AdmissionRequest{UID: "u-1", Kind: metav1.GroupVersionKind{Group: group, Version: version, Kind: kind},
		Operation: op, SubResource: sub, Object: runtime.RawExtension{Raw: raw}}
}

// build returns an object of kind whose one container, image, sits at the
// JSON Pointer ptr (".../containers/0/image"); extra edits it further.
func build(apiVersion, kind, ptr, image string, extra ...func(map[string]any)) map[string]any {
	obj := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": "x", "namespace": "ns"}}
	var cur any = obj
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i := 0; i < len(parts)-1; i++ {
		m := cur.(map[string]any)
		if _, err := strconv.Atoi(parts[i+1]); err == nil { // a list of one element
			elem := map[string]any{"name": "c"}
			m[parts[i]] = []any{elem}
			cur, i = elem, i+1
			continue
		}
		if _, ok := m[parts[i]]; !ok {
			m[parts[i]] = map[string]any{}
		}
		cur = m[parts[i]]
	}
	cur.(map[string]any)[parts[len(parts)-1]] = image
	for _, f := range extra {
		f(obj)
	}
	return obj
}

func set(ptr string, v any) func(map[string]any) {
	return func(obj map[string]any) {
		parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
		m := obj
		for _, p := range parts[:len(parts)-1] {
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = v
	}
}

type patchOp struct{ Op, Path, Value string }

func patchOf(t *testing.T, resp *admissionv1.AdmissionResponse) []patchOp {
	t.Helper()
	var ops []patchOp
	if resp.Patch != nil {
		if err := json.Unmarshal(resp.Patch, &ops); err != nil {
			t.Fatal(err)
		}
	}
	return ops
}

// TestEveryWorkloadKindIsJudged: every kind that carries a pod spec is
// judged wherever its containers sit — also when it runs nothing yet (0
// replicas, suspended: scaling up or resuming later goes through no
// webhook that sees images, IBM/portieris#508) and whatever its
// ownerReferences claim (portieris#517). A signed tag is pinned at the
// image's own JSON Pointer.
func TestEveryWorkloadKindIsJudged(t *testing.T) {
	t.Parallel()
	e := setup(t, "enforce")
	owned := set("/metadata/ownerReferences", []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "1", "controller": true}})
	for _, tc := range []struct {
		name, apiVersion, kind, ptr string
		op                          admissionv1.Operation
		sub                         string
		dryRun                      bool
		extra                       []func(map[string]any)
	}{
		{name: "Pod", apiVersion: "v1", kind: "Pod", ptr: "/spec/containers/0/image"},
		{name: "Pod init container", apiVersion: "v1", kind: "Pod", ptr: "/spec/initContainers/0/image"},
		{name: "Pod image volume", apiVersion: "v1", kind: "Pod", ptr: "/spec/volumes/0/image/reference"},
		{name: "Deployment image volume", apiVersion: "apps/v1", kind: "Deployment", ptr: "/spec/template/spec/volumes/0/image/reference"},
		{name: "Pod update", apiVersion: "v1", kind: "Pod", ptr: "/spec/containers/0/image", op: admissionv1.Update},
		{name: "Pod dry run", apiVersion: "v1", kind: "Pod", ptr: "/spec/containers/0/image", dryRun: true},
		{name: "Pod owned by a controller", apiVersion: "v1", kind: "Pod", ptr: "/spec/containers/0/image", extra: []func(map[string]any){owned}},
		{name: "pods/ephemeralcontainers", apiVersion: "v1", kind: "Pod", ptr: "/spec/ephemeralContainers/0/image", op: admissionv1.Update, sub: "ephemeralcontainers"},
		{name: "EphemeralContainers (before Kubernetes 1.22)", apiVersion: "v1", kind: "EphemeralContainers", ptr: "/ephemeralContainers/0/image", op: admissionv1.Update, sub: "ephemeralcontainers"},
		{name: "Deployment with 0 replicas", apiVersion: "apps/v1", kind: "Deployment", ptr: "/spec/template/spec/containers/0/image", extra: []func(map[string]any){set("/spec/replicas", 0)}},
		{name: "StatefulSet with 0 replicas", apiVersion: "apps/v1", kind: "StatefulSet", ptr: "/spec/template/spec/containers/0/image", extra: []func(map[string]any){set("/spec/replicas", 0)}},
		{name: "ReplicaSet with 0 replicas", apiVersion: "apps/v1", kind: "ReplicaSet", ptr: "/spec/template/spec/containers/0/image", extra: []func(map[string]any){set("/spec/replicas", 0)}},
		{name: "DaemonSet", apiVersion: "apps/v1", kind: "DaemonSet", ptr: "/spec/template/spec/initContainers/0/image"},
		{name: "suspended Job", apiVersion: "batch/v1", kind: "Job", ptr: "/spec/template/spec/containers/0/image", extra: []func(map[string]any){set("/spec/suspend", true)}},
		{name: "suspended CronJob", apiVersion: "batch/v1", kind: "CronJob", ptr: "/spec/jobTemplate/spec/template/spec/containers/0/image", extra: []func(map[string]any){set("/spec/suspend", true)}},
		{name: "ReplicationController with 0 replicas", apiVersion: "v1", kind: "ReplicationController", ptr: "/spec/template/spec/containers/0/image", extra: []func(map[string]any){set("/spec/replicas", 0)}},
		{name: "PodTemplate", apiVersion: "v1", kind: "PodTemplate", ptr: "/template/spec/containers/0/image"},
		{name: "ControllerRevision", apiVersion: "apps/v1", kind: "ControllerRevision", ptr: "/data/spec/template/spec/containers/0/image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := tc.op
			if op == "" {
				op = admissionv1.Create
			}
			req := func(image string) *admissionv1.AdmissionRequest {
				r := request(tc.apiVersion, tc.kind, op, tc.sub, build(tc.apiVersion, tc.kind, tc.ptr, image, tc.extra...))
				r.DryRun = &tc.dryRun
				return r
			}
			for _, mutate := range []bool{false, true} {
				resp := e.hook.Review(context.Background(), req(e.bad), mutate)
				if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, "image "+e.bad+" denied by signet rule") {
					t.Fatalf("unsigned image (mutate %v): want a denial naming it, got allowed=%v %+v", mutate, resp.Allowed, resp.Result)
				}
			}
			resp := e.hook.Review(context.Background(), req(e.signed), true)
			if !resp.Allowed {
				t.Fatalf("signed image: want allowed, got %+v", resp.Result)
			}
			want := []patchOp{{"replace", tc.ptr, e.signed + "@" + e.digest}}
			if got := patchOf(t, resp); len(got) != 1 || got[0] != want[0] {
				t.Fatalf("signed image: want patch %+v, got %+v", want, got)
			}
		})
	}
}

// TestUnknownKindCarryingImages: a kind Signet does not know how Kubernetes
// runs is denied when it carries container images anywhere, even signed
// ones; one with no container images is not Signet's to judge.
func TestUnknownKindCarryingImages(t *testing.T) {
	t.Parallel()
	e := setup(t, "enforce")
	pod := func(image string) map[string]any { return build("v1", "Pod", "/spec/containers/0/image", image) }
	for _, tc := range []struct {
		name string
		req  *admissionv1.AdmissionRequest
		want string // "" allowed, else in the denial
	}{
		{"CRD with a pod template", request("argoproj.io/v1alpha1", "Rollout", admissionv1.Create, "",
			build("argoproj.io/v1alpha1", "Rollout", "/spec/template/spec/containers/0/image", e.signed)),
			"kind Rollout (argoproj.io/v1alpha1) carries container images at /spec/template/spec/containers, but Signet does not know how Kubernetes runs it"},
		{"CRD with containers anywhere", request("example.com/v1", "Foo", admissionv1.Create, "",
			build("example.com/v1", "Foo", "/spec/x/containers/0/image", e.signed)), "kind Foo (example.com/v1) carries container images at /spec/x/containers,"},
		{"CRD with init containers deep down", request("example.com/v1", "Foo", admissionv1.Create, "",
			build("example.com/v1", "Foo", "/spec/a/0/b/initContainers/0/image", e.bad)), "at /spec/a/0/b/initContainers,"},
		{"CRD named like a workload", request("example.com/v1", "Deployment", admissionv1.Create, "",
			build("example.com/v1", "Deployment", "/spec/template/spec/containers/0/image", e.signed)), "kind Deployment (example.com/v1) carries container images"},
		{"DeploymentConfig", request("apps.openshift.io/v1", "DeploymentConfig", admissionv1.Create, "",
			build("apps.openshift.io/v1", "DeploymentConfig", "/spec/template/spec/containers/0/image", e.signed)), "kind DeploymentConfig (apps.openshift.io/v1)"},
		{"List", request("v1", "List", admissionv1.Create, "",
			map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{pod(e.signed), pod(e.bad)}}),
			"kind List (v1) carries container images at /items/0/spec/containers, /items/1/spec/containers,"},
		{"ConfigMap", request("v1", "ConfigMap", admissionv1.Create, "",
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"image": e.bad}}), ""},
		{"deployments/scale", request("autoscaling/v1", "Scale", admissionv1.Update, "scale",
			map[string]any{"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": map[string]any{"replicas": 3}}), ""},
		{"CRD with an image volume", request("example.com/v1", "Foo", admissionv1.Create, "",
			build("example.com/v1", "Foo", "/spec/volumes/0/image/reference", e.signed)), "kind Foo (example.com/v1) carries container images at /spec/volumes,"},
		{"CRD with volumes that are not image volumes", request("example.com/v1", "Foo", admissionv1.Create, "",
			map[string]any{"apiVersion": "example.com/v1", "kind": "Foo", "spec": map[string]any{"volumes": []any{map[string]any{"name": "v", "emptyDir": map[string]any{}}}}}), ""},
		{"CRD with containers that are not images", request("example.com/v1", "Foo", admissionv1.Create, "",
			map[string]any{"apiVersion": "example.com/v1", "kind": "Foo", "spec": map[string]any{"containers": []any{"a", "b"}}}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, mutate := range []bool{false, true} {
				resp := e.hook.Review(context.Background(), tc.req, mutate)
				switch {
				case tc.want == "" && !resp.Allowed:
					t.Fatalf("want allowed, got %+v", resp.Result)
				case tc.want == "" && resp.Patch != nil:
					t.Fatalf("want no patch, got %s", resp.Patch)
				case tc.want != "" && (resp.Allowed || !strings.Contains(resp.Result.Message, tc.want)):
					t.Fatalf("want a denial with %q, got allowed=%v %+v", tc.want, resp.Allowed, resp.Result)
				}
			}
		})
	}
}

// TestKindMismatch: a request whose kind is not its object's kind is
// denied; which one Kubernetes would act on is not Signet's to guess.
func TestKindMismatch(t *testing.T) {
	t.Parallel()
	e := setup(t, "enforce")
	for _, tc := range []struct {
		name             string
		apiVersion, kind string
		obj              map[string]any
		want             string // "" allowed
	}{
		{"Deployment request, Pod object", "apps/v1", "Deployment", build("v1", "Pod", "/spec/containers/0/image", e.bad),
			"the request is for kind Deployment (apps/v1) but its object is kind Pod (v1)"},
		{"Deployment request, Pod object, signed", "apps/v1", "Deployment", build("v1", "Pod", "/spec/containers/0/image", e.signed),
			"the request is for kind Deployment (apps/v1) but its object is kind Pod (v1)"},
		{"Pod request, Deployment object", "v1", "Pod", build("apps/v1", "Deployment", "/spec/template/spec/containers/0/image", e.bad),
			"the request is for kind Pod (v1) but its object is kind Deployment (apps/v1)"},
		{"ConfigMap request, Pod object", "v1", "ConfigMap", build("v1", "Pod", "/spec/containers/0/image", e.bad),
			"the request is for kind ConfigMap (v1) but its object is kind Pod (v1)"},
		{"another version", "apps/v1", "Deployment", build("extensions/v1beta1", "Deployment", "/spec/template/spec/containers/0/image", e.signed),
			"the request is for kind Deployment (apps/v1) but its object is kind Deployment (extensions/v1beta1)"},
		{"object without apiVersion and kind is judged as the request's", "v1", "Pod",
			map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": e.signed}}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.hook.Review(context.Background(), request(tc.apiVersion, tc.kind, admissionv1.Create, "", tc.obj), true)
			if tc.want == "" {
				if !resp.Allowed {
					t.Fatalf("want allowed, got %+v", resp.Result)
				}
				return
			}
			if resp.Allowed || !strings.Contains(resp.Result.Message, tc.want) {
				t.Fatalf("want a denial with %q, got allowed=%v %+v", tc.want, resp.Allowed, resp.Result)
			}
		})
	}
}

// TestOperationsThatRunNothing: DELETE and CONNECT create nothing that
// could run an image.
func TestOperationsThatRunNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, "enforce")
	for name, req := range map[string]*admissionv1.AdmissionRequest{
		"DELETE":            request("v1", "Pod", admissionv1.Delete, "", nil),
		"CONNECT pods/exec": request("v1", "PodExecOptions", admissionv1.Connect, "exec", map[string]any{"apiVersion": "v1", "kind": "PodExecOptions", "command": []any{"sh"}}),
	} {
		if resp := e.hook.Review(context.Background(), req, true); !resp.Allowed || resp.Patch != nil {
			t.Errorf("%s: want allowed without a patch, got %+v", name, resp)
		}
	}
}

// decided is a Decider that allows every image with one digest, as if it
// had verified that digest (a signed tag head, say).
type decided struct{ digest, mode string }

func (d decided) DecideAll(_ context.Context, imgs []string) []*verify.Decision {
	out := make([]*verify.Decision, len(imgs))
	for i, img := range imgs {
		out[i] = &verify.Decision{Allowed: true, Mode: d.mode, Image: img, Digest: d.digest, Rule: "**"}
	}
	return out
}

func (d decided) Fallback(image, reason string, _, _ bool) *verify.Decision {
	return &verify.Decision{Mode: d.mode, Image: image, Class: verify.ClassTransient, Reason: reason}
}

// TestPinFailureNeverAdmits (kyverno#15705: a patch that could not be built
// skipped verification): an allowed image that cannot be made to run the
// digest that was verified is denied — a reference naming another digest
// in either webhook, a tag the mutating webhook cannot pin. Nothing is
// pinned that was not verified.
func TestPinFailureNeverAdmits(t *testing.T) {
	t.Parallel()
	verified, other := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	for _, tc := range []struct {
		name, image, mode string
		mutate            bool
		want              string // "" allowed
		pinned            string // the patch's value, "" for none
	}{
		{name: "digest reference, another digest verified", image: "r.example/app@" + other, mutate: true,
			want: "image r.example/app@" + other + ` denied by signet rule "**": pin [policy-denied]: the reference names ` + other + " but " + verified + " was verified"},
		{name: "digest reference, another digest verified, validating", image: "r.example/app@" + other,
			want: "names " + other + " but " + verified + " was verified"},
		{name: "tag and digest, another digest verified", image: "r.example/app:v1@" + other, mutate: true,
			want: "image r.example/app:v1@" + other + ` denied by signet rule "**": pin [policy-denied]: the reference names ` + other + " but " + verified + " was verified"},
		{name: "tag the webhook cannot pin", image: "r.example/App:v1", mutate: true,
			want: `image r.example/App:v1 denied by signet rule "**": pin [policy-denied]: the reference cannot be pinned to the verified digest ` + verified},
		{name: "tag the webhook cannot pin, warn mode", image: "r.example/App:v1", mode: "warn", mutate: true},
		{name: "tag pinned", image: "r.example/app:v1", mutate: true, pinned: "r.example/app:v1@" + verified},
		{name: "tag, validating", image: "r.example/app:v1"},
		{name: "tag and the verified digest", image: "r.example/app:v1@" + verified, mutate: true},
		{name: "the verified digest", image: "r.example/app@" + verified, mutate: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mode := tc.mode
			if mode == "" {
				mode = "enforce"
			}
			w := admission.New(decided{verified, mode})
			resp := w.Review(context.Background(), request("v1", "Pod", admissionv1.Create, "", build("v1", "Pod", "/spec/containers/0/image", tc.image)), tc.mutate)
			if tc.want != "" {
				if resp.Allowed || !strings.Contains(resp.Result.Message, tc.want) || resp.Patch != nil {
					t.Fatalf("want a denial with %q and no patch, got allowed=%v %+v %s", tc.want, resp.Allowed, resp.Result, resp.Patch)
				}
				return
			}
			if !resp.Allowed {
				t.Fatalf("want allowed, got %+v", resp.Result)
			}
			if tc.mode == "warn" {
				// The validating webhook reports it (once); the mutating one stays quiet.
				v := w.Review(context.Background(), request("v1", "Pod", admissionv1.Create, "", build("v1", "Pod", "/spec/containers/0/image", tc.image)), false)
				if !v.Allowed || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "cannot be pinned") || len(resp.Warnings) != 0 {
					t.Fatalf("warn mode: want one warning that it cannot be pinned from the validating webhook and none from the mutating one, got %q and %q", v.Warnings, resp.Warnings)
				}
			}
			got := patchOf(t, resp)
			switch {
			case tc.pinned == "" && len(got) != 0:
				t.Fatalf("want no patch, got %+v", got)
			case tc.pinned != "" && (len(got) != 1 || got[0].Value != tc.pinned || got[0].Path != "/spec/containers/0/image"):
				t.Fatalf("want %s pinned at /spec/containers/0/image, got %+v", tc.pinned, got)
			}
		})
	}
}
