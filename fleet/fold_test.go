package fleet

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// kindNamed is the Kind of that name (Pod for an unknown one).
func kindNamed(name string) Kind {
	for _, k := range Kinds {
		if k.Kind == name {
			return k
		}
	}
	return Kinds[0]
}

// mk is an object: "Kind ns/name uid" running images; owner is
// "Kind name uid" or "".
func mk(t testing.TB, spec, owner string, images ...string) object {
	t.Helper()
	var kind, nsName, uid string
	fmt.Sscan(spec, &kind, &nsName, &uid)
	ns, name, _ := strings.Cut(nsName, "/")
	k := kindNamed(kind)
	var cs []any
	for i, img := range images {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": img})
	}
	meta := map[string]any{"name": name, "namespace": ns, "uid": uid}
	if owner != "" {
		var ok, on, ou string
		fmt.Sscan(owner, &ok, &on, &ou)
		meta["ownerReferences"] = []any{map[string]any{"apiVersion": kindNamed(ok).Resource.GroupVersion().String(), "kind": ok, "name": on, "uid": ou, "controller": true}}
	}
	u := map[string]any{"apiVersion": k.Resource.GroupVersion().String(), "kind": k.Kind, "metadata": meta}
	switch k.Kind {
	case "Pod":
		u["spec"] = map[string]any{"containers": cs}
	case "CronJob":
		u["spec"] = map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": cs}}}}}
	default:
		u["spec"] = map[string]any{"template": map[string]any{"spec": map[string]any{"containers": cs}}}
	}
	o, err := objectOf(k, unstructured.Unstructured{Object: u})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// summarize writes the workloads as "ns Kind/name: image[@object] ...".
func summarize(ws []Workload) []string {
	var out []string
	for _, w := range ws {
		var ims []string
		for _, im := range w.Images {
			s := im.Ref
			if im.Object != "" {
				s += "@" + im.Object
			}
			ims = append(ims, s)
		}
		out = append(out, fmt.Sprintf("%s %s/%s: %s", w.Namespace, w.Kind, w.Name, strings.Join(ims, " ")))
	}
	return out
}

// everyImageReported fails when an object's image is in no workload.
func everyImageReported(t testing.TB, objs []object, ws []Workload) {
	t.Helper()
	reported := map[string]bool{}
	for _, w := range ws {
		for _, im := range w.Images {
			reported[w.Namespace+" "+im.Ref] = true
		}
	}
	for _, o := range objs {
		for _, ref := range o.images {
			if !reported[o.namespace+" "+ref.Image] {
				t.Errorf("%s %s runs %s, which no workload reports: %v", o.namespace, o.label(), ref.Image, summarize(ws))
			}
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		name string
		objs func(t *testing.T) []object
		want []string
	}{
		{"replicas are one workload", func(t *testing.T) []object {
			return []object{mk(t, "Pod shop/web-1-a p1", "ReplicaSet web-1 rs1", "app:1"), mk(t, "Pod shop/web-1-b p2", "ReplicaSet web-1 rs1", "app:1"),
				mk(t, "ReplicaSet shop/web-1 rs1", "Deployment web d1", "app:1"), mk(t, "Deployment shop/web d1", "", "app:1")}
		}, []string{"shop Deployment/web: app:1"}},
		{"an old ReplicaSet's image is reported under its Deployment, its Pods once", func(t *testing.T) []object {
			return []object{mk(t, "Deployment shop/web d1", "", "app:2"), mk(t, "ReplicaSet shop/web-1 rs1", "Deployment web d1", "app:1"),
				mk(t, "Pod shop/web-1-a p1", "ReplicaSet web-1 rs1", "app:1"), mk(t, "Pod shop/web-1-b p2", "ReplicaSet web-1 rs1", "app:1")}
		}, []string{"shop Deployment/web: app:2 app:1@ReplicaSet/web-1"}},
		{"a Pod changed after creation is reported with its name", func(t *testing.T) []object {
			return []object{mk(t, "Deployment shop/web d1", "", "app:1"), mk(t, "ReplicaSet shop/web-1 rs1", "Deployment web d1", "app:1"),
				mk(t, "Pod shop/web-1-a p1", "ReplicaSet web-1 rs1", "app:1", "sidecar:1")}
		}, []string{"shop Deployment/web: app:1 sidecar:1@Pod/web-1-a"}},
		{"an owner in another namespace owns nothing", func(t *testing.T) []object {
			return []object{mk(t, "Deployment shop/web d1", "", "app:1"), mk(t, "Pod other/x p1", "Deployment web d1", "app:1")}
		}, []string{"other Pod/x: app:1", "shop Deployment/web: app:1"}},
		{"an ownerReference naming another kind owns nothing", func(t *testing.T) []object {
			return []object{mk(t, "StatefulSet shop/web s1", "", "app:1"), mk(t, "Pod shop/x p1", "Deployment web s1", "evil:1")}
		}, []string{"shop Pod/x: evil:1", "shop StatefulSet/web: app:1"}},
		{"an ownerReference naming another object owns nothing", func(t *testing.T) []object {
			return []object{mk(t, "Deployment shop/web d1", "", "app:1"), mk(t, "Pod shop/x p1", "Deployment api d1", "app:1")}
		}, []string{"shop Deployment/web: app:1", "shop Pod/x: app:1"}},
		{"an owner that is not listed (a mirror Pod's Node)", func(t *testing.T) []object {
			return []object{mk(t, "Pod kube-system/etcd p1", "Node n1 n1", "etcd:3")}
		}, []string{"kube-system Pod/etcd: etcd:3"}},
		{"an ownership loop leaves each object on its own", func(t *testing.T) []object {
			return []object{mk(t, "ReplicaSet shop/a a1", "ReplicaSet b b1", "a:1"), mk(t, "ReplicaSet shop/b b1", "ReplicaSet a a1", "b:1"),
				mk(t, "Pod shop/p p1", "ReplicaSet a a1", "p:1")}
		}, []string{"shop Pod/p: p:1", "shop ReplicaSet/a: a:1", "shop ReplicaSet/b: b:1"}},
		{"a CronJob owns its Jobs and their Pods", func(t *testing.T) []object {
			return []object{mk(t, "Pod shop/r-1-x p1", "Job r-1 j1", "report:1"), mk(t, "Job shop/r-1 j1", "CronJob r c1", "report:1"),
				mk(t, "CronJob shop/r c1", "", "report:1")}
		}, []string{"shop CronJob/r: report:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := tt.objs(t)
			ws := fold(objs)
			if got := summarize(ws); !slices.Equal(got, tt.want) {
				t.Errorf("workloads:\n got %q\nwant %q", got, tt.want)
			}
			everyImageReported(t, objs, ws)
		})
	}
}

func TestContainerNames(t *testing.T) {
	u := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "ns"},
		"spec": map[string]any{
			"containers":          []any{map[string]any{"name": "app", "image": "app:1"}},
			"initContainers":      []any{map[string]any{"name": "migrate", "image": "migrate:1"}},
			"ephemeralContainers": []any{map[string]any{"name": "debug", "image": "busybox:1"}},
			"volumes":             []any{map[string]any{"name": "models", "image": map[string]any{"reference": "models:1"}}},
		}}
	o, err := objectOf(kindNamed("Pod"), unstructured.Unstructured{Object: u})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range fold([]object{o})[0].Images {
		got = append(got, im.Container+"="+im.Ref)
	}
	slices.Sort(got)
	want := []string{"app=app:1", "debug (ephemeral)=busybox:1", "migrate (init)=migrate:1", "models (volume)=models:1"}
	if !slices.Equal(got, want) {
		t.Errorf("containers %q, want %q", got, want)
	}
}

