package fleet

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fold groups listed objects into workloads. Each object belongs to its top
// owner: the end of its chain of controllers that were listed too (same
// namespace, UID, kind, group and name as the ownerReference says). Objects
// are taken from the top down, and an object adds only the (container,
// image) pairs its workload does not have yet, so replicas collapse into
// their template and an image is shown at the highest object running it. An
// owner chain that loops makes each object in it a workload of its own: no
// image is ever left out.
func fold(objs []object) []Workload {
	top, depth := owners(objs)
	order := make([]int, len(objs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		oa, ob := &objs[a], &objs[b]
		return cmp.Or(cmp.Compare(depth[a], depth[b]), cmp.Compare(oa.namespace, ob.namespace),
			cmp.Compare(oa.kind.Kind, ob.kind.Kind), cmp.Compare(oa.name, ob.name))
	})
	type key struct{ container, image string }
	byTop := map[int]*Workload{}
	seen := map[int]map[key]bool{}
	var tops []int
	for _, i := range order {
		t, o := top[i], &objs[i]
		w := byTop[t]
		if w == nil {
			owner := &objs[t]
			w = &Workload{Namespace: owner.namespace, APIVersion: owner.kind.Resource.GroupVersion().String(), Kind: owner.kind.Kind, Name: owner.name}
			byTop[t], seen[t] = w, map[key]bool{}
			tops = append(tops, t)
		}
		for _, ref := range o.images {
			k := key{o.containerName(ref.Path), ref.Image}
			if seen[t][k] {
				continue
			}
			seen[t][k] = true
			im := Image{Container: k.container, Ref: ref.Image}
			if i != t {
				im.Object = o.label()
			}
			w.Images = append(w.Images, im)
		}
	}
	var out []Workload
	for _, t := range tops {
		if len(byTop[t].Images) > 0 {
			out = append(out, *byTop[t])
		}
	}
	return out
}

// owners finds each object's top owner and its depth below it.
func owners(objs []object) (top, depth []int) {
	type id struct{ namespace, uid string }
	byUID := map[id]int{}
	for i, o := range objs {
		if _, dup := byUID[id{o.namespace, o.uid}]; o.uid != "" && !dup {
			byUID[id{o.namespace, o.uid}] = i
		}
	}
	parent := func(i int) int {
		ref := objs[i].owner
		if ref == nil {
			return -1
		}
		j, ok := byUID[id{objs[i].namespace, string(ref.UID)}]
		if !ok || j == i {
			return -1
		}
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if p := &objs[j]; err != nil || p.kind.Kind != ref.Kind || p.apiGroup != gv.Group || p.name != ref.Name {
			return -1
		}
		return j
	}
	top, depth = make([]int, len(objs)), make([]int, len(objs))
	for i := range objs {
		visited := map[int]bool{i: true}
		t, d := i, 0
		for p := parent(t); p >= 0; p = parent(t) {
			if visited[p] {
				t, d = i, 0 // a loop: no one owns it
				break
			}
			visited[p] = true
			t, d = p, d+1
		}
		top[i], depth[i] = t, d
	}
	return top, depth
}
