package migrate

import (
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/policy"
)

func conditions(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	return n.Content[0]
}

func TestSuggestCEL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, conds, want string
	}{
		{"equals", `[{all: [{key: "{{ buildDefinition.buildType }}", operator: Equals, value: "https://example.com/t"}]}]`,
			`predicate["buildDefinition"]["buildType"] == "https://example.com/t"`},
		{"not equals and a boolean", `[{all: [{key: "{{ a }}", operator: NotEquals, value: "x"}, {key: "{{ b.c }}", operator: equal, value: true}]}]`,
			`predicate["a"] != "x" && predicate["b"]["c"] == true`},
		{"any and all, two blocks", `[{any: [{key: "{{ a }}", operator: Equals, value: x}, {key: "{{ a }}", operator: Equals, value: y}], all: [{key: "{{ b }}", operator: Equals, value: z}]}, {all: [{key: "{{ c }}", operator: Equals, value: w}]}]`,
			`(predicate["a"] == "x" || predicate["a"] == "y") && predicate["b"] == "z" && predicate["c"] == "w"`},
		{"a function", `[{all: [{key: "{{ regex_match('^a', '{{ builder.id }}') }}", operator: Equals, value: true}]}]`, ""},
		{"AnyIn", `[{all: [{key: "{{ reviewers }}", operator: AnyIn, value: [a, b]}]}]`, ""},
		{"a number", `[{all: [{key: "{{ a }}", operator: Equals, value: "1Gi"}]}]`, ""},
		{"a wildcard", `[{all: [{key: "{{ a }}", operator: Equals, value: "main*"}]}]`, ""},
		{"Kyverno's own variable", `[{all: [{key: "{{ request.namespace }}", operator: Equals, value: prod}]}]`, ""},
		{"the attestation's name", `[{all: [{key: "{{ review.x }}", operator: Equals, value: prod}]}]`, ""},
		{"text around the path", `[{all: [{key: "{{ a }}-x", operator: Equals, value: prod}]}]`, ""},
		{"not a list", `{all: []}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := suggestCEL(conditions(t, tc.conds), "review")
			if got != tc.want {
				t.Fatalf("suggestion %q (%s), want %q", got, why, tc.want)
			}
			if got == "" && why == "" {
				t.Fatal("no suggestion and no reason")
			}
			if got != "" {
				if _, err := policy.CompileCondition(got); err != nil {
					t.Errorf("the suggestion does not compile: %v", err)
				}
			}
		})
	}
}

// TestSuggestionAgreesWithKyverno evaluates a suggestion on statements
// where Kyverno's answer is known (text compared exactly when it is
// neither a wildcard, a number, a duration nor a quantity).
func TestSuggestionAgreesWithKyverno(t *testing.T) {
	t.Parallel()
	cel, _ := suggestCEL(conditions(t, `[{all: [{key: "{{ repo.branch }}", operator: Equals, value: main}, {key: "{{ signed }}", operator: NotEquals, value: false}]}]`), "")
	c, err := policy.CompileCondition(cel)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		predicate string
		kyverno   bool
	}{
		{`{"repo": {"branch": "main"}, "signed": true}`, true},
		{`{"repo": {"branch": "dev"}, "signed": true}`, false},
		{`{"repo": {"branch": "main"}, "signed": false}`, false},
		{`{"repo": {"branch": "main"}, "signed": "true"}`, true}, // Kyverno: "true" is not false
		{`{"repo": {"branch": 5}, "signed": true}`, false},
	} {
		err := c.Eval([]byte(`{"predicateType": "x", "predicate": ` + tc.predicate + `}`))
		if got := err == nil; got != tc.kyverno {
			t.Errorf("%s: CEL says %v (%v), Kyverno %v", tc.predicate, got, err, tc.kyverno)
		}
	}
	// A missing field: Kyverno fails the condition with an error, CEL refuses.
	if err := c.Eval([]byte(`{"predicate": {}}`)); !errors.Is(err, policy.ErrConditionInvalid) {
		t.Errorf("a missing field: %v, want a refusal", err)
	}
}

// TestWorkedExample keeps docs/migrating.md honest: the condition it
// writes by hand for Kyverno's code-review example compiles and decides
// as the example says.
func TestWorkedExample(t *testing.T) {
	t.Parallel()
	c, err := policy.CompileConditionFor("https://example.com/CodeReview/v1", `predicate.repo.uri == "https://git-repo.com/org/app" &&
predicate.repo.branch == "main" &&
predicate.reviewers.exists(r, r in ["ana@example.com", "bob@example.com"])`)
	if err != nil {
		t.Fatal(err)
	}
	for predicate, want := range map[string]bool{
		`{"repo": {"uri": "https://git-repo.com/org/app", "branch": "main"}, "reviewers": ["bob@example.com"]}`:   true,
		`{"repo": {"uri": "https://git-repo.com/org/app", "branch": "main"}, "reviewers": ["eve@example.com"]}`:   false,
		`{"repo": {"uri": "https://git-repo.com/org/app", "branch": "dev"}, "reviewers": ["bob@example.com"]}`:    false,
		`{"repo": {"uri": "https://git-repo.com/org/other", "branch": "main"}, "reviewers": ["ana@example.com"]}`: false,
	} {
		if got := c.Eval([]byte(`{"predicate": `+predicate+`}`)) == nil; got != want {
			t.Errorf("%s: %v, want %v", predicate, got, want)
		}
	}
}
