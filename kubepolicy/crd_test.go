package kubepolicy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the CRDs in deploy/crds and deploy/helm/signet/crds")

// crdDirs hold the generated CRDs: the manifests, and the Helm chart's copy.
var crdDirs = []string{"../deploy/crds", "../deploy/helm/signet/crds"}

// TestCRDsUpToDate keeps the CRDs generated from the Go types: run
// `go test ./kubepolicy -run CRD -update` after changing them.
func TestCRDsUpToDate(t *testing.T) {
	for _, k := range crdKinds {
		got, err := generateCRD(k)
		if err != nil {
			t.Fatalf("%s: %v", k.kind, err)
		}
		for _, dir := range crdDirs {
			path := filepath.Join(dir, k.fileName())
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (generate it: go test ./kubepolicy -run CRD -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is out of date: go test ./kubepolicy -run CRD -update", path)
			}
		}
	}
}

// TestCRDSchemaIsThePolicySchema: the spec has the document's fields
// (docs/policy.schema.json, but apiVersion, kind and metadata), with the
// same types, enums and required fields, everywhere.
func TestCRDSchemaIsThePolicySchema(t *testing.T) {
	docBytes, err := os.ReadFile("../docs/policy.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.Unmarshal(docBytes, &doc)
	defs := doc["$defs"].(map[string]any)
	policyDef, err := inline(defs["Policy"], defs, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := policyDef.(map[string]any)
	// recalls names a file, which a resource cannot read: the webhook
	// takes a recall list with --recalls, for every policy at once.
	// mirrors maps a mirror to its origin's rule; in resources, where a
	// namespace's SignetPolicy combines with the cluster's, that mapping
	// would reach other policies' rules, so resources do not take it yet
	// (docs/kubernetes-policies.md): the API server refuses the field.
	for _, f := range []string{"apiVersion", "kind", "metadata", "recalls", "mirrors"} {
		delete(want["properties"].(map[string]any), f)
	}
	want["required"] = []any{"images"}
	for _, k := range crdKinds {
		b, err := specSchema(k)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.Unmarshal(b, &got)
		compareShape(t, k.kind+" spec", want, got)
	}
}

// compareShape compares type, enum, required and properties of two
// schemas, recursively.
func compareShape(t *testing.T, at string, want, got map[string]any) {
	t.Helper()
	for _, key := range []string{"type", "enum", "required", "minimum"} {
		w, _ := json.Marshal(want[key])
		g, _ := json.Marshal(got[key])
		if !bytes.Equal(w, g) {
			t.Errorf("%s: %s is %s in the CRD, %s in the document's schema", at, key, g, w)
		}
	}
	wp, _ := want["properties"].(map[string]any)
	gp, _ := got["properties"].(map[string]any)
	if len(wp) != len(gp) {
		t.Errorf("%s: %d properties in the CRD, %d in the document's schema", at, len(gp), len(wp))
	}
	for name, w := range wp {
		g, ok := gp[name].(map[string]any)
		if !ok {
			t.Errorf("%s: the CRD lacks %s", at, name)
			continue
		}
		compareShape(t, at+"."+name, w.(map[string]any), g)
	}
	if wi, ok := want["items"].(map[string]any); ok {
		gi, _ := got["items"].(map[string]any)
		compareShape(t, at+"[]", wi, gi)
	}
}

// TestCRDNames: group, kinds, plurals, short names and scope as the
// manifests, RBAC and informers expect, a status subresource, and the
// printer columns kubectl get shows. (internal/crdcheck runs the API
// server's own validation of the CRDs.)
func TestCRDNames(t *testing.T) {
	for _, k := range crdKinds {
		b, err := generateCRD(k)
		if err != nil {
			t.Fatal(err)
		}
		var crd crdDoc
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&crd); err != nil {
			t.Fatal(err)
		}
		n, v := crd.Spec.Names, crd.Spec.Versions[0]
		scope := map[bool]string{true: "Namespaced", false: "Cluster"}[k.namespaced]
		if crd.Metadata.Name != k.plural+".signet.dev" || n.Kind != k.kind || n.Plural != k.plural || n.ShortNames[0] != k.short ||
			crd.Spec.Scope != scope || v.Name != "v1alpha1" || v.Subresources["status"] == nil {
			t.Errorf("%s: names %+v, scope %s, version %s", k.kind, n, crd.Spec.Scope, v.Name)
		}
		var cols []string
		for _, c := range v.Columns {
			if c.Priority == 0 {
				cols = append(cols, c.Name)
			}
		}
		if strings.Join(cols, ",") != "Ready,Age" {
			t.Errorf("%s: printer columns %v", k.kind, cols)
		}
	}
}
