package attest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/signet-dev/signet/attest"
)

// FuzzBuildPredicate: every kind either accepts a predicate (a JSON object)
// or refuses with ErrInvalidPredicate.
func FuzzBuildPredicate(f *testing.F) {
	for _, n := range []string{"sbom.cdx.json", "sbom.spdx.json", "trivy.json", "grype.json", "provenance-v1.json", "openvex.json"} {
		f.Add(read(f, n))
	}
	kinds := []string{"spdx", "spdxjson", "cyclonedx", "vuln", "slsaprovenance1", "slsaprovenance", "openvex", "uri"}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range kinds {
			p, err := attest.BuildPredicate(k, data, time.Unix(0, 0))
			if err != nil {
				if !errors.Is(err, attest.ErrInvalidPredicate) {
					t.Fatalf("%s: unclassified error %v", k, err)
				}
				continue
			}
			if len(p) == 0 || p[0] != '{' {
				t.Fatalf("%s: accepted a predicate that is not an object: %q", k, p)
			}
		}
	})
}

func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"aa"}}],"predicateType":"x","predicate":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := attest.ParseStatement(data)
		if err == nil && (len(st.Subject) == 0 || st.PredicateType == "") {
			t.Fatal("accepted a statement without subject or predicate type")
		}
	})
}
