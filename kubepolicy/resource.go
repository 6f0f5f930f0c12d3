package kubepolicy

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// MaxSpecBytes bounds a policy resource's spec (as JSON). The API server
// stores objects of about 1.5 MB; a policy is a few kilobytes.
const MaxSpecBytes = 256 << 10

// Ref names a policy resource.
type Ref struct {
	// Kind is ClusterKind or NamespacedKind.
	Kind string
	// Namespace is "" for a SignetClusterPolicy.
	Namespace string
	Name      string
}

// Namespaced reports whether r is a SignetPolicy.
func (r Ref) Namespaced() bool { return r.Kind == NamespacedKind }

// String is how messages name the resource: "SignetClusterPolicy
// baseline", "SignetPolicy team-a/strict".
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// describe is the kubectl command that shows the resource's status.
func (r Ref) describe() string {
	if r.Namespaced() {
		return fmt.Sprintf("kubectl describe signetpolicy -n %s %s", r.Namespace, r.Name)
	}
	return "kubectl describe signetclusterpolicy " + r.Name
}

// specFields are the fields of a resource's spec (see Spec).
var specFields = []string{"defaultAction", "images", "receipts"}

// Parse reads a policy resource (an object as the API server sends it:
// apiVersion, kind, metadata, spec) into the policy document its spec
// stands for. Problems are policy.Errors whose paths start at spec (for
// example spec.images[0].mode), every one of them.
func Parse(obj map[string]any) (Ref, *policy.Policy, error) {
	ref, err := refOf(obj)
	if err != nil {
		return ref, nil, err
	}
	doc, errs := document(obj["spec"])
	if len(errs) > 0 {
		return ref, nil, errs
	}
	p, _, err := policy.Parse(doc)
	if err != nil {
		return ref, nil, inSpec(err)
	}
	return ref, p, nil
}

// refOf reads what the object is.
func refOf(obj map[string]any) (Ref, error) {
	var ref Ref
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	if apiVersion != Group+"/"+Version || (kind != ClusterKind && kind != NamespacedKind) {
		return ref, fmt.Errorf("%w: %s %s is not a Signet policy resource (want %s/%s %s or %s)",
			policy.ErrInvalid, apiVersion, kind, Group, Version, ClusterKind, NamespacedKind)
	}
	meta, _ := obj["metadata"].(map[string]any)
	ref.Kind = kind
	ref.Name, _ = meta["name"].(string)
	ref.Namespace, _ = meta["namespace"].(string)
	switch {
	case ref.Name == "":
		return ref, fmt.Errorf("%w: metadata.name is missing", policy.ErrInvalid)
	case kind == NamespacedKind && ref.Namespace == "":
		return ref, fmt.Errorf("%w: a SignetPolicy lives in a namespace; metadata.namespace is missing", policy.ErrInvalid)
	case kind == ClusterKind:
		ref.Namespace = "" // cluster-scoped: a namespace means nothing
	}
	return ref, nil
}

// document turns a spec into the policy document it stands for (JSON):
// the spec's fields under the document's apiVersion and kind.
func document(spec any) ([]byte, policy.Errors) {
	fields, ok := spec.(map[string]any)
	if !ok {
		what := "missing"
		if spec != nil {
			what = "not a mapping of fields"
		}
		return nil, policy.Errors{{Path: "spec", Msg: what + "; a policy resource's spec is the policy: defaultAction, images and receipts"}}
	}
	doc := map[string]any{"apiVersion": policy.APIVersion, "kind": policy.Kind}
	var errs policy.Errors
	for k, v := range fields {
		if !slices.Contains(specFields, k) {
			errs = append(errs, &policy.FieldError{Path: "spec", Msg: fmt.Sprintf("unknown field %s (the fields of spec are %s)", k, strings.Join(specFields, ", "))})
			continue
		}
		doc[k] = v
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Msg < errs[j].Msg })
	b, err := json.Marshal(doc)
	switch {
	case err != nil:
		return nil, append(errs, &policy.FieldError{Path: "spec", Msg: "cannot be read: " + err.Error()})
	case len(b) > MaxSpecBytes:
		return nil, append(errs, &policy.FieldError{Path: "spec", Msg: fmt.Sprintf("is %d bytes, more than a policy resource may hold (%d); split it into several policies", len(b), MaxSpecBytes)})
	}
	return b, errs
}

// inSpec rewrites the document's errors to name the resource's fields:
// images[0].mode is spec.images[0].mode, and line numbers (of a document
// the user never wrote) are dropped.
func inSpec(err error) error {
	errs, ok := err.(policy.Errors)
	if !ok {
		return err
	}
	out := make(policy.Errors, len(errs))
	for i, e := range errs {
		path := "spec"
		if e.Path != "" {
			path += "." + e.Path
		}
		out[i] = &policy.FieldError{Path: path, Msg: e.Msg}
	}
	return out
}