// FuzzFold reads arbitrary objects as listed from an API server: nothing
// panics, and every image an object runs is in some workload.
func FuzzFold(f *testing.F) {
	f.Add([]byte(`[{"kind":"Deployment","metadata":{"name":"web","namespace":"shop","uid":"d1"},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:1"}]}}}},
{"kind":"Pod","metadata":{"name":"x","namespace":"shop","uid":"p1","ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"d1","controller":true}]},"spec":{"containers":[{"name":"app","image":"other:1"}],"volumes":[{"name":"v","image":{"reference":"vol:1"}}]}}]`))
	f.Add([]byte(`[{"kind":"Pod","metadata":{"uid":"a","ownerReferences":[{"kind":"Pod","uid":"a","controller":true}]},"spec":{"containers":[{"image":"x"}]}}]`))
	f.Add([]byte(`[{"kind":"CronJob","metadata":{"name":"c/~1","uid":"c"},"spec":{"jobTemplate":{"spec":{"template":{"spec":{"initContainers":[{"name":7,"image":"i"}]}}}}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var items []map[string]any
		if json.Unmarshal(data, &items) != nil {
			return
		}
		var objs []object
		for _, it := range items {
			kind, _ := it["kind"].(string)
			it["apiVersion"] = kindNamed(kind).Resource.GroupVersion().String()
			it["kind"] = kindNamed(kind).Kind
			o, err := objectOf(kindNamed(kind), unstructured.Unstructured{Object: it})
			if err != nil {
				continue
			}
			objs = append(objs, o)
		}
		everyImageReported(t, objs, fold(objs))
	})
}
