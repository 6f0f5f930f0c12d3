package inspect

import (
	"encoding/json"
	"testing"
	"time"
)

// TestSummaryCounts: counts read as English ("1 component", "2 components").
func TestSummaryCounts(t *testing.T) {
	for _, tc := range []struct {
		name, predicateType, predicate, want string
	}{
		{"one component", predicateCycloneDX, `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a"}]}`, "SBOM CycloneDX 1.5, 1 component"},
		{"two components", predicateCycloneDX, `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a"},{"type":"library","name":"b"}]}`, "SBOM CycloneDX 1.5, 2 components"},
		{"one VEX statement", predicateOpenVEX + "/v0.2.0", `{"statements":[{}]}`, "OpenVEX, 1 statement"},
		{"one byte", "https://example.com/x", `1`, "predicate https://example.com/x, 1 byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Artifact
			summarize(&a, tc.predicateType, json.RawMessage(tc.predicate), time.Now())
			if a.Summary != tc.want {
				t.Fatalf("summary %q, want %q", a.Summary, tc.want)
			}
		})
	}
}
