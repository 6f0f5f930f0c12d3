package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
)

// TestConditionFields: a condition over a predicate type of known shape is
// refused at compile time when it selects a field the predicate cannot
// have, with the field most likely meant; a condition that reads real
// fields, or a type whose shape is not known, compiles.
func TestConditionFields(t *testing.T) {
	t.Parallel()
	const (
		vuln   = attest.PredicateVuln
		cdx    = attest.PredicateCycloneDX
		spdx   = attest.PredicateSPDX
		slsa1  = attest.PredicateSLSA1
		slsa02 = attest.PredicateSLSA02
	)
	valid := []struct{ pt, expr string }{
		{vuln, `predicate.scanner.result.summary.fixable.critical == 0`},
		{vuln, `predicate.scanner.result.summary.critical + predicate.scanner.result.summary.high < 5`},
		{vuln, `predicate.scanner.result.Results.size() > 0`}, // the result is free in cosign's spec
		{vuln, `predicate.scanner.result.vulnerabilities.all(v, v.severity != "CRITICAL" || v.cvss < 9.0)`},
		{vuln, `predicate.invocation["builder.id"] == "x" && has(predicate.metadata.scanFinishedOn)`},
		{vuln, `statement.predicate.scanner.uri != "" && subject[0].digest.sha256 != "" && predicateType != ""`},
		{cdx, `size(predicate.components) > 0 && predicate.components[0].name == "openssl"`},
		{cdx, `predicate.components.all(c, has(c.licenses) && c.licenses.all(l, has(l.expression) || l.license.id != ""))`},
		{cdx, `predicate.components.exists(c, c["bom-ref"] == "x")`},
		{cdx, `predicate.metadata.tools.exists(t, t.name == "syft")`}, // an object in 1.5+, a list before
		{cdx, `predicate.components.filter(c, c.type == "library").map(c, c.name).exists(n, n == "zlib")`},
		{cdx, `predicate["citations"] != null`}, // a field newer than Signet knows, read by index
		{cdx, `predicate.components.exists(predicate, predicate.name == "x")`},
		{spdx, `predicate.packages.all(p, p.licenseConcluded != "NOASSERTION")`},
		{spdx, `predicate.creationInfo.creators.exists(c, c.startsWith("Tool:"))`},
		{slsa1, `predicate.runDetails.builder.id.startsWith("https://github.com/")`},
		{slsa1, `predicate.buildDefinition.externalParameters.workflow.ref == "refs/heads/main"`},
		{slsa1, `predicate.buildDefinition.resolvedDependencies.exists(d, d.digest.gitCommit == "abc")`},
		{slsa02, `predicate.builder.id == "x" && predicate.materials.exists(m, m.digest.sha1 != "")`},
		{"https://example.com/review/v1", `predicate.anything.goes == 1`},
		{"", `predicate.anything.goes == 1`},
	}
	for _, tc := range valid {
		t.Run("valid/"+tc.expr, func(t *testing.T) {
			if _, err := policy.CompileConditionFor(tc.pt, tc.expr); err != nil {
				t.Fatalf("a condition over real fields was refused: %v", err)
			}
		})
	}
	refused := []struct{ pt, expr, want string }{
		{vuln, `predicate.scanner.reslt.summary.critical == 0`,
			`refers to predicate.scanner.reslt, which a vuln predicate does not have; did you mean predicate.scanner.result?`},
		{vuln, `predicate.scanner.result.summary.fixable.critcal == 0`, `did you mean predicate.scanner.result.summary.fixable.critical?`},
		{vuln, `has(predicate.scanner.reslt)`, `did you mean predicate.scanner.result?`},
		{vuln, `predicate.scanner.zzz == 1`,
			`predicate.scanner.zzz, which a vuln predicate does not have (it has db, result, uri, version; a field Signet does not know can be read as predicate.scanner["zzz"])`},
		{cdx, `predicate.componets.size() > 0`, `did you mean predicate.components?`},
		{cdx, `predicate.components.exists(c, c.nme == "x")`,
			`refers to c.nme (where c is an item of predicate.components), which a CycloneDX BOM does not have; did you mean c.name?`},
		{cdx, `predicate.components.exists(c, c.licenses.exists(l, l.lisence.id == "MIT"))`,
			`l.lisence (where l is an item of c.licenses), which a CycloneDX BOM does not have; did you mean l.license?`},
		{cdx, `predicate.components.name == "x"`, `predicate.components is a list, which has no fields; its items do: write predicate.components.exists(x, x.name ...) to test them`},
		{cdx, `predicate.components[0].nmae == "x"`, `did you mean predicate.components[0].name?`},
		{cdx, `predicate.specVersion.major == 1`, `predicate.specVersion is a single value`},
		{cdx, `statement.predicate.componets.size() > 0`, `did you mean statement.predicate.components?`},
		{spdx, `predicate.packages.all(p, p.licenceConcluded != "")`, `did you mean p.licenseConcluded?`},
		{slsa1, `predicate.runDetails.buidler.id != ""`, `which SLSA provenance v1 does not have; did you mean predicate.runDetails.builder?`},
		{slsa02, `predicate.buildtype == "x"`, `which SLSA provenance v0.2 does not have; did you mean predicate.buildType?`},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.expr, func(t *testing.T) {
			_, err := policy.CompileConditionFor(tc.pt, tc.expr)
			var fe *policy.ConditionFieldError
			if !errors.Is(err, policy.ErrConditionInvalid) || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant a ConditionFieldError saying %q", err, tc.want)
			}
		})
	}
	// Without a predicate type, nothing is checked (and so the typo passes).
	if _, err := policy.CompileCondition(`predicate.scanner.reslt.summary.critical == 0`); err != nil {
		t.Fatalf("CompileCondition checked fields: %v", err)
	}
}

// TestPolicyConditionFieldsAtLoad: a policy whose attestation condition
// misspells a field of its predicate type does not load.
func TestPolicyConditionFieldsAtLoad(t *testing.T) {
	t.Parallel()
	_, err := compile(t, header+`images:
  - pattern: a/**
    signers: [{name: a, key: release.pub}]
    attestations:
      - predicateType: vuln
        condition: "predicate.scanner.reslt.summary.critical == 0"
`)
	if !errors.Is(err, policy.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	for _, w := range []string{"line 8", "images[0].attestations[0].condition", "did you mean predicate.scanner.result?"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}

// FuzzCompileConditionFor: any text either compiles or is refused as
// ErrConditionInvalid, for every predicate type whose shape is known.
func FuzzCompileConditionFor(f *testing.F) {
	for _, s := range []string{`predicate.scanner.result.summary.critical == 0`, `predicate.components.exists(c, c.nme == "x")`,
		`predicate["a"][0].b.all(x, y, x > 0)`, `statement.predicate.builder.id == ""`, `[predicate.x, {"k": predicate.y}].size() > 0`} {
		f.Add(s)
	}
	types := []string{attest.PredicateVuln, attest.PredicateCycloneDX, attest.PredicateSPDX, attest.PredicateSLSA1, attest.PredicateSLSA02}
	f.Fuzz(func(t *testing.T, expr string) {
		for _, pt := range types {
			if _, err := policy.CompileConditionFor(pt, expr); err != nil && !errors.Is(err, policy.ErrConditionInvalid) {
				t.Fatalf("%s: unclassified error %v", pt, err)
			}
		}
	})
}
