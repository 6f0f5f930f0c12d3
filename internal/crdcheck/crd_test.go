package crdcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apivalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

const crdDir = "../../deploy/crds"

var files = map[string]string{
	"SignetClusterPolicy": "signet.dev_signetclusterpolicies.yaml",
	"SignetPolicy":        "signet.dev_signetpolicies.yaml",
}

// readCRD reads a CRD as the API server's internal type.
func readCRD(t *testing.T, kind string) *apiextensions.CustomResourceDefinition {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(crdDir, files[kind]))
	if err != nil {
		t.Fatal(err)
	}
	var v1 apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(b, &v1); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	var crd apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &crd, nil); err != nil {
		t.Fatal(err)
	}
	crd.Status.StoredVersions = []string{"v1alpha1"} // the API server's to write
	return &crd
}

// TestCRDsValidate runs the API server's validation of a new CRD: a
// structural schema, CEL rules that compile within the cost budget,
// printer columns, names.
func TestCRDsValidate(t *testing.T) {
	for kind := range files {
		crd := readCRD(t, kind)
		s, err := structuralschema.NewStructural(crd.Spec.Validation.OpenAPIV3Schema)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if errs := structuralschema.ValidateStructural(field.NewPath("openAPIV3Schema"), s); len(errs) > 0 {
			t.Fatalf("%s is not structural: %v", kind, errs.ToAggregate())
		}
		if errs := apivalidation.ValidateCustomResourceDefinition(context.Background(), crd); len(errs) > 0 {
			t.Fatalf("%s: %v", kind, errs.ToAggregate())
		}
	}
}

// admit validates obj as the API server does on create: the OpenAPI
// schema, list uniqueness (x-kubernetes-list-type), then the CEL rules. It returns the errors, joined.
func admit(t *testing.T, crd *apiextensions.CustomResourceDefinition, obj map[string]any) string {
	t.Helper()
	schema := crd.Spec.Validation.OpenAPIV3Schema
	v, _, err := validation.NewSchemaValidator(schema)
	if err != nil {
		t.Fatal(err)
	}
	errs := validation.ValidateCustomResource(nil, obj, v)
	s, err := structuralschema.NewStructural(schema)
	if err != nil {
		t.Fatal(err)
	}
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, s, obj)...)
	celErrs, _ := cel.NewValidator(s, true, 1_000_000).Validate(context.Background(), nil, s, obj, nil, 10_000_000)
	errs = append(errs, celErrs...)
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return strings.Join(out, "\n")
}

const pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"

