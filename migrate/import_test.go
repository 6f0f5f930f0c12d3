package migrate_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/migrate"
	"github.com/signet-dev/signet/policy"
)

const keyA = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
-----END PUBLIC KEY-----`

const keyB = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIcbqK2RAVZOfPzo+kbOhNYq8DK9f
B2BGbU7jAXEvYthJ3vRcYq8l7g9UAXXiz9P2awFuTa4COcZU2IdEDVU0uA==
-----END PUBLIC KEY-----`

func indent(s, by string) string { return by + strings.ReplaceAll(s, "\n", "\n"+by) }

func kyvernoPolicy(name, ref, extra string) string {
	return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: ` + name + `}
spec:
  validationFailureAction: Enforce
  rules:
    - name: ` + name + `
      verifyImages:
        - imageReferences: ["` + ref + `"]` + extra + `
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
` + indent(keyA, "                      ") + "\n"
}

func cip(name, glob, key string) string {
	return `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: ` + name + `}
spec:
  images: [{glob: "` + glob + `"}]
  authorities:
    - name: ` + name + `
      key:
        data: |
` + indent(key, "          ") + "\n"
}

func importOne(t *testing.T, docs ...string) *migrate.Result {
	t.Helper()
	var files []migrate.File
	for i, d := range docs {
		files = append(files, migrate.File{Name: "in" + string(rune('0'+i)) + ".yaml", Data: []byte(d)})
	}
	res, err := migrate.Import(files)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func compiled(t *testing.T, res *migrate.Result) *policy.Compiled {
	t.Helper()
	doc, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	c, err := policy.Compile(doc, t.TempDir(), keys.Loader{})
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return c
}

func TestImportErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc string
		want      error
		finding   string // a finding that says why ("" for none)
	}{
		{"not YAML", "{{{", migrate.ErrInvalid, ""},
		{"no policy", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", migrate.ErrNoPolicies, "not an image verification policy"},
		{"no verifyImages", "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: x}\nspec:\n  rules:\n    - name: r\n      validate: {message: m}\n", migrate.ErrNoPolicies, "verifies no images"},
		{"another Kyverno kind", "apiVersion: policies.kyverno.io/v1alpha1\nkind: ImageValidatingPolicy\nmetadata: {name: x}\n", migrate.ErrNoPolicies, "not a kind the importer translates"},
		{"a policy policy-controller refuses", "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: x}\nspec:\n  images: [{glob: '**'}]\n", migrate.ErrNoPolicies, "policy-controller refuses this policy (it has no authorities)"},
		{"empty", "", migrate.ErrNoPolicies, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := migrate.Import([]migrate.File{{Name: "x.yaml", Data: []byte(tc.doc)}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.finding == "" {
				return
			}
			if res == nil || !strings.Contains(res.Report(), tc.finding) {
				t.Errorf("the report does not say %q:\n%v", tc.finding, res)
			}
		})
	}
}

// TestImportListsAndDocuments reads several documents in a file and the
// items of a List, and writes one rule for each.
func TestImportListsAndDocuments(t *testing.T) {
	t.Parallel()
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{yamlValue(t, cip("one", "quay.io/one/**", keyA)), yamlValue(t, cip("two", "quay.io/two/**", keyB))}}
	b, err := yaml.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	res := importOne(t, string(b)+"---\n"+kyvernoPolicy("three", "ghcr.io/three/*", ""))
	var got []string
	for _, r := range res.Policy.Images {
		got = append(got, r.Pattern)
	}
	if strings.Join(got, " ") != "quay.io/one/** quay.io/two/** ghcr.io/three/**" {
		t.Errorf("patterns %v", got)
	}
	compiled(t, res)
}

func yamlValue(t *testing.T, doc string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOverlapCarries: where two rules overlap, the one Signet applies to
// the images both match carries the other's requirements (the originals
// apply both); the other rule is left as it was.
func TestOverlapCarries(t *testing.T) {
	t.Parallel()
	res := importOne(t, kyvernoPolicy("general", "ghcr.io/*", ""), cip("specific", "ghcr.io/org/**", keyB))
	c := compiled(t, res)
	for ref, want := range map[string]int{"ghcr.io/org/app:v1": 2, "ghcr.io/other/app:v1": 1} {
		r, err := c.Match(ref)
		if err != nil || r == nil {
			t.Fatalf("%s: %v %v", ref, r, err)
		}
		if len(r.Signers) != want || r.Threshold != want {
			t.Errorf("%s: rule %s needs %d of %d signers, want %d of %d", ref, r.Pattern, r.Threshold, len(r.Signers), want, want)
		}
	}
	if !strings.Contains(res.Report(), "also carries the requirements of ClusterPolicy general") {
		t.Errorf("the report does not say the specific rule carries the general one:\n%s", res.Report())
	}
}

// TestSamePatternMerges: rules with the same pattern become one rule that
// asks for both.
func TestSamePatternMerges(t *testing.T) {
	t.Parallel()
	res := importOne(t, cip("one", "ghcr.io/org/**", keyA), cip("two", "ghcr.io/org/**", keyB))
	if n := len(res.Policy.Images); n != 1 {
		t.Fatalf("%d rules, want 1", n)
	}
	r := compiled(t, res).Rules[0]
	if len(r.Signers) != 2 || r.Threshold != 2 {
		t.Errorf("%d of %d signers, want 2 of 2", r.Threshold, len(r.Signers))
	}
}

// TestUnknownFieldRefuses: a field the importer does not know, in a
// verifyImages entry, may restrict what is admitted: the rule refuses
// every image until a person looks. Elsewhere it is a note.
func TestUnknownFieldRefuses(t *testing.T) {
	t.Parallel()
	res := importOne(t, kyvernoPolicy("p", "ghcr.io/*", "\n          newRestriction: yes")+"  newSpecField: 1\n")
	if res.Complete() {
		t.Fatal("the import is complete despite an unknown field in verifyImages")
	}
	r := res.Policy.Images[0]
	last := r.Attestations[len(r.Attestations)-1]
	if last.Condition != "false" {
		t.Errorf("no refusing placeholder: %+v", r.Attestations)
	}
	var spec *migrate.Finding
	for i, f := range res.Findings {
		if strings.Contains(f.Field, "newSpecField") {
			spec = &res.Findings[i]
		}
	}
	if spec == nil || spec.Severity != migrate.Note {
		t.Errorf("the unknown spec field: %+v, want a note", spec)
	}
	// A field of the rule, beside its verifyImages, may restrict it too.
	doc := strings.Replace(kyvernoPolicy("p", "ghcr.io/*", ""), "      verifyImages:", "      newRuleRestriction: yes\n      verifyImages:", 1)
	if res := importOne(t, doc); res.Complete() {
		t.Errorf("the import is complete despite an unknown field in a verifyImages rule:\n%s", res.Report())
	}
}

// TestEveryRuleAccountedFor: every verifyImages entry and every
// ClusterImagePolicy of the fixtures either became a rule (its comment
// names it) or has a finding that says why not.
func TestEveryRuleAccountedFor(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/kyverno/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("testdata/policy-controller/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, more...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		res, err := migrate.Import([]migrate.File{{Name: f, Data: b}})
		if err != nil && !errors.Is(err, migrate.ErrNoPolicies) {
			t.Fatal(err)
		}
		named := doc.Kind + " " + doc.Metadata.Name
		if res.Policy != nil {
			out, err := res.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), "from "+named) {
				continue
			}
		}
		accounted := false
		for _, fd := range res.Findings {
			accounted = accounted || fd.Policy == doc.Metadata.Name && fd.Severity == migrate.Untranslated
		}
		if !accounted {
			t.Errorf("%s: %s became no rule, and no Untranslated finding says why", f, named)
		}
	}
}

// TestAuthoritiesAnyOf: policy-controller passes an image that one
// authority passes: one of the authorities' signers is enough.
func TestAuthoritiesAnyOf(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(cip("either", "quay.io/**", keyA), "  authorities:\n", "  authorities:\n    - name: other\n      key:\n        data: |\n"+indent(keyB, "          ")+"\n", 1)
	res := importOne(t, doc)
	r := compiled(t, res).Rules[0]
	if len(r.Signers) != 2 || r.Threshold != 1 {
		t.Errorf("%d of %d signers, want 1 of 2", r.Threshold, len(r.Signers))
	}
	if res.Count(migrate.Stricter) != 0 || !res.Complete() {
		t.Errorf("any-of authorities are exact, yet:\n%s", res.Report())
	}
}

// TestDuplicateAttestorKeepsThreshold: the same key in two attestors of a
// set counts twice in Kyverno ("2 of keyA, keyA, keyB" passes with keyA
// alone, never with keyB alone); the import must not admit keyB alone.
func TestDuplicateAttestorKeepsThreshold(t *testing.T) {
	t.Parallel()
	entry := func(key string) string {
		return "                - keys:\n                    publicKeys: |-\n" + indent(key, "                      ") + "\n"
	}
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: dup}
spec:
  validationFailureAction: Enforce
  rules:
    - name: dup
      verifyImages:
        - imageReferences: ["ghcr.io/org/*"]
          attestors:
            - count: 2
              entries:
` + entry(keyA) + entry(keyA) + entry(keyB)
	res := importOne(t, doc)
	r, err := compiled(t, res).Match("ghcr.io/org/app:v1")
	if err != nil || r == nil {
		t.Fatalf("%v %v", r, err)
	}
	if len(r.Signers) != 2 || r.Threshold != 2 {
		t.Errorf("%d of %d signers: keyB alone would pass, which Kyverno refuses; want 2 of 2", r.Threshold, len(r.Signers))
	}
	if !strings.Contains(res.Report(), "name the same signer") {
		t.Errorf("the report does not say the rule is stricter:\n%s", res.Report())
	}
}

