package verify

import (
	"errors"
	"strings"
	"testing"

	"github.com/signet-dev/signet/oci"
)

// FuzzAttestationStatement: what an attestation artifact holds (an in-toto
// statement, or a raw SPDX or CycloneDX document) is refused as malformed
// or read as a statement with a subject; a raw document's statement is
// about the image and nothing else, whatever the document says.
func FuzzAttestationStatement(f *testing.F) {
	const digest = "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
	f.Add(uint8(0), []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"ab"}}],"predicateType":"x","predicate":{}}`))
	f.Add(uint8(1), []byte(`{"spdxVersion":"SPDX-2.3","creationInfo":{"created":"2026-11-30T10:00:00Z"},"packages":[]}`))
	f.Add(uint8(2), []byte(`{"bomFormat":"CycloneDX","subject":[{"digest":{"sha256":"cd"}}],"predicateType":"evil"}`))
	f.Add(uint8(1), []byte(`[1]`))
	types := []string{oci.InTotoMediaType, oci.SPDXMediaType, oci.CycloneDXMediaType}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		a := &oci.Artifact{Kind: oci.KindAttestationArtifact, MediaType: types[int(which)%len(types)], Content: data}
		_ = attestationPredicateType(a)
		st, err := attestationStatement(a, digest)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not classified as malformed: %v", err)
			}
			return
		}
		if len(st.Subject) == 0 {
			t.Fatal("a statement without a subject")
		}
		if pt, raw := documentPredicateTypes[a.MediaType]; raw {
			if _, signed := st.subjectFor(digest); signed != digest || len(st.Subject) != 1 || st.PredicateType != pt {
				t.Fatalf("raw document's statement: subjects %+v, predicate type %q", st.Subject, st.PredicateType)
			}
			if !strings.Contains(string(st.raw), `"predicate":`) {
				t.Fatal("no predicate")
			}
		}
	})
}