// TestApplyTimeChecks: what kubectl apply refuses before the webhook
// sees the object, and what it lets through.
func TestApplyTimeChecks(t *testing.T) {
	image := func(extra string) string {
		return "{pattern: 'registry.example.com/**', signers: [{name: release, key: 'k8s://signet-system/release'}]" + extra + "}"
	}
	cases := []struct {
		name, kind, spec string
		refusal          string // "" accepted
	}{
		{"minimal", "SignetClusterPolicy", "{images: [" + image("") + "]}", ""},
		{"inline key", "SignetPolicy", "{images: [{pattern: 'r.example/**', signers: [{name: a, publicKey: '" + strings.ReplaceAll(pem, "\n", "\\n") + "'}]}]}", ""},
		{"keyless", "SignetPolicy", "{images: [{pattern: 'r.example/**', signers: [{name: a, keyless: {issuer: 'https://i', subject: s}}]}]}", ""},
		{"notation inline", "SignetPolicy", "{images: [{pattern: 'r.example/**', signers: [{name: a, notation: {certificates: x, tsaCertificates: z, subject: 'CN=a,O=b,ST=c,C=US', revocation: log}}]}]}", ""},
		{"github", "SignetClusterPolicy", "{images: [{pattern: 'r.example/**', signers: [{name: a, github: {workflow: a/b/.github/workflows/c.yml, runnerEnvironment: github-hosted}}]}]}", ""},
		{"kms in a cluster policy", "SignetClusterPolicy", "{images: [{pattern: 'r.example/**', signers: [{name: a, key: 'awskms:///arn'}]}]}", ""},
		{"no images", "SignetClusterPolicy", "{images: []}", "should have at least 1 items"},
		{"empty pattern", "SignetClusterPolicy", "{images: [{pattern: ''}]}", "should be at least 1 chars long"},
		{"bad mode", "SignetClusterPolicy", "{images: [{pattern: p, mode: block}]}", `supported values: "enforce", "warn", "audit"`},
		{"bad default", "SignetClusterPolicy", "{defaultAction: permit, images: [{pattern: p}]}", `supported values: "deny", "allow"`},
		{"key file", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, key: cosign.pub}]}]}", "cannot read key files"},
		{"env key", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, key: 'env://KEY'}]}]}", "cannot read key files"},
		{"kms in a namespaced policy", "SignetPolicy", "{images: [{pattern: p, signers: [{name: a, key: 'awskms:///arn'}]}]}", "a SignetPolicy takes keys inline"},
		{"two keys", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, key: 'k8s://s', publicKey: x}]}]}", "give exactly one of key, publicKey, keyless, notation or github"},
		{"no key", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a}]}]}", "give exactly one of key, publicKey, keyless, notation or github"},
		{"key and notation", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, key: 'k8s://s', notation: {certificates: x}}]}]}", "give exactly one of key, publicKey, keyless, notation or github"},
		{"notation trust store file", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, notation: {trustStore: ca.pem}}]}]}", "cannot read certificate files of the webhook"},
		{"notation TSA file", "SignetPolicy", "{images: [{pattern: p, signers: [{name: a, notation: {certificates: x, tsa: tsa.pem}}]}]}", "put the PEM timestamp authority roots inline"},
		{"github trusted root file", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, github: {workflow: a/b/.github/workflows/c.yml, trustedRoot: r.json}}]}]}", "cannot read a trusted root file"},
		{"keyless trusted root file", "SignetPolicy", "{images: [{pattern: p, signers: [{name: a, keyless: {issuer: i, subject: s, trustedRoot: r.json}}]}]}", "cannot read a trusted root file"},
		{"github validity", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, github: {workflow: a/b/.github/workflows/c.yml}, validUntil: '2026-01-01T00:00:00Z'}]}]}", "validFrom and validUntil bound a key"},
		{"same signer twice", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, key: 'k8s://s'}, {name: a, key: 'k8s://t'}]}]}", "Duplicate value"},
		{"threshold above signers", "SignetClusterPolicy", "{images: [" + image(", threshold: 2") + "]}", "threshold must be at most the number of signers"},
		{"negative threshold", "SignetClusterPolicy", "{images: [" + image(", threshold: -1") + "]}", "should be greater than or equal to 0"},
		{"attestations without signers", "SignetClusterPolicy", "{images: [{pattern: p, attestations: [{predicateType: vuln}]}]}", "attestations need signers"},
		{"keyless subject twice", "SignetClusterPolicy", "{images: [{pattern: p, signers: [{name: a, keyless: {issuer: i, subject: s, subjectRegExp: r}}]}]}", "one of subject or subjectRegExp"},
		{"lock file", "SignetClusterPolicy", "{images: [{pattern: p, tags: {lock: signet.lock}}]}", "a lock file cannot be read"},
		{"root file", "SignetClusterPolicy", "{images: [{pattern: p, tags: {signedHeads: {required: true, root: root.json}}}]}", "should match '^sha256:"},
		{"bad maxAge", "SignetClusterPolicy", "{images: [" + image(", attestations: [{predicateType: vuln, maxAge: 7d}]") + "]}", "maxAge"},
		{"bad digest", "SignetClusterPolicy", "{images: [{pattern: p}], receipts: {gates: [{name: g, key: 'k8s://g'}], policyDigests: [abc]}}", "should match '^[0-9a-f]{64}$'"},
		{"receipts without gates", "SignetClusterPolicy", "{images: [{pattern: p}], receipts: {gates: []}}", "should have at least 1 items"},
		{"no spec", "SignetClusterPolicy", "", "spec: Required value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := map[string]any{"apiVersion": "signet.dev/v1alpha1", "kind": c.kind, "metadata": map[string]any{"name": "p"}}
			if c.spec != "" {
				var spec map[string]any
				if err := yaml.Unmarshal([]byte(c.spec), &spec); err != nil {
					t.Fatal(err)
				}
				obj["spec"] = spec
			}
			got := admit(t, readCRD(t, c.kind), obj)
			switch {
			case c.refusal == "" && got != "":
				t.Fatalf("refused: %s", got)
			case c.refusal != "" && !strings.Contains(got, c.refusal):
				t.Fatalf("want a refusal containing %q, got %q", c.refusal, got)
			}
		})
	}
}

// TestExamplesApply: the sample policies in examples/kubernetes/policy-crds pass the
// CRD's checks.
func TestExamplesApply(t *testing.T) {
	paths, _ := filepath.Glob("../../examples/kubernetes/policy-crds/samples/*.yaml")
	n := 0
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		for _, doc := range strings.Split(string(b), "\n---\n") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			kind, _ := obj["kind"].(string)
			if _, ok := files[kind]; !ok {
				continue
			}
			n++
			if got := admit(t, readCRD(t, kind), obj); got != "" {
				t.Errorf("%s: %s refused: %s", p, kind, got)
			}
		}
	}
	if n < 2 {
		t.Fatalf("want a sample SignetClusterPolicy and SignetPolicy, found %d policies", n)
	}
}