// TestRegexImageNotDropped: a ClusterImagePolicy selecting its images by
// regex cannot be written as a pattern; dropping it would leave the images
// it covers to the other policies alone (policy-controller applies both),
// so with --allow-partial the import admitted ghcr.io/org images signed
// by keyB only. Its requirements must still apply to them.
func TestRegexImageNotDropped(t *testing.T) {
	t.Parallel()
	regex := strings.Replace(cip("strict", "x", keyA), `images: [{glob: "x"}]`, `images: [{regex: "ghcr.io/org/.*"}]`, 1)
	res := importOne(t, regex, cip("general", "ghcr.io/**", keyB))
	r, err := compiled(t, res).Match("ghcr.io/org/app:v1")
	if err != nil || r == nil {
		t.Fatalf("%v %v", r, err)
	}
	if len(r.Signers) != 2 || r.Threshold != 2 {
		t.Errorf("rule %s needs %d of %d signers; policy-controller needs keyA (strict) and keyB (general): want 2 of 2", r.Pattern, r.Threshold, len(r.Signers))
	}
	if res.Count(migrate.Untranslated) == 0 {
		t.Errorf("the regex is not reported as untranslated:\n%s", res.Report())
	}
	// policy-controller denies what no policy matches: the regex must not
	// become a rule admitting images the other policies do not name.
	if r, err := compiled(t, res).Match("quay.io/other/app:v1"); err != nil || r != nil {
		t.Errorf("quay.io/other/app:v1 matches rule %v (%v); want none (denied, as policy-controller denies it)", r, err)
	}
}

// TestUnsafeWildcardPatternCoversEveryImage: Kyverno reads nginx:1 as
// docker.io/nginx:1, so "*docker.io/nginx*" applies to it; Signet's
// docker.io/library/nginx:1 does not match the pattern as written. Left at
// that, with --allow-partial nginx:1 met only the other rule (keyB): the
// rule's requirements must cover every image until a person checks it.
func TestUnsafeWildcardPatternCoversEveryImage(t *testing.T) {
	t.Parallel()
	res := importOne(t, kyvernoPolicy("nginx", "*docker.io/nginx*", ""), cip("all", "**", keyB))
	r, err := compiled(t, res).Match("docker.io/library/nginx:1")
	if err != nil || r == nil {
		t.Fatalf("%v %v", r, err)
	}
	if len(r.Signers) != 2 || r.Threshold != 2 {
		t.Errorf("rule %s needs %d of %d signers; Kyverno and policy-controller together need keyA and keyB: want 2 of 2", r.Pattern, r.Threshold, len(r.Signers))
	}
	if res.Count(migrate.Untranslated) == 0 {
		t.Errorf("the pattern is not reported as untranslated:\n%s", res.Report())
	}
}
