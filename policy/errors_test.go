package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

// fieldErrors compiles doc and returns its problems, one string each; it
// fails the test unless the document is refused as ErrInvalid with Errors.
func fieldErrors(t *testing.T, doc string) []string {
	t.Helper()
	_, err := compile(t, doc)
	if !errors.Is(err, policy.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	var es policy.Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %T %v, want policy.Errors (each problem with its field and line)", err, err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

// TestUnknownFieldsNameFieldLineAndSuggestion: a misspelt field is named
// with its line, its place in the document and the nearest valid field,
// never with Go type names; every unknown field is reported, not the first.
func TestUnknownFieldsNameFieldLineAndSuggestion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"the issue's typo", header + `images:
  - pattern: "127.0.0.1:5077/**"
    transparencyLogs: required
    signers: [{name: release, key: release.pub}]
`, []string{"line 5: images[0]: unknown field transparencyLogs; did you mean transparencyLog?"}},
		{"every unknown field, in document order", header + `metdata: {name: x}
images:
  - pattern: a/**
    signerz: [{name: a, key: release.pub}]
  - pattern: b/**
    signers: [{name: a, keyy: release.pub}]
    tags: {digest_required: true, colour: red}
`, []string{
			"line 3: unknown field metdata; did you mean metadata?",
			"line 6: images[0]: unknown field signerz; did you mean signers?",
			"line 8: images[1].signers[0]: unknown field keyy; did you mean key?",
			"line 9: images[1].tags: unknown field digest_required; did you mean digestRequired?",
			"line 9: images[1].tags: unknown field colour (the fields here are allowedTags, digestRequired, lock, signedHeads)",
		}},
		{"wrong case", header + `images:
  - Pattern: a/**
`, []string{"line 4: images[0]: unknown field Pattern; did you mean pattern?"}},
		{"deep in keyless", header + `images:
  - pattern: a/**
    signers:
      - name: ci
        keyless:
          issuer: https://token.actions.githubusercontent.com
          subject: x
          github: {workflowRepo: team/app}
`, []string{"line 10: images[0].signers[0].keyless.github: unknown field workflowRepo; did you mean workflowRepository?"}},
		{"JSON document", `{"apiVersion": "signet.dev/v1alpha1", "kind": "Policy",
 "images": [{"pattern": "a/**", "treshold": 1}]}`, []string{"line 2: images[0]: unknown field treshold; did you mean threshold?"}},
		{"anchors and merge keys are followed", header + `base: &b {pattern: a/**, mod: warn}
images:
  - <<: *b
    signers: [{name: a, key: release.pub}]
`, []string{"line 3: unknown field base (the fields here are apiVersion, defaultAction, images, kind, metadata, mirrors, recalls, receipts)", "line 3: images[0]: unknown field mod; did you mean mode?"}},
		{"a value of the wrong kind", header + `images:
  - pattern: a/**
    threshold: two
    signers: {name: a, key: release.pub}
    tags: {digestRequired: sometimes}
`, []string{
			`line 5: images[0].threshold: must be a whole number, not "two"`,
			"line 6: images[0].signers: must be a list, not a mapping",
			`line 7: images[0].tags.digestRequired: must be true or false, not "sometimes"`,
		}},
		{"a field given twice", header + `images:
  - pattern: a/**
    signers: [{name: a, key: release.pub}]
    pattern: b/**
`, []string{"line 6: images[0]: pattern is given twice (first on line 4); keep one"}},
		{"images not a list", header + "images: registry.example.com/**\n", []string{`line 3: images: must be a list, not "registry.example.com/**"`}},
		{"document not a mapping", "- a\n- b\n", []string{"line 1: the policy must be a mapping of fields (apiVersion: ..., kind: Policy, images: ...), not a list"}},
		{"empty document", "", []string{"the policy document is empty: it needs apiVersion: signet.dev/v1alpha1, kind: Policy and images"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := fieldErrors(t, tc.doc)
			for _, g := range got {
				if strings.Contains(g, "policy.") || strings.Contains(g, "!!") || strings.Contains(g, "unmarshal") {
					t.Errorf("problem %q shows Go or YAML internals", g)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestMissingKeyFileDoesNotCascade: a signer whose key fails to load is
// still a named signer; the one problem is the key, not every attestation
// and threshold that names the signer.
func TestMissingKeyFileDoesNotCascade(t *testing.T) {
	t.Parallel()
	got := fieldErrors(t, header+`images:
  - pattern: a/**
    threshold: 2
    signers:
      - {name: release, key: release.pub}
      - {name: qa, key: missing.pub}
    attestations:
      - {predicateType: vuln, signers: [qa]}
      - {predicateType: cyclonedx, signers: [release, qa, nobody]}
receipts:
  gates: [{name: gate, publicKey: "not a PEM key"}, {name: gate, key: release.pub}]
`)
	want := []string{
		"line 8: images[0].signers[1].key:",
		`line 11: images[0].attestations[1].signers[2]: no signer named "nobody" in this rule`,
		"line 13: receipts.gates[0].publicKey:",
		`line 13: receipts.gates[1].name: gate "gate" is defined twice`,
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n  %s\nwant %d, starting:\n  %s", strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d is %q, want it to start %q", i, got[i], want[i])
		}
	}
	if !strings.Contains(got[0], "missing.pub") {
		t.Errorf("the key problem %q does not name the file", got[0])
	}
}

// TestErrorsOnePerLine: several problems print one per line under a
// heading that counts them; one problem stays on one line.
func TestErrorsOnePerLine(t *testing.T) {
	t.Parallel()
	_, err := compile(t, "apiVersion: v2\nkind: Policy\nimages:\n  - pattern: a/**\n    mode: strict\n")
	want := `invalid policy (2 problems):
  line 1: apiVersion: must be "signet.dev/v1alpha1", not "v2"
  line 5: images[0].mode: must be enforce, warn or audit, not "strict"`
	if err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
	_, err = compile(t, header+"images:\n  - pattern: a/**\n    mode: strict\n")
	want = `invalid policy: line 5: images[0].mode: must be enforce, warn or audit, not "strict"`
	if err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
}

// TestPatternsThatCannotMatchAreRefused: a pattern no image reference can
// ever meet is refused at load with the reason, never accepted as a rule
// that silently applies to nothing.
func TestPatternsThatCannotMatchAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, pattern, want string }{
		{"https scheme", "https://registry.example.com/team/**", `"https://" is a URL scheme; image references have none: write registry.example.com/team/**`},
		{"oci scheme after a wildcard", "*://registry.example.com/**", `"*://" is a URL scheme; image references have none: write registry.example.com/**`},
		{"scheme and upper case", "http://127.0.0.1:5091/Team/**", `"http://" is a URL scheme; image references have none, and are lower case up to the tag: write 127.0.0.1:5091/team/**`},
		{"three stars", "registry.example.com/***", `"***" is not a wildcard: write * (within one path segment) or ** (across segments)`},
		{"leading space", " registry.example.com/**", "has a space at position 1; image references never contain white space"},
		{"tab inside", "registry.example.com/team\t/**", `has a tab at position 26`},
		{"upper-case repository", "registry.example.com/Team/App:*", `the repository path "Team/App" has upper-case letters, but image references are lower case up to the tag: write registry.example.com/team/app:*`},
		{"upper-case after a leading wildcard", "**/Team/*", `upper-case letters`},
		{"upper-case digest", "registry.example.com/team/app@sha256:ABC*", "digests are lower-case hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := fieldErrors(t, header+"images:\n  - pattern: \""+strings.ReplaceAll(tc.pattern, "\t", `\t`)+"\"\n    signers: [{name: a, key: release.pub}]\n")
			if len(got) != 1 || !strings.HasPrefix(got[0], "line 4: images[0].pattern: ") || !strings.Contains(got[0], tc.want) {
				t.Fatalf("problems %q; want one at line 4: images[0].pattern containing %q", got, tc.want)
			}
		})
	}
	for _, ok := range []string{
		"registry.example.com/team/app:V1-RC",
		"REGISTRY.EXAMPLE.COM:443/team/**",
		"registry.example.com/team/app:*",
		"registry.example.com/team/[a-z]*",
		"**",
		"nginx:Latest",
		"registry-*.Example.com/team/**",
	} {
		if _, err := compile(t, header+"images:\n  - pattern: \""+ok+"\"\n    signers: [{name: a, key: release.pub}]\n"); err != nil {
			t.Errorf("pattern %q refused: %v", ok, err)
		}
	}
}

// TestUnknownFieldWithOtherProblems: a document with a misspelt field and
// other problems lists them all in one run, by line, without the misspelt
// field's own absence said twice; a problem beside a misspelt field (the
// apiVersion beside defaultActon) is kept.
func TestUnknownFieldWithOtherProblems(t *testing.T) {
	t.Parallel()
	got := fieldErrors(t, `apiVersion: signet.dev/v1
kind: Policy
defaultActon: deny
images:
  - pattern: "http://127.0.0.1:5091/Team/**"
    threshold: 3
    signers: [{name: a, key: release.pub}]
  - pattern: b/**
    signers: [{name: b, keyy: release.pub}]
`)
	want := []string{
		`line 1: apiVersion: must be "signet.dev/v1alpha1", not "signet.dev/v1"`,
		"line 3: unknown field defaultActon; did you mean defaultAction?",
		`line 5: images[0].pattern: the pattern can never match an image reference: "http://" is a URL scheme; image references have none, and are lower case up to the tag: write 127.0.0.1:5091/team/**`,
		"line 6: images[0].threshold: must be between 0 (attestations only) and 1, the number of signers listed",
		"line 9: images[1].signers[0]: unknown field keyy; did you mean key?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
