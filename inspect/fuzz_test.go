package inspect

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/signet-dev/signet/oci"
)

// FuzzArtifact: whatever a registry serves as a bundle, a simple-signing
// payload or a DSSE envelope, reading it never panics, and what cannot be
// read says why.
func FuzzArtifact(f *testing.F) {
	for _, s := range []string{`{}`, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`,
		`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`, `{"critical":{}}`, `[`} {
		f.Add(byte(0), []byte(s))
		f.Add(byte(1), []byte(s))
		f.Add(byte(2), []byte(s))
	}
	kinds := []oci.Kind{oci.KindBundle, oci.KindSimpleSigning, oci.KindDSSE, oci.KindNotation}
	f.Fuzz(func(t *testing.T, k byte, content []byte) {
		r := &reader{now: time.Unix(0, 0)}
		mt := []string{"application/jose+json", "application/cose"}[int(k)/len(kinds)%2]
		a := r.artifact(oci.Artifact{Kind: kinds[int(k)%len(kinds)], MediaType: mt, Content: content, Layout: oci.LayoutReferrersAPI,
			Annotations: map[string]string{oci.AnnotationLegacyBundle: string(content), annotationLegacyTimestamp: string(content)}})
		if a.Kind == "" || a.Layout == "" {
			t.Fatalf("incomplete node %+v", a)
		}
	})
}

// FuzzSummarize: any predicate JSON under any of the summarised types.
func FuzzSummarize(f *testing.F) {
	for _, file := range []string{"sbom.cdx.json", "sbom.spdx.json", "provenance-v1.json", "provenance-v02.json"} {
		b, _ := os.ReadFile("../attest/testdata/" + file)
		f.Add(byte(0), b)
	}
	f.Add(byte(2), []byte(`{"scanner":{"result":{"Results":[{"Vulnerabilities":[{"Severity":"HIGH"}]}]}}}`))
	types := []string{predicateCycloneDX, predicateSPDX, predicateVuln, predicateSLSA1, predicateSLSA02, predicateOpenVEX, "x"}
	f.Fuzz(func(t *testing.T, k byte, predicate []byte) {
		if !json.Valid(predicate) {
			return
		}
		a := &Artifact{}
		summarize(a, types[int(k)%len(types)], predicate, time.Unix(0, 0))
		if a.Summary == "" {
			t.Fatal("no summary")
		}
	})
}
