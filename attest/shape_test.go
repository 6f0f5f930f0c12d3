package attest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/attest"
)

// shapeMisses returns the first path in v that shape says cannot be there,
// or "" when the shape admits every field of v.
func shapeMisses(s *attest.Shape, v any, path string) string {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			f, ok := s.Field(k)
			if !ok {
				return path + "." + k
			}
			if miss := shapeMisses(f, child, path+"."+k); miss != "" {
				return miss
			}
		}
	case []any:
		if s.Kind() != attest.ShapeList && s.Kind() != attest.ShapeAny {
			return path + " (a list)"
		}
		for i, e := range v {
			if miss := shapeMisses(s.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); miss != "" {
				return miss
			}
		}
	}
	return ""
}

// TestShapesAdmitRealPredicates: every field of the sample predicates is
// one their type's shape has, so no condition over a real field is refused.
func TestShapesAdmitRealPredicates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ typ, file string }{
		{"cyclonedx", "sbom.cdx.json"},
		{"spdxjson", "sbom.spdx.json"},
		{"spdx", "sbom.spdx"},
		{"vuln", "trivy.json"},
		{"vuln", "grype.json"},
		{"slsaprovenance1", "provenance-v1.json"},
		{"slsaprovenance", "provenance-v02.json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			pt, kind, _ := attest.ResolveType(tc.typ)
			p, err := attest.BuildPredicate(kind, read(t, tc.file), now)
			if err != nil {
				t.Fatal(err)
			}
			known, ok := attest.PredicateShape(pt)
			if !ok {
				t.Fatalf("no shape for %s", pt)
			}
			var v any
			if err := json.Unmarshal(p, &v); err != nil {
				t.Fatal(err)
			}
			if miss := shapeMisses(known.Shape, v, "predicate"); miss != "" {
				t.Fatalf("%s has %s, which its shape says it cannot have", tc.file, miss)
			}
		})
	}
	if _, ok := attest.PredicateShape(attest.PredicateCustom); ok {
		t.Fatal("cosign's custom predicate has a shape: conditions over it would be checked")
	}
}

// TestResolveTypeSuggests: a misspelt --type gets the name it most likely
// meant; a word like none gets the list alone.
func TestResolveTypeSuggests(t *testing.T) {
	t.Parallel()
	if _, _, err := attest.ResolveType("cyclonedex"); err == nil || !strings.HasSuffix(err.Error(), "; did you mean cyclonedx?") {
		t.Fatalf("cyclonedex: %v", err)
	}
	if _, _, err := attest.ResolveType("banana"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("banana: %v", err)
	}
}
